"""The synthetic mini corpus in the ASVspoof 2019 LA layout (antispoof.synth)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from antispoof.bin import make_mini_corpus
from antispoof.synth import la2019_layout
from antispoof.synth.attacks import ATTACKS
from antispoof.synth.la2019_layout import build_corpus, plan_corpus

SCALE = 0.2
SPLITS = {
    "train": ("ASVspoof2019.LA.cm.train.trn.txt", "LA_T_"),
    "dev": ("ASVspoof2019.LA.cm.dev.trl.txt", "LA_D_"),
    "eval": ("ASVspoof2019.LA.cm.eval.trl.txt", "LA_E_"),
}
SPEAKER_RANGES = {
    "train": set(range(79, 99)),
    "dev": set(range(69, 79)) | set(range(99, 109)),
    "eval": set(range(1, 69)) - {62},
}
CM_LINE = re.compile(r"^LA_(\d{4}) (LA_[TDE]_\d{7}) - (-|A\d\d) (bonafide|spoof)$")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mini") / "db"
    assert build_corpus(root, seed=0, scale=SCALE, nj=2) is not None
    return root


def protocol(db: Path, split: str) -> list[list[str]]:
    path = db / "LA" / "ASVspoof2019_LA_cm_protocols" / SPLITS[split][0]
    return [line.split(" ") for line in path.read_text().splitlines()]


def flac_ids(db: Path, split: str) -> set[str]:
    return {p.stem for p in (db / "LA" / f"ASVspoof2019_LA_{split}" / "flac").iterdir()}


def asv_file(db: Path, split: str, kind: str) -> Path:
    if kind == "scores":
        name = f"ASVspoof2019_LA_asv_scores/ASVspoof2019.LA.asv.{split}.gi.trl.scores.txt"
    else:
        name = f"ASVspoof2019_LA_asv_protocols/ASVspoof2019.LA.asv.{split}.gi.{kind}.txt"
    return db / "LA" / name


def read_audio(db: Path, split: str, utt: str) -> np.ndarray:
    wav, rate = sf.read(db / "LA" / f"ASVspoof2019_LA_{split}" / "flac" / f"{utt}.flac")
    assert rate == 16000
    return wav


# --------------------------------------------------------------------------- layout


def test_layout_and_marker(db: Path) -> None:
    assert (db / ".complete").is_file()
    for split, (name, _) in SPLITS.items():
        assert (db / "LA" / "ASVspoof2019_LA_cm_protocols" / name).is_file()
        assert (db / "LA" / f"ASVspoof2019_LA_{split}" / "flac").is_dir()
    for split in ("dev", "eval"):
        for kind in ("trn", "trl", "scores"):
            assert asv_file(db, split, kind).is_file()
    assert "SYNTHETIC" in (db / "LA" / "README.LA.txt").read_text()
    # Nothing but the corpus and the marker: the temporary directory was renamed away.
    assert sorted(p.name for p in db.iterdir()) == [".complete", "LA"]
    assert [p.name for p in db.parent.iterdir()] == ["db"]


def test_cm_protocol_lines(db: Path) -> None:
    all_ids: list[str] = []
    for name, prefix in SPLITS.values():
        raw = (db / "LA" / "ASVspoof2019_LA_cm_protocols" / name).read_bytes()
        assert raw.endswith(b"\n") and b"\r" not in raw
        lines = raw.decode().splitlines()
        for line in lines:
            match = CM_LINE.match(line)
            assert match, line
            _, utt, system, key = match.groups()
            assert utt.startswith(prefix)
            assert (system == "-") == (key == "bonafide")
        ids = [line.split()[1] for line in lines]
        all_ids += ids
        # Shuffled like the real files: neither sorted nor grouped by class.
        keys = [line.split()[4] for line in lines]
        assert ids != sorted(ids)
        assert keys != sorted(keys) and keys != sorted(keys, reverse=True)
    assert len(all_ids) == len(set(all_ids))


def test_speakers_from_real_ranges_and_disjoint(db: Path) -> None:
    seen: dict[str, set[str]] = {}
    for split in SPLITS:
        speakers = {fields[0] for fields in protocol(db, split)}
        assert {int(s[3:]) for s in speakers} <= SPEAKER_RANGES[split]
        seen[split] = speakers
    assert not seen["train"] & seen["dev"]
    assert not seen["train"] & seen["eval"]
    assert not seen["dev"] & seen["eval"]


def test_attack_sets(db: Path) -> None:
    systems = {split: {f[3] for f in protocol(db, split)} - {"-"} for split in SPLITS}
    seen = {f"A{i:02d}" for i in range(1, 7)}
    assert systems["train"] == seen and systems["dev"] == seen
    assert systems["eval"] <= {f"A{i:02d}" for i in range(7, 20)}
    assert {"A16", "A19"} <= systems["eval"]  # the same algorithms as A04 and A06
    assert len(systems["eval"] - {"A16", "A19"}) >= 3  # attacks training never saw
    assert ATTACKS["A16"].synthesize is ATTACKS["A04"].synthesize
    assert ATTACKS["A19"].synthesize is ATTACKS["A06"].synthesize


def test_every_trial_has_a_16k_16bit_mono_flac(db: Path) -> None:
    for split in SPLITS:
        for fields in protocol(db, split):
            path = db / "LA" / f"ASVspoof2019_LA_{split}" / "flac" / f"{fields[1]}.flac"
            info = sf.info(path)
            assert (info.format, info.subtype) == ("FLAC", "PCM_16")
            assert (info.samplerate, info.channels) == (16000, 1)
            assert 0.9 <= info.duration <= 4.8, (path, info.duration)


def test_audio_level_no_clipping(db: Path) -> None:
    for split in SPLITS:
        for fields in protocol(db, split)[:12]:
            wav = read_audio(db, split, fields[1])
            assert 0.05 < np.abs(wav).max() < 0.99
            assert np.isfinite(wav).all()


def test_enrolment_files_are_the_extra_flacs(db: Path) -> None:
    """The trap of the real corpus: dev/eval flac/ hold ASV enrolment files too."""
    assert flac_ids(db, "train") == {f[1] for f in protocol(db, "train")}
    for split in ("dev", "eval"):
        extra = flac_ids(db, split) - {f[1] for f in protocol(db, split)}
        enrolment = set()
        for line in asv_file(db, split, "trn").read_text().splitlines():
            _, utts = line.split(" ")
            enrolment |= set(utts.split(","))
            assert len(utts.split(",")) >= 2
        assert extra and extra == enrolment
        assert {f[1] for f in protocol(db, split)} <= flac_ids(db, split)


# --------------------------------------------------------------------------- ASV


def test_asv_trials_and_scores(db: Path) -> None:
    for split in ("dev", "eval"):
        cm = {f[1]: f for f in protocol(db, split)}
        enrolled = {
            line.split()[0] for line in asv_file(db, split, "trn").read_text().split("\n") if line
        }
        trials = [line.split(" ") for line in asv_file(db, split, "trl").read_text().splitlines()]
        scores = [
            line.split(" ") for line in asv_file(db, split, "scores").read_text().splitlines()
        ]
        assert len(trials) == len(scores)
        by_key: dict[str, list[float]] = {"target": [], "nontarget": [], "spoof": []}
        for (claimed, utt, cm_key, asv_key), (score_cm, score_asv, score) in zip(
            trials, scores, strict=True
        ):
            assert (score_cm, score_asv) == (cm_key, asv_key)
            assert claimed in enrolled and utt in cm
            speaker, system = cm[utt][0], cm[utt][3]
            if asv_key == "spoof":
                assert cm_key == system != "-" and claimed == speaker
            else:
                assert cm_key == "bonafide" and system == "-"
                assert (claimed == speaker) == (asv_key == "target")
            by_key[asv_key].append(float(score))
        assert all(by_key.values()), split
        assert np.mean(by_key["target"]) > np.mean(by_key["nontarget"]) + 0.1
        # Spoofs claim the target's identity: on average they look more like the target
        # than other speakers do.
        assert np.mean(by_key["spoof"]) > np.mean(by_key["nontarget"])


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_whatever_nj(db: Path, tmp_path: Path) -> None:
    again = tmp_path / "db"
    build_corpus(again, seed=0, scale=SCALE, nj=1)
    files = sorted(p.relative_to(db) for p in db.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for relative in files:
        assert (db / relative).read_bytes() == (again / relative).read_bytes(), relative


def test_seed_changes_the_corpus() -> None:
    first, second = plan_corpus(0, SCALE), plan_corpus(1, SCALE)
    assert [u.utt_id for u in first] != [u.utt_id for u in second]
    assert len(first) == len(second)


def test_default_sizes() -> None:
    plan = plan_corpus(0, 1.0)
    assert 800 <= len(plan) <= 1200
    for split in SPLITS:
        trials = [u for u in plan if u.split == split and not u.enrolment]
        share = sum(u.key == "bonafide" for u in trials) / len(trials)
        assert 0.25 <= share <= 0.4, (split, share)


def test_scale_multiplies_utterances() -> None:
    small, large = plan_corpus(0, 0.5), plan_corpus(0, 1.0)
    assert 1.7 < len(large) / len(small) < 2.3


# --------------------------------------------------------------------------- speech


def autocorrelation_f0(frame: np.ndarray) -> tuple[float, float]:
    """(F0 in Hz, normalised autocorrelation peak) of a frame, searching 60-400 Hz."""
    frame = frame - frame.mean()
    ac = np.fft.irfft(np.abs(np.fft.rfft(frame, 2 * len(frame))) ** 2)[: len(frame)]
    ac /= ac[0]
    lag = 40 + int(np.argmax(ac[40:267]))
    return 16000 / lag, float(ac[lag])


def loudest_f0(wav: np.ndarray) -> tuple[float, float]:
    frames = np.lib.stride_tricks.sliding_window_view(wav, 640)[::160]
    return autocorrelation_f0(frames[np.argmax((frames**2).sum(axis=1))])


def cycle_periods(wav: np.ndarray, start: int, period: float, count: int) -> list[float]:
    """Successive pitch periods by waveform matching, each window anchored on the cycle's
    main peak so that it measures the interval between glottal excitations."""
    t = start + float(np.argmax(np.abs(wav[start : start + int(period)])))
    periods: list[float] = []
    for _ in range(count):
        a, length = round(t - 0.15 * period), int(0.6 * period)
        lags = np.arange(int(0.8 * period), int(1.25 * period) + 1)
        if a < 0 or a + lags[-1] + length + 1 >= len(wav):
            break
        reference = wav[a : a + length]
        candidates = np.lib.stride_tricks.sliding_window_view(
            wav[a + lags[0] : a + lags[-1] + length], length
        )
        corr = (
            candidates
            @ reference
            / np.sqrt((candidates**2).sum(axis=1) * (reference**2).sum() + 1e-20)
        )
        k = int(np.argmax(corr))
        if corr[k] < 0.8 or k in (0, len(corr) - 1):
            break
        offset = 0.5 * (corr[k - 1] - corr[k + 1]) / (corr[k - 1] - 2 * corr[k] + corr[k + 1])
        period = lags[k] + offset
        periods.append(period)
        t += period
    return periods


def jitter(wav: np.ndarray) -> float:
    """Median cycle-to-cycle period perturbation, relative and free of linear F0 trends."""
    starts = range(0, len(wav) - 640, 320)
    power = np.array([np.mean(wav[s : s + 640] ** 2) for s in starts])
    deviations: list[float] = []
    for start in np.array(starts)[power >= 0.05 * power.max()]:
        f0, strength = autocorrelation_f0(wav[start : start + 640])
        if strength < 0.6:
            continue
        p = np.array(cycle_periods(wav, int(start), 16000 / f0, 6))
        if len(p) >= 3:
            deviations += list(np.abs(p[1:-1] - (p[:-2] + p[2:]) / 2) / p[1:-1])
    return float(np.median(deviations))


def test_bonafide_is_voiced_in_the_speakers_f0_range(db: Path) -> None:
    plan = {u.utt_id: u for u in plan_corpus(0, SCALE)}
    bonafide = [f[1] for f in protocol(db, "train") if f[3] == "-"][:8]
    for utt in bonafide:
        f0, strength = loudest_f0(read_audio(db, "train", utt))
        speaker = plan[utt].speaker
        assert strength > 0.5, utt  # periodic: voiced speech, not noise
        assert 0.9 * speaker.f0_min <= f0 <= 1.1 * speaker.f0_max, (utt, f0, speaker)


def test_bonafide_has_jitter_and_vocoder_has_none(db: Path) -> None:
    trials = protocol(db, "train")
    bonafide = [jitter(read_audio(db, "train", f[1])) for f in trials if f[3] == "-"][:8]
    vocoded = [jitter(read_audio(db, "train", f[1])) for f in trials if f[3] == "A02"][:8]
    assert np.median(bonafide) > 0.002
    assert np.median(vocoded) < 0.0012
    assert np.median(bonafide) > 2.5 * np.median(vocoded)


# --------------------------------------------------------------------------- entry point


def test_interrupted_run_leaves_no_corpus(tmp_path: Path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(la2019_layout, "synthesize_spoof", broken)
    with pytest.raises(RuntimeError, match="interrupted"):
        build_corpus(tmp_path / "db", seed=0, scale=0.05, nj=1)
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_foreign_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "something").write_text("")
    with pytest.raises(FileExistsError):
        build_corpus(tmp_path / "db", seed=0, scale=0.05, nj=1)


def test_cli_skips_a_complete_corpus(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert make_mini_corpus.__doc__.startswith("Usage:")
    before = (db / "LA" / "ASVspoof2019_LA_cm_protocols" / SPLITS["eval"][0]).stat().st_mtime_ns
    assert make_mini_corpus.main(["--out_dir", str(db), "--nj", "1"]) == 0
    assert "already there" in capsys.readouterr().out
    after = (db / "LA" / "ASVspoof2019_LA_cm_protocols" / SPLITS["eval"][0]).stat().st_mtime_ns
    assert before == after
