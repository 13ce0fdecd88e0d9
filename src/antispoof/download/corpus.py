"""Stage 0 for one corpus: reuse, or download + verify + unpack + mark (see the package doc).

Archives come from direct addresses (fetch.py), repository files from the Hugging Face Hub
(hub.py); both are verified before anything is unpacked. A corpus that is never downloaded here
(`CorpusSource.access`: a gated release) is only checked and marked; without a copy, the error
gives the steps to obtain one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from antispoof.download import (
    ArchiveError,
    ChecksumError,
    CorpusError,
    DownloadError,
    LayoutError,
    ManualDownloadError,
)
from antispoof.download.fetch import FetchOptions, download_any
from antispoof.download.hub import Fetched, HubClient, HuggingFaceClient, fetch_hub, local_dir
from antispoof.download.sources import CorpusSource, HubFiles, RemoteFile
from antispoof.download.unpack import (
    COMPLETE,
    extract,
    extract_parquet_audio,
    install,
    place_file,
    remove_tree,
    staging_dir,
    write_marker,
)
from antispoof.download.verify import check_layout, move_aside, verify_download

log = logging.getLogger(__name__)


def default_download_dir(db_root: Path) -> Path:
    # Beside the corpus, not inside it: the unpacked tree is renamed into place as a whole.
    # Corpora under one parent share it; their archive names differ.
    return db_root.parent / "downloads"


def get_corpus(
    source: CorpusSource,
    db_root: Path,
    download_dir: Path | None = None,
    *,
    base_url: str | None = None,
    options: FetchOptions | None = None,
    hub_client: HubClient | None = None,
) -> None:
    """Make `db_root` a complete, verified copy of `source` marked by `.complete`.

    `base_url` replaces the official hosts: every file is fetched from `<base_url>/<name>`.
    A file that no address delivers (a refused login, an offline node) ends in instructions
    for a manual download; the file placed by hand is verified at the next run. Hub files go
    through `hub_client` (default: huggingface_hub).
    """
    options = options or FetchOptions()
    db_root = db_root.resolve()
    if (db_root / COMPLETE).is_file():
        log.info("%s exists: %s is in place, nothing to do", db_root / COMPLETE, source.title)
        return
    if db_root.is_dir() and any(db_root.iterdir()):
        _adopt(source, db_root)
        return
    if source.access and not (source.files or source.hub):
        raise ManualDownloadError(
            f"{db_root} holds no copy of {source.title}, which is not downloaded here.\n"
            f"{source.access}\nThen point --db_root (or conf/db.sh) at it: {source.layout}."
        )

    if any(files.parquet_audio for files in source.hub):
        _require_pyarrow(source)
    download_dir = (download_dir or default_download_dir(db_root)).resolve()
    if download_dir.is_relative_to(db_root):
        raise CorpusError(
            f"--download_dir {download_dir} is inside --db_root {db_root}; put it beside it "
            "(the unpacked corpus is moved into place as a whole)"
        )
    download_dir.mkdir(parents=True, exist_ok=True)
    archives: list[Path] = []
    failed: list[tuple[RemoteFile, DownloadError]] = []
    for remote in source.files:
        try:
            archives.append(_obtain(remote, download_dir, base_url, options))
        except DownloadError as err:
            failed.append((remote, err))
    fetched: list[Fetched] = []
    failed_hub: list[tuple[HubFiles, DownloadError]] = []
    for files in source.hub:
        try:
            fetched.append(fetch_hub(files, download_dir, hub_client or HuggingFaceClient()))
        except DownloadError as err:
            failed_hub.append((files, err))
    if failed or failed_hub:
        raise ManualDownloadError(_manual_instructions(source, failed, failed_hub, download_dir))
    _unpack(source, archives, fetched, db_root)


def _require_pyarrow(source: CorpusSource) -> None:
    """Before any download: the parquet files of `source` are read with pyarrow."""
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise CorpusError(
            f"{source.title} is released as parquet files, which are read with pyarrow: "
            "pip install pyarrow, then run again"
        ) from None


def _adopt(source: CorpusSource, db_root: Path) -> None:
    """An existing copy without a marker: check it, and mark it if it is complete."""
    log.info("%s holds files but no %s: checking it as %s", db_root, COMPLETE, source.title)
    problems = check_layout(source, db_root)
    if problems:
        raise LayoutError(
            f"{db_root} is not empty but is not a complete {source.title} "
            f"({source.layout}):\n  "
            + "\n  ".join(problems)
            + "\nPoint --db_root at a complete copy, or at a new directory to download into."
        )
    write_marker(db_root, f"{source.name}: existing copy")
    log.info("%s: %s verified and marked complete", db_root, source.title)


def _obtain(
    remote: RemoteFile, download_dir: Path, base_url: str | None, options: FetchOptions
) -> Path:
    """The verified archive in `download_dir`: already there (or placed by hand), or fetched."""
    target = download_dir / remote.name
    if target.is_file():
        log.info("%s is already there: verifying it", target)
        _verify(target, remote)
        return target
    part = download_dir / f"{remote.name}.part"
    urls = (f"{base_url.rstrip('/')}/{remote.name}",) if base_url else remote.urls
    log.info("downloading %s from %s into %s", remote.name, urls[0], download_dir)
    download_any(urls, part, options)
    _verify(part, remote)
    part.replace(target)
    log.info("%s: downloaded and verified", target)
    return target


def _verify(path: Path, remote: RemoteFile) -> None:
    try:
        verify_download(path, remote)
    except (ChecksumError, ArchiveError) as err:
        bad = move_aside(path, remote.name)
        raise type(err)(f"{err}; moved to {bad}") from None


def _unpack(
    source: CorpusSource, archives: list[Path], fetched: list[Fetched], db_root: Path
) -> None:
    staging = staging_dir(db_root)
    remove_tree(staging)  # what an interrupted earlier unpack left behind
    staging.mkdir(parents=True)
    try:
        for remote, archive in zip(source.files, archives, strict=True):
            try:
                extract(archive, staging / remote.into)
            except ArchiveError as err:
                bad = move_aside(archive, archive.name)
                raise ArchiveError(
                    f"{err}; moved to {bad}, run again to download it anew"
                ) from None
        for hub in fetched:
            _place_hub_files(hub, staging / hub.files.into)
        problems = check_layout(source, staging)
        if problems:
            raise LayoutError(
                f"the downloads unpacked, but they do not make a complete {source.title} "
                f"({source.layout}):\n  " + "\n  ".join(problems) + "\nThe downloads are kept "
                f"in {_downloads_folder(archives, fetched)}; if they are the official ones, the "
                "description in antispoof/download/sources.py needs updating."
            )
        install(staging, db_root)
    except Exception:
        remove_tree(staging)
        raise
    origins = [archive.name for archive in archives]
    origins += [f"huggingface.co/datasets/{hub.files.repo_id}@{hub.commit}" for hub in fetched]
    write_marker(db_root, f"{source.name}: " + " ".join(origins))
    log.info(
        "%s: %s unpacked and verified; the downloads in %s may be deleted",
        db_root,
        source.title,
        _downloads_folder(archives, fetched),
    )


def _downloads_folder(archives: list[Path], fetched: list[Fetched]) -> Path:
    """Where the downloads of this run are: the archives' folder, else the first repository's."""
    return archives[0].parent if archives else fetched[0].folder


def _place_hub_files(hub: Fetched, into: Path) -> None:
    """The repository's tree under `into`; parquet files as the audio files they hold."""
    spec = hub.files.parquet_audio
    parquets = sorted(path for rel, path in hub.paths.items() if rel.endswith(".parquet"))
    for rel, path in hub.paths.items():
        if spec is None or not rel.endswith(".parquet"):
            place_file(path, into / rel)
    if spec is not None and parquets:
        log.info("%s: extracting the audio of %d parquet files", hub.files.repo_id, len(parquets))
        extract_parquet_audio(parquets, spec, into)


