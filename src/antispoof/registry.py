"""Typed registries: a swappable part is a name plus a settings block, checked before it is built.

A registry maps names to classes (or factories). `build(name, conf, **context)` refuses unknown
names and unknown settings, naming what is allowed, so a typo in a YAML file is an error instead
of a silently ignored key. Context arguments (sizes chained from another part, such as a model's
input size taken from `frontend.output_dim`) are supplied by the pipeline and may not be typed
in a config: nothing is typed twice.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """An invalid experiment configuration (unknown name, unknown key, bad value)."""


class Registry(Generic[T]):
    """Names to constructors for one kind of part (frontend, model, loss, ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(constructor: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = constructor
            return constructor

        return decorator

    def names(self) -> list[str]:
        return sorted(self._entries)

    def get(self, name: str) -> Callable[..., T]:
        if name not in self._entries:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}"
            )
        return self._entries[name]

    def settings(self, name: str) -> dict[str, Any]:
        """The settings a config may give for `name`, with their defaults (None when required)."""
        params = inspect.signature(self.get(name)).parameters
        return {
            key: (None if p.default is inspect.Parameter.empty else p.default)
            for key, p in params.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    def check(
        self, name: str, conf: Mapping[str, Any] | None, context: tuple[str, ...] = ()
    ) -> None:
        """Refuse settings that `name` does not have, and settings the pipeline derives."""
        allowed = self.settings(name)
        for key in conf or {}:
            if key in context:
                raise ConfigError(
                    f"{self.kind} {name!r}: {key!r} is derived by the pipeline and must not be "
                    "set in the config"
                )
            if key not in allowed:
                settable = sorted(k for k in allowed if k not in context)
                raise ConfigError(
                    f"{self.kind} {name!r} has no setting {key!r}; its settings are: "
                    f"{', '.join(settable) or '(none)'}"
                )

    def build(self, name: str, conf: Mapping[str, Any] | None = None, **context: Any) -> T:
        constructor = self.get(name)
        self.check(name, conf, tuple(context))
        unknown_context = [key for key in context if key not in self.settings(name)]
        if unknown_context:
            raise ConfigError(f"{self.kind} {name!r} does not accept {unknown_context}")
        try:
            return constructor(**dict(conf or {}), **context)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{self.kind} {name!r}: {err}") from err

    def resolved_conf(self, name: str, conf: Mapping[str, Any] | None, *context: str) -> dict:
        """`conf` checked and completed with every default, minus pipeline-derived context keys."""
        self.check(name, conf, context)
        full = {k: v for k, v in self.settings(name).items() if k not in context}
        full.update(conf or {})
        return full
