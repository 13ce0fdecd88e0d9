"""Typed registries: a swappable part is a name plus a settings block, checked before it is built.

A registry maps names to classes (or factories). `build(name, conf, **context)` refuses unknown
names and unknown settings, naming what is allowed, so a typo in a YAML file is an error instead
of a silently ignored key. Context arguments (sizes chained from another part, such as a model's
input size taken from `frontend.output_dim`) are supplied by the pipeline and may not be typed
in a config: nothing is typed twice.

Every value is checked against the type its constructor declares (`conform`), so `epochs: 2.5`
or `lr: fast` is an error naming the key instead of a number that silently means something else.
"""

from __future__ import annotations

import collections.abc
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal, TypeVar, Union, get_args, get_origin

T = TypeVar("T")


class ConfigError(ValueError):
    """An invalid experiment configuration (unknown name, unknown key, bad value)."""


# A number in scientific notation. YAML 1.1, which PyYAML implements, reads one without a decimal
# point (`1e-3`) or without a sign in its exponent (`1.0e3`) as a string; for a float setting
# such a string is taken as the number it spells.
SCIENTIFIC_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+")

_SEQUENCES = (
    list,
    tuple,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Iterable,
    collections.abc.Collection,
)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
# The Python types a YAML file can produce; other classes in an annotation (a torch.Tensor
# learning rate, say) are left out of error messages, as no config can give them.
_YAML_TYPES = (bool, int, float, str, type(None), list, tuple, dict)
_ARTICLES = {bool: "true or false", int: "an int", float: "a float", str: "a string"}


class _MismatchError(Exception):
    """A value does not have the expected type (turned into a ConfigError naming the key)."""


def conform(value: Any, expected: Any, key: str) -> Any:
    """`value` checked against the annotation `expected`; a ConfigError naming `key` otherwise.

    Strict where YAML is loose: a bool is not an int, a float is not an int (an int is a fine
    float), and a string is not a number, except that a float setting takes a string in
    scientific notation (`1e-3`, which YAML 1.1 leaves a string) as the number it spells, so the
    resolved config holds 0.001. Lists and tuples both stand for any sequence annotation
    (`list[int]`, `tuple[float, float]`, `Sequence[int]`); dicts for mappings. Annotations
    that say nothing checkable (a protocol, a callable) accept any value.
    """
    try:
        return _conform(value, expected)
    except _MismatchError:
        raise ConfigError(
            f"{key} must be {describe(expected)}, not {value!r} ({_yaml_kind(value)})"
        ) from None


def _conform(value: Any, expected: Any, convert: bool = True) -> Any:
    """`value` as `expected` takes it; `convert`: a scientific-notation string may be a float."""
    if expected is Any or isinstance(expected, TypeVar):
        return value
    if expected is None or expected is type(None):
        if value is None:
            return value
        raise _MismatchError
    origin, args = get_origin(expected), get_args(expected)
    if origin in (Union, types.UnionType):
        # A member that takes the value as it is wins over one that would convert it
        # (`str | float` keeps the string "1e-3").
        for convert_now in dict.fromkeys((False, convert)):
            for member in args:
                try:
                    return _conform(value, member, convert_now)
                except _MismatchError:
                    continue
        raise _MismatchError
    if origin is Literal:
        if any(value == choice and type(value) is type(choice) for choice in args):
            return value
        raise _MismatchError
    if origin is tuple or expected is tuple:
        if not isinstance(value, list | tuple):
            raise _MismatchError
        if args and not (len(args) == 2 and args[1] is Ellipsis):  # fixed length
            if len(value) != len(args):
                raise _MismatchError
            return [
                _conform(item, member, convert) for item, member in zip(value, args, strict=True)
            ]
        return [_conform(item, args[0] if args else Any, convert) for item in value]
    if origin in _SEQUENCES or expected in _SEQUENCES:
        # A string is a Sequence too, but never what a config means by a list.
        if not isinstance(value, list | tuple):
            raise _MismatchError
        return [_conform(item, args[0] if args else Any, convert) for item in value]
    if origin in _MAPPINGS or expected in _MAPPINGS:
        if not isinstance(value, dict):
            raise _MismatchError
        value_type = args[1] if len(args) == 2 else Any
        return {name: _conform(item, value_type, convert) for name, item in value.items()}
    if expected is bool:
        ok = isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected is float:
        if convert and isinstance(value, str) and SCIENTIFIC_NUMBER.fullmatch(value):
            return float(value)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif isinstance(expected, type):
        ok = isinstance(value, expected)
    else:
        return value  # not a type this check understands (a Callable, a Protocol): accepted
    if not ok:
        raise _MismatchError
    return value


