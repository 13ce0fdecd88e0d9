"""Projected stage-2 cache sizes of every config in egs/ on the real corpora, and what the
default cache policy makes of them on a 2 TB disk. The tables of the recipe READMEs.

Usage:
    python benchmarks/cache_sizes.py [--recipe asvspoof2021_df] [--disk 2T] [--corpora 100G]

No corpus is read: each set is a union of pools of audio files of known count (the official
protocols, docs/research/corpora.md) and an assumed mean duration (below), and a cache's size is
count x the bytes of one record at the mean duration (antispoof.data.cache_plan.record_bytes:
frames x channels x dim x bytes per value, plus the record's header), plus its scp lines. The
sets of a run share each branch's feature store, so an audio file counts once per branch
(df21_eval lies inside df21_full; the -rep<k> copies of df21_train are one file), exactly as
stage 2 stores it. The default policy is run by the same code stage 2 runs
(antispoof.data.cache_plan.decide): `--cache auto` with a budget of half the free space, that
free space being the disk less the corpora on it (`--corpora`), and its reserve kept free.

Mean durations: In-the-Wild 37.9 h over 31,779 clips, 4.29 s (published). No published mean was
found for the ASVspoof corpora: 3.4 s is assumed for 2019 and 2021 LA (LA.zip holds about 62 kB
of FLAC per file, 3 to 4 s of 16 kHz speech at FLAC's usual ratio), and both 3.4 s and a
pessimistic 6.5 s for 2021 DF (about 56 kB per file), the larger deciding what the default
policy caches.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from antispoof.config import branch_tag, resolve_file
from antispoof.data.cache_plan import (
    DEFAULT_BUDGET,
    RESERVE_FRACTION,
    RESERVE_MAX,
    TEXT_BYTES,
    Unit,
    decide,
    human_bytes,
    parse_budget,
    record_bytes,
)
from antispoof.frontends import FRONTENDS

REPO = Path(__file__).resolve().parents[1]
RATE = 16000
LA_SECONDS = 3.4  # assumed (see the docstring)
ITW_SECONDS = 37.9 * 3600 / 31779
DF_SECONDS = (3.4, 6.5)  # assumed bounds


@dataclass(frozen=True)
class Pool:
    """Audio files that sets share: how many, and which corpus (for the mean duration)."""

    files: int
    corpus: str  # la, df or itw


POOLS = {
    "la19_train": Pool(25_380, "la"),
    "la19_dev": Pool(24_844, "la"),
    "la19_eval": Pool(71_237, "la"),
    "la21_eval": Pool(148_176, "la"),  # the official ranking subset
    "la21_rest": Pool(181_566 - 148_176, "la"),  # progress and hidden
    "df21_eval": Pool(533_928, "df"),
    "df21_rest": Pool(611_829 - 533_928, "df"),
    # The seeded 100k/25k split (antispoof.corpora.df_training_split): its distinct files are
    # the spoof entries and the bona fide pools of 70 % and 15 % of the 22,617 bona fide trials.
    "df21_split_train": Pool(50_000 + (22_617 - 2 * (22_617 * 15 // 100)), "df"),
    "df21_split_dev": Pool(12_500 + 22_617 * 15 // 100, "df"),
    "df21_heldout": Pool(611_829 - (50_000 + 15_833) - (12_500 + 3_392), "df"),
    "itw": Pool(31_779, "itw"),
}
# Each set: its pools and its number of utterances (the -rep copies of df21_train add ids).
SETS = {
    "train": (["la19_train"], 25_380),
    "dev": (["la19_dev"], 24_844),
    "eval": (["la19_eval"], 71_237),
    "la21_eval": (["la21_eval"], 148_176),
    "la21_full": (["la21_eval", "la21_rest"], 181_566),
    "df21_eval": (["df21_eval"], 533_928),
    "df21_full": (["df21_eval", "df21_rest"], 611_829),
    "df21_train": (["df21_split_train"], 100_000),
    "df21_dev": (["df21_split_dev"], 25_000),
    "df21_full_heldout": (["df21_heldout"], 611_829 - 81_725),
    "itw": (["itw"], 31_779),
}
# The sets of each recipe's run.sh, and of the commands its README gives for other training.
RUNS = {
    "asvspoof2019": {"default sets": ("train", "dev", "dev eval")},
    "asvspoof2021_la": {"default sets": ("train", "dev", "dev la21_eval la21_full")},
    "asvspoof2021_df": {
        "default sets": ("train", "dev", "dev df21_eval df21_full"),
        "trained on DF": ("df21_train", "df21_dev", "df21_dev df21_full_heldout"),
    },
    "in_the_wild": {"default sets": ("", "", "itw")},
}


def pool_seconds(corpus: str, df_seconds: float) -> float:
    return {"la": LA_SECONDS, "df": df_seconds, "itw": ITW_SECONDS}[corpus]


def units_of(branches: dict, augmented: bool, sets: tuple[str, str, str], dtype: str, df_s: float):
    """The plan's units of one config's cacheable branches over a run's sets, sized per pool."""
    train, dev, tests = sets
    roles = [("train", train.split()), ("dev", dev.split()), ("test", tests.split())]
    units: dict[tuple[str, str], Unit] = {}
    for name, branch in branches.items():
        spec = FRONTENDS.get(branch["frontend"]).feature_spec(**branch["frontend_conf"])
        tag = branch_tag(branch)
        for role, names in roles:
            for set_name in names:
                if (tag, set_name) in units:
                    continue
                pools, utts = SETS[set_name]
                unit = Unit(
                    tag, name, "", set_name, role, spec, not (role == "train" and augmented)
                )
                unit.utts = utts
                key = "DF_E_2000011-rep2"  # a key as long as the longest ids
                unit.audio = {
                    pool: POOLS[pool].files
                    * record_bytes(
                        spec, round(pool_seconds(POOLS[pool].corpus, df_s) * RATE), dtype, key
                    )
                    for pool in pools
                }
                unit.size = sum(unit.audio.values()) + TEXT_BYTES * utts
                if not unit.read:
                    unit.decision = "not read"
                units[tag, set_name] = unit
    return list(units.values())


