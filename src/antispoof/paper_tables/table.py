"""Read and check a published table file (`antispoof/paper_tables/<name>.yaml`).

The file's layout:

    title: ...                      # what the table is
    citation: ...                   # where it was published, and which table
    notes: [...]                    # optional: what a reader must know to compare
    columns:                        # in print order
      <column id>: {label: Dev EER (%), set: dev, figure: eer}   # protocol: official (default)
    rows:
      - id: <row id>                # what --exp names
        label: ...                  # the row as the paper labels it
        recipe: asvspoof2019        # egs/<recipe>/ trains (or holds) the experiment
        config: conf/<name>.yaml    # relative to the recipe, as run.sh takes it
        overrides: [train.epochs=20]          # optional
        run_options: --train_set df21_train   # optional: more options of the recipe's run.sh
        # or, for an experiment that no config trains (a published model imported):
        experiment: <tag under egs/<recipe>/exp/>
        commands: [...]             # how it is made, run in egs/<recipe>/
        published:                  # only the cells the paper publishes (none: a row measured
          <column id>: {value: 0.354, polarity: conventional, set: df21_dev, note: ...}  # only)

A figure is `eer` (in %, as papers print it) or `min_tdcf`. A polarity says how the published
figure treats the scores: `conventional` (a higher score is more bona fide, this repository's
convention), `negated` (the EER of the negated scores), or `lower_of_both` (the lower of the two,
as an evaluation that tries both polarities reports). A `set` is a test set of the recipe, or
`<set>/<subset>` for the figures of one subset of it (`df21_full/eval`: the official ranking
subset of the 2021 DF key, evaluated from the one scoring pass of the whole key). A cell's `set`
replaces its column's test set for that row (a recipe that names its dev set `df21_dev`, say).
A `protocol` (column or cell) says under which protocol a figure is: `official` (default: the
model's own scoring, the official subset where a set has one, as papers report) or `arena` (the
Speech Anti-Spoofing Arena's: every trial's first window, antispoof.arena; measured from
`metrics.arena.json`). The config file itself need not exist yet: a table may name the config of
a recipe still to come.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from antispoof.config import experiment_tag, parse_override
from antispoof.registry import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
FIGURES = ("eer", "min_tdcf")
PROTOCOLS = ("official", "arena")
POLARITIES = ("conventional", "negated", "lower_of_both")


class PaperTableError(ValueError):
    """A table file that does not follow the layout; the message names the file and the key."""


@dataclass(frozen=True)
class Column:
    id: str
    label: str
    set: str
    figure: str
    protocol: str = "official"


@dataclass(frozen=True)
class Cell:
    """A published figure of one row and column."""

    column: str
    set: str
    figure: str
    value: float
    polarity: str
    note: str | None
    protocol: str = "official"


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    recipe: str
    config: str | None
    overrides: tuple[str, ...]
    run_options: str
    experiment: str | None
    commands: tuple[str, ...]
    cells: dict[str, Cell]

    @property
    def tag(self) -> str:
        """The experiment tag of the row's run with the config's own seed."""
        if self.experiment is not None:
            return self.experiment
        assert self.config is not None  # the loader requires one of the two
        return experiment_tag(self.config, list(self.overrides))

    @property
    def config_path(self) -> str | None:
        """The config relative to the repository root."""
        return None if self.config is None else f"egs/{self.recipe}/{self.config}"


@dataclass(frozen=True)
class PaperTable:
    name: str
    path: Path
    title: str
    citation: str
    notes: tuple[str, ...]
    columns: dict[str, Column]
    rows: tuple[Row, ...]


def packaged_tables() -> list[str]:
    """The names of the tables shipped with the package."""
    return sorted(path.stem for path in PACKAGE_DIR.glob("*.yaml"))


def load_table(name_or_path: str | os.PathLike[str]) -> PaperTable:
    """A packaged table by name, or a table file by path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = PACKAGE_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise PaperTableError(
                f"no published table {str(name_or_path)!r}; the packaged ones are "
                f"{', '.join(packaged_tables())}, or give a table file (.yaml)"
            )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise PaperTableError(f"{path}: not valid YAML ({err})") from None
    return _table(path, _mapping(data, path, "the file"))


