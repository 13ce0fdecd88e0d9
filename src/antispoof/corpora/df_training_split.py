"""A train/dev split drawn from the ASVspoof 2021 DF key, bona fide oversampled
(docs/research/papers.md §D).

The One-Class Softmax poster trains on Kawa et al.'s DF data: 100,000 train and 25,000 dev
trials drawn from the 2021 DF evaluation key, with the bona fide class (22,617 of 611,829
trials) oversampled so that both classes are equally frequent. Kawa's own draw (pandas
shuffles of a file listing) cannot be replayed from the key, so this module makes an equivalent
draw that anyone can repeat from the key and a seed:

1. Sort the trials by trial id (C order) and split them by label: bona fide B and spoof S.
2. `rng = numpy.random.default_rng(seed)`; put B in the order `rng.permutation(len(B))`,
   then S in the order of the next `rng.permutation(len(S))`.
3. Cut each shuffled class into three disjoint pools, as Kawa's 70/15/15 split does: the first
   15 % (`n * 15 // 100`, at least one trial) for dev, the next 15 % (at least one) reserved
   for testing, the rest for train. The reserved pools keep both classes in the held-out sets.
4. Each set asks for `size // 2` bona fide entries and `size - size // 2` spoof entries.
   Spoof is never oversampled: when the spoof pool of a set is smaller than its spoof target,
   the set shrinks to twice the pool size (half of each class), and a warning says so. The full
   key has pools of 412,450 (train) and 88,381 (dev) spoof trials, ample for 100k/25k.
5. Spoof entries: the first `target` trials of the spoof pool. Bona fide entries:
   `q, r = divmod(target, len(pool))`; every trial of the pool `q` times, and the first `r`
   trials of the pool once more (so copies differ in number by at most one; when the pool is
   larger than the target, `q == 0` and only the first `target` trials are taken).
6. Kaldi keys must be unique, so copy k >= 2 of a trial gets the utterance id
   `<trial id>-rep<k>` (`DF_E_2000011`, `DF_E_2000011-rep2`, ...); every copy keeps its source
   trial, so all of them read the same audio file and carry its labels. In C order the copies
   sort right after the original, since all DF ids have the same length.

Train and dev draw from disjoint pools, so they share no source trial; the trials they use are
returned in `used`, for the held-out evaluation sets to leave out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Generic, Protocol, TypeVar

import numpy as np

from antispoof.labels import BONAFIDE_NAME, NAMES, SPOOF_NAME

DEFAULT_SEED = 42  # Kawa's `random_state` for the 100k/25k draw (the draw itself differs)
POOL_PERCENT = 15  # of each class for the dev pool, and again for the reserved pool
REPEAT_SUFFIX = "-rep"

logger = logging.getLogger(__name__)


class LabelledTrial(Protocol):
    @property
    def utt(self) -> str: ...

    @property
    def label(self) -> str: ...


TrialT = TypeVar("TrialT", bound=LabelledTrial)


@dataclass(frozen=True)
class SplitSizes:
    """Entries in df21_train and df21_dev, half of each bona fide (oversampled)."""

    train: int = 100_000
    dev: int = 25_000

    def __post_init__(self) -> None:
        for name, size in (("train", self.train), ("dev", self.dev)):
            if size < 2:
                raise ValueError(f"{name} size {size}: a split needs at least 2 (one per class)")


DEFAULT_SIZES = SplitSizes()


@dataclass(frozen=True)
class TrainingSplit(Generic[TrialT]):
    """(utterance id, source trial) pairs of each set, and the ids of the source trials used."""

    train: list[tuple[str, TrialT]]
    dev: list[tuple[str, TrialT]]
    used: frozenset[str]


def draw_training_split(
    trials: Sequence[TrialT], sizes: SplitSizes = DEFAULT_SIZES, seed: int = DEFAULT_SEED
) -> TrainingSplit[TrialT]:
    """Draw the train and dev sets of `sizes` from `trials` as the module docstring describes."""
    rng = np.random.default_rng(seed)
    ordered = sorted(trials, key=attrgetter("utt"))  # str order is C order (code points)
    pools = {}
    for label in NAMES:
        members = [trial for trial in ordered if trial.label == label]
        if len(members) < 3:
            raise ValueError(
                f"the key has {len(members)} {label} trials; a training split needs at least 3 "
                "(for the train, dev and reserved pools)"
            )
        shuffled = [members[i] for i in rng.permutation(len(members))]
        pools[label] = _cut_pools(shuffled)
    train = _draw_set("train", sizes.train, pools[BONAFIDE_NAME][0], pools[SPOOF_NAME][0])
    dev = _draw_set("dev", sizes.dev, pools[BONAFIDE_NAME][1], pools[SPOOF_NAME][1])
    used = frozenset(trial.utt for _, trial in (*train, *dev))
    return TrainingSplit(train, dev, used)


def _cut_pools(shuffled: list[TrialT]) -> tuple[list[TrialT], list[TrialT]]:
    """(train pool, dev pool) of one shuffled class; the reserved pool is left out."""
    share = max(1, len(shuffled) * POOL_PERCENT // 100)
    return shuffled[2 * share :], shuffled[:share]


def _draw_set(
    name: str, size: int, bonafide_pool: list[TrialT], spoof_pool: list[TrialT]
) -> list[tuple[str, TrialT]]:
    if size - size // 2 > len(spoof_pool):
        logger.warning(
            "DF training split: the %s pool holds only %d spoof trials (%d wanted), so the %s "
            "set shrinks from %d to %d entries (a key smaller than the requested sizes)",
            name,
            len(spoof_pool),
            size - size // 2,
            name,
            size,
            2 * len(spoof_pool),
        )
        size = 2 * len(spoof_pool)
    spoof_target = size - size // 2
    entries = [(trial.utt, trial) for trial in spoof_pool[:spoof_target]]
    entries += _oversampled(bonafide_pool, size // 2)
    entries.sort(key=lambda entry: entry[0])
    return entries


def _oversampled(pool: list[TrialT], target: int) -> list[tuple[str, TrialT]]:
    """`target` entries from `pool`: each trial q or q + 1 times, copies renamed `-rep<k>`."""
    repeats, extra = divmod(target, len(pool))
    entries = []
    for index, trial in enumerate(pool):
        copies = repeats + (1 if index < extra else 0)
        entries += [
            (trial.utt if copy == 1 else f"{trial.utt}{REPEAT_SUFFIX}{copy}", trial)
            for copy in range(1, copies + 1)
        ]
    return entries
