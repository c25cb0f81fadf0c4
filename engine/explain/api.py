"""Public explanation API (forwarded by engine.pipeline): explain_document, attention_heatmap,
bertviz_html, and explain_input (the same on any model + input, no store needed).

Results of explain_document are cached on disk (engine/results_cache.py) under
``cache_dir()/explanations``, keyed by every argument and the model's store and creation time,
so asking again is instant and retraining a model invalidates its explanations.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from engine.errors import InputError
from engine.explain.faithfulness import faithfulness, order_of, random_order
from engine.explain.attention import NO_ATTENTION_EVIDENCE
from engine.explain.registry import EXPLAINERS, explainer_spec
from engine.explain.spec import ExplainContext
from engine.explain.result import AttentionMap, DocumentExplanation, LabelExplanation
from engine.explain.units import DenseUnits, TextUnits
from engine.results_cache import lookup, model_key, store as store_result
from engine.types import ProgressFn, report, scaled_progress

METHODS = tuple(EXPLAINERS)  # menu order; each method's spec in engine/explain/registry.py
MAX_SAMPLES = 20000
CACHE_VERSION = 2  # 2: whole-score IG at 8 steps (was 50)


def _whole(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{what} must be a whole number, got {value!r}.")
    return int(value)


def check_params(method: str, samples: int, n_features: int, seed: int) -> None:
    explainer_spec(method)
    samples = _whole(samples, "the number of LIME samples")
    if samples <= 0 or samples > MAX_SAMPLES:
        raise InputError(f"the number of LIME samples must be between 1 and {MAX_SAMPLES:,}, got {samples}.")
    n_features = _whole(n_features, "the number of words to show")
    if n_features <= 0:
        raise InputError(f"the number of words to show must be at least 1, got {n_features}.")
    if _whole(seed, "the seed") < 0:
        raise InputError(f"the seed must be a non-negative whole number, got {seed}.")


def _units(model, model_input: Any, train_X: np.ndarray | None, feature_names: list[str] | None):
    """The units (words or features) of one input that explanations weigh and faithfulness removes."""
    if model.input_kind == "text":
        if not isinstance(model_input, str):
            raise InputError("this model reads text: give the document as a string.")
        return TextUnits.of(model_input)
    if train_X is None or feature_names is None:
        raise InputError("a dense model's explanation needs the training rows and feature names.")
    train_X = np.asarray(train_X, dtype=np.float32)
    return DenseUnits(np.asarray(model.check_inputs(model_input), dtype=np.float32).ravel(),
                      train_X.mean(axis=0), list(feature_names))


def _first_result(model, units, ids: list[int], method: str, samples: int, n_features: int, seed: int,
                  truth, train_X, top_k, progress, labels_are_top_k: bool = False,
                  timing: dict | None = None) -> list[LabelExplanation]:
    """The method's weights, top units and each label's score; faithfulness scores NaN (pending).
    timing: when given, gets "method_seconds" (the method's own run, without the shared code around it)."""
    spec = explainer_spec(method)
    k = len(ids)
    t0 = time.perf_counter()
    out_m = spec.run(model, units, ids, ExplainContext(samples=samples, seed=seed, top_k=top_k, train_X=train_X,
                                                       progress=progress, labels_are_top_k=labels_are_top_k))
    if timing is not None:
        timing["method_seconds"] = round(time.perf_counter() - t0, 4)
    W, extras, conditions = out_m.weights, out_m.extras, out_m.conditions
    token_w = out_m.token_weights or [units.token_weights(W[j]) for j in range(k)]
    no_evidence = out_m.no_evidence or [False] * k
    # the label scores on the same input faithfulness starts from (its "clean" row): the method's own when it
    # computed them, else one forward pass (faithfulness replaces them with its clean row's scores)
    clean = np.asarray(out_m.scores, dtype=np.float64) if out_m.scores is not None else \
        np.asarray(model.score_labels(units.batch([np.ones(units.n, dtype=bool)]), ids), dtype=np.float64)[0]
    truth_set = None if truth is None else set(int(t) for t in truth)
    nan = float("nan")
    out = []
    for j, lab in enumerate(ids):
        top = np.argsort(-np.abs(W[j]), kind="stable")[:n_features]
        names = units.names if conditions is None else [conditions[j].get(u, units.names[u]) for u in range(units.n)]
        extra = extras[j]
        if no_evidence[j]:  # the method has nothing to say about this label: no words, no scores
            top = top[:0]
            extra = {**extra, "note": spec.no_evidence_note}
        out.append(LabelExplanation(
            label_id=lab, name=model.label_names[lab], score=float(clean[j]),
            is_true=None if truth_set is None else lab in truth_set,
            weights=[(names[u], float(W[j, u])) for u in top], token_weights=token_w[j],
            comprehensiveness=nan, sufficiency=nan, deletion_auc=nan, deletion_curve=[], random_baseline={},
            extra=extra, unit_weights=[] if no_evidence[j] else [float(v) for v in W[j]]))
    return out


def _with_faithfulness(model, units, labels: list[LabelExplanation], method: str, seed: int,
                       progress) -> list[LabelExplanation]:
    """Each label's comprehensiveness, sufficiency, deletion curve and random baseline, computed from
    its ``unit_weights`` (a label without evidence keeps NaN scores and gets only the random baseline)."""
    ids = [lab.label_id for lab in labels]
    rand = [random_order(units.n, seed, i) for i in ids]
    mine = [order_of(np.asarray(lab.unit_weights)) if lab.unit_weights else rand[j] for j, lab in enumerate(labels)]
    if any(len(o) != units.n for o in mine):  # a cache entry written for another tokenisation
        raise InputError("the cached explanation does not match the document's words; explain it again.")
    F = faithfulness(model, units, ids, {method: np.stack(mine), "random": np.stack(rand)}, with_curves=(method,),
                     progress=progress)
    out = []
    for j, lab in enumerate(labels):
        f, r = F[method][j], F["random"][j]
        scores = (dict(comprehensiveness=f["comprehensiveness"], sufficiency=f["sufficiency"],
                       deletion_auc=f["deletion_auc"], deletion_curve=f["deletion_curve"]) if lab.unit_weights else
                  dict(comprehensiveness=float("nan"), sufficiency=float("nan"), deletion_auc=float("nan"),
                       deletion_curve=[]))
        out.append(replace(lab, score=f["clean"], **scores,
                           random_baseline={"comprehensiveness": r["comprehensiveness"],
                                            "sufficiency": r["sufficiency"], "deletion_auc": r["deletion_auc"]}))
    return out


def explain_input(model, model_input: Any, label_ids: Sequence[int], method: str = "lime", samples: int = 500,
                  n_features: int = 10, seed: int = 0, truth: Sequence[int] | None = None,
                  train_X: np.ndarray | None = None, feature_names: list[str] | None = None,
                  progress: ProgressFn | None = None, top_k: int | None = None,
                  with_faithfulness: bool = True) -> list[LabelExplanation]:
    """Explain chosen labels of one input and score the explanation's faithfulness.

    model_input: a string (text models) or ndarray (d,) (dense models, which also need train_X
    (n, d) raw training rows and feature_names). label_ids: the labels to explain (k of them).
    top_k: for method "whole", the labels must be in the input's top-k (None: any label).
    with_faithfulness=False: the first result only (faithfulness scores NaN, see _with_faithfulness).
    """
    from engine.models.base import MAX_TOP_K

    check_params(method, samples, n_features, seed)
    spec = explainer_spec(method)
    ids = [int(i) for i in model.check_label_ids(label_ids)]
    reason = spec.incompatibility(model.family, model.input_kind)
    if reason:
        raise InputError(reason)
    if len(ids) > MAX_TOP_K:
        raise InputError(f"at most {MAX_TOP_K} labels can be explained at once (XTrust's maximum top-k), "
                         f"got {len(ids):,}.")
    units = _units(model, model_input, train_X, feature_names)
    split = 0.7 if with_faithfulness else 1.0
    labels = _first_result(model, units, ids, method, samples, n_features, seed, truth, train_X, top_k,
                           scaled_progress(progress, 0.0, split))
    if with_faithfulness:
        labels = _with_faithfulness(model, units, labels, method, seed, scaled_progress(progress, split, 1.0))
    return labels


# -- documents of a dataset + model from the store ---------------------------------------------
def _model_info(dataset: str, model_id: str, store):
    from engine.models.store import ModelStore

    store = store or ModelStore()
    return store, store.info(dataset, model_id)


def _check_method_for(method: str, info, dataset: str) -> None:
    reason = explainer_spec(method).incompatibility(info.family, info.manifest.get("input_kind", ""))
    if reason:
        raise InputError(reason.replace("this model", f"{info.model_id} ({dataset})", 1))


def _cache_folders(key: dict) -> tuple[str, str]:
    return key["dataset"], key["model_id"]


def _read_cache(key: dict) -> DocumentExplanation | None:
    return lookup("explanations", _cache_folders(key), key, lambda t: DocumentExplanation.from_json(json.loads(t)))


def _document_key(dataset, model_id, index, method, top_k, samples, n_features, seed, split, labels, store):
    """Everything an explanation depends on, including the model's creation time: the cache key."""
    check_params(method, samples, n_features, seed)
    store, info = _model_info(dataset, model_id, store)
    _check_method_for(method, info, dataset)
    key = {"v": CACHE_VERSION, "dataset": dataset, "model_id": model_id, "index": index, "method": method,
           "top_k": top_k, "samples": samples if explainer_spec(method).uses_samples else None,
           "n_features": n_features,
           "seed": seed, "split": split, "labels": None if labels is None else [str(x) for x in labels],
           **model_key(store.root, info.manifest)}
    return key, store, info


def cached_explanation(dataset: str, model_id: str, index: int, method: str = "lime", top_k: int = 5,
                       samples: int = 500, n_features: int = 10, seed: int = 0, split: str = "test", store=None,
                       labels: Sequence[int | str] | None = None) -> DocumentExplanation | None:
    """What explain_document with these arguments has stored, without computing anything: the
    complete result, the first result while its faithfulness is pending, or None."""
    key, _, _ = _document_key(dataset, model_id, index, method, top_k, samples, n_features, seed, split, labels, store)
    return _read_cache(key)


def cache_has(dataset: str, model_id: str, index: int, method: str = "lime", top_k: int = 5, samples: int = 500,
              n_features: int = 10, seed: int = 0, split: str = "test", store=None,
              labels: Sequence[int | str] | None = None, complete: bool = True) -> bool:
    """Whether explain_document with these arguments would be answered from the cache (complete=False:
    a first result whose faithfulness is still pending counts too)."""
    hit = cached_explanation(dataset, model_id, index, method, top_k, samples, n_features, seed, split, store, labels)
    return hit is not None and not (complete and hit.faithfulness_pending)


def explain_document(dataset: str, model_id: str, index: int, method: str = "lime", top_k: int = 5,
                     samples: int = 500, n_features: int = 10, seed: int = 0, split: str = "test", store=None,
                     progress: ProgressFn | None = None, labels: Sequence[int | str] | None = None,
                     use_cache: bool = True, with_faithfulness: bool = True) -> DocumentExplanation:
    """Explain a document's top-k labels (or the given ``labels``) with LIME, label-wise attention or
    whole-score attribution ("whole": engine.explain.whole_score; its labels must be in the top-k).

    LIME: one shared set of ``samples`` perturbations for all labels. Each label gets its top
    ``n_features`` words, a weight for every word, and faithfulness scores vs a random order.
    Two stages, one cache entry: the first result (weights, top words, scores) is cached as soon as
    it exists, marked ``faithfulness_pending``; the faithfulness scores are then computed from its
    weights and the entry rewritten complete. ``with_faithfulness=False`` returns after the first
    stage (or any cached entry); the default completes a pending entry without re-running the method.
    Raises InputError for bad parameters, an unknown label, an empty document, or attention on a
    model without it; ModelError if the model is missing.
    """
    from engine.models.base import MAX_TOP_K, check_top_k

    key, store, info = _document_key(dataset, model_id, index, method, top_k, samples, n_features, seed, split,
                                     labels, store)
    n_labels = int(info.manifest.get("n_labels", 0)) or None
    if labels is None and n_labels:
        check_top_k(top_k, n_labels, limit=MAX_TOP_K)
    hit = _read_cache(key) if use_cache else None
    if hit is not None and not (with_faithfulness and hit.faithfulness_pending):
        report(progress, 1.0, "loaded from cache")
        return hit

    from engine.data import load_dataset
    from engine.models.runtime import get_model

    t0 = time.perf_counter()
    report(progress, 0.0, "loading")
    ds = load_dataset(dataset)
    model = get_model(dataset, model_id, store)
    doc = ds.document(index, split)
    model_input = ds.input_of(doc)
    if ds.has_text and not TextUnits.of_or_none(model_input):
        raise InputError(f"document {index} of {dataset} {split} has no words left to explain (its text is empty).")
    train_X = None if ds.has_text else np.asarray(ds.train.X.toarray(), dtype=np.float32)
    units = _units(model, model_input, train_X, ds.feature_names)
    first = hit
    split_at = 0.7 if with_faithfulness else 0.99
    if first is None:
        if labels is None:
            top_k = check_top_k(top_k, model.n_labels, limit=MAX_TOP_K)
            x = [model_input] if ds.has_text else doc.features[None, :]
            ids = model.predict(x, top_k)[0].label_ids
        else:
            ids = [model.label_id(x) for x in labels]
            if not ids:
                raise InputError("no labels given: choose at least one label to explain.")
            if len(ids) > MAX_TOP_K:
                raise InputError(f"at most {MAX_TOP_K} labels can be explained at once (XTrust's maximum top-k), "
                                 f"got {len(ids):,}.")
        ids = [int(i) for i in model.check_label_ids(ids)]
        timing: dict = {}
        expl = _first_result(model, units, ids, method, samples, n_features, seed, doc.labels, train_X, top_k,
                             scaled_progress(progress, 0.02, split_at), labels_are_top_k=labels is None,
                             timing=timing)
        params = {"top_k": top_k, "samples": key["samples"], "n_features": n_features,
                  "seed": seed, "labels": key["labels"], "model_created": key["model_created"], **timing}
        first = DocumentExplanation(dataset, model_id, int(index), split, method, params, expl,
                                    round(time.perf_counter() - t0, 4), faithfulness_pending=True)
        if use_cache:  # shown at once; the faithfulness scores follow in the same entry
            store_result("explanations", _cache_folders(key), key, first, lambda r: json.dumps(r.to_json()))
        if not with_faithfulness:
            report(progress, 1.0, "first result (faithfulness pending)")
            return first
    t1 = time.perf_counter()
    scored = _with_faithfulness(model, units, first.labels, method, seed,
                                scaled_progress(progress, split_at if hit is None else 0.02, 0.99))
    result = replace(first, labels=scored, faithfulness_pending=False,
                     params={**first.params, "faithfulness_seconds": round(time.perf_counter() - t1, 4)})
    if use_cache:
        store_result("explanations", _cache_folders(key), key, result, lambda r: json.dumps(r.to_json()))
    report(progress, 1.0, "done")
    return result


def attention_map(model, text: str, label_ids: Sequence[int]) -> AttentionMap:
    """Label-wise attention of one text (see engine.explain.attention)."""
    from engine.explain.attention import encoder_shares_pct, label_attention

    ids = [int(i) for i in model.check_label_ids(label_ids)]
    units = TextUnits.of(text)
    word_rel, _, raw, pieces, piece_word, scores = label_attention(model, units, ids)
    read = sorted(set(int(w) for w in piece_word if w >= 0))  # words the encoder saw (within max_tokens)
    remap = {w: i for i, w in enumerate(read)}
    W = word_rel[:, read]
    peak = W.max(axis=1, keepdims=True)
    W = np.divide(W, peak, out=np.zeros_like(W), where=peak > 0)
    dead = [model.label_names[i] for i, p in zip(ids, peak[:, 0]) if not p > 0]
    return AttentionMap(tokens=[units.words[w] for w in read], label_names=[model.label_names[i] for i in ids],
                        label_ids=ids, weights=W, raw=raw, pieces=pieces,
                        piece_word=np.asarray([remap.get(int(w), -1) for w in piece_word], dtype=np.int64),
                        scores=[float(s) for s in scores], encoder_share_pct=encoder_shares_pct(model, text, ids),
                        note="" if not dead else f"no attention evidence for {', '.join(dead)}: "
                                                 + NO_ATTENTION_EVIDENCE.split(': ', 1)[1])


def _text_model_and_doc(dataset: str, model_id: str, index: int, split: str, store, what: str):
    from engine.explain.attention import check_attention_model
    from engine.data import load_dataset
    from engine.models.runtime import get_model

    store, info = _model_info(dataset, model_id, store)
    _check_method_for("attention", info, dataset)
    ds = load_dataset(dataset)
    model = get_model(dataset, model_id, store)
    check_attention_model(model, what)
    doc = ds.document(index, split)
    if not TextUnits.of_or_none(doc.text or ""):
        raise InputError(f"document {index} of {dataset} {split} has no words (its text is empty).")
    return ds, model, doc


def attention_heatmap(dataset: str, model_id: str, index: int, top_k: int = 5, split: str = "test",
                      store=None) -> AttentionMap:
    """Label-wise attention x gradient of a document's top-k labels (X-Transformer only)."""
    from engine.models.base import MAX_TOP_K, check_top_k

    ds, model, doc = _text_model_and_doc(dataset, model_id, index, split, store, "attention heatmaps")
    top_k = check_top_k(top_k, model.n_labels, limit=MAX_TOP_K)
    ids = model.predict([doc.text], top_k)[0].label_ids
    return attention_map(model, doc.text, ids)


def bertviz_html(dataset: str, model_id: str, index: int, view: str = "head", split: str = "test",
                 store=None) -> str:
    """BertViz head or model view of the encoder's attention on a document, as offline HTML."""
    from engine.explain.bertviz_view import VIEWS, bertviz_document_html

    if view not in VIEWS:
        raise InputError(f"unknown BertViz view {view!r}: choose 'head' or 'model'.")
    ds, model, doc = _text_model_and_doc(dataset, model_id, index, split, store, "BertViz views")
    return bertviz_document_html(model, doc.text.lower(), view)
