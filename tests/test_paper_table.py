"""Published tables as data, `python -m antispoof.bin.paper_table`, and run.sh's --seeds runs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from antispoof.bin import paper_table, seed_runs
from antispoof.config import experiment_tag
from antispoof.data.kaldi_files import write_table
from antispoof.evaluation.evaluate import evaluate
from antispoof.paper_tables.compare import MetricsError, find_runs
from antispoof.paper_tables.table import PaperTableError, load_table, packaged_tables
from antispoof.registry import ConfigError
from antispoof.seeds import parse_seeds, run_overrides, seed_of_tag

REPO = Path(__file__).resolve().parents[1]
LABELS = {"b1": "bonafide", "b2": "bonafide", "b3": "bonafide", "s1": "spoof", "s2": "spoof"}
ATTACKS = {"b1": "bonafide", "b2": "bonafide", "b3": "bonafide", "s1": "A01", "s2": "A02"}
# Hand-made scores of three seeds (EERs differ from seed to seed) and one scoring bona fide low.
SEED_SCORES = {
    1: {"b1": 2.0, "b2": 1.0, "b3": 0.1, "s1": 0.5, "s2": -1.0},
    2: {"b1": 2.0, "b2": 1.0, "b3": 0.8, "s1": 0.5, "s2": -1.0},
    3: {"b1": 2.0, "b2": -0.5, "b3": 0.1, "s1": 0.5, "s2": 1.5},
}
LOW_BONAFIDE = {"b1": -2.0, "b2": -1.0, "b3": 0.3, "s1": 0.5, "s2": 1.0}
TABLE = {
    "title": "A test table",
    "citation": "Nobody, a test, 2026",
    "notes": ["a note"],
    "columns": {
        "dev_eer": {"label": "Dev EER (%)", "set": "dev", "figure": "eer"},
        "eval_tdcf": {"label": "Eval min t-DCF", "set": "eval", "figure": "min_tdcf"},
    },
    "rows": [
        {
            "id": "seeded",
            "label": "Seeded row",
            "recipe": "rec",
            "config": "conf/model_a.yaml",
            "overrides": ["train.epochs=20"],
            "published": {
                "dev_eer": {"value": 10.5, "polarity": "conventional"},
                "eval_tdcf": {"value": 0.25, "polarity": "conventional", "note": "from a note"},
            },
        },
        {
            "id": "flipped",
            "label": "Flipped row",
            "recipe": "rec",
            "config": "conf/model_b.yaml",
            "published": {"dev_eer": {"value": 30.0, "polarity": "negated"}},
        },
        {
            "id": "absent",
            "label": "Absent row",
            "recipe": "rec",
            "config": "conf/model_c.yaml",
            "published": {"dev_eer": {"value": 1.0, "polarity": "lower_of_both"}},
        },
        # An ablation the paper does not publish: measured only, in every column.
        {"id": "measured", "label": "Measured row", "recipe": "rec", "config": "conf/model_b.yaml"},
    ],
}


def write_metrics(exp_dir: Path, test_set: str, scores: dict[str, float], asv: bool = False):
    """`<exp_dir>/<set>/metrics.json` as stage 5 writes it: the repository's evaluate on a
    hand-made data directory and score file (with the organisers' ASV scores' format for the
    legacy t-DCF when `asv`)."""
    data_dir = exp_dir.parent.parent / "data" / f"{exp_dir.name}_{test_set}"
    write_table(data_dir / "utt2label", LABELS)
    write_table(data_dir / "utt2attack", ATTACKS)
    (data_dir / "asv_scores.txt").unlink(missing_ok=True)
    if asv:
        (data_dir / "asv_scores.txt").write_text(
            "bonafide target 3.0\nbonafide target 2.5\nbonafide nontarget -1.0\n"
            "bonafide nontarget 0.5\nspoof spoof 1.0\nspoof spoof -0.5\n"
        )
    scores_file = exp_dir / test_set / "scores.txt"
    scores_file.parent.mkdir(parents=True, exist_ok=True)
    scores_file.write_text("".join(f"{utt} {score}\n" for utt, score in scores.items()))
    metrics = evaluate(scores_file, data_dir)
    (exp_dir / test_set / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def make_experiment(exp_root: Path, tag: str, seed: int) -> Path:
    exp_dir = exp_root / "rec" / "exp" / tag
    exp_dir.mkdir(parents=True)
    (exp_dir / "config.yaml").write_text(yaml.safe_dump({"train": {"seed": seed}}))
    return exp_dir


@pytest.fixture
def table_file(tmp_path: Path) -> Path:
    path = tmp_path / "test_table.yaml"
    path.write_text(yaml.safe_dump(TABLE, sort_keys=False))
    return path


@pytest.fixture
def exp_root(tmp_path: Path) -> Path:
    """Three seeded runs of the seeded row (dev and eval), the flipped row's one run (dev)."""
    root = tmp_path / "egs"
    for seed, scores in SEED_SCORES.items():
        exp_dir = make_experiment(root, f"model_a__train.epochs=20__train.seed={seed}", seed)
        write_metrics(exp_dir, "dev", scores)
        write_metrics(exp_dir, "eval", scores, asv=True)
    write_metrics(make_experiment(root, "model_b", 688), "dev", LOW_BONAFIDE)
    return root


