"""Input featurizers saved as JSON/npy (never pickle): TF-IDF for text, standardisation for dense."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from engine.errors import InputError

from engine.text_input import TOKEN_PATTERN  # noqa: F401 - defined once in core: the data importer checks it too


class TfidfText:
    """Sublinear TF-IDF, L2-normalised, over a fitted vocabulary. transform: texts -> csr (n, V) float32."""

    kind = "text"

    def __init__(self, vocabulary: dict[str, int] | None = None, idf: np.ndarray | None = None):
        self.vocabulary = vocabulary
        self.idf = idf
        self._vec = None
        if vocabulary is not None:
            self._restore()

    def fit(self, texts: list[str]) -> "TfidfText":
        vec = TfidfVectorizer(token_pattern=TOKEN_PATTERN, lowercase=True, sublinear_tf=True, dtype=np.float32)
        vec.fit(texts)
        self.vocabulary = {w: int(i) for w, i in vec.vocabulary_.items()}
        self.idf = vec.idf_.astype(np.float32)
        self._vec = vec
        return self

    def _restore(self):
        vec = TfidfVectorizer(token_pattern=TOKEN_PATTERN, lowercase=True, sublinear_tf=True, dtype=np.float32,
                              vocabulary=self.vocabulary)
        vec.idf_ = np.asarray(self.idf, dtype=np.float64)
        self._vec = vec

    @property
    def feature_names(self) -> list[str]:
        names = [""] * len(self.vocabulary)
        for w, i in self.vocabulary.items():
            names[i] = w
        return names

    @property
    def dim(self) -> int:
        return len(self.vocabulary)

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        return self._vec.transform(texts).astype(np.float32).tocsr()

    def tokens(self, text: str) -> list[str]:
        return self._vec.build_analyzer()(text)

    def save(self, folder: Path) -> None:
        (folder / "vocabulary.json").write_text(json.dumps(self.vocabulary))
        np.save(folder / "idf.npy", self.idf)

    @classmethod
    def load(cls, folder: Path) -> "TfidfText":
        return cls(json.loads((folder / "vocabulary.json").read_text()), np.load(folder / "idf.npy", allow_pickle=False))


class DenseScaler:
    """Standardise dense features with training mean/std, then L2-normalise rows.

    transform: ndarray (n, d) -> ndarray (n, d) float32. The clip range of valid raw inputs is
    the training min/max widened by one standard deviation.
    """

    kind = "dense"

    def __init__(self, mean=None, std=None, names: list[str] | None = None, lo=None, hi=None):
        self.mean, self.std, self.names, self.lo, self.hi = mean, std, names, lo, hi

    def fit(self, X: np.ndarray, names: list[str]) -> "DenseScaler":
        X = np.asarray(X, dtype=np.float64)
        self.mean = X.mean(axis=0).astype(np.float32)
        self.std = np.maximum(X.std(axis=0), 1e-6).astype(np.float32)
        self.lo = float(X.min())
        self.hi = float(X.max())
        self.names = list(names)
        return self

    @property
    def dim(self) -> int:
        return int(self.mean.size)

    @property
    def feature_names(self) -> list[str]:
        return list(self.names)

    def transform(self, X) -> np.ndarray:
        X = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float32)
        if X.ndim == 1:
            X = X[None, :]
        if X.shape[1] != self.dim:
            raise InputError(f"expected {self.dim} feature values per row, got {X.shape[1]}.")
        Z = (X - self.mean) / self.std
        norms = np.linalg.norm(Z, axis=1, keepdims=True)
        return np.ascontiguousarray(Z / np.maximum(norms, 1e-6), dtype=np.float32)

    def save(self, folder: Path) -> None:
        np.save(folder / "mean.npy", self.mean)
        np.save(folder / "std.npy", self.std)
        (folder / "scaler.json").write_text(json.dumps({"names": self.names, "lo": self.lo, "hi": self.hi}))

    @classmethod
    def load(cls, folder: Path) -> "DenseScaler":
        meta = json.loads((folder / "scaler.json").read_text())
        return cls(np.load(folder / "mean.npy", allow_pickle=False), np.load(folder / "std.npy", allow_pickle=False),
                   meta["names"], meta["lo"], meta["hi"])


def load_featurizer(folder: Path):
    return TfidfText.load(folder) if (folder / "vocabulary.json").exists() else DenseScaler.load(folder)
