"""Published models by name: where their weights resolve (a local file, the package's copy, the
cache, the official URL served here from a loopback server), md5 checks; the AASIST weights
imported as an experiment and scored by detect and by stages 4-5 of a recipe."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

from antispoof.bin import detect, import_pretrained
from antispoof.config import resolve_file
from antispoof.download import ChecksumError, DownloadError
from antispoof.download.fetch import FetchOptions
from antispoof.evaluation.calibration import load_calibration
from antispoof.experiment import load_detector
from antispoof.labels import BONAFIDE, SPOOF
from antispoof.published import (
    PACKAGE_DIR,
    PUBLISHED,
    cache_dir,
    load_published,
    published_config,
    resolve_weights,
)
from antispoof.scoring import read_any_audio
from test_detect import READABLE, make_clips

REPO = Path(__file__).resolve().parents[1]
FAST = FetchOptions(timeout=5, retries=1, backoff=0, progress_interval=0)
WEIGHTS = b"weights of a published model" * 100
AASIST_SAMPLES = 64600  # the official input: the first 64,600 samples, repeat-padded


class Files(BaseHTTPRequestHandler):
    """Serves `server.files` by name and counts the requests."""

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.server.requests.append(name)  # type: ignore[attr-defined]
        data = self.server.files.get(name)  # type: ignore[attr-defined]
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    httpd.files = {}  # type: ignore[attr-defined]
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def model(server):
    """The published AASIST entry with a small file of its own, served from `server`."""
    server.files["AASIST.pth"] = WEIGHTS
    url = f"http://127.0.0.1:{server.server_address[1]}/AASIST.pth"
    return replace(PUBLISHED["aasist"], url=url, md5=hashlib.md5(WEIGHTS).hexdigest())


def resolve(model, tmp_path: Path, local: Path | None = None):
    return resolve_weights(
        model, local, package_dir=tmp_path / "package", cache=tmp_path / "cache", options=FAST
    )


def put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_weights_resolve_to_a_local_file_then_the_package_then_the_cache(model, server, tmp_path):
    packaged = put(tmp_path / "package/aasist/AASIST.pth", WEIGHTS)
    cached = put(tmp_path / "cache/pretrained/AASIST.pth", WEIGHTS)
    local = put(tmp_path / "mine/AASIST.pth", WEIGHTS)
    found = resolve(model, tmp_path, local)
    assert (found.path, found.origin) == (local, "local")
    found = resolve(model, tmp_path)
    assert (found.path, found.origin) == (packaged, "package")
    packaged.unlink()
    found = resolve(model, tmp_path)
    assert (found.path, found.origin) == (cached, "cache")
    # A damaged package copy (a Git LFS pointer, say) is passed over.
    put(packaged, b"version https://git-lfs.github.com/spec/v1\n")
    assert resolve(model, tmp_path).origin == "cache"
    assert server.requests == []


def test_a_local_file_with_another_md5_is_refused(model, tmp_path):
    other = put(tmp_path / "mine/AASIST.pth", b"fine-tuned weights")
    with pytest.raises(ChecksumError, match="these are other weights"):
        resolve(model, tmp_path, other)
    with pytest.raises(FileNotFoundError, match="weights not found"):
        resolve(model, tmp_path, tmp_path / "missing.pth")


def test_missing_weights_are_downloaded_into_the_cache_once(model, server, tmp_path):
    found = resolve(model, tmp_path)
    assert found.origin == "download"
    assert found.path == tmp_path / "cache/pretrained/AASIST.pth"
    assert found.path.read_bytes() == WEIGHTS
    assert not found.path.with_name("AASIST.pth.part").exists()
    assert resolve(model, tmp_path).origin == "cache"
    assert server.requests == ["AASIST.pth"]
    # A damaged cache copy is moved aside and fetched again.
    put(found.path, b"truncated")
    assert resolve(model, tmp_path).origin == "download"
    assert found.path.with_name("AASIST.pth.bad").read_bytes() == b"truncated"
    assert server.requests == ["AASIST.pth", "AASIST.pth"]


def test_a_download_with_another_md5_is_refused_and_moved_aside(model, server, tmp_path):
    server.files["AASIST.pth"] = b"a login page, or another file"
    with pytest.raises(ChecksumError, match="refused"):
        resolve(model, tmp_path)
    cache = tmp_path / "cache/pretrained"
    assert not (cache / "AASIST.pth").exists()
    assert (cache / "AASIST.pth.bad").read_bytes() == b"a login page, or another file"


def test_an_unreachable_url_says_how_to_get_the_file_by_hand(model, server, tmp_path):
    del server.files["AASIST.pth"]
    with pytest.raises(DownloadError, match=r"by hand.*--weights FILE"):
        resolve(model, tmp_path)


def test_the_cache_is_antispoof_cache_else_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("ANTISPOOF_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("ANTISPOOF_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "antispoof"


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_the_package_copy_is_the_official_file_and_needs_no_download(name, tmp_path):
    # No server: the official URL is never asked for while the package holds the weights.
    found = resolve_weights(PUBLISHED[name], cache=tmp_path, options=FAST)
    assert found.origin == "package"
    assert found.path.parent == PACKAGE_DIR / "aasist"


def test_the_weights_and_their_licence_are_package_data():
    """A non-editable install carries what pyproject.toml declares as package data."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["antispoof"]
    package = REPO / "src/antispoof"
    declared = {path for pattern in patterns for path in package.glob(pattern)}
    for model in PUBLISHED.values():
        folder = PACKAGE_DIR / model.package_dir
        for name in (model.file, model.official_conf, "LICENSE", "NOTICE"):
            assert folder / name in declared, name
    scripts = pyproject["project"]["scripts"]
    assert scripts["antispoof-detect"] == "antispoof.bin.detect:cli"


