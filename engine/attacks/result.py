"""The result of one attack on one document, JSON round-trippable (used for the disk cache)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from engine.types import LabelScore, Prediction


@dataclass
class AttackResult:
    """One attack on one input.

    space: "text" (readable adversarial text) or "features" (a vector in the model's feature view).
    changed: (feature name, value before, value after) in the model's feature view, most changed
        first, at most common.N_CHANGED of them (for display). For text datasets the names are words
        (TF-IDF weights), also for WordNet attacks: a replaced word goes from its weight to 0, its
        synonym from 0 to a weight.
    features_changed: how many features of the feature view changed in all (``changed`` is capped;
        this is not). None only in results written before it was counted.
    adversarial_vector: ndarray (d,) float32 in the feature view, feature attacks only.
    l2 / linf: norms of the perturbation in the feature view (None when not measured).
    """

    attack: str
    space: str
    goal: str
    target_label: int | None
    success: bool
    queries: int
    seconds: float
    before: Prediction
    after: Prediction
    l2: float | None
    linf: float | None
    words_changed: int | None
    changed: list[tuple[str, float, float]]
    original_text: str | None
    adversarial_text: str | None
    adversarial_vector: np.ndarray | None
    params: dict = field(default_factory=dict)
    features_changed: int | None = None

    def to_json(self) -> str:
        d = asdict(self)
        d["before"] = _pred_to(self.before)
        d["after"] = _pred_to(self.after)
        d["changed"] = [[str(w), float(a), float(b)] for w, a, b in self.changed]
        d["adversarial_vector"] = None if self.adversarial_vector is None else \
            np.asarray(self.adversarial_vector, dtype=np.float32).tolist()
        return json.dumps(d, default=_default)

    @classmethod
    def from_json(cls, text: str) -> "AttackResult":
        d = json.loads(text)
        d["before"] = _pred_from(d["before"])
        d["after"] = _pred_from(d["after"])
        d["changed"] = [(str(w), float(a), float(b)) for w, a, b in d["changed"]]
        if d.get("adversarial_vector") is not None:
            d["adversarial_vector"] = np.asarray(d["adversarial_vector"], dtype=np.float32)
        return cls(**d)


def _pred_to(p: Prediction) -> list[dict[str, Any]]:
    return [asdict(x) for x in p.labels]


def _pred_from(rows) -> Prediction:
    return Prediction(labels=tuple(LabelScore(**r) for r in rows))


def _default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
