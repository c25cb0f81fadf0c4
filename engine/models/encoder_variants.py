"""How much the X-Transformer's ranker leans on its encoder, chosen by cross-validation on the TRAINING split.

The ranker reads [TF-IDF ; alpha * unit(embedding)] (``XTransformerParams.embed_scale`` = alpha). Both halves
are unit-norm, and a linear ranker pays less (in its regulariser) to use the few large TF-IDF values than
the 384 small embedding values, so at alpha 1 it mostly ignores the encoder. alpha > 1 makes the encoder
cheaper to use. The second variant is a ranker on the embedding alone fused with XR-Linear on TF-IDF:
score = (1 - w) * embedding ranker + w * XR-Linear (``ranker_tfidf=False``, ``ensemble_xlinear_weight=w``).

Both choices are made here by k-fold cross-validation over the training rows (seeded; the test split is
never read), from embeddings computed once: each trial is one cheap ranker fit (seconds), the encoder is
not run again. Criterion: mean validation P@1 + P@5, as engine/models/tuning.py. The TF-IDF and the
encoder are those of the full training split (neither reads labels, except a fine-tuned encoder: its
validation rows were seen in fine-tuning, so CV then favours the encoder; the unmodified one is clean).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from engine.errors import InputError
from engine.metrics import ranking_metrics
from engine.types import ProgressFn, report

ALPHAS = (1.0, 2.0, 4.0, 8.0, 16.0)  # embed_scale grid
FUSION_WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # weight on XR-Linear in the fused score
FOLDS = 3
CRITERION = "mean validation P@1 + P@5 over the folds (training split only)"


def _check(emb: np.ndarray, X, Y) -> None:
    if emb.ndim != 2 or emb.shape[0] != X.shape[0] or X.shape[0] != Y.shape[0]:
        raise InputError(f"embeddings {emb.shape}, TF-IDF {X.shape} and labels {Y.shape} need one row per text.")
    if Y.shape[0] < 2 * FOLDS:
        raise InputError(f"cross-validation needs at least {2 * FOLDS} training texts, got {Y.shape[0]}.")


def fold_rows(n: int, folds: int = FOLDS, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded k-fold split of n rows: [(fit rows, validation rows)], both sorted."""
    parts = np.array_split(np.random.default_rng(seed).permutation(n), folds)
    return [(np.sort(np.concatenate([parts[g] for g in range(folds) if g != f])), np.sort(parts[f]))
            for f in range(folds)]


def _metrics(Y_val, S) -> dict:
    r = ranking_metrics(Y_val, S, ks=(1, 3, 5))
    return {"P@1": r["P@1"], "P@3": r["P@3"], "P@5": r["P@5"]}


def _mean(rows: list[dict]) -> dict:
    return {f"val_{k}": float(np.mean([r[k] for r in rows])) for k in rows[0]}


def _best(trials: list[dict], key: str):
    return max(trials, key=lambda t: (t["val_P@1"] + t["val_P@5"], -abs(t[key] - 1.0)))[key]


def cv_embed_scale(emb: np.ndarray, X_tfidf, Y, params, alphas=ALPHAS, folds: int = FOLDS, seed: int | None = None,
                   progress: ProgressFn | None = None) -> dict:
    """alpha for the ranker on [TF-IDF ; alpha * unit(emb)] by k-fold CV on the training rows.

    emb: (n, h) pooled encoder outputs; X_tfidf: csr (n, V); Y: csr (n, L); params: XTransformerParams (ranker
    settings). Returns {"chosen": alpha, "criterion", "folds", "seed", "trials": [{"embed_scale", "val_P@1",
    "val_P@3", "val_P@5"}]}."""
    from engine.models.concat_ranker import BEAM, fit_concat_ranker, rank_features_of

    X_tfidf, Y = sp.csr_matrix(X_tfidf, dtype=np.float32), sp.csr_matrix(Y, dtype=np.float32)
    emb = np.asarray(emb, dtype=np.float32)
    _check(emb, X_tfidf, Y)
    seed = params.seed if seed is None else int(seed)
    split = fold_rows(Y.shape[0], folds, seed)
    plain = replace(params, embed_scale=1.0, ranker_tfidf=True, ensemble_xlinear_weight=0.0)
    trials = []
    for i, alpha in enumerate(alphas):
        R = rank_features_of(emb, X_tfidf, float(alpha))
        rows = []
        for f, (fit, val) in enumerate(split):
            report(progress, (i * folds + f) / (len(alphas) * folds), f"embed_scale {alpha:g}: fold {f + 1}/{folds}")
            ranker = fit_concat_ranker(R[fit], Y[fit], plain)
            rows.append(_metrics(Y[val], ranker.predict(R[val], beam_size=BEAM, only_topk=5, threads=params.threads)))
        trials.append({"embed_scale": float(alpha), **_mean(rows)})
    report(progress, 1.0, "embed_scale chosen")
    return {"chosen": _best(trials, "embed_scale"), "criterion": CRITERION, "folds": folds, "seed": seed,
            "trials": trials}


def cv_fusion(emb: np.ndarray, X_tfidf, Y, params, weights=FUSION_WEIGHTS, alpha: float = 1.0, folds: int = FOLDS,
              seed: int | None = None, progress: ProgressFn | None = None) -> dict:
    """w for (1 - w) * ranker on alpha * unit(emb) alone + w * XR-Linear on TF-IDF, by k-fold CV on training rows.

    Per fold the two rankers are fitted once and every w is scored on their exact scores over the union of
    their top-50 labels (as the fused model predicts). Returns {"chosen": w, ..., "trials": [{"weight", ...}]}."""
    from engine.models.concat_ranker import train_xlinear, fit_concat_ranker, fusion_candidates, rank_features_of
    from engine.models.concat_ranker import top_k_of_mix

    X_tfidf, Y = sp.csr_matrix(X_tfidf, dtype=np.float32), sp.csr_matrix(Y, dtype=np.float32)
    emb = np.asarray(emb, dtype=np.float32)
    _check(emb, X_tfidf, Y)
    bad = [w for w in weights if not 0.0 < float(w) < 1.0]
    if bad:
        raise InputError(f"fusion weights must be in (0, 1), got {bad}.")
    seed = params.seed if seed is None else int(seed)
    split = fold_rows(Y.shape[0], folds, seed)
    R = rank_features_of(emb, X_tfidf, float(alpha), with_tfidf=False)
    plain = replace(params, embed_scale=float(alpha), ranker_tfidf=True, ensemble_xlinear_weight=0.0)
    per_w: dict[float, list[dict]] = {float(w): [] for w in weights}
    for f, (fit, val) in enumerate(split):
        report(progress, f / folds, f"fusion: fold {f + 1}/{folds}")
        ranker = fit_concat_ranker(R[fit], Y[fit], plain)
        xlinear = train_xlinear(X_tfidf[fit], Y[fit], plain)
        A, B = fusion_candidates(ranker, R[val], xlinear, X_tfidf[val], 5, params.threads)
        for w in per_w:
            per_w[w].append(_metrics(Y[val], top_k_of_mix(A, B, w, 5)))
    trials = [{"weight": w, **_mean(rows)} for w, rows in per_w.items()]
    report(progress, 1.0, "fusion weight chosen")
    return {"chosen": _best(trials, "weight"), "embed_scale": float(alpha), "criterion": CRITERION, "folds": folds,
            "seed": seed, "trials": trials}