def table_lines(text: str, label: str) -> list[list[str]]:
    """The cells of the Markdown rows of one table row, by its label."""
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith(f"| {label} |")
    ]


def stats_text(values: list[float], decimals: int) -> str:
    """mean ± sample std (min–max, n), as numpy computes them."""
    fmt = f".{decimals}f"
    return (
        f"{np.mean(values):{fmt}} ± {np.std(values, ddof=1):{fmt}} "
        f"({np.min(values):{fmt}}–{np.max(values):{fmt}}, n={len(values)})"
    )


def test_published_beside_measured(table_file, exp_root, tmp_path, capsys):
    out = tmp_path / "cmp.md"
    assert (
        paper_table.main(
            ["--table", str(table_file), "--exp_root", str(exp_root), "--out", str(out)]
        )
        == 0
    )
    text = out.read_text()
    assert capsys.readouterr().out == text
    metrics = {
        (seed, test_set): json.loads(
            (
                exp_root
                / f"rec/exp/model_a__train.epochs=20__train.seed={seed}/{test_set}/metrics.json"
            ).read_text()
        )
        for seed in SEED_SCORES
        for test_set in ("dev", "eval")
    }
    dev_eers = [100 * metrics[seed, "dev"]["eer"] for seed in SEED_SCORES]
    dev_negated = [100 * metrics[seed, "dev"]["eer_negated"] for seed in SEED_SCORES]
    tdcfs = [metrics[seed, "eval"]["min_tdcf"] for seed in SEED_SCORES]
    tdcfs_negated = [metrics[seed, "eval"]["min_tdcf_negated"] for seed in SEED_SCORES]
    assert len(set(dev_eers)) > 1 and len(set(tdcfs)) > 1  # the spread is real

    dev, tdcf = table_lines(text, "Seeded row")
    assert dev[1:3] == ["Dev EER (%): dev (official)", "10.5 (conventional)"]
    assert dev[3] == stats_text(dev_eers, 3)
    assert dev[4] == stats_text(dev_negated, 3)
    assert dev[5] == f"{np.mean(dev_eers) - 10.5:+.3f}"
    assert dev[6].startswith("3 run(s), seed(s) 1, 2, 3")
    assert tdcf[2] == "0.25 (conventional) [1]"
    assert tdcf[3] == stats_text(tdcfs, 4)
    assert tdcf[4] == stats_text(tdcfs_negated, 4)
    assert "[1] from a note" in text

    dev_only, eval_only = table_lines(text, "Measured row")
    low_dev = json.loads((exp_root / "rec/exp/model_b/dev/metrics.json").read_text())
    assert dev_only[2:] == [
        "–",
        f"{100 * low_dev['eer']:.3f}",
        f"{100 * low_dev['eer_negated']:.3f}",
        "–",
        "1 run(s), seed(s) 688: model_b",
    ]
    assert eval_only[1:3] == ["Eval min t-DCF: eval (official)", "–"]

    # One run scoring bona fide low, published as the EER of the negated scores.
    (flipped,) = table_lines(text, "Flipped row")
    low = json.loads((exp_root / "rec/exp/model_b/dev/metrics.json").read_text())
    assert low["eer_negated"] < low["eer"]
    assert flipped[2] == "30 (negated)"
    assert flipped[3:5] == [f"{100 * low['eer']:.3f}", f"{100 * low['eer_negated']:.3f}"]
    assert flipped[5] == f"{100 * low['eer_negated'] - 30.0:+.3f}"
    assert flipped[6].startswith("1 run(s), seed(s) 688: model_b")

    (absent,) = table_lines(text, "Absent row")
    assert absent[3:5] == ["not run", "not run"]
    assert absent[6] == "none: no rec/exp/model_c"
    assert "at commit `" in text and "--table" in text
    assert '`egs/rec/run.sh --config conf/model_a.yaml --override "train.epochs=20"' in text