def before(unit: Unit) -> int:
    """What the set took before the store: a record per utterance (a -rep copy too), every
    branch x set cached."""
    files = sum(POOLS[pool].files for pool in SETS[unit.set_name][0])
    return round(unit.size * unit.utts / files)


def planned(units: list[Unit], policy: str, limit: int) -> int:
    for unit in units:
        if unit.decision != "not read":
            unit.decision = ""
    decide(units, policy, limit, {})
    return sum(unit.adds for unit in units if unit.decision == "cache")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", action="append", choices=sorted(RUNS), help="default: all")
    parser.add_argument("--disk", default="2T", help="the disk's size")
    parser.add_argument("--corpora", default="100G", help="what the corpora take on that disk")
    args = parser.parse_args()
    disk = parse_budget(args.disk, 0)
    free = disk - parse_budget(args.corpora, 0)
    reserve = int(min(RESERVE_FRACTION * disk, RESERVE_MAX))
    limit = min(parse_budget(DEFAULT_BUDGET, free), free - reserve)
    print(
        f"Disk {human_bytes(disk)}, {human_bytes(free)} free after the corpora: `--cache auto` "
        f"may add {human_bytes(limit)} ({DEFAULT_BUDGET} of the free space).\n"
    )
    for recipe in args.recipe or sorted(RUNS):
        configs = sorted((REPO / "egs" / recipe / "conf").glob("*.yaml"))
        if recipe == "in_the_wild":  # it scores experiments of the other recipes
            configs = sorted((REPO / "egs").glob("asvspoof*/conf/*.yaml"))
        for run, sets in RUNS[recipe].items():
            print(
                f"### {recipe}: {run} (train {sets[0] or '-'}, dev {sets[1] or '-'}, "
                f"test {sets[2]})\n"
            )
            df = recipe == "asvspoof2021_df"
            what = ", DF 3.4 s / 6.5 s" if df else ""
            print(
                f"| config | cached branch (C x F) | float32{what} | float16{what} | "
                f"each set apart, float32{what} (before) | "
                f"default policy, {human_bytes(disk)} disk |"
            )
            print("|---|---|---|---|---|---|")
            seen = set()
            for conf in configs:
                config = resolve_file(conf)
                branches = {
                    name: branch
                    for name, branch in config["inputs"].items()
                    if FRONTENDS.get(branch["frontend"]).cacheable_with(**branch["frontend_conf"])
                }
                name = conf.stem
                if recipe == "in_the_wild":  # one row per cached branch, whichever config
                    key = tuple(sorted(branch_tag(b) for b in branches.values()))
                    if not branches or key in seen:
                        continue
                    seen.add(key)
                    name = f"{conf.parent.parent.name}/{conf.stem} and all with its branch"
                if not branches:
                    print(f"| {name} | none (every branch runs in the model) | 0 | 0 | 0 | - |")
                    continue
                augmented = bool(config.get("waveform_augment"))
                specs = {
                    b["frontend"]: FRONTENDS.get(b["frontend"]).feature_spec(**b["frontend_conf"])
                    for b in branches.values()
                }
                label = ", ".join(f"{n} ({s.channels} x {s.dim})" for n, s in specs.items())
                sizes = {}
                for dtype in ("float32", "float16"):
                    sizes[dtype] = [
                        planned(units_of(branches, augmented, sets, dtype, s), "all", 10**18)
                        for s in (DF_SECONDS if df else DF_SECONDS[:1])
                    ]
                unshared = [
                    sum(before(u) for u in units_of(branches, augmented, sets, "float32", s))
                    for s in (DF_SECONDS if df else DF_SECONDS[:1])
                ]
                units = units_of(branches, augmented, sets, "float32", DF_SECONDS[-1])
                cached = planned(units, "auto", limit)
                skipped = [u.set_name for u in units if u.decision.startswith("over")]
                default = (
                    f"all cached, {human_bytes(cached)}"
                    if not skipped
                    else (f"{human_bytes(cached)} cached; {', '.join(skipped)} in the model")
                )
                print(
                    f"| {name} | {label} | {' / '.join(map(human_bytes, sizes['float32']))} | "
                    f"{' / '.join(map(human_bytes, sizes['float16']))} | "
                    f"{' / '.join(map(human_bytes, unshared))} | "
                    f"{default} |"
                )
            print()


if __name__ == "__main__":
    main()
