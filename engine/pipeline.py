"""The facade: load datasets and models, train, predict, evaluate. The dashboard calls only this
module (and the result types it returns); the CLI uses it too.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict
from typing import Any

import numpy as np

from engine.data import load_dataset
from engine.data.dataset import DATASETS
from engine.errors import InputError, ModelError
from engine.metrics import ranking_metrics
from engine.models.base import check_top_k
from engine.models.store import ModelInfo, ModelStore
from engine.paths import MODEL_DIR_NAME, ensure_writable_dir, storage_problems
from engine.types import Dataset, Document, Prediction, ProgressFn, report, scaled_progress

FAMILIES = ("xlinear", "xtransformer")
_MODEL_CACHE: "OrderedDict[tuple, Any]" = OrderedDict()
_MODEL_CACHE_MAX = 6
_LOCK = threading.Lock()


def model_id_for(family: str, robust: bool = False) -> str:
    if family not in FAMILIES:
        raise InputError(f"unknown model {family!r}: choose one of {', '.join(FAMILIES)}.")
    return f"{family}-robust" if robust else family


def inputs_of(ds: Dataset, split: str = "test", rows=None) -> Any:
    """What a model reads for a split: list[str] (text datasets) or ndarray (n, d) (dense)."""
    s = ds.split(split)
    idx = range(s.n) if rows is None else rows
    if ds.has_text:
        return [s.texts[i] for i in idx]
    X = s.X if rows is None else s.X[list(rows)]
    return np.asarray(X.toarray(), dtype=np.float32)


def document_input(ds: Dataset, doc: Document) -> Any:
    return doc.text if ds.has_text else doc.features


def default_params(family: str, ds: Dataset, **overrides):
    if family == "xlinear":
        from engine.models.tuning import tuned_defaults
        from engine.models.xlinear import XLinearParams

        return XLinearParams(**{**tuned_defaults(ds.name), **overrides})
    from engine.models.tuning import tuned_defaults
    from engine.models.xtransformer import XTransformerParams

    # the ranker is a linear XR model like XR-Linear: start from the C that XR-Linear's
    # cross-validation on the training split chose for this dataset
    tuned_c = tuned_defaults(ds.name).get("C")
    return XTransformerParams(**({"ranker_C": tuned_c} if tuned_c else {}), **overrides)


def train_model(dataset: str | Dataset, family: str = "xlinear", params=None, store: ModelStore | None = None,
                progress: ProgressFn | None = None, model_id: str | None = None, evaluate: bool = True) -> ModelInfo:
    """Train a baseline model on the training split, evaluate on test, save it with its manifest.

    Raises StorageError before training when the store's folder cannot take the model."""
    store = store or ModelStore()
    ensure_writable_dir(store.root, MODEL_DIR_NAME)
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    model_id = model_id or model_id_for(family)
    params = params or default_params(family, ds)
    t0 = time.perf_counter()
    if family == "xlinear":
        from engine.models.xlinear import XLinearXMC

        model = XLinearXMC.train(inputs_of(ds, "train"), ds.train.Y, ds.label_names, params,
                                 feature_names=ds.feature_names, progress=scaled_progress(progress, 0.0, 0.8))
    elif family == "xtransformer":
        if not ds.has_text:
            raise InputError(f"the X-Transformer reads text; {ds.display_name} has only numeric features. Use xlinear.")
        from engine.models.xtransformer import XTransformerXMC

        model = XTransformerXMC.train(ds.train.texts, ds.train.Y, ds.label_names, params,
                                      progress=scaled_progress(progress, 0.0, 0.8))
    else:
        raise InputError(f"unknown model {family!r}: choose one of {', '.join(FAMILIES)}.")
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
    }
    info = store.save(model, ds.name, model_id, manifest)
    forget_model(ds.name, model_id, store)
    report(progress, 1.0, "saved")
    return info


def evaluate_model(model, ds: Dataset, split: str = "test", rows=None, progress: ProgressFn | None = None,
                   batch: int = 512) -> dict[str, float]:
    """P@1..5, R@1..5, nDCG@1..5, PSP@1..5 on a split (all rows, or the given rows)."""
    import scipy.sparse as sp

    inputs = inputs_of(ds, split, rows)
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


def forget_model(dataset: str, model_id: str, store: ModelStore | None = None) -> None:
    """Drop a model from the in-process cache (after it was retrained or replaced)."""
    store = store or ModelStore()
    with _LOCK:
        _MODEL_CACHE.pop((str(store.root), dataset, model_id), None)


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


def list_models(dataset: str | None = None, store: ModelStore | None = None) -> list[ModelInfo]:
    return (store or ModelStore()).list(dataset)