def test_missing_sets_and_figures_are_named(table_file, exp_root, capsys):
    for seed in SEED_SCORES:
        exp_dir = exp_root / f"rec/exp/model_a__train.epochs=20__train.seed={seed}"
        (exp_dir / "eval" / "metrics.json").unlink()
    # Seed 1 evaluated again without the ASV scores: no min t-DCF.
    write_metrics(
        exp_root / "rec/exp/model_a__train.epochs=20__train.seed=1", "eval", SEED_SCORES[1]
    )
    paper_table.main(["--table", str(table_file), "--exp_root", str(exp_root)])
    _, tdcf = table_lines(capsys.readouterr().out, "Seeded row")
    assert tdcf[3:5] == ["no min t-DCF", "no min t-DCF"]
    assert "seed=1/eval/metrics.json: no min_tdcf (evaluated without the ASV scores)" in tdcf[6]
    assert "seed=2/eval/metrics.json: not evaluated" in tdcf[6]


def test_lower_of_both_and_explicit_experiments(table_file, exp_root, capsys):
    """--exp gives a row's runs; lower_of_both compares the lower of the two EERs."""
    elsewhere = exp_root / "rec" / "exp" / "model_b"
    paper_table.main(
        ["--table", str(table_file), "--exp_root", str(exp_root), "--exp", f"absent={elsewhere}"]
    )
    (absent,) = table_lines(capsys.readouterr().out, "Absent row")
    low = json.loads((elsewhere / "dev" / "metrics.json").read_text())
    assert absent[5] == f"{100 * min(low['eer'], low['eer_negated']) - 1.0:+.3f}"
    with pytest.raises(ValueError, match="no row 'nope'"):
        paper_table.main(["--table", str(table_file), "--exp", f"nope={elsewhere}"])
    with pytest.raises(FileNotFoundError, match="no such experiment directory"):
        paper_table.main(["--table", str(table_file), "--exp", f"absent={exp_root / 'x'}"])


def test_unseeded_run_joins_the_seeds_unless_one_has_its_seed(tmp_path):
    row = load_table_from(TABLE, tmp_path).rows[0]
    root = tmp_path / "egs"
    make_experiment(root, "model_a__train.epochs=20", 688)
    make_experiment(root, "model_a__train.epochs=20__train.seed=2", 2)
    make_experiment(root, "model_a__train.epochs=20__train.seed=10", 10)
    make_experiment(root, "model_a__train.epochs=20__train.lr=1", 5)  # another experiment
    assert [run.seed for run in find_runs(row, root)] == [688, 2, 10]
    make_experiment(root, "model_a__train.epochs=20__train.seed=688", 688)
    assert [run.seed for run in find_runs(row, root)] == [2, 10, 688]


def load_table_from(data: dict, tmp_path: Path):
    path = tmp_path / "table.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_table(path)


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2]", '{"eer": "high", "eer_negated": 0.1}', "{}"]
)
def test_malformed_metrics_name_the_file(table_file, exp_root, content):
    path = exp_root / "rec/exp/model_b/dev/metrics.json"
    path.write_text(content)
    with pytest.raises(MetricsError, match=re.escape(str(path))):
        paper_table.main(["--table", str(table_file), "--exp_root", str(exp_root)])


