r"""Write the Speech Anti-Spoofing Arena submission files of an experiment's scores of one set.

Usage:
    python -m antispoof.bin.arena_export --exp_dir exp/<tag> --data_dir data/df21_full \
        --dataset SpeechAntiSpoofingBenchmarks/ASVspoof2021_DF --out_dir arena/df21 \
        [--slug my-system] [--name "My system"] [--description TEXT] [--code URL]

Reads `<exp_dir>/<set>/scores.arena.txt` (stage 4's Arena-protocol scores: every trial's first
64,600 samples, antispoof.arena) and its `metrics.arena.json` (stage 5), where `<set>` is the
data directory's name, and writes into --out_dir:

  scores.txt      `<utterance_id> <score>`, higher = bona fide, one line per scored trial; the
                  ids are the audio files' names without extension (the ASVspoof trial ids)
  <slug>.yaml     the submission record (schema 4): system, dataset, the Arena-protocol EER
                  computed here, the trial and skipped counts, the sha256 of scores.txt, this
                  repository's commit; `artifact.scores_url` is left for the pinned URL of the
                  upload (the Arena's submissions/README.md gives the steps)

A trial of the data directory without a score counts as skipped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from antispoof.arena import ARENA_METRICS, ARENA_SCORES, write_submission
from antispoof.bin._cli import run_main
from antispoof.bin.collect_results import git_commit
from antispoof.data.kaldi_files import read_table
from antispoof.evaluation.score_file import read_scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--exp_dir", required=True, type=Path)
    parser.add_argument("--data_dir", required=True, type=Path)
    parser.add_argument("--dataset", required=True, help="the Arena's dataset id")
    parser.add_argument("--out_dir", required=True, type=Path)
    parser.add_argument("--slug", help="default: the experiment's tag")
    parser.add_argument("--name", help="default: the experiment's tag")
    parser.add_argument("--description", default="")
    parser.add_argument("--code", default="", help="the code's URL")
    args = parser.parse_args(argv)
    set_dir = args.exp_dir / args.data_dir.name
    scores_file = set_dir / ARENA_SCORES
    if not scores_file.is_file():
        raise FileNotFoundError(
            f"{scores_file} not found: score {args.data_dir} with the experiment first (stage 4)"
        )
    scores = read_scores(scores_file)
    ids = {utt: Path(path).stem for utt, path in read_table(args.data_dir / "wav.scp").items()}
    unknown = sorted(set(scores) - set(ids))
    if unknown:
        raise ValueError(
            f"{scores_file} scores trials that {args.data_dir} lacks, e.g. {unknown[:3]}"
        )
    metrics_file = set_dir / ARENA_METRICS
    eer = json.loads(metrics_file.read_text())["eer"] if metrics_file.is_file() else None
    tag = args.exp_dir.resolve().name
    pretrained = args.exp_dir / "pretrained.json"
    checkpoint = json.loads(pretrained.read_text()).get("url", "") if pretrained.is_file() else ""
    system = {
        "name": args.name or tag,
        "slug": args.slug or tag,
        "description": args.description,
        "code": args.code,
        "checkpoint": checkpoint,
    }
    written = write_submission(scores, ids, args.out_dir, args.dataset, system, eer, git_commit())
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    run_main(main, "arena_export")
