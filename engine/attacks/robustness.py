"""Robustness of a saved model under one attack: clean vs attacked P@k / R@k on a seeded document sample.

Attacked metrics rank each document by the model's prediction at the attack's output (the
adversarial text or vector; for a failed attack, the point it stopped at). perturbation_median
is over successful attacks: L2 in the feature view for hsj / zoo, words changed for wordnet.
Optionally distributed with Ray (``ray_address`` or RAY_ADDRESS): one remote task per document.
"""
from __future__ import annotations

import json
import os

import numpy as np
import scipy.sparse as sp

from engine.attacks.goals import GOAL_CLASSES
from engine.attacks.hopskipjump import MAX_FEATURES as HSJ_MAX_FEATURES
from engine.errors import InputError
from engine.ray_tasks import check_ray_address, run_tasks
from engine.types import ProgressFn, report, scaled_progress

KS = (1, 2, 3, 4, 5)
TOP_K = 5  # labels kept per attacked document (P@1..5, R@1..5); the topk goal pushes all of them out


DOC_KIND = "robustness-docs"  # results_cache kind of the per-document unbounded attacks


def _attack_one(dataset: str, model_id: str, index: int, attack: str, eps_values, seed: int, split: str,
                store_root: str, params: dict, progress: ProgressFn | None = None) -> list[dict]:
    """Attack one document (top-5 kept) and return, for each eps of ``eps_values``, the compact numbers
    the evaluation needs.

    The attack runs once, with no budget, and is cached per document (results_cache kind
    "robustness-docs"): no attack reads eps while it runs (common.apply_budget applies it to the
    output), so each eps's result is the unbounded point projected onto the eps-ball and re-checked,
    one model query -- the same numbers as an attack run with that eps. WordNet ignores eps.
    """
    from engine.attacks.api import resolve_attack_params, run_attack
    from engine.attacks.registry import attack_spec
    from engine.data import load_dataset
    from engine.models.runtime import get_model
    from engine.models.store import ModelStore
    from engine.results_cache import cached, model_key

    store = ModelStore(store_root)
    ds = load_dataset(dataset)
    info = store.info(ds.name, model_id)
    k = min(TOP_K, ds.n_labels)
    goal, norm = params.get("goal", "top1"), str(params.get("norm", "2"))
    resolved, given = resolve_attack_params(attack, **{p: params.get(p) for p in
                                                ("max_iter", "max_eval", "learning_rate", "nb_parallel", "max_words")})
    key = {"dataset": ds.name, "model_id": model_id, "index": int(index), "attack": attack, "goal": goal,
           "norm": norm, "params": resolved, "given": sorted(given), "seed": seed, "split": split, "top_k": k,
           "features_perturbed": HSJ_MAX_FEATURES if attack == "hsj" else None,
           **model_key(store.root, info.manifest)}
    doc = ds.document(int(index), split)
    inp = ds.input_of(doc)

    def compute() -> dict:
        model = get_model(ds.name, model_id, store)
        try:
            res = run_attack(model, inp, attack=attack, eps=None, seed=seed, top_k=k, truth=list(doc.labels),
                             progress=progress, **params)
        except InputError as exc:
            if attack != "wordnet" or "synonym" not in str(exc):
                raise
            # a document with no replaceable word cannot be attacked: it counts as a failed attack
            top = model.predict(model.check_inputs([inp]), k)[0].label_ids
            return {"index": int(index), "success": False, "queries": 0, "seconds": 0.0, "l2": 0.0,
                    "words_changed": 0, "clean_top": top, "adv_top": top, "skipped": str(exc), "vector": None}
        vec = res.adversarial_vector
        return {"index": int(index), "success": bool(res.success), "queries": int(res.queries),
                "seconds": float(res.seconds), "l2": res.l2, "words_changed": res.words_changed,
                "clean_top": res.before.label_ids, "adv_top": res.after.label_ids,
                "vector": None if vec is None else np.asarray(vec, dtype=np.float32).tolist()}

    row = cached(DOC_KIND, (ds.name,), key, compute, dump=json.dumps, load=json.loads)
    vector = row.pop("vector", None)
    if vector is None or attack_spec(attack).space != "features" or all(e is None for e in eps_values):
        return [dict(row) for _ in eps_values]
    from engine.attacks.common import apply_budget, norm_value, perturbation_norms, view_prediction
    from engine.attacks.goals import GoalClassifier, make_goal

    model = get_model(ds.name, model_id, store)
    view = model.feature_view(inp)
    clf = GoalClassifier(make_goal(goal, row["clean_top"], None, k), view.score, view.top_k, margins=False)
    x_adv = np.asarray(vector, dtype=np.float32)
    out = []
    for eps in eps_values:
        if eps is None:
            out.append(dict(row))
            continue
        x, _, success = apply_budget(clf, view, x_adv, float(eps), norm_value(norm))
        out.append({**row, "success": success, "l2": perturbation_norms(view.x0, x)[0],
                    "adv_top": view_prediction(view, x, k, model.label_names, list(doc.labels)).label_ids})
    return out


