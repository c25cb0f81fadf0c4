"""Hyper-parameter selection for XR-Linear on a held-out slice of the TRAINING split.

The test split is never looked at while choosing: k-fold cross-validation (seeded, 3 folds) over
the training rows, the best setting by mean validation P@1 + P@5 wins, and the chosen parameters are
stored in ``engine/models/tuned_defaults.json`` (the file ``train`` reads its defaults from).
"""
from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from engine.metrics import ranking_metrics
from engine.models.xlinear import XLinearParams, XLinearXMC
from engine.types import Dataset, ProgressFn, report

TUNED_FILE = Path(__file__).with_name("tuned_defaults.json")
GRID_C = (0.2, 0.3, 0.5, 1.0)
GRID_LEAF = (100,)
FOLDS = 3


def tuned_defaults(dataset: str) -> dict:
    """Stored tuned XR-Linear parameters for a dataset ({} when none)."""
    if not TUNED_FILE.is_file():
        return {}
    return json.loads(TUNED_FILE.read_text()).get(dataset, {}).get("params", {})


def tuned_xtransformer(dataset: str) -> dict:
    """Stored cross-validated X-Transformer choices for a dataset ({} when none): {"fine_tune": bool}."""
    if not TUNED_FILE.is_file():
        return {}
    return json.loads(TUNED_FILE.read_text()).get(dataset, {}).get("xtransformer", {}).get("params", {})


def tune_xtransformer(ds: Dataset, params, folds: int = FOLDS, seed: int = 0,
                      progress: ProgressFn | None = None) -> dict:
    """Fine-tune the encoder or keep it as it is, by k-fold CV on the training split (see
    engine.models.encoder_variants.cv_fine_tuning) -> {"best": {"fine_tune": bool}, "trials", "folds", "seed",
    "measured_with": the other parameters as used}."""
    from engine.models.encoder_variants import cv_fine_tuning

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
