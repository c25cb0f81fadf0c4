"""Fake models for certificate tests: linear scorers whose smoothed behaviour is known in closed form."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from engine.models.base import FeatureView, XMCModel


def top_k_rows(S: np.ndarray, k: int) -> np.ndarray:
    """(n, L) scores -> (n, k) label ids, best first (ties: lower id first)."""
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


class LinearFeatureXMC(XMCModel):
    """Dense model, score(X) = X @ W.T + b: W (L, d), b (L,). Its feature view is the input itself."""

    family = "fake-linear"
    input_kind = "dense"

    def __init__(self, W, b=None):
        self.W = np.asarray(W, dtype=np.float64)
        self.b = np.zeros(self.W.shape[0]) if b is None else np.asarray(b, dtype=np.float64)
        self.label_names = [f"label{i}" for i in range(self.W.shape[0])]

    def features(self, inputs) -> np.ndarray:
        return np.asarray(self.check_inputs(inputs), dtype=np.float64)

    def scores(self, X) -> np.ndarray:
        return np.atleast_2d(X) @ self.W.T + self.b

    def score_matrix(self, inputs, top_k):
        S = self.scores(self.features(inputs))
        idx = top_k_rows(S, top_k)
        rows = np.repeat(np.arange(S.shape[0]), top_k)
        return sp.csr_matrix((S[rows, idx.ravel()], (rows, idx.ravel())), shape=S.shape)

    def score_labels(self, inputs, label_ids):
        return self.scores(self.features(inputs))[:, self.check_label_ids(label_ids)].astype(np.float32)

    def label_path(self, label_id):
        return [0]

    def feature_view(self, one_input) -> FeatureView:
        x0 = self.features(one_input).ravel().astype(np.float32)
        return FeatureView(x0, [f"f{i}" for i in range(x0.size)],
                           lambda X, ids: self.scores(X)[:, list(ids)],
                           lambda X, k: top_k_rows(self.scores(X), k), (-np.inf, np.inf), "the input itself")

    def save(self, path):
        raise NotImplementedError("fake model")


class BagOfWordsXMC(LinearFeatureXMC):
    """Text model: the feature vector counts each vocabulary word (lower case); then linear."""

    input_kind = "text"

    def __init__(self, vocabulary, W, b=None):
        super().__init__(W, b)
        self.vocabulary = list(vocabulary)
        self.index = {w: i for i, w in enumerate(self.vocabulary)}

    def features(self, inputs) -> np.ndarray:
        texts = self.check_inputs(inputs)
        X = np.zeros((len(texts), len(self.vocabulary)))
        for i, t in enumerate(texts):
            for w in t.lower().split():
                if w in self.index:
                    X[i, self.index[w]] += 1
        return X
