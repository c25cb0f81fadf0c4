"""Loading and evaluating saved models, for every layer above ``models`` (techniques call this,
never the pipeline): a bounded in-process LRU of loaded models, and P@k / R@k / nDCG@k / PSP@k on
a split.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict
from typing import Any

import scipy.sparse as sp

from engine.data import load_dataset
from engine.data.catalog import import_of
from engine.errors import ModelError
from engine.metrics import ranking_metrics
from engine.models import families
from engine.models.store import ModelInfo, ModelStore
from engine.types import Dataset, ProgressFn, report, scaled_progress

_MODEL_CACHE: "OrderedDict[tuple, Any]" = OrderedDict()
_MODEL_CACHE_MAX = 6
_LOCK = threading.Lock()


def evaluate_model(model, ds: Dataset, split: str = "test", rows=None, progress: ProgressFn | None = None,
                   batch: int = 512) -> dict[str, float]:
    """P@1..5, R@1..5, nDCG@1..5, PSP@1..5 on a split (all rows, or the given rows)."""
    inputs = ds.inputs(split, rows)
    n = len(inputs)
    parts = []
    for i in range(0, n, batch):
        parts.append(model.score_matrix(model.check_inputs(inputs[i:i + batch]), 5).tocsr())
        report(progress, min(1.0, (i + batch) / n), f"evaluating {min(n, i + batch)}/{n}")
    S = sp.vstack(parts).tocsr()
    Y = ds.split(split).Y if rows is None else ds.split(split).Y[list(rows)]
    return ranking_metrics(Y, S, Y_train=ds.train.Y)


def get_model(dataset: str, model_id: str, store: ModelStore | None = None):
    """Load a saved model, cached in process (bounded LRU). Treat the result as read-only."""
    store = store or ModelStore()
    key = (str(store.root), dataset, model_id)
    with _LOCK:
        if key in _MODEL_CACHE:
            _MODEL_CACHE.move_to_end(key)
            return _MODEL_CACHE[key]
    model = store.load(dataset, model_id)
    with _LOCK:
        _MODEL_CACHE[key] = model
        while len(_MODEL_CACHE) > _MODEL_CACHE_MAX:
            _MODEL_CACHE.popitem(last=False)
    return model


def is_loaded(dataset: str, model_id: str, store: ModelStore | None = None) -> bool:
    """Whether ``get_model`` would answer from this process's memory (no load from disk)."""
    store = store or ModelStore()
    with _LOCK:
        return (str(store.root), dataset, model_id) in _MODEL_CACHE


def forget_model(dataset: str, model_id: str, store: ModelStore | None = None) -> None:
    """Drop a model from the in-process cache (after it was retrained or replaced)."""
    store = store or ModelStore()
    with _LOCK:
        _MODEL_CACHE.pop((str(store.root), dataset, model_id), None)


def train_model(dataset: str | Dataset, family: str = "xlinear", params=None, store: ModelStore | None = None,
                progress: ProgressFn | None = None, model_id: str | None = None, evaluate: bool = True) -> ModelInfo:
    """Train a baseline model on the training split, evaluate on test, save it with its manifest."""
    fam = families.family(family)
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    fam.check_dataset(ds)  # before any work
    source = import_of(ds)  # an import deleted or replaced while this trains: its model is not saved
    store = store or ModelStore()
    store.check_writable()
    model_id = model_id or families.format_model_id(family)
    params = params or fam.default_params(ds)
    t0 = time.perf_counter()
    model = fam.train(ds, params, progress=scaled_progress(progress, 0.0, 0.8))
    train_seconds = time.perf_counter() - t0
    metrics = evaluate_model(model, ds, progress=scaled_progress(progress, 0.8, 0.99)) if evaluate else {}
    manifest = {
        "variant": "baseline",
        "dataset_is_sample": ds.is_sample,
        "data_checksums": ds.checksums,
        "params": asdict(params),
        "seed": getattr(params, "seed", None),
        "train_seconds": round(train_seconds, 3),
        "n_train": ds.train.n,
        "metrics": metrics,
        **getattr(model, "training_report", {}),  # what training chose and why (e.g. embed_scale_cv)
    }
    info = store.save(model, ds.name, model_id, manifest, source=source)
    forget_model(ds.name, model_id, store)
    report(progress, 1.0, "saved")
    return info


def ensure_model(dataset: str, model_id: str = "xlinear", store: ModelStore | None = None,
                 progress: ProgressFn | None = None):
    """Return a saved model, training XR-Linear first if it is missing (it takes seconds)."""
    store = store or ModelStore()
    try:
        store.info(dataset, model_id)
    except ModelError:
        if model_id != "xlinear":
            raise
        train_model(dataset, "xlinear", store=store, progress=progress)
    return get_model(dataset, model_id, store)
