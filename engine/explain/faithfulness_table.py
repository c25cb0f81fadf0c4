"""Faithfulness over a dataset: every explanation method the model supports (the explainer registry:
whole-score attribution, LIME, attention on the X-Transformer) vs a random word order,
averaged over the top-k labels of n seeded test documents, plus the paired share of labels where
each method beats the random order. One ``explain_document`` call per document and method, so
every document's result is cached: a cut-off run resumes and a repeat is instant.
"""
from __future__ import annotations

import time

import numpy as np

from engine.errors import InputError
from engine.types import ProgressFn, report, scaled_progress

MAX_DOCS = 5000  # beyond this the X-Transformer would run for days on a CPU
# which way is better for each score, against the random order on the same (document, label)
BETTER = {"comprehensiveness": 1.0, "sufficiency": -1.0, "deletion_auc": -1.0}
TIE_RTOL, TIE_ATOL = 1e-6, 1e-9  # equal to the float32 scores' precision: a tie, neither better nor worse


def paired_comparison(method: list[float], random: list[float], score: str) -> dict | None:
    """Paired wins / ties / losses of a method's score against the random order's, as shares of the
    (document, label) pairs (NaN pairs left out; None when there are none). A tie is a pair where the two
    scores are equal to float32 precision -- e.g. a one-word document, where every order is the same
    order -- counted apart, never as a win or a loss. ``wins_of_decided`` = wins / (wins + losses)."""
    a, b = np.asarray(method, dtype=np.float64), np.asarray(random, dtype=np.float64)
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    if a.size == 0:
        return None
    tie = np.isclose(a, b, rtol=TIE_RTOL, atol=TIE_ATOL)
    better = BETTER[score] * (a - b) > 0
    wins, ties = int(np.sum(better & ~tie)), int(np.sum(tie))
    losses = int(a.size - wins - ties)
    return {"pairs": int(a.size), "wins": round(wins / a.size, 4), "ties": round(ties / a.size, 4),
            "losses": round(losses / a.size, 4),
            "wins_of_decided": round(wins / (wins + losses), 4) if wins + losses else None}


SCORES = ("comprehensiveness", "sufficiency", "deletion_auc")


def _document_scores(dataset: str, model_id: str, index: int, methods: list[str], top_k: int, samples: int,
                     seed: int, store_root: str, progress: ProgressFn | None = None) -> dict:
    """One document's faithfulness numbers, per method and for the random order: {"skipped", "cached",
    "scores": {method | "random": {score: [per label]}}, "seconds": {method: {"method", "explain", "faithfulness"}}}.
    A module-level function of plain arguments, so it runs the same in this process or as a Ray task
    (which loads the dataset and model itself and writes the explanation to the driver's cache)."""
    from engine.data import load_dataset
    from engine.explain.api import cache_has, explain_document
    from engine.explain.faithfulness import reusing_encodings
    from engine.models.runtime import get_model
    from engine.models.store import ModelStore

    store = ModelStore(store_root)
    ds = load_dataset(dataset)
    if ds.has_text and not ds.input_of(ds.document(int(index), "test")).split():
        return {"skipped": True, "cached": False, "scores": {}, "seconds": {}}
    kw = dict(top_k=top_k, samples=samples, seed=seed, split="test", store=store)
    cached = all(cache_has(dataset, model_id, int(index), method=m, **kw) for m in methods)
    scores = {m: {k: [] for k in SCORES} for m in methods + ["random"]}
    seconds = {m: {"method": 0.0, "explain": 0.0, "faithfulness": 0.0} for m in methods}
    with reusing_encodings(get_model(dataset, model_id, store)):  # the methods' random baselines score the same texts
        for j, m in enumerate(methods):
            part = scaled_progress(progress, j / len(methods), (j + 1) / len(methods))
            expl = explain_document(dataset, model_id, int(index), method=m, progress=part, **kw)
            seconds[m]["method"] += float(expl.params.get("method_seconds", 0.0))
            seconds[m]["explain"] += float(expl.seconds)
            seconds[m]["faithfulness"] += float(expl.params.get("faithfulness_seconds", 0.0))
            for lab in expl.labels:
                for key in SCORES:
                    scores[m][key].append(getattr(lab, key))
                if m == methods[0]:  # the random order is the same in every method's run (seeded per label)
                    for key in SCORES:
                        scores["random"][key].append(lab.random_baseline[key])
    return {"skipped": False, "cached": bool(cached), "scores": scores, "seconds": seconds}


