"""The stage-2 feature store: each audio file's features of an input branch are computed and
stored once, whatever sets list the file and under whatever utterance ids.

Layout, under `dump/<branch_tag>/` (one branch's settings):

    store.<dtype>/index                `<ark>:<offset> <frames> <audio>` for each stored audio
                                       file (`<audio>`: its wav.scp value, the rest of the line)
    store.<dtype>/<batch>.<job>.ark    append-only arks: written under a temporary name, renamed
                                       when complete, never rewritten
    store.<dtype>/<batch>.<job>.index  the records of one finished job, until merged into index
    <set>/feats.scp                    the set's view: `<utt> <ark>:<offset>` for each utterance
                                       of data/<set>/wav.scp, into the store's arks
    <set>/utt2num_frames, frontend.yaml, .done (antispoof.markers, with the storage dtype)

Why the audio path is the key: the same audio under several ids (the oversampled copies
`<trial>-rep<k>` of the DF training split, a trial in `df21_eval`, `df21_full` and the held-out
sets) is one file. Audio files are not hashed, as the stage markers do not hash them.

Why append-only arks: a view points into arks that another set's stage 2 may later extend or
replace; an ark that is never rewritten can be shared safely. An ark is deleted only when
neither the index nor any view names it (`collect_garbage`), so redoing one set (`--force`)
never leaves another set's view pointing at a removed ark.

A damaged ark (truncated by an interrupted copy or a full disk) is found by reading the record
at the largest offset that a view or the index names in it: the ark must hold all of that
record. A view naming bytes past the end of an ark is damaged (`view_problem`): stage 2 redoes
it and stages 3 and 4 run the branch on the device instead; the store drops the records of a
damaged ark (`drop_damaged`), so they are computed again.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import kaldiio.matio

from antispoof.data.kaldi_files import TableError, iter_table, read_table
from antispoof.markers import CURRENT, STALE, stage_inputs, verdict

DTYPES = ("float32", "float16")
DEFAULT_DTYPE = "float32"
STORE_PREFIX = "store."
INDEX = "index"
FEATS_SCP = "feats.scp"
# Files of the layout before the store (per-set arks of steps/make_feats.sh's jobs).
_LEGACY = re.compile(r"feats\.[0-9]+\.(ark|scp|utt2num_frames)(\.tmp)?")
_BATCH = re.compile(r"([0-9]+)-.*")


class DamagedCacheError(ValueError):
    """A feature cache names bytes that its ark does not hold; the message names the files."""


@dataclass(frozen=True)
class Record:
    """Where an utterance's features are: `rx` is `<ark>:<offset>`; `frames` their count."""

    rx: str
    frames: int

    @property
    def ark(self) -> str:
        return self.rx.rsplit(":", 1)[0]


def store_dir(branch_dir: str | os.PathLike[str], dtype: str) -> Path:
    """The store of a branch's features in `dtype` (`dump/<branch_tag>/store.<dtype>`)."""
    if dtype not in DTYPES:
        raise ValueError(f"a cache dtype is one of {', '.join(DTYPES)}, not {dtype!r}")
    return Path(branch_dir) / f"{STORE_PREFIX}{dtype}"


def parse_rx(rx: str, where: str) -> tuple[str, int]:
    """`<ark>:<offset>` as (ark, offset); `where` names the line for an error."""
    ark, sep, offset = rx.rpartition(":")
    if not sep or not ark or not offset.isdigit():
        raise TableError(f"{where}: {rx!r} is not <ark>:<offset>")
    return ark, int(offset)


# ---------------------------------------------------------------------------------------------
# damaged arks


def record_end(handle, offset: int) -> int:
    """The byte just past the kaldiio record at `offset` of an open ark (binary NPY or Kaldi).

    Raises ValueError (or EOFError, struct.error) when the ark cannot hold a record there.
    """
    handle.seek(offset)
    head = handle.read(4)
    if head[:3] == b"NPY" and len(head) == 4:  # kaldiio's numpy records: NPY, length, np.save
        size_bytes = head[3]
        length = int.from_bytes(handle.read(size_bytes), "little")
        return offset + 4 + size_bytes + length
    handle.seek(offset)
    try:
        kaldiio.matio.read_kaldi(handle)
    except AssertionError as err:  # kaldiio checks its format with assertions
        raise ValueError(f"not a kaldiio record ({err or 'bad header'})") from None
    return handle.tell()


def ark_problems(names: Mapping[str, tuple[int, str]]) -> dict[str, str]:
    """For each ark of `names` (ark -> (largest offset named in it, who names it)), a problem
    when the ark is missing or does not hold all of the record at that offset: ark -> problem."""
    problems = {}
    for ark, (offset, who) in names.items():
        try:
            size = os.path.getsize(ark)
            with open(ark, "rb") as handle:
                end = record_end(handle, offset)
        except FileNotFoundError:
            problems[ark] = f"{ark} is missing ({who} names it)"
            continue
        except (ValueError, EOFError, struct.error, OSError) as err:
            problems[ark] = f"{ark} holds no readable record at byte {offset} ({who}): {err}"
            continue
        if end > size:
            problems[ark] = (
                f"{ark} is truncated: {size} bytes, but the record at byte {offset} ({who}) "
                f"ends at byte {end}"
            )
    return problems


