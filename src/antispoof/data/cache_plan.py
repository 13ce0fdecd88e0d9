"""The stage-2 cache plan: what each branch x set cache takes on disk, and which ones to make.

Before any work, stage 2 sizes every cache the run could make (one per cacheable input branch
and data set, `dump/<branch_tag>/<set>`) from the durations of `utt2dur` and the branch's
`FeatureSpec`, without computing a feature:

    bytes of one stored audio file = frames(samples) x channels x dim x bytes per value
                                     + its record's header (the key, kaldiio's `NPY` tag and
                                       length, numpy's .npy header)

and counts each audio file once per branch: a file already in the branch's store, or planned
for an earlier set of the run (overlapping sets, oversampled `-rep<k>` copies), adds nothing
(antispoof.data.feature_store). It then chooses by the cache policy:

- `auto` (the default): caches in order of benefit -- the training set (read every epoch), the
  dev set, then the test sets (read once per experiment) -- each that fits what is left of the
  budget; the others run in the model on the device (the same features, computed per batch);
- `all`: every cache, refused when the disk has too little free space;
- `none`: no new cache (current ones are still used: they cost nothing more).

The budget is what this stage 2 may add to the disk: a size (`500G`, `1.5T`) or a share of the
free space of the file system holding `dump/` when the stage starts (`50%`, the default: the
cache is an optimisation and should leave the disk to checkpoints, scores and the other users of
a shared disk; a fixed size would not suit both a laptop and a cluster). Whatever the policy,
stage 2 leaves 5 % of the file system (at most 20 GB) free. Training caches of an experiment
with `waveform_augment` are not planned: training does not read them (the audio changes).
"""

from __future__ import annotations

import io
import math
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from antispoof.config import branch_tag
from antispoof.data.feature_store import FeatureStore, feats_verdict, store_dir, unique_audio
from antispoof.data.kaldi_files import read_table
from antispoof.data.utt2dur import read_utt2dur
from antispoof.frontends import FRONTENDS
from antispoof.frontends.base import FeatureSpec
from antispoof.markers import CURRENT, read_config

POLICIES = ("auto", "all", "none")
DEFAULT_BUDGET = "50%"
# Free space that stage 2 always leaves: 5 % of the file system, at most 20 GB.
RESERVE_FRACTION = 0.05
RESERVE_MAX = 20e9
# Text per utterance beside the arks (its feats.scp and utt2num_frames lines, its index line):
# an estimate, the paths' lengths vary.
TEXT_BYTES = 120
ROLES = ("train", "dev", "test")
NOT_READ = "not read (waveform_augment changes the training audio)"
_UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}


class CachePlanError(ValueError):
    """The caches the policy asks for do not fit the disk, or a policy setting is invalid."""


@cache
def npy_header_bytes(channels: int, dim: int, dtype: str) -> int:
    """Bytes of numpy's .npy header for a `(T, channels, dim)` array (numpy pads the header so
    that its length does not depend on T's digits)."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((1, channels, dim), dtype=dtype))
    return buffer.tell() - channels * dim * np.dtype(dtype).itemsize


def record_bytes(spec: FeatureSpec, num_samples: int, dtype: str, key: str) -> int:
    """Bytes of one utterance's record in an ark, as make_feats writes it."""
    data = spec.num_frames(num_samples) * spec.channels * spec.dim * np.dtype(dtype).itemsize
    npy = npy_header_bytes(spec.channels, spec.dim, dtype) + data
    length_bytes = math.ceil(npy.bit_length() / 8)
    return len(key.encode("utf-8")) + 1 + len(b"NPY") + 1 + length_bytes + npy


def parse_budget(text: str, free: int) -> int:
    """`--cache_budget` in bytes: a size (`500G`, `1.5T`, `2e11`; decimal units) or a share of
    the free space (`50%`)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*(%|[KMGTP]?)B?\s*", text, re.I)
    if not match:
        raise CachePlanError(
            f"--cache_budget {text!r} is not a size (e.g. 500G, 1.5T) or a share of the free "
            "space (e.g. 50%)"
        )
    number, unit = float(match.group(1)), match.group(2).upper()
    if unit == "%":
        if number > 100:
            raise CachePlanError(f"--cache_budget {text!r}: a share of the free space is <= 100%")
        return int(free * number / 100)
    return int(number * _UNITS[unit])


def human_bytes(count: float) -> str:
    """Decimal units, three significant digits: `840 GB`, `1.62 TB`."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(count) < 999.5 or unit == "TB":
            return f"{count:.3g} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1000
    raise AssertionError("unreachable")


