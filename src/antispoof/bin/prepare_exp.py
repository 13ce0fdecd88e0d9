"""Resolve an experiment config and create its directory with the resolved `config.yaml`.

Usage:
    python -m antispoof.bin.prepare_exp --config egs/mini/conf/lfcc_resnet18_ocsoftmax.yaml \
        --exp_root exp [--override train.epochs=2 ...] [--force]

    python -m antispoof.bin.prepare_exp --exp_dir ../asvspoof2019/exp/<tag>

Prints `<exp_dir> <frontend_tag> <frontend_trainable>` on stdout; with --exp_dir, for an
existing experiment (one trained by another recipe, say) whose saved config is read again.
The tag is derived from the config file name and the overrides. An existing experiment whose
saved config differs from the new resolution is an error unless --force (the old config is
then kept as config.yaml.old).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from antispoof.bin._cli import run_main
from antispoof.config import (
    experiment_tag,
    frontend_tag,
    read_resolved,
    resolve_file,
    save_config,
)
from antispoof.frontends import FRONTENDS
from antispoof.registry import ConfigError


def describe(exp_dir: Path, config: dict) -> None:
    trainable = FRONTENDS.build(config["frontend"], config["frontend_conf"]).trainable
    print(exp_dir, frontend_tag(config), str(trainable).lower(), file=sys.stdout)


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
    parser.add_argument("--force", action="store_true", help="replace a differing saved config")
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
    if saved.exists():
        previous = yaml.safe_load(saved.read_text(encoding="utf-8"))
        if previous != config:
            if not args.force:
                changed = sorted(
                    k for k in set(config) | set(previous) if config.get(k) != previous.get(k)
                )
                raise ConfigError(
                    f"{saved} differs from {args.config} (changed: {', '.join(changed)}); "
                    "re-run with --force to start this experiment again, or change the config name"
                )
            saved.replace(saved.with_name("config.yaml.old"))
    if not saved.exists():
        save_config(config, saved)
    describe(exp_dir, config)
    return 0


if __name__ == "__main__":
    run_main(main, "prepare_exp")
