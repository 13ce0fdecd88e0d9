"""Never a wrong number silently: markers record inputs, stale work is redone or refused,
--force starts again, unfinished scores are not evaluated, stage options are checked, and a
recipe directory is locked while a run uses it.

Most tests drive the real pipeline (`run.sh --recipe_dir`) on a toy recipe: tone/noise data
directories and a tiny LFCC-ResNet18, so that each run takes seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch
import yaml

from antispoof.bin import make_feats, stage_marker
from antispoof.bin import score as score_bin
from antispoof.checkpoint import load_checkpoint, save_checkpoint
from antispoof.config import resolve_file, save_config
from antispoof.data.dataset import read_labels
from antispoof.data.feature_store import read_view
from antispoof.errors import NonFiniteLossError
from antispoof.experiment import load_detector
from antispoof.labels import BONAFIDE
from antispoof.markers import StaleWorkError, changed_settings, stage_inputs, training_settings
from antispoof.metrics.det import compute_eer
from antispoof.scoring import score_utterances, scoring_reader
from antispoof.training.trainer import Trainer, TrainingData
from tiny_configs import REPO, tiny_detector
from toy_data import make_toy_data_dir

TINY = tiny_detector(crop_seconds=0.6, epochs=2)
TAG = "tiny"
# The largest change of a toy score that float16 caches may make (measured: 6e-5 on dev).
FLOAT16_SCORE_TOLERANCE = 1e-3


def make_recipe(root: Path) -> Path:
    """A recipe directory with toy data directories (stages 2-5 run on it) and one config."""
    recipe = root / "recipe"
    for name, count, seed in (("train", 32, 0), ("dev", 16, 1), ("eval", 16, 2)):
        make_toy_data_dir(recipe, name, count, seed)
    (recipe / "conf").mkdir()
    (recipe / "conf" / f"{TAG}.yaml").write_text(yaml.safe_dump(TINY))
    return recipe


def run_pipeline(
    recipe: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANTISPOOF_VENV": str(Path(sys.executable).parents[1]), **(env or {})}
    command = [
        str(REPO / "run.sh"),
        "--recipe_dir",
        str(recipe),
        "--config",
        f"conf/{TAG}.yaml",
        "--test_sets",
        "dev eval",
        "--ngpu",
        "0",
        "--stage",
        "2",
        *args,
    ]
    return subprocess.run(command, cwd=recipe, env=env, capture_output=True, text=True)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stderr


def failed(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-4000:]
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


def retarget_one_utterance(data_dir: Path) -> None:
    """Point the first utterance of wav.scp at a copy of its audio: same sound, another input."""
    lines = (data_dir / "wav.scp").read_text().splitlines()
    utt, path = lines[0].split(" ", 1)
    copy = data_dir.parent / f"copy_{Path(path).name}"
    shutil.copy(path, copy)
    lines[0] = f"{utt} {copy}"
    (data_dir / "wav.scp").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A toy recipe run once through stages 2-5; tests copy it before changing anything."""
    recipe = make_recipe(tmp_path_factory.mktemp("toy_recipe"))
    ok(run_pipeline(recipe))
    return recipe


@pytest.fixture
def recipe(trained: Path, tmp_path: Path) -> Path:
    """A private copy of the trained toy recipe (data directories point at shared audio)."""
    copy = tmp_path / "recipe"
    shutil.copytree(trained, copy, symlinks=True)
    # Markers, caches and experiments name paths relative to the recipe, so the copy stands on
    # its own; its wav.scp files name the original's audio, which no test changes.
    return copy


# --------------------------------------------------------------------------------------------
# markers


