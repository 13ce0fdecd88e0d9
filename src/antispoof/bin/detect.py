"""Score audio files with a trained experiment or a published model: one line per file.

Usage:
    python -m antispoof.bin.detect --model <published name | exp dir> [--out FILE] \
        [--format tsv|json] [--checkpoint best|last|PATH] [--weights FILE] [--ngpu N] \
        FILE_OR_DIR...

    python -m antispoof.bin.detect --model aasist some.wav
    antispoof-detect --model exp/<tag> --format json --out scores.json recordings/

--model: an experiment directory (its config.yaml and checkpoints/<--checkpoint>.pt), or a
published model by name: aasist, aasist-l (the official AASIST weights; antispoof.published:
--weights FILE gives a local copy, else the package's copy is used, else the cache, else the
official URL). An existing directory holding a config.yaml wins over a name.

Input: any file soundfile reads (WAV including float, FLAC, Ogg, MP3, ...), at any sample rate
(resampled to the model's, logged once per file) and with any number of channels (averaged to
mono, logged). A folder is walked recursively, in sorted order, for files with the extensions
of those formats; a file named on the command line is read whatever its extension. A file
shorter than the model's window is repeat-padded, as in training; a longer one is scored as the
experiment's `inference` block says: the mean over windows (`segments`), the whole file in one
pass (`full`), or only its first window (`first`: the published AASIST models, as their
official evaluation does; the rest of the file is not looked at).

Output (stdout, or the file --out): `path<TAB>score<TAB>decision`, one line per file in the
order given (folders sorted), the score higher for more bona fide; where the experiment has a
calibration (calibration.json), the log-likelihood ratio follows as a fourth column.
--format json: a list of {"path", "score", "decision"[, "llr"]} objects.

The decision (bonafide | spoof) follows the first of these rules that applies, logged at the
start:
  1. the experiment has a calibration: its calibrated decision;
  2. <exp>/dev/metrics.json holds the dev EER threshold of this checkpoint and config (stage 5
     on the dev set, its scores' marker current): bonafide when the score is above it;
  3. the model scores with a softmax output layer (the published models; softmax experiments):
     the classifier's own decision, bonafide when the bona fide logit >= the spoof logit (over
     several segments: when their mean log-odds is >= 0);
  4. none of these (an uncalibrated OC-Softmax experiment, say): no decision, `-` (JSON null).

A file that cannot be read (missing, corrupt, empty, non-finite) is reported on stderr with the
reason and skipped; the other files are scored, and the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from antispoof.bin._cli import run_main
from antispoof.data.audio import AudioError
from antispoof.data.batch import Batch
from antispoof.detector import Detector, checkpoint_path, load_detector
from antispoof.evaluation.calibration import Calibration, load_calibration
from antispoof.labels import BONAFIDE, BONAFIDE_NAME, SPOOF, SPOOF_NAME
from antispoof.losses.softmax import Softmax
from antispoof.losses.sum import Sum
from antispoof.markers import file_digest, read_config, read_marker, settings_digest
from antispoof.published import PUBLISHED, load_published
from antispoof.scoring import SegmentOutputs, detector_score, read_any_audio, score_waveforms
from antispoof.training.device import select_device

log = logging.getLogger("antispoof.detect")

# Audio held in memory at once, in seconds at the model's rate: files are read and scored in
# chunks of about this much, so that a folder of any size fits.
CHUNK_SECONDS = 1200.0
# File extensions of soundfile's formats (libsndfile's names); RAW is left out: a headerless
# file cannot be read without being told its rate and encoding.
FORMAT_EXTENSIONS = {
    "AIFF": ("aiff", "aif", "aifc"),
    "AU": ("au", "snd"),
    "AVR": ("avr",),
    "CAF": ("caf",),
    "FLAC": ("flac",),
    "HTK": ("htk",),
    "IRCAM": ("sf",),
    "MAT4": ("mat",),
    "MAT5": ("mat",),
    "MP3": ("mp3",),
    "MPC2K": ("mpc",),
    "NIST": ("nist", "sph"),
    "OGG": ("ogg", "oga", "opus"),
    "PAF": ("paf",),
    "PVF": ("pvf",),
    "RF64": ("rf64",),
    "SD2": ("sd2",),
    "SDS": ("sds",),
    "SVX": ("svx", "8svx"),
    "VOC": ("voc",),
    "W64": ("w64",),
    "WAV": ("wav",),
    "WAVEX": ("wav",),
    "WVE": ("wve",),
    "XI": ("xi",),
}
NO_DECISION = "-"


def audio_extensions() -> set[str]:
    """Extensions of the formats this soundfile reads."""
    return {
        extension
        for name in soundfile.available_formats()
        for extension in FORMAT_EXTENSIONS.get(name, ())
    }


def collect_files(arguments: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The files to score, in order (each folder walked recursively, sorted; every file once),
    and `(path, message)` of the arguments that are neither a file nor a folder."""
    extensions = audio_extensions()
    files: dict[str, None] = {}
    missing = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(
                str(child)
                for child in path.rglob("*")
                if child.is_file() and child.suffix[1:].lower() in extensions
            )
            if not found:
                listed = ", ".join(sorted(extensions))
                log.warning("%s holds no audio files (extensions: %s)", path, listed)
            files.update(dict.fromkeys(found))
        elif path.is_file():
            files[argument] = None
        else:
            missing.append((argument, f"{argument}: no such file or folder"))
    return list(files), missing