# --- the AASIST weights, imported and scored ---------------------------------------------------


def aasist_logits(detector, wav: np.ndarray) -> torch.Tensor:
    """The model's own forward on the first 64,600 samples of `wav`, repeat-padded when shorter
    (`np.resize` repeats an array cyclically): the official evaluation's input."""
    window = torch.from_numpy(np.resize(wav, AASIST_SAMPLES))[None]
    with torch.no_grad():
        return detector.loss.logits(detector.model({"raw": window[:, None, :, None]}))[0]


def test_detect_with_aasist_scores_the_first_window_by_its_bonafide_logit(tmp_path, capsys, caplog):
    clips = make_clips(tmp_path / "clips")
    caplog.set_level(logging.INFO)
    argv = ["--ngpu", "0", "--format", "json", "--model", "aasist", "--window", "first"]
    # The clips are tones and noise: no speech check (test_inference.py checks it on speech).
    status = detect.main([*argv, "--min_speech_seconds", "0", str(clips)])
    rows = json.loads(capsys.readouterr().out)["results"]
    assert status == 1  # the corrupt file, reported
    assert "skipped" in caplog.text and "f_corrupt.wav" in caplog.text
    assert [Path(row["path"]).relative_to(clips).as_posix() for row in rows] == READABLE
    assert "package" in caplog.text  # the package's copy: no download
    assert "the classifier's own decision" in caplog.text
    config, detector, _ = load_published(PUBLISHED["aasist"])
    assert config["inference"]["mode"] == "first"
    for row in rows:
        logits = aasist_logits(detector, read_any_audio(row["path"], 16000)[0])
        assert row["score"] == pytest.approx(float(logits[BONAFIDE]), abs=1e-5)
        expected = "bonafide" if logits[BONAFIDE] >= logits[SPOOF] else "spoof"
        assert row["decision"] == expected


def test_import_pretrained_writes_an_experiment_that_loads_as_a_trained_one(tmp_path):
    exp_dir = tmp_path / "exp" / "aasist_l_official"
    assert import_pretrained.main(["aasist-l", str(exp_dir)]) == 0
    record = json.loads((exp_dir / "pretrained.json").read_text())
    model = PUBLISHED["aasist-l"]
    assert (record["name"], record["url"], record["md5"]) == ("aasist-l", model.url, model.md5)
    assert record["licence"].startswith("MIT") and record["found_in"] == "package"
    assert "NAVER" in (exp_dir / "LICENSE").read_text() and (exp_dir / "NOTICE").is_file()
    config, detector = load_detector(exp_dir)
    assert config["inputs"] == {"raw": {"frontend": "raw", "frontend_conf": {"sample_rate": 16000}}}
    assert config["model"] == "aasist" and config["loss_conf"]["score"] == "bonafide_logit"
    assert config["inference"]["mode"] == "first"
    assert round(config["train"]["crop_seconds"] * 16000) == AASIST_SAMPLES
    official = load_published(model)[1].state_dict()
    assert all(torch.equal(value, official[key]) for key, value in detector.state_dict().items())
    # Again: nothing to do. Over another experiment: refused unless --force.
    best = exp_dir / "checkpoints/best.pt"
    before = best.stat().st_mtime_ns
    assert import_pretrained.main(["aasist-l", str(exp_dir)]) == 0
    assert best.stat().st_mtime_ns == before
    with pytest.raises(ValueError, match="--force"):
        import_pretrained.main(["aasist", str(exp_dir)])
    assert import_pretrained.main(["aasist", str(exp_dir), "--force"]) == 0
    assert json.loads((exp_dir / "pretrained.json").read_text())["name"] == "aasist"
    (aside,) = exp_dir.parent.glob("aasist_l_official.old-*")
    assert json.loads((aside / "pretrained.json").read_text())["name"] == "aasist-l"