@pytest.mark.recipe
def test_a_marker_names_the_input_that_changed(
    trained: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(trained / "data" / "dev", data_dir)
    config = trained / "exp" / TAG / "config.yaml"
    # A feature cache's marker lies beside its feats.scp, which names arks of the recipe.
    monkeypatch.chdir(trained)
    (view,) = trained.glob("dump/lfcc_*/dev/feats.scp")
    shutil.copy(view, tmp_path / "feats.scp")
    marker = tmp_path / ".done"
    args = [str(marker), "feats", "--data_dir", str(data_dir), "--config", str(config)]
    args += ["--branch", "lfcc"]
    assert stage_marker.main(["check", *args]) == stage_marker.MISSING
    assert stage_marker.main(["write", *args]) == 0
    assert stage_marker.main(["check", *args]) == stage_marker.CURRENT
    (tmp_path / "feats.scp").unlink()
    capsys.readouterr()
    assert stage_marker.main(["check", *args]) == stage_marker.STALE
    assert f"the cache is damaged: {tmp_path}/feats.scp is missing" in capsys.readouterr().out
    shutil.copy(view, tmp_path / "feats.scp")
    retarget_one_utterance(data_dir)
    capsys.readouterr()
    assert stage_marker.main(["check", *args]) == stage_marker.STALE
    assert f"changed: {data_dir}/wav.scp" in capsys.readouterr().out


@pytest.mark.recipe
def test_a_trained_model_does_not_depend_on_inference_settings(trained: Path) -> None:
    config = yaml.safe_load((trained / "exp" / TAG / "config.yaml").read_text())
    scoring_changed = {**config, "inference": {**config["inference"], "mode": "full"}}
    workers_changed = {**config, "train": {**config["train"], "num_workers": 4}}
    lr_changed = {**config, "optim_conf": {**config["optim_conf"], "lr": 0.1}}
    dirs = {"train_dir": trained / "data/train", "dev_dir": trained / "data/dev"}
    record = stage_inputs("train", config=config, **dirs)
    assert stage_inputs("train", config=scoring_changed, **dirs) == record
    assert stage_inputs("train", config=workers_changed, **dirs) == record
    assert stage_inputs("train", config=lr_changed, **dirs) != record
    # Scores do depend on the inference settings.
    checkpoint = trained / "exp" / TAG / "checkpoints/best.pt"
    scored = {"data_dir": dirs["dev_dir"], "checkpoint": checkpoint}
    assert stage_inputs("score", config=config, **scored) != stage_inputs(
        "score", config=scoring_changed, **scored
    )


# --------------------------------------------------------------------------------------------
# the pipeline


@pytest.mark.recipe
def test_a_second_run_skips_with_the_marker_that_justified_each_skip(recipe: Path) -> None:
    log = ok(run_pipeline(recipe))
    for set_name in ("train", "dev", "eval"):
        assert re.search(rf"stage 2: skipping: dump/lfcc_\w+/{set_name}/\.done is current", log)
    assert f"stage 3: skipping: exp/{TAG}/.done.train is current" in log
    for set_name in ("dev", "eval"):
        assert f"stage 4: skipping: exp/{TAG}/{set_name}/.done.score is current" in log
    assert "stage 3: training" not in log and "stage 4: scoring" not in log


@pytest.mark.recipe
def test_a_changed_test_set_is_redone_from_its_features_to_its_metrics(recipe: Path) -> None:
    retarget_one_utterance(recipe / "data" / "eval")
    log = ok(run_pipeline(recipe))
    assert re.search(
        r"stage 2: redoing: dump/lfcc_\w+/eval/\.done was made from other inputs "
        r"\(changed: data/eval/wav\.scp\)",
        log,
    )
    assert "stage 4: redoing: exp/tiny/eval/.done.score was made from other inputs" in log
    assert "stage 4: scoring data/eval" in log and "stage 4: scoring data/dev" not in log
    assert "stage 3: skipping" in log


@pytest.mark.recipe
def test_a_stale_feature_cache_is_named_and_not_used(recipe: Path) -> None:
    retarget_one_utterance(recipe / "data" / "eval")
    log = ok(run_pipeline(recipe, "--stage", "4"))
    assert "not using the feature cache: dump/" in log
    assert "stage 4: scoring data/eval" in log
    log_of_job = (recipe / "exp" / TAG / "eval" / "log" / "score.1.log").read_text()
    assert (
        "--cache" not in log_of_job.splitlines()[0]
    )  # computed on the device (line 0: the command)


@pytest.mark.recipe
def test_a_truncated_ark_under_a_current_marker_is_redone_and_never_read(
    recipe: Path, monkeypatch
) -> None:
    """An ark cut short (an interrupted copy, a full disk) under a current .done: stage 4 runs
    the branch in the model instead of dying in kaldiio, and stage 2 redoes the cache."""
    monkeypatch.chdir(recipe)  # caches name their arks relative to the recipe
    (view,) = recipe.glob("dump/lfcc_*/eval/feats.scp")
    ark, _, _ = max(read_view(view).values(), key=lambda entry: (entry[0], entry[1]))
    with open(ark, "r+b") as handle:
        handle.truncate(os.path.getsize(ark) - 100)
    scores_file = recipe / "exp" / TAG / "eval" / "scores.txt"
    log = ok(run_pipeline(recipe, "--stage", "4", "--stop-stage", "4", "--force", "true"))
    damaged = rf"dump/lfcc_\w+/eval/\.done: the cache is damaged: {re.escape(ark)} is truncated"
    assert re.search(rf"not using the feature cache: {damaged}", log)
    command = (recipe / "exp" / TAG / "eval" / "log" / "score.1.log").read_text().splitlines()[0]
    assert "--cache" not in command  # computed on the device
    on_device = dict(line.split() for line in scores_file.read_text().splitlines())

    log = ok(run_pipeline(recipe, "--stop-stage", "2"))
    assert re.search(rf"stage 2: redoing: {damaged}", log)
    assert "stage 2: skipping: dump/lfcc_" in log  # train and dev are whole
    log = ok(run_pipeline(recipe, "--stage", "4", "--stop-stage", "4", "--force", "true"))
    assert "not using the feature cache" not in log
    command = (recipe / "exp" / TAG / "eval" / "log" / "score.1.log").read_text().splitlines()[0]
    assert "--cache lfcc=dump/" in command
    from_cache = dict(line.split() for line in scores_file.read_text().splitlines())
    assert from_cache.keys() == on_device.keys()
    for utt, score in from_cache.items():
        assert float(score) == pytest.approx(float(on_device[utt]), abs=1e-4)


@pytest.mark.recipe
def test_float16_caches_score_within_tolerance_and_are_never_taken_for_float32(
    recipe: Path, monkeypatch
) -> None:
    """float16 storage rounds the features: the toy LFCC-ResNet18's scores move by at most
    FLOAT16_SCORE_TOLERANCE (its OC-Softmax scores are cosines in [-1, 1]) and its EERs stay
    the same. The marker records the dtype, so switching it redoes the caches."""
    monkeypatch.chdir(recipe)
    config, detector = load_detector(recipe / "exp" / TAG)
    inference = config["inference"]
    options = ["--config", str(recipe / "exp" / TAG / "config.yaml"), "--branch", "lfcc"]
    options += ["--ngpu", "0"]
    for set_name in ("dev", "eval"):
        data_dir = recipe / "data" / set_name
        utts = sorted(read_labels(data_dir))
        scores = {}
        for dtype in ("float32", "float16"):
            out = recipe / f"{set_name}_{dtype}"
            make_feats.main(
                [*options, "--data_dir", str(data_dir), "--out", str(out), "--dtype", dtype]
            )
            reader = scoring_reader(detector, data_dir, inference, {"lfcc": f"{out}.scp"})
            by_utt = score_utterances(detector, reader, utts, inference, torch.device("cpu"))
            scores[dtype] = np.array([by_utt[utt] for utt in utts])
        difference = np.abs(scores["float16"] - scores["float32"])
        assert 0 < difference.max() <= FLOAT16_SCORE_TOLERANCE
        labels = read_labels(data_dir)
        bonafide = np.array([labels[utt] == BONAFIDE for utt in utts])
        eers = [compute_eer(s[bonafide], s[~bonafide])[0] for s in scores.values()]
        assert eers[0] == eers[1]

    log = ok(run_pipeline(recipe, "--stop-stage", "2", "--cache_dtype", "float16"))
    for set_name in ("train", "dev", "eval"):
        assert re.search(
            rf"stage 2: redoing: dump/lfcc_\w+/{set_name}/\.done was made from other inputs "
            r"\(changed: the cache dtype \(now float16\)\)",
            log,
        )
    (view,) = recipe.glob("dump/lfcc_*/eval/feats.scp")
    ark, offset, _ = next(iter(read_view(view).values()))
    assert "store.float16" in ark and kaldiio.load_mat(f"{ark}:{offset}").dtype == np.float16
    # Back to float32: the float32 store still holds every file; only the views are redone.
    log = ok(run_pipeline(recipe, "--stop-stage", "2"))
    assert "computing" not in log and "holds every audio file of data/eval already" in log


@pytest.mark.recipe
def test_a_model_trained_on_other_data_is_refused(recipe: Path) -> None:
    retarget_one_utterance(recipe / "data" / "train")
    log = failed(run_pipeline(recipe))
    assert "changed: data/train/wav.scp" in log and "--force true" in log
    assert "stage 4: scoring" not in log


@pytest.mark.recipe
def test_a_changed_config_needs_force_and_force_trains_anew(recipe: Path) -> None:
    config_file = recipe / "conf" / f"{TAG}.yaml"
    changed = {**TINY, "optim_conf": {"lr": 0.001}}
    config_file.write_text(yaml.safe_dump(changed))
    log = failed(run_pipeline(recipe))
    assert "optim_conf.lr" in log and "--force true" in log
    # Without stage 3, a changed training setting cannot be applied to the trained model.
    log = failed(run_pipeline(recipe, "--stage", "4", "--force", "true"))
    assert "optim_conf.lr" in log and "include stage 3" in log

    old_best = load_checkpoint(recipe / "exp" / TAG / "checkpoints/best.pt")
    log = ok(run_pipeline(recipe, "--force", "true"))
    (aside,) = (recipe / "exp").glob(f"{TAG}.old-*")
    assert "moved the old experiment" in log
    moved = load_checkpoint(aside / "checkpoints/best.pt")["detector"]
    assert all(torch.equal(moved[k], v) for k, v in old_best["detector"].items())
    train_log = (recipe / "exp" / TAG / "train.log").read_text()
    assert "resumed from" not in train_log and "epoch 1/2" in train_log
    new_best = load_checkpoint(recipe / "exp" / TAG / "checkpoints/best.pt")
    assert new_best["training_settings"]["optim_conf"]["lr"] == 0.001
    saved = yaml.safe_load((recipe / "exp" / TAG / "config.yaml").read_text())
    assert saved["optim_conf"]["lr"] == 0.001


@pytest.mark.recipe
def test_an_experiment_from_before_a_train_key_existed_stays_current(recipe: Path) -> None:
    # As a version before `train.accum_grad` left the experiment: its saved config without the
    # key, and the records of its checkpoints, training and scores made from that config.
    exp_dir = recipe / "exp" / TAG
    config_file = exp_dir / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    assert config["train"].pop("accum_grad") == 1
    save_config(config, config_file)
    before = config_file.read_bytes()
    data = TrainingData(recipe / "data/train", recipe / "data/dev")
    for name in ("best", "last"):
        state = load_checkpoint(exp_dir / f"checkpoints/{name}.pt")
        state["training_settings"] = training_settings(config)
        if name == "last":
            state["inputs"] = stage_inputs(
                "train", train_dir=data.train_dir, dev_dir=data.dev_dir, config=config
            )
        save_checkpoint(state, exp_dir / f"checkpoints/{name}.pt")
    tables = ["--train_dir", str(recipe / "data/train"), "--dev_dir", str(recipe / "data/dev")]
    marker_args = [str(exp_dir / ".done.train"), "train", *tables, "--config", str(config_file)]
    assert stage_marker.main(["write", *marker_args]) == 0
    for set_name in ("dev", "eval"):
        scored = ["--data_dir", str(recipe / "data" / set_name), "--config", str(config_file)]
        scored += ["--checkpoint", str(exp_dir / "checkpoints/best.pt")]
        marker = str(exp_dir / set_name / ".done.score")
        assert stage_marker.main(["write", marker, "score", *scored]) == 0

    # The config now resolves with `accum_grad: 1`, which changes nothing that was made.
    log = ok(run_pipeline(recipe))
    assert f"stage 3: skipping: exp/{TAG}/.done.train is current" in log
    for set_name in ("dev", "eval"):
        assert f"stage 4: skipping: exp/{TAG}/{set_name}/.done.score is current" in log
    assert "redoing" not in log and "replaced" not in log
    assert config_file.read_bytes() == before
    assert load_detector(exp_dir)[0]["train"]["accum_grad"] == 1
    # A training interrupted then would resume under the config as it resolves now.
    trainer = Trainer(exp_dir, resolve_file(config_file), data, torch.device("cpu"))
    trainer.resume_if_possible()
    assert trainer.epoch == 2
    # Another value is another training.
    settings = training_settings(resolve_file(config_file))
    accumulated = training_settings(resolve_file(config_file, ["train.accum_grad=2"]))
    assert changed_settings(settings, accumulated) == ["train.accum_grad"]


@pytest.mark.recipe
def test_jobs_run_on_their_share_of_the_cores_or_the_threads_asked_for(
    recipe: Path, tmp_path: Path
) -> None:
    # A machine of 8 cores, as `nproc` reports them; stages 2 and 4 run --nj 2 jobs.
    cores = tmp_path / "cores"
    cores.mkdir()
    (cores / "nproc").write_text("#!/usr/bin/env bash\necho 8\n")
    (cores / "nproc").chmod(0o755)
    env = {"PATH": f"{cores}{os.pathsep}{os.environ['PATH']}"}

    def job_threads(log: Path) -> str:
        return log.read_text().splitlines()[-2].rpartition("threads=")[2]

    stage_2 = ["--stage", "2", "--stop-stage", "2", "--force", "true"]
    ok(run_pipeline(recipe, *stage_2, env=env))
    (dump,) = (recipe / "dump").glob("lfcc_*")
    assert job_threads(dump / "dev" / "log" / "make_feats.2.log") == "4"
    stage_4 = ["--stage", "4", "--stop-stage", "4", "--force", "true", "--num_threads", "3"]
    ok(run_pipeline(recipe, *stage_4, env=env))
    assert job_threads(recipe / "exp" / TAG / "eval" / "log" / "score.1.log") == "3"


@pytest.mark.recipe
def test_force_at_stage_3_really_trains_again(recipe: Path) -> None:
    log = ok(run_pipeline(recipe, "--stage", "3", "--force", "true"))
    assert "stage 3: training" in log
    assert list((recipe / "exp").glob(f"{TAG}.old-*/checkpoints/best.pt"))
    assert "resumed from" not in (recipe / "exp" / TAG / "train.log").read_text()


@pytest.mark.recipe
def test_changed_inference_settings_rescore_without_retraining(recipe: Path) -> None:
    config_file = recipe / "conf" / f"{TAG}.yaml"
    config_file.write_text(yaml.safe_dump({**TINY, "inference": {"mode": "full"}}))
    log = ok(run_pipeline(recipe, "--stage", "4", "--force", "true"))
    assert "the trained model stays" in log
    assert not list((recipe / "exp").glob(f"{TAG}.old-*"))
    assert "stage 4: scoring data/eval" in log


@pytest.mark.recipe
def test_unfinished_scores_are_not_evaluated(recipe: Path) -> None:
    eval_dir = recipe / "exp" / TAG / "eval"
    # A re-score that dies in its jobs (a launcher that fails stands in for a kill).
    result = subprocess.run(
        [
            str(REPO / "steps/score.sh"),
            "--cmd",
            "false",
            "--nj",
            "2",
            f"exp/{TAG}",
            "data/eval",
            f"exp/{TAG}/eval",
        ],
        cwd=recipe,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert not (eval_dir / "scores.txt").exists() and not (eval_dir / "metrics.json").exists()
    log = failed(run_pipeline(recipe, "--stage", "5"))
    assert f"no exp/{TAG}/eval/.done.score" in log and "run stage 4 first" in log
    assert not (eval_dir / "metrics.json").exists()


@pytest.mark.recipe
def test_stage_options_that_select_nothing_are_errors(recipe: Path) -> None:
    assert "--stage must be a stage number from 0 to 5, got 'two'" in failed(
        run_pipeline(recipe, "--stage", "two")
    )
    assert "--stage 4 comes after --stop-stage 2" in failed(
        run_pipeline(recipe, "--stage", "4", "--stop-stage", "2")
    )
    assert "--stop-stage must be a stage number" in failed(
        run_pipeline(recipe, "--stop-stage", "9")
    )
    assert "--nj must be a positive number" in failed(run_pipeline(recipe, "--nj", "0"))


@pytest.mark.recipe
def test_a_second_run_in_the_same_recipe_stops_with_a_clear_message(recipe: Path) -> None:
    holder = subprocess.Popen(
        ["flock", str(recipe / ".run.lock"), "sleep", "60"], start_new_session=True
    )
    try:
        # flock creates and takes the lock before sleeping; wait until it holds it.
        for _ in range(200):
            probe = subprocess.run(["flock", "--nonblock", str(recipe / ".run.lock"), "true"])
            if probe.returncode != 0:
                break
        log = failed(run_pipeline(recipe))
        assert f"another run is using {recipe}" in log
    finally:
        os.killpg(holder.pid, signal.SIGKILL)  # flock and the sleep that holds the lock
        holder.wait()
    ok(run_pipeline(recipe, "--stage", "5"))  # free again once the first run has ended


# --------------------------------------------------------------------------------------------
# training and scoring


@pytest.fixture(scope="module")
def toy_dirs(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("toy_dirs")
    return root, make_toy_data_dir(root, "train", 32, 0), make_toy_data_dir(root, "dev", 16, 1)


def tiny_config(root: Path, name: str, **train: object) -> tuple[Path, dict]:
    source = root / f"{name}.yaml"
    source.write_text(yaml.safe_dump({**TINY, "train": {**TINY["train"], **train}}))
    config = resolve_file(source)
    exp_dir = root / "exp" / name
    save_config(config, exp_dir / "config.yaml")
    return exp_dir, config


def test_resuming_under_another_config_is_refused(toy_dirs) -> None:
    root, train_dir, dev_dir = toy_dirs
    exp_dir, config = tiny_config(root, "resume", epochs=1)
    data = TrainingData(train_dir, dev_dir, None, None)
    Trainer(exp_dir, config, data, torch.device("cpu")).run()
    config["optim_conf"]["lr"] = 0.5
    config["train"]["epochs"] = 2
    with pytest.raises(StaleWorkError, match=r"training settings .*optim_conf\.lr.*train\.epochs"):
        Trainer(exp_dir, config, data, torch.device("cpu")).run()


def test_a_set_missing_a_class_is_refused_before_training(toy_dirs, tmp_path: Path) -> None:
    root, train_dir, dev_dir = toy_dirs
    only_spoof = tmp_path / "only_spoof"
    shutil.copytree(dev_dir, only_spoof)
    labels = (only_spoof / "utt2label").read_text().replace("bonafide", "spoof")
    (only_spoof / "utt2label").write_text(labels)
    exp_dir, config = tiny_config(root, "one_class")
    data = TrainingData(train_dir, only_spoof, None, None)
    with pytest.raises(ValueError, match=rf"dev set {only_spoof} has no bonafide utterances"):
        Trainer(exp_dir, config, data, torch.device("cpu"))
    assert not (exp_dir / "checkpoints").exists()


def test_a_non_finite_loss_names_the_utterances_of_its_batch(toy_dirs) -> None:
    root, train_dir, dev_dir = toy_dirs
    exp_dir, config = tiny_config(root, "nan_loss")
    data = TrainingData(train_dir, dev_dir, None, None)
    trainer = Trainer(exp_dir, config, data, torch.device("cpu"))
    loss = trainer.detector.loss
    loss.forward = lambda embeddings, target: (embeddings.sum() * float("nan"), {})
    with pytest.raises(NonFiniteLossError, match=r"the loss is nan on the utterances train_\d+"):
        trainer.run()


@pytest.mark.recipe
def test_scoring_refuses_a_checkpoint_of_other_settings(trained: Path, tmp_path: Path) -> None:
    exp_dir = tmp_path / "exp"
    shutil.copytree(trained / "exp" / TAG, exp_dir)
    load_detector(exp_dir)  # as trained: fine
    config = yaml.safe_load((exp_dir / "config.yaml").read_text())
    config["model_conf"]["embedding_dim"] = 8
    save_config(config, exp_dir / "config.yaml")
    with pytest.raises(StaleWorkError, match=r"other settings .*model_conf\.embedding_dim"):
        load_detector(exp_dir)


@pytest.mark.recipe
def test_non_finite_scores_are_refused_before_writing(trained: Path, tmp_path: Path) -> None:
    exp_dir = tmp_path / "exp"
    shutil.copytree(trained / "exp" / TAG, exp_dir)
    state = load_checkpoint(exp_dir / "checkpoints/best.pt")
    for name, tensor in state["detector"].items():
        if name.startswith("model.") and tensor.is_floating_point():
            state["detector"][name] = torch.full_like(tensor, float("nan"))
    save_checkpoint(state, exp_dir / "checkpoints/best.pt")
    out = tmp_path / "scores.txt"
    with pytest.raises(ValueError, match=r"not finite.*nothing was written"):
        score_bin.main(
            [
                "--exp_dir",
                str(exp_dir),
                "--data_dir",
                str(trained / "data/dev"),
                "--out",
                str(out),
                "--ngpu",
                "0",
            ]
        )
    assert not out.exists()


def test_training_settings_leave_out_what_a_model_does_not_depend_on() -> None:
    config = {"train": {"epochs": 3, "num_workers": 2}, "inference": {"mode": "full"}, "x": 1}
    assert training_settings(config) == {"train": {"epochs": 3}, "x": 1}
    # A key added later counts only at a value other than the training before it had.
    accumulated = {**config, "train": {**config["train"], "accum_grad": 1}}
    assert training_settings(accumulated) == training_settings(config)
    accumulated["train"]["accum_grad"] = 4
    assert training_settings(accumulated) == {"train": {"epochs": 3, "accum_grad": 4}, "x": 1}
