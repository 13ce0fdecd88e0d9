"""What the page of `serve` says in words (antispoof.serve.report, no web library needed): LLRs
as odds, the decision rules, the model's card with what it cannot tell, the waveform envelope;
and what `serve` says where the `demo` extra is not installed."""

from __future__ import annotations

import math
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile

from antispoof.bin import serve
from antispoof.decision import CALIBRATED, DEV_EER_THRESHOLD, NATURAL, NO_RULE, DecisionRule
from antispoof.evaluation.calibration import Calibration
from antispoof.inference import ModelInfo, ScoringSettings, SpoofDetector, WindowScorer, card_text
from antispoof.serve.report import (
    ENVELOPE_POINTS,
    decision_in_words,
    llr_in_words,
    model_card,
    real_world_limit,
    times,
    waveform_envelope,
)
from antispoof.zoo import TrainingData, zoo_model

CALIBRATION = Calibration(
    scale=2.0, offset=0.5, fitted_on="data/dev", n_bonafide=10, n_spoof=90, eer_threshold=0.1
)


class ConstantScorer(WindowScorer):
    natural_decision = True
    sample_rate = 16000
    window_samples = 16000

    def __call__(self, windows):
        zeros = np.zeros(len(windows))
        return zeros, zeros


def detector(rule: DecisionRule, card: dict | None = None) -> SpoofDetector:
    info = ModelInfo("exp/x", "experiment exp/x (best.pt)", "best.pt", "ab" * 32, card=card)
    return SpoofDetector(ConstantScorer(), rule, info, ScoringSettings(min_speech_seconds=None), 4)


def test_odds_are_written_for_a_reader_at_every_size():
    assert times(math.log(1.64)) == "1.6"
    assert times(math.log(24.4)) == "24"
    assert times(math.log(1312)) == "1,300"
    assert times(math.log(45_600)) == "46,000"
    assert times(math.log(2.34e12)) == "2.3 × 10¹²"
    assert times(math.log(9.97e8)) == "1.0 × 10⁹"  # not "10.0 × 10⁸"
    assert times(1000.0) == "2.0 × 10⁴³⁴"  # e^1000 overflows a float; its words do not


def test_an_llr_says_how_many_times_more_likely_and_under_which_hypothesis():
    words = llr_in_words(math.log(25))
    assert words.startswith("The recording is 25 times more likely under the bona fide hypothesis")
    assert "than under the spoof one, for this model's training conditions (LLR +3.22)" in words
    assert "25 times more likely under the spoof hypothesis than under the bona fide" in (
        llr_in_words(-math.log(25))
    )
    assert "about as likely under the bona fide hypothesis as under the spoof one" in (
        llr_in_words(0.01)
    )


def test_each_rule_says_whether_its_scores_are_likelihood_ratios():
    calibrated = decision_in_words(DecisionRule(CALIBRATED, "-", calibration=CALIBRATION))
    assert "Calibrated" in calibrated and "data/dev" in calibrated
    assert f"{CALIBRATION.llr_threshold:.2f}" in calibrated
    threshold = decision_in_words(DecisionRule(DEV_EER_THRESHOLD, "-", threshold=0.25))
    assert threshold.startswith("Not calibrated") and "0.25" in threshold
    assert "no odds" in threshold
    natural = decision_in_words(DecisionRule(NATURAL, "-"))
    assert natural.startswith("Not calibrated: the decision is the classifier's own")
    assert "No decision rule" in decision_in_words(DecisionRule(NO_RULE, "-"))


def test_a_published_card_has_training_data_licence_figures_protocols_and_limits():
    card = model_card(detector(DecisionRule(NATURAL, "-"), card={"name": "aasist"}))
    assert card.card.startswith(card_text("aasist"))  # every fact starts from the zoo's card
    assert "2,580 bona fide and 22,800 spoofed training utterances" in " ".join(card.card.split())
    assert "MIT" in card.card and "EER % 0.83 [P]" in card.card
    assert "In-the-Wild: EER % 43.01 [A]" in card.card
    assert re.search(r"\[A\] +the Speech Anti-Spoofing Arena's", card.card)
    assert re.search(r"\[P\] +the paper's protocol", card.card)
    # What it cannot tell comes first: real-world audio is close to chance for it.
    assert "close to chance" in card.limits[0] and "43.01 % [A]" in card.limits[0]
    assert card.decision.startswith("Not calibrated")
    # No real-world figure: the page says that it is unknown, not that it is fine.
    light = model_card(detector(DecisionRule(NATURAL, "-"), card={"name": "aasist-l"}))
    assert "EER % 0.99 [P]" in light.card and "[A]" not in light.card
    assert light.limits[0].startswith("No figure on real-world audio is published for it")


def test_the_real_world_limit_follows_the_in_the_wild_figure_and_the_training_data():
    # A held-out figure well below chance is given as an error rate, not as "close to chance".
    nes2net = real_world_limit(zoo_model("nes2net-x").card)
    assert "8.48 % [A]" in nes2net and "close to chance" not in nes2net
    assert nes2net.startswith("On real-world audio its equal error rate on In-the-Wild")
    # A model whose training data hold In-the-Wild has no held-out figure there.
    card = zoo_model("antideepfake-mms-1b").card
    assert "3.3 % [A]" in real_world_limit(card)
    trained_on_it = replace(card, training_data=(*card.training_data, TrainingData("ITW", "all")))
    assert real_world_limit(trained_on_it).startswith(
        "In-the-Wild is in its training data, so its 3.3 % [A] equal error rate there is no held"
    )


def test_an_experiment_has_no_published_card_and_says_so():
    card = model_card(detector(DecisionRule(NO_RULE, "-")))
    assert "no published card" in card.card and "ab" * 32 in card.card
    assert "No decision rule" in card.decision
    assert any("held-out figures" in limit for limit in card.limits)


def test_the_envelope_is_each_stretch_peak(tmp_path: Path):
    rate = 8000
    signal = np.zeros(3 * rate, dtype=np.float32)
    signal[rate : 2 * rate] = 0.5 * np.sin(np.linspace(0, 400 * np.pi, rate))  # the middle second
    signal[2 * rate + 10] = -0.9
    path = tmp_path / "three.wav"
    soundfile.write(path, signal, rate, subtype="FLOAT")
    envelope = waveform_envelope(path)
    assert len(envelope) == ENVELOPE_POINTS
    third = ENVELOPE_POINTS // 3
    assert max(envelope[:third]) == 0.0
    assert min(envelope[third + 1 : 2 * third - 1]) > 0.4
    assert envelope[2 * third] == pytest.approx(0.9)
    assert max(envelope[2 * third + 1 :]) == 0.0
    # A file of several read blocks (antispoof.data.stream.BLOCK_FRAMES), stretches across them.
    ramp = np.linspace(0.1, 1.0, 20 * 16000, dtype=np.float32)
    noise = ramp * np.random.default_rng(0).uniform(-1, 1, ramp.size).astype(np.float32)
    soundfile.write(tmp_path / "noise.wav", noise, 16000, subtype="FLOAT")
    stretch = np.arange(len(noise)) * 7 // len(noise)
    expected = [float(np.abs(noise[stretch == k]).max()) for k in range(7)]
    assert waveform_envelope(tmp_path / "noise.wav", points=7) == pytest.approx(expected, abs=1e-4)


def test_serve_without_the_demo_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    with pytest.raises(ValueError, match=r"serve needs the `demo` extra .* pip install -e"):
        serve.main(["--port", "0"])
