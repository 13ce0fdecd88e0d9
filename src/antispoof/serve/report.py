"""What the page says beside the figures, in words a non-researcher can read: which model
answered (its card), what its decision and LLR mean, what it cannot tell, and the waveform that
the timeline is drawn over.

Every fact about a model comes through one function, `model_card`, which starts from
`antispoof.inference.card_text` (a published model's zoo card: training data, licence, figures
with their protocol) and adds the protocols in words, what its training corpus is in words, and
what its In-the-Wild figure means for a real-world recording (`real_world_limit`).

This module imports no web library: it is tested without the `demo` extra.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from antispoof.decision import CALIBRATED, DEV_EER_THRESHOLD, NATURAL, DecisionRule

if TYPE_CHECKING:
    from antispoof.inference import SpoofDetector
    from antispoof.zoo.cards import ModelCard as ZooCard

ENVELOPE_POINTS = 600  # the waveform's resolution on the timeline: about one per pixel
EVEN_ODDS_LLR = 0.05  # |LLR| below this (odds under 1.05 to 1): "about as likely either way"


@dataclass(frozen=True)
class ModelCard:
    """What the page shows about the model that answered."""

    name: str  # as `--model` named it
    description: str  # the detector's own: where its weights came from
    card: str  # the card: reference, training data, licence, figures with their protocol
    decision: str  # what its decision (and LLR, if any) means
    limits: tuple[str, ...]  # what it cannot tell


# What a person checking a recording should know about a training corpus beyond its name.
_CORPUS_IN_WORDS = {
    "asvspoof2019la": (
        "ASVspoof 2019 LA: 2,580 bona fide and 22,800 spoofed training utterances of 20 "
        "speakers, English read speech (VCTK), studio-clean, spoofed by 6 speech synthesis and "
        "voice conversion systems of 2019 (A01-A06)"
    ),
}
CHANCE_EER = 30.0  # an In-the-Wild EER (%) at or above this is "close to chance" in the words
_EVERY_MODEL_LIMITS = (
    "A verdict is evidence under this model's training conditions, not proof. It cannot tell "
    "who is speaking, whether what is said is true, or whether a genuine recording was cut "
    "and re-assembled.",
    "Audio unlike its training data (phone calls, compressed or re-recorded audio, noise, "
    "music, other languages, speech generators newer than the model) can fool it in either "
    "direction.",
)


def model_card(detector: SpoofDetector) -> ModelCard:
    """Everything the page says about the model that answered (see the module doc)."""
    from antispoof.inference import card_text
    from antispoof.zoo import zoo_model
    from antispoof.zoo.cards import PROTOCOLS, canonical_corpus, card_rows

    info = detector.info
    decision = decision_in_words(detector.rule)
    if info.card is not None:
        card = zoo_model(info.card["name"]).card
        lines = [card_text(card.name)]
        corpora = dict.fromkeys(canonical_corpus(data.corpus) for data in card.training_data)
        for key in sorted(corpora.keys() & _CORPUS_IN_WORDS.keys()):
            lines += card_rows("about its data", _CORPUS_IN_WORDS[key])
        for protocol in dict.fromkeys(figure.protocol for figure in card.figures):
            lines += card_rows(f"[{protocol}]", PROTOCOLS[protocol])
        return ModelCard(
            info.name, info.description, "\n".join(lines), decision,
            (real_world_limit(card), *_EVERY_MODEL_LIMITS),
        )  # fmt: skip
    text = (
        f"{info.name}: {info.description}\n  weights sha256: {info.weights_sha256}\n"
        "  an experiment of this repository, with no published card: its training set is its "
        "recipe's (config.yaml), its measured figures are in its RESULTS.md and "
        "<set>/metrics.json"
    )
    limits = (
        "How far it generalises is what its held-out figures say (an In-the-Wild EER, if it was "
        "evaluated on one); without them, nothing is known beyond its training conditions.",
        *_EVERY_MODEL_LIMITS,
    )
    return ModelCard(info.name, info.description, text, decision, limits)


def real_world_limit(card: ZooCard) -> str:
    """What a published model's In-the-Wild figure (celebrities and politicians, genuine and
    deepfaked, from the web) means for a recording from a phone, a messaging app or the web."""
    from antispoof.zoo.cards import canonical_corpus

    wild = [f for f in card.figures if canonical_corpus(f.evaluation) == "inthewild"]
    if not wild:
        return (
            "No figure on real-world audio is published for it: how it does on a recording from "
            "a phone, a messaging app or the web is unknown; models trained on studio speech "
            "alone are often close to chance there."
        )
    figure = min(wild, key=lambda f: f.value)
    measured = (
        f"its equal error rate on In-the-Wild (celebrities and politicians, genuine and "
        f"deepfaked, from the web) is {figure.value:g} % [{figure.protocol}], where a coin toss "
        "gives 50 %"
    )
    if any(canonical_corpus(data.corpus) == "inthewild" for data in card.training_data):
        return (
            f"In-the-Wild is in its training data, so its {figure.value:g} % [{figure.protocol}] "
            "equal error rate there is no held-out figure: how it does on new real-world audio "
            "is not measured."
        )
    if figure.value >= CHANCE_EER:
        return (
            f"On real-world audio it is close to chance: {measured}. A verdict of this model on "
            "a recording from a phone, a messaging app or the web says next to nothing."
        )
    return (
        f"On real-world audio {measured}: about {figure.value:.0f} in 100 recordings would be "
        "misjudged at the equal-error threshold, more on audio unlike its training data."
    )


def decision_in_words(rule: DecisionRule) -> str:
    """What a model's decision rests on, and whether its scores are likelihood ratios."""
    if rule.kind == CALIBRATED:
        assert rule.calibration is not None
        return (
            "Calibrated: each score is turned into a log-likelihood ratio (LLR) fitted on "
            f"{rule.calibration.fitted_on}; a recording is called bona fide where the LLR is at "
            f"least {rule.calibration.llr_threshold:.2f}, the Bayes threshold of its cost "
            "model. The odds hold for recordings like the calibration data."
        )
    if rule.kind == DEV_EER_THRESHOLD:
        assert rule.threshold is not None
        return (
            "Not calibrated: a recording is called bona fide where its score is above "
            f"{rule.threshold:.4g}, the equal-error threshold on the model's development set. "
            "The score is not a likelihood ratio: no odds can be given."
        )
    if rule.kind == NATURAL:
        return (
            "Not calibrated: the decision is the classifier's own (bona fide where its bona fide "
            "output outweighs its spoof output). Its score is a raw output, not a likelihood "
            "ratio: no odds can be given, and its confidence means little outside its training "
            "conditions."
        )
    return (
        "No decision rule: this model has no calibration and no development-set threshold, so "
        "it gives scores only (higher = more bona fide), to compare with each other, not to "
        "decide by."
    )


