"""Resumable HTTP download into a `.part` file (standard library only).

A download appends to the `.part` file from its current size with an HTTP Range request, so a
re-run after an interruption, or a retry after a dropped connection, continues where it
stopped. A server that ignores Range (200 instead of 206) makes it start again from byte 0;
416 on a resumed request means the part already holds the whole file. Transient failures
(timeouts, dropped connections, 408/429/5xx) are retried with exponential backoff; the retry
budget counts consecutive attempts that brought no new bytes, so a long download over a flaky
link is not abandoned while it still makes progress.
"""

from __future__ import annotations

import http.client
import logging
import re
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from antispoof import __version__
from antispoof.download import CorpusError, DownloadError

log = logging.getLogger(__name__)

USER_AGENT = f"antispoof/{__version__} (corpus download; Python-urllib)"
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
MAX_BACKOFF = 60.0


@dataclass(frozen=True)
class FetchOptions:
    timeout: float = 60.0  # seconds without data before an attempt fails
    retries: int = 5  # consecutive attempts without progress before a URL is given up
    backoff: float = 2.0  # first wait between attempts, doubled after each failure
    progress_interval: float = 30.0  # seconds between progress log lines
    chunk_size: int = 1 << 20


class _RetryableError(Exception):
    """An attempt failed in a way that a later attempt may not."""


def download_any(urls: tuple[str, ...], part: Path, options: FetchOptions) -> None:
    """Complete `part` from the first URL that works; mirrors are tried in order."""
    failures: list[str] = []
    for url in urls:
        try:
            download(url, part, options)
            return
        except DownloadError as err:
            failures.append(str(err))
        if url != urls[-1]:
            log.warning("%s; trying the next address", failures[-1])
    raise DownloadError("; ".join(failures))


def download(url: str, part: Path, options: FetchOptions) -> None:
    """Fill `part` with the whole resource at `url`, resuming from the bytes already there."""
    failed_attempts = 0
    while True:
        before = _size(part)
        try:
            _attempt(url, part, options)
            return
        except _RetryableError as err:
            reason = str(err)
        failed_attempts = 0 if _size(part) > before else failed_attempts + 1
        if failed_attempts > options.retries:
            raise DownloadError(f"{url}: gave up after {options.retries} retries: {reason}")
        delay = min(options.backoff * 2 ** max(failed_attempts - 1, 0), MAX_BACKOFF)
        log.warning("%s: %s; retrying in %.0f s from byte %d", url, reason, delay, _size(part))
        time.sleep(delay)


def _attempt(url: str, part: Path, options: FetchOptions) -> None:
    offset = _size(part)
    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    )
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=options.timeout)
    except urllib.error.HTTPError as err:
        _handle_status(url, err, offset, part)
        return
    except (OSError, http.client.HTTPException) as err:  # URLError, timeouts, resets
        raise _RetryableError(str(getattr(err, "reason", err))) from None

    with response:
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("text/html"):
            raise DownloadError(
                f"{url} returned a web page ({content_type}) instead of the file; "
                "the host may want a login or a licence accepted"
            )
        if response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range", ""))
            if start != offset:
                part.unlink()
                raise _RetryableError(
                    f"the server resumed at byte {start}, not {offset}; restarting"
                )
        elif response.status == 200:
            if offset:
                log.info("%s ignored the Range request: downloading again from byte 0", url)
                offset = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
        else:
            raise DownloadError(f"{url}: unexpected HTTP status {response.status}")

        if total is not None:
            _check_free_space(part.parent, total - offset)
        received = _copy(response, part, offset, total, options)

    if total is not None and received < total:
        raise _RetryableError(f"the connection closed after {received} of {total} bytes")
    if total is not None and received > total:
        raise DownloadError(f"{url}: received {received} bytes, more than the {total} announced")


def _handle_status(url: str, err: urllib.error.HTTPError, offset: int, part: Path) -> None:
    """Returns when the part is already complete; raises otherwise."""
    err.close()
    if err.code == 416 and offset:
        # A 416 answer carries `Content-Range: bytes */<total>` (RFC 9110 §15.5.17).
        match = re.fullmatch(r"bytes \*/(\d+)", err.headers.get("Content-Range", "").strip())
        total = int(match.group(1)) if match else None
        if total is None or total == offset:
            log.info("%s: the server says %s is already complete", url, part.name)
            return
        part.unlink()
        raise _RetryableError(
            f"the partial file ({offset} bytes) is larger than the file ({total} bytes)"
        )
    if err.code in (401, 403):
        raise DownloadError(f"{url} answered {err.code} {err.reason}")
    if err.code in TRANSIENT_STATUS:
        raise _RetryableError(f"HTTP {err.code} {err.reason}")
    raise DownloadError(f"{url} answered {err.code} {err.reason}")


def _content_range(header: str) -> tuple[int, int | None]:
    match = CONTENT_RANGE.fullmatch(header.strip())
    if match is None:
        raise _RetryableError(f"206 answer with an unreadable Content-Range {header!r}")
    total = match.group(3)
    return int(match.group(1)), None if total == "*" else int(total)


def _copy(
    response: http.client.HTTPResponse,
    part: Path,
    offset: int,
    total: int | None,
    options: FetchOptions,
) -> int:
    """Append the body to `part` (truncated to `offset` first); returns the part's new size."""
    received = offset
    started = last_report = time.monotonic()
    try:
        out = part.open("r+b" if part.exists() else "wb")
    except OSError as err:
        raise CorpusError(f"cannot write {part}: {err}") from None
    with out:
        out.truncate(offset)
        out.seek(offset)
        while True:
            try:
                chunk = response.read(options.chunk_size)
            except (OSError, http.client.HTTPException) as err:
                raise _RetryableError(f"{type(err).__name__}: {err}") from None
            if not chunk:
                return received
            try:
                out.write(chunk)
            except OSError as err:  # a full disk is not worth retrying
                raise CorpusError(f"cannot write {part}: {err}") from None
            received += len(chunk)
            now = time.monotonic()
            if now - last_report >= options.progress_interval:
                last_report = now
                _report(part, received, offset, total, now - started)


def _report(part: Path, received: int, offset: int, total: int | None, seconds: float) -> None:
    rate = (received - offset) / max(seconds, 1e-9)
    if total:
        eta = (total - received) / rate if rate else float("inf")
        log.info(
            "%s: %s of %s (%.0f%%), %s/s, about %.0f min left",
            part.name.removesuffix(".part"),
            _human(received),
            _human(total),
            100 * received / total,
            _human(rate),
            eta / 60,
        )
    else:
        log.info("%s: %s, %s/s", part.name.removesuffix(".part"), _human(received), _human(rate))


def _check_free_space(directory: Path, needed: int) -> None:
    free = shutil.disk_usage(directory).free
    if needed > free:
        raise CorpusError(
            f"{directory} has {_human(free)} free, the download needs {_human(needed)} more"
        )


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _human(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"
