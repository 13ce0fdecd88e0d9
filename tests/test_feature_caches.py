"""Stage-2 caches that fit the disk, are never computed twice and are never silently damaged:
utt2dur from the headers, the cache plan (sizes, policies, budget), the feature store shared by
overlapping sets and oversampled copies, `--force`, damaged arks, float16 storage.

The pipeline tests run run.sh's stage 2 on a toy recipe whose sets overlap as the DF recipe's
do: `full` holds the utterances of `dev` and `eval` under the same ids (as df21_full holds
df21_eval), and `train_rep` holds `train` with a second copy `<utt>-rep2` of every bona fide
utterance (as df21_train oversamples the bona fide class).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import yaml

from antispoof.bin import cache_plan as cache_plan_bin
from antispoof.bin import get_utt2dur, make_feats
from antispoof.config import branch_tag, resolve_file, save_config
from antispoof.data import cache_plan
from antispoof.data import utt2dur as utt2dur_module
from antispoof.data.cache_plan import (
    CachePlanError,
    human_bytes,
    make_plan,
    parse_budget,
    plan_units,
    record_bytes,
)
from antispoof.data.dataset import AudioTable, ExampleReader
from antispoof.data.feature_store import (
    DamagedCacheError,
    FeatureStore,
    read_records,
    read_view,
    view_problem,
)
from antispoof.data.kaldi_files import read_table, write_table
from antispoof.data.utt2dur import read_utt2dur, utt2dur_is_current
from antispoof.detector import build_detector
from antispoof.frontends import FRONTENDS
from tiny_configs import REPO, tiny_detector
from toy_data import make_toy_data_dir

TINY = tiny_detector(crop_seconds=0.6, epochs=1)
TAG = "tiny"
TABLES = ("wav.scp", "utt2label", "utt2attack", "utt2spk")


def union_dir(root: Path, name: str, parts: list[str], copies: bool = False) -> Path:
    """A data directory holding the utterances of `parts` under their ids; with `copies`, a
    second copy `<utt>-rep2` of each bona fide utterance (the same audio file)."""
    tables: dict[str, dict[str, str]] = {table: {} for table in TABLES}
    for part in parts:
        for table in TABLES:
            tables[table].update(read_table(root / "data" / part / table))
    if copies:
        for utt, label in list(tables["utt2label"].items()):
            if label == "bonafide":
                for table in TABLES:
                    tables[table][f"{utt}-rep2"] = tables[table][utt]
    data_dir = root / "data" / name
    for table, entries in tables.items():
        write_table(data_dir / table, entries)
    write_table(data_dir / "spk2utt", tables["utt2spk"])
    return data_dir


def make_recipe(root: Path) -> Path:
    recipe = root / "recipe"
    for name, count, seed in (("train", 16, 0), ("dev", 8, 1), ("eval", 8, 2)):
        make_toy_data_dir(recipe, name, count, seed)
    union_dir(recipe, "full", ["dev", "eval"])
    union_dir(recipe, "train_rep", ["train"], copies=True)
    (recipe / "conf").mkdir()
    (recipe / "conf" / f"{TAG}.yaml").write_text(yaml.safe_dump(TINY))
    return recipe


def stage_2(recipe: Path, *args: str, sets: str = "dev eval full") -> str:
    """run.sh's stage 2 alone (train_rep trains); returns the log; the run must succeed."""
    env = {**os.environ, "ANTISPOOF_VENV": str(Path(sys.executable).parents[1])}
    command = [str(REPO / "run.sh"), "--recipe_dir", str(recipe), "--config", f"conf/{TAG}.yaml"]
    command += ["--train_set", "train_rep", "--test_sets", sets, "--ngpu", "0"]
    command += ["--stage", "2", "--stop-stage", "2", *args]
    result = subprocess.run(command, cwd=recipe, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stderr


def truncate_last_record(scp: Path, cut: int = 100) -> Path:
    """Cut `cut` bytes off the ark holding the last record that `scp` names (a copy that ran
    out of disk); returns the ark."""
    ark, _, _ = max(read_view(scp).values(), key=lambda entry: (entry[0], entry[1]))
    size = os.path.getsize(ark)
    with open(ark, "r+b") as handle:
        handle.truncate(size - cut)
    return Path(ark)


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    """The toy recipe's data directories and the experiment's config (no stage run yet)."""
    root = make_recipe(tmp_path_factory.mktemp("caches"))
    config = resolve_file(root / "conf" / f"{TAG}.yaml")
    save_config(config, root / "exp" / TAG / "config.yaml")
    return root


# --------------------------------------------------------------------------------------------
# utt2dur


def test_utt2dur_comes_from_the_headers_once_per_file_and_follows_wav_scp(
    toy, tmp_path, monkeypatch
):
    data_dir = tmp_path / "train_rep"
    shutil.copytree(toy / "data" / "train_rep", data_dir)
    calls = []
    real = utt2dur_module.audio_num_samples

    def counted(path, where, rate):
        calls.append(path)
        return real(path, where, rate)

    monkeypatch.setattr(utt2dur_module, "audio_num_samples", counted)
    assert not utt2dur_is_current(data_dir)
    assert get_utt2dur.main([str(data_dir)]) == 0
    wav_scp = read_table(data_dir / "wav.scp")
    assert len(calls) == len(set(wav_scp.values())) < len(wav_scp)  # one read per audio file
    durations = read_utt2dur(data_dir)
    audio = AudioTable(data_dir, 16000)
    for utt in wav_scp:
        assert round(durations[utt] * 16000) == len(audio.read(utt))
    assert utt2dur_is_current(data_dir)
    get_utt2dur.main([str(data_dir)])
    assert len(calls) == len(set(wav_scp.values()))  # current: kept, nothing read
    # A changed wav.scp (one utterance fewer) makes it stale; it is written again.
    write_table(data_dir / "wav.scp", dict(list(wav_scp.items())[1:]))
    assert not utt2dur_is_current(data_dir)
    assert len(read_utt2dur(data_dir)) == len(wav_scp) - 1


# --------------------------------------------------------------------------------------------
# sizes and the plan


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_planned_bytes_are_the_bytes_stage_2_writes(toy, tmp_path, dtype):
    config = toy / "exp" / TAG / "config.yaml"
    out = tmp_path / "feats"
    options = ["--config", str(config), "--branch", "lfcc", "--data_dir", str(toy / "data/train")]
    make_feats.main([*options, "--out", str(out), "--dtype", dtype, "--ngpu", "0"])
    branch = yaml.safe_load(config.read_text())["inputs"]["lfcc"]
    spec = FRONTENDS.get("lfcc").feature_spec(**branch["frontend_conf"])
    durations = read_utt2dur(toy / "data/train")
    planned = sum(
        record_bytes(spec, round(seconds * 16000), dtype, utt) for utt, seconds in durations.items()
    )
    assert planned == os.path.getsize(f"{out}.ark")
    stored = kaldiio.load_mat(read_table(f"{out}.scp")["train_0000"])
    assert stored.dtype == np.dtype(dtype) and stored.shape[1:] == (1, 60)


def test_float16_features_are_the_float32_ones_rounded(toy, tmp_path):
    config = toy / "exp" / TAG / "config.yaml"
    options = ["--config", str(config), "--branch", "lfcc", "--data_dir", str(toy / "data/dev")]
    for dtype in ("float32", "float16"):
        make_feats.main([*options, "--out", str(tmp_path / dtype), "--dtype", dtype, "--ngpu", "0"])
    wide, narrow = (
        kaldiio.load_scp(str(tmp_path / f"{dtype}.scp")) for dtype in ("float32", "float16")
    )
    for utt in wide:
        np.testing.assert_array_equal(narrow[utt], wide[utt].astype(np.float16))
    with pytest.raises(ValueError, match=r"utt_x: a feature value of 70000 is beyond the range"):
        make_feats._narrowed(np.array([1.0, 7e4], dtype=np.float32), "float16", "utt_x")


def units_of(toy: Path, train: list[str], dev: list[str], test: list[str]):
    config = yaml.safe_load((toy / "exp" / TAG / "config.yaml").read_text())
    branches = {"lfcc": branch_tag(config["inputs"]["lfcc"])}
    sets = {"train": train, "dev": dev, "test": test}
    return plan_units([(str(toy / "exp" / TAG), branches)], sets)


def plan_of(
    toy: Path, tmp_path: Path, policy: str, budget: str = "50%", free=(10**12, 10**13), sets=None
):
    train, dev, test = sets or (["train_rep"], ["dev"], ["dev", "eval", "full"])
    units = units_of(toy, train, dev, test)
    return make_plan(
        units,
        data_root=toy / "data",
        dump_root=tmp_path / "dump",
        dtype="float32",
        policy=policy,
        budget=budget,
        free=free,
    )


def test_the_plan_counts_each_audio_file_once_and_orders_by_benefit(toy, tmp_path):
    plan = plan_of(toy, tmp_path, "all")
    by_set = {unit.set_name: unit for unit in plan.units}
    assert list(by_set) == ["train_rep", "dev", "eval", "full"]  # dev once, as the dev set
    train = by_set["train_rep"]
    assert train.utts == 24 and len(train.audio) == 16  # the copies add no audio
    assert by_set["full"].utts == 16 and by_set["full"].size > by_set["eval"].size
    # full's audio is that of dev and eval: it adds only the lines of its feats.scp.
    assert by_set["full"].adds < by_set["full"].size / 50
    assert plan.adds == sum(unit.adds for unit in plan.units)
    assert all(unit.decision == "cache" for unit in plan.units)
    table = plan.table()
    assert re.search(r"train_rep\s+24\s+16\s+", table) and "stage 2 adds" in table


def test_auto_caches_what_fits_the_budget_training_set_first(toy, tmp_path):
    everything = plan_of(toy, tmp_path, "all")
    train, dev, *_ = everything.units
    budget = str(train.adds + dev.adds + 1)
    plan = plan_of(toy, tmp_path, "auto", budget=budget)
    assert [unit.decision for unit in plan.units[:2]] == ["cache", "cache"]
    assert plan.units[2].decision == "over the budget: runs in the model"  # eval
    assert plan.adds <= int(budget)
    # A budget below the training set's size: the smaller dev set still fits.
    plan = plan_of(toy, tmp_path, "auto", budget=str(dev.adds + 1))
    assert [unit.decision for unit in plan.units[:2]] == [
        "over the budget: runs in the model",
        "cache",
    ]
    # auto never asks for more than the disk holds, whatever the budget.
    plan = plan_of(toy, tmp_path, "auto", budget="1T", free=(dev.adds, 10**6))
    plan.check_room()
    assert plan.adds <= dev.adds


def test_all_refuses_a_disk_too_small_and_none_makes_no_cache(toy, tmp_path):
    total = plan_of(toy, tmp_path, "all").adds
    short = plan_of(toy, tmp_path, "all", free=(total, 10**8))  # 5 MB of the disk stay free
    with pytest.raises(CachePlanError, match=r"the caches need .* free.*--cache auto"):
        short.check_room()
    plan_of(toy, tmp_path, "all", free=(total + 5 * 10**6, 10**8)).check_room()
    none = plan_of(toy, tmp_path, "none")
    assert all(unit.decision == "not cached (--cache none)" for unit in none.units)
    assert none.adds == 0


def test_stage_2_prints_its_plan_then_refuses_a_short_disk_before_any_work(
    toy, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(cache_plan, "free_space", lambda path: (10**6, 10**7))
    tag = branch_tag(
        yaml.safe_load((toy / "exp" / TAG / "config.yaml").read_text())["inputs"]["lfcc"]
    )
    args = ["--cache", "all", "--train_set", "train_rep", "--dev_set", "dev", "--test_sets", "eval"]
    args += ["--data_root", str(toy / "data"), "--dump_root", str(tmp_path / "dump")]
    with pytest.raises(
        CachePlanError,
        match=r"the caches need [\d.]+ kB and the disk of .* has 1 MB free, 500 kB of which",
    ):
        cache_plan_bin.main([*args, f"{toy / 'exp' / TAG} lfcc={tag}"])
    out, err = capsys.readouterr()
    assert out == ""  # no cache for run.sh to make
    assert re.search(r"train_rep\s+24\s+16\s+", err) and "dev" in err and "eval" in err
    assert not (tmp_path / "dump").exists()


def test_budgets_are_sizes_or_shares_of_the_free_space():
    assert parse_budget("50%", 1000) == 500
    assert parse_budget("1.5T", 0) == 1.5e12
    assert parse_budget("200GB", 0) == 2e11
    assert parse_budget("123", 0) == 123
    with pytest.raises(CachePlanError, match="--cache_budget 'lots' is not a size"):
        parse_budget("lots", 0)
    assert human_bytes(839.7e9) == "840 GB" and human_bytes(1.62e12) == "1.62 TB"


def test_the_training_cache_of_a_waveform_augmented_experiment_is_not_planned(toy, tmp_path):
    exp_dir = tmp_path / "exp" / "augmented"
    config = yaml.safe_load((toy / "exp" / TAG / "config.yaml").read_text())
    config["waveform_augment"] = {"rawboost": {"algo": 3}}
    save_config(config, exp_dir / "config.yaml")
    tag = branch_tag(config["inputs"]["lfcc"])
    units = plan_units([(str(exp_dir), {"lfcc": tag})], {"train": ["train"], "dev": ["dev"]})
    plan = make_plan(
        units,
        data_root=toy / "data",
        dump_root=tmp_path / "dump",
        dtype="float32",
        policy="all",
        budget="50%",
        free=(10**12, 10**13),
    )
    assert plan.units[0].decision.startswith("not read (waveform_augment")
    assert plan.units[1].decision == "cache"


# --------------------------------------------------------------------------------------------
# damaged caches


def test_a_truncated_ark_is_named_in_one_line_by_the_reader(toy, tmp_path):
    config = toy / "exp" / TAG / "config.yaml"
    out = tmp_path / "feats"
    options = ["--config", str(config), "--branch", "lfcc", "--data_dir", str(toy / "data/dev")]
    make_feats.main([*options, "--out", str(out), "--ngpu", "0"])
    detector = build_detector(resolve_file(toy / "conf" / f"{TAG}.yaml"))
    plan = detector.crop_plan(0.6)
    ExampleReader(toy / "data/dev", plan, {"lfcc": f"{out}.scp"})  # whole: fine
    ark = truncate_last_record(Path(f"{out}.scp"))
    with pytest.raises(DamagedCacheError) as caught:
        ExampleReader(toy / "data/dev", plan, {"lfcc": f"{out}.scp"})
    message = str(caught.value)
    assert "\n" not in message
    assert f"{ark} is truncated" in message and "re-run stage 2" in message
    os.remove(ark)
    assert f"{ark} is missing" in view_problem(f"{out}.scp")


# --------------------------------------------------------------------------------------------
# the pipeline


@pytest.fixture(scope="module")
def cached(tmp_path_factory) -> Path:
    """The toy recipe after one stage 2 over train_rep, dev, eval and full."""
    recipe = make_recipe(tmp_path_factory.mktemp("cached"))
    log = stage_2(recipe)
    (recipe / "first_run.log").write_text(log)
    return recipe


@pytest.fixture
def recipe(cached: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "recipe"
    shutil.copytree(cached, copy, symlinks=True)
    return copy


def arks_of(recipe: Path) -> list[Path]:
    return sorted((recipe / "dump").glob("*/store.float32/*.ark"))


@pytest.mark.recipe
def test_stage_2_computes_each_audio_file_once_across_sets_and_copies(cached: Path, monkeypatch):
    monkeypatch.chdir(cached)  # caches name their arks relative to the recipe
    log = (cached / "first_run.log").read_text()
    assert "cache plan (--cache auto" in log and re.search(r"full\s+16\s+16\s+", log)
    (branch_dir,) = (cached / "dump").glob("lfcc_*")
    records = read_records(branch_dir / "store.float32/index")
    audio = {
        path
        for name in ("train", "dev", "eval")
        for path in read_table(cached / "data" / name / "wav.scp").values()
    }
    assert set(records) == audio  # 32 files, each stored once
    store = branch_dir.relative_to(cached) / "store.float32"
    assert f"{store} holds every audio file of data/full already" in log
    full = read_table(branch_dir / "full/feats.scp")
    for name in ("dev", "eval"):
        for utt, rx in read_table(branch_dir / name / "feats.scp").items():
            assert full[utt] == rx  # full's view names the records of dev's and eval's run
    train = read_table(branch_dir / "train_rep/feats.scp")
    copies = [utt for utt in train if utt.endswith("-rep2")]
    assert copies and all(train[utt] == train[utt.removesuffix("-rep2")] for utt in copies)
    # The arks hold these 32 records and nothing else.
    spec = FRONTENDS.get("lfcc").feature_spec(
        **yaml.safe_load((branch_dir / "store.float32/frontend.yaml").read_text())["frontend_conf"]
    )
    planned = 0
    for name in ("train_rep", "dev", "eval"):
        for utt, seconds in read_utt2dur(cached / "data" / name).items():
            if not utt.endswith("-rep2"):
                planned += record_bytes(spec, round(seconds * 16000), "float32", utt)
    assert sum(os.path.getsize(ark) for ark in arks_of(cached)) == planned
    for name in ("train_rep", "dev", "eval", "full"):
        assert view_problem(branch_dir / name / "feats.scp") is None


@pytest.mark.recipe
def test_force_computes_each_file_again_once_and_leaves_other_sets_readable(recipe, monkeypatch):
    monkeypatch.chdir(recipe)
    (branch_dir,) = (recipe / "dump").glob("lfcc_*")
    before = set(arks_of(recipe))
    log = stage_2(recipe, "--force", "true", sets="eval")  # full is not in this run
    # Every audio file of the run is computed again, once: eval's not again for full.
    for count, name in ((16, "train_rep"), (8, "dev"), (8, "eval")):
        assert f"computing {count} audio files of data/{name} " in log
    # full's view still names the old records of dev and eval; their arks stay, whole.
    assert view_problem(branch_dir / "full/feats.scp") is None
    full_arks = {ark for ark, _, _ in read_view(branch_dir / "full/feats.scp").values()}
    assert {Path(recipe / ark) for ark in full_arks} <= before
    # The old training arks, which nothing names any more, are gone; the new ones hold each
    # audio file once.
    named = set()
    for scp in branch_dir.glob("*/feats.scp"):
        named |= {os.path.realpath(recipe / ark) for ark, _, _ in read_view(scp).values()}
    store = FeatureStore(branch_dir / "store.float32")
    named |= {os.path.realpath(recipe / r.ark) for r in store.records().values()}
    assert {os.path.realpath(ark) for ark in arks_of(recipe)} == named
    assert not any("0001-train_rep" in str(ark) for ark in arks_of(recipe))
    # Run again without --force: everything current.
    again = stage_2(recipe)
    assert "computing" not in again and again.count("stage 2: skipping") == 4


@pytest.mark.recipe
def test_a_damaged_store_ark_is_found_dropped_and_computed_again(recipe: Path, monkeypatch):
    monkeypatch.chdir(recipe)
    (branch_dir,) = (recipe / "dump").glob("lfcc_*")
    ark = truncate_last_record(branch_dir / "eval/feats.scp")
    log = stage_2(recipe)
    relative = ark  # named relative to the recipe, as its views name it
    damaged = rf"dump/lfcc_\w+/eval/\.done: the cache is damaged: {relative} is truncated"
    assert re.search(rf"stage 2: redoing: {damaged}", log)
    assert f"{relative} is truncated" in log and "its records are dropped and computed again" in log
    for name in ("train_rep", "dev", "eval", "full"):
        assert view_problem(branch_dir / name / "feats.scp") is None
    assert not ark.exists()  # nothing names it any more


@pytest.mark.recipe
def test_cache_none_and_a_small_budget_leave_the_branch_to_the_model(tmp_path, monkeypatch):
    recipe = make_recipe(tmp_path)
    monkeypatch.chdir(recipe)
    log = stage_2(recipe, "--cache", "none")
    assert "not cached (--cache none)" in log and not (recipe / "dump").exists()
    log = stage_2(recipe, "--cache_budget", "300K")
    assert "over the budget: runs in the model" in log
    (branch_dir,) = (recipe / "dump").glob("lfcc_*")
    made = {scp.parent.name for scp in branch_dir.glob("*/feats.scp")}
    assert made and "train_rep" not in made  # the training set alone is larger than 300 kB
    assert sum(os.path.getsize(ark) for ark in arks_of(recipe)) <= 300e3