def _table(path: Path, data: dict[str, Any]) -> PaperTable:
    _known_keys(data, {"title", "citation", "notes", "columns", "rows"}, path, "the file")
    columns = {}
    for column_id, raw in _mapping(data.get("columns"), path, "columns").items():
        where = f"columns.{column_id}"
        column = _mapping(raw, path, where)
        _known_keys(column, {"label", "set", "figure", "protocol"}, path, where)
        columns[column_id] = Column(
            id=column_id,
            label=_text(column, "label", path, where),
            set=_text(column, "set", path, where),
            figure=_choice(column, "figure", FIGURES, path, where),
            protocol=_choice(
                {"protocol": "official", **column}, "protocol", PROTOCOLS, path, where
            ),
        )
    raw_rows = data.get("rows")
    if not isinstance(raw_rows, list) or not raw_rows:
        raise PaperTableError(f"{path}: rows must be a non-empty list of rows")
    rows = tuple(_row(raw, path, f"rows[{i}]", columns) for i, raw in enumerate(raw_rows))
    ids = [row.id for row in rows]
    repeated = sorted({row_id for row_id in ids if ids.count(row_id) > 1})
    if repeated:
        raise PaperTableError(f"{path}: row ids must be unique; repeated: {', '.join(repeated)}")
    notes = data.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
        raise PaperTableError(f"{path}: notes must be a list of strings")
    return PaperTable(
        name=path.stem,
        path=path,
        title=_text(data, "title", path, "the file"),
        citation=_text(data, "citation", path, "the file"),
        notes=tuple(notes),
        columns=columns,
        rows=rows,
    )


ROW_KEYS = {"id", "label", "recipe", "config", "overrides", "run_options", "experiment"}


def _row(raw: Any, path: Path, where: str, columns: dict[str, Column]) -> Row:
    row = _mapping(raw, path, where)
    _known_keys(row, ROW_KEYS | {"commands", "published"}, path, where)
    config = _optional_text(row, "config", path, where)
    experiment = _optional_text(row, "experiment", path, where)
    if (config is None) == (experiment is None):
        raise PaperTableError(
            f"{path}: {where}: give config (a config that trains the row) or experiment (the tag "
            "of an experiment made by its commands), one of them"
        )
    overrides = _text_list(row, "overrides", path, where)
    for text in overrides:
        try:
            parse_override(text)
        except ConfigError as err:
            raise PaperTableError(f"{path}: {where}.overrides: {err}") from None
    commands = _text_list(row, "commands", path, where)
    if experiment is not None and not commands:
        raise PaperTableError(f"{path}: {where}: an experiment row needs the commands making it")
    cells = {}
    # A row without `published` is measured only (an ablation the paper does not publish).
    published = row.get("published")
    published = {} if published is None else _mapping(published, path, f"{where}.published")
    for column_id, raw_cell in published.items():
        cell_where = f"{where}.published.{column_id}"
        if column_id not in columns:
            raise PaperTableError(
                f"{path}: {cell_where}: no such column; the columns are {', '.join(columns)}"
            )
        cell = _mapping(raw_cell, path, cell_where)
        _known_keys(cell, {"value", "polarity", "set", "note", "protocol"}, path, cell_where)
        value = cell.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PaperTableError(f"{path}: {cell_where}.value must be a number, got {value!r}")
        cells[column_id] = Cell(
            column=column_id,
            set=_optional_text(cell, "set", path, cell_where) or columns[column_id].set,
            figure=columns[column_id].figure,
            value=float(value),
            polarity=_choice(cell, "polarity", POLARITIES, path, cell_where),
            note=_optional_text(cell, "note", path, cell_where),
            protocol=_choice(
                {"protocol": columns[column_id].protocol, **cell},
                "protocol",
                PROTOCOLS,
                path,
                cell_where,
            ),
        )
    return Row(
        id=_text(row, "id", path, where),
        label=_text(row, "label", path, where),
        recipe=_text(row, "recipe", path, where),
        config=config,
        overrides=tuple(overrides),
        run_options=_optional_text(row, "run_options", path, where) or "",
        experiment=experiment,
        commands=tuple(commands),
        cells=cells,
    )


def _mapping(value: Any, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise PaperTableError(f"{path}: {where} must be a non-empty mapping, got {value!r}")
    return value


def _known_keys(mapping: dict[str, Any], known: set[str], path: Path, where: str) -> None:
    unknown = sorted(str(key) for key in mapping if key not in known)
    if unknown:
        raise PaperTableError(
            f"{path}: {where}: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )


def _text(mapping: dict[str, Any], key: str, path: Path, where: str) -> str:
    value = _optional_text(mapping, key, path, where)
    if value is None:
        raise PaperTableError(f"{path}: {where}: {key} is missing")
    return value


def _optional_text(mapping: dict[str, Any], key: str, path: Path, where: str) -> str | None:
    value = mapping.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise PaperTableError(f"{path}: {where}.{key} must be a non-empty string, got {value!r}")
    return value


def _text_list(mapping: dict[str, Any], key: str, path: Path, where: str) -> list[str]:
    value = mapping.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PaperTableError(f"{path}: {where}.{key} must be a list of strings, got {value!r}")
    return value


def _choice(
    mapping: dict[str, Any], key: str, choices: tuple[str, ...], path: Path, where: str
) -> str:
    value = mapping.get(key)
    if value not in choices:
        raise PaperTableError(
            f"{path}: {where}.{key} must be one of {', '.join(choices)}, got {value!r}"
        )
    return value
