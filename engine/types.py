"""Plain data passed between the engine and its callers. Arrays are numpy / scipy.sparse."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp

# A progress callback: called with (fraction_done in [0, 1], message). Returning False cancels
# the work, which then raises engine.errors.Cancelled.
ProgressFn = Callable[[float, str], Optional[bool]]


def report(progress: ProgressFn | None, fraction: float, message: str = "") -> None:
    """Call ``progress`` if given; raise Cancelled if it returns False."""
    from engine.errors import Cancelled

    if progress is not None and progress(min(max(fraction, 0.0), 1.0), message) is False:
        raise Cancelled(f"cancelled at {fraction:.0%}: {message}".strip())


def scaled_progress(progress: ProgressFn | None, lo: float, hi: float) -> ProgressFn | None:
    """A ProgressFn for a sub-step that maps its [0, 1] onto [lo, hi] of ``progress`` (None stays None)."""
    if progress is None:
        return None
    return lambda f, msg="": progress(lo + (hi - lo) * f, msg)


@dataclass
class Split:
    """One split of a dataset.

    X: csr_matrix (n, n_features) float32 -- raw features (binary word presence or dense values).
    Y: csr_matrix (n, n_labels) float32 -- binary label matrix.
    texts: list of n strings (pseudo-text or real text) or None for feature-only datasets.
    """

    X: sp.csr_matrix
    Y: sp.csr_matrix
    texts: list[str] | None

    @property
    def n(self) -> int:
        return self.X.shape[0]


@dataclass
class Dataset:
    """A multi-label dataset with an official (or declared) train/test split."""

    name: str
    feature_names: list[str]
    label_names: list[str]
    train: Split
    test: Split
    kind: str  # "text" (bag of words / text) or "dense" (numeric features, no text)
    is_sample: bool = False  # True for the 2,500-row MediaMill sample
    checksums: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    description: str = ""  # where the data came from and how it was split
    warnings: list[str] = field(default_factory=list)  # import caveats shown with the dataset (e.g. labels by position)

    @property
    def n_labels(self) -> int:
        return len(self.label_names)

    @property
    def label_display_names(self) -> list[str]:
        """What charts and tables show for each label (raw names stay the identity; engine/labels.py)."""
        from engine.labels import display_names

        return display_names(self.label_names)

    @cached_property
    def label_index(self):
        """engine.labels.LabelIndex of the label names: label search by typing, display names one at a
        time (built once per loaded dataset)."""
        from engine.labels import LabelIndex

        return LabelIndex(self.label_names)

    @cached_property
    def label_train_counts(self) -> np.ndarray:
        """(n_labels,) int64: training documents per label (computed once per loaded dataset)."""
        Y = self.train.Y
        return np.bincount(Y.indices[Y.data != 0], minlength=self.n_labels).astype(np.int64)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def has_text(self) -> bool:
        return self.train.texts is not None

    @property
    def display_name(self) -> str:
        return f"{self.name} (sample)" if self.is_sample else self.name

    def split(self, name: str) -> Split:
        if name not in ("train", "test"):
            from engine.errors import InputError

            raise InputError(f"unknown split {name!r}: use 'train' or 'test'.")
        return self.train if name == "train" else self.test

    def inputs(self, split: str = "test", rows=None):
        """What a model reads for a split (all rows, or the given row ids): list[str] for text
        datasets, ndarray (n, n_features) float32 for dense ones."""
        s = self.split(split)
        if self.has_text:
            return list(s.texts) if rows is None else [s.texts[i] for i in rows]
        X = s.X if rows is None else s.X[list(rows)]
        return np.asarray(X.toarray(), dtype=np.float32)

    def input_of(self, doc: "Document"):
        """The model input of one document: its text, or its feature row (n_features,)."""
        return doc.text if self.has_text else doc.features

    def document(self, index: int, split: str = "test") -> "Document":
        """Return one document; raises InputError for an index out of range."""
        from engine.errors import InputError

        s = self.split(split)
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise InputError(f"document id must be an integer, got {index!r}.")
        if index < 0 or index >= s.n:
            raise InputError(f"document {index} does not exist: {self.name} {split} has ids 0..{s.n - 1}.")
        row = s.X[int(index)]
        return Document(
            dataset=self.name,
            split=split,
            index=int(index),
            text=None if s.texts is None else s.texts[int(index)],
            features=np.asarray(row.toarray()).ravel().astype(np.float32),
            labels=tuple(int(j) for j in s.Y[int(index)].indices),
        )


@dataclass(frozen=True)
class Document:
    """One document. features: ndarray (n_features,) float32; labels: true label ids."""

    dataset: str
    split: str
    index: int
    text: str | None
    features: np.ndarray
    labels: tuple[int, ...]


@dataclass(frozen=True)
class LabelScore:
    label_id: int
    name: str
    score: float
    is_true: bool | None = None  # None when the ground truth is unknown (free text)


@dataclass(frozen=True)
class Prediction:
    """Top-k labels for one input, best first."""

    labels: tuple[LabelScore, ...]

    @property
    def label_ids(self) -> list[int]:
        return [x.label_id for x in self.labels]