def test_malformed_config_yaml_names_the_file(table_file, exp_root):
    path = exp_root / "rec/exp/model_b/config.yaml"
    path.write_text("train: {epochs: 3}\n")
    with pytest.raises(MetricsError, match=re.escape(f"{path}: no integer train.seed")):
        paper_table.main(["--table", str(table_file), "--exp_root", str(exp_root)])


def broken(change) -> dict:
    data = json.loads(json.dumps(TABLE))
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t["rows"][0]["published"]["dev_eer"].update(polarity="flipped"),
            "rows[0].published.dev_eer.polarity must be one of conventional, negated, "
            "lower_of_both",
        ),
        (
            lambda t: t["rows"][1]["published"]["dev_eer"].pop("value"),
            "rows[1].published.dev_eer.value must be a number",
        ),
        (
            lambda t: t["rows"][1]["published"].update(itw_eer={"value": 1, "polarity": "negated"}),
            "rows[1].published.itw_eer: no such column",
        ),
        (
            lambda t: t["columns"]["dev_eer"].update(figure="auc"),
            "columns.dev_eer.figure must be one of",
        ),
        (lambda t: t["rows"][2].update(experiment="x"), "rows[2]: give config"),
        (
            lambda t: t["rows"][2].update(overrides=["epochs"]),
            "rows[2].overrides: override 'epochs'",
        ),
        (lambda t: t["rows"][2].update(id="seeded"), "row ids must be unique; repeated: seeded"),
        (lambda t: t["rows"][0].update(colour="red"), "rows[0]: unknown key(s) colour"),
        (lambda t: t.pop("citation"), "the file: citation is missing"),
    ],
)
def test_malformed_table_names_the_file_and_key(tmp_path, change, message):
    path = tmp_path / "table.yaml"
    path.write_text(yaml.safe_dump(broken(change), sort_keys=False))
    with pytest.raises(PaperTableError, match=re.escape(f"{path}: ") + ".*" + re.escape(message)):
        load_table(path)


def test_bad_yaml_and_unknown_table(tmp_path):
    path = tmp_path / "table.yaml"
    path.write_text("rows: [\n")
    with pytest.raises(PaperTableError, match=re.escape(f"{path}: not valid YAML")):
        load_table(path)
    with pytest.raises(PaperTableError, match=r"no published table 'nope'.*oc_softmax_poster"):
        load_table("nope")


def test_packaged_tables_parse_and_name_their_configs():
    assert packaged_tables() == [
        "aasist",
        "mpif_res2net",
        "oc_softmax_paper",
        "oc_softmax_poster",
        "res2net",
        "wavespec",
    ]
    for name in packaged_tables():
        table = load_table(name)
        assert table.citation and table.rows
        for row in table.rows:
            assert (REPO / "egs" / row.recipe / "run.sh").is_file(), row.id
            if row.config is not None:
                # A config of a recipe (it may be one still to come: the loader does not ask).
                assert re.fullmatch(r"conf/\w+\.yaml", row.config), row.id
            for cell in row.cells.values():
                assert cell.value >= 0  # Li et al.'s spectrogram model: dev EER and t-DCF 0


def test_res2net_and_mpif_tables_hold_the_figures_of_papers_md():
    """docs/research/papers.md §B: every published cell is a figure written there."""
    text = (REPO / "docs/research/papers.md").read_text()
    section = text.split("## B. MPIF-Res2Net")[1].split("\n## C.")[0]
    figures = {float(number) for number in re.findall(r"\d+\.\d+|\b0\b", section)}
    cells = [
        (row.id, column, cell.value)
        for name in ("res2net", "mpif_res2net")
        for row in load_table(name).rows
        for column, cell in row.cells.items()
    ]
    assert len(cells) == 18
    assert [cell for cell in cells if cell[2] not in figures] == []