@pytest.mark.parametrize(
    ("name", "recipe_config"), [("aasist", "aasist"), ("aasist-l", "aasist_l")]
)
def test_an_imported_model_has_the_settings_of_the_recipe_that_trains_it(name, recipe_config):
    config = resolve_file(REPO / "egs/asvspoof2019/conf" / f"{recipe_config}.yaml")
    assert published_config(PUBLISHED[name]) == config


@pytest.mark.recipe
def test_an_imported_aasist_is_scored_and_evaluated_by_stages_4_and_5(mini_corpus, tmp_path):
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    env = {**os.environ, "ANTISPOOF_VENV": str(Path(sys.executable).parents[1])}
    run = [str(REPO / "run.sh"), "--recipe_dir", str(recipe), "--corpora", f"mini={mini_corpus}"]
    run += ["--test_sets", "dev eval", "--ngpu", "0"]

    def pipeline(*options: str) -> str:
        result = subprocess.run([*run, *options], cwd=recipe, env=env, capture_output=True)
        assert result.returncode == 0, result.stderr.decode()[-4000:]
        return result.stderr.decode()

    pipeline("--stage", "1", "--stop-stage", "1")
    exp_dir = recipe / "exp" / "aasist_official"
    assert import_pretrained.main(["aasist", str(exp_dir)]) == 0
    log = pipeline("--stage", "4", "--exp_dir", "exp/aasist_official")
    for name in ("dev", "eval"):
        metrics = json.loads((exp_dir / name / "metrics.json").read_text())
        assert metrics["n_bonafide"] > 0 and 0 <= metrics["eer"] <= 1
    assert (exp_dir / "RESULTS.md").is_file()
    # On the synthetic tones and noise, AASIST (trained on speech) ranks spoof above bona fide:
    # the best calibration would give every file one LLR and one decision, so stage 5 refuses
    # it and evaluates without one; detect then decides by the dev EER threshold.
    dev = json.loads((exp_dir / "dev" / "metrics.json").read_text())
    assert dev["eer"] > 0.5 > dev["eer_negated"] and "act_dcf" not in dev
    assert "rank spoof above bona fide" in log and "not calibrating" in log
    assert load_calibration(exp_dir) is None
    # Stage 4 (a data directory) and detect (files read into memory) give the same scores.
    scores = dict(line.split() for line in (exp_dir / "eval/scores.txt").read_text().splitlines())
    wav_scp = dict(line.split() for line in (recipe / "data/eval/wav.scp").read_text().splitlines())
    utts = sorted(scores)[:4]
    out = tmp_path / "detect.json"
    files = [wav_scp[utt] for utt in utts]
    # detect's official single-window protocol is stage 4's `inference.mode: first`.
    options = ["--ngpu", "0", "--window", "first", "--min_speech_seconds", "0"]
    command = [*options, "--model", "aasist", "--format", "json", "--out", str(out)]
    assert detect.main([*command, *files]) == 0
    rows = json.loads(out.read_text())["results"]
    for utt, row in zip(utts, rows, strict=True):
        assert row["score"] == pytest.approx(float(scores[utt]), abs=1e-5)
    command = [*options, "--model", str(exp_dir), "--format", "json", "--out", str(out)]
    assert detect.main([*command, *files]) == 0
    for row in json.loads(out.read_text())["results"]:
        assert row["llr"] is None
        assert row["decision"] == ("bonafide" if row["score"] > dev["eer_threshold"] else "spoof")


def test_import_pretrained_help_shows_the_usage():
    command = [sys.executable, "-m", "antispoof.bin.import_pretrained", "--help"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0 and "Usage:" in result.stdout
    assert "aasist" in result.stdout and "pretrained.json" in result.stdout
