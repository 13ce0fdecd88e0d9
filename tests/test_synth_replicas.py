"""The 2021 DF and In-the-Wild replicas of the mini corpus: formats, real codecs, the real
recipes' stage 1 on them, determinism."""

import csv
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from antispoof.bin import make_mini_corpus
from antispoof.corpora.asvspoof2021 import DF_AUDIO, DF_KEY, parse_df_key
from antispoof.corpora.in_the_wild import AUDIO_DIR, META
from antispoof.data.datadir import validate_data_dir
from antispoof.synth import df2021_layout, itw_layout
from conftest import MINI_CORPUS_SCALE

REPO = Path(__file__).resolve().parents[1]
VOCODERS = {
    "traditional_vocoder",
    "waveform_concatenation",
    "neural_vocoder_autoregressive",
    "neural_vocoder_nonautoregressive",
}


@pytest.fixture(scope="module")
def db(mini_corpus: Path) -> Path:
    """The session's mini corpus (made by make_mini_corpus with 2 jobs)."""
    return mini_corpus


def df_key_lines(db: Path) -> list[list[str]]:
    return [line.split(" ") for line in (db / "df21" / DF_KEY).read_text().splitlines()]


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - other) ** 2)))


# --------------------------------------------------------------------------- layout


def test_four_parts_each_marked_complete(db: Path) -> None:
    assert sorted(p.name for p in db.iterdir()) == [".complete", "LA", "asv5", "df21", "itw"]
    # A recipe pointed at a replica alone (egs/in_the_wild, egs/asvspoof2021_df, egs/asvspoof5)
    # finds it whole.
    assert all((db / part / ".complete").is_file() for part in ("df21", "itw", "asv5"))
    assert not list(db.parent.glob(".mini.tmp-*"))


def test_df_key_format(db: Path) -> None:
    lines = df_key_lines(db)
    assert all(len(fields) == 13 for fields in lines)
    trials = parse_df_key(db / "df21" / DF_KEY)
    assert [t.utt for t in trials] == sorted(t.utt for t in trials)
    labels = [t.label for t in trials]
    assert 0.25 <= labels.count("bonafide") / len(labels) <= 0.45
    for fields, trial in zip(lines, trials, strict=True):
        assert fields[1].startswith("DF_E_") and 2_000_000 <= int(fields[1][5:]) < 5_000_000
        assert fields[2] in df2021_layout.CODECS
        assert fields[6] == ("trim" if fields[7] == "hidden" else "notrim")
        if trial.label == "bonafide":
            assert fields[4] in ("-", "bonafide") and fields[8] == "bonafide"
        else:
            assert fields[8] in VOCODERS
            assert fields[4] not in {f"A0{i}" for i in range(1, 7)}  # unseen in 2019 training
            if fields[3] == "asvspoof":
                assert 1 <= int(fields[0][3:]) <= 68  # the eval speaker range
    assert {t.subset for t in trials} <= {"eval", "progress", "hidden"}
    assert sum(t.subset == "eval" for t in trials) > len(trials) / 2
    trl = (db / "df21" / df2021_layout.TRL).read_text().split("\n")
    assert trl[:-1] == [t.utt for t in trials] and trl[-1] == ""


def test_every_df_trial_has_a_flac(db: Path) -> None:
    flacs = {p.stem for p in (db / "df21" / DF_AUDIO).iterdir()}
    assert flacs == {t.utt for t in parse_df_key(db / "df21" / DF_KEY)}
    info = sf.info(db / "df21" / DF_AUDIO / f"{min(flacs)}.flac")
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")


def test_codecs_are_really_applied(db: Path) -> None:
    """Each coded trial differs from its uncoded rendering far more than 16-bit rounding
    would make it; low-rate MP3 removes the band above 7 kHz."""
    seen = set()
    for trial in df2021_layout.plan(0, MINI_CORPUS_SCALE):
        written, _ = sf.read(db / "df21" / DF_AUDIO / f"{trial.trial}.flac")
        clean = df2021_layout.render(trial, 0, codec="nocodec")
        assert len(written) == len(clean)
        snr = snr_db(clean, written)
        if trial.codec == "nocodec":
            assert snr > 60, trial
        else:
            assert snr < 40, trial
        if trial.codec == "low_mp3":
            freqs = np.fft.rfftfreq(len(clean), 1 / 16000)

            def high_share(x: np.ndarray, freqs: np.ndarray = freqs) -> float:
                power = np.abs(np.fft.rfft(x)) ** 2
                return float(power[freqs > 7000].sum() / power.sum())

            assert high_share(written) < 0.1 * high_share(clean), trial
        seen.add(trial.codec)
    assert seen == set(df2021_layout.CODECS)