def test_poster_table_is_papers_md_table_3():
    """docs/research/papers.md §D "Results": every value, ITW polarity negated for ResNet18."""
    text = (REPO / "docs/research/papers.md").read_text()
    section = text.split("### Results (poster Table 3")[1].split("###")[0]
    values = [
        (float(dev), float(itw.strip("*")))
        for dev, itw in re.findall(r"\| (\d+\.\d+) \| (\**\d+\.\d+\**) \|", section)
    ]
    table = load_table("oc_softmax_poster")
    assert len(table.rows) == len(values) == 10
    for row, (dev, itw) in zip(table.rows, values, strict=True):
        assert (row.cells["dev_eer"].value, row.cells["itw_eer"].value) == (dev, itw), row.id
        assert row.cells["dev_eer"].polarity == "conventional"
        expected = "conventional" if "Whisper" in row.label else "negated"
        assert row.cells["itw_eer"].polarity == expected, row.id
        assert row.cells["dev_eer"].set == (
            "df21_dev" if row.recipe == "asvspoof2021_df" else "dev"
        )
    epochs = {row.id: row.overrides for row in table.rows if row.recipe == "asvspoof2019"}
    assert epochs["lfcc_resnet18_asv19_20ep_softmax"] == ("train.epochs=20",)
    assert epochs["lfcc_resnet18_asv19_100ep_softmax"] == ()
    # The 100-epoch rows use the configs as they are: they train 100 epochs.
    base = yaml.safe_load((REPO / "conf/train/ocsoftmax_paper.yaml").read_text())
    assert base["train"]["epochs"] == 100


def test_aasist_and_paper_tables_hold_the_published_figures():
    aasist = load_table("aasist")
    figures = {
        row.id: (row.cells["eval_eer"].value, row.cells["eval_min_tdcf"].value)
        for row in aasist.rows
    }
    assert figures == {
        "aasist_official": (0.83, 0.0275),
        "aasist_l_official": (0.99, 0.0309),
        "aasist": (0.83, 0.0275),
        "aasist_l": (0.99, 0.0309),
    }
    paper = load_table("oc_softmax_paper")
    assert [(row.id, row.cells["eval_eer"].value) for row in paper.rows] == [
        ("lfcc_resnet18_ocsoftmax", 2.19)
    ]


def test_packaged_table_finds_seeded_runs(tmp_path, capsys):
    root = tmp_path / "egs"
    exp_dir = (
        root / "asvspoof2019" / "exp" / "lfcc_resnet18_ocsoftmax__train.epochs=20__train.seed=4"
    )
    exp_dir.mkdir(parents=True)
    (exp_dir / "config.yaml").write_text(yaml.safe_dump({"train": {"seed": 4}}))
    write_metrics(exp_dir, "itw", LOW_BONAFIDE)
    paper_table.main(["--table", "oc_softmax_poster", "--exp_root", str(root)])
    dev, itw = table_lines(capsys.readouterr().out, "LFCC ResNet18 ASV19-LA (20 ep), OC-Softmax")
    assert dev[3] == "not evaluated" and "seed=4/dev/metrics.json: not evaluated" in dev[6]
    assert itw[6].startswith("1 run(s), seed(s) 4")


# --seeds of run.sh: the overrides of each run (antispoof.bin.seed_runs) and the tags they give.


def test_seed_runs_and_their_tags(capsys):
    runs = run_overrides(parse_seeds("1 2 3"), ["train.epochs=20"])
    assert runs == [
        ["train.epochs=20", "train.seed=1"],
        ["train.epochs=20", "train.seed=2"],
        ["train.epochs=20", "train.seed=3"],
    ]
    config = "conf/lfcc_resnet18_softmax.yaml"
    unseeded = experiment_tag(config, ["train.epochs=20"])
    tags = [experiment_tag(config, overrides) for overrides in runs]
    assert tags == [f"lfcc_resnet18_softmax__train.epochs=20__train.seed={s}" for s in (1, 2, 3)]
    assert [seed_of_tag(tag, unseeded) for tag in tags] == [1, 2, 3]
    assert seed_of_tag(unseeded, unseeded) is None
    assert seed_of_tag("lfcc_resnet18_softmax__train.seed=1", unseeded) is None
    # No seeds: one run, the overrides alone, so the tag is what it always was.
    assert run_overrides(parse_seeds(""), ["train.epochs=20"]) == [["train.epochs=20"]]
    assert seed_runs.main(["--seeds", "5 6", "--override", "train.epochs=2"]) == 0
    assert capsys.readouterr().out == "train.epochs=2 train.seed=5\ntrain.epochs=2 train.seed=6\n"
    assert seed_runs.main([]) == 0
    assert capsys.readouterr().out == "\n"


