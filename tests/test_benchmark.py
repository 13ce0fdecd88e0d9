"""The benchmark (antispoof.benchmark, egs/benchmark): which sets it scores, which corpora the
training-overlap rule marks, the table, and egs/benchmark/run.sh end to end on the mini corpus's
replicas with the published AASIST."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from antispoof.benchmark import (
    CORPORA,
    MINI,
    BenchmarkSet,
    TrainingData,
    benchmark_markdown,
    benchmark_sets,
    read_rows,
    resolve_model,
    set_corpus,
    table,
    training_data,
)
from antispoof.corpora.sets import CORPUS_SETS
from antispoof.markers import stage_inputs, write_marker

REPO = Path(__file__).resolve().parents[1]
RECIPE_OUTPUTS = {"db", "data", "dump", "exp", ".venv", "__pycache__", ".pytest_cache"}


def cells_of(line: str) -> list[str]:
    """The cells of a Markdown table row (no cell of the benchmark's table holds a `|`)."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_default_sets_are_each_corpus_evaluation_sets_under_its_recipe():
    sets = benchmark_sets()
    assert {s.corpus.name for s in sets} == {c.name for c in CORPORA}
    for benchmark_set in sets:
        assert benchmark_set.recipe == benchmark_set.corpus.name
        # A set that the corpus's stage 1 writes, never one a model trains or selects on.
        assert benchmark_set.name in CORPUS_SETS[benchmark_set.recipe]
        assert not {"train", "dev"} & set(benchmark_set.name.split("_"))
        assert set_corpus(benchmark_set.recipe, benchmark_set.name) == benchmark_set.corpus.name
    egs = Path("egs")
    first = sets[0]
    assert first.data_dir(egs) == egs / first.corpus.name / "data" / first.name


def test_replica_sets_are_mini_sets_of_their_corpus():
    sets = benchmark_sets(replicas=MINI)
    assert sets, "the mini corpus has replicas"
    for benchmark_set in sets:
        assert benchmark_set.recipe == MINI
        assert benchmark_set.name in CORPUS_SETS[MINI]
        assert set_corpus(MINI, benchmark_set.name) == benchmark_set.corpus.name
    chosen = benchmark_sets(["in_the_wild"], replicas=MINI)
    assert [s.corpus.name for s in chosen] == ["in_the_wild"]


@pytest.mark.parametrize(
    ("corpora", "replicas", "named"),
    [(["asvspoof2091"], "", "asvspoof2091"), (["mlaad"], MINI, "mlaad")],
)
def test_unknown_corpus_is_one_error_naming_the_known_ones(corpora, replicas, named):
    with pytest.raises(ValueError, match=f"unknown corpus {named}.*asvspoof2019"):
        benchmark_sets(corpora, replicas)


def test_model_is_an_experiment_or_a_published_name(tmp_path):
    assert resolve_model("AASIST") == "AASIST"
    with pytest.raises(ValueError, match=r"no such experiment directory.*aasist"):
        resolve_model(str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match=r"without config\.yaml"):
        resolve_model(str(tmp_path))
    (tmp_path / "config.yaml").write_text("model: aasist\n")
    assert resolve_model(str(tmp_path)) == str(tmp_path)


def _set(corpus: str, recipe: str | None = None) -> BenchmarkSet:
    found = next(c for c in CORPORA if c.name == corpus)
    return BenchmarkSet(found, recipe or corpus, (found.replica_sets or found.eval_sets)[0])


def test_a_zoo_model_is_marked_on_the_corpora_of_its_card(tmp_path):
    (tmp_path / "pretrained.json").write_text(json.dumps({"name": "aasist"}))
    trained_on = training_data(tmp_path, tmp_path / "egs")
    assert trained_on.overlap(_set("asvspoof2019"))
    assert trained_on.overlap(_set("asvspoof2019", MINI)), "a replica stands in for its corpus"
    assert not trained_on.overlap(_set("in_the_wild"))
    assert not trained_on.overlap(_set("asvspoof2021_df"))
    post_trained = TrainingData(zoo_name="antideepfake-mms-300m")
    assert post_trained.overlap(_set("asvspoof5"))
    assert post_trained.overlap(_set("mlaad"))
    assert not post_trained.overlap(_set("in_the_wild"))


def _data_dir(egs: Path, recipe: str, name: str) -> Path:
    directory = egs / recipe / "data" / name
    directory.mkdir(parents=True)
    (directory / "wav.scp").write_text(f"{recipe}_{name}_1 /audio/{recipe}/{name}/1.flac\n")
    (directory / "utt2label").write_text(f"{recipe}_{name}_1 bonafide\n")
    return directory


def _trained(exp_dir: Path, train_dir: Path, dev_dir: Path) -> Path:
    record = stage_inputs("train", train_dir=train_dir, dev_dir=dev_dir, config={"model": "x"})
    write_marker(exp_dir / ".done.train", record)
    return exp_dir


def test_a_trained_experiment_is_marked_on_the_corpus_of_its_training_sets(tmp_path):
    egs = tmp_path / "egs"
    # egs/asvspoof2021_df prepares 2019 LA's train and dev beside its own sets.
    train = _data_dir(egs, "asvspoof2021_df", "train")
    dev = _data_dir(egs, "asvspoof2021_df", "dev")
    _data_dir(egs, "asvspoof2019", "eval")
    mini_train = _data_dir(egs, MINI, "train")
    mini_dev = _data_dir(egs, MINI, "dev")
    trained_on = training_data(_trained(tmp_path / "exp_la", train, dev), egs)
    assert trained_on.sets == (
        ("train", "asvspoof2021_df", "train"),
        ("dev", "asvspoof2021_df", "dev"),
    )
    assert trained_on.overlap(_set("asvspoof2019")) == [
        "train set egs/asvspoof2021_df/data/train",
        "dev set egs/asvspoof2021_df/data/dev",
    ]
    assert not trained_on.overlap(_set("asvspoof2021_df")), "DF itself was not trained on"
    assert not trained_on.overlap(_set("asvspoof2019", MINI)), "real data is not the replica"
    on_mini = training_data(_trained(tmp_path / "exp_mini", mini_train, mini_dev), egs)
    assert on_mini.overlap(_set("asvspoof2019", MINI))
    assert not on_mini.overlap(_set("asvspoof2019"))


def test_training_data_not_found_marks_nothing_and_says_why(tmp_path):
    egs = tmp_path / "egs"
    no_marker = training_data(tmp_path / "exp", egs)
    assert "records no training inputs" in no_marker.describe()
    elsewhere = tmp_path / "elsewhere"
    train, dev = _data_dir(elsewhere, "x", "train"), _data_dir(elsewhere, "x", "dev")
    unmatched = training_data(_trained(tmp_path / "exp2", train, dev), egs)
    assert "no set prepared" in unmatched.describe()
    assert not unmatched.overlap(_set("asvspoof2019"))


def _metrics(eer: float, min_dcf: float, n_bonafide: int = 10, n_spoof: int = 20, **extra):
    return {
        "eer": eer,
        "eer_negated": 1 - eer,
        "min_dcf": min_dcf,
        "min_dcf_negated": 1.0,
        "n_bonafide": n_bonafide,
        "n_spoof": n_spoof,
        **extra,
    }


def _write(set_dir: Path, official: dict, arena: dict) -> None:
    set_dir.mkdir(parents=True)
    (set_dir / "metrics.json").write_text(json.dumps(official))
    (set_dir / "metrics.arena.json").write_text(json.dumps(arena))
    (set_dir / "det.png").write_bytes(b"")


def test_table_has_both_protocols_marks_overlap_and_averages_the_held_out_sets(tmp_path):
    egs, out = tmp_path / "egs", tmp_path / "out"
    la, df, itw, asv5 = (
        _set("asvspoof2019", MINI),
        _set("asvspoof2021_df", MINI),
        _set("in_the_wild", MINI),
        _set("asvspoof5", MINI),
    )
    for benchmark_set in (la, df, itw):
        _data_dir(egs, MINI, benchmark_set.name)
    _write(out / la.out_subdir, _metrics(0.02, 0.05), _metrics(0.03, 0.06))
    # A 2021 key: the official figure is its eval subset's, the Arena's all trials'.
    eval_subset = _metrics(0.10, 0.30, 7, 9)
    df_official = _metrics(0.20, 0.40, 12, 14, per_subset={"eval": eval_subset},
                           official_subset="eval")  # fmt: skip
    _write(out / df.out_subdir, df_official, _metrics(0.25, 0.45, 12, 14))
    _write(out / itw.out_subdir, _metrics(0.70, 0.90), _metrics(0.75, 0.95))
    rows = read_rows([la, df, itw, asv5], out, egs, TrainingData(zoo_name="aasist"))
    lines = table(rows, out).splitlines()
    cells = {cells_of(line)[1]: cells_of(line) for line in lines[2:]}
    header = cells_of(lines[0])
    la_row = dict(zip(header, cells[f"mini: {la.name}"], strict=True))
    assert la_row["official EER (%)"] == "2.000"
    assert la_row["Arena min DCF"] == "0.0600"
    assert la_row["status"].startswith("in training data (ASVspoof 2019 LA")
    assert la_row["DET"] == f"[official]({la.out_subdir}/det.png)"
    df_row = dict(zip(header, cells[f"mini: {df.name}"], strict=True))
    assert (df_row["official EER (%)"], df_row["official min DCF"]) == ("10.000", "0.3000")
    assert (df_row["Arena EER (%)"], df_row["Arena min DCF"]) == ("25.000", "0.4500")
    assert df_row["#bona fide / #spoof"] == "7 / 9"
    itw_row = dict(zip(header, cells[f"mini: {itw.name}"], strict=True))
    # Negated scores that do better are shown beside the figure, never in its place.
    assert itw_row["official EER (%)"] == "70.000 (negated: **30.000**)"
    assert itw_row["status"] == "held out"
    asv5_row = dict(zip(header, cells[f"mini: {asv5.name}"], strict=True))
    assert asv5_row["status"] == "not prepared: run egs/mini/run.sh --stop-stage 1"
    mean = cells_of(lines[-1])
    assert mean[0] == "**mean of the 2 held-out sets**"
    assert mean[2] == f"{100 * (0.10 + 0.70) / 2:.3f}"
    assert mean[5] == f"{(0.45 + 0.95) / 2:.4f}"
    text = benchmark_markdown(rows, out, "aasist", TrainingData(zoo_name="aasist"), "abc1234",
                              "2025-01-01", "egs/benchmark/run.sh --model aasist")  # fmt: skip
    assert "`abc1234`" in text and "2025-01-01" in text and "64,600 samples" in text
    assert "synthetic replicas" in text


def test_a_metrics_file_that_is_not_one_is_an_error(tmp_path):
    egs, out = tmp_path / "egs", tmp_path / "out"
    itw = _set("in_the_wild")
    (out / itw.out_subdir).mkdir(parents=True)
    (out / itw.out_subdir / "metrics.json").write_text("{}")
    with pytest.raises(ValueError, match=r"metrics\.json.*not a metrics\.json"):
        read_rows([itw], out, egs, TrainingData(unknown="test"))


@pytest.fixture(scope="module")
def fresh_tree(tmp_path_factory):
    tree = tmp_path_factory.mktemp("clone") / "antispoof"
    shutil.copytree(REPO, tree, ignore=lambda _, names: set(names) & RECIPE_OUTPUTS)
    return tree


@pytest.mark.recipe
def test_benchmark_recipe_on_the_mini_replicas_with_published_aasist(fresh_tree, mini_corpus):
    env = {**os.environ, "ANTISPOOF_VENV": str(Path(sys.executable).parents[1])}
    prepared = subprocess.run(
        ["egs/mini/run.sh", "--stage", "1", "--stop-stage", "1", "--db_root", str(mini_corpus)],
        cwd=fresh_tree, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    # Two of the four replicas: the one AASIST was trained on and one held out (each replica's
    # rows come from the same code; the other two would double the test's AASIST scoring).
    corpora = ["--corpora", "asvspoof2019 in_the_wild"]
    command = ["egs/benchmark/run.sh", "--model", "aasist", "--replicas", "mini"]
    done = subprocess.run(
        [*command, *corpora], cwd=fresh_tree, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = fresh_tree / "egs" / "benchmark" / "exp" / "benchmark_aasist"
    text = (out / "BENCHMARK.md").read_text()
    assert "`egs/benchmark/run.sh --model aasist --replicas mini --corpora asvspoof2019" in text
    rows = [cells_of(line) for line in text.splitlines() if line.startswith("| ")]
    header = rows[0]
    by_set = {row[1]: dict(zip(header, row, strict=True)) for row in rows[2:] if row[1]}
    number = re.compile(r"^\d+\.\d+( \(negated: \*\*\d+\.\d+\*\*\))?$")
    scored = benchmark_sets(["asvspoof2019", "in_the_wild"], replicas=MINI)
    assert sorted(by_set) == sorted(f"mini: {benchmark_set.name}" for benchmark_set in scored)
    for benchmark_set in scored:
        row = by_set[f"mini: {benchmark_set.name}"]
        for column in ("official EER (%)", "official min DCF", "Arena EER (%)", "Arena min DCF"):
            assert number.match(row[column]), (benchmark_set.name, column, row[column])
        set_dir = out / benchmark_set.out_subdir
        # The figures are those of the scores evaluate wrote, under each protocol.
        official = json.loads((set_dir / "metrics.json").read_text())
        subset = official.get("official_subset")
        figures = official["per_subset"][subset] if subset else official
        assert row["official EER (%)"].startswith(f"{100 * figures['eer']:.3f}")
        arena = json.loads((set_dir / "metrics.arena.json").read_text())
        assert row["Arena min DCF"].startswith(f"{arena['min_dcf']:.4f}")
        assert (set_dir / "det.png").stat().st_size > 0
        assert f"]({benchmark_set.out_subdir}/det.png)" in row["DET"]
        held_out = benchmark_set.corpus.name != "asvspoof2019"
        assert (row["status"] == "held out") == held_out, row["status"]
    assert by_set["mini: eval"]["status"].startswith("in training data (ASVspoof 2019 LA")
    assert "**mean of the 1 held-out set**" in text
    # Scores made from the current model and data are kept on a second run.
    again = subprocess.run(
        [*command, "--corpora", "in_the_wild"], cwd=fresh_tree, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert "in_the_wild/itw: skipping the scoring" in again.stderr
