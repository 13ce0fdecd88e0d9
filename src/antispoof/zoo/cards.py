"""Model cards of the zoo: what a released detector is, where its weights are, what it was
trained on, how it scores, and what has been published about it, each figure with its protocol
and source. A card is data; `render_card` prints it (`detect --model list`, the README table)."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

# The two protocols under which released detectors are graded (docs/research/zoo.md):
PROTOCOLS = {
    "P": "the paper's protocol (the official evaluation subset, the authors' input window)",
    "A": (
        "the Speech Anti-Spoofing Arena's (every trial of the set, the first ~4 s, the "
        "released checkpoint re-scored)"
    ),
}


@dataclass(frozen=True)
class Figure:
    """A published result of these weights."""

    evaluation: str  # the evaluation set, e.g. "ASVspoof 2021 LA eval"
    metric: str  # "EER %", "min t-DCF"
    value: float
    protocol: str  # "P" or "A" (PROTOCOLS)
    source: str  # where it is published

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {sorted(PROTOCOLS)}, not {self.protocol!r}")


@dataclass(frozen=True)
class TrainingData:
    """A corpus (some of) whose audio trained the weights: `corpus` is its canonical name (the
    overlap rule compares these, `canonical_corpus`), `splits` which parts of it."""

    corpus: str
    splits: str

    def __str__(self) -> str:
        return f"{self.corpus} ({self.splits})"


@dataclass(frozen=True)
class HubWeights:
    """Weights on the Hugging Face Hub, fetched with huggingface_hub at a pinned revision."""

    repo_id: str
    filename: str
    revision: str | None  # a commit; None where none could be established (said on the card)
    sha256: str | None  # of the file; None where it could not be established

    @property
    def location(self) -> str:
        return f"https://huggingface.co/{self.repo_id} ({self.filename})"


@dataclass(frozen=True)
class UrlWeights:
    """Weights at a direct URL (Zenodo), fetched with antispoof.download's resumable client."""

    url: str
    sha256: str | None  # of the file; None where it could not be established

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def location(self) -> str:
        return self.url


@dataclass(frozen=True)
class ManualWeights:
    """Weights that only a browser can fetch (a Google Drive folder): given with `--weights`,
    or saved in the cache under `filename`."""

    url: str
    filename: str
    sha256: str | None

    @property
    def location(self) -> str:
        return f"{self.url} ({self.filename}; by hand)"


@dataclass(frozen=True)
class PackagedWeights:
    """Weights that ship with this package (`antispoof.published`)."""

    url: str
    md5: str

    @property
    def location(self) -> str:
        return f"shipped with this package; official copy {self.url}"


@dataclass(frozen=True)
class ModelCard:
    name: str  # what --model takes (case-insensitive)
    title: str
    architecture: str  # what this package builds: frontend + model
    reference: str  # the paper
    code: str  # the authors' code
    code_commit: str  # the commit of that code the architecture here was checked against
    weights: HubWeights | UrlWeights | ManualWeights | PackagedWeights
    licence: str
    training_data: tuple[TrainingData, ...]
    window: int | None  # samples at 16 kHz that one score reads (the first); None: the whole file
    score: str  # what the score is; higher is always more bona fide here
    figures: tuple[Figure, ...]
    restricted_use: str | None = None  # what the licence forbids, shown before the download
    notes: tuple[str, ...] = field(default_factory=tuple)


def canonical_corpus(name: str) -> str:
    """A corpus name as the overlap rule compares it: lower case, letters and digits only, with
    the recipe names of this repository read as their corpora (`asvspoof2019` is 2019 LA)."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return _CORPUS_ALIASES.get(key, key)


_CORPUS_ALIASES = {
    "asvspoof2019": "asvspoof2019la",
    "la2019": "asvspoof2019la",
    "asvspoof21la": "asvspoof2021la",
    "asvspoof21df": "asvspoof2021df",
    "itw": "inthewild",
    "mini": "mini",
}


def card_rows(label: str, text: str, width: int = 96) -> list[str]:
    """One labelled row of a card, wrapped under its text's first column."""
    return textwrap.wrap(
        text, width, initial_indent=f"  {label:<15}", subsequent_indent=" " * 17
    ) or [f"  {label}"]


def render_card(card: ModelCard, width: int = 96) -> str:
    """The card as text: one block, the figures one per line with protocol and source."""

    def wrap(label: str, text: str) -> list[str]:
        return card_rows(label, text, width)

    lines = [f"{card.name}: {card.title}"]
    lines += wrap("architecture", card.architecture)
    lines += wrap("paper", card.reference)
    lines += wrap("code", f"{card.code} @{card.code_commit}")
    lines += wrap("weights", card.weights.location)
    checksum = getattr(card.weights, "sha256", None) or getattr(card.weights, "md5", None)
    lines += wrap("checksum", checksum or "not established (see notes); recorded on first use")
    lines += wrap("licence", card.licence)
    if card.restricted_use:
        lines += wrap("restricted", card.restricted_use)
    lines += wrap("trained on", "; ".join(str(data) for data in card.training_data))
    if card.window is None:
        lines += wrap("window", "the whole file in one pass (16 kHz)")
    else:
        lines += wrap("window", f"the first {card.window:,} samples at 16 kHz, repeat-padded")
    lines += wrap("score", card.score)
    for index, figure in enumerate(card.figures):
        text = (
            f"{figure.evaluation}: {figure.metric} {figure.value:g} [{figure.protocol}] "
            f"({figure.source})"
        )
        lines += wrap("published" if index == 0 else "", text)
    for index, note in enumerate(card.notes):
        lines += wrap("notes" if index == 0 else "", note)
    return "\n".join(lines)
