"""What an explanation method is (LIT's interpreter registry, for XMC): a name, when it applies
(``is_compatible``), and one function ``run(model, units, label_ids, ctx) -> MethodOutput`` that gives
a weight per unit (word or feature) for each label. Faithfulness, the top words and the result
type are the shared code's (engine/explain/api.py), so every method is scored the same way.

Adding a method: a new module in engine/explain/ with a ``SPEC = ExplainerSpec(...)``, one entry in
engine/explain/registry.py, and its test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from engine.types import ProgressFn


@dataclass(frozen=True)
class ExplainContext:
    """samples / seed: for sampling methods (LIME); top_k: the labels must be in the top-k (None: any);
    train_X (n, d): raw training rows of a dense dataset (for baselines and LIME tabular);
    labels_are_top_k: the caller took the labels from the model's top-k itself (no need to check again)."""

    samples: int
    seed: int
    top_k: int | None
    train_X: np.ndarray | None
    progress: ProgressFn | None
    labels_are_top_k: bool = False


@dataclass
class MethodOutput:
    """weights: (k, n_units) float -- one row per label; extras: k dicts shown with each label;
    scores: the labels' model scores when the method has them (saves the shared code a forward pass);
    token_weights: per label [(word, weight)] in text order (None: from weights via the units);
    conditions: per label {unit: display name} (LIME tabular's feature conditions) or None."""

    weights: np.ndarray
    extras: list[dict]
    token_weights: list[list[tuple[str, float]]] | None = None
    conditions: list[dict] | None = None
    no_evidence: list[bool] = field(default_factory=list)  # labels the method has nothing to say about
    scores: np.ndarray | None = None  # (k,) each label's score on the input, when the method computed it


@dataclass(frozen=True)
class ExplainerSpec:
    """name: CLI / cache name; needs: "any" (every model), "text" (text models) or "encoder" (the
    X-Transformer's attention); uses_samples: the result depends on the sample count."""

    name: str
    title: str
    help: str
    needs: str
    run: Callable[..., MethodOutput]
    uses_samples: bool = False
    no_evidence_note: str = ""
    # why the method cannot explain a model with these (saved) parameters, or None: e.g. the whole-score
    # attribution and an X-Transformer fused with XR-Linear. Reads the params dict of the model's manifest.
    params_check: Callable[[dict], str | None] | None = None
    # its first result takes well under a second once the model is in memory (the Explain page computes it
    # in the page run instead of waiting for the background job)
    sub_second: bool = False
    # starts, in the background, what the method's first call on this (loaded) model would wait for (a slow
    # import, lazily loaded weights); None: nothing to warm
    warm_up: Callable[[object], None] | None = None

    def incompatibility(self, family: str, input_kind: str, params: dict | None = None) -> str | None:
        """Why this method cannot explain a model of that family, input kind and (saved) parameters (None: it
        can)."""
        if params is not None and self.params_check is not None:
            why = self.params_check(params)
            if why:
                return why
        if self.needs in ("text", "encoder") and input_kind != "text":
            return (f"{self.name} explanations need text; this model reads numeric features (e.g. MediaMill). "
                    "Use LIME.")
        if self.needs == "encoder" and family != "xtransformer":
            return (f"{self.name} explanations need the X-Transformer; this is an {family or 'unknown'} model "
                    "with no attention. Use LIME.")
        return None

    def is_compatible(self, family: str, input_kind: str) -> bool:
        return self.incompatibility(family, input_kind) is None
