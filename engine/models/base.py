"""The one interface every model family offers (XR-Linear, X-Transformer, defended wrappers).

Inputs are ``list[str]`` for text models and ``ndarray (n, n_features)`` float32 for dense
models. ``score_labels`` scores only the labels asked for, which is what makes LIME and ART
practical with hundreds of labels: they want a dense (n, n_classes) array.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from engine.errors import InputError
from engine.types import LabelScore, Prediction

Inputs = Any  # list[str] (text models) or np.ndarray (n, d) (dense models)


@dataclass
class FeatureView:
    """The continuous space the model's ranker reads, for one input (used by HSJ / ZOO).

    x0: ndarray (d,) float32 -- the input in that space (TF-IDF for text, scaled features for dense).
    feature_names: d names (words for text datasets).
    score: (X: ndarray (n, d), label_ids) -> ndarray (n, len(label_ids)) scores.
    top_k: (X: ndarray (n, d), k) -> ndarray (n, k) label ids, best first.
    clip: (low, high) bounds of a valid point in this space.
    description: how perturbed vectors reach the model (shown to users).
    sparse_rows: score / top_k also take a scipy csr_matrix (n, d) of rows (the attacks' subspace
        queries then cost what their nonzeros touch, not a dense row of the whole vocabulary).
    """

    x0: np.ndarray
    feature_names: list[str]
    score: Callable[[np.ndarray, Sequence[int]], np.ndarray]
    top_k: Callable[[np.ndarray, int], np.ndarray]
    clip: tuple[float, float]
    description: str
    sparse_rows: bool = False


class XMCModel(ABC):
    """Extreme multi-label classifier: top-k prediction, label-subset scoring, label-tree paths."""

    family: str = ""  # "xlinear" | "xtransformer"
    label_names: list[str]
    input_kind: str  # "text" | "dense"

    @property
    def n_labels(self) -> int:
        return len(self.label_names)

    # -- the interface -------------------------------------------------------------------
    @abstractmethod
    def score_matrix(self, inputs: Inputs, top_k: int):
        """Top-k scores as a csr_matrix (n, n_labels) (zeros elsewhere); the batch predict path."""

    @abstractmethod
    def score_labels(self, inputs: Inputs, label_ids: Sequence[int]) -> np.ndarray:
        """Scores of the chosen labels: ndarray (n, len(label_ids)) float32."""

    @abstractmethod
    def label_path(self, label_id: int) -> list[int]:
        """Cluster ids from the top of the label tree down to the leaf cluster holding label_id."""

    @abstractmethod
    def feature_view(self, one_input: Any) -> FeatureView:
        """The continuous space HopSkipJump / ZOO perturb, bound to one input."""

    @abstractmethod
    def save(self, path) -> None:
        """Write the model's files into an (empty) folder."""

    # -- shared helpers --------------------------------------------------------------------
    def predict(self, inputs: Inputs, top_k: int = 5, truth: Sequence[Sequence[int]] | None = None) -> list[Prediction]:
        """Top-k labels per input, best first. truth: optional true label ids per input."""
        top_k = check_top_k(top_k, self.n_labels)
        inputs = self.check_inputs(inputs)
        S = self.score_matrix(inputs, top_k).tocsr()
        out = []
        for i in range(S.shape[0]):
            row = S.getrow(i)
            order = np.argsort(-row.data, kind="stable")[:top_k]
            true_set = None if truth is None else set(int(t) for t in truth[i])
            labels = tuple(
                LabelScore(
                    label_id=int(row.indices[j]),
                    name=self.label_names[int(row.indices[j])],
                    score=float(row.data[j]),
                    is_true=None if true_set is None else int(row.indices[j]) in true_set,
                )
                for j in order
            )
            out.append(Prediction(labels=labels))
        return out

    def check_label_ids(self, label_ids: Sequence[int]) -> np.ndarray:
        ids = np.asarray(list(label_ids), dtype=np.int64)
        if ids.size == 0:
            raise InputError("no labels given: choose at least one label to score.")
        bad = ids[(ids < 0) | (ids >= self.n_labels)]
        if bad.size:
            raise InputError(f"label id {int(bad[0])} is not one of this model's labels (0..{self.n_labels - 1}).")
        return ids

    def label_id(self, name_or_id) -> int:
        """Resolve a label given by id or by exact name."""
        if isinstance(name_or_id, (int, np.integer)) and not isinstance(name_or_id, bool):
            return int(self.check_label_ids([name_or_id])[0])
        if isinstance(name_or_id, str) and name_or_id.strip().lstrip("-").isdigit():
            return int(self.check_label_ids([int(name_or_id)])[0])
        try:
            return self.label_names.index(name_or_id)
        except ValueError:
            raise InputError(f"unknown label {name_or_id!r}: not one of this model's {self.n_labels} labels.") from None

    def check_inputs(self, inputs: Inputs) -> Inputs:
        if self.input_kind == "text":
            if isinstance(inputs, str):
                inputs = [inputs]
            if not isinstance(inputs, (list, tuple)) or not all(isinstance(t, str) for t in inputs):
                raise InputError("this model reads text: give a list of strings.")
            if len(inputs) == 0:
                raise InputError("no inputs given.")
            return list(inputs)
        X = np.asarray(inputs, dtype=np.float32)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[0] == 0:
            raise InputError("this model reads numeric feature rows: give an array of shape (n, n_features).")
        if not np.all(np.isfinite(X)):
            raise InputError("feature values must be finite numbers (found NaN or infinity).")
        return X


# The most labels one explanation or attack works on (check_top_k(..., limit=MAX_TOP_K)): their cost
# grows with k (LIME weights and faithfulness curves per label, top-k goals rank 2k labels), so a top-k
# of 50,000 on a 50,000-label set would run for hours. A prediction is one sparse product: no limit.
# The CLI's --top-k help and the dashboard's slider use it too.
MAX_TOP_K = 100


def check_top_k(top_k, n_labels: int, limit: int | None = None) -> int:
    """top_k as an int in 1..min(n_labels, limit); InputError naming the bound otherwise."""
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)):
        raise InputError(f"top-k must be a whole number, got {top_k!r}.")
    upper = n_labels if limit is None else min(n_labels, limit)
    if top_k < 1 or top_k > upper:
        why = "the number of labels" if upper == n_labels else f"XTrust's maximum; the model has {n_labels:,} labels"
        raise InputError(f"top-k must be between 1 and {upper} ({why}), got {top_k}.")
    return int(top_k)
