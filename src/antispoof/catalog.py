"""Every swappable part a config can name, by kind, with its settings and their defaults: what
`python -m antispoof.bin.show_config` lists, and what README.md and docs/DESIGN.md must name
(a test holds them equal).

Settings that the pipeline derives (a model's input specs, a loss's embedding size, an
optimizer's parameters) are not listed: a config never gives them.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from antispoof.registry import Registry, describe, expected_types


@dataclass(frozen=True)
class Kind:
    """A registry, the config key that names its parts, and the settings the pipeline gives."""

    key: str  # how a config names a part of this kind
    registry: Registry[Any]
    derived: tuple[str, ...]


def kinds() -> dict[str, Kind]:
    """Every registry by kind (importing them registers every part)."""
    from antispoof.augment import AUGMENTATIONS
    from antispoof.augment.waveform import WAVEFORM_AUGMENTATIONS
    from antispoof.frontends import FRONTENDS
    from antispoof.losses import LOSSES
    from antispoof.models import MODELS
    from antispoof.optim import OPTIMIZERS, SCHEDULERS

    return {
        "frontend": Kind("frontend / inputs.<branch>.frontend", FRONTENDS, ()),
        "model": Kind("model", MODELS, ("inputs",)),
        "loss": Kind("loss", LOSSES, ("embedding_dim",)),
        "augmentation": Kind("augment: {<name>: {...}}", AUGMENTATIONS, ()),
        "waveform augmentation": Kind(
            "waveform_augment: {<name>: {...}}", WAVEFORM_AUGMENTATIONS, ("sample_rate",)
        ),
        "optimizer": Kind("optim", OPTIMIZERS, ("params",)),
        "scheduler": Kind("scheduler", SCHEDULERS, ("optimizer",)),
    }


@dataclass(frozen=True)
class Setting:
    name: str
    type: str  # as a config gives it: "an int", "one of 'a', 'b'", ...
    default: Any
    required: bool


def settings_of(kind: Kind, name: str) -> list[Setting]:
    """The settings a config may give for part `name`, in the constructor's order."""
    registry = kind.registry
    expected = expected_types(registry.get(name))
    required = set(registry.required(name))
    return [
        Setting(key, describe(expected[key]), default, key in required)
        for key, default in registry.settings(name).items()
        if key not in kind.derived
    ]


def render_catalog(only: str | None = None) -> str:
    """Every part of every kind (or of kind `only`) with its settings, as text."""
    selected = kinds()
    if only is not None:
        if only not in selected:
            raise ValueError(f"no kind {only!r}; the kinds are {', '.join(selected)}")
        selected = {only: selected[only]}
    lines = []
    for kind_name, kind in selected.items():
        lines.append(f"{kind_name} (config: {kind.key})")
        for name in kind.registry.names():
            summary = _summary(kind.registry.get(name))
            lines.append(f"  {name}{f': {summary}' if summary else ''}")
            for setting in settings_of(kind, name):
                value = "(required)" if setting.required else f"= {setting.default!r}"
                lines.append(f"      {setting.name} {value}  [{setting.type}]")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _summary(constructor: Any) -> str:
    """The first sentence of a part's own docstring (not one it inherits)."""
    doc = (
        inspect.cleandoc(vars(constructor).get("__doc__") or "")
        if isinstance(constructor, type)
        else inspect.getdoc(constructor) or ""
    )
    paragraph = " ".join(doc.split("\n\n", 1)[0].split())
    sentence = paragraph.split(". ", 1)[0].rstrip(".")
    return sentence if len(sentence) <= 110 else sentence[:107] + "..."
