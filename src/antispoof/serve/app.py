"""The web application behind `python -m antispoof.bin.serve`: the page, the model's card, and
one upload scored per request (see antispoof.serve for what it shows and why FastAPI).

    app = create_app(detector, UploadLimits(max_bytes=100 << 20, max_seconds=600))

- `GET /`: the page (antispoof.serve.page). `GET /api/model`: the model's metadata (as
  `detect --format json` writes it), its card, and the upload limits.
- `POST /api/score?name=FILE`: the file itself as the request body (no multipart form: the body
  is streamed straight into the temporary file, counted against the size cap as it comes).
  200: `{"result": <detect's JSON row>, "view": {"envelope", "llr_words"}}`; 422 with
  `{"error"}` for a file that is not audio, empty, broken or too long (the AudioError's text,
  as `detect` gives it, the upload's name in place of its temporary path); 413 over the size
  cap; 503 when `max_waiting` uploads are already in.

**Temporary files.** An upload is written only under one directory, made at start-up with
`tempfile.mkdtemp` (in `$TMPDIR`), in a folder of its own that is removed when its request
ends, whatever the outcome; the directory itself is removed at shutdown.

**Concurrency.** The one detector, loaded at start, scores one upload at a time in a worker
thread (an anyio capacity limiter of 1, first come first served; a lock inside as well, since
the detector keeps per-recording state). Requests waiting their turn hold no thread and no
audio in memory, only their file on disk; at most `max_waiting` are admitted at once, so memory
is one recording's scoring plus the model, and disk at most `max_waiting * max_bytes`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.requests import ClientDisconnect

from antispoof.data.audio import AudioError
from antispoof.inference import SpoofDetector
from antispoof.serve.page import PAGE
from antispoof.serve.report import llr_in_words, model_card, waveform_envelope

log = logging.getLogger("antispoof.serve")

# Defaults, each a `serve` option.
MAX_MB = 100.0  # per upload: ten minutes of 44.1 kHz stereo 16-bit WAV is 106 MB
MAX_SECONDS = 600.0  # per upload: ten minutes (longer recordings: `detect`)
MAX_WAITING = 32  # uploads admitted at once (receiving, waiting, scoring)
TEMP_PREFIX = "antispoof-serve-"
_NAME_LENGTH = 200


@dataclass(frozen=True)
class UploadLimits:
    """What one upload may be, and how many may be in at once."""

    max_bytes: int = round(MAX_MB * 2**20)
    max_seconds: float = MAX_SECONDS
    max_waiting: int = MAX_WAITING

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_seconds", "max_waiting"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")


class UploadRefusedError(Exception):
    """An upload refused before scoring, with its HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def upload_name(name: str) -> str:
    """The file name an upload is saved and reported under: the last part of what the browser
    sent, without control characters, at most 200 characters (its extension kept)."""
    base = PurePosixPath(name.replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()
    if base in ("", ".", ".."):
        return "upload"
    if len(base) > _NAME_LENGTH:
        suffix = PurePosixPath(base).suffix[:16]
        base = base[: _NAME_LENGTH - len(suffix)] + suffix
    return base


def size_in_words(size: int) -> str:
    """1.5 MB, 4 kB: the sizes that upload messages give."""
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 2**10:.0f} kB"


class UploadScorer:
    """The detector shared by every request: scores one saved upload at a time."""

    def __init__(self, detector: SpoofDetector, limits: UploadLimits) -> None:
        self.detector = detector
        self.limits = limits
        self._lock = threading.Lock()

    def score(self, path: Path, name: str) -> dict[str, Any]:
        """`{"result", "view"}` of the upload saved at `path`; AudioError (its text naming the
        upload by `name`) when it is not audio or too long."""
        from antispoof.data.stream import open_audio

        folder = f"{path.parent}/"
        with self._lock:
            try:
                audio = open_audio(path)
                if audio.duration > self.limits.max_seconds:
                    raise AudioError(
                        f"{name}: {audio.duration:.1f} s is longer than the page's limit of "
                        f"{self.limits.max_seconds:g} s (serve --max_seconds); score it with "
                        "detect"
                    )
                result = next(self.detector.score_files([path]))
                if result.error is not None:
                    raise AudioError(result.error)
                envelope = waveform_envelope(path)
            except AudioError as err:
                raise AudioError(str(err).replace(folder, "")) from None
        if not math.isfinite(result.score):
            raise ValueError(
                f"{name}: the score is not finite: check the model (a diverged checkpoint?)"
            )
        result.path = name
        return {
            "result": result.to_json(),
            "view": {
                "envelope": envelope,
                "llr_words": None if result.llr is None else llr_in_words(result.llr),
            },
        }


def create_app(detector: SpoofDetector, limits: UploadLimits | None = None) -> FastAPI:
    """The application: the page and its API over `detector` (see the module doc)."""
    limits = limits or UploadLimits()
    scorer = UploadScorer(detector, limits)
    card = model_card(detector)
    model = {
        "metadata": detector.metadata(),
        "card": asdict(card),
        "limits": {"max_bytes": limits.max_bytes, "max_seconds": limits.max_seconds},
    }
    state: dict[str, Any] = {"root": None, "admitted": 0}
    one_at_a_time = anyio.CapacityLimiter(1)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["root"] = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        log.info("uploads go to %s, removed after each request and at shutdown", state["root"])
        try:
            yield
        finally:
            shutil.rmtree(state["root"], ignore_errors=True)
            log.info("removed %s", state["root"])

    # No /docs: they load their scripts from a CDN, and the page is meant to work offline.
    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.uploads = state

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.get("/api/model")
    async def model_info() -> dict[str, Any]:
        return model

    @app.post("/api/score")
    async def score(request: Request, name: str = Query(..., max_length=4096)) -> JSONResponse:
        name = upload_name(name)
        if state["admitted"] >= limits.max_waiting:
            return _error(
                503,
                f"the server is busy: {state['admitted']} files are in (serve --max_waiting "
                f"{limits.max_waiting}); try {name} again in a moment",
            )
        state["admitted"] += 1
        folder = Path(tempfile.mkdtemp(prefix="upload-", dir=state["root"]))
        started = time.monotonic()
        try:
            path = folder / name
            await _receive(request, path, name, limits.max_bytes)
            answer = await anyio.to_thread.run_sync(scorer.score, path, name, limiter=one_at_a_time)
        except UploadRefusedError as err:
            log.info("refused: %s", err)
            return _error(err.status, str(err))
        except AudioError as err:
            log.info("not scored: %s", err)
            return _error(422, str(err))
        except ValueError as err:
            log.error("%s", err)
            return _error(500, str(err))
        except ClientDisconnect:
            log.info("%s: the browser went away during the upload", name)
            return _error(400, f"{name}: the upload was interrupted")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            state["admitted"] -= 1
        result = answer["result"]
        log.info(
            "%s: %s (score %.3f), %.1f s of audio, answered in %.1f s",
            name,
            result["decision"] or "no decision",
            result["score"],
            result["duration"],
            time.monotonic() - started,
        )
        return JSONResponse(answer)

    return app


async def _receive(request: Request, path: Path, name: str, max_bytes: int) -> None:
    """The request body streamed into `path`, refused (413) as soon as it passes `max_bytes`."""
    declared = request.headers.get("content-length")
    too_large = f"is more than the page's limit of {size_in_words(max_bytes)} (serve --max_mb)"
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise UploadRefusedError(413, f"{name}: {size_in_words(int(declared))} {too_large}")
    received = 0
    with path.open("wb") as handle:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise UploadRefusedError(413, f"{name}: the upload {too_large}")
            handle.write(chunk)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