def _metrics(Y: sp.csr_matrix, tops: list[list[int]]) -> dict[str, float]:
    from engine.metrics import ranking_metrics

    n, L = Y.shape
    rows, cols, vals = [], [], []
    for i, top in enumerate(tops):
        for r, j in enumerate(top[:5]):
            rows.append(i)
            cols.append(j)
            vals.append(5.0 - r)  # rank order is all P@k / R@k need
    S = sp.csr_matrix((vals, (rows, cols)), shape=(n, L), dtype=np.float32)
    m = ranking_metrics(Y, S)
    return {k: m[k] for k in [f"P@{k}" for k in KS] + [f"R@{k}" for k in KS]}


def sample_documents(n_docs: int, n: int, seed: int) -> list[int]:
    """A seeded sample of n document ids out of n_docs (sorted)."""
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(n_docs, size=min(n, n_docs), replace=False))


def evaluate_robustness(dataset: str, model_id: str, attack: str, n: int = 50, eps: float | None = None, seed: int = 0,
                        split: str = "test", store=None, progress: ProgressFn | None = None,
                        ray_address: str | None = None, **attack_params) -> dict:
    """Clean vs attacked metrics over a seeded sample of n documents; cached on disk (the total, and
    each document's attack, which robustness_curve and other eps values reuse).

    Returns {"clean": {"P@1".."R@5"}, "attacked": {...}, "success_rate", "queries_mean",
    "perturbation_median", "seconds_per_doc", "n", "n_requested", "attack", "eps", "docs"}, plus "note"
    when ``n`` was more than the split has (then every document of the split is attacked).
    attack_params: goal, max_iter, max_eval, norm, learning_rate, nb_parallel, max_words (see attack_document).
    """
    return _evaluate(dataset, model_id, attack, n, [eps], seed, split, store, progress, ray_address, attack_params)[0]


def _evaluate(dataset: str, model_id: str, attack: str, n, eps_values: list, seed: int, split: str, store,
              progress: ProgressFn | None, ray_address: str | None, attack_params: dict) -> list[dict]:
    """evaluate_robustness for each eps of ``eps_values`` over one document sample: every document is
    attacked once (see _attack_one), whatever the number of eps values, and only where no cached
    total or per-document result exists."""
    from engine.data import load_dataset
    from engine.attacks.api import ATTACKS, check_attack_params
    from engine.models.store import ModelStore
    from engine import results_cache

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n (documents to attack) must be a whole number of at least 1, got {n!r}.")
    if attack not in ATTACKS:
        raise InputError(f"unknown attack {attack!r}: choose one of {', '.join(ATTACKS)}.")
    known = {"goal", "max_iter", "max_eval", "norm", "learning_rate", "nb_parallel", "max_words"}
    bad = set(attack_params) - known
    if bad:
        raise InputError(f"unknown attack parameter(s) {', '.join(sorted(bad))}: use {', '.join(sorted(known))}.")
    goal = attack_params.get("goal", "top1")
    batch_goals = [name for name, g in GOAL_CLASSES.items() if not g.needs_target]
    if goal not in batch_goals:
        raise InputError(f"robustness is measured with the {' or '.join(map(repr, batch_goals))} goal, not {goal!r} "
                         "(a goal with a target label needs a label per document).")
    for eps in eps_values:
        check_attack_params(attack, goal, eps, attack_params.get("max_iter"), attack_params.get("max_eval"),
                            attack_params.get("norm", "2"), attack_params.get("learning_rate"),
                            attack_params.get("nb_parallel"), attack_params.get("max_words", 5))
    address = ray_address or os.environ.get("RAY_ADDRESS")
    check_ray_address(address)
    store = store or ModelStore()
    ds = load_dataset(dataset)
    if attack == "wordnet" and not ds.has_text:
        raise InputError(f"the WordNet attack replaces words; {ds.display_name} has only numeric features.")
    # these commands have no top-k option: name what the user can change instead
    if ds.n_labels < 2:
        raise InputError(f"{ds.display_name} has {ds.n_labels} label: an attack needs at least 2 labels to change "
                         "the top-1 label.")
    if goal == "topk" and ds.n_labels < 2 * TOP_K:
        raise InputError(f"the topk goal (--goal topk) pushes all top-{TOP_K} labels out of the top-{TOP_K}, which "
                         f"needs at least {2 * TOP_K} labels; {ds.display_name} has {ds.n_labels}. Use --goal top1.")
    info = store.info(ds.name, model_id)
    n_split = ds.split(split).n
    docs = sample_documents(n_split, int(n), seed)
    extra = {"n_requested": int(n)}
    if n > n_split:
        extra["note"] = (f"n capped: asked for {int(n):,} documents, the {split} split has {n_split:,}, so all "
                         f"{n_split:,} were attacked.")

    def total_key(eps) -> dict:
        return {"dataset": ds.name, "model_id": model_id, "attack": attack, "n": int(n), "eps": eps, "seed": seed,
                "split": split, "params": attack_params, **results_cache.model_key(store.root, info.manifest)}

    results = [results_cache.lookup("robustness", (ds.name,), total_key(e), json.loads) for e in eps_values]
    missing = [j for j, r in enumerate(results) if r is None]
    if missing:
        todo = [eps_values[j] for j in missing]
        args = (ds.name, model_id, attack, todo, seed, split, str(store.root), dict(attack_params))
        report(progress, 0.0, f"attacking {len(docs)} documents")
        if address:
            per_doc = _run_ray(docs, args, address, progress)
        else:
            per_doc = []
            for j, i in enumerate(docs):
                sub = scaled_progress(progress, j / len(docs), (j + 1) / len(docs))
                doc_progress = None if sub is None else (
                    lambda f, msg="", j=j, sub=sub: sub(f, f"document {j + 1}/{len(docs)}: {msg}"))
                per_doc.append(_attack_one(ds.name, model_id, i, attack, todo, seed, split, str(store.root),
                                           attack_params, progress=doc_progress))
                report(progress, (j + 1) / len(docs), f"attacked {j + 1}/{len(docs)} documents")
        Y = ds.split(split).Y[docs]
        for m, (j, eps) in enumerate(zip(missing, todo)):
            out = _summary(sorted((d[m] for d in per_doc), key=lambda r: r["index"]), Y, attack, eps, seed, docs,
                           bool(address))
            # a cache that cannot be written costs only the reuse: the finished result is returned
            results[j] = results_cache.store("robustness", (ds.name,), total_key(eps), out, json.dumps)
    return [{**r, **extra} for r in results]


