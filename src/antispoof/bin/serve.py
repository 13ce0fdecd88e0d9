r"""Serve a local web page to check recordings: drop audio files, see each one's decision, its
LLR in words (with a calibrated model), a timeline of its windows over the waveform, the model's
card and what it cannot tell; download the results as `detect --format json` writes them.

Usage:
    python -m antispoof.bin.serve [--model aasist] [--host 127.0.0.1] [--port 8000] \
        [--max_mb 100] [--max_seconds 600] [--max_waiting 32] [--window all|first] \
        [--hop SECONDS] [--aggregate median|mean|min] [--batch_size N] \
        [--checkpoint best|last|PATH] [--weights FILE] [--ngpu N]

    pip install -e '.[demo]'                      # once: FastAPI and uvicorn (the `demo` extra)
    python -m antispoof.bin.serve                 # then open http://127.0.0.1:8000/
    python -m antispoof.bin.serve --model exp/<tag> --port 0   # a free port, printed

--model: a published model by name (default aasist) or an experiment directory, loaded once
and shared by every request; scoring follows the same rules and settings as `detect` (its
--help gives them). The page listens on loopback only, unless --host says otherwise: it has no
login, so another address lets anyone who can reach it score files. An upload may be at most
--max_mb megabytes (default 100) and --max_seconds seconds long (default 600; longer files:
`detect`); files that are not audio get `detect`'s messages. Uploads are written only to a
temporary directory (in $TMPDIR), each removed when its request ends, the directory at
shutdown (Ctrl-C). One file is scored at a time; at most --max_waiting uploads (default 32)
are taken in at once, the others are asked to try again (memory: one recording's scoring).
"""

from __future__ import annotations

import argparse
import logging
import socket

from antispoof.bin._cli import run_main
from antispoof.inference import AGGREGATES, WINDOW_MODES, load
from antispoof.published import PUBLISHED
from antispoof.training.device import select_device

log = logging.getLogger("antispoof.serve")

MISSING_EXTRA = (
    "serve needs the `demo` extra (FastAPI and uvicorn): pip install -e '.[demo]' in the "
    "repository (or pip install 'antispoof[demo]')"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model",
        default="aasist",
        help=f"{', '.join(PUBLISHED)} (default aasist), or an experiment directory",
    )
    parser.add_argument("--host", default="127.0.0.1", help="default: loopback only")
    parser.add_argument("--port", type=int, default=8000, help="0: a free port (printed)")
    parser.add_argument("--max_mb", type=float, default=None, help="per upload (default 100)")
    parser.add_argument("--max_seconds", type=float, default=None, help="per upload (default 600)")
    parser.add_argument(
        "--max_waiting", type=int, default=None, help="uploads taken in at once (default 32)"
    )
    parser.add_argument("--window", choices=WINDOW_MODES, default="all")
    parser.add_argument("--hop", type=float, help="seconds between windows (default: a window)")
    parser.add_argument("--aggregate", choices=tuple(AGGREGATES), default="median")
    parser.add_argument("--batch_size", type=int, help="windows per forward pass")
    parser.add_argument(
        "--checkpoint", help="of an experiment: best (default), last, or a checkpoint path"
    )
    parser.add_argument("--weights", help="a local copy of a published model")
    parser.add_argument("--ngpu", type=int, default=None, help="0: the CPU; default: a GPU if any")
    args = parser.parse_args(argv)
    try:
        import uvicorn

        from antispoof.serve.app import UploadLimits, create_app
    except ImportError as err:
        raise ValueError(f"{MISSING_EXTRA} ({err})") from None
    defaults = UploadLimits()
    limits = UploadLimits(
        max_bytes=defaults.max_bytes if args.max_mb is None else round(args.max_mb * 2**20),
        max_seconds=defaults.max_seconds if args.max_seconds is None else args.max_seconds,
        max_waiting=defaults.max_waiting if args.max_waiting is None else args.max_waiting,
    )
    detector = load(
        args.model,
        checkpoint=args.checkpoint,
        weights=args.weights,
        device=select_device(args.ngpu),
        window=args.window,
        hop_seconds=args.hop,
        aggregate=args.aggregate,
        batch_size=args.batch_size,
    )
    log.info("model: %s", detector.info.description)
    log.info("decision: %s", detector.rule.description)
    app = create_app(detector, limits)
    # The socket is bound here, so that --port 0 gets a free port whose address is printed.
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(128)
    host, port = listener.getsockname()[:2]
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("listening on %s, not loopback: the page has no login", args.host)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    log.info("serving http://%s:%d/ (Ctrl-C stops)", shown, port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down cleanly
        log.info("stopped")
    return 0


if __name__ == "__main__":
    run_main(main, "serve")
