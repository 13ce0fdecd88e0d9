"""Files of Hugging Face dataset repositories: listed, fetched and verified through
huggingface_hub, at one commit.

A `sources.HubFiles` names a repository, a revision and the paths to fetch. The revision is
resolved to a commit first and every later request names that commit, so that one run never
mixes two states of the repository; the commit is recorded in `.complete`. The Hub lists a
checksum for every file, and each fetched file is checked against it before use:

- a large (LFS or Xet) file: its sha256, the object id the Hub lists;
- a small file kept in git: its git blob id, the sha1 of `blob <size>\\0` + its bytes.

A file that fails is moved to `<name>.bad`. Files already in the download directory with the
listed size and checksum are not fetched again; huggingface_hub resumes partial downloads.

`HubClient` is the part that talks to the Hub, so that tests can serve a repository from a
folder; `HuggingFaceClient` is the real one. A refused request (a gated repository whose
conditions are not accepted, a missing token) is a DownloadError, which stage 0 turns into
instructions.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from antispoof.download import ChecksumError, DownloadError
from antispoof.download.sources import HubFiles
from antispoof.download.verify import move_aside

log = logging.getLogger(__name__)

COMMIT = re.compile(r"[0-9a-f]{40}")
CHUNK = 1 << 20


@dataclass(frozen=True)
class HubEntry:
    """One file of a repository at a commit, as the Hub lists it."""

    path: str
    size: int
    sha256: str | None  # LFS and Xet files: the sha256 of the content
    git_sha1: str | None  # files kept in git: the blob id


class HubClient(Protocol):
    def resolve(self, repo_id: str, revision: str | None) -> str:
        """The commit that `revision` (a branch, tag or commit; None: the default) names."""
        ...

    def list_files(self, repo_id: str, commit: str) -> list[HubEntry]:
        """Every file of the repository at `commit`."""
        ...

    def download(self, repo_id: str, commit: str, path: str, local_dir: Path) -> Path:
        """Fetch `path` into `local_dir/path` (resuming a partial file); its local path."""
        ...


class HuggingFaceClient:
    """HubClient over huggingface_hub; the token is huggingface_hub's (HF_TOKEN, `hf auth
    login`). Its errors become DownloadErrors that say why."""

    def resolve(self, repo_id: str, revision: str | None) -> str:
        from huggingface_hub import HfApi

        with _hub_errors(repo_id):
            info = HfApi().dataset_info(repo_id, revision=revision)
        return str(info.sha)

    def list_files(self, repo_id: str, commit: str) -> list[HubEntry]:
        from huggingface_hub import HfApi
        from huggingface_hub.hf_api import RepoFile

        with _hub_errors(repo_id):
            tree = HfApi().list_repo_tree(
                repo_id, revision=commit, repo_type="dataset", recursive=True
            )
            entries = []
            for item in tree:
                if isinstance(item, RepoFile):
                    lfs_sha256 = item.lfs.sha256 if item.lfs is not None else None
                    git_sha1 = None if lfs_sha256 else item.blob_id
                    entries.append(HubEntry(item.path, item.size, lfs_sha256, git_sha1))
        return entries

    def download(self, repo_id: str, commit: str, path: str, local_dir: Path) -> Path:
        from huggingface_hub import hf_hub_download

        with _hub_errors(repo_id):
            return Path(
                hf_hub_download(
                    repo_id, path, repo_type="dataset", revision=commit, local_dir=local_dir
                )
            )


@contextmanager
def _hub_errors(repo_id: str) -> Iterator[None]:
    """Turns huggingface_hub's and the network's errors into a one-line DownloadError."""
    try:
        yield
    except DownloadError:
        raise
    except Exception as err:  # huggingface_hub's, requests' and httpx's errors alike
        name = type(err).__name__
        if name in ("GatedRepoError", "RepositoryNotFoundError"):
            reason = (
                "the repository is gated or needs a login: accept its conditions on its page "
                "and log in (`hf auth login`, or set HF_TOKEN)"
            )
        else:
            first_line = str(err).splitlines()[0] if str(err) else ""
            reason = f"{name}: {first_line}" if first_line else name
        raise DownloadError(f"huggingface.co/datasets/{repo_id}: {reason}") from None


@dataclass(frozen=True)
class Fetched:
    """The files of one HubFiles fetched and verified: their local paths, by repository path."""

    files: HubFiles
    commit: str
    paths: dict[str, Path]
    folder: Path  # where they were downloaded (local_dir)


def local_dir(download_dir: Path, repo_id: str) -> Path:
    """Where a repository's files are downloaded: `hf_<owner>--<name>` in the download dir."""
    return download_dir / f"hf_{repo_id.replace('/', '--')}"


def fetch_hub(files: HubFiles, download_dir: Path, client: HubClient) -> Fetched:
    """Resolve, list, fetch and verify the files of `files`; raises DownloadError when the Hub
    refuses, ChecksumError when a file differs from what the Hub lists."""
    if files.revision is not None and not COMMIT.fullmatch(files.revision):
        log.warning("%s: revision %r is not a commit", files.repo_id, files.revision)
    commit = client.resolve(files.repo_id, files.revision)
    log.info("%s: commit %s", files.repo_id, commit)
    wanted = [
        entry
        for entry in client.list_files(files.repo_id, commit)
        if any(fnmatch.fnmatchcase(entry.path, pattern) for pattern in files.patterns)
    ]
    if not wanted:
        raise DownloadError(
            f"huggingface.co/datasets/{files.repo_id} at {commit} has no file matching "
            f"{', '.join(files.patterns)}"
        )
    target = local_dir(download_dir, files.repo_id)
    paths: dict[str, Path] = {}
    for number, entry in enumerate(sorted(wanted, key=lambda entry: entry.path), start=1):
        path = target / entry.path
        if path.is_file() and _matches(path, entry):
            log.debug("%s is already there and verified", path)
        else:
            if number == 1 or number % 100 == 0:
                log.info("%s: fetching file %d of %d", files.repo_id, number, len(wanted))
            path = client.download(files.repo_id, commit, entry.path, target)
            _verify(path, entry)
        paths[entry.path] = path
    return Fetched(files, commit, paths, target)


def _matches(path: Path, entry: HubEntry) -> bool:
    return path.stat().st_size == entry.size and _checksum_problem(path, entry) is None


def _verify(path: Path, entry: HubEntry) -> None:
    size = path.stat().st_size
    problem = (
        f"size {size} bytes, the Hub lists {entry.size}"
        if size != entry.size
        else _checksum_problem(path, entry)
    )
    if problem is not None:
        bad = move_aside(path, path.name)
        raise ChecksumError(f"{entry.path}: {problem}; moved to {bad}")


def _checksum_problem(path: Path, entry: HubEntry) -> str | None:
    """Why `path` is not the file the Hub lists (None: it is); a file without a listed
    checksum is checked for its size only."""
    if entry.sha256 is not None:
        actual = _digest(path, hashlib.sha256())
        return None if actual == entry.sha256 else f"sha256 {actual}, the Hub lists {entry.sha256}"
    if entry.git_sha1 is not None:
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(f"blob {path.stat().st_size}\0".encode())
        actual = _digest(path, digest)
        if actual != entry.git_sha1:
            return f"git blob id {actual}, the Hub lists {entry.git_sha1}"
    return None


def _digest(path: Path, digest: hashlib._Hash) -> str:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