@dataclass
class Model:
    """A detector with what its decisions depend on."""

    description: str
    config: dict[str, Any]
    detector: Detector
    exp_dir: Path | None  # None for a published model
    checkpoint: Path | None


def load_model(
    spec: str, checkpoint: str | None, weights: Path | None, device: torch.device
) -> Model:
    """An experiment directory, or a published model by name (see the Usage)."""
    path = Path(spec)
    if (path / "config.yaml").is_file():
        if weights is not None:
            raise ValueError("--weights is for a published model; --model names an experiment")
        checkpoint = checkpoint or "best"
        config, detector = load_detector(path, checkpoint, device)
        file = checkpoint_path(path, checkpoint)
        return Model(f"experiment {path} ({file})", config, detector, path, file)
    if spec in PUBLISHED:
        if checkpoint is not None:
            raise ValueError(f"--checkpoint is for an experiment; {spec} has one set of weights")
        model = PUBLISHED[spec]
        config, detector, origin = load_published(model, weights, device)
        where = f"{origin['weights']}, {origin['found_in']}"
        return Model(f"published {model.title} ({where})", config, detector, None, None)
    if path.is_dir():
        raise ValueError(f"--model {spec}: a directory without config.yaml is no experiment")
    raise ValueError(
        f"--model {spec}: neither an experiment directory nor a published model "
        f"({', '.join(PUBLISHED)})"
    )


def scoring_softmax(detector: Detector) -> Softmax | None:
    """The softmax output layer the detector scores with, if it scores with one."""
    loss = detector.loss
    if isinstance(loss, Sum):
        loss = loss.terms[loss.scorer]
    return loss if isinstance(loss, Softmax) else None