def describe(expected: Any) -> str:
    """An annotation in the words of a YAML file: `int`, `float`, `list of int`, `null`."""
    if expected is Any or isinstance(expected, TypeVar):
        return "any value"
    if expected is None or expected is type(None):
        return "null"
    origin, args = get_origin(expected), get_args(expected)
    if origin in (Union, types.UnionType):
        members = [m for m in args if _yaml_expressible(m)] or list(args)
        return " or ".join(dict.fromkeys(describe(member) for member in members))
    if origin is Literal:
        return "one of " + ", ".join(repr(choice) for choice in args)
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        return f"a list of {len(args)} ({', '.join(_bare(member) for member in args)})"
    if origin is tuple or origin in _SEQUENCES:
        return f"a list of {_bare(args[0])}" if args else "a list"
    if origin in _MAPPINGS or expected in _MAPPINGS:
        return "a mapping"
    if expected in (list, tuple, collections.abc.Sequence):
        return "a list"
    if expected in _ARTICLES:
        return _ARTICLES[expected]
    if isinstance(expected, type):
        return expected.__name__
    return str(expected)


def _bare(expected: Any) -> str:
    """`describe` without the article, for the items of a list (`a list of int`)."""
    text = describe(expected)
    return text.removeprefix("an ") if text.startswith("an ") else text.removeprefix("a ")


def _yaml_expressible(expected: Any) -> bool:
    """Whether a YAML value can have this type (a torch.Tensor cannot)."""
    if get_origin(expected) is not None or not isinstance(expected, type):
        return True
    return expected in _YAML_TYPES or expected in _SEQUENCES or expected in _MAPPINGS


def _yaml_kind(value: Any) -> str:
    """The kind of a loaded YAML value, as a message names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if type(value) in _ARTICLES:
        return _ARTICLES[type(value)]
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def expected_types(constructor: Callable[..., Any]) -> dict[str, Any]:
    """The type each parameter of `constructor` (a function or a class) takes.

    From the annotations where there are any (`typing.get_type_hints` of the function, or of a
    class's `__init__`); else from the default: a float default takes an int or a float, a bool
    default only a bool, a tuple or list default any list, a dict default a mapping; a parameter
    with neither (or a None default) takes any value.
    """
    target = constructor.__init__ if inspect.isclass(constructor) else constructor
    try:
        hints = typing.get_type_hints(target)
    except (NameError, TypeError, AttributeError):  # an annotation that does not resolve
        hints = {}
    expected = {}
    for key, parameter in inspect.signature(constructor).parameters.items():
        if key in hints:
            expected[key] = hints[key]
        elif parameter.default is inspect.Parameter.empty or parameter.default is None:
            expected[key] = Any
        elif isinstance(parameter.default, list | tuple):
            expected[key] = list
        elif isinstance(parameter.default, dict):
            expected[key] = dict
        else:
            expected[key] = type(parameter.default)
    return expected


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
        if not isinstance(name, str) or name not in self._entries:
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

    def required(self, name: str) -> list[str]:
        """The settings of `name` without a default."""
        params = inspect.signature(self.get(name)).parameters
        return [
            key
            for key, p in params.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.default is inspect.Parameter.empty
        ]

    def check(
        self,
        name: str,
        conf: Mapping[str, Any] | None,
        context: tuple[str, ...] = (),
        where: str | None = None,
    ) -> dict[str, Any]:
        """`conf` with every value conformed to its declared type (`conform`); unknown settings,
        settings the pipeline derives and values of the wrong type are errors naming the key
        (`where.key`, `where` defaulting to `<kind>_conf`)."""
        where = where or f"{self.kind}_conf"
        if conf is None:
            conf = {}
        if not isinstance(conf, Mapping):
            raise ConfigError(f"{where} must be a mapping of settings, not {conf!r}")
        allowed = self.settings(name)
        expected = expected_types(self.get(name))
        checked = {}
        for key, value in conf.items():
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
            checked[key] = conform(value, expected[key], f"{where}.{key}")
        return checked

    def build(
        self,
        name: str,
        conf: Mapping[str, Any] | None = None,
        where: str | None = None,
        **context: Any,
    ) -> T:
        constructor = self.get(name)
        checked = self.check(name, conf, tuple(context), where)
        unknown_context = [key for key in context if key not in self.settings(name)]
        if unknown_context:
            raise ConfigError(f"{self.kind} {name!r} does not accept {unknown_context}")
        try:
            return constructor(**checked, **context)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{self.kind} {name!r}: {err}") from err

    def resolved_conf(
        self,
        name: str,
        conf: Mapping[str, Any] | None,
        *context: str,
        where: str | None = None,
    ) -> dict[str, Any]:
        """`conf` checked and completed with every default, minus pipeline-derived context keys;
        a setting without a default must be given."""
        checked = self.check(name, conf, context, where)
        missing = [key for key in self.required(name) if key not in context and key not in checked]
        if missing:
            raise ConfigError(
                f"{self.kind} {name!r} needs {', '.join(missing)} in "
                f"{where or f'{self.kind}_conf'} (no default)"
            )
        full = {k: v for k, v in self.settings(name).items() if k not in context}
        full.update(checked)
        return full
