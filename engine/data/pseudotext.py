"""Pseudo-text for bag-of-words datasets: each document's active feature words as a string.

BibTeX and Delicious ship word-presence vectors, not text. The transformer, LIME and WordNet
need text, so every document becomes its active words in a fixed order: rarest first (by
training-set document frequency, ties by feature index). Rarest-first keeps the most
informative words when the encoder truncates to its token budget.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def word_order(X_train: sp.csr_matrix) -> np.ndarray:
    """Rank of each feature in the pseudo-text order: ndarray (n_features,) int (0 = first)."""
    df = np.asarray((X_train != 0).sum(axis=0)).ravel()
    order = np.lexsort((np.arange(df.size), df))  # by df, then index
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank


def pseudo_texts(X: sp.csr_matrix, feature_names: list[str], rank: np.ndarray) -> list[str]:
    """X: csr (n, n_features) -> n strings of the active feature words, in ``rank`` order."""
    X = X.tocsr()
    out = []
    for i in range(X.shape[0]):
        idx = X.indices[X.indptr[i]:X.indptr[i + 1]]
        idx = idx[X.data[X.indptr[i]:X.indptr[i + 1]] != 0]
        idx = idx[np.argsort(rank[idx], kind="stable")]
        out.append(" ".join(feature_names[j] for j in idx))
    return out