@dataclass
class DecisionRule:
    """How scores become decisions (rules 1-4 of the Usage) and, calibrated, LLRs."""

    description: str
    calibration: Calibration | None = None
    threshold: float | None = None  # the dev EER threshold
    softmax: Softmax | None = None  # the output layer whose own decision is taken

    @property
    def outputs(self) -> SegmentOutputs:
        """What the scoring pass averages over segments: the score, and the log-odds that the
        classifier's own decision needs."""
        softmax = self.softmax
        if softmax is None:
            return detector_score

        def score_and_log_odds(detector: Detector, batch: Batch) -> torch.Tensor:
            """`(B, 2)`: each segment's score and log-odds `logit_bonafide - logit_spoof`, from
            one pass of the model."""
            embeddings = detector.embed(batch)  # float32; so are the heads (no autocast here)
            logits = softmax.logits(embeddings)
            log_odds = logits[:, BONAFIDE] - logits[:, SPOOF]
            return torch.stack([detector.score_embeddings(embeddings), log_odds], dim=1)

        return score_and_log_odds

    def apply(self, means: torch.Tensor) -> tuple[list[str | None], list[float] | None]:
        """Decisions and LLRs (None without a calibration) of `(U, K)` segment means."""
        scores = means[:, 0].numpy()
        llrs = None
        if self.calibration is not None:
            decided = np.asarray(self.calibration.decide(scores), dtype=bool)
            llrs = [float(x) for x in np.asarray(self.calibration.llr(scores))]
        elif self.threshold is not None:
            decided = scores > self.threshold
        elif self.softmax is not None:
            decided = means[:, 1].numpy() >= 0
        else:
            return [None] * len(scores), None
        return [BONAFIDE_NAME if bona else SPOOF_NAME for bona in decided], llrs


def decision_rule(model: Model) -> DecisionRule:
    if model.exp_dir is not None:
        calibration = load_calibration(model.exp_dir)
        if calibration is not None:
            return DecisionRule(
                f"calibrated ({model.exp_dir / 'calibration.json'}); the LLR follows",
                calibration=calibration,
            )
        threshold = dev_eer_threshold(model.exp_dir, model.checkpoint)
        if threshold is not None:
            return DecisionRule(
                f"not calibrated: bonafide when score > {threshold:.6g}, the dev EER threshold "
                f"({model.exp_dir / 'dev/metrics.json'})",
                threshold=threshold,
            )
    softmax = scoring_softmax(model.detector)
    if softmax is not None:
        return DecisionRule(
            "not calibrated: the classifier's own decision, bonafide when its bona fide logit "
            ">= its spoof logit (mean log-odds >= 0 over segments)",
            softmax=softmax,
        )
    return DecisionRule(
        f"none: {model.exp_dir} has no calibration.json and no current dev EER threshold, and "
        f"its loss ({model.config['loss']}) has no natural decision boundary; the decision "
        f"column holds '{NO_DECISION}' (run stage 5 on the dev set to get a threshold)"
    )


def dev_eer_threshold(exp_dir: Path, checkpoint: Path | None) -> float | None:
    """The EER threshold of the dev set's metrics.json when its scores are of this checkpoint
    and config (the stage-4 marker's record), else None."""
    metrics = exp_dir / "dev" / "metrics.json"
    record = read_marker(exp_dir / "dev" / ".done.score")
    if not metrics.is_file() or record is None or checkpoint is None:
        return None
    current = {
        "config": settings_digest(read_config(exp_dir / "config.yaml")),
        "checkpoint": file_digest(checkpoint),
    }
    if any(record.get(name) != digest for name, digest in current.items()):
        log.info("%s belongs to another checkpoint or config: not used", metrics)
        return None
    return float(json.loads(metrics.read_text(encoding="utf-8"))["eer_threshold"])


def describe_inference(config: dict[str, Any]) -> str:
    """How the experiment's `inference` block scores a file, in words."""
    inference = config["inference"]
    if inference["mode"] == "full":
        return "each file whole, in one pass"
    seconds = inference["segment_seconds"] or config["train"]["crop_seconds"]
    if inference["mode"] == "first":
        return f"the first {seconds:g} s of each file only (a shorter file repeat-padded)"
    hop = inference["segment_hop_seconds"] or seconds / 2
    return (
        f"windows of {seconds:g} s every {hop:g} s, their scores averaged (a shorter file: "
        "one window, repeat-padded)"
    )


@dataclass
class Row:
    path: str
    score: float
    decision: str | None
    llr: float | None


