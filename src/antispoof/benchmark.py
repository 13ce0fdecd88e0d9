"""The benchmark: one model scored on every prepared evaluation corpus, in one Markdown table.

`CORPORA` declares, once, what is benchmarked: each corpus (named as its recipe,
`egs/<name>/`), the evaluation sets its stage 1 prepares under `egs/<name>/data/`, and the sets
of the mini corpus's replica of it under `egs/mini/data/` (`--replicas mini`, for tests and CI).
A set that is not prepared is listed as such, with the command that prepares it.

Each scored set gets two rows' worth of figures (antispoof.arena): the **official** protocol
(the model's own scoring, the official subset of a key that has one) and the Speech
Anti-Spoofing **Arena**'s (every trial's first 64,600 samples, all trials of the key); EER and
the ASVspoof 5 min DCF for each.

The training-overlap rule (the Arena's): a corpus the model was trained on is marked in the table
and left out of the held-out mean. A zoo or published model's training data is its card's
(`antispoof.zoo.training_overlap`); a trained experiment's are the prepared sets whose `wav.scp`
its `.done.train` marker records (the training and the dev set), matched by checksum, so the
record made at training time names them even when the experiment has moved. A replica stands in
for its corpus: a card's corpus marks the corpus's replica too; a trained experiment's sets mark
only corpora from the same place (a model trained on the mini replica of 2019 LA is not marked
on the real 2019 LA).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from antispoof.arena import ARENA_METRICS, ARENA_RATE, ARENA_WINDOW
from antispoof.corpora.sets import (
    ASVSPOOF5_MINI,
    ASVSPOOF2019,
    ASVSPOOF2021_DF,
    CORPUS_SETS,
    IN_THE_WILD,
    MLAAD,
)
from antispoof.experiment import METRICS, PRETRAINED, TRAIN_MARKER, is_experiment
from antispoof.markers import file_digest, read_marker

MINI = "mini"  # the recipe whose data holds the replicas
REPLICAS = ("", MINI)  # --replicas: the corpora's own recipes, or the mini corpus's replicas
TABLE = "BENCHMARK.md"
DET_PLOT = "det.png"
ARENA_PLOTS = "arena"  # <set>/arena/det.png: the Arena protocol's plots
MISSING = "–"


@dataclass(frozen=True)
class Corpus:
    name: str  # its recipe (egs/<name>) and the overlap rule's name for it
    title: str
    eval_sets: tuple[str, ...]  # under egs/<name>/data/
    replica_sets: tuple[str, ...] = ()  # the mini corpus's replica, under egs/mini/data/


CORPORA: tuple[Corpus, ...] = (
    Corpus("asvspoof2019", "ASVspoof 2019 LA", ("eval",), ("eval",)),
    # The full keys: their official (`eval`) subset and, for the Arena, all trials.
    Corpus("asvspoof2021_la", "ASVspoof 2021 LA", ("la21_full",)),
    Corpus("asvspoof2021_df", "ASVspoof 2021 DF", ("df21_full",), ("df21_full",)),
    Corpus("in_the_wild", "In-the-Wild", ("itw",), ("itw",)),
    Corpus("asvspoof5", "ASVspoof 5", ("eval",), ("asv5_eval",)),
    Corpus("fake_or_real", "Fake-or-Real", ("for_test",)),
    Corpus("codecfake", "CodecFake", ("codecfake_test",)),
    Corpus("mlaad", "MLAAD", MLAAD),
    Corpus("spoofceleb", "SpoofCeleb", ("spoofceleb_eval",)),
    # The recipe's default: AntiDeepfake's 4 s segments.
    Corpus("deepfake_eval_2024", "Deepfake-Eval-2024", ("dfeval2024_seg4",)),
)
CORPUS_BY_NAME = {corpus.name: corpus for corpus in CORPORA}

# Sets that a recipe prepares from another corpus than its own (its run.sh's further --corpora;
# the mini corpus is all replicas).
BORROWED_SETS: dict[str, dict[str, str]] = {
    "asvspoof2021_la": dict.fromkeys(ASVSPOOF2019, "asvspoof2019"),
    "asvspoof2021_df": dict.fromkeys(ASVSPOOF2019, "asvspoof2019"),
    MINI: {
        **dict.fromkeys(ASVSPOOF2019, "asvspoof2019"),
        **dict.fromkeys(ASVSPOOF2021_DF, "asvspoof2021_df"),
        **dict.fromkeys(IN_THE_WILD, "in_the_wild"),
        **dict.fromkeys(ASVSPOOF5_MINI, "asvspoof5"),
    },
}


@dataclass(frozen=True)
class BenchmarkSet:
    corpus: Corpus
    recipe: str  # where it is prepared: egs/<recipe>/data/<name>
    name: str

    def data_dir(self, egs_dir: Path) -> Path:
        return egs_dir / self.recipe / "data" / self.name

    def prepared(self, egs_dir: Path) -> bool:
        return (self.data_dir(egs_dir) / "wav.scp").is_file()

    @property
    def out_subdir(self) -> str:
        """Its place under the benchmark's output directory."""
        return f"{self.corpus.name}/{self.name}"

    @property
    def prepare_command(self) -> str:
        return f"egs/{self.recipe}/run.sh --stop-stage 1"


