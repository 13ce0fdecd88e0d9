"""Condition factors of a data directory (`utt2<factor>` files) and how the organisers show them.

A factor either describes both classes (codec, transmission channel: a bona fide trial has one
too) or only spoofed trials (attack, vocoder family: bona fide trials read `bonafide`). The
difference decides which trials enter a condition cell (docs/research/corpora.md §6.4). Orders and
short names are those of the 2021 evaluation package (`config.py` ConfigLA / ConfigDF); the
ASVspoof 5 codecs are the protocols' CODEC column, in the order the 2024 package sorts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

BOTH = "both"
SPOOF_ONLY = "spoof_only"
POOLED = "Pooled"  # the official tag of a pooled row or column

SUBSETS = ("eval", "progress", "hidden")
OFFICIAL_SUBSET = "eval"  # the subset the 2021 challenge ranked systems on


@dataclass(frozen=True)
class Factor:
    """One condition factor: its kind, its values' official order and their short names."""

    name: str
    kind: str
    order: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def file(self) -> str:
        return f"utt2{self.name}"

    def ordered(self, values: Iterable[str]) -> list[str]:
        """Values in the official order; others (not in the 2021 keys) after, sorted."""
        values = set(values)
        known = [value for value in self.order if value in values]
        return known + sorted(values - set(known))

    def label(self, value: str) -> str:
        return self.labels.get(value, value)


LA_CODECS = ("none", "alaw", "pstn", "g722", "ulaw", "gsm", "opus")
DF_CODECS = ("nocodec", "low_mp3", "high_mp3", "low_m4a", "high_m4a")
DF_CODECS += ("low_ogg", "high_ogg", "mp3m4a", "oggm4a")
# The CODEC column of the ASVspoof 5 protocols: `-` for uncoded speech (all of train and dev, and
# about a quarter of eval), C01-C11 the eval set's codec and transmission conditions.
ASV5_CODECS = ("-", *(f"C{number:02d}" for number in range(1, 12)))
VOCODERS = {
    "traditional_vocoder": "Traditional",
    "waveform_concatenation": "Wav.Concat.",
    "neural_vocoder_autoregressive": "Neural AR",
    "neural_vocoder_nonautoregressive": "Neural non-AR",
    "unknown": "Unknown",
}

ATTACK = Factor("attack", SPOOF_ONLY)
VOCODER = Factor("vocoder", SPOOF_ONLY, tuple(VOCODERS), MappingProxyType(VOCODERS))
CODEC = Factor(
    "codec",
    BOTH,
    LA_CODECS + DF_CODECS + ASV5_CODECS,
    # LA-C1..C7 and DF-C1..C9: each corpus numbers its own codecs; ASVspoof 5 names its own.
    MappingProxyType(
        {
            **{
                codec: f"C{number} ({codec})"
                for codecs in (LA_CODECS, DF_CODECS)
                for number, codec in enumerate(codecs, start=1)
            },
            "-": "- (none)",
        }
    ),
)
# `-`: no transmission (LA trials with codec `none`).
CHANNEL = Factor(
    "channel",
    BOTH,
    ("ita_tx", "sin_tx", "loc_tx", "mad_tx", "-"),
    MappingProxyType({"-": "no transmission"}),
)
FACTORS = (ATTACK, VOCODER, CODEC, CHANNEL)
SUBSET = Factor("subset", BOTH, SUBSETS)
