"""Hyper-parameter selection on held-out slices of the TRAINING split: XR-Linear's C and leaf size, and
whether the X-Transformer fine-tunes its encoder.

The test split is never looked at while choosing: k-fold cross-validation (seeded, 3 folds) over
the training rows, the best setting by mean validation P@1 + P@5 wins, and the chosen parameters are
stored in ``engine/models/tuned_defaults.json`` (the file ``train`` reads its defaults from).
"""
from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from engine.errors import InputError
from engine.metrics import ranking_metrics
from engine.models.xlinear import XLinearParams, XLinearXMC
from engine.types import Dataset, ProgressFn, report, scaled_progress

TUNED_FILE = Path(__file__).with_name("tuned_defaults.json")
GRID_C = (0.2, 0.3, 0.5, 1.0)
GRID_LEAF = (100,)
FOLDS = 3


def tuned_defaults(dataset: str) -> dict:
    """Stored tuned XR-Linear parameters for a dataset ({} when none)."""
    if not TUNED_FILE.is_file():
        return {}
    return json.loads(TUNED_FILE.read_text()).get(dataset, {}).get("params", {})


def cv_fine_tuning(texts: list[str], Y, label_names: list[str], params, folds: int = FOLDS, seed: int | None = None,
                   progress: ProgressFn | None = None) -> dict:
    """Fine-tuned vs unmodified encoder (``params.fine_tune``) by k-fold CV on the training rows.

    Unlike the alpha / fusion CV of engine.models.encoder_variants, the encoder is not shared across folds: per fold and choice a whole
    X-Transformer is trained on the fit rows (its TF-IDF, fine-tuning, label tree and ranker see only them)
    and scored on the validation rows, so neither choice has seen its validation rows. texts: n training
    strings; Y: csr (n, L); params: XTransformerParams (everything else as it will be trained). Ties go to
    the unmodified encoder (minutes cheaper to train). Returns {"chosen": bool, "criterion", "folds", "seed",
    "trials": [{"fine_tune", "val_P@1", "val_P@3", "val_P@5", "train_s"}]}."""
    import time

    from engine.models.encoder_variants import CRITERION, _mean, _metrics, fold_rows
    from engine.models.xtransformer import XTransformerXMC

    texts = list(texts)
    Y = sp.csr_matrix(Y, dtype=np.float32)
    if Y.shape[0] != len(texts):
        raise InputError(f"{len(texts)} texts and {Y.shape[0]} label rows: one row per text is needed.")
    if Y.shape[0] < 2 * folds:
        raise InputError(f"cross-validation needs at least {2 * folds} training texts, got {Y.shape[0]}.")
    seed = params.seed if seed is None else int(seed)
    split = fold_rows(len(texts), folds, seed)
    trials = []
    for i, fine_tune in enumerate((False, True)):
        rows, seconds = [], 0.0
        for f, (fit, val) in enumerate(split):
            step = i * folds + f
            part = scaled_progress(progress, step / (2 * folds), (step + 1) / (2 * folds))
            report(part, 0.0, f"{'fine-tuned' if fine_tune else 'unmodified'} encoder: fold {f + 1}/{folds}")
            t0 = time.perf_counter()
            model = XTransformerXMC.train([texts[j] for j in fit], Y[fit], label_names,
                                          replace(params, fine_tune=fine_tune), progress=part)
            seconds += time.perf_counter() - t0
            rows.append(_metrics(Y[val], model.score_matrix([texts[j] for j in val], 5)))
        trials.append({"fine_tune": fine_tune, **_mean(rows), "train_s": round(seconds / folds, 1)})
    report(progress, 1.0, "encoder chosen")
    best = max(trials, key=lambda t: (t["val_P@1"] + t["val_P@5"], not t["fine_tune"]))
    return {"chosen": bool(best["fine_tune"]), "criterion": CRITERION, "folds": folds, "seed": seed, "trials": trials}


