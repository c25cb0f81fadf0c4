"""What an attack is: every attack is one module that owns one ``AttackSpec`` (its run function,
its parameters with defaults and bounds -- the only place they are written, as ART keeps them in
each attack's ``__init__`` / ``_check_params`` -- the space it acts in and what it needs from the
model). The engine's validation, the CLI's options and the dashboard's attack form all read it.

Adding an attack: a new module in engine/attacks/ with a ``SPEC = AttackSpec(...)`` and a run
function ``run(model, inp, goal, before, params, ctx) -> AttackResult``, plus one line in
engine/attacks/registry.py and its test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from engine.errors import InputError

SPACES = ("features", "text")
NORMS = ("2", "inf")


@dataclass(frozen=True)
class AttackParam:
    """One tunable parameter: kind "int" | "float"; default and inclusive bounds [low, high]."""

    name: str
    label: str
    kind: str
    default: float
    low: float
    high: float
    help: str = ""

    def check(self, value) -> Any:
        """The value as its kind, or InputError naming the parameter and its bounds (None: the default)."""
        if value is None:
            return self.default
        ok_type = (isinstance(value, (int, np.integer)) if self.kind == "int"
                   else isinstance(value, (int, float, np.integer, np.floating)))
        if isinstance(value, bool) or not ok_type or not np.isfinite(value):
            what = "a whole number" if self.kind == "int" else "a number"
            raise InputError(f"{self.name} ({self.label.lower()}) must be {what}, got {value!r}.")
        if not self.low <= value <= self.high:
            raise InputError(f"{self.name} ({self.label.lower()}) must be between {self.low:g} and {self.high:,g}, "
                             f"got {value!r}.")
        return int(value) if self.kind == "int" else float(value)


@dataclass(frozen=True)
class AttackContext:
    """What every attack gets besides its own parameters."""

    top_k: int
    eps: float | None
    norm: str
    seed: int
    truth: list[int] | None
    progress: Callable | None
    given: frozenset[str] = frozenset()  # the attack parameters the caller set (the rest are defaults)


@dataclass(frozen=True)
class AttackSpec:
    """name: CLI / cache name; space: "features" (the model's continuous view: TF-IDF or dense
    features) or "text" (readable text); needs: what the attack asks of the model ("decisions",
    "scores" or "text"); run(model, inp, goal, before, params, ctx) -> AttackResult."""

    name: str
    title: str
    space: str
    needs: str
    help: str
    run: Callable
    params: tuple[AttackParam, ...] = field(default_factory=tuple)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Every parameter of this attack, checked, with defaults for the ones not given (None)."""
        own = {p.name for p in self.params}
        given = {k: v for k, v in params.items() if v is not None}
        extra = sorted(set(given) - own)
        if extra:
            raise InputError(f"{self.title} has no parameter {', '.join(extra)} "
                             f"(its parameters: {', '.join(sorted(own)) or 'none'}).")
        return {p.name: p.check(params.get(p.name)) for p in self.params}

    def is_compatible(self, has_text: bool) -> bool:
        """A text attack needs a dataset / model that reads text."""
        return self.space != "text" or has_text

    def incompatibility(self, feature_attacks: list[str]) -> str:
        return (f"the {self.title} attack replaces words; this model reads numeric features with no text "
                f"(e.g. MediaMill). Use a feature-space attack: {', '.join(feature_attacks)}.")


