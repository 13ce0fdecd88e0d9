"""`serve`: the page's API over a stand-in model on a real server on loopback (results as the
library gives them, detect's messages for files that are not audio, the size, duration and
admission caps, nothing left in the temporary directory, one scoring at a time under 20
concurrent uploads); then `python -m antispoof.bin.serve` with the published AASIST, driven by
headless Chromium (the real speech, TTS, silence and corrupt test files; verdicts, timelines,
the JSON download against `detect --format json`), loaded with 20 concurrent 10-s uploads
(no errors, peak memory bounded), and stopped (its temporary directory removed).

The page needs the `demo` extra (FastAPI, uvicorn) and the browser test selenium with Debian's
chromium and chromium-driver, which the test installs (apt-get, as root) when they are missing;
without them the tests skip, saying why. ANTISPOOF_SERVE_SCREENSHOT=PATH saves the page with the
real speech and TTS results (docs/serve.png was made so).
"""

from __future__ import annotations

import concurrent.futures
import functools
import http.client
import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

pytest.importorskip("fastapi", reason="serve needs the demo extra: pip install -e '.[demo]'")
uvicorn = pytest.importorskip("uvicorn", reason="serve needs the demo extra (uvicorn)")

from antispoof.bin import detect  # noqa: E402
from antispoof.decision import CALIBRATED, DecisionRule  # noqa: E402
from antispoof.evaluation.calibration import Calibration  # noqa: E402
from antispoof.inference import (  # noqa: E402
    ModelInfo,
    ScoringSettings,
    SpoofDetector,
    WindowScorer,
)
from antispoof.serve.app import TEMP_PREFIX, UploadLimits, create_app  # noqa: E402
from antispoof.serve.report import ENVELOPE_POINTS, llr_in_words  # noqa: E402

pytestmark = pytest.mark.long

REPO = Path(__file__).resolve().parents[1]
JFK = REPO / "tests" / "reference" / "jfk_1961_inaugural_11s.flac"  # real speech
TTS = REPO / "tests" / "reference" / "espeak_ng_sentence.flac"  # espeak-ng
RATE = 16000
# Not audio, empty, and a WAV header cut short: what a person may drop by mistake.
NOT_AUDIO = {
    "notes.txt": b"not audio\n",
    "empty.wav": b"",
    "corrupt.wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(20),
}
# The served AASIST's peak resident memory under 20 concurrent 10-s uploads: torch, the model,
# silero-vad and one recording's scoring at a time, 1.36 GB measured (0.87 GB after start-up;
# README, benchmarks/serve_load.py). Twenty recordings scored at once would pass the bound.
PEAK_RSS_BOUND_MB = 2000
# Growth of the server's resident memory from a second round of 2 concurrent uploads (two, so
# that one waits while the other is scored): none expected (the model stays, and a scoring's
# working set, about 0.5 GB, is freed after each: keeping one would show). Several rounds of 20
# are the load benchmark's (benchmarks/serve_load.py).
RSS_GROWTH_MB = 100


# ---------------------------------------------------------------------------------------------
# Helpers: HTTP on loopback