def chunks(
    files: list[str], sample_rate: int, failures: list[tuple[str, str]]
) -> Iterator[dict[str, np.ndarray]]:
    """The readable files as `{path: waveform}` chunks of about CHUNK_SECONDS of audio; each
    unreadable file is logged and added to `failures`."""
    chunk: dict[str, np.ndarray] = {}
    held = 0
    # The progress bar shows on a terminal only (disable=None), not in a log file.
    for path in tqdm(files, desc="detect", unit="file", file=sys.stderr, disable=None):
        try:
            wav, changes = read_any_audio(path, sample_rate)
        except AudioError as err:  # its message names the file
            log.error("skipped: %s", err)
            failures.append((path, str(err)))
            continue
        if changes:
            log.info("%s: %s", path, "; ".join(changes))
        chunk[path] = wav
        held += len(wav)
        if held >= CHUNK_SECONDS * sample_rate:
            yield chunk
            chunk, held = {}, 0
    if chunk:
        yield chunk


def detect(
    model: Model, files: list[str], device: torch.device, failures: list[tuple[str, str]]
) -> tuple[list[Row], bool]:
    """A row per readable file, and whether the rows carry LLRs."""
    rule = decision_rule(model)
    log.info("model: %s", model.description)
    log.info("inference: %s", describe_inference(model.config))
    log.info("decision: %s", rule.description)
    sample_rate = next(iter(model.detector.specs.values())).sample_rate
    rows = []
    for chunk in chunks(files, sample_rate, failures):
        means = score_waveforms(
            model.detector,
            chunk,
            model.config["inference"],
            model.config["train"]["crop_seconds"],
            device,
            outputs=rule.outputs,
        )
        decisions, llrs = rule.apply(means)
        for index, path in enumerate(chunk):
            llr = None if llrs is None else llrs[index]
            rows.append(Row(path, float(means[index, 0]), decisions[index], llr))
    return rows, rule.calibration is not None


def format_rows(rows: list[Row], output_format: str, with_llr: bool) -> str:
    if output_format == "json":
        objects = []
        for row in rows:
            item: dict[str, Any] = {"path": row.path, "score": row.score, "decision": row.decision}
            if with_llr:
                item["llr"] = row.llr
            objects.append(item)
        return json.dumps(objects, indent=2) + "\n"
    lines = []
    for row in rows:
        fields = [row.path, f"{row.score:.6f}", row.decision or NO_DECISION]
        if with_llr:
            fields.append(f"{row.llr:.6f}")
        lines.append("\t".join(fields) + "\n")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", required=True, help=f"an experiment directory or {', '.join(PUBLISHED)}"
    )
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    parser.add_argument("--format", choices=("tsv", "json"), default="tsv")
    parser.add_argument(
        "--checkpoint", help="of an experiment: best (default), last, or a checkpoint path"
    )
    parser.add_argument("--weights", type=Path, help="a local copy of a published model")
    parser.add_argument("--ngpu", type=int, default=None, help="0: the CPU; default: a GPU if any")
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR")
    args = parser.parse_args(argv)
    files, missing = collect_files(args.inputs)
    for _, message in missing:
        log.error("skipped: %s", message)
    if not files and not missing:
        raise ValueError(f"no audio files to score in {', '.join(args.inputs)}")
    device = select_device(args.ngpu)
    model = load_model(args.model, args.checkpoint, args.weights, device)
    failures = list(missing)
    with logging_redirect_tqdm():
        rows, with_llr = detect(model, files, device, failures)
    not_finite = [row.path for row in rows if not math.isfinite(row.score)]
    if not_finite:
        raise ValueError(
            f"{len(not_finite)} score(s) are not finite, e.g. {', '.join(not_finite[:3])}: "
            "check the model (a diverged checkpoint?); nothing was written"
        )
    text = format_rows(rows, args.format, with_llr)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(f".{args.out.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, args.out)
        log.info("wrote %d rows to %s", len(rows), args.out)
    if failures:
        log.error(
            "%d of %d input(s) could not be scored: %s",
            len(failures),
            len(files) + len(missing),
            ", ".join(path for path, _ in failures),
        )
        return 1
    return 0


def cli() -> None:
    """The `antispoof-detect` console script."""
    run_main(main, "antispoof-detect")


if __name__ == "__main__":
    run_main(main, "detect")
