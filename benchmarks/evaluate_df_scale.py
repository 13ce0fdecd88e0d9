"""Wall time of `evaluate` on synthetic sets the size of ASVspoof 2021 DF and LA.

Usage:
    python benchmarks/evaluate_df_scale.py [--track df|la] [--work_dir DIR] [--plots]

`df` (default): a data directory like 2021 DF (611,829 trials; utt2label, utt2attack,
utt2codec, utt2vocoder, utt2subset with the real class and eval-subset sizes, 9 codecs, 5
vocoder families, 110 attacks). `la`: like 2021 LA (181,566 trials, 7 codecs, 4 channels,
13 attacks, 3 subsets) with an ASV key and ASV scores of 785,281 lines in `asv2021/`. Then
one evaluation is timed: reading and checking the files, pooled and per-subset EERs (and 2021
min t-DCF), per-attack EERs and every condition table. A guard against slow code, without
timing assertions in the test suite; the figures are synthetic and mean nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from antispoof.evaluation.evaluate import evaluate
from antispoof.evaluation.factors import DF_CODECS, LA_CODECS, VOCODERS

# (trials, bona fide, eval-subset bona fide, eval-subset spoof); the rest of the trials are
# split evenly between progress and hidden, whose real split is not published.
SIZES = {"df": (611_829, 22_617, 14_869, 519_059), "la": (181_566, 18_452, 14_816, 133_360)}
N_DF_ATTACKS = 110
LA_ATTACKS = tuple(f"A{number:02d}" for number in range(7, 20))
CHANNELS = ("ita_tx", "sin_tx", "loc_tx", "mad_tx")
N_ASV = 785_281


def draw_trials(track: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Label, subset and factors of every trial, and a score (spoofs overlap bona fide more
    in some conditions than in others)."""
    n_trials, n_bonafide, *n_eval = SIZES[track]
    is_bonafide = np.zeros(n_trials, dtype=bool)
    is_bonafide[rng.choice(n_trials, n_bonafide, replace=False)] = True
    subset = np.where(rng.random(n_trials) < 0.5, "progress", "hidden").astype("<U8")
    for label, n in zip((True, False), n_eval, strict=True):
        subset[rng.choice(np.flatnonzero(is_bonafide == label), n, replace=False)] = "eval"
    codecs = DF_CODECS if track == "df" else LA_CODECS
    codec = np.array(codecs)[rng.integers(0, len(codecs), n_trials)]
    if track == "df":
        family = rng.integers(0, len(VOCODERS), n_trials)
        attack = np.char.add("A", rng.integers(0, N_DF_ATTACKS, n_trials).astype(str))
        factors = {
            "utt2vocoder": np.where(is_bonafide, "bonafide", np.array(list(VOCODERS))[family])
        }
    else:
        family = rng.integers(0, len(LA_ATTACKS), n_trials)
        attack = np.array(LA_ATTACKS)[family]
        channel = np.array(CHANNELS)[rng.integers(0, len(CHANNELS), n_trials)]
        factors = {"utt2channel": np.where(codec == "none", "-", channel)}
    scores = np.where(
        is_bonafide, rng.normal(2.0, 1.0, n_trials), rng.normal(-1.0 + 0.4 * family, 1.5, n_trials)
    )
    return {
        "utt2label": np.where(is_bonafide, "bonafide", "spoof"),
        "utt2attack": np.where(is_bonafide, "bonafide", attack),
        "utt2codec": codec,
        "utt2subset": subset,
        **factors,
        "scores": scores,
    }


def write_asv(directory: Path, rng: np.random.Generator) -> None:
    """An ASV key and scores of N_ASV lines over the LA conditions and subsets."""
    label = np.array(["target", "nontarget", "spoof"])[rng.choice(3, N_ASV, p=[0.3, 0.3, 0.4])]
    codec = np.array(LA_CODECS)[rng.integers(0, len(LA_CODECS), N_ASV)]
    channel = np.where(codec == "none", "-", np.array(CHANNELS)[rng.integers(0, 4, N_ASV)])
    attack = np.where(
        label == "spoof", np.array(LA_ATTACKS)[rng.integers(0, 13, N_ASV)], "bonafide"
    )
    subset = np.array(["eval", "progress", "hidden"])[rng.choice(3, N_ASV, p=[0.8, 0.1, 0.1])]
    mean = np.select([label == "target", label == "nontarget"], [4.0, -4.0], 2.0)
    ids = [
        f"LA_{i % 100:04d}-{c}-{t} LA_E_{i}-{c}-{t}"
        for i, (c, t) in enumerate(zip(codec, channel, strict=True))
    ]
    rows = zip(ids, codec, channel, attack, label, subset, strict=True)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "trial_metadata.txt").write_text(
        "".join(f"{' '.join(row[:5])} notrim {row[5]}\n" for row in rows)
    )
    scores = rng.normal(mean, 2.0)
    (directory / "score.txt").write_text(
        "".join(f"{i} {s:.6f}\n" for i, s in zip(ids, scores, strict=True))
    )


def write_set(track: str, root: Path, seed: int = 0) -> tuple[Path, Path]:
    """A data directory and a score file under `root`."""
    rng = np.random.default_rng(seed)
    columns = draw_trials(track, rng)
    scores = columns.pop("scores")
    prefix, first = ("DF_E_", 2_000_000) if track == "df" else ("LA_E_", 1_000_000)
    utts = [f"{prefix}{first + i}" for i in range(scores.size)]  # fixed width: sorted
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, values in columns.items():
        lines = (f"{u} {v}\n" for u, v in zip(utts, values, strict=True))
        (data_dir / name).write_text("".join(lines))
    if track == "la":
        write_asv(data_dir / "asv2021", rng)
    scores_file = root / "scores.txt"
    lines = (f"{u} {s:.6f}\n" for u, s in zip(utts, scores, strict=True))
    scores_file.write_text("".join(lines))
    return data_dir, scores_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--track", choices=sorted(SIZES), default="df")
    parser.add_argument("--work_dir", type=Path, help="where the set is written (default: tmp)")
    parser.add_argument("--plots", action="store_true", help="also draw the DET and histogram")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.work_dir or Path(tmp)
        data_dir, scores_file = write_set(args.track, root)
        started = time.perf_counter()
        metrics = evaluate(scores_file, data_dir, plots_dir=root / "plots" if args.plots else None)
        wall = time.perf_counter() - started
    n_cells = sum(
        cell is not None
        for table in metrics["per_subset"]["eval"]["conditions"].values()
        for row in table["cells"].values()
        for cell in row.values()
    )
    tdcf = f", min t-DCF {metrics['min_tdcf']:.4f}" if "min_tdcf" in metrics else ""
    print(
        f"{args.track}: {metrics['n_bonafide'] + metrics['n_spoof']} trials, "
        f"{len(metrics['per_attack'])} attacks, {n_cells} eval-subset cells; "
        f"pooled EER {100 * metrics['eer']:.3f} %{tdcf}"
    )
    print(f"evaluate{' with plots' if args.plots else ''}: {wall:.2f} s wall")


if __name__ == "__main__":
    main()