def benchmark_sets(corpora: Sequence[str] = (), replicas: str = "") -> list[BenchmarkSet]:
    """The sets to score: those of `corpora` (default: every corpus of the source), from the
    corpora's own recipes or (`replicas="mini"`) the mini corpus's replicas. An unknown corpus
    or one without a replica is an error naming the known ones."""
    if replicas not in REPLICAS:
        raise ValueError(f"--replicas {replicas!r}: give '' (the corpora) or {MINI!r}")
    known = [c.name for c in CORPORA if not replicas or c.replica_sets]
    unknown = [name for name in corpora if name not in known]
    if unknown:
        where = " with a mini replica" if replicas else ""
        raise ValueError(
            f"--corpora: unknown corpus {', '.join(unknown)}; the corpora{where}: "
            + ", ".join(known)
        )
    chosen = [CORPUS_BY_NAME[name] for name in (corpora or known)]
    if replicas:
        return [BenchmarkSet(c, MINI, name) for c in chosen for name in c.replica_sets]
    return [BenchmarkSet(c, c.name, name) for c in chosen for name in c.eval_sets]


def set_corpus(recipe: str, set_name: str) -> str | None:
    """The corpus whose data `egs/<recipe>/data/<set_name>` holds; None for a set no recipe
    prepares under that name."""
    borrowed = BORROWED_SETS.get(recipe, {})
    if set_name in borrowed:
        return borrowed[set_name]
    if recipe != MINI and set_name in CORPUS_SETS.get(recipe, ()):
        return recipe
    return None


@dataclass(frozen=True)
class TrainingData:
    """What a model was trained on, as far as the overlap rule needs it."""

    zoo_name: str | None = None  # a zoo or published model: its card says
    # A trained experiment: (role, recipe, set) of each prepared set its marker records.
    sets: tuple[tuple[str, str, str], ...] = ()
    unknown: str | None = None  # why it could not be told

    def overlap(self, benchmark_set: BenchmarkSet) -> list[str]:
        """The parts of the training data that come from the set's corpus; empty: held out."""
        if self.zoo_name is not None:
            from antispoof.zoo import training_overlap

            return training_overlap(self.zoo_name, benchmark_set.corpus.name)
        same_place = benchmark_set.recipe == MINI
        return [
            f"{role} set egs/{recipe}/data/{name}"
            for role, recipe, name in self.sets
            if set_corpus(recipe, name) == benchmark_set.corpus.name
            and (recipe == MINI) == same_place
        ]

    def describe(self) -> str:
        if self.zoo_name is not None:
            from antispoof.zoo import zoo_model

            card = zoo_model(self.zoo_name).card
            return "; ".join(str(data) for data in card.training_data) + " (the model's card)"
        if self.unknown is not None:
            return f"not known ({self.unknown}): no corpus is marked"
        return "; ".join(f"{role} set egs/{recipe}/data/{name}" for role, recipe, name in self.sets)