def times(log_ratio: float) -> str:
    """e^log_ratio (>= 0) written for a reader: 1.6, 24, 1,300, 2.3 × 10¹²; never overflows."""
    if log_ratio < math.log(1000):
        ratio = math.exp(log_ratio)
        return f"{ratio:.1f}" if ratio < 10 else f"{ratio:,.0f}"
    exponent = log_ratio / math.log(10)
    power = math.floor(exponent)
    mantissa = 10 ** (exponent - power)
    if round(mantissa, 1) >= 10:  # 9.96 × 10^k is written 1.0 × 10^(k+1)
        mantissa, power = mantissa / 10, power + 1
    if power < 6:
        return f"{round(mantissa * 10**power, -(power - 1)):,.0f}"
    return f"{mantissa:.1f} × 10{str(power).translate(_SUPERSCRIPT)}"


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def llr_in_words(llr: float) -> str:
    """A calibrated LLR as odds in words: N = e^|LLR| times more likely under one hypothesis."""
    if abs(llr) < EVEN_ODDS_LLR:
        return (
            f"The recording is about as likely under the bona fide hypothesis as under the "
            f"spoof one (LLR {llr:+.2f}): the model cannot tell."
        )
    likelier, other = ("bona fide", "spoof") if llr > 0 else ("spoof", "bona fide")
    return (
        f"The recording is {times(abs(llr))} times more likely under the {likelier} hypothesis "
        f"than under the {other} one, for this model's training conditions (LLR {llr:+.2f})."
    )


def waveform_envelope(path: str | Path, points: int = ENVELOPE_POINTS) -> list[float]:
    """The peak absolute sample (mono) of each of `points` equal stretches of a recording, read
    in blocks at its own rate (memory: one block); what the timeline draws its waveform from."""
    from antispoof.data.stream import open_audio

    audio = open_audio(path)
    peaks = np.zeros(points, dtype=np.float32)
    position = 0
    for block in audio.blocks(audio.sample_rate):
        # Stretch k holds samples [k * frames / points, (k + 1) * frames / points).
        # The header's frame count places them; a file longer than it declares piles into the
        # last stretch. The indices rise, so each stretch is one run of the block.
        index = np.arange(position, position + len(block), dtype=np.int64) * points
        index = np.minimum(index // max(audio.frames, 1), points - 1)
        starts = np.concatenate([[0], np.flatnonzero(np.diff(index)) + 1])
        stretch = index[starts]
        peaks[stretch] = np.maximum(peaks[stretch], np.maximum.reduceat(np.abs(block), starts))
        position += len(block)
    return [round(float(peak), 4) for peak in peaks]