def _manual_instructions(
    source: CorpusSource,
    failed: list[tuple[RemoteFile, DownloadError]],
    failed_hub: list[tuple[HubFiles, DownloadError]],
    download_dir: Path,
) -> str:
    lines = [f"{source.title}: could not download automatically; download by hand:"]
    for files, err in failed_hub:
        lines += [
            f"  huggingface.co/datasets/{files.repo_id} ({err})",
            f"    page  https://huggingface.co/datasets/{files.repo_id} (accept its conditions, "
            "if it shows any)",
            "    login `hf auth login`, or set HF_TOKEN to a token of the account that accepted",
            f"    files {' '.join(files.patterns)} at revision {files.revision or 'main'}, "
            f"fetched into {local_dir(download_dir, files.repo_id)} and checked against the "
            "checksums the Hub lists",
        ]
    for remote, err in failed:
        check = (
            f"md5 {remote.md5}"
            if remote.md5
            else "read in full while unpacking; then the official counts"
        )
        lines += [
            f"  {remote.name}  ({err})",
            f"    from  {remote.urls[0]}",
            *(f"      or  {url}" for url in remote.urls[1:]),
            f"    page  {source.landing_page}",
            f"    save  {download_dir / remote.name}",
            f"    check {check}",
        ]
    lines.append(
        "Then run the same command again (it also resumes partial downloads, <name>.part); "
        "a file placed by hand is verified before use."
    )
    return "\n".join(lines)
