r"""Write or check a stage marker: the checksums of what a piece of work was made from.

Usage:
    python -m antispoof.bin.stage_marker write <marker> <kind> [inputs]
    python -m antispoof.bin.stage_marker check <marker> <kind> [inputs]

    kind and inputs:  data  --corpus_root DIR
                      feats --data_dir DIR --config exp/<tag>/config.yaml --branch NAME
                      train --train_dir DIR --dev_dir DIR --config exp/<tag>/config.yaml
                      score --data_dir DIR --config exp/<tag>/config.yaml --checkpoint best
    (a score marker's --checkpoint: best or last of the config's experiment, or a file)
    e.g.
    python -m antispoof.bin.stage_marker check dump/lfcc_1a2b3c4d/train/.done feats \
        --data_dir data/train --config exp/lfcc_resnet18_ocsoftmax/config.yaml --branch lfcc

`write` records the current inputs (a step writes `<marker>.tmp` when it starts and renames it
when it ends). `check` prints one line saying whether the marker is current and exits 0 when it
is, 3 when there is no marker, 4 when it was made from other inputs (naming the changed ones).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.experiment import CHECKPOINT_NAMES, checkpoint_path
from antispoof.markers import (
    KINDS,
    describe_inputs,
    read_marker,
    stage_inputs,
    stale_inputs,
    write_marker,
)

# Exit statuses; 1 stays what every entry point gives for an error.
CURRENT, MISSING, STALE = 0, 3, 4


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
    args = parser.parse_args(argv)
    given = {name: getattr(args, name) for name in inputs if getattr(args, name) is not None}
    if str(given.get("checkpoint")) in CHECKPOINT_NAMES and "config" in given:
        given["checkpoint"] = checkpoint_path(given["config"].parent, str(given["checkpoint"]))
    record = stage_inputs(args.kind, branch=args.branch, **given)
    if args.action == "write":
        write_marker(args.marker, record)
        return 0
    recorded = read_marker(args.marker)
    if recorded is None:
        print(f"no {args.marker}")
        return MISSING
    changed = stale_inputs(recorded, record)
    if changed:
        names = describe_inputs(changed, given)
        print(f"{args.marker} was made from other inputs (changed: {names})")
        return STALE
    print(f"{args.marker} is current")
    return CURRENT


if __name__ == "__main__":
    run_main(main, "stage_marker")
