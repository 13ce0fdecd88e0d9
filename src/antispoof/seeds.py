"""Runs of one config with several seeds: their overrides, and their experiment tags.

A seeded run is the config with `train.seed=<s>` appended to the user's overrides, so that its
tag, which the override mechanism derives (antispoof.config.experiment_tag), is the unseeded
tag plus `__train.seed=<s>`. With no seeds there is one run, the user's overrides alone: the
config's own seed and the tag it always had.
"""

from __future__ import annotations

import re

from antispoof.config import parse_override

SEED_KEY = "train.seed"


def parse_seeds(text: str) -> list[int]:
    """`"1 2 3"` -> [1, 2, 3]; each a distinct non-negative integer (torch's seeds)."""
    seeds = []
    for word in text.split():
        if not re.fullmatch(r"\d+", word):
            raise ValueError(f"--seeds: {word!r} is not a non-negative integer seed")
        seed = int(word)
        if seed in seeds:
            raise ValueError(f"--seeds: seed {seed} is given twice; it would train one run twice")
        seeds.append(seed)
    return seeds


def run_overrides(seeds: list[int], overrides: list[str]) -> list[list[str]]:
    """The overrides of each run: one run per seed (the seed last, so that the tag ends with
    it), or the overrides alone when there is no seed."""
    if not seeds:
        return [list(overrides)]
    for text in overrides:
        keys, _ = parse_override(text)
        if ".".join(keys) == SEED_KEY:
            raise ValueError(
                f"--override {text!r} and --seeds both set {SEED_KEY}: give the seeds with "
                "--seeds only"
            )
    return [[*overrides, f"{SEED_KEY}={seed}"] for seed in seeds]


def seed_of_tag(tag: str, unseeded_tag: str) -> int | None:
    """The seed of a seeded run of the experiment `unseeded_tag`, or None if `tag` is not one."""
    match = re.fullmatch(re.escape(f"{unseeded_tag}__{SEED_KEY}=") + r"(\d+)", tag)
    return None if match is None else int(match.group(1))