def predict_document(dataset: str, model_id: str, index: int, top_k: int = 5, split: str = "test",
                     store: ModelStore | None = None) -> tuple[Document, Prediction, list[list[int]]]:
    """One document's top-k labels (ground truth marked) and each label's tree path."""
    ds = load_dataset(dataset)
    model = get_model(dataset, model_id, store)
    top_k = check_top_k(top_k, model.n_labels)
    doc = ds.document(index, split)
    pred = model.predict([document_input(ds, doc)] if ds.has_text else doc.features[None, :], top_k,
                         truth=[doc.labels])[0]
    paths = [model.label_path(x.label_id) for x in pred.labels]
    return doc, pred, paths


def predict_text(dataset: str, model_id: str, text: str, top_k: int = 5, store: ModelStore | None = None) -> Prediction:
    """Predict labels for free text typed by a user (text datasets only)."""
    from engine.text_input import check_text

    model = get_model(dataset, model_id, store)
    if model.input_kind != "text":
        raise InputError("this model reads numeric features, not text.")
    return model.predict([check_text(text)], check_top_k(top_k, model.n_labels))[0]


def dataset_stats(dataset: str) -> dict[str, Any]:
    ds = load_dataset(dataset)
    out = {"name": ds.name, "display_name": ds.display_name, "is_sample": ds.is_sample, "kind": ds.kind,
           "n_features": ds.n_features, "n_labels": ds.n_labels}
    for part in ("train", "test"):
        s = ds.split(part)
        out[f"n_{part}"] = s.n
        out[f"labels_per_row_{part}"] = float(s.Y.sum() / max(s.n, 1))
        out[f"features_per_row_{part}"] = float(s.X.getnnz() / max(s.n, 1))
    freq = np.asarray(ds.train.Y.sum(axis=0)).ravel()
    out["label_frequency"] = {ds.label_names[i]: int(freq[i]) for i in np.argsort(-freq)}
    return out


def search_documents(dataset: str, word: str | None = None, label: str | None = None, split: str = "test",
                     limit: int = 200) -> list[int]:
    """Document ids whose text has ``word`` and/or whose true labels include ``label``."""
    ds = load_dataset(dataset)
    s = ds.split(split)
    ids = np.arange(s.n)
    if label:
        if label not in ds.label_names:
            raise InputError(f"unknown label {label!r} in {ds.name}.")
        j = ds.label_names.index(label)
        ids = ids[np.asarray(s.Y[:, j].toarray()).ravel()[ids] > 0]
    if word:
        w = word.strip().lower()
        if not ds.has_text:
            raise InputError(f"{ds.display_name} has no text to search.")
        ids = np.array([i for i in ids if w in s.texts[i].split()], dtype=np.int64)
    return [int(i) for i in ids[:limit]]


# -- forwards to the feature packages (imported lazily: torch / ART / NLTK load only when used) --
def _forward(module: str, name: str):
    def call(*args, **kwargs):
        import importlib

        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = name
    call.__doc__ = f"See {module}.{name}."
    return call


explain_document = _forward("engine.explain.api", "explain_document")
explanation_is_cached = _forward("engine.explain.api", "cache_has")
bertviz_html = _forward("engine.explain.api", "bertviz_html")
attention_heatmap = _forward("engine.explain.api", "attention_heatmap")
faithfulness_table = _forward("engine.explain.faithfulness_table", "faithfulness_table")
attack_document = _forward("engine.attacks.api", "attack_document")
evaluate_robustness = _forward("engine.attacks.robustness", "evaluate_robustness")
robustness_curve = _forward("engine.attacks.robustness", "robustness_curve")
_train_robust = _forward("engine.robust.adversarial_training", "train_robust")


def train_robust(dataset, family: str = "xlinear", params=None, store: ModelStore | None = None,
                 progress: ProgressFn | None = None, **kwargs) -> ModelInfo:
    """See engine.robust.adversarial_training.train_robust; first proves the store's folder writable
    (StorageError), so minutes of adversarial training never end in a failed save."""
    store = store or ModelStore()
    ensure_writable_dir(store.root, MODEL_DIR_NAME)
    return _train_robust(dataset, family, params=params, store=store, progress=progress, **kwargs)


import_user_dataset = _forward("engine.data.user_data", "import_user_dataset")
list_user_datasets = _forward("engine.data.user_data", "list_user_datasets")


__all__ = ["DATASETS", "FAMILIES", "load_dataset", "train_model", "evaluate_model", "get_model", "ensure_model",
           "list_models", "predict_document", "predict_text", "dataset_stats", "search_documents", "inputs_of",
           "document_input", "model_id_for", "explain_document", "explanation_is_cached", "bertviz_html",
           "faithfulness_table",
           "attention_heatmap", "attack_document", "evaluate_robustness", "robustness_curve", "train_robust",
           "import_user_dataset", "list_user_datasets", "storage_problems"]
