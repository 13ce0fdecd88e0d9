"""What run.sh checks before any stage does work: every named corpus, data set, config and
experiment exists (or a stage in the run makes it), every config resolves, so that a typo
stops the run within seconds (most of them importing torch, which the configs' classes
need), before any stage starts, with the names that do exist, and leaves nothing behind.

Each problem is one line; all of them are reported at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from antispoof.config import resolve_file
from antispoof.corpora.sets import CORPUS_SETS
from antispoof.data.cache_plan import DEFAULT_BUDGET, POLICIES, CachePlanError, parse_budget
from antispoof.data.feature_store import DEFAULT_DTYPE, DTYPES
from antispoof.registry import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where the corpus-specific stages live, relative to the repository root.
LOCAL_DIR = REPO_ROOT / "local"


@dataclass(frozen=True)
class RunPlan:
    """The inputs of one run of the pipeline, as run.sh's options give them."""

    recipe_dir: Path
    stage: int
    stop_stage: int
    corpora: Sequence[tuple[str, str]]  # (corpus, root relative to the recipe or absolute)
    train_set: str
    dev_set: str
    test_sets: Sequence[str]
    configs: Sequence[str]  # relative to the recipe
    run_overrides: Sequence[Sequence[str]]  # the overrides of each run of each config
    exp_dir: str
    cache: str = "auto"
    cache_budget: str = DEFAULT_BUDGET
    cache_dtype: str = DEFAULT_DTYPE

    def runs(self, stage: int) -> bool:
        return self.stage <= stage <= self.stop_stage


def check_run(plan: RunPlan) -> list[str]:
    """Every problem of `plan`, one line each (none: the run may start)."""
    return [
        *_corpus_problems(plan),
        *_set_problems(plan),
        *_config_problems(plan),
        *_exp_dir_problems(plan),
        *_cache_problems(plan),
    ]


def _corpus_problems(plan: RunPlan) -> list[str]:
    problems = []
    known = sorted(path.name for path in LOCAL_DIR.iterdir() if path.is_dir())
    for corpus, root in plan.corpora:
        if corpus not in known:
            problems.append(f"--corpora: no corpus {corpus!r} (local/{corpus}/); known: {known}")
            continue
        path = _in_recipe(plan, root)
        # Stage 1 reads the corpus that stage 0 got: without stage 0 in the run, it must be there.
        if plan.runs(1) and not plan.runs(0) and not (path / ".complete").is_file():
            state = "does not exist" if not path.exists() else "has no .complete marker"
            problems.append(
                f"corpus {corpus}: {path} {state}: run stage 0 (--stage 0) to get it, or point "
                "--db_root (or conf/db.sh) at a complete copy"
            )
    return problems


def _set_problems(plan: RunPlan) -> list[str]:
    if plan.stop_stage < 1:
        return []
    corpus_sets = {name for corpus, _ in plan.corpora for name in CORPUS_SETS.get(corpus, ())}
    made = corpus_sets if plan.runs(1) else set()
    existing = {path.parent.name for path in (plan.recipe_dir / "data").glob("*/wav.scp")}
    named = [
        ("--train_set", plan.train_set),
        ("--dev_set", plan.dev_set),
        *(("--test_sets", name) for name in plan.test_sets),
    ]
    problems = []
    for option, name in named:
        if not name or name in made or name in existing:
            continue
        where = plan.recipe_dir / "data" / name
        if name in corpus_sets:
            problems.append(
                f"{option} {name}: no data set {where} yet: stage 1 makes it (--stage 1)"
            )
            continue
        offered = sorted(corpus_sets | existing)
        hint = f"the sets are {', '.join(offered)}" if offered else "no data set exists"
        problems.append(f"{option} {name}: no data set {where}; {hint}")
    return problems


def _config_problems(plan: RunPlan) -> list[str]:
    if plan.exp_dir or plan.stop_stage < 2:
        return []
    problems = []
    for config in plan.configs:
        path = plan.recipe_dir / config
        if not path.is_file():
            offered = sorted(
                str(found.relative_to(plan.recipe_dir))
                for found in (plan.recipe_dir / "conf").glob("*.yaml")
            )
            problems.append(f"--config {config}: no such file; the recipe's configs: {offered}")
            continue
        for overrides in plan.run_overrides:
            try:
                resolve_file(path, list(overrides))
            except ConfigError as err:
                problems.append(f"--config {config}: {err}")
                break
    return problems


def _exp_dir_problems(plan: RunPlan) -> list[str]:
    if not plan.exp_dir:
        return []
    path = _in_recipe(plan, plan.exp_dir)
    if not (path / "config.yaml").is_file():
        state = "does not exist" if not path.exists() else "holds no config.yaml"
        return [f"--exp_dir {plan.exp_dir}: {path} {state}; give a trained experiment directory"]
    return []


def _cache_problems(plan: RunPlan) -> list[str]:
    problems = []
    if plan.cache not in POLICIES:
        problems.append(f"--cache {plan.cache}: not one of {', '.join(POLICIES)}")
    if plan.cache_dtype not in DTYPES:
        problems.append(f"--cache_dtype {plan.cache_dtype}: not one of {', '.join(DTYPES)}")
    try:
        parse_budget(plan.cache_budget, free=0)
    except CachePlanError as err:
        problems.append(str(err))
    return problems


def _in_recipe(plan: RunPlan, path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else plan.recipe_dir / path
