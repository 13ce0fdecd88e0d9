"""A weighted sum of losses, one of which scores: `loss = sum over terms of weight * term loss`.

    loss: sum
    loss_conf:
      terms:
        ce: {loss: softmax, weight: 1.0}
        scl: {loss: single_center, loss_conf: {margin: 0.3}, weight: 0.5}
      scorer: ce

Each term is a registered loss with its own `loss_conf` (default: none), built through LOSSES
with the model's embedding size, so its settings are checked as a top-level loss's are; `weight`
is a positive number (default 1.0). `scorer` names the term whose `score` is the detector's
score: it is required with several terms and defaults to the only one. The term names are the
keys of the state dict (`terms.<name>.<parameter>`) and of the statistics: each term's
unweighted value under its name, a term's own statistics as `<term>.<stat>`.

A sum is never a term of a sum: its terms can be listed directly, and statistic names stay one
level deep. The resolved config holds every term complete (`Sum.resolved_settings`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from antispoof.losses.base import EMBEDDING_DIM, LOSSES, Objective, resolved_loss_conf
from antispoof.registry import ConfigError, conform

# Where a sum's settings live: a sum is only ever the top-level loss of a config.
WHERE = "loss_conf"
TERM_SETTINGS = ("loss", "loss_conf", "weight")
DEFAULT_WEIGHT = 1.0
# A term is a ModuleDict entry: its name may not shadow one of the ModuleDict's own attributes.
_TAKEN_NAMES = frozenset(dir(nn.ModuleDict()))


@dataclass(frozen=True)
class Term:
    loss: str
    loss_conf: Mapping[str, Any] | None
    weight: float


@LOSSES.register("sum")
class Sum(Objective):
    def __init__(
        self, embedding_dim: int, terms: dict[str, dict[str, Any]], scorer: str | None = None
    ) -> None:
        super().__init__()
        parsed, self.scorer = _parse(terms, scorer, WHERE)
        self.weights = {name: term.weight for name, term in parsed.items()}
        self.terms = nn.ModuleDict()
        for name, term in parsed.items():
            with _naming_term(name):
                self.terms[name] = LOSSES.build(
                    term.loss,
                    term.loss_conf,
                    where=f"{WHERE}.terms.{name}.loss_conf",
                    embedding_dim=embedding_dim,
                )

    def forward(
        self, embeddings: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        weighted = []
        stats: dict[str, torch.Tensor] = {}
        for name, term in self.terms.items():
            value, term_stats = term(embeddings, target)
            weighted.append(self.weights[name] * value)
            stats[name] = value.detach()
            stats.update({f"{name}.{key}": stat for key, stat in term_stats.items()})
        return sum(weighted), stats

    def score(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.terms[self.scorer].score(embeddings)

    @property
    def natural_decision(self) -> bool:  # type: ignore[override]
        """The scoring term's: the detector decides as the term it scores with."""
        return self.terms[self.scorer].natural_decision

    def log_odds(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.terms[self.scorer].log_odds(embeddings)

    @classmethod
    def resolved_settings(
        cls, name: str, conf: Mapping[str, Any] | None, where: str
    ) -> dict[str, Any]:
        """Every term with its loss, its complete `loss_conf` and its weight, and the scorer."""
        settings = LOSSES.resolved_conf(name, conf, EMBEDDING_DIM, where=where)
        terms, scorer = _parse(settings["terms"], settings["scorer"], where)
        resolved_terms = {}
        for term_name, term in terms.items():
            with _naming_term(term_name):
                loss_conf = resolved_loss_conf(
                    term.loss, term.loss_conf, where=f"{where}.terms.{term_name}.loss_conf"
                )
            resolved_terms[term_name] = {
                "loss": term.loss,
                "loss_conf": loss_conf,
                "weight": term.weight,
            }
        return {"terms": resolved_terms, "scorer": scorer}


def _parse(
    terms: Mapping[Any, Mapping[str, Any]], scorer: str | None, where: str
) -> tuple[dict[str, Term], str]:
    """The terms, checked (names, settings, losses, weights), and the scoring term's name."""
    if not terms:
        raise ConfigError(f"{where}.terms must name at least one term")
    parsed = {}
    for name, settings in terms.items():
        if not isinstance(name, str) or not name or "." in name or name in _TAKEN_NAMES:
            raise ConfigError(
                f"{where}.terms: {name!r} cannot name a term; use a non-empty string without "
                "'.' that is not an attribute of torch.nn.ModuleDict"
            )
        parsed[name] = _term(settings, f"{where}.terms.{name}")
    names = ", ".join(parsed)
    if scorer is None:
        if len(parsed) > 1:
            raise ConfigError(
                f"{where}.scorer must name the term whose score the detector reports "
                f"(one of: {names})"
            )
        scorer = next(iter(parsed))
    elif scorer not in parsed:
        raise ConfigError(f"{where}.scorer {scorer!r} is not a term; the terms are: {names}")
    return parsed, scorer


def _term(settings: Mapping[str, Any], where: str) -> Term:
    unknown = [key for key in settings if key not in TERM_SETTINGS]
    if unknown:
        raise ConfigError(
            f"{where} has no setting {unknown[0]!r}; a term's settings are: "
            f"{', '.join(TERM_SETTINGS)}"
        )
    if "loss" not in settings:
        raise ConfigError(f"{where} needs `loss`, one of: {', '.join(LOSSES.names())}")
    loss = conform(settings["loss"], str, f"{where}.loss")
    try:
        constructor = LOSSES.get(loss)
    except ConfigError as err:
        raise ConfigError(f"{where}.loss: {err}") from None
    if constructor is Sum:
        raise ConfigError(f"{where}.loss: a sum cannot be a term of a sum; list its terms here")
    weight = settings.get("weight", DEFAULT_WEIGHT)
    number = conform(weight, float, f"{where}.weight")
    if not (math.isfinite(number) and number > 0):
        raise ConfigError(f"{where}.weight must be a positive number, not {weight!r}")
    return Term(loss, settings.get("loss_conf"), float(number))


@contextmanager
def _naming_term(name: str) -> Iterator[None]:
    """Prefix a configuration error raised while building or resolving a term with its name."""
    try:
        yield
    except ConfigError as err:
        raise ConfigError(f"term {name!r}: {err}") from err
