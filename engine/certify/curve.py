"""Certified P@k against the budget: the certified counterpart of engine.attacks.robustness.robustness_curve.

Over the seeded document sample of the robustness curve (engine.attacks.robustness.sample_documents,
same n and seed: the same documents), each document is certified once (certify_document, whose disk
cache Predict's "Certify" shares); a label's certificate is its radius, so one certification gives
the curve at every radius:

    certified P@k at r = (true labels in the smoothed top-k whose certified radius is >= r) / (n k)

-- the share of top-k slots that provably hold a true label for every perturbation of size below r
(l2 in the feature view for "gaussian", words replaced for "wordnet"). It can only fall as r grows.
It is a guarantee for the *smoothed* model; the empirical attacked P@k of robustness_curve is for the
model itself.
"""
from __future__ import annotations

import math
import time

import numpy as np

from engine.errors import InputError
from engine.types import ProgressFn, report, scaled_progress


def certified_at(result, radius: float) -> int:
    """How many of one CertifyResult's top-k labels are true and certified at ``radius`` (radius >= r)."""
    return sum(1 for x in result.labels if x.is_true and x.radius is not None and x.radius >= radius)


def check_radii(radii) -> list[float]:
    """Radii -> sorted distinct floats; InputError for none, a negative or a non-number."""
    try:
        values = sorted({float(r) for r in radii})
    except (TypeError, ValueError):
        raise InputError(f"radii must be numbers (e.g. 0, 0.1, 0.25), got {radii!r}.") from None
    if not values:
        raise InputError("give at least one radius for the certified curve.")
    bad = [r for r in values if not math.isfinite(r) or r < 0]
    if bad:
        raise InputError(f"a certified radius must be a finite number of at least 0, got {bad[0]!r}.")
    return values


def certified_curve(dataset: str, model_id: str, radii, n: int = 30, seed: int = 0, method: str = "gaussian",
                    split: str = "test", store=None, progress: ProgressFn | None = None, params: dict | None = None) -> dict:
    """Certified P@k at each radius over the seeded sample of n documents (see the module docstring).

    seed: picks the documents (as robustness_curve) and seeds the certificate's noise.
    params: the certificate's other parameters as a dict (sigma, top_k, n0, n = noise samples, alpha;
    missing ones take their defaults from engine.certify.CERTIFICATES). Returns {"radii", "certified_P@k" (one per radius), "smoothed_P@k"
    (the smoothed model's clean P@k: true labels in its top-k, certified or not), "clean_P@k" (the model
    itself on the same documents), "top_k", "n", "docs",
    "method", "unit", "seconds_per_doc" (certification time, cached documents included at their first
    run's time), "params"}."""
    from engine.attacks.robustness import sample_documents
    from engine.certify import get_certificate
    from engine.certify.api import certify_document
    from engine.data import load_dataset
    from engine.models.store import ModelStore

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n (documents to certify) must be a whole number of at least 1, got {n!r}.")
    values = check_radii(radii)
    spec = get_certificate(method)
    params = dict(params or {})
    if "seed" in params or "radius" in params:
        raise InputError("certified_curve takes the noise seed from seed and counts every radius in radii: "
                         "give no separate seed or radius.")
    p = spec.check_params(**params, seed=seed)  # bad parameters fail before any loading
    if spec.unit == "words" and any(not r.is_integer() for r in values):
        raise InputError(f"the {method} certificate counts words replaced: radii must be whole numbers.")
    store = store or ModelStore()
    ds = load_dataset(dataset)
    store.info(ds.name, model_id)  # a missing model is a clear error before any work
    docs = sample_documents(ds.split(split).n, int(n), seed)
    hits = np.zeros(len(values), dtype=np.int64)
    smoothed_hits, seconds, k = 0, [], p["top_k"]
    t0 = time.perf_counter()
    for j, i in enumerate(docs):
        sub = scaled_progress(progress, j / len(docs), (j + 1) / len(docs))
        res = certify_document(ds.name, model_id, i, method, split=split, store=store, progress=sub,
                               **{name: value for name, value in p.items() if name != "radius"})
        k = res.top_k
        hits += [certified_at(res, r) for r in values]
        smoothed_hits += sum(1 for x in res.labels if x.is_true)
        seconds.append(res.seconds)
        report(progress, (j + 1) / len(docs), f"certified {j + 1}/{len(docs)} documents")
    denom = len(docs) * k
    from engine.models.runtime import get_model

    model = get_model(ds.name, model_id, store)  # the model itself on the same documents, for comparison
    inputs = [ds.input_of(ds.document(i, split)) for i in docs]
    X = model.check_inputs(inputs if model.input_kind == "text" else np.stack(inputs))
    truth = [set(ds.document(i, split).labels) for i in docs]
    clean_hits = sum(len(set(pr.label_ids[:k]) & t) for pr, t in zip(model.predict(X, k), truth))
    return {"radii": values, "certified_P@k": [float(h / denom) for h in hits],
            "smoothed_P@k": float(smoothed_hits / denom), "clean_P@k": float(clean_hits / denom), "top_k": k, "n": len(docs), "docs": docs,
            "method": method, "unit": spec.unit, "seconds_per_doc": float(np.mean(seconds)),
            "wall_seconds": round(time.perf_counter() - t0, 2), "dataset": ds.name, "model_id": model_id,
            "params": {name: value for name, value in p.items() if name != "radius"}}