def _largest_offsets(entries: Iterable[tuple[str, int, str]]) -> dict[str, tuple[int, str]]:
    """(ark, offset, who) entries -> ark -> (largest offset, who names it)."""
    largest: dict[str, tuple[int, str]] = {}
    for ark, offset, who in entries:
        if ark not in largest or offset > largest[ark][0]:
            largest[ark] = (offset, who)
    return largest


def read_view(scp: str | os.PathLike[str]) -> dict[str, tuple[str, int, int]]:
    """A feats.scp as utt -> (ark, offset, line number)."""
    view = {}
    for line, utt, rx in iter_table(scp):
        ark, offset = parse_rx(rx, f"{scp}:{line}")
        view[utt] = (ark, offset, line)
    return view


def view_problem(scp: str | os.PathLike[str], utts: Iterable[str] | None = None) -> str | None:
    """Why a feature cache cannot be read in full, or None: a missing or malformed `scp`, an
    utterance of `utts` that it lacks, an ark that is missing or shorter than the records the
    scp names in it."""
    try:
        view = read_view(scp)
    except FileNotFoundError:
        return f"{scp} is missing"
    except TableError as err:
        return str(err)
    return read_view_problem(view, scp, utts)


def read_view_problem(
    view: Mapping[str, tuple[str, int, int]],
    scp: str | os.PathLike[str],
    utts: Iterable[str] | None = None,
) -> str | None:
    """view_problem of a feats.scp already read (read_view)."""
    if utts is not None:
        missing = [utt for utt in utts if utt not in view]
        if missing:
            return f"{scp} lacks {len(missing)} utterance(s) of the set, e.g. {missing[0]}"
    entries = ((ark, offset, f"{scp}:{line}") for ark, offset, line in view.values())
    problems = ark_problems(_largest_offsets(entries))
    return next(iter(problems.values()), None)


def feats_verdict(
    marker: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None,
    config: str | os.PathLike[str] | None,
    branch: str | None,
    dtype: str = DEFAULT_DTYPE,
) -> tuple[int, str]:
    """Whether a set's feature cache (its `.done` marker, with feats.scp beside it) is current
    and whole: (CURRENT, MISSING or STALE, one line for the log). A damaged cache is STALE."""
    record = stage_inputs(
        "feats", data_dir=data_dir, config=config, branch=branch, cache_dtype=dtype
    )
    paths = {
        "data_dir": data_dir,
        "config": config,
        "cache_dtype": f"the cache dtype (now {dtype})",
    }
    status, line = verdict(marker, record, paths)
    if status == CURRENT:
        utts = read_table(Path(str(data_dir)) / "wav.scp").keys()
        problem = view_problem(Path(marker).parent / FEATS_SCP, utts)
        if problem is not None:
            return STALE, f"{marker}: the cache is damaged: {problem}"
    return status, line


# ---------------------------------------------------------------------------------------------
# the store


def _index_lines(path: Path) -> Iterator[tuple[str, Record]]:
    for line, rx, value in iter_table(path):
        frames, sep, audio = value.partition(" ")
        if not sep or not audio or not frames.isdigit():
            raise TableError(f"{path}:{line}: expected <ark>:<offset> <frames> <audio path>")
        parse_rx(rx, f"{path}:{line}")
        yield audio, Record(rx, int(frames))


def read_records(path: str | os.PathLike[str]) -> dict[str, Record]:
    """An index file (or a job's part of one): audio -> record; a later line wins."""
    path = Path(path)
    if not path.exists():
        return {}
    return dict(_index_lines(path))