def test_itw_meta_and_audio(db: Path) -> None:
    folder = db / "itw" / AUDIO_DIR
    text = (folder / META).read_text(encoding="utf-8")
    assert text.startswith("file,speaker,label\n")
    assert '"Harold Finch, Jr."' in text
    with (folder / META).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    assert {label for _, _, label in rows} == {"bona-fide", "spoof"}
    assert 0.5 <= sum(label == "bona-fide" for *_, label in rows) / len(rows) <= 0.7
    assert all(" " in speaker for _, speaker, _ in rows)
    listed = {name for name, _, _ in rows}
    wavs = {p.name for p in folder.glob("*.wav")}
    assert listed < wavs and len(wavs - listed) == 1
    seconds = []
    for name in sorted(wavs):
        info = sf.info(folder / name)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "FLOAT")
        seconds.append(info.duration)
    assert min(seconds) >= 1.0 and max(seconds) <= 6.0 and max(seconds) - min(seconds) > 2.0


def test_itw_channel_reverberates() -> None:
    rng = np.random.default_rng(0)
    rir = itw_layout.room_impulse_response(rng)
    assert rir[0] == 1.0 and len(rir) >= 0.15 * 16000
    quarters = np.array_split(rir[1:] ** 2, 4)
    assert quarters[0].sum() > 10 * quarters[-1].sum()  # decays


# --------------------------------------------------------------------------- real recipes


def test_real_stage_1_runs_on_the_replicas(db: Path, tmp_path: Path) -> None:
    env_bin = Path(__import__("sys").executable).parent
    env = {"PATH": f"{env_bin}:/usr/bin:/bin"}
    data = tmp_path / "data"
    for command in (
        [
            "local/asvspoof2021_df/prepare_data.sh",
            "--df_train_size", "10", "--df_dev_size", "4",
            str(db / "df21"), str(data),
        ],
        ["local/in_the_wild/prepare_data.sh", str(db / "itw"), str(data)],
    ):  # fmt: skip
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
    n_trials = len(df_key_lines(db))
    assert validate_data_dir(data / "df21_full", check_audio_exists=True).num_utts == n_trials
    for name in ("df21_eval", "df21_train", "df21_dev", "df21_eval_heldout"):
        assert validate_data_dir(data / name, check_audio_exists=True).num_utts > 0
    assert validate_data_dir(data / "itw", check_audio_exists=True).num_utts == round(
        itw_layout.CLIPS * MINI_CORPUS_SCALE
    )


# --------------------------------------------------------------------------- determinism


def test_an_item_written_alone_has_the_bytes_of_the_two_job_build(db: Path, tmp_path: Path) -> None:
    """A replica's files depend on the seed and the item alone, not on the job that writes them
    nor on what that job wrote before: a sample of each replica's items, each written here in
    reverse order in this one process, gives the bytes the session's build (2 jobs, items handed
    out in chunks) wrote, and so does the metadata written from the plan. (Each part's file list
    against its key or protocol: the layout tests above and test_asvspoof5.)"""
    for part, layout in make_mini_corpus.REPLICAS.items():
        plan = layout.plan(0, MINI_CORPUS_SCALE)
        chosen = set(range(0, len(plan), max(1, len(plan) // 6))) | {len(plan) - 2, len(plan) - 1}
        sample = [plan[i] for i in sorted(chosen)]
        root = tmp_path / part
        layout.prepare_dirs(root)
        for item in reversed(sample):
            layout.generate(root, 0, item)
        layout.write_metadata(root, plan)
        written = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
        audio = [p for p in written if p.suffix in (".flac", ".wav")]
        assert len(audio) >= len(sample) >= 8 and len(written) > len(audio), part
        for relative in written:
            assert (db / part / relative).read_bytes() == (root / relative).read_bytes(), relative


def test_cli_skips_a_complete_corpus(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert make_mini_corpus.main(["--out_dir", str(db), "--nj", "1"]) == 0
    assert "already there" in capsys.readouterr().out
