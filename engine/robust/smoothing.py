"""Prediction smoothing as a defence: wrap a saved model (engine/models/smoothed.py), evaluate it on
test and save it as '<base>-smoothed', so every page, attack and metric works on it unchanged.
"""
from __future__ import annotations

from dataclasses import asdict

from engine.models.smoothed import SmoothedXMC, SmoothingParams  # noqa: F401  (the model lives in models/)


def train_smoothed(dataset: str, base_model_id: str = "xlinear", params: SmoothingParams = SmoothingParams(),
                   store=None, progress=None):
    """Wrap a saved model with prediction smoothing, evaluate it on test, save as '<base>-smoothed'."""
    from engine.data import load_dataset
    from engine.data.catalog import import_of
    from engine.models.store import ModelStore
    from engine.models.runtime import evaluate_model, forget_model

    store = store or ModelStore()
    store.check_writable()  # before minutes of training
    ds = load_dataset(dataset)
    source = import_of(ds)  # an import deleted or replaced meanwhile: nothing is saved
    base_info = store.info(ds.name, base_model_id)
    model = SmoothedXMC(store.load(ds.name, base_model_id), params, (ds.name, base_model_id))
    metrics = evaluate_model(model, ds, progress=progress, batch=64)
    info = store.save(model, ds.name, f"{base_model_id}-smoothed", {
        "variant": "smoothed", "baseline": base_model_id, "params": asdict(params), "seed": params.seed,
        "data_checksums": ds.checksums, "dataset_is_sample": ds.is_sample, "metrics": metrics,
        "train_seconds": 0.0, "base_manifest_created": base_info.manifest.get("created"),
    }, source=source)
    forget_model(ds.name, info.model_id, store)  # never serve an older cached copy after this save
    return info
