r"""Show what a config can say, or what a config says once resolved; nothing is created.

Usage:
    python -m antispoof.bin.show_config                      # every part, its settings, defaults
    python -m antispoof.bin.show_config --kind model         # one kind: frontend, model, loss,
                                                             # augmentation, optimizer, ...
    python -m antispoof.bin.show_config --config egs/mini/conf/lfcc_resnet18_ocsoftmax.yaml \
        [--override "train.epochs=2 model_conf.m_channels=16"]

Without --config: every registered frontend, model, loss, batch and waveform augmentation,
optimizer and scheduler, each with its settings, their defaults and their types (antispoof.catalog).
With --config: the config resolved as stage 3 would save it (`exp/<tag>/config.yaml`: every
default filled in, the input branches as `inputs`, the scoring window from the training crop),
printed as YAML with the tag its experiment would get; errors name the key.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from antispoof.bin._cli import run_main
from antispoof.catalog import kinds, render_catalog
from antispoof.config import experiment_tag, resolve_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kind", choices=tuple(kinds()), help="list the parts of one kind only")
    parser.add_argument("--config", type=Path, help="a config to resolve and print")
    parser.add_argument("--override", default="", help="space-separated key.sub=value items")
    args = parser.parse_args(argv)
    if args.config is None:
        if args.override:
            raise ValueError("--override goes with --config")
        print(render_catalog(args.kind), end="")
        return 0
    overrides = args.override.split()
    config = resolve_file(args.config, overrides)
    print(f"# {args.config} resolved; its experiment: exp/{experiment_tag(args.config, overrides)}")
    print(yaml.safe_dump(config, sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    run_main(main, "show_config")
