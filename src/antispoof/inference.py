"""Scoring whole recordings: the library behind `antispoof.load` and `detect`.

    import antispoof
    det = antispoof.load("aasist")              # a published model, an experiment directory,
                                                # or an exported .onnx file
    result = det.score(array, sample_rate)      # any rate, mono or (samples, channels)
    result.score, result.decision, result.llr   # the file's figures
    for segment in result.segments:             # the timeline: one per window
        segment.start, segment.end, segment.score, segment.decision
    for result in det.score_files(paths):       # results as each file finishes
        ...

**Windows.** A recording is cut into windows of the model's own length (64,600 samples for
AASIST; an experiment's `inference.segment_seconds`, by default its training crop) every `hop`
seconds (default: one window, so that every sample is scored once); where the audio left is
shorter than a window, the last window holds it repeat-padded, as the models' official
evaluations pad a short utterance (antispoof.data.stream). Each window is scored as an
utterance of its own, exactly as the official evaluations score the one window they take.
`window="first"` scores only the first window (the official single-window protocol that the
published AASIST figures use, and the Arena's), reading nothing after it.

**Speech checks.** Voice activity (silero-vad, antispoof.speech) is measured over every window.
A window with less than `min_speech_seconds` of speech gets the decision `no-speech` and no say
in the file's score; a recording without such speech in any window is `no-speech`, and one
shorter than `min_seconds` is `too-short`: a model fed a tile of a fraction of a second, or of
silence, still returns a score, and it means nothing. Both come with a warning.

**The file's score** is the `aggregate` of its speech windows' scores:
- `median` (default): the file's decision follows the majority of its windows: a recording
  whose windows are mostly spoof comes out spoof; a single fake window among many genuine ones
  does not change the file's decision (look at the segments, or use `min`);
- `mean`: the average, as stage 4 averages segments;
- `min`: the most spoof-like window: one fake window makes the file spoof; more false alarms on
  long genuine recordings.
The decision of the file and of each window follows the model's decision rule
(antispoof.decision) on the aggregated score (and log-odds, for a classifier's own decision).
"""

from __future__ import annotations

import hashlib
import logging
import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.data.audio import AudioError
from antispoof.decision import DecisionRule

log = logging.getLogger(__name__)

NO_SPEECH = "no-speech"
TOO_SHORT = "too-short"
WINDOW_MODES = ("all", "first")
AGGREGATES: dict[str, Callable[[Sequence[float]], float]] = {
    "median": statistics.median,
    "mean": statistics.fmean,
    "min": min,
}
# Defaults, each a setting of `load` and a `detect` option.
MIN_SECONDS = 0.5  # below this a recording is `too-short`: too little to score, padded or not
MIN_SPEECH_SECONDS = 0.5  # a window (or recording) with less speech is `no-speech`
# Windows per forward pass. On a CPU the published AASIST's peak resident memory in `detect`
# (torch's ~0.7 GB included) was 1.25 GB at 4, 1.77 GB at 8 and 2.86 GB at 16 windows, at the
# same files/s within 4 % (benchmarks/detect_scale.py, 2 threads): 4 keeps a laptop under 2 GB.
BATCH_SIZE = {"cpu": 4, "cuda": 64}
RUNTIMES = ("torch", "onnx")
ONNX_SUFFIX = ".onnx"


@dataclass(frozen=True)
class Segment:
    """One window of a recording: where it lies (seconds) and what it scored."""

    start: float
    end: float
    score: float
    decision: str | None  # bonafide | spoof | no-speech | None (the model has no rule)
    llr: float | None = None  # with a calibration
    speech: float | None = None  # seconds of speech in it (None: not checked)


@dataclass
class Result:
    """A recording's figures: `score` (higher = more bona fide), `decision`, `llr` (with a
    calibration), `segments` (the window timeline); `error` when it could not be read."""

    path: str | None
    score: float | None
    decision: str | None  # bonafide | spoof | no-speech | too-short | None (no rule, or error)
    llr: float | None
    segments: list[Segment]
    duration: float | None = None
    speech: float | None = None  # seconds of speech in the recording
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        if self.error is None:
            del record["error"]
        return record