@dataclass
class Unit:
    """One cache: a branch's features of one data set."""

    tag: str
    branch: str  # the branch's name in `exp_dir`'s config
    exp_dir: str
    set_name: str
    role: str  # train, dev or test: the order of benefit
    spec: FeatureSpec
    read: bool = True  # False: no experiment reads it (waveform augmentation in training)
    utts: int = 0
    audio: dict[str, int] = field(default_factory=dict)  # distinct audio -> record bytes
    size: int = 0  # bytes of the set's records alone
    adds: int = 0  # bytes this stage 2 adds for it
    decision: str = ""

    @property
    def cached(self) -> bool:
        """Whether stage 2 makes (or keeps) this cache."""
        return self.decision in ("current", "cache")


@dataclass
class Plan:
    units: list[Unit]
    dtype: str
    policy: str
    free: int
    reserve: int
    limit: int  # bytes that may be added
    dump_root: Path

    @property
    def adds(self) -> int:
        return sum(unit.adds for unit in self.units if unit.decision == "cache")

    def check_room(self) -> None:
        """Refuse caches that the disk cannot hold (what `all` asks; `auto` stays in its limit)."""
        if self.adds > max(0, self.free - self.reserve):
            raise CachePlanError(
                f"the caches need {human_bytes(self.adds)} and the disk of {self.dump_root} has "
                f"{human_bytes(self.free)} free, {human_bytes(self.reserve)} of which stay free: "
                "free some space, or run with --cache auto (caches what fits, the rest runs in "
                "the model), --cache_dtype float16 (half the size) or --cache none"
            )

    def table(self) -> str:
        """The plan as the log shows it."""
        header = ("branch tag", "set", "utterances", "audio files", "size", "adds", "decision")
        rows = [
            (
                unit.tag,
                unit.set_name,
                str(unit.utts),
                str(len(unit.audio)),
                human_bytes(unit.size) if unit.read else "-",
                human_bytes(unit.adds) if unit.decision == "cache" else "-",
                unit.decision,
            )
            for unit in self.units
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = [
            "  ".join(
                cell.rjust(width) if 2 <= i <= 5 else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in [header, *rows]
        ]
        summary = (
            f"stage 2 adds {human_bytes(self.adds)} in {self.dtype}; the disk of "
            f"{self.dump_root} has {human_bytes(self.free)} free, of which "
            f"{human_bytes(self.reserve)} stay free"
        )
        if self.policy == "auto":
            summary += f"; budget {human_bytes(self.limit)}"
        return "\n".join(["  " + line for line in lines] + ["  " + summary])


def free_space(path: str | Path) -> tuple[int, int]:
    """(free bytes, total bytes) of the file system that holds `path` (or would hold it)."""
    path = Path(path).absolute()
    while not path.exists():
        path = path.parent
    usage = shutil.disk_usage(path)
    return usage.free, usage.total


def plan_units(
    experiments: Iterable[tuple[str, Mapping[str, str]]],
    sets: Mapping[str, list[str]],
) -> list[Unit]:
    """One unit per (branch tag, set), in order of benefit: `experiments` are (exp dir,
    {branch: tag}) of their cacheable branches, `sets` the set names of each role."""
    units: dict[tuple[str, str], Unit] = {}
    for exp_dir, branches in experiments:
        config = read_config(Path(exp_dir) / "config.yaml")
        augmented = bool(config.get("waveform_augment"))
        for name, tag in branches.items():
            branch = config["inputs"][name]
            if branch_tag(branch) != tag:
                raise CachePlanError(f"{exp_dir}: branch {name} has the tag {branch_tag(branch)}")
            spec = FRONTENDS.get(branch["frontend"]).feature_spec(**branch["frontend_conf"])
            for role in ROLES:
                for set_name in sets.get(role, []):
                    read = not (role == "train" and augmented)
                    key = (tag, set_name)
                    if key in units:
                        units[key].read = units[key].read or read
                    else:
                        units[key] = Unit(tag, name, exp_dir, set_name, role, spec, read)
    order = {role: index for index, role in enumerate(ROLES)}
    set_order = {
        name: index for index, name in enumerate(n for r in ROLES for n in sets.get(r, []))
    }
    return sorted(units.values(), key=lambda u: (order[u.role], set_order[u.set_name]))


def make_plan(
    units: list[Unit],
    *,
    data_root: str | Path,
    dump_root: str | Path,
    dtype: str,
    policy: str,
    budget: str,
    forget: bool = False,
    free: tuple[int, int] | None = None,
) -> Plan:
    """Size every unit and decide which caches stage 2 makes (see the module docstring).

    With `forget` (run.sh --force), caches are planned as if nothing were stored: stage 2
    computes each again, once (`forget_planned` then drops the old records).
    """
    if policy not in POLICIES:
        raise CachePlanError(f"--cache {policy!r} is not one of {', '.join(POLICIES)}")
    free_bytes, total = free if free is not None else free_space(dump_root)
    reserve = int(min(RESERVE_FRACTION * total, RESERVE_MAX))
    room = max(0, free_bytes - reserve)
    limit = min(parse_budget(budget, free_bytes), room) if policy == "auto" else room
    stored: dict[str, set[str]] = {}
    for unit in units:
        data_dir = Path(data_root) / unit.set_name
        wav_scp = read_table(data_dir / "wav.scp")
        durations = read_utt2dur(data_dir)
        rate = unit.spec.sample_rate
        unit.utts = len(wav_scp)
        unit.audio = {
            audio: record_bytes(unit.spec, round(durations[utt] * rate), dtype, utt)
            for audio, utt in unique_audio(wav_scp).items()
        }
        unit.size = sum(unit.audio.values()) + TEXT_BYTES * unit.utts
        if not unit.read:
            unit.decision = NOT_READ
            continue
        if unit.tag not in stored:
            store = FeatureStore(store_dir(Path(dump_root) / unit.tag, dtype))
            stored[unit.tag] = set() if forget else set(store.records())
        if not forget:
            status, _ = feats_verdict(
                Path(dump_root) / unit.tag / unit.set_name / ".done",
                data_dir,
                Path(unit.exp_dir) / "config.yaml",
                unit.branch,
                dtype,
            )
            if status == CURRENT:
                unit.decision = "current"
    decide(units, policy, limit, stored)
    return Plan(units, dtype, policy, free_bytes, reserve, limit, Path(dump_root))


def decide(units: list[Unit], policy: str, limit: int, stored: Mapping[str, set[str]]) -> None:
    """Decide the units not yet decided (current or not read), in their order: what each adds
    (its audio files that neither the store nor an earlier cached unit of its branch holds, and
    its text) and whether stage 2 makes it under `policy` within `limit` bytes (auto)."""
    claimed = {tag: set(audio) for tag, audio in stored.items()}
    used = 0
    for unit in units:
        if unit.decision:
            continue
        held = claimed.setdefault(unit.tag, set())
        new = [audio for audio in unit.audio if audio not in held]
        unit.adds = sum(unit.audio[audio] for audio in new) + TEXT_BYTES * unit.utts
        if policy == "none":
            unit.decision = "not cached (--cache none)"
        elif policy == "auto" and used + unit.adds > limit:
            unit.decision = "over the budget: runs in the model"
        else:
            unit.decision = "cache"
            used += unit.adds
            held.update(new)


def forget_planned(plan: Plan, dump_root: str | Path) -> int:
    """Drop from each store the records of the audio of the caches the plan makes, so that
    stage 2 computes them again (once); returns how many were dropped."""
    dropped = 0
    for tag in {unit.tag for unit in plan.units}:
        audio = [a for unit in plan.units if unit.tag == tag and unit.cached for a in unit.audio]
        if audio:
            store = FeatureStore(store_dir(Path(dump_root) / tag, plan.dtype))
            dropped += store.forget(audio)
    return dropped
