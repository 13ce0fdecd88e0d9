r"""Resolve an experiment config and create its directory with the resolved `config.yaml`.

Usage:
    python -m antispoof.bin.prepare_exp --config egs/mini/conf/lfcc_resnet18_ocsoftmax.yaml \
        --exp_root exp [--override train.epochs=2 ...] [--force]

    python -m antispoof.bin.prepare_exp --exp_dir ../asvspoof2019/exp/<tag>

Prints `<exp_dir> [<branch>=<branch_tag> ...]` on stdout, one pair per cacheable input branch
(frozen and deterministic: stage 2 caches it under dump/<branch_tag>/); with --exp_dir, for an
existing experiment (one trained by another recipe, say) whose saved config is read again.
The tag is derived from the config file name and the overrides.

An existing experiment whose saved config differs from the new resolution is an error, unless
--force and only the settings that a trained model does not depend on changed (`inference`,
`train.num_workers`): the new config then replaces the saved one and stage 4 re-scores. A saved
config written before a key existed is compared as it resolves now, with that key's default
(`train.accum_grad: 1`, say): the same experiment, whose saved file stays as it is.
--restart (what `run.sh --force true` gives when stage 3 runs) moves an existing experiment
aside, whole, to `<exp_root>/<tag>.old-<time>`, and starts it again under the new config.
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml

from antispoof.bin._cli import run_main
from antispoof.config import (
    branch_tag,
    experiment_tag,
    read_resolved,
    resolve,
    resolve_file,
    save_config,
)
from antispoof.frontends import FRONTENDS
from antispoof.markers import changed_settings, training_settings
from antispoof.registry import ConfigError

log = logging.getLogger("antispoof.prepare_exp")


def describe(exp_dir: Path, config: dict) -> None:
    cacheable = [
        f"{name}={branch_tag(branch)}"
        for name, branch in config["inputs"].items()
        if FRONTENDS.get(branch["frontend"]).cacheable_with(**branch["frontend_conf"])
    ]
    print(exp_dir, *cacheable, file=sys.stdout)


def _check_replaceable(
    saved: Path, config_path: str, previous: dict, config: dict, force: bool
) -> None:
    """Refuse to replace a saved config unless --force and the trained model stays valid."""
    changed = changed_settings(previous, config)
    if not force:
        raise ConfigError(
            f"{saved} differs from {config_path} (changed: {', '.join(changed)}); re-run with "
            "--force true to start this experiment again, or change the config name"
        )
    for_training = changed_settings(training_settings(previous), training_settings(config))
    if for_training:
        raise ConfigError(
            f"{saved} differs from {config_path} in settings its trained model depends on "
            f"(changed: {', '.join(for_training)}); include stage 3 in the run (--force true "
            "--stage 3 or lower) to move the old experiment aside and train it again"
        )


def resolves_to(saved: dict, config: dict) -> bool:
    """Whether a saved config, resolved again, is `config`: a config saved before a key existed
    lacks it, and resolution fills in its default. A saved config that no longer resolves is not
    the same experiment."""
    try:
        return resolve(copy.deepcopy(saved)) == config
    except ConfigError:
        return False


def move_aside(exp_dir: Path) -> Path:
    """Rename an experiment directory to a free `<tag>.old-<UTC time>[-n]` beside it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    aside = exp_dir.with_name(f"{exp_dir.name}.old-{stamp}")
    number = 1
    while aside.exists():
        number += 1
        aside = exp_dir.with_name(f"{exp_dir.name}.old-{stamp}-{number}")
    exp_dir.rename(aside)
    return aside


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", help="experiment YAML")
    parser.add_argument("--exp_root", help="directory holding experiments")
    parser.add_argument("--exp_dir", type=Path, help="an existing experiment to describe")
    parser.add_argument(
        "--override", action="append", default=[], help="key.sub=value (repeatable)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a saved config that differs in settings the trained model does not use",
    )
    parser.add_argument(
        "--restart", action="store_true", help="move an existing experiment aside and start anew"
    )
    args = parser.parse_args(argv)
    if args.exp_dir:
        config = read_resolved(args.exp_dir / "config.yaml")
        describe(args.exp_dir, config)
        return 0
    if not (args.config and args.exp_root):
        parser.error("give --config and --exp_root, or --exp_dir")
    overrides = [o for text in args.override for o in text.split()]
    config = resolve_file(args.config, overrides)
    exp_dir = Path(args.exp_root) / experiment_tag(args.config, overrides)
    saved = exp_dir / "config.yaml"
    # Kept as it is when it resolves to the new config: rewriting an equal config would make
    # the scores, whose markers digest the file, look stale.
    keep_saved = False
    if args.restart and exp_dir.is_dir() and any(exp_dir.iterdir()):
        aside = move_aside(exp_dir)
        log.info("moved the old experiment %s aside to %s; it starts again", exp_dir, aside)
    elif saved.exists():
        previous = yaml.safe_load(saved.read_text(encoding="utf-8"))
        keep_saved = previous == config or resolves_to(previous, config)
        if not keep_saved:
            _check_replaceable(saved, args.config, previous, config, args.force)
            log.info(
                "%s: replaced (changed: %s); the trained model stays, the scores are redone",
                saved,
                ", ".join(changed_settings(previous, config)),
            )
    if not keep_saved:
        save_config(config, saved)
    describe(exp_dir, config)
    return 0


if __name__ == "__main__":
    run_main(main, "prepare_exp")
