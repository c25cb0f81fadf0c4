"""Ranking metrics at k for multi-label prediction: P@k, R@k, nDCG@k, PSP@k.

Conventions (match PECOS' ``smat_util.Metrics``): every test row counts, a row with no true
label scores 0 on every metric. P@k divides by k even when fewer than k labels are predicted.

PSP@k is propensity-scored precision (Jain, Prabhu & Varma, KDD 2016) with propensities
p_l = 1 / (1 + C (N_l + B)^-A), C = (log N - 1)(B + 1)^A, A = 0.55, B = 1.5, from training label
counts N_l over N training rows. We report it normalised by the best PSP@k achievable for the
row (the usual pyxclib convention), so it lies in [0, 1].
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

KS = (1, 2, 3, 4, 5)


def propensities(Y_train: sp.spmatrix, A: float = 0.55, B: float = 1.5) -> np.ndarray:
    """Y_train: (n, L) binary -> ndarray (L,) propensity of each label."""
    N = Y_train.shape[0]
    counts = np.asarray((Y_train != 0).sum(axis=0)).ravel().astype(np.float64)
    C = (np.log(N) - 1.0) * (B + 1.0) ** A
    return 1.0 / (1.0 + C * np.exp(-A * np.log(counts + B)))


def top_k_indices(scores: sp.spmatrix | np.ndarray, k: int) -> np.ndarray:
    """scores (n, L) -> ndarray (n, k) label ids best first; -1 pads rows with < k scored labels."""
    out = np.full((scores.shape[0], k), -1, dtype=np.int64)
    if sp.issparse(scores):
        S = scores.tocsr()
        for i in range(S.shape[0]):
            d = S.data[S.indptr[i]:S.indptr[i + 1]]
            idx = S.indices[S.indptr[i]:S.indptr[i + 1]]
            order = np.argsort(-d, kind="stable")[:k]
            out[i, :order.size] = idx[order]
    else:
        S = np.asarray(scores)
        kk = min(k, S.shape[1])
        part = np.argpartition(-S, kk - 1, axis=1)[:, :kk]
        order = np.argsort(-np.take_along_axis(S, part, axis=1), axis=1, kind="stable")
        out[:, :kk] = np.take_along_axis(part, order, axis=1)
    return out


def ranking_metrics(Y_true: sp.spmatrix, scores, ks=KS, Y_train: sp.spmatrix | None = None) -> dict[str, float]:
    """Y_true (n, L) binary, scores (n, L) sparse or dense -> {"P@1": .., "R@1": .., "nDCG@1": .., "PSP@1": ..}.

    PSP needs Y_train (for propensities); without it PSP keys are left out.
    """
    Y = sp.csr_matrix(Y_true)
    if Y.shape != scores.shape:
        raise ValueError(f"shape mismatch: truth {Y.shape} vs scores {scores.shape}")
    kmax = max(ks)
    top = top_k_indices(scores, kmax)
    n = Y.shape[0]
    hits = np.zeros((n, kmax), dtype=np.float64)
    n_true = np.diff(Y.indptr).astype(np.float64)
    prop = propensities(Y_train) if Y_train is not None else None
    inv_p_hits = np.zeros((n, kmax))
    best_psp = np.zeros((n, kmax))
    for i in range(n):
        truth = Y.indices[Y.indptr[i]:Y.indptr[i + 1]][Y.data[Y.indptr[i]:Y.indptr[i + 1]] != 0]
        row = top[i]
        hits[i] = np.isin(row, truth) & (row >= 0)
        if prop is not None and truth.size:
            inv_p_hits[i] = hits[i] / prop[np.where(row >= 0, row, 0)]
            best = np.sort(1.0 / prop[truth])[::-1][:kmax]
            best_psp[i, :best.size] = best
    cum_hits = np.cumsum(hits, axis=1)
    discount = 1.0 / np.log2(np.arange(2, kmax + 2))
    dcg = np.cumsum(hits * discount, axis=1)
    out: dict[str, float] = {}
    for k in ks:
        out[f"P@{k}"] = float(np.mean(cum_hits[:, k - 1] / k))
    for k in ks:
        out[f"R@{k}"] = float(np.mean(cum_hits[:, k - 1] / np.maximum(n_true, 1)))
    for k in ks:
        ideal = np.array([discount[: int(min(k, t))].sum() for t in n_true])
        out[f"nDCG@{k}"] = float(np.mean(np.divide(dcg[:, k - 1], ideal, out=np.zeros(n), where=ideal > 0)))
    if prop is not None:
        for k in ks:
            num = inv_p_hits[:, :k].sum(axis=1)
            den = best_psp[:, :k].sum(axis=1)
            out[f"PSP@{k}"] = float(np.sum(num) / np.sum(den)) if np.sum(den) > 0 else 0.0
    return out