@pytest.mark.parametrize(
    ("seeds", "overrides", "message"),
    [
        ("1 x", [], "--seeds: 'x' is not a non-negative integer seed"),
        ("-1", [], "--seeds: '-1' is not a non-negative integer seed"),
        ("2 2", [], "seed 2 is given twice"),
        ("1", ["train.seed=3"], "--override 'train.seed=3' and --seeds both set train.seed"),
    ],
)
def test_bad_seeds_are_errors(seeds, overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        run_overrides(parse_seeds(seeds), overrides)


def test_bad_override_with_seeds_is_a_config_error():
    with pytest.raises(ConfigError, match=re.escape("not of the form key.sub=value")):
        run_overrides([1], ["epochs"])


def test_run_sh_declares_and_documents_seeds():
    """The option is declared before parse_options.sh, in the usage header and the README."""
    run_sh = (REPO / "run.sh").read_text()
    declared = run_sh.index('\nseeds=""')
    assert declared < run_sh.index("parse_options.sh\n")
    shown = subprocess.run(
        ["bash", str(REPO / "run.sh"), "--help"], capture_output=True, text=True, check=True
    )
    assert '--seeds "1 2 3"' in shown.stdout and "One run at a time" in shown.stdout
    assert "python -m antispoof.bin.seed_runs" in run_sh
    assert "--seeds" in (REPO / "README.md").read_text().split("## Stages and options")[1]


def test_itw_rows_name_the_in_the_wild_recipe_unless_their_recipe_scores_it(tmp_path):
    table = {
        **TABLE,
        "columns": {"itw_eer": {"label": "ITW EER (%)", "set": "itw", "figure": "eer"}},
        "rows": [
            {"id": "real", "label": "Real", "recipe": "asvspoof2019", "config": "conf/a.yaml"},
            {"id": "mini", "label": "Mini", "recipe": "mini", "config": "conf/a.yaml"},
        ],
    }
    path = tmp_path / "itw.yaml"
    path.write_text(yaml.safe_dump(table))
    out = tmp_path / "itw.md"
    paper_table.main(["--table", str(path), "--exp_root", str(tmp_path), "--out", str(out)])
    commands = out.read_text().split("## Commands")[1]
    real, mini = (line for line in commands.splitlines() if line.startswith("- "))
    assert "egs/in_the_wild/run.sh --exp_dir ../asvspoof2019/exp/a" in real  # measured only
    assert "in_the_wild" not in mini  # the mini recipe scores its own ITW replica


def test_wavespec_table_holds_the_figures_of_papers_md():
    """docs/research/papers.md §G (WaveSpec as reported) and the XLSR-AASIST entry."""
    text = (REPO / "docs/research/papers.md").read_text()
    section = text.split("## G. Additions")[1]
    cells = {
        (row.id, column): cell.value
        for row in load_table("wavespec").rows
        for column, cell in row.cells.items()
    }
    assert cells == {
        ("wavespec", "df21_eer"): 1.90,
        ("wavespec", "itw_eer"): 6.58,
        ("xlsr_aasist", "df21_eer"): 2.85,
    }
    assert "2021 DF EER **1.90 %**, In-the-Wild EER **6.58 %**" in section
    assert "21DF 2.85 % with RawBoost" in section


def test_a_subset_column_reads_the_subset_of_the_set_scored_once(tmp_path, capsys):
    """`set: full/eval` reads the `eval` subset's figures from the metrics.json of `full` (the
    whole key, scored once), the same as those of the subset scored alone."""
    subsets = {"b1": "eval", "b2": "progress", "b3": "eval", "s1": "eval", "s2": "progress"}
    scores = {"b1": 2.0, "b2": 1.0, "b3": 0.1, "s1": 0.5, "s2": -1.0}
    exp_dir = make_experiment(tmp_path / "egs", "model_a", 688)
    data_dir = tmp_path / "egs" / "rec" / "data" / "full"
    write_table(data_dir / "utt2label", LABELS)
    write_table(data_dir / "utt2attack", ATTACKS)
    write_table(data_dir / "utt2subset", subsets)
    (exp_dir / "full").mkdir()
    (exp_dir / "full" / "scores.txt").write_text(
        "".join(f"{utt} {score}\n" for utt, score in scores.items())
    )
    metrics = evaluate(exp_dir / "full" / "scores.txt", data_dir)
    (exp_dir / "full" / "metrics.json").write_text(json.dumps(metrics))
    alone = {utt: scores[utt] for utt, subset in subsets.items() if subset == "eval"}
    alone_dir = tmp_path / "alone"
    write_table(alone_dir / "utt2label", {utt: LABELS[utt] for utt in alone})
    write_table(alone_dir / "utt2attack", {utt: ATTACKS[utt] for utt in alone})
    (alone_dir / "scores.txt").write_text("".join(f"{u} {s}\n" for u, s in alone.items()))
    eval_eer = 100 * evaluate(alone_dir / "scores.txt", alone_dir)["eer"]
    table = {
        "title": "t",
        "citation": "c",
        "columns": {"eval_eer": {"label": "Eval EER (%)", "set": "full/eval", "figure": "eer"}},
        "rows": [{"id": "a", "label": "Row A", "recipe": "rec", "config": "conf/model_a.yaml"}],
    }
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(table))
    args = ["--table", str(path), "--exp_root", str(tmp_path / "egs")]
    assert paper_table.main(args) == 0
    (row,) = table_lines(capsys.readouterr().out, "Row A")
    assert row[1] == "Eval EER (%): full/eval (official)"
    assert row[3] == f"{eval_eer:.3f}" == f"{100 * metrics['per_subset']['eval']['eer']:.3f}"
    table["columns"]["eval_eer"]["set"] = "full/hidden"
    path.write_text(yaml.safe_dump(table))
    with pytest.raises(
        MetricsError, match="no subset 'hidden' \\(per_subset has eval, progress\\)"
    ):
        paper_table.main(args)


