"""Faithfulness of word (or feature) weights: deletion curve and ERASER comprehensiveness /
sufficiency, for any method's ordering plus a seeded random ordering as the baseline.

For one label with clean score s0 and the units ordered by weight (highest first):
- deletion curve: remove the top 0, 1, 2, ... units (in steps of ceil(n / 100) for long inputs)
  and record the label's score and rank. deletion AUC = trapezoid area under score / s0 against
  removed / n, in [0, ~1]; lower means the top-weighted units really carried the score.
- comprehensiveness (DeYoung et al. 2020, ERASER, AOPC form): mean over q in 1, 5, 10, 20, 50 %
  of s0 - s(x without its top-q units); higher is better.
- sufficiency: mean over q of s0 - s(x with only its top-q units); lower is better.
Scores are the model's raw label scores (XR-Linear / X-Transformer scores lie in [0, 1]).
A label's rank is 1 + the number of labels scored above it in the model's top-100 beam
(101 means "not in the top 100").

Every perturbed input of every label and ordering goes through batched ``score_labels`` calls
over the whole label set (plus one batched ``score_matrix`` pass for the deletion ranks).
"""
from __future__ import annotations

import contextlib
import math
from typing import Sequence

import numpy as np

from engine.types import ProgressFn, report

FRACTIONS = (0.01, 0.05, 0.10, 0.20, 0.50)
MAX_STEPS = 100
RANK_DEPTH = 100


def order_of(weights: np.ndarray) -> np.ndarray:
    """Units by weight, highest first (ties keep text order). weights: (n,) -> (n,) int."""
    return np.argsort(-np.asarray(weights, dtype=np.float64), kind="stable")


def random_order(n: int, seed: int, label_id: int) -> np.ndarray:
    return np.random.default_rng([int(seed), int(label_id), 7919]).permutation(n)


def top_count(q: float, n: int) -> int:
    return max(1, int(math.ceil(q * n - 1e-9)))


def deletion_counts(n: int) -> list[int]:
    step = max(1, int(math.ceil(n / MAX_STEPS)))
    counts = list(range(0, n + 1, step))
    if counts[-1] != n:
        counts.append(n)
    return counts


def _masks(order: np.ndarray, n: int):
    dele, comp, suff = [], [], []
    for c in deletion_counts(n):
        m = np.ones(n, dtype=bool)
        m[order[:c]] = False
        dele.append(m)
    for q in FRACTIONS:
        t = top_count(q, n)
        m = np.ones(n, dtype=bool)
        m[order[:t]] = False
        comp.append(m)
        m = np.zeros(n, dtype=bool)
        m[order[:t]] = True
        suff.append(m)
    return dele, comp, suff


def _score(model, inputs, label_ids, batch: int, progress, lo: float, hi: float) -> np.ndarray:
    n = len(inputs)
    out = []
    for i in range(0, n, batch):
        chunk = inputs[i:i + batch]
        out.append(np.asarray(model.score_labels(chunk, label_ids), dtype=np.float64))
        report(progress, lo + (hi - lo) * min(1.0, (i + batch) / n), f"faithfulness: scored {min(n, i + batch)}/{n}")
    return np.vstack(out)


def _ranks(model, inputs, own: np.ndarray, batch: int) -> np.ndarray:
    """Rank of each row's own label given its exact score own (n,): 1 + labels above it."""
    depth = min(RANK_DEPTH, model.n_labels)
    ranks = np.empty(len(own), dtype=np.int64)
    for i in range(0, len(own), batch):
        S = model.score_matrix(model.check_inputs(inputs[i:i + batch]), depth).tocsr()
        for r in range(S.shape[0]):
            row = S.data[S.indptr[r]:S.indptr[r + 1]]
            ranks[i + r] = 1 + int(np.sum(row > own[i + r] + 1e-7))
    return ranks


def faithfulness(model, units, label_ids: Sequence[int], orders: dict[str, np.ndarray], batch: int = 512,
                 with_curves: Sequence[str] = (), progress: ProgressFn | None = None) -> dict[str, list[dict]]:
    """Score orderings of units for each label.

    units: TextUnits or DenseUnits. orders: method -> ndarray (k, n) unit order per label
    (highest weight first). with_curves: methods whose deletion curve is returned with ranks.
    Returns method -> per label {"clean", "comprehensiveness", "sufficiency", "deletion_auc"
    [, "deletion_curve": [(removed, score, rank), ...]]}.
    """
    with reusing_encodings(model):  # the deletion rows are scored twice: label scores, then ranks
        return _faithfulness(model, units, label_ids, orders, batch, with_curves, progress)


def reusing_encodings(model):
    """The model's scoped encoding cache (X-Transformer) or a no-op context (models without one)."""
    return model.reusing_embeddings() if hasattr(model, "reusing_embeddings") else contextlib.nullcontext()


def _faithfulness(model, units, label_ids, orders, batch, with_curves, progress) -> dict[str, list[dict]]:
    label_ids = [int(i) for i in label_ids]
    k, n = len(label_ids), units.n
    masks: list[np.ndarray] = [np.ones(n, dtype=bool)]
    plan = {}  # (method, j) -> (deletion slice, comp slice, suff slice)
    for method, order in orders.items():
        for j in range(k):
            d, c, s = _masks(np.asarray(order[j]), n)
            start = len(masks)
            masks += d + c + s
            plan[(method, j)] = (slice(start, start + len(d)), slice(start + len(d), start + len(d) + len(c)),
                                 slice(start + len(d) + len(c), start + len(d) + len(c) + len(s)))
    inputs = units.batch(masks)
    S = _score(model, inputs, label_ids, batch, progress, 0.0, 0.8)  # (len(masks), k)
    clean = S[0]
    counts = np.asarray(deletion_counts(n), dtype=np.float64)
    # Ranks along every requested deletion curve, in one batched top-k pass.
    curve_keys = [(m, j) for m in with_curves if m in orders for j in range(k)]
    rows_idx = np.concatenate([np.arange(plan[key][0].start, plan[key][0].stop) for key in curve_keys]) \
        if curve_keys else np.zeros(0, dtype=np.int64)
    own = np.concatenate([S[plan[key][0], key[1]] for key in curve_keys]) if curve_keys else np.zeros(0)
    sub = [inputs[i] for i in rows_idx] if isinstance(inputs, list) else inputs[rows_idx]
    ranks_all = _ranks(model, sub, own, batch) if curve_keys else np.zeros(0, dtype=np.int64)
    rank_of = {}
    pos = 0
    for key in curve_keys:
        L = plan[key][0].stop - plan[key][0].start
        rank_of[key] = ranks_all[pos:pos + L]
        pos += L
    out: dict[str, list[dict]] = {}
    for method in orders:
        rows = []
        for j in range(k):
            d, c, s = plan[(method, j)]
            s0 = clean[j]
            curve = S[d, j]
            auc = float(np.trapz(curve / s0, counts / n)) if s0 > 1e-12 else float("nan")
            res = {"clean": float(s0), "comprehensiveness": float(np.mean(s0 - S[c, j])),
                   "sufficiency": float(np.mean(s0 - S[s, j])), "deletion_auc": auc}
            if (method, j) in rank_of:
                r = rank_of[(method, j)]
                res["deletion_curve"] = [(int(counts[t]), float(curve[t]), int(r[t])) for t in range(len(counts))]
            rows.append(res)
        out[method] = rows
    report(progress, 1.0, "faithfulness done")
    return out
