r"""Score audio files with a published model or a trained experiment: every window of each
file, a verdict per file, rows written as each file finishes.

Usage:
    python -m antispoof.bin.detect [--model aasist] [--out FILE] [--format tsv|jsonl|json] \
        [--segments FILE] [--resume] [--window all|first] [--hop SECONDS] \
        [--aggregate median|mean|min] [--min_seconds S] [--min_speech_seconds S] \
        [--batch_size N] [--checkpoint best|last|PATH] [--weights FILE] [--ngpu N] \
        [--runtime torch|onnx] FILE_OR_DIR...
    python -m antispoof.bin.detect --model list   # the models, with their cards

    python -m antispoof.bin.detect some.wav
    antispoof-detect --model exp/<tag> --format jsonl --out scores.jsonl --segments windows.tsv \
        recordings/

--model: a published model by name, any case (default aasist; `--model list` prints each with
its card: training data, licence, window, published figures), an experiment directory (its
config.yaml and checkpoints/<--checkpoint>.pt), or an exported ONNX file (antispoof.bin.export),
run in ONNX Runtime. --runtime onnx runs a published model or an experiment in ONNX Runtime on
the CPU: exported once into $ANTISPOOF_CACHE/onnx/, with torch's rows within 1e-4. The library
does the work (antispoof.inference: `antispoof.load`); its module doc gives the rules in full:

- windows of the model's own length (4.04 s for AASIST) every --hop seconds (default: one
  window), the last repeat-padded; each window scored as an utterance of its own. --window first
  scores only the first window (the official single-window protocol), reading nothing after it;
- the file's score is the --aggregate of its speech windows' scores (median: the verdict of the
  majority of its windows); a window with less than --min_speech_seconds of speech (silero-vad)
  is `no-speech` and left out, a file without speech is `no-speech`, a file shorter than
  --min_seconds `too-short`, each with a warning (--min_speech_seconds 0 turns the speech check
  off);
- the decision follows the first rule that applies: the experiment's calibration, if fitted on
  this checkpoint (an LLR follows the decision); the dev EER threshold of this checkpoint; the
  classifier's own decision (softmax output layers: the published models); else none (`-`).

Input: any file soundfile reads (WAV including float, FLAC, Ogg, MP3, ...), at any rate and
channel count (resampled and averaged, logged), read in blocks: memory does not grow with the
file's length or the number of files. A folder is walked recursively in path order, following
links to folders (once each); a path that does not exist, a broken or looping link, a folder or
file that cannot be read is reported on stderr, the others are scored, and the exit status is
then 1.

Output (stdout, or --out): TSV `path score decision [llr]`, `jsonl` (one object per file with
its segments and the model's metadata) or `json` (one object, written at the end). TSV and
JSONL rows are written as each file finishes; --resume skips the files already in --out. The
segments file (TSV: path, start, end, score, llr, decision) has one row per window. A progress
bar shows on a terminal.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from antispoof.audio_inputs import collect_audio_files
from antispoof.bin._cli import run_main
from antispoof.inference import (
    AGGREGATES,
    MIN_SECONDS,
    MIN_SPEECH_SECONDS,
    RUNTIMES,
    WINDOW_MODES,
    load,
    model_list,
)
from antispoof.result_files import (
    FORMATS,
    ResultWriter,
    SegmentWriter,
    check_outputs,
    finished_paths,
)
from antispoof.training.device import select_device
from antispoof.zoo import ZOO

log = logging.getLogger("antispoof.detect")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model",
        default="aasist",
        help=f"{', '.join(ZOO)} (default aasist), an experiment directory, a .onnx file, or list",
    )
    parser.add_argument("--out", type=Path, help="write the rows here instead of stdout")
    parser.add_argument("--format", choices=FORMATS, default="tsv")
    parser.add_argument("--segments", type=Path, help="write every window's row here (TSV)")
    parser.add_argument("--resume", action="store_true", help="skip the files already in --out")
    parser.add_argument("--window", choices=WINDOW_MODES, default="all")
    parser.add_argument("--hop", type=float, help="seconds between windows (default: a window)")
    parser.add_argument("--aggregate", choices=tuple(AGGREGATES), default="median")
    parser.add_argument("--min_seconds", type=float, default=MIN_SECONDS)
    parser.add_argument(
        "--min_speech_seconds",
        type=float,
        default=MIN_SPEECH_SECONDS,
        help="speech a window needs (0: no speech check)",
    )
    parser.add_argument(
        "--batch_size", type=int, help="windows per forward pass (default: 4 on a CPU, 64 on a GPU)"
    )
    parser.add_argument(
        "--checkpoint", help="of an experiment: best (default), last, or a checkpoint path"
    )
    parser.add_argument("--weights", type=Path, help="a local copy of a published model")
    parser.add_argument("--ngpu", type=int, default=None, help="0: the CPU; default: a GPU if any")
    parser.add_argument(
        "--runtime", choices=RUNTIMES, default="torch", help="onnx: ONNX Runtime on the CPU"
    )
    parser.add_argument("inputs", nargs="*", metavar="FILE_OR_DIR")
    args = parser.parse_args(argv)
    if args.model.lower() == "list":
        print(model_list())
        return 0
    if not args.inputs:
        parser.error("give the files or folders to score")
    if args.resume and args.out is None:
        raise ValueError("--resume needs --out, the file whose rows it goes on from")
    inputs = collect_audio_files(args.inputs)
    for problem in inputs.problems:
        log.error("skipped: %s", problem)
    if not inputs.files and not inputs.problems:
        raise ValueError(f"no audio files to score in {', '.join(args.inputs)}")
    check_outputs({"--out": args.out, "--segments": args.segments}, inputs.files)
    files = inputs.files
    if args.resume:
        done = finished_paths(args.out, args.format)
        files = [path for path in files if path not in done]
        log.info("--resume: %d file(s) already in %s, %d to score", len(done), args.out, len(files))
    detector = load(
        args.model,
        checkpoint=args.checkpoint,
        weights=args.weights,
        device=select_device(args.ngpu),
        runtime=args.runtime,
        window=args.window,
        hop_seconds=args.hop,
        aggregate=args.aggregate,
        min_seconds=args.min_seconds,
        min_speech_seconds=args.min_speech_seconds or None,
        batch_size=args.batch_size,
    )
    log.info("model: %s", detector.info.description)
    log.info(
        "windows of %.3f s every %.3f s (%s), aggregate %s",
        detector.window_seconds,
        detector.hop_samples / detector.sample_rate,
        args.window,
        args.aggregate,
    )
    log.info("decision: %s", detector.rule.description)
    writer = ResultWriter(
        args.out,
        args.format,
        detector.metadata(),
        with_llr=detector.rule.calibration is not None,
        append=args.resume,
    )
    segments = None if args.segments is None else SegmentWriter(args.segments, args.resume)
    failures = list(inputs.problems)
    completed = False
    try:
        with logging_redirect_tqdm():
            progress = tqdm(
                total=len(files), desc="detect", unit="file", file=sys.stderr, disable=None
            )
            for result in detector.score_files(files):
                progress.update()
                if result.error is not None:
                    log.error("skipped: %s", result.error)
                    failures.append(result.error)
                    continue
                for warning in result.warnings:
                    log.warning("%s: %s", result.path, warning)
                if not math.isfinite(result.score):
                    raise ValueError(
                        f"{result.path}: the score is not finite: check the model (a diverged "
                        "checkpoint?)"
                    )
                writer.write(result)
                if segments is not None:
                    segments.write(result)
            progress.close()
        completed = True
    finally:
        writer.close(completed)
        if segments is not None:
            segments.close()
    if args.out is not None:
        log.info("wrote %s", args.out)
    if failures:
        log.error(
            "%d of %d input(s) could not be scored",
            len(failures),
            len(files) + len(inputs.problems),
        )
        return 1
    return 0


def cli() -> None:
    """The `antispoof-detect` console script."""
    run_main(main, "antispoof-detect")


if __name__ == "__main__":
    run_main(main, "detect")