def test_an_arena_column_reads_the_arena_protocols_metrics(tmp_path, capsys):
    """`protocol: arena` measures from metrics.arena.json (every trial's first window), and the
    figure's label names its protocol."""
    exp_dir = make_experiment(tmp_path / "egs", "model_a", 688)
    official = write_metrics(exp_dir, "eval", SEED_SCORES[1])
    arena = write_metrics(exp_dir, "eval_arena_scores", SEED_SCORES[3])
    (exp_dir / "eval" / "metrics.arena.json").write_text(json.dumps(arena))
    assert official["eer"] != arena["eer"]
    table = {
        "title": "t",
        "citation": "c",
        "columns": {
            "p": {"label": "Eval EER (%)", "set": "eval", "figure": "eer"},
            "a": {"label": "Eval EER (%)", "set": "eval", "figure": "eer", "protocol": "arena"},
        },
        "rows": [{"id": "a", "label": "Row A", "recipe": "rec", "config": "conf/model_a.yaml"}],
    }
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(table, sort_keys=False))
    assert paper_table.main(["--table", str(path), "--exp_root", str(tmp_path / "egs")]) == 0
    rows = table_lines(capsys.readouterr().out, "Row A")
    assert [row[1] for row in rows] == [
        "Eval EER (%): eval (official)",
        "Eval EER (%): eval (arena)",
    ]
    assert [row[3] for row in rows] == [f"{100 * official['eer']:.3f}", f"{100 * arena['eer']:.3f}"]