def write_records(path: str | os.PathLike[str], records: Mapping[str, Record]) -> None:
    """Write an index file atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for audio, record in records.items():
            if record.rx.split() != [record.rx] or "\n" in audio:
                raise ValueError(f"{path}: cannot store {record.rx!r} for {audio!r}")
            handle.write(f"{record.rx} {record.frames} {audio}\n")
    os.replace(tmp, path)


class FeatureStore:
    """The arks and index of one branch's features in one dtype (see the module docstring).

    Only one stage 2 works on a store at a time (run.sh locks the recipe directory); its jobs
    write their own arks and parts of the index, which `commit` merges once they have finished.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.index_path = self.root / INDEX

    def records(self) -> dict[str, Record]:
        """The committed records: audio -> record."""
        return read_records(self.index_path)

    def remove_unfinished(self) -> list[Path]:
        """Remove what interrupted jobs left (temporary arks and index parts)."""
        removed = sorted(self.root.glob("*.tmp")) if self.root.is_dir() else []
        for path in removed:
            path.unlink()
        return removed

    def commit(self) -> int:
        """Merge the index parts of finished jobs into the index; returns the records merged."""
        parts = sorted(self.root.glob(f"*.{INDEX}")) if self.root.is_dir() else []
        if not parts:
            return 0
        records = self.records()
        merged = 0
        for part in parts:
            new = read_records(part)
            records.update(new)
            merged += len(new)
        write_records(self.index_path, records)
        for part in parts:
            part.unlink()
        return merged

    def drop_damaged(self) -> list[str]:
        """Drop the records of arks that are missing or truncated, so that they are computed
        again; returns one problem per damaged ark."""
        records = self.records()
        entries = (
            (record.ark, int(record.rx.rsplit(":", 1)[1]), f"{self.index_path}: {audio}")
            for audio, record in records.items()
        )
        problems = ark_problems(_largest_offsets(entries))
        if problems:
            kept = {a: r for a, r in records.items() if r.ark not in problems}
            write_records(self.index_path, kept)
        return list(problems.values())

    def forget(self, audio: Iterable[str]) -> int:
        """Drop the records of these audio files (their features are computed again; arks that
        views still name stay); returns how many were dropped."""
        records = self.records()
        drop = set(audio) & records.keys()
        if drop:
            write_records(self.index_path, {a: r for a, r in records.items() if a not in drop})
        return len(drop)

    def next_batch(self, set_name: str) -> str:
        """A name for the arks of a new stage-2 run over a set: `<n>-<set>`, n above every
        batch the store has held."""
        numbers = [0]
        if self.root.is_dir():
            for path in self.root.iterdir():
                match = _BATCH.fullmatch(path.name)
                if match:
                    numbers.append(int(match.group(1)))
        return f"{max(numbers) + 1:04d}-{set_name}"

    def collect_garbage(self, views: Iterable[Path]) -> list[Path]:
        """Delete the store's arks that neither the index nor any of `views` names."""
        if not self.root.is_dir():
            return []
        named = {record.ark for record in self.records().values()}
        for scp in views:
            if scp.is_file():
                named.update(ark for ark, _, _ in read_view(scp).values())
        named_files = {os.path.realpath(ark) for ark in named}
        removed = []
        for ark in sorted(self.root.glob("*.ark")):
            if os.path.realpath(ark) not in named_files:
                ark.unlink()
                removed.append(ark)
        return removed


def unique_audio(wav_scp: Mapping[str, str]) -> dict[str, str]:
    """The distinct audio files of a wav.scp table, each with the first utterance naming it."""
    first: dict[str, str] = {}
    for utt, audio in wav_scp.items():
        first.setdefault(audio, utt)
    return first


def missing_audio(data_dir: str | os.PathLike[str], store: FeatureStore) -> list[tuple[str, str]]:
    """(utt, audio) of each distinct audio file of the set that the store lacks, in wav.scp
    order (the utterance is the first naming the file)."""
    records = store.records()
    wav_scp = read_table(Path(data_dir) / "wav.scp")
    return [(utt, audio) for audio, utt in unique_audio(wav_scp).items() if audio not in records]


def job_share(items: list, job: int, num_jobs: int) -> list:
    """Job `job`'s (1-based) contiguous share of `items`; shares differ by at most one."""
    if not 1 <= job <= num_jobs:
        raise ValueError(f"job {job} is not one of 1..{num_jobs}")
    size, extra = divmod(len(items), num_jobs)
    start = (job - 1) * size + min(job - 1, extra)
    return items[start : start + size + (1 if job <= extra else 0)]


def write_view(
    data_dir: str | os.PathLike[str], store: FeatureStore, out_dir: str | os.PathLike[str]
) -> int:
    """Write the set's `feats.scp` and `utt2num_frames` from the store's records; remove the
    per-set arks of the layout before the store. Returns the number of utterances."""
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    records = store.records()
    wav_scp = read_table(data_dir / "wav.scp")
    missing = [utt for utt, audio in wav_scp.items() if audio not in records]
    if missing:
        raise ValueError(
            f"{store.root} has no features of {len(missing)} utterance(s) of "
            f"{data_dir / 'wav.scp'}, e.g. {missing[0]}: a feature job failed (its log says why)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_lines(out_dir / FEATS_SCP, (f"{u} {records[a].rx}\n" for u, a in wav_scp.items()))
    _write_lines(
        out_dir / "utt2num_frames", (f"{u} {records[a].frames}\n" for u, a in wav_scp.items())
    )
    for path in out_dir.iterdir():
        if _LEGACY.fullmatch(path.name):
            path.unlink()
    return len(wav_scp)


def branch_views(branch_dir: str | os.PathLike[str]) -> list[Path]:
    """Every set's feats.scp under a branch's directory."""
    return sorted(Path(branch_dir).glob(f"*/{FEATS_SCP}"))


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.writelines(lines)
    os.replace(tmp, path)