def training_data(exp_dir: Path, egs_dir: Path) -> TrainingData:
    """The training data of an experiment: a published or zoo import's card
    (`pretrained.json` names the model), else the prepared sets under `egs_dir` whose
    `wav.scp` checksums its `.done.train` records for the training and dev sets."""
    pretrained = exp_dir / PRETRAINED
    if pretrained.is_file():
        name = json.loads(pretrained.read_text(encoding="utf-8")).get("name")
        if not isinstance(name, str):
            raise ValueError(f"{pretrained}: no model name, so not an import of a zoo model")
        return TrainingData(zoo_name=name)
    record = read_marker(exp_dir / TRAIN_MARKER)
    if not record:
        return TrainingData(unknown=f"{exp_dir / TRAIN_MARKER} records no training inputs")
    wanted = {
        record[f"{role}_dir/wav.scp"]: role
        for role in ("dev", "train")
        if f"{role}_dir/wav.scp" in record
    }
    found = []
    for wav_scp in sorted(egs_dir.glob("*/data/*/wav.scp")):
        recipe, name = wav_scp.parts[-4], wav_scp.parts[-2]
        if set_corpus(recipe, name) is None:
            continue
        role = wanted.get(file_digest(wav_scp))
        if role is not None:
            found.append((role, recipe, name))
    if not found:
        return TrainingData(
            unknown=f"no set prepared under {egs_dir}/*/data has the wav.scp that "
            f"{exp_dir / TRAIN_MARKER} records"
        )
    return TrainingData(sets=tuple(sorted(found, key=lambda item: item[0] != "train")))


def resolve_model(model: str) -> str:
    """`model` as an experiment directory or a zoo model name; anything else is an error."""
    path = Path(model)
    if path.is_dir():
        if not is_experiment(path):
            raise ValueError(f"--model {model}: a directory without config.yaml, not an experiment")
        return model
    from antispoof.zoo import ZOO, zoo_model

    try:
        zoo_model(model)
    except KeyError:
        raise ValueError(
            f"--model {model}: no such experiment directory and no published model of that "
            f"name; published: {', '.join(ZOO)}"
        ) from None
    return model


@dataclass(frozen=True)
class Row:
    benchmark_set: BenchmarkSet
    official: Mapping[str, Any] | None  # metrics.json
    arena: Mapping[str, Any] | None  # metrics.arena.json
    overlap: tuple[str, ...]
    prepared: bool

    @property
    def ranked(self) -> bool:
        return self.prepared and self.official is not None and not self.overlap


def read_rows(
    sets: Sequence[BenchmarkSet], out_dir: Path, egs_dir: Path, trained_on: TrainingData
) -> list[Row]:
    """Each set's figures (`<out_dir>/<corpus>/<set>/metrics.json`, `metrics.arena.json`)
    where it was scored, and its overlap with the training data."""
    rows = []
    for benchmark_set in sets:
        set_dir = out_dir / benchmark_set.out_subdir
        rows.append(
            Row(
                benchmark_set,
                _read_optional(set_dir / METRICS),
                _read_optional(set_dir / ARENA_METRICS),
                tuple(trained_on.overlap(benchmark_set)),
                benchmark_set.prepared(egs_dir),
            )
        )
    return rows