def _summary(rows: list[dict], Y: sp.csr_matrix, attack: str, eps, seed: int, docs: list[int],
             distributed: bool) -> dict:
    succ = [r for r in rows if r["success"]]
    pert = [r["words_changed"] if attack == "wordnet" else r["l2"] for r in succ]
    return {"clean": _metrics(Y, [r["clean_top"] for r in rows]),
            "attacked": _metrics(Y, [r["adv_top"] for r in rows]),
            "success_rate": len(succ) / len(rows),
            "queries_mean": float(np.mean([r["queries"] for r in rows])),
            "perturbation_median": float(np.median(pert)) if pert else None,
            "perturbation": "words changed" if attack == "wordnet" else "L2 in the feature view",
            "seconds_per_doc": float(np.mean([r["seconds"] for r in rows])),
            "n": len(rows), "attack": attack, "eps": eps, "seed": seed, "docs": docs,
            "not_attackable": sum(1 for r in rows if r.get("skipped")),
            "distributed": distributed}


def _run_ray(docs: list[int], args: tuple, address: str, progress: ProgressFn | None) -> list[list[dict]]:
    """One Ray task per document (its rows for every eps); workers load the model themselves (cached per
    worker process) and write each document's attack to the driver's cache folder."""
    dataset, model_id, attack, eps_values, seed, split, root, params = args
    return run_tasks(_attack_one, [(dataset, model_id, i, attack, eps_values, seed, split, root, params) for i in docs],
                     address, progress, "documents attacked")


def robustness_curve(dataset: str, model_id: str, attack: str, eps_values, n: int = 30, seed: int = 0,
                     split: str = "test", store=None, progress: ProgressFn | None = None,
                     ray_address: str | None = None, **attack_params) -> list[dict]:
    """[{"eps", "P@1".."P@5" (attacked), "success_rate"}] for each eps, same documents throughout.
    Each document is attacked once for the whole curve (see _attack_one); each eps's total is cached as
    evaluate_robustness caches it, so a later evaluate_robustness at one of these eps is instant."""
    eps_values = list(eps_values)
    if not eps_values:
        raise InputError("give at least one eps value for the robustness curve.")
    results = _evaluate(dataset, model_id, attack, n, eps_values, seed, split, store, progress, ray_address,
                        attack_params)
    return [{"eps": e, **{k: r["attacked"][k] for k in ("P@1", "P@2", "P@3", "P@4", "P@5")},
             "success_rate": r["success_rate"], "clean_P@1": r["clean"]["P@1"], "clean_P@5": r["clean"]["P@5"]}
            for e, r in zip(eps_values, results)]