def tuned_xtransformer(dataset: str) -> dict:
    """Stored cross-validated X-Transformer choices for a dataset ({} when none): {"fine_tune": bool}."""
    if not TUNED_FILE.is_file():
        return {}
    return json.loads(TUNED_FILE.read_text()).get(dataset, {}).get("xtransformer", {}).get("params", {})


def tune_xtransformer(ds: Dataset, params, folds: int = FOLDS, seed: int = 0,
                      progress: ProgressFn | None = None) -> dict:
    """Fine-tune the encoder or keep it as it is, by k-fold CV on the training split (see
    cv_fine_tuning) -> {"best": {"fine_tune": bool}, "trials", "folds", "seed",
    "measured_with": the other parameters as used}."""
    if not ds.has_text:
        raise InputError(f"the X-Transformer reads text; {ds.display_name} has only numeric features (nothing to "
                         "tune).")
    cv = cv_fine_tuning(ds.train.texts, ds.train.Y, ds.label_names, params, folds=folds, seed=seed, progress=progress)
    used = {k: v for k, v in asdict(params).items() if k != "fine_tune"}
    return {"best": {"fine_tune": cv["chosen"]}, "trials": cv["trials"], "folds": folds, "seed": seed,
            "criterion": cv["criterion"], "measured_with": used}


def tune_xlinear(ds: Dataset, folds: int = FOLDS, seed: int = 0, progress: ProgressFn | None = None,
                 grid_C=GRID_C, grid_leaf=GRID_LEAF) -> dict:
    """Grid over ranker C and leaf size, k-fold CV on train; returns {"best": params, "trials": [...]}."""
    n = ds.train.n
    parts = np.array_split(np.random.default_rng(seed).permutation(n), folds)
    trials = []
    combos = [(c, leaf) for c in grid_C for leaf in grid_leaf]
    for i, (c, leaf) in enumerate(combos):
        params = replace(XLinearParams(seed=seed), C=c, max_leaf_size=leaf)
        p1, p5 = [], []
        for f in range(folds):
            report(progress, (i * folds + f) / (len(combos) * folds), f"C={c} leaf={leaf} fold {f + 1}/{folds}")
            val = np.sort(parts[f])
            fit = np.sort(np.concatenate([parts[g] for g in range(folds) if g != f]))
            m = XLinearXMC.train(ds.inputs("train", fit), ds.train.Y[fit], ds.label_names, params,
                                 feature_names=ds.feature_names)
            r = ranking_metrics(ds.train.Y[val], m.score_matrix(m.check_inputs(ds.inputs("train", val)), 5))
            p1.append(r["P@1"])
            p5.append(r["P@5"])
        trials.append({"C": c, "max_leaf_size": leaf, "val_P@1": float(np.mean(p1)), "val_P@5": float(np.mean(p5))})
    best = max(trials, key=lambda t: t["val_P@1"] + t["val_P@5"])
    report(progress, 1.0, "done")
    params = asdict(replace(XLinearParams(seed=seed), C=best["C"], max_leaf_size=best["max_leaf_size"]))
    return {"best": params, "trials": trials, "folds": folds, "seed": seed}


def save_tuned(dataset: str, result: dict, family: str = "xlinear") -> None:
    """Store a tuning result as the dataset's training defaults (XR-Linear's at the top level, the
    X-Transformer's under "xtransformer"); the other family's entry is kept."""
    from engine.atomic import write_text_atomic

    data = json.loads(TUNED_FILE.read_text()) if TUNED_FILE.is_file() else {}
    entry = data.setdefault(dataset, {})
    if family == "xtransformer":
        entry["xtransformer"] = {k: result[k] for k in ("trials", "folds", "seed", "criterion", "measured_with")}
        entry["xtransformer"]["params"] = result["best"]
    else:
        entry.update({"params": result["best"], "trials": result["trials"], "folds": result["folds"]})
    write_text_atomic(TUNED_FILE, json.dumps(data, indent=1, sort_keys=True))
