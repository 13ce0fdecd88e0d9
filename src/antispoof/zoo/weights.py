"""Weights of zoo models, resolved on first use and verified.

A model's weights resolve, in this order, to

1. a local file the user names (`--weights FILE`): refused if the card has a sha256 and the
   file differs (other weights: import them as an experiment);
2. the cache, `$ANTISPOOF_CACHE/zoo/` (default `~/.cache/antispoof/zoo/`): Hub files in
   huggingface_hub's cache layout under `zoo/hub/`, files fetched by hand under
   `zoo/<model name>/<file>`;
3. for Hub weights, a download with huggingface_hub (`hf_hub_download`, the revision pinned
   where the card has one; `HF_ENDPOINT` or `endpoint` chooses the server), into that cache;
   for weights at a direct URL (Zenodo), a resumable download with antispoof.download into
   `zoo/<model name>/<file>`.

A licence that restricts use (CC BY-NC-SA) is shown before the first download. A file whose
sha256 differs from the card's is renamed to `<file>.bad` and refused. Where the card has no
sha256 (none could be established), the file's sha256 is logged and recorded in the
provenance, so that a later copy can be compared with it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from antispoof.download import ChecksumError, DownloadError, ManualDownloadError
from antispoof.download.fetch import FetchOptions, download_any
from antispoof.published import cache_dir
from antispoof.zoo.cards import HubWeights, ManualWeights, ModelCard, UrlWeights

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ZooWeights:
    """Where a zoo model's weights were found, and their sha256."""

    path: Path
    origin: str  # local, cache or download
    sha256: str
    verified: bool  # against the card's sha256


def sha256sum(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def zoo_cache(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "zoo"


def resolve_zoo_weights(
    card: ModelCard,
    local: Path | None = None,
    *,
    cache: Path | None = None,
    endpoint: str | None = None,
    options: FetchOptions | None = None,
) -> ZooWeights:
    """The weights of `card`, found and checked in the order of the module doc (`endpoint`: the
    Hub server; `options`: the URL download's timeouts and retries)."""
    weights = card.weights
    if not isinstance(weights, HubWeights | UrlWeights | ManualWeights):
        raise TypeError(f"{card.name}: its weights ship with the package (antispoof.published)")
    if local is not None:
        if not local.is_file():
            raise FileNotFoundError(f"weights not found: {local}")
        actual = sha256sum(local)
        if weights.sha256 is not None and actual != weights.sha256:
            raise ChecksumError(
                f"{local}: sha256 {actual}, but the published {card.title} weights have "
                f"{weights.sha256}; these are other weights (score them as an experiment directory)"
            )
        return _checked(card, local, "local", actual)
    root = zoo_cache(cache)
    if isinstance(weights, UrlWeights):
        return _from_url(card, weights, root / card.name / weights.filename, options)
    if isinstance(weights, ManualWeights):
        cached = root / card.name / weights.filename
        if cached.is_file():
            return _checked(card, cached, "cache", sha256sum(cached))
        raise ManualDownloadError(
            f"{card.title}: the weights are only on {weights.url}, which needs a browser; "
            f"download {weights.filename} from there and give it with --weights FILE, or save "
            f"it as {cached}"
        )
    return _from_hub(card, weights, root / "hub", endpoint)


def _from_url(
    card: ModelCard, weights: UrlWeights, target: Path, options: FetchOptions | None
) -> ZooWeights:
    if target.is_file():
        actual = sha256sum(target)
        if weights.sha256 is None or actual == weights.sha256:
            return _checked(card, target, "cache", actual)
        bad = _move_aside(target)
        log.warning("%s: sha256 %s, expected %s; moved to %s", target, actual, weights.sha256, bad)
    _show_licence(card)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    log.info("downloading %s into %s", weights.url, target.parent)
    try:
        download_any((weights.url,), part, options or FetchOptions())
    except DownloadError as err:
        raise DownloadError(
            f"{err}; download {weights.url} by hand and give it with --weights FILE, or save "
            f"it as {target}"
        ) from None
    actual = sha256sum(part)
    if weights.sha256 is not None and actual != weights.sha256:
        bad = _move_aside(part)
        raise ChecksumError(
            f"{weights.url}: sha256 {actual}, expected {weights.sha256}; refused and moved to {bad}"
        )
    part.replace(target)
    return _checked(card, target, "download", actual)


def _show_licence(card: ModelCard) -> None:
    """A licence that restricts use, shown before the first download of the weights."""
    if card.restricted_use:
        log.warning(
            "%s is licensed %s: %s. Downloading it means accepting that licence.",
            card.title,
            card.licence,
            card.restricted_use,
        )


def _from_hub(card: ModelCard, weights: HubWeights, hub_cache: Path, endpoint: str | None):
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    revision = weights.revision or "main"
    # HF_ENDPOINT as it is now (huggingface_hub reads it once, when it is imported).
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    cached = try_to_load_from_cache(
        weights.repo_id, weights.filename, cache_dir=hub_cache, revision=revision
    )
    if isinstance(cached, str):
        path = Path(cached)
        actual = sha256sum(path)
        if weights.sha256 is None or actual == weights.sha256:
            return _checked(card, path, "cache", actual)
        bad = _move_aside(path)
        log.warning("%s: sha256 %s, expected %s; moved to %s", path, actual, weights.sha256, bad)
    _show_licence(card)
    log.info("downloading %s from %s into %s", weights.filename, weights.location, hub_cache)
    try:
        path = Path(
            hf_hub_download(
                weights.repo_id,
                weights.filename,
                revision=revision,
                cache_dir=hub_cache,
                endpoint=endpoint,
                force_download=cached is not None,
            )
        )
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DownloadError(
            f"{weights.location}: {reason}; download {weights.filename} by hand and give it "
            "with --weights FILE"
        ) from None
    actual = sha256sum(path)
    if weights.sha256 is not None and actual != weights.sha256:
        bad = _move_aside(path)
        raise ChecksumError(
            f"{weights.location}: sha256 {actual}, expected {weights.sha256}; refused and "
            f"moved to {bad}"
        )
    return _checked(card, path, "download", actual)


def _checked(card: ModelCard, path: Path, origin: str, actual: str) -> ZooWeights:
    expected = card.weights.sha256  # type: ignore[union-attr]
    if expected is None:
        log.warning(
            "%s: no published sha256 for %s is recorded here; this file has sha256 %s "
            "(kept in the provenance: compare it with the authors' copy)",
            path,
            card.title,
            actual,
        )
    return ZooWeights(path, origin, actual, verified=expected is not None)


def _move_aside(path: Path) -> Path:
    """Rename a failed file (a Hub cache blob behind its snapshot link, or a plain file) to
    `<name>.bad`, so that it is never used by mistake and the next call downloads it again."""
    target = path.resolve()
    bad = target.with_name(target.name.removesuffix(".part") + ".bad")
    target.replace(bad)
    if path.is_symlink():
        path.unlink()
    return bad
