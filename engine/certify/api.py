"""certify_input / certify_document: validate, certify one input, cache the finished result on disk.

Cache: <cache_dir>/certify/<dataset>/<sha256 of every parameter + the model's creation time>.json,
written atomically; a cancelled certification writes nothing.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.certify import get_certificate
from engine.certify.result import CertifyResult
from engine.errors import InputError
from engine.results_cache import cached, model_key
from engine.types import ProgressFn


def certify_input(model, inp, method: str = "gaussian", truth: Sequence[int] | None = None,
                  progress: ProgressFn | None = None, **params) -> CertifyResult:
    """Certify one model input (a text, or a feature row (d,)) with no dataset and no cache. Any XMCModel.

    params: the certificate's parameters (engine.certify.CERTIFICATES[method].params), e.g.
    sigma=0.25, n0=100, n=1000, alpha=0.001, top_k=5, radius=0.25, seed=0."""
    from engine.models.base import check_top_k

    spec = get_certificate(method)
    p = spec.check_params(**params)
    if not spec.is_compatible(model):
        raise InputError(f"the {method} certificate replaces words; this model reads numeric features with no text "
                         "(e.g. MediaMill). Use the gaussian certificate.")
    p["top_k"] = check_top_k(p["top_k"], model.n_labels)
    if model.input_kind == "text":
        inp = model.check_inputs([inp])[0]
    else:
        inp = model.check_inputs(np.asarray(inp, dtype=np.float32)[None, :])[0]
    return spec.run(model, inp, p, truth=truth, progress=progress)


def certify_document(dataset: str, model_id: str, index: int, method: str = "gaussian", split: str = "test",
                     store=None, progress: ProgressFn | None = None, **params) -> CertifyResult:
    """Certify one document of a dataset with a saved model, ground truth counted; cached on disk.

    method: "gaussian" (l2 radius in the feature view) | "wordnet" (words replaced; text datasets).
    params: as certify_input. Returns a CertifyResult (engine/certify/result.py)."""
    from engine.data import load_dataset
    from engine.models.runtime import get_model
    from engine.models.store import ModelStore

    spec = get_certificate(method)
    p = spec.check_params(**params)  # before any loading: bad parameters fail fast
    store = store or ModelStore()
    ds = load_dataset(dataset)
    if spec.needs_text and not ds.has_text:
        raise InputError(f"the {method} certificate replaces words; {ds.display_name} has only numeric features. "
                         "Use the gaussian certificate.")
    info = store.info(ds.name, model_id)
    doc = ds.document(index, split)
    key = {"dataset": ds.name, "model_id": model_id, "index": int(index), "split": split, "method": method, **p,
           **model_key(store.root, info.manifest)}

    def compute() -> CertifyResult:
        res = certify_input(get_model(ds.name, model_id, store), ds.input_of(doc), method, truth=list(doc.labels),
                            progress=progress, **p)
        res.params.update({"dataset": ds.name, "model_id": model_id, "index": int(index), "split": split})
        return res

    return cached("certify", (ds.name,), key, compute, dump=CertifyResult.to_json, load=CertifyResult.from_json)