@dataclass(frozen=True)
class ScoringSettings:
    """How `antispoof.load` scores a recording (see the module doc)."""

    window: str = "all"
    hop_seconds: float | None = None  # None: one window
    aggregate: str = "median"
    min_seconds: float = MIN_SECONDS
    min_speech_seconds: float | None = MIN_SPEECH_SECONDS  # None: no speech check
    batch_size: int | None = None  # None: BATCH_SIZE of the device

    def __post_init__(self) -> None:
        if self.window not in WINDOW_MODES:
            raise ValueError(
                f"window must be one of {', '.join(WINDOW_MODES)}, not {self.window!r}"
            )
        if self.aggregate not in AGGREGATES:
            raise ValueError(
                f"aggregate must be one of {', '.join(AGGREGATES)}, not {self.aggregate!r}"
            )
        for name in ("hop_seconds", "batch_size"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive, not {value}")
        for name in ("min_seconds", "min_speech_seconds"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, not {value}")


class WindowScorer:
    """Scores `(B, W)` float32 windows: `(scores, log_odds)`, log-odds None where the model
    has no decision of its own. Implemented by the torch detector and the ONNX runtime."""

    natural_decision: bool
    sample_rate: int
    window_samples: int

    def __call__(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError


@dataclass(frozen=True)
class ModelInfo:
    """What made the scores, as JSON output records it."""

    name: str  # a published name, an experiment directory or an exported file
    description: str
    weights: str  # the weights' file
    weights_sha256: str
    card: dict[str, Any] | None = None  # a published model's card


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class SpoofDetector:
    """A model ready to score recordings; made by `antispoof.load`."""

    def __init__(
        self,
        scorer: WindowScorer,
        rule: DecisionRule,
        info: ModelInfo,
        settings: ScoringSettings,
        batch_size: int,
    ) -> None:
        self.scorer = scorer
        self.rule = rule
        self.info = info
        self.settings = settings
        self.batch_size = batch_size
        self.sample_rate = scorer.sample_rate
        self.window_samples = scorer.window_samples
        hop = settings.hop_seconds
        self.hop_samples = self.window_samples if hop is None else round(hop * self.sample_rate)
        if self.hop_samples < 1:
            raise ValueError(f"hop_seconds {hop} is shorter than one sample")
        self._speech = None
        if settings.min_speech_seconds is not None:
            from antispoof.speech import SpeechDetector

            self._speech = SpeechDetector()

    @property
    def window_seconds(self) -> float:
        return self.window_samples / self.sample_rate

    def metadata(self) -> dict[str, Any]:
        """The model and the scoring rules, as JSON and JSONL output record them."""
        return {
            "model": self.info.name,
            "weights_sha256": self.info.weights_sha256,
            "window": self.settings.window,
            "window_seconds": self.window_seconds,
            "hop_seconds": self.hop_samples / self.sample_rate,
            "aggregate": self.settings.aggregate,
            "min_seconds": self.settings.min_seconds,
            "min_speech_seconds": self.settings.min_speech_seconds,
            "decision_rule": self.rule.record(),
        }

    def score(self, waveform: np.ndarray, sample_rate: int) -> Result:
        """A recording held in memory: `(samples,)` or `(samples, channels)`, any rate; an
        empty or non-finite one raises AudioError."""
        result = next(self._score_sources([(None, lambda: ArrayAudio(waveform, sample_rate))]))
        if result.error is not None:
            raise AudioError(result.error)
        return result

    def score_file(self, path: str | Path) -> Result:
        """One file; an unreadable one raises AudioError."""
        result = next(self.score_files([path]))
        if result.error is not None:
            raise AudioError(result.error)
        return result

    def score_files(self, paths: Iterable[str | Path]) -> Iterator[Result]:
        """Each file's Result, in order, as soon as it is scored; a file that cannot be read
        gives a Result with `error` set (the others go on). Windows of consecutive files share
        forward passes of `batch_size` windows; memory stays flat in the number of files and
        in their length."""
        from antispoof.data.stream import open_audio

        sources = ((str(path), lambda path=path: open_audio(path)) for path in paths)
        yield from self._score_sources(sources)

    # The pipeline: recordings -> windows (with their speech) -> batches -> results in order.

    def _score_sources(
        self, sources: Iterable[tuple[str | None, Callable[[], Any]]]
    ) -> Iterator[Result]:
        pending: list[_Recording] = []  # recordings whose windows are not all scored yet
        batch: list[tuple[_Recording, int, np.ndarray]] = []
        for path, opener in sources:
            recording = _Recording(path)
            pending.append(recording)
            try:
                for index, samples in self._windows(recording, opener):
                    batch.append((recording, index, samples))
                    if len(batch) == self.batch_size:
                        self._run(batch)
                        batch = []
            except AudioError as err:
                recording.error = str(err)
            recording.read = True
            if recording.error is not None:
                # Its windows already in the batch are scored for nothing: drop them.
                batch = [item for item in batch if item[0] is not recording]
            while pending and pending[0].done:
                yield self._finish(pending.pop(0))
        if batch:
            self._run(batch)
        while pending:
            yield self._finish(pending.pop(0))

    def _windows(
        self, recording: _Recording, opener: Callable[[], Any]
    ) -> Iterator[tuple[int, np.ndarray]]:
        audio = opener()
        recording.duration = audio.duration
        recording.changes = audio.changes(self.sample_rate)
        if self.settings.window == "first":
            recording.spans.append((0.0, min(audio.duration, self.window_seconds)))
            samples = audio.first_window(self.sample_rate, self.window_samples)
            if self._speech is not None:
                recording.activity = self._speech.activity(
                    samples[: audio.samples_at(self.sample_rate)]
                )
            yield 0, samples
            return
        blocks = audio.blocks(self.sample_rate)
        tracker = None
        if self._speech is not None:
            tracker = self._speech.tracker()
            blocks = tracker.follow(blocks)
        from antispoof.data.stream import cut_windows

        for window in cut_windows(blocks, self.window_samples, self.hop_samples, self.sample_rate):
            recording.spans.append((window.start_s, window.end_s))
            yield window.index, window.samples
        if tracker is not None:
            recording.activity = tracker.finish()

    def _run(self, batch: list[tuple[_Recording, int, np.ndarray]]) -> None:
        scores, log_odds = self.scorer(np.stack([samples for _, _, samples in batch]))
        for row, (recording, index, _) in enumerate(batch):
            recording.scores[index] = float(scores[row])
            if log_odds is not None:
                recording.log_odds[index] = float(log_odds[row])

    def _finish(self, recording: _Recording) -> Result:
        if recording.error is not None:
            return Result(
                recording.path, None, None, None, [], recording.duration, error=recording.error
            )
        warnings = list(recording.changes)
        activity = recording.activity
        segments = []
        kept_scores, kept_odds = [], []
        for index, (start, end) in enumerate(recording.spans):
            score = recording.scores[index]
            odds = recording.log_odds.get(index)
            speech = None if activity is None else activity.speech_seconds(start, end)
            if speech is not None and speech < self.settings.min_speech_seconds:
                decision = NO_SPEECH
            else:
                decision = self.rule.decide(score, odds)
                kept_scores.append(score)
                if odds is not None:
                    kept_odds.append(odds)
            segments.append(Segment(start, end, score, decision, self.rule.llr(score), speech))
        aggregate = AGGREGATES[self.settings.aggregate]
        all_scores = [recording.scores[i] for i in range(len(recording.spans))]
        score = aggregate(kept_scores or all_scores)
        odds = aggregate(kept_odds) if kept_odds else None
        if recording.duration is not None and recording.duration < self.settings.min_seconds:
            decision = TOO_SHORT
            warnings.append(
                f"{recording.duration:.3f} s is shorter than {self.settings.min_seconds:g} s: "
                "too short to score (min_seconds); the score is of the audio repeat-padded"
            )
        elif not kept_scores:
            decision = NO_SPEECH
            warnings.append(
                f"no window holds {self.settings.min_speech_seconds:g} s of speech "
                "(min_speech_seconds): the score is not a verdict on a voice"
            )
        else:
            decision = self.rule.decide(score, odds if self.rule.uses_log_odds else None)
        speech = None if activity is None else activity.total_seconds
        return Result(
            recording.path,
            score,
            decision,
            self.rule.llr(score),
            segments,
            recording.duration,
            speech,
            warnings,
        )


class ArrayAudio:
    """A recording held in memory, with the reading interface of antispoof.data.stream's
    AudioFile (channels averaged, resampled as a file is)."""

    def __init__(self, waveform: np.ndarray, sample_rate: int) -> None:
        samples = np.asarray(waveform, dtype=np.float32)
        if samples.ndim == 1:
            samples = samples[:, None]
        if samples.ndim != 2 or samples.shape[0] == 0:
            raise AudioError(
                f"a waveform must be (samples,) or (samples, channels) with samples > 0, not "
                f"{np.shape(waveform)}"
            )
        if not np.isfinite(samples).all():
            raise AudioError("the waveform holds non-finite samples (NaN or inf)")
        if sample_rate <= 0:
            raise AudioError(f"sample_rate must be positive, not {sample_rate}")
        self.channels = samples.shape[1]
        self.mono = samples.mean(axis=1, dtype=np.float32) if self.channels > 1 else samples[:, 0]
        self.sample_rate = int(sample_rate)
        self.duration = len(self.mono) / self.sample_rate

    def changes(self, sample_rate: int) -> list[str]:
        changes = []
        if self.channels > 1:
            changes.append(f"{self.channels} channels averaged to mono")
        if self.sample_rate != sample_rate:
            changes.append(f"resampled from {self.sample_rate} Hz to {sample_rate} Hz")
        return changes

    def samples_at(self, sample_rate: int) -> int:
        from antispoof.data.stream import resampled_length

        return resampled_length(len(self.mono), self.sample_rate, sample_rate)

    def blocks(self, sample_rate: int) -> Iterator[np.ndarray]:
        from antispoof.data.stream import resample_blocks

        return resample_blocks([self.mono], self.sample_rate, sample_rate)

    def first_window(self, sample_rate: int, window: int) -> np.ndarray:
        from antispoof.data.stream import repeat_pad

        return repeat_pad(np.concatenate(list(self.blocks(sample_rate))), window)


@dataclass
class _Recording:
    """A recording in the pipeline: its windows' spans and, as batches run, their scores."""

    path: str | None
    duration: float | None = None
    changes: list[str] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)
    log_odds: dict[int, float] = field(default_factory=dict)
    activity: Any = None
    error: str | None = None
    read: bool = False

    @property
    def done(self) -> bool:
        return self.read and (self.error is not None or len(self.scores) == len(self.spans))


class TorchWindowScorer(WindowScorer):
    """A Detector scoring windows on a device: each window an utterance of its own (its
    branches computed on the window alone, the crop the whole window); the backbone in the
    config's precision, the scores in float32 (Detector.embed)."""

    def __init__(
        self,
        detector: Any,
        config: dict[str, Any],
        device: Any,
        window_samples: int | None = None,
    ) -> None:
        """`window_samples`: the window (default: the experiment's scoring window)."""
        self.detector = detector.eval()
        self.device = device
        self.natural_decision = detector.natural_decision
        self.sample_rate = next(iter(detector.specs.values())).sample_rate
        seconds = config["inference"]["segment_seconds"]
        if window_samples is not None:
            seconds = window_samples / self.sample_rate
        self.plan = detector.crop_plan(seconds)
        self.window_samples = self.plan.samples

    def __call__(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        import torch

        from antispoof.data.batch import Batch
        from antispoof.labels import BONAFIDE, one_hot

        count, samples = windows.shape
        batch = Batch(
            utts=[""] * count,
            wav=torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)),
            lengths=torch.full((count,), samples, dtype=torch.long),
            offsets=torch.zeros(count, dtype=torch.long),
            crop_samples=samples,
            frames={name: self.plan.frames(name) for name in self.plan.specs},
            target=one_hot(torch.full((count,), BONAFIDE, dtype=torch.long)),
        ).to(self.device)
        with torch.no_grad():
            embeddings = self.detector.embed(batch)
            scores = self.detector.score_embeddings(embeddings).double().cpu().numpy()
            odds = None
            if self.natural_decision:
                odds = self.detector.log_odds_embeddings(embeddings).double().cpu().numpy()
        return scores, odds


@dataclass(frozen=True)
class LoadedModel:
    """A model in torch, as `load_model` finds it: its resolved config, the Detector (eval
    mode), what it is, and its decision rule (antispoof.decision)."""

    config: dict[str, Any]
    detector: Any  # antispoof.detector.Detector; not imported at module level (torch-free)
    info: ModelInfo
    rule: DecisionRule


def load_model(
    model: str | Path,
    *,
    checkpoint: str | None = None,
    weights: str | Path | None = None,
    device: Any = "cpu",
) -> LoadedModel:
    """A published model by name (any case) or an experiment directory, in torch on `device`,
    with its decision rule: what `load` scores with and what `export` exports."""
    import torch

    from antispoof.decision import decision_rule
    from antispoof.experiment import checkpoint_path, is_experiment, load_detector
    from antispoof.zoo import ZOO, load_zoo, zoo_model

    device = torch.device(device)
    spec = str(model)
    path = Path(spec)
    name = spec.lower()
    if is_experiment(path):
        if weights is not None:
            raise ValueError("weights are a published model's; the model given is an experiment")
        checkpoint = checkpoint or "best"
        config, detector = load_detector(path, checkpoint, device)
        file = checkpoint_path(path, checkpoint)
        rule = decision_rule(path, file, config, detector.natural_decision)
        info = ModelInfo(str(path), f"experiment {path} ({file})", str(file), sha256_of(file))
        return LoadedModel(config, detector.eval(), info, rule)
    if name in ZOO:
        if checkpoint is not None:
            raise ValueError(f"checkpoint is an experiment's; {spec} has one set of weights")
        config, detector, origin = load_zoo(
            name, None if weights is None else Path(weights), device
        )
        rule = decision_rule(None, None, config, detector.natural_decision)
        weights_file = Path(origin["weights"])
        card = zoo_model(name).card
        info = ModelInfo(
            card.name,
            f"published {card.title} ({weights_file}, {origin['found_in']})",
            str(weights_file),
            sha256_of(weights_file),
            card=origin,
        )
        return LoadedModel(config, detector.eval(), info, rule)
    if path.is_dir():
        raise ValueError(f"{spec}: a directory without config.yaml is no experiment")
    raise ValueError(
        f"{spec}: neither an experiment directory, a published model "
        f"({', '.join(ZOO)}; `detect --model list` shows their cards) nor an exported "
        f"{ONNX_SUFFIX} file"
    )


def load(
    model: str | Path = "aasist",
    *,
    checkpoint: str | None = None,
    weights: str | Path | None = None,
    device: Any = None,
    runtime: str = "torch",
    window: str = "all",
    hop_seconds: float | None = None,
    aggregate: str = "median",
    min_seconds: float = MIN_SECONDS,
    min_speech_seconds: float | None = MIN_SPEECH_SECONDS,
    batch_size: int | None = None,
) -> SpoofDetector:
    """A detector ready to score recordings (see the module doc).

    `model`: a published model by name (case-insensitive: `aasist`, `aasist-l` and the zoo's,
    antispoof.zoo; `detect --model list`), or an experiment directory (its `config.yaml` and
    `checkpoints/<checkpoint>.pt`, default best), or an exported ONNX file (`python -m
    antispoof.bin.export`; it runs in ONNX Runtime). `weights`: a local copy of a published
    model's weights. `device`: a torch device or its name (default: a GPU if any).
    `runtime`: `torch`, or `onnx`: the model exported once to ONNX (kept under
    `$ANTISPOOF_CACHE/onnx/`, keyed by its config, weights and window) and run in ONNX Runtime
    on the CPU, with as many threads as torch uses; the rows are torch's within the export's
    tolerance (antispoof.export.TOLERANCE). The other settings are ScoringSettings'.
    """
    import torch

    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    settings = ScoringSettings(
        window, hop_seconds, aggregate, min_seconds, min_speech_seconds, batch_size
    )
    path = Path(str(model))
    if path.suffix.lower() == ONNX_SUFFIX and not path.is_dir():
        if checkpoint is not None or weights is not None:
            raise ValueError(f"{path}: an exported file holds its weights; no checkpoint/weights")
        scorer = OnnxWindowScorer(path)
        rule = scorer.rule()
        info = ModelInfo(
            str(path),
            f"exported {path} (of {scorer.onnx.metadata.get('model', '?')}), ONNX Runtime",
            str(path),
            sha256_of(path),
            card=_zoo_card_of(scorer.onnx.metadata.get("model")),
        )
        return SpoofDetector(scorer, rule, info, settings, batch_size or BATCH_SIZE["cpu"])
    if device is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if runtime == "onnx":
        device = torch.device("cpu")  # export runs the model on the CPU; so does the runtime
    loaded = load_model(model, checkpoint=checkpoint, weights=weights, device=device)
    if runtime == "onnx":
        from antispoof.export import exported_onnx

        exported = exported_onnx(loaded.config, loaded.detector, str(model), loaded.rule)
        scorer: WindowScorer = OnnxWindowScorer(exported)
        info = ModelInfo(
            loaded.info.name,
            f"{loaded.info.description}, exported to {exported}, ONNX Runtime",
            loaded.info.weights,
            loaded.info.weights_sha256,
            card=loaded.info.card,
        )
        return SpoofDetector(scorer, loaded.rule, info, settings, batch_size or BATCH_SIZE["cpu"])
    scorer = TorchWindowScorer(loaded.detector, loaded.config, device)
    size = batch_size or BATCH_SIZE["cuda" if device.type == "cuda" else "cpu"]
    return SpoofDetector(scorer, loaded.rule, loaded.info, settings, size)


def _zoo_card_of(model: str | None) -> dict[str, Any] | None:
    """The card record of a published model that an exported file names, if it names one."""
    from antispoof.zoo import ZOO

    if model is None or model.lower() not in ZOO:
        return None
    return {"name": model.lower()}


class OnnxWindowScorer(WindowScorer):
    """An exported ONNX file scoring windows in ONNX Runtime (antispoof.export.OnnxDetector), on
    the CPU with torch's number of threads."""

    def __init__(self, path: Path) -> None:
        import torch

        from antispoof.export import LOG_ODDS, OnnxDetector

        self.onnx = OnnxDetector(path, threads=torch.get_num_threads())
        self.sample_rate = self.onnx.sample_rate
        self.window_samples = self.onnx.window_samples
        self.natural_decision = LOG_ODDS in self.onnx.outputs

    def rule(self) -> DecisionRule:
        """The decision rule the file records, else the one its config gives a published
        model (the classifier's own, where it has one)."""
        from antispoof.decision import decision_rule

        if self.onnx.rule is not None:
            return self.onnx.rule
        return decision_rule(None, None, self.onnx.config, self.natural_decision)

    def __call__(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        from antispoof.export import LOG_ODDS, SCORE

        outputs = self.onnx.score_windows(windows)
        odds = outputs.get(LOG_ODDS)
        return (
            outputs[SCORE].astype(np.float64),
            None if odds is None else odds.astype(np.float64),
        )


def model_list() -> str:
    """Every published model by name with its card (`detect --model list`)."""
    from antispoof.zoo import ZOO

    return "\n\n".join(card_text(name) for name in ZOO)


def card_text(name: str) -> str:
    """A published model's card as text: what it is, what it was trained on, its licence and
    window, and its published figures with their protocol and source."""
    from antispoof.zoo import render_card, zoo_model

    return render_card(zoo_model(name).card)
