"""RawBoost (antispoof.augment.rawboost) against the authors' RawBoost.py, and its contract as a
waveform augmentation: same length, float32, every draw from the given generator."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from antispoof.augment.rawboost import NotchBand, RawBoost, notch_filter
from antispoof.augment.waveform import WAVEFORM_AUGMENTATIONS
from antispoof.registry import ConfigError

REFERENCE = Path(__file__).parent / "reference"
GOLDEN_RATIO = (1 + 5**0.5) / 2
# The bands and gain fed to the official genNotchCoeffs for rawboost_notch.npy: a band reaching
# below 0 Hz, one above fs / 2 (both clamped), and an even tap count (raised by one).
NOTCH_BANDS = [
    NotchBand(40.0, 300.0, 31),
    NotchBand(2500.0, 700.0, 50),
    NotchBand(7900.0, 600.0, 17),
]
NOTCH_GAIN_DB = -7.5


def signal_under_test(length: int = 1600, sample_rate: int = 16000) -> np.ndarray:
    """A fixed float32 test signal: two tones and a chirp, peak about 0.9."""
    t = np.arange(length) / sample_rate
    tones = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 2500 * t + 0.3)
    chirp = 0.15 * np.sin(2 * np.pi * (200 + 30000 * t) * t)
    return (tones + chirp).astype(np.float32)


class ScriptedGenerator:
    """Stands in for np.random.Generator with draws fixed in advance, so that the official code
    (its np.random calls patched to take the same draws, in tests/reference/README.md) and this
    implementation see the same random numbers. Only the methods RawBoost calls."""

    def __init__(self) -> None:
        self.count = 0

    def _uniforms(self, n: int) -> np.ndarray:
        # The golden-ratio sequence: spread over [0, 1), the same on every platform.
        k = self.count + 1 + np.arange(n)
        self.count += n
        return np.mod(k * GOLDEN_RATIO, 1.0)

    def random(self, size: int | None = None) -> float | np.ndarray:
        return float(self._uniforms(1)[0]) if size is None else self._uniforms(size)

    def permutation(self, n: int) -> np.ndarray:
        return np.argsort(np.mod(np.arange(n) * GOLDEN_RATIO**2, 1.0), kind="stable")

    def standard_normal(self, size: int) -> np.ndarray:
        k = np.arange(size, dtype=np.float64)
        return np.sqrt(2) * np.sin(np.pi * GOLDEN_RATIO * k * k)  # a broadband chirp, RMS 1


@pytest.mark.parametrize("algo", range(9))
def test_every_algo_keeps_length_and_dtype(algo):
    x = signal_under_test(4000)
    y = RawBoost(algo=algo)(x, np.random.default_rng(1))
    assert y.dtype == np.float32 and y.shape == x.shape and np.all(np.isfinite(y))
    if algo == 0:
        assert np.array_equal(y, x) and y is not x
    else:
        assert not np.allclose(y, x, atol=1e-4)


def test_float64_and_short_input():
    boost = RawBoost(algo=4)
    y = boost(signal_under_test(1000).astype(np.float64), np.random.default_rng(0))
    assert y.dtype == np.float32 and y.shape == (1000,)
    # Shorter than the notch filters (up to ~500 taps), and empty.
    assert boost(signal_under_test(7), np.random.default_rng(0)).shape == (7,)
    assert boost(np.zeros(0, np.float32), np.random.default_rng(0)).shape == (0,)
    # Digital silence stays finite (the coloured noise is scaled to the signal's energy: none).
    for algo in range(9):
        silence = RawBoost(algo=algo)(np.zeros(800, np.float32), np.random.default_rng(0))
        assert np.array_equal(silence, np.zeros(800, np.float32))
    with pytest.raises(ValueError, match="mono"):
        boost(np.zeros((2, 100), np.float32), np.random.default_rng(0))


@pytest.mark.parametrize("algo", [1, 2, 3, 8])
def test_the_generator_alone_decides(algo):
    boost = RawBoost(algo=algo)
    x = signal_under_test(4000)
    np.random.seed(0)
    random.seed(0)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    first = boost(x, np.random.default_rng((7, 0, 3)))
    again = boost(x, np.random.default_rng((7, 0, 3)))
    other = boost(x, np.random.default_rng((7, 1, 3)))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    # The global generators are neither used nor advanced.
    assert random.getstate() == python_state
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]


@pytest.mark.parametrize(
    ("name", "algo"), [("lnl", 1), ("isd", 2), ("ssi", 3), ("series", 4), ("parallel", 8)]
)
def test_matches_the_official_code(name, algo):
    """Official RawBoost.py + process_Rawboost_feature, run with the scripted draws."""
    golden = np.load(REFERENCE / f"rawboost_{name}.npy")
    y = RawBoost(algo=algo)(signal_under_test(), ScriptedGenerator())
    np.testing.assert_allclose(y, golden, rtol=0, atol=2e-6)


def test_notch_filter_matches_genNotchCoeffs():  # noqa: N802 (the official function's name)
    golden = np.load(REFERENCE / "rawboost_notch.npy")
    coeffs = notch_filter(NOTCH_BANDS, NOTCH_GAIN_DB, 16000)
    assert coeffs.shape == golden.shape == (31 + 51 + 17 - 2,)
    np.testing.assert_allclose(coeffs, golden, rtol=1e-9, atol=1e-12)


def test_draw_order_matches_the_official_code():
    """The LnL cascades of algo 1, drawn from scripted uniforms as the official code draws them:
    per filter, each band's centre, width and taps, then the gain; the orders above the first
    at the gain range less the biases."""
    boost = RawBoost(algo=1, n_f=2, n_bands=1)
    scripted = ScriptedGenerator()
    first = boost.draw_notch_filter(scripted, boost.g_range)
    second = boost.draw_notch_filter(scripted, boost.nonlinear_g_range)
    u = ScriptedGenerator().random(8)
    bands = [
        NotchBand(20 + 7980 * u[i], 100 + 900 * u[i + 1], int(10 + 90 * u[i + 2])) for i in (0, 4)
    ]
    np.testing.assert_allclose(first, notch_filter(bands[:1], 0.0, 16000))
    np.testing.assert_allclose(second, notch_filter(bands[1:], -5 - 15 * u[7], 16000))


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"algo": 9}, "algo"),
        ({"algo": 1, "n_f": 0}, "n_f"),
        ({"algo": 1, "n_bands": 0}, "n_bands"),
        ({"algo": 1, "min_f": -1.0}, "min_f"),
        ({"algo": 1, "max_f": 9000.0}, "max_f"),
        ({"algo": 1, "min_f": 500.0, "max_f": 400.0}, "min_f"),
        ({"algo": 1, "min_bw": 0.0}, "min_bw"),
        ({"algo": 1, "min_bw": 2000.0}, "min_bw"),
        ({"algo": 1, "min_coeff": 0}, "min_coeff"),
        ({"algo": 1, "min_coeff": 200}, "min_coeff"),
        ({"algo": 1, "min_g": 3.0}, "min_g"),
        ({"algo": 1, "min_bias_lin_nonlin": 30.0}, "min_bias_lin_nonlin"),
        ({"algo": 2, "p": 150.0}, "p"),
        ({"algo": 2, "g_sd": -1.0}, "g_sd"),
        ({"algo": 3, "snr_min": 50.0}, "snr_min"),
        ({"algo": 3, "sample_rate": 0}, "sample_rate"),
    ],
)
def test_bad_settings_name_the_key(settings, key):
    with pytest.raises(ValueError, match=rf"^{key} "):
        RawBoost(**settings)
    with pytest.raises(ConfigError, match=rf"rawboost.*{key}"):
        WAVEFORM_AUGMENTATIONS.build("rawboost", settings)


def test_registry_builds_it_by_name():
    boost = WAVEFORM_AUGMENTATIONS.build("rawboost", {"algo": 3})
    assert isinstance(boost, RawBoost) and boost.algo == 3
    assert "rawboost" in WAVEFORM_AUGMENTATIONS.names()
    resolved = WAVEFORM_AUGMENTATIONS.resolved_conf("rawboost", {"algo": 5})
    assert resolved["algo"] == 5 and resolved["snr_max"] == 40.0 and resolved["n_f"] == 5
    with pytest.raises(ConfigError, match="needs algo"):
        WAVEFORM_AUGMENTATIONS.resolved_conf("rawboost", {})
    with pytest.raises(ConfigError, match="algo must be an int"):
        WAVEFORM_AUGMENTATIONS.build("rawboost", {"algo": "5"})
    with pytest.raises(ConfigError, match="no setting 'nBands'"):
        WAVEFORM_AUGMENTATIONS.build("rawboost", {"algo": 1, "nBands": 3})


def test_the_trainer_imports_without_scipy():
    # RawBoost is registered with the trainer's augmentations; scipy.signal (0.7 s of every
    # `train` start) is imported only when a RawBoost filter is drawn.
    code = "import sys, antispoof.training.trainer; sys.exit('scipy' in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
