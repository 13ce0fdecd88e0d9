"""Requests per second and peak memory of `serve` under concurrent uploads on loopback.

Usage:
    python benchmarks/serve_load.py [--model aasist] [--concurrency 20] [--rounds 3] \
        [--seconds 10] [--ngpu 0]

Starts `python -m antispoof.bin.serve --port 0` (its own $TMPDIR), then sends `--rounds` rounds
of `--concurrency` uploads at once, each a `--seconds`-s FLAC of the real speech of
tests/reference/ (tiled), as the page sends a file (the body of `POST /api/score`). Prints, per
round and in all: the answers by status, requests per second (uploads answered / wall seconds
of the round), the median and longest answer, and the server's peak resident memory (VmHWM)
after start-up and after each round; then stops the server with Ctrl-C and checks that its
temporary directory is gone. Needs the `demo` extra; Linux (/proc).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import io
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import numpy as np
import soundfile

REPO = Path(__file__).resolve().parents[1]
SPEECH = REPO / "tests/reference/jfk_1961_inaugural_11s.flac"


def upload(url: str, name: str, data: bytes) -> tuple[int, float]:
    """`(status, seconds)` of one upload answered."""
    parts = urllib.parse.urlsplit(url)
    started = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=3600)
    try:
        connection.request("POST", "/api/score?name=" + urllib.parse.quote(name), body=data)
        response = connection.getresponse()
        json.loads(response.read())
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="aasist")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--ngpu", default="0")
    args = parser.parse_args()

    speech, rate = soundfile.read(SPEECH, dtype="float32")
    clip = np.tile(speech, int(np.ceil(args.seconds * rate / len(speech))))[
        : round(args.seconds * rate)
    ]
    buffer = io.BytesIO()
    soundfile.write(buffer, clip, rate, format="FLAC")
    data = buffer.getvalue()

    with tempfile.TemporaryDirectory() as work:
        temp_dir = Path(work) / "tmp"
        temp_dir.mkdir()
        log_path = Path(work) / "serve.log"
        command = [
            sys.executable,
            "-m",
            "antispoof.bin.serve",
            "--port",
            "0",
            "--ngpu",
            args.ngpu,
            "--model",
            args.model,
            "--max_waiting",
            str(max(32, args.concurrency)),
        ]
        with log_path.open("w") as log:
            server = subprocess.Popen(
                command, stderr=log, env={**os.environ, "TMPDIR": str(temp_dir)}
            )
        try:
            while not (found := re.search(r"uploads go to (\S+),", log_path.read_text())):
                if server.poll() is not None:
                    raise SystemExit(log_path.read_text())
                time.sleep(0.2)
            url = re.search(r"serving (http://\S+)/ ", log_path.read_text()).group(1)
            uploads = Path(found.group(1))
            print(
                f"serve --model {args.model}: {args.concurrency} concurrent uploads of "
                f"{args.seconds:g} s ({len(data) / 1024:.0f} kB FLAC), {args.rounds} rounds"
            )
            print(f"peak RSS after start-up: {peak_rss_mb(server.pid):.0f} MB")
            all_seconds: list[float] = []
            total_wall = 0.0
            for number in range(1, args.rounds + 1):
                started = time.perf_counter()
                with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
                    answers = list(
                        pool.map(lambda i: upload(url, f"u{i}.flac", data), range(args.concurrency))
                    )
                wall = time.perf_counter() - started
                total_wall += wall
                statuses = {s: [a for a, _ in answers].count(s) for s in {a for a, _ in answers}}
                seconds = [t for _, t in answers]
                all_seconds += seconds
                print(
                    f"round {number}: answers {statuses}, {len(answers) / wall:.2f} requests/s, "
                    f"answer median {statistics.median(seconds):.1f} s, longest "
                    f"{max(seconds):.1f} s, peak RSS {peak_rss_mb(server.pid):.0f} MB, "
                    f"uploads left {len(list(uploads.iterdir()))}"
                )
            print(
                f"all: {len(all_seconds) / total_wall:.2f} requests/s, "
                f"{len(all_seconds) * args.seconds / total_wall:.1f} s of audio per second, "
                f"peak RSS {peak_rss_mb(server.pid):.0f} MB"
            )
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(60)
        print(
            f"stopped (exit {server.returncode}); uploads' directory removed: "
            f"{not uploads.exists()}"
        )


if __name__ == "__main__":
    main()
