r"""Write or check a stage marker: the checksums of what a piece of work was made from.

Usage:
    python -m antispoof.bin.stage_marker write <marker> <kind> [inputs]
    python -m antispoof.bin.stage_marker check <marker> <kind> [inputs]

    kind and inputs:  data  --corpus_root DIR
                      feats --data_dir DIR --config exp/<tag>/config.yaml --branch NAME
                            [--cache_dtype float32|float16]
                      train --train_dir DIR --dev_dir DIR --config exp/<tag>/config.yaml
                      score --data_dir DIR --config exp/<tag>/config.yaml --checkpoint best
    (a score marker's --checkpoint: best or last of the config's experiment, or a file)
    e.g.
    python -m antispoof.bin.stage_marker check dump/lfcc_1a2b3c4d/train/.done feats \
        --data_dir data/train --config exp/lfcc_resnet18_ocsoftmax/config.yaml --branch lfcc

`write` records the current inputs (a step writes `<marker>.tmp` when it starts and renames it
when it ends). `check` prints one line saying whether the marker is current and exits 0 when it
is, 3 when there is no marker, 4 when it was made from other inputs (naming the changed ones).
A feature cache (`feats`) whose inputs are current is also checked for damage: its feats.scp
must list every utterance of wav.scp, and each ark must hold the records it names there (an ark
truncated by an interrupted copy or a full disk); a damaged cache exits 4, naming the file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.data.feature_store import DTYPES, feats_verdict
from antispoof.experiment import CHECKPOINT_NAMES, checkpoint_path
from antispoof.markers import CURRENT, KINDS, MISSING, STALE, stage_inputs, verdict, write_marker

__all__ = ["CURRENT", "MISSING", "STALE", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=("write", "check"))
    parser.add_argument("marker", type=Path)
    parser.add_argument("kind", choices=KINDS)
    inputs = ("data_dir", "train_dir", "dev_dir", "config", "checkpoint", "corpus_root")
    for name in inputs:
        parser.add_argument(f"--{name}", type=Path)
    parser.add_argument("--branch", help="the input branch a feature cache holds")
    parser.add_argument(
        "--cache_dtype", choices=DTYPES, default="float32", help="a feature cache's stored dtype"
    )
    args = parser.parse_args(argv)
    given = {name: getattr(args, name) for name in inputs if getattr(args, name) is not None}
    if str(given.get("checkpoint")) in CHECKPOINT_NAMES and "config" in given:
        given["checkpoint"] = checkpoint_path(given["config"].parent, str(given["checkpoint"]))
    if args.action == "write":
        record = stage_inputs(args.kind, branch=args.branch, cache_dtype=args.cache_dtype, **given)
        write_marker(args.marker, record)
        return 0
    if args.kind == "feats":
        status, line = feats_verdict(
            args.marker, args.data_dir, args.config, args.branch, args.cache_dtype
        )
    else:
        status, line = verdict(args.marker, stage_inputs(args.kind, **given), given)
    print(line)
    return status


if __name__ == "__main__":
    run_main(main, "stage_marker")
