"""Attack cost vs the model's own scoring rate, measured in one run (no cache).

bench_attacks() -> {"model": {"rows_per_s_single", "rows_per_s_batch64"}, "<attack>": {"seconds_per_doc",
"queries_per_doc", "queries_per_s", "success_rate"}, ...}. queries_per_s / rows_per_s_single says how
much of an attack's time is the model answering (ratio near 1) vs attack overhead.
"""
from __future__ import annotations

import time

import numpy as np

from engine.types import ProgressFn, report


def bench_attacks(dataset: str = "bibtex", model_id: str = "xlinear", attacks=("hsj", "zoo", "wordnet"), n: int = 5,
                  seed: int = 0, store=None, progress: ProgressFn | None = None) -> dict:
    """Time each attack on n seeded test documents and the model's one-row / 64-row scoring rate."""
    from engine.data import load_dataset
    from engine.models.runtime import get_model
    from engine.attacks.api import run_attack
    from engine.attacks.robustness import sample_documents
    from engine.models.store import ModelStore

    store = store or ModelStore()
    ds = load_dataset(dataset)
    model = get_model(ds.name, model_id, store)
    docs = sample_documents(ds.test.n, n, seed)
    inp = ds.input_of(ds.document(docs[0]))
    view = model.feature_view(inp)
    rng = np.random.default_rng(seed)
    pts = np.clip(view.x0[None, :] + 0.01 * rng.standard_normal((64, view.x0.size)), *view.clip).astype(np.float32)
    view.top_k(pts[:1], 1)  # warm-up
    t = time.perf_counter()
    for i in range(64):
        view.top_k(pts[i:i + 1], 1)
    single = 64 / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(5):
        view.top_k(pts, 1)
    batch = 5 * 64 / (time.perf_counter() - t)
    out = {"dataset": ds.name, "model_id": model_id, "n": len(docs), "n_features_view": int(view.x0.size),
           "model": {"rows_per_s_single": single, "rows_per_s_batch64": batch}}
    attacks = [a for a in attacks if a != "wordnet" or ds.has_text]
    # one-off loads are not attack cost: ART's import (seconds) and WordNet (~6 s) happen before timing
    import art.attacks.evasion  # noqa: F401

    if "wordnet" in attacks:
        from engine.wordnet import wordnet

        wordnet()
    for a_i, attack in enumerate(attacks):
        secs, qs, succ = [], [], []
        for j, d in enumerate(docs):
            doc = ds.document(d)
            t = time.perf_counter()
            r = run_attack(model, ds.input_of(doc), attack=attack, seed=seed, truth=list(doc.labels))
            secs.append(time.perf_counter() - t)
            qs.append(r.queries)
            succ.append(r.success)
            report(progress, (a_i + (j + 1) / len(docs)) / len(attacks), f"{attack}: {j + 1}/{len(docs)}")
        out[attack] = {"seconds_per_doc": float(np.mean(secs)), "queries_per_doc": float(np.mean(qs)),
                       "queries_per_s": float(np.sum(qs) / np.sum(secs)), "success_rate": float(np.mean(succ))}
    return out


def compare_subspace(dataset: str = "bibtex", model_id: str = "xlinear", n: int = 20, limits=(0, 1000, 500),
                     seed: int = 0, store=None, progress: ProgressFn | None = None) -> dict:
    """HopSkipJump (top-1 goal, defaults) on n seeded test documents with each feature limit of ``limits``
    (0: the whole feature view; see hopskipjump.MAX_FEATURES): {limit: {"features", "success", "l2_median",
    "l2_mean" (over successes), "queries_median", "seconds_per_doc", "whole_view"}}. What the subspace
    threat model costs in attack strength where the whole view is affordable."""
    from engine.attacks.goals import make_goal
    from engine.attacks.hopskipjump import hopskipjump
    from engine.attacks.robustness import sample_documents
    from engine.data import load_dataset
    from engine.models.runtime import get_model
    from engine.models.store import ModelStore

    ds = load_dataset(dataset)
    model = get_model(ds.name, model_id, store or ModelStore())
    docs = sample_documents(ds.test.n, n, seed)
    out = {}
    for j, limit in enumerate(limits):
        ok, l2, queries, seconds = [], [], [], []
        for i, d in enumerate(docs):
            report(progress, (j * len(docs) + i) / (len(limits) * len(docs)), f"limit {limit}: document {i + 1}")
            doc = ds.document(int(d), "test")
            inp = ds.input_of(doc)
            view = model.feature_view(inp)
            before = model.predict(model.check_inputs([inp]), 5)[0]
            t = time.perf_counter()
            r = hopskipjump(view, make_goal("top1", before.label_ids, None, 5), before, model.label_names,
                            max_features=int(limit), seed=seed, truth=list(doc.labels))
            seconds.append(time.perf_counter() - t)
            ok.append(bool(r.success))
            queries.append(r.queries)
            if r.success:
                l2.append(r.l2)
        out[int(limit)] = {"features": int(view.x0.size), "success": f"{sum(ok)}/{len(ok)}",
                           "l2_median": round(float(np.median(l2)), 4) if l2 else None,
                           "l2_mean": round(float(np.mean(l2)), 4) if l2 else None,
                           "queries_median": int(np.median(queries)), "seconds_per_doc": round(float(np.mean(seconds)), 2),
                           "whole_view": limit <= 0 or view.x0.size <= limit}
    report(progress, 1.0, "done")
    return out
