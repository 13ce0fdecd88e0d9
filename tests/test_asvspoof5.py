"""ASVspoof 5: the Track 1 figures against the official evaluation package, stage 1 on the
release's protocols (and the refusal of the phase-1 ones), the mini corpus's replica, and the
recipe's configs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from antispoof.config import resolve, resolve_file
from antispoof.corpora.asvspoof5 import parse_protocol, prepare, write_set
from antispoof.corpora.common import ProtocolError
from antispoof.corpora.sets import ASVSPOOF5_MINI
from antispoof.data.datadir import validate_data_dir
from antispoof.data.kaldi_files import read_table
from antispoof.evaluation.calibration import Calibration
from antispoof.evaluation.evaluate import evaluate
from antispoof.evaluation.factors import POOLED
from antispoof.evaluation.results_table import Result, condition_tables
from antispoof.synth import asv5_layout
from antispoof.synth.asv5_layout import ASV5_DIR
from antispoof.training.trainer import Trainer, TrainingData
from tiny_configs import offline
from toy_data import make_toy_data_dir

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "reference" / "asvspoof5"
GOLDEN = json.loads((REFERENCE / "asvspoof5_package_figures.json").read_text())
CASES = ("eval", "dev")
# llr = 1.0 * score + 0.0 is the score itself, to the bit: the package reads the submitted
# scores as LLRs, and with this calibration so does the evaluation here.
IDENTITY = Calibration(1.0, 0.0, "identity", 1, 1, 0.0)
PACKAGE_POOLED = "pooled"  # the package's name of a pooled row or column
FIGURES = ("min_dcf", "eer", "cllr", "act_dcf")


# --------------------------------------------------------------------------- official figures


def evaluate_case(case: str, tmp_path: Path) -> dict:
    """The case's protocol through stage 1's tables, its package score file as scores.txt, and
    the evaluation of stage 5 with the scores taken as LLRs."""
    trials = parse_protocol(REFERENCE / f"{case}.tsv")
    write_set(tmp_path / "data", trials, tmp_path / "flac")
    rows = (REFERENCE / f"{case}.scores.tsv").read_text().splitlines()
    assert rows[0] == "filename\tcm-score"
    scores = tmp_path / "scores.txt"
    scores.write_text("".join(f"{row}\n" for row in rows[1:]))
    return evaluate(scores, tmp_path / "data", calibration=IDENTITY)


@pytest.mark.parametrize("case", CASES)
def test_the_package_read_the_same_trials(case):
    """The key files the golden figures were computed from say what the protocol says."""
    trials = parse_protocol(REFERENCE / f"{case}.tsv")
    keys = (REFERENCE / f"{case}.keys.tsv").read_text().splitlines()
    assert keys[0] == "filename\tcm-label"
    assert [line.split("\t") for line in keys[1:]] == [[t.utt, t.label] for t in trials]
    full = [line.split() for line in (REFERENCE / f"{case}.full_keys.txt").read_text().splitlines()]
    header = full[0]
    column = {name: header.index(name) for name in ("trial_anon", "codec", "attack_anon")}
    assert header[8] == "cm-label"
    assert [[row[column[n]] for n in column] + [row[8]] for row in full[1:]] == [
        [t.utt, t.codec, t.attack, t.label] for t in trials
    ]
    scored = (REFERENCE / f"{case}.scores.tsv").read_text().splitlines()[1:]
    # In file-name order, the order of the score files stage 4 writes.
    assert [line.split("\t")[0] for line in scored] == sorted(t.utt for t in trials)


@pytest.mark.parametrize("case", CASES)
def test_pooled_figures_are_bit_identical_to_the_package(case, tmp_path):
    metrics = evaluate_case(case, tmp_path)
    assert {figure: metrics[figure] for figure in FIGURES} == GOLDEN[case]["pooled"]


@pytest.mark.parametrize("case", CASES)
def test_every_attack_x_codec_cell_is_bit_identical_to_the_package(case, tmp_path):
    """The package's full evaluation per attack (rows) and codec (columns), with its pooled row
    and column; a cell it leaves NaN (a class missing) is null here."""
    table = evaluate_case(case, tmp_path)["conditions"]["attack_x_codec"]
    golden = GOLDEN[case]["full"]

    def ours(name: str) -> str:
        return POOLED if name == PACKAGE_POOLED else name

    assert set(table["cells"]) == {ours(attack) for attack in golden["attacks"]}
    assert set(table["column_labels"]) == {ours(codec) for codec in golden["codecs"]}
    n_null = 0
    for i, attack in enumerate(golden["attacks"]):
        for j, codec in enumerate(golden["codecs"]):
            cell = table["cells"][ours(attack)][ours(codec)]
            expected = {figure: golden[figure][i][j] for figure in FIGURES}
            if expected["eer"] is None:
                assert cell is None, (attack, codec)
                n_null += 1
            else:
                assert {figure: cell[figure] for figure in FIGURES} == expected, (attack, codec)
    # The eval case has empty cells (C11 has no bona fide trial, A32 no coded one).
    assert n_null > 0 if case == "eval" else n_null == 0


def test_results_md_shows_a_table_of_each_track_1_figure(tmp_path):
    metrics = evaluate_case("eval", tmp_path)
    tables = condition_tables([Result("aasist", "eval", metrics)])
    titles = ("min DCF", "EER (%)", "actDCF", "Cllr (bits)")
    assert list(tables) == [
        f"{title} per attack x codec: eval, aasist, all trials" for title in titles
    ]
    golden = GOLDEN["eval"]["full"]
    first_row = tables["min DCF per attack x codec: eval, aasist, all trials"].splitlines()[2]
    # Row A17: its cells in the column order of the table (codecs, then Pooled).
    column = golden["codecs"].index("-")
    assert first_row.startswith(f"| A17 | {golden['min_dcf'][1][column]:.4f} |")


def test_cells_have_actdcf_and_cllr_only_through_a_calibration(tmp_path):
    trials = parse_protocol(REFERENCE / "dev.tsv")
    write_set(tmp_path / "data", trials, tmp_path / "flac")
    rows = (REFERENCE / "dev.scores.tsv").read_text().splitlines()[1:]
    (tmp_path / "scores.txt").write_text("".join(f"{row}\n" for row in rows))
    metrics = evaluate(tmp_path / "scores.txt", tmp_path / "data")
    cell = metrics["conditions"]["attack_x_codec"]["cells"]["A09"][POOLED]
    assert set(cell) == {"eer", "min_dcf", "n_bonafide", "n_spoof"}


# --------------------------------------------------------------------------- stage 1


def run_prepare(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "local/asvspoof5/prepare_data.sh"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def protocol_rows(root: Path, name: str) -> list[list[str]]:
    return [line.split(" ") for line in (root / name).read_text().splitlines()]


def test_stage_1_writes_every_column_of_the_protocol(mini_corpus, tmp_path):
    replica = mini_corpus / ASV5_DIR
    result = run_prepare("--prefix", "asv5_", str(replica), str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == sorted(ASVSPOOF5_MINI)
    columns = {"utt2spk": 0, "utt2gender": 2, "utt2codec": 3, "utt2codec_q": 4}
    columns |= {"utt2attack_tag": 6, "utt2attack": 7, "utt2label": 8}
    for spec in asv5_layout.SETS:
        data_dir = tmp_path / "data" / f"asv5_{spec.name}"
        summary = validate_data_dir(data_dir, check_audio_exists=True)
        rows = {row[1]: row for row in protocol_rows(replica, spec.protocol)}
        assert summary.num_utts == len(rows) and summary.num_bonafide > 0
        for table, field in columns.items():
            assert read_table(data_dir / table) == {utt: row[field] for utt, row in rows.items()}
        # From the protocol, not the folder, which also holds files the protocol does not list.
        wav = read_table(data_dir / "wav.scp")
        assert wav == {utt: str(replica.resolve() / spec.audio_dir / f"{utt}.flac") for utt in rows}
        assert len(list((replica / spec.audio_dir).iterdir())) == len(rows) + spec.unlisted


def test_protocols_unpacked_into_their_own_folder_are_found(tmp_path):
    root = tmp_path / "asv5"
    (root / "ASVspoof5_protocols").mkdir(parents=True)
    (root / "flac_D").mkdir()
    line = "D_0461 D_0000000190 M - - - - bonafide bonafide -"
    (root / "ASVspoof5_protocols" / "ASVspoof5.dev.track_1.tsv").write_text(line + "\n")
    (root / "flac_D" / "D_0000000190.flac").write_bytes(b"")
    assert prepare(root, tmp_path / "data", ["dev"]) == {"dev": 1}
    assert read_table(tmp_path / "data" / "dev" / "utt2attack") == {"D_0000000190": "bonafide"}


def test_the_phase_1_protocols_are_refused_with_the_final_names(tmp_path):
    root = tmp_path / "asv5"
    (root / "flac_T").mkdir(parents=True)
    (root / "ASVspoof5.train.metainfor.txt").write_text("T_4850 T_0000000000 F - AC3 spoof\n")
    result = run_prepare(str(root), str(tmp_path / "data"))
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "ASVspoof5.train.metainfor.txt is a phase-1 protocol" in line
    assert "use the final ASVspoof5.train.tsv" in line
    # A phase-1 file under the final name: its 6-field lines name the release's files.
    (root / "ASVspoof5.train.tsv").write_text("T_4850 T_0000000000 F - AC3 spoof\n")
    with pytest.raises(ProtocolError, match=r"ASVspoof5.train.tsv:1: a line of 6 fields.*phase-1"):
        prepare(root, tmp_path / "data", ["train"])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("D_1 D_0000000001 F - - - AC1 A09 spoof", "expected 10 fields"),
        ("D_1 D_0000000001 F - - - - A09 bonafide -", "bona fide trial with ATTACK_LABEL 'A09'"),
        ("D_1 D_0000000001 F - - - AC1 bonafide spoof -", "spoof trial with ATTACK_LABEL"),
        ("D_1 D_0000000001 F - - - AC1 A09 fake -", "KEY 'fake' is not bonafide or spoof"),
    ],
)
def test_malformed_lines_name_file_and_line(line, message, tmp_path):
    path = tmp_path / "ASVspoof5.dev.track_1.tsv"
    path.write_text(f"D_0 D_0000000000 M - - - - bonafide bonafide -\n{line}\n")
    with pytest.raises(ProtocolError, match=rf"{path}:2: {re.escape(message)}"):
        parse_protocol(path)


def test_a_repeated_trial_and_missing_audio_are_errors(tmp_path):
    root = tmp_path / "asv5"
    (root / "flac_E").mkdir(parents=True)  # the challenge-time name of the eval folder
    line = "E_0001 E_0000000001 F C01 2 E_0000000009 AC1 A17 spoof -"
    (root / "ASVspoof5.eval.track_1.tsv").write_text(f"{line}\n{line}\n")
    with pytest.raises(ProtocolError, match=r"track_1.tsv:2: trial E_0000000001 already listed"):
        prepare(root, tmp_path / "data", ["eval"])
    (root / "ASVspoof5.eval.track_1.tsv").write_text(f"{line}\n")
    with pytest.raises(FileNotFoundError, match=r"audio folder not found: .*flac_E_eval"):
        prepare(root, tmp_path / "data", ["eval"])
    (root / "flac_E_eval").mkdir()
    with pytest.raises(FileNotFoundError, match=r"1 of 1 trials have no audio file: E_0000000001"):
        prepare(root, tmp_path / "data", ["eval"])


# --------------------------------------------------------------------------- the replica


def test_the_replica_is_in_the_release_layout(mini_corpus):
    replica = mini_corpus / ASV5_DIR
    assert (replica / ".complete").is_file()
    attacks_of = {"train": range(1, 9), "dev": range(9, 17), "eval": range(17, 33)}
    for spec in asv5_layout.SETS:
        rows = protocol_rows(replica, spec.protocol)
        assert all(len(row) == 10 and row[9] == "-" for row in rows)
        assert [row[1] for row in rows] == sorted(row[1] for row in rows)
        assert all(re.fullmatch(rf"{spec.letter}_\d{{4}}", row[0]) for row in rows)
        assert all(re.fullmatch(rf"{spec.letter}_\d{{10}}", row[1]) for row in rows)
        assert {row[2] for row in rows} == {"F", "M"}
        spoof = [row for row in rows if row[8] == "spoof"]
        assert {row[7] for row in spoof} == {f"A{n:02d}" for n in attacks_of[spec.name]}
        assert {row[6] for row in spoof} <= {"AC1", "AC2", "AC3"}
        assert all(row[6:9] == ["-", "bonafide", "bonafide"] for row in rows if row[8] != "spoof")
        if spec.name != "eval":
            assert all(row[3:6] == ["-", "-", "-"] for row in rows)
            continue
        # Eval: uncoded trials and coded copies of them, each naming its uncoded trial.
        by_name = {row[1]: row for row in rows}
        coded = [row for row in rows if row[3] != "-"]
        assert {row[3] for row in coded} == set(asv5_layout.CODECS)
        assert all(row[4:6] == ["0", "-"] for row in rows if row[3] == "-")
        for row in coded:
            source = by_name[row[5]]
            assert source[3] == "-" and source[0] == row[0] and source[6:9] == row[6:9]
            assert 1 <= int(row[4]) <= (8 if row[3] == "C11" else 5)
    speakers = [{row[0] for row in protocol_rows(replica, s.protocol)} for s in asv5_layout.SETS]
    assert not (speakers[0] & speakers[1] or speakers[0] & speakers[2] or speakers[1] & speakers[2])
    info = sf.info(next((replica / "flac_E_eval").iterdir()))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")


def high_band_share(x: np.ndarray, above_hz: float) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    return float(power[np.fft.rfftfreq(len(x), 1 / 16000) > above_hz].sum() / power.sum())


def test_every_codec_changes_the_audio_and_narrowband_ones_its_band(mini_corpus):
    """Each coded eval trial against the uncoded trial its CODEC_SEED names."""
    audio = mini_corpus / ASV5_DIR / "flac_E_eval"
    rows = protocol_rows(mini_corpus / ASV5_DIR, "ASVspoof5.eval.track_1.tsv")
    seen = set()
    for _, name, _, codec, _, source, *_ in rows:
        if codec == "-":
            continue
        clean, _ = sf.read(audio / f"{source}.flac")
        written, _ = sf.read(audio / f"{name}.flac")
        assert len(written) == len(clean)
        # SNR under 50 dB; 16-bit rounding of speech at -22 dBFS or below leaves about 70 dB.
        error = np.sum((written - clean) ** 2) / np.sum(clean**2)
        assert error > 1e-5, name
        if codec in ("C08", "C09", "C10", "C11"):  # 8 kHz sampling, or the telephone band
            coded_share = high_band_share(written, 4200)
            assert coded_share < 1e-4 and coded_share < high_band_share(clean, 4200), name
        seen.add(codec)
    assert seen == set(asv5_layout.CODECS)


# --------------------------------------------------------------------------- configs


@pytest.mark.parametrize("name", ["aasist", "wavlm_aasist"])
def test_the_recipe_configs_train_a_step(name, tmp_path):
    """Each config builds and takes a training step at its own crop length (the released WavLM
    Base replaced by a random encoder of its family and frame rate: tiny_configs.offline)."""
    config = resolve_file(REPO / "egs/asvspoof5/conf" / f"{name}.yaml", ["train.batch_size=2"])
    config = resolve(yaml.safe_load(yaml.safe_dump(offline(config))))
    data = TrainingData(
        make_toy_data_dir(tmp_path, "train", 2, 0), make_toy_data_dir(tmp_path, "dev", 2, 1)
    )
    trainer = Trainer(tmp_path / "exp", config, data, torch.device("cpu"))
    before = {k: v.clone() for k, v in trainer.detector.state_dict().items()}
    assert torch.isfinite(torch.tensor(trainer._train_epoch(1, None)))
    after = trainer.detector.state_dict()
    changed = {k for k in after if not torch.equal(before[k], after[k])}
    assert any(k.startswith("model.") for k in changed)
    if name == "wavlm_aasist":  # the encoder is fine-tuned, its layer weights learnt
        assert any(k.startswith("inputs.ssl.") for k in changed)
