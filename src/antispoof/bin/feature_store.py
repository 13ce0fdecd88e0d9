r"""Keep a branch's feature store (antispoof.data.feature_store) for steps/make_feats.sh.

Usage:
    python -m antispoof.bin.feature_store prepare --store dump/<tag>/store.float32 \
        --data_dir data/eval --config exp/<tag>/config.yaml --branch lfcc
    python -m antispoof.bin.feature_store commit --store dump/<tag>/store.float32
    python -m antispoof.bin.feature_store view --store dump/<tag>/store.float32 \
        --data_dir data/eval --out dump/<tag>/eval

`prepare`, before the jobs: removes what interrupted jobs left, merges the index parts of jobs
that finished, drops the records of damaged arks (each named in the log), records the branch's
settings as `<store>/frontend.yaml`, and prints `<count> <batch>`: how many distinct audio files
of the set the store lacks, and the name for the arks of this run. `commit`, after the jobs
(also when one failed, so that a re-run computes only the rest): merges their index parts.
`view`: writes the set's feats.scp and utt2num_frames from the store's records (every
utterance must have one), copies frontend.yaml beside them, and deletes the store's arks that
neither the index nor any set's feats.scp names any more.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.config import save_config
from antispoof.data.feature_store import (
    FeatureStore,
    branch_views,
    missing_audio,
    write_view,
)
from antispoof.markers import read_config
from antispoof.registry import ConfigError

log = logging.getLogger("antispoof.feature_store")
SETTINGS = "frontend.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=("prepare", "commit", "view"))
    parser.add_argument("--store", required=True, type=Path, help="dump/<tag>/store.<dtype>")
    parser.add_argument("--data_dir", type=Path, help="the set (prepare, view)")
    parser.add_argument("--config", type=Path, help="the experiment's config.yaml (prepare)")
    parser.add_argument("--branch", help="the input branch (prepare)")
    parser.add_argument("--out", type=Path, help="the set's cache directory (view)")
    args = parser.parse_args(argv)
    needed = {
        "prepare": ("data_dir", "config", "branch"),
        "commit": (),
        "view": ("data_dir", "out"),
    }
    missing = [f"--{name}" for name in needed[args.action] if getattr(args, name) is None]
    if missing:
        parser.error(f"{args.action} needs {' '.join(missing)}")
    store = FeatureStore(args.store)
    if args.action == "prepare":
        prepare(store, args.data_dir, args.config, args.branch)
    elif args.action == "commit":
        log.info("%s: %d new records", store.index_path, store.commit())
    else:
        count = write_view(args.data_dir, store, args.out)
        if (store.root / SETTINGS).is_file():
            shutil.copyfile(store.root / SETTINGS, args.out / SETTINGS)
        removed = store.collect_garbage(branch_views(store.root.parent))
        if removed:
            log.info("removed %d ark(s) that nothing names any more", len(removed))
        log.info("%s: %d utterances", args.out / "feats.scp", count)
    return 0


def prepare(store: FeatureStore, data_dir: Path, config: Path, branch: str) -> None:
    """Make the store consistent before new jobs, and print `<count> <batch>`."""
    branches = read_config(config).get("inputs") or {}
    if branch not in branches:
        raise ConfigError(f"{config} has no input branch {branch!r}: {sorted(branches)}")
    store.root.mkdir(parents=True, exist_ok=True)
    for path in store.remove_unfinished():
        log.info("removed %s, left by an interrupted job", path)
    merged = store.commit()
    if merged:
        log.info("kept %d records of jobs that finished before an interruption", merged)
    for problem in store.drop_damaged():
        log.warning("%s: its records are dropped and computed again", problem)
    save_config(branches[branch], store.root / SETTINGS)
    print(len(missing_audio(data_dir, store)), store.next_batch(data_dir.name))


if __name__ == "__main__":
    run_main(main, "feature_store")
