"""attack_document: validate, run one attack on one document, cache the finished result on disk.

Cache (engine/results_cache.py): <cache_dir>/attacks/<dataset>/<sha256 of every argument, the
parameters as run and the model's store + creation time>.json; a cancelled attack writes nothing.
"""
from __future__ import annotations

import numpy as np

from engine.attacks.goals import GOALS, make_goal
from engine.attacks.hopskipjump import MAX_FEATURES as HSJ_MAX_FEATURES
from engine.attacks.registry import ATTACKS as REGISTRY, attack_spec, check_compatible
from engine.attacks.spec import NORMS, AttackContext
from engine.attacks.result import AttackResult
from engine.errors import InputError
from engine.results_cache import cached, model_key
from engine.types import ProgressFn

ATTACKS = tuple(REGISTRY)  # menu order; specs (parameters, defaults, bounds) in engine/attacks/registry.py


def resolve_attack_params(attack: str, **given) -> tuple[dict, frozenset]:
    """The attack's own parameters, checked, defaults filled in; values meant for other attacks are
    checked too (a bad value is refused whichever attack it belongs to) and then dropped."""
    spec = attack_spec(attack)
    own = {p.name for p in spec.params}
    for other in REGISTRY.values():
        for p in other.params:
            if p.name not in own and given.get(p.name) is not None:
                p.check(given[p.name])
    return spec.check_params({k: v for k, v in given.items() if k in own}), frozenset(
        k for k in own if given.get(k) is not None)


def check_attack_params(attack: str, goal: str, eps, max_iter, max_eval, norm, learning_rate, nb_parallel,
                        max_words) -> None:
    """Raise InputError naming the first bad parameter."""
    attack_spec(attack)
    if goal not in GOALS:
        raise InputError(f"unknown attack goal {goal!r}: choose one of {', '.join(GOALS)}.")
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating))
                            or not np.isfinite(eps) or eps <= 0):
        raise InputError(f"eps (the perturbation budget) must be a positive number, got {eps!r}.")
    resolve_attack_params(attack, max_iter=max_iter, max_eval=max_eval, learning_rate=learning_rate,
                   nb_parallel=nb_parallel, max_words=max_words)
    if str(norm) not in NORMS:
        raise InputError(f"norm must be '2' or 'inf', got {norm!r}.")


def run_attack(model, inp, *, attack: str, goal: str = "top1", target_label=None, top_k: int = 5,
               eps: float | None = None, max_iter: int | None = None, max_eval: int | None = None, norm: str = "2",
               learning_rate: float | None = None, nb_parallel: int | None = None, max_words: int | None = None,
               seed: int = 0, truth=None, progress: ProgressFn | None = None) -> AttackResult:
    """Attack one model input (a text, or a feature row (d,)) with no dataset and no cache. Any XMCModel.
    Parameters left None take the attack's defaults (engine/attacks/registry.py)."""
    from engine.models.base import MAX_TOP_K, check_top_k

    check_attack_params(attack, goal, eps, max_iter, max_eval, norm, learning_rate, nb_parallel, max_words)
    spec = attack_spec(attack)
    top_k = check_top_k(top_k, model.n_labels, limit=MAX_TOP_K)
    is_text = model.input_kind == "text"
    check_compatible(spec, is_text)
    params, given = resolve_attack_params(attack, max_iter=max_iter, max_eval=max_eval, learning_rate=learning_rate,
                                   nb_parallel=nb_parallel, max_words=max_words)
    inputs = model.check_inputs([inp] if is_text else np.asarray(inp, dtype=np.float32)[None, :])
    before = model.predict(inputs, top_k, truth=None if truth is None else [truth])[0]
    tl = None if target_label is None else model.label_id(target_label)
    g = make_goal(goal, before.label_ids, tl, top_k)
    ctx = AttackContext(top_k=top_k, eps=None if eps is None else float(eps), norm=str(norm), seed=seed,
                        truth=truth, progress=progress, given=given)
    return spec.run(model, inputs[0], g, before, params, ctx)


def attack_document(dataset: str, model_id: str, index: int, attack: str = "hsj", goal: str = "top1",
                    target_label: int | str | None = None, top_k: int = 5, eps: float | None = None,
                    max_iter: int | None = None, max_eval: int | None = None, norm: str = "2",
                    learning_rate: float | None = None, nb_parallel: int | None = None, max_words: int | None = None,
                    seed: int = 0, split: str = "test", store=None, progress: ProgressFn | None = None) -> AttackResult:
    """Attack one document of a dataset with a saved model; cached on disk.

    attack: "hsj" | "zoo" | "boundary" (feature view: TF-IDF for text, raw features for dense) | "wordnet" (text).
    goal: "top1" (the top-1 label changes) | "drop" (target_label leaves the top-k) | "topk" (every
    original top-k label leaves the top-k).
    eps: perturbation budget in the feature view (L2 or Linf per ``norm``); an over-budget result is
    projected onto the eps-ball and counts only if the projection still meets the goal.
    """
    from engine.data import load_dataset
    from engine.models.runtime import get_model
    from engine.models.store import ModelStore

    check_attack_params(attack, goal, eps, max_iter, max_eval, norm, learning_rate, nb_parallel, max_words)
    store = store or ModelStore()
    ds = load_dataset(dataset)
    check_compatible(attack_spec(attack), ds.has_text)
    info = store.info(ds.name, model_id)
    doc = ds.document(index, split)
    resolved, given = resolve_attack_params(attack, max_iter=max_iter, max_eval=max_eval, learning_rate=learning_rate,
                                     nb_parallel=nb_parallel, max_words=max_words)
    # the key holds the parameters as run (defaults filled in), so a changed default is never served stale
    key = {"dataset": ds.name, "model_id": model_id, "index": int(index), "attack": attack, "goal": goal,
           "target_label": None if target_label is None else str(target_label), "top_k": top_k, "eps": eps,
           "norm": str(norm), "params": resolved, "given": sorted(given), "seed": seed, "split": split,
           "features_perturbed": HSJ_MAX_FEATURES if attack == "hsj" else None,
           **model_key(store.root, info.manifest)}

    def compute() -> AttackResult:
        model = get_model(ds.name, model_id, store)
        res = run_attack(model, ds.input_of(doc), attack=attack, goal=goal, target_label=target_label,
                         top_k=top_k, eps=eps, max_iter=max_iter, max_eval=max_eval, norm=norm,
                         learning_rate=learning_rate, nb_parallel=nb_parallel, max_words=max_words, seed=seed,
                         truth=list(doc.labels), progress=progress)
        res.params.update({"dataset": ds.name, "model_id": model_id, "index": int(index), "split": split})
        return res

    return cached("attacks", (ds.name,), key, compute, dump=AttackResult.to_json, load=AttackResult.from_json)