def post(url: str, name: str, body: bytes | Iterable[bytes]) -> tuple[int, dict]:
    """POST a file's bytes to the page's API as the page does (`body` an iterable of chunks:
    sent chunked, without a length); the status and the JSON answer."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    target = "/api/score?name=" + urllib.parse.quote(name)
    chunked = not isinstance(body, bytes)
    try:
        connection.request("POST", target, body=body, encode_chunked=chunked)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def get_json(url: str) -> dict:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", parts.path)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def audio_bytes(signal: np.ndarray, rate: int = RATE, file_format: str = "WAV") -> bytes:
    path = Path(tempfile.mkstemp(suffix=f".{file_format.lower()}")[1])
    try:
        soundfile.write(path, signal, rate, format=file_format)
        return path.read_bytes()
    finally:
        path.unlink()


def assert_close(actual, expected, tolerance: float, where: str = "") -> None:
    """JSON values equal, their floats within `tolerance`."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), where
        for key, value in expected.items():
            assert_close(actual[key], value, tolerance, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for index, (got, value) in enumerate(zip(actual, expected, strict=True)):
            assert_close(got, value, tolerance, f"{where}[{index}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, abs=tolerance), where
    else:
        assert actual == expected, where


def level(value: float, seconds: float) -> np.ndarray:
    return np.full(round(seconds * RATE), value, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# The API over a stand-in model: fast, and every answer known


class LevelScorer(WindowScorer):
    """A stand-in model: a 1-s window's score is its mean level; it records how many calls ran
    at once, and can take its time."""

    natural_decision = False
    sample_rate = RATE
    window_samples = RATE

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.running = 0
        self.most_at_once = 0
        self._count = threading.Lock()

    def __call__(self, windows):
        with self._count:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.delay)
        with self._count:
            self.running -= 1
        return windows.astype(np.float64).mean(axis=1), None


def calibrated_stub(delay: float = 0.0) -> SpoofDetector:
    """LLR = 2 * score; bona fide from the ASVspoof 5 Bayes threshold (-0.64) up."""
    calibration = Calibration(2.0, 0.0, "data/dev", 10, 90, 0.0)
    rule = DecisionRule(CALIBRATED, "calibrated (stand-in)", calibration=calibration)
    info = ModelInfo("exp/stub", "experiment exp/stub (best.pt)", "best.pt", "0" * 64)
    settings = ScoringSettings(min_speech_seconds=None)
    return SpoofDetector(LevelScorer(delay), rule, info, settings, batch_size=4)


class LiveServer:
    """The application served by uvicorn in a thread on a free loopback port."""

    def __init__(self, app) -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [listener]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)

    @property
    def uploads(self) -> Path:
        return self.app.state.uploads["root"]

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture
def temp_dir(tmp_path, monkeypatch) -> Path:
    """$TMPDIR of the server under test: it must hold the uploads' directory and nothing else."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def serve(temp_dir):
    """Start a server over a detector with limits; every one is stopped at the end, and its
    temporary directory must then be gone."""
    servers = []

    def start(detector: SpoofDetector, limits: UploadLimits | None = None) -> LiveServer:
        servers.append(LiveServer(create_app(detector, limits)))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
    assert list(temp_dir.iterdir()) == [], "the server left files in $TMPDIR"


def assert_no_uploads_left(server: LiveServer, temp_dir: Path) -> None:
    assert list(temp_dir.iterdir()) == [server.uploads]
    assert server.uploads.name.startswith(TEMP_PREFIX)
    assert list(server.uploads.iterdir()) == []


def test_an_upload_is_scored_as_the_library_scores_it(serve, temp_dir, tmp_path):
    detector = calibrated_stub()
    server = serve(detector)
    model = get_json(server.url + "/api/model")
    assert model["metadata"] == json.loads(json.dumps(detector.metadata()))
    assert model["card"]["name"] == "exp/stub" and "Calibrated" in model["card"]["decision"]
    assert model["limits"] == {"max_bytes": 100 * 2**20, "max_seconds": 600.0}
    # Two bona fide seconds, then three spoof ones, at 8 kHz stereo: resampled and averaged.
    signal = np.concatenate([level(0.3, 2), level(-0.4, 3)])[::2]
    stereo = np.stack([signal, signal], axis=1)
    data = audio_bytes(stereo, RATE // 2, "FLAC")
    (tmp_path / "mixed.flac").write_bytes(data)
    status, answer = post(server.url, "some/folder/mixed.flac", data)
    assert status == 200, answer
    expected = detector.score_file(tmp_path / "mixed.flac").to_json()
    expected["path"] = "mixed.flac"  # the upload's own name, its folders dropped
    assert_close(answer["result"], json.loads(json.dumps(expected)), 1e-6)
    result = answer["result"]
    assert [s["decision"] for s in result["segments"]] == ["bonafide"] * 2 + ["spoof"] * 3
    assert result["decision"] == "spoof" and result["llr"] == pytest.approx(-0.8, abs=1e-3)
    assert answer["view"]["llr_words"] == llr_in_words(result["llr"])
    assert "more likely under the spoof hypothesis" in answer["view"]["llr_words"]
    envelope = answer["view"]["envelope"]
    assert len(envelope) == ENVELOPE_POINTS
    assert envelope[0] == pytest.approx(0.3, abs=0.02) and envelope[-1] == pytest.approx(0.4, 0.05)
    assert_no_uploads_left(server, temp_dir)


def test_files_that_are_not_audio_get_detects_messages(serve, temp_dir, tmp_path, monkeypatch):
    detector = calibrated_stub()
    server = serve(detector, UploadLimits(max_seconds=2.0))
    # What detect reports for each (its `skipped:` line is the library's error), run where
    # the files lie, so that its path is the bare name the page reports.
    monkeypatch.chdir(tmp_path)
    for name, data in NOT_AUDIO.items():
        Path(name).write_bytes(data)
    expected = [result.error for result in detector.score_files(list(NOT_AUDIO))]
    assert all(expected)
    for (name, data), message in zip(NOT_AUDIO.items(), expected, strict=True):
        status, answer = post(server.url, name, data)
        assert (status, answer) == (422, {"error": message})
        assert_no_uploads_left(server, temp_dir)
    status, answer = post(server.url, "long.wav", audio_bytes(level(0.1, 3)))
    assert status == 422
    assert answer["error"] == (
        "long.wav: 3.0 s is longer than the page's limit of 2 s (serve --max_seconds); score "
        "it with detect"
    )
    # The page keeps working.
    assert post(server.url, "fine.wav", audio_bytes(level(0.1, 1.5)))[0] == 200
    assert_no_uploads_left(server, temp_dir)


def test_an_upload_over_the_size_cap_is_refused_as_it_comes(serve, temp_dir):
    server = serve(calibrated_stub(), UploadLimits(max_bytes=4000))
    status, answer = post(server.url, "big.wav", bytes(6000))
    assert status == 413
    assert answer["error"] == (
        "big.wav: 6 kB is more than the page's limit of 4 kB (serve --max_mb)"
    )

    # Without a length (chunked), the count stops it: the rest is never written.
    def chunks() -> Iterator[bytes]:
        for _ in range(6):
            yield bytes(1000)

    status, answer = post(server.url, "big.wav", chunks())
    assert status == 413 and "the upload is more than the page's limit" in answer["error"]
    assert_no_uploads_left(server, temp_dir)
    assert post(server.url, "small.wav", audio_bytes(level(0.1, 0.1)))[0] == 200


def test_concurrent_uploads_are_scored_one_at_a_time_each_its_own(serve, temp_dir):
    detector = calibrated_stub(delay=0.01)
    server = serve(detector)
    levels = np.linspace(-0.5, 0.5, 20)
    files = {f"level_{i:02d}.wav": audio_bytes(level(v, 2.5)) for i, v in enumerate(levels)}
    with concurrent.futures.ThreadPoolExecutor(len(files)) as pool:
        answers = dict(
            zip(files, pool.map(lambda item: post(server.url, *item), files.items()), strict=True)
        )
    for (name, (status, answer)), value in zip(answers.items(), levels, strict=True):
        assert status == 200, answer
        assert answer["result"]["path"] == name
        assert answer["result"]["score"] == pytest.approx(value, abs=1e-4)  # 16-bit WAV
    assert detector.scorer.most_at_once == 1
    assert_no_uploads_left(server, temp_dir)


def test_uploads_beyond_max_waiting_are_asked_to_come_back(serve, temp_dir):
    server = serve(calibrated_stub(delay=0.3), UploadLimits(max_waiting=2))
    data = audio_bytes(level(0.2, 1.0))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: post(server.url, f"f{i}.wav", data), range(8)))
    statuses = [status for status, _ in answers]
    assert set(statuses) == {200, 503} and statuses.count(200) >= 2
    for status, answer in answers:
        if status == 503:
            assert re.fullmatch(
                r"the server is busy: 2 files are in \(serve --max_waiting 2\); try f\d\.wav "
                r"again in a moment",
                answer["error"],
            )
    assert_no_uploads_left(server, temp_dir)


# ---------------------------------------------------------------------------------------------
# `python -m antispoof.bin.serve` with the published AASIST


class ServeProcess:
    """`python -m antispoof.bin.serve --port 0` with its own $TMPDIR; its URL read from its log."""

    def __init__(self, temp_dir: Path, log_path: Path) -> None:
        self.temp_dir = temp_dir
        self.log_path = log_path
        command = [sys.executable, "-m", "antispoof.bin.serve", "--port", "0", "--ngpu", "0"]
        # The C library's own allocator, as a user runs the server: the memory bounds below were
        # measured with it, and tests/run.sh sets glibc's malloc to keep freed memory.
        env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**env, "TMPDIR": str(temp_dir)},
            )
        deadline = time.monotonic() + 300
        while (found := re.search(r"serving (http://\S+)/ ", log_path.read_text())) is None:
            assert self.process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "serve did not start in 300 s"
            time.sleep(0.2)
        self.url = found.group(1)
        while (found := re.search(r"uploads go to (\S+),", log_path.read_text())) is None:
            assert time.monotonic() < deadline, "serve did not start in 300 s"
            time.sleep(0.1)
        self.uploads = Path(found.group(1))
        # What $TMPDIR held before any upload, besides the uploads' directory: onnxruntime
        # (silero-vad's backend) writes `.ses` there when it is imported.
        self.before_uploads = set(temp_dir.iterdir()) - {self.uploads}

    def assert_no_uploads_left(self) -> None:
        assert set(self.temp_dir.iterdir()) == {*self.before_uploads, self.uploads}
        assert self.uploads.name.startswith(TEMP_PREFIX) and list(self.uploads.iterdir()) == []

    def peak_rss_mb(self) -> float:
        """The server's peak resident memory so far (VmHWM)."""
        return self._status_mb("VmHWM")

    def rss_mb(self) -> float:
        """The server's resident memory now (VmRSS)."""
        return self._status_mb("VmRSS")

    def _status_mb(self, field: str) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Ctrl-C
            self.process.wait(60)
        return self.process.returncode


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    (root / "tmp").mkdir()
    server = ServeProcess(root / "tmp", root / "serve.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def test_files(tmp_path_factory) -> Path:
    """The browser test's uploads: real speech, TTS, silence, a corrupt file."""
    folder = tmp_path_factory.mktemp("uploads")
    shutil.copy(JFK, folder / JFK.name)
    shutil.copy(TTS, folder / TTS.name)
    soundfile.write(folder / "silence.wav", np.zeros(5 * RATE, dtype=np.float32), RATE)
    (folder / "corrupt.wav").write_bytes(NOT_AUDIO["corrupt.wav"])
    return folder


CHROMIUM_FLAGS = (
    # Root in a container: no sandbox; no GPU; and none of Chromium's own connections, which
    # a closed network refuses (they would stall the page's start).
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1100,1400",
)


@functools.cache
def chromium() -> tuple[str, str] | str:
    """Debian's chromium and its driver (`(browser, driver)`), installed once with apt-get when
    missing; or why there is none."""
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if all(found):
        return found
    if not shutil.which("apt-get"):
        return "chromium and chromedriver are not installed, and there is no apt-get"
    if os.geteuid() != 0:
        return "chromium and chromedriver are not installed, and only root can apt-get them"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"]
    reason = ""
    # The package lists of a fresh machine may be empty or stale: update them if need be.
    for commands in ([install], [["apt-get", "update", "-q"], install]):
        for command in commands:
            try:
                done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
            except subprocess.TimeoutExpired:
                reason = f"{' '.join(command)} took more than 900 s"
                break
            if done.returncode != 0:
                reason = f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}"
                break
        found = shutil.which("chromium"), shutil.which("chromedriver")
        if all(found):
            return found
    return f"no chromium and chromedriver, and they could not be installed: {reason}"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium")
    from selenium.webdriver.chrome.service import Service

    found = chromium()
    if isinstance(found, str):
        pytest.skip(found)
    binary, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    yield driver
    driver.quit()


def wait_for(driver, count: int, seconds: float = 600):
    """The page's result cards once `count` of them are done or failed."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    finished = '.result[data-state="done"], .result[data-state="failed"]'
    WebDriverWait(driver, seconds, 0.2).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, finished)) >= count
    )
    return {
        card.get_attribute("data-name"): card
        for card in driver.find_elements(By.CSS_SELECTOR, ".result")
    }


def save_screenshot(driver, path: Path) -> None:
    """The whole page, beyond the window, as a PNG of 256 colours (small for the README)."""
    import base64

    from PIL import Image

    width, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
    # Fast octree keeps the small areas of colour (the legend's green) that median cut merges.
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)


def test_the_page_in_a_real_browser(served, browser, test_files, tmp_path, monkeypatch, caplog):
    from selenium.webdriver.common.by import By

    # What detect says about the same files, run where they lie (the paths are their names).
    monkeypatch.chdir(test_files)
    caplog.set_level(logging.INFO)
    names = [JFK.name, TTS.name, "corrupt.wav", "silence.wav"]
    out = tmp_path / "detect.json"
    assert detect.main(["--ngpu", "0", "--format", "json", "--out", str(out), *names]) == 1
    by_detect = json.loads(out.read_text())
    expected = {row["path"]: row for row in by_detect["results"]}
    corrupt_message = re.search(r"skipped: (corrupt\.wav: .*)", caplog.text).group(1)

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    browser.get(served.url + "/")
    assert browser.find_element(By.ID, "model-name").text == "aasist"
    limits = browser.find_element(By.ID, "model-limits").text
    assert "close to chance" in limits and "43.01 %" in limits
    card = browser.find_element(By.ID, "model-card").get_attribute("textContent")
    assert "22,800 spoofed training" in card and "MIT" in card and "In-the-Wild" in card
    assert "Not calibrated" in browser.find_element(By.ID, "model-decision").text

    # Real speech and TTS, chosen together.
    chooser = browser.find_element(By.ID, "files")
    chooser.send_keys("\n".join(str(test_files / name) for name in names[:2]))
    cards = wait_for(browser, 2)
    for name in names[:2]:
        row = expected[name]
        card = cards[name]
        assert card.get_attribute("data-state") == "done"
        decision = card.find_element(By.CSS_SELECTOR, ".decision").get_attribute("data-decision")
        assert decision == row["decision"]
        assert f"score {row['score']:.3f}" in card.find_element(By.CSS_SELECTOR, ".facts").text
        timeline = card.find_element(By.CSS_SELECTOR, "svg.timeline")
        windows = timeline.find_elements(By.CSS_SELECTOR, "rect.segment")
        assert [w.get_attribute("data-decision") for w in windows] == [
            s["decision"] for s in row["segments"]
        ]
        assert timeline.find_element(By.CSS_SELECTOR, "path.wave").get_attribute("d")
        assert "not calibrated" in card.find_element(By.CSS_SELECTOR, ".llr").text
    if os.environ.get("ANTISPOOF_SERVE_SCREENSHOT"):
        save_screenshot(browser, Path(os.environ["ANTISPOOF_SERVE_SCREENSHOT"]))

    # The download holds what detect --format json writes for the same two files.
    browser.find_element(By.ID, "download").click()
    saved = downloads / "antispoof-results.json"
    deadline = time.monotonic() + 30
    while not saved.is_file():
        assert time.monotonic() < deadline, "no download"
        time.sleep(0.1)
    report = json.loads(saved.read_text())
    assert {k: v for k, v in report.items() if k != "results"} == {
        k: v for k, v in by_detect.items() if k != "results"
    }
    assert_close(report["results"], [expected[name] for name in names[:2]], 1e-4)

    # A corrupt file gives detect's message, and the page goes on with the next file.
    chooser.send_keys("\n".join(str(test_files / name) for name in names[2:]))
    cards = wait_for(browser, 4)
    assert cards["corrupt.wav"].get_attribute("data-state") == "failed"
    assert cards["corrupt.wav"].find_element(By.CSS_SELECTOR, ".error").text == corrupt_message
    silence = cards["silence.wav"]
    assert silence.get_attribute("data-state") == "done"
    assert expected["silence.wav"]["decision"] == "no-speech"
    assert silence.find_element(By.CSS_SELECTOR, ".decision").text == "no-speech"
    assert silence.find_elements(By.CSS_SELECTOR, "svg.timeline rect.segment")
    served.assert_no_uploads_left()


def test_20_concurrent_uploads_of_10_s_without_error_in_bounded_memory(served, tmp_path):
    speech, _ = soundfile.read(JFK, dtype="float32")
    data = audio_bytes(speech[: 10 * RATE], RATE, "FLAC")
    resident = []
    for uploads in (20, 2):
        with concurrent.futures.ThreadPoolExecutor(uploads) as pool:
            answers = list(pool.map(lambda i: post(served.url, f"u{i}.flac", data), range(uploads)))
        assert [status for status, _ in answers] == [200] * uploads, answers[0]
        scores = {answer["result"]["score"] for _, answer in answers}
        assert max(scores) - min(scores) < 1e-4  # the same file: the same answer every time
        assert served.peak_rss_mb() < PEAK_RSS_BOUND_MB
        resident.append(served.rss_mb())
    assert resident[1] - resident[0] < RSS_GROWTH_MB
    served.assert_no_uploads_left()


def test_ctrl_c_stops_the_server_and_removes_its_temporary_directory(served):
    """Run last in this file: it stops the module's server."""
    assert served.stop() == 0
    assert set(served.temp_dir.iterdir()) == served.before_uploads
    assert "removed" in served.log_path.read_text()