def faithfulness_table(dataset: str, model_id: str, n_docs: int = 100, seed: int = 0, samples: int = 500,
                       top_k: int = 5, store=None, progress: ProgressFn | None = None,
                       ray_address: str | None = None) -> dict:
    """Mean comprehensiveness (higher better), sufficiency and deletion AUC (lower better) of each
    method the model supports (engine/explain/registry.py) and a random order, over the top-k labels of n test documents
    drawn with ``seed``. Documents with no words are skipped (counted). ``beats_random``: per method and
    score, the share of (document, label) pairs where the method's word order strictly beats the random
    order; ``vs_random``: the same pairs split into wins, ties and losses (``paired_comparison``).

    Each document goes through ``explain_document``, whose results are cached on disk: an
    interrupted run resumes where it stopped and a repeated one is instant (``seconds`` then
    counts only what was computed in this call; ``cached_docs`` says how many came from the cache).
    ray_address (or RAY_ADDRESS): one Ray task per document ("local": a Ray started here); the numbers
    are the same as the local loop's (every method is seeded per document and label).
    """
    import os

    from engine.data import load_dataset
    from engine.models.runtime import ensure_model
    from engine.explain.api import check_params
    from engine.explain.registry import methods_for_model
    from engine.models.store import ModelStore
    from engine.ray_tasks import check_ray_address, run_tasks

    if isinstance(n_docs, bool) or not isinstance(n_docs, (int, np.integer)) or not 1 <= n_docs <= MAX_DOCS:
        raise InputError(f"docs (how many test documents to average over) must be a whole number from 1 to "
                         f"{MAX_DOCS}, got {n_docs!r}.")
    check_params("lime", samples, 10, seed)
    address = ray_address or os.environ.get("RAY_ADDRESS")
    check_ray_address(address)
    store = store or ModelStore()
    ds = load_dataset(dataset)
    model = ensure_model(dataset, model_id, store)
    rng = np.random.default_rng(seed)
    docs = np.sort(rng.choice(ds.test.n, size=min(n_docs, ds.test.n), replace=False))
    methods = methods_for_model(model)[0]
    t0 = time.perf_counter()
    args = [(dataset, model_id, int(d), methods, top_k, samples, seed, str(store.root)) for d in docs]
    if address:
        rows = run_tasks(_document_scores, args, address, progress, "documents explained")
    else:
        rows = []
        for i, a in enumerate(args):
            report(progress, i / len(docs), f"{dataset}/{model_id}: document {i + 1}/{len(docs)}")
            rows.append(_document_scores(*a, progress=scaled_progress(progress, i / len(docs), (i + 1) / len(docs))))
    acc = {m: {k: [] for k in SCORES} for m in methods + ["random"]}
    # each method's recorded computing time: the method's own run (its attribution alone), its first result
    # (that plus loading the document, predicting its top-k and caching), and its faithfulness scoring
    seconds = {m: {"method": 0.0, "explain": 0.0, "faithfulness": 0.0} for m in methods}
    for row in rows:  # in document order, whichever finished first
        for m, vals in row["scores"].items():
            for k, v in vals.items():
                acc[m][k].extend(v)
        for m, t in row["seconds"].items():
            for k, v in t.items():
                seconds[m][k] += v
    skipped = sum(r["skipped"] for r in rows)
    cached = sum(r["cached"] for r in rows)
    table = {m: {k: round(float(np.nanmean(v)), 4) if v else None for k, v in vals.items()} for m, vals in acc.items()}
    report(progress, 1.0, "done")
    # Paired per label (same label, same text): how often the method's order beats the random one.
    vs = {m: {k: paired_comparison(acc[m][k], acc["random"][k], k) for k in BETTER} for m in methods}
    beats = {m: {k: (None if v is None else v["wins"]) for k, v in row.items()} for m, row in vs.items()}
    return {"dataset": dataset, "model_id": model_id, "n_docs": int(len(docs) - skipped), "skipped": skipped,
            "labels_per_doc": top_k, "samples": samples, "seed": seed, "seconds": round(time.perf_counter() - t0, 1),
            "cached_docs": cached, "table": table, "beats_random": beats, "vs_random": vs,
            "method_seconds": {m: {k: round(v, 2) for k, v in t.items()} for m, t in seconds.items()},
            "distributed": bool(address)}