def _read_optional(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(metrics, dict) or "eer" not in metrics or "min_dcf" not in metrics:
        raise ValueError(f"{path}: no eer or min_dcf, so not a metrics.json of the evaluation")
    return metrics


def official_figures(metrics: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The official figures of a metrics.json: its official subset's where it has one."""
    subset = metrics.get("official_subset")
    return metrics if subset is None else metrics["per_subset"][subset]


def _cell(figures: Mapping[str, Any] | None, key: str, percent: bool) -> str:
    """A figure, with its negated-score twin in bold beside it where the twin is lower."""
    if figures is None or figures.get(key) is None:
        return MISSING
    scale, digits = (100, 3) if percent else (1, 4)
    cell = f"{scale * figures[key]:.{digits}f}"
    negated = figures.get(f"{key}_negated")
    if negated is not None and negated < figures[key]:
        cell += f" (negated: **{scale * negated:.{digits}f}**)"
    return cell


def _status(row: Row) -> str:
    if not row.prepared:
        return f"not prepared: run {row.benchmark_set.prepare_command}"
    if row.official is None:
        return "not scored"
    if row.overlap:
        return f"in training data ({'; '.join(row.overlap)}): not ranked"
    return "held out"


def _plots(row: Row, out_dir: Path) -> str:
    links = []
    for label, relative in (
        ("official", f"{row.benchmark_set.out_subdir}/{DET_PLOT}"),
        ("Arena", f"{row.benchmark_set.out_subdir}/{ARENA_PLOTS}/{DET_PLOT}"),
    ):
        if (out_dir / relative).is_file():
            links.append(f"[{label}]({relative})")
    return ", ".join(links) or MISSING


def table(rows: Sequence[Row], out_dir: Path) -> str:
    """The Markdown table: a row per set, EER and min DCF under both protocols, the trial
    counts, the DET plots, and whether the set is held out; then the held-out mean."""
    header = [
        "corpus",
        "set",
        "official EER (%)",
        "official min DCF",
        "Arena EER (%)",
        "Arena min DCF",
        "#bona fide / #spoof",
        "DET",
        "status",
    ]
    lines = []
    for row in rows:
        official = _figures(row, "official")
        counts = MISSING
        if official is not None:
            counts = f"{official['n_bonafide']} / {official['n_spoof']}"
        lines.append(
            [
                row.benchmark_set.corpus.title,
                f"{row.benchmark_set.recipe}: {row.benchmark_set.name}"
                if row.benchmark_set.recipe == MINI
                else row.benchmark_set.name,
                _cell(official, "eer", True),
                _cell(official, "min_dcf", False),
                _cell(_figures(row, "arena"), "eer", True),
                _cell(_figures(row, "arena"), "min_dcf", False),
                counts,
                _plots(row, out_dir),
                _status(row),
            ]
        )
    ranked = [row for row in rows if row.ranked]
    if ranked:
        lines.append(
            [
                f"**mean of the {len(ranked)} held-out set{'s' if len(ranked) > 1 else ''}**",
                "",
                _mean(ranked, "official", "eer", True),
                _mean(ranked, "official", "min_dcf", False),
                _mean(ranked, "arena", "eer", True),
                _mean(ranked, "arena", "min_dcf", False),
                "",
                "",
                "",
            ]
        )
    rule = [header, ["---"] * len(header), *lines]
    return "\n".join("| " + " | ".join(line) + " |" for line in rule)


def _figures(row: Row, protocol: str) -> Mapping[str, Any] | None:
    """A row's figures under a protocol: the official subset's, or all trials' (the Arena)."""
    if protocol == "arena":
        return row.arena
    return None if row.official is None else official_figures(row.official)


def _mean(rows: Sequence[Row], protocol: str, key: str, percent: bool) -> str:
    """The mean of a figure over rows, or a dash when some row lacks it (a mean of fewer sets
    would not compare with others)."""
    values = []
    for row in rows:
        figures = _figures(row, protocol)
        if figures is None or figures.get(key) is None:
            return MISSING
        values.append(figures[key])
    mean = sum(values) / len(values)
    return f"{100 * mean:.3f}" if percent else f"{mean:.4f}"


PROTOCOLS = (
    "**official**: the model's own scoring (its `inference` settings: window, segments, "
    "averaging), evaluated as the challenge grades it, on the official subset of a key that "
    "has one (2021: `eval`). **Arena** (the Speech Anti-Spoofing Arena's): every trial of the "
    f"key scored on its first {ARENA_WINDOW:,} samples at {ARENA_RATE // 1000} kHz "
    f"({ARENA_WINDOW / ARENA_RATE:.2f} s, a shorter trial repeat-padded), evaluated over all "
    "trials. EER as the ASVspoof packages compute it, bona fide the positive class, higher "
    "scores more bona fide; min DCF as the ASVspoof 5 package computes it (Pspoof 0.05, "
    "Cmiss 1, Cfa 10). Where the negated scores do better, the cell shows their figure in bold: "
    "the model scores bona fide low there. The trial counts are those of the official figures."
)
OVERLAP_RULE = (
    "Training-overlap rule: a corpus that the model's training data (training or dev set) "
    "comes from is marked *in training data* and not ranked: it is left out of the held-out "
    "mean. The whole corpus is marked, not only the split trained on, as the Arena does."
)


def benchmark_markdown(
    rows: Sequence[Row],
    out_dir: Path,
    model: str,
    trained_on: TrainingData,
    commit: str,
    date: str,
    command: str,
) -> str:
    """The whole BENCHMARK.md: model, provenance, protocols, the rule, the table."""
    replicas = any(row.benchmark_set.recipe == MINI for row in rows)
    parts = [
        f"# Benchmark: {model}",
        f"Model `{model}`, trained on: {trained_on.describe()}. "
        f"Produced by `{command}` at commit `{commit}` on {date}.",
        "Protocols: " + PROTOCOLS,
        OVERLAP_RULE,
    ]
    if replicas:
        parts.append(
            "The sets are the mini corpus's synthetic replicas (egs/mini/data): their figures "
            "check the benchmark and say nothing about performance on the real corpora."
        )
    parts.append(table(rows, out_dir))
    return "\n\n".join(parts) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
