"""attack_document: validate, run one attack on one document, cache the finished result on disk.

Cache: <cache_dir>/attacks/<dataset>/<sha256 of every argument + the model's creation time>.json,
written atomically; a cancelled attack writes nothing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.atomic import write_text_atomic
from engine.attacks.goals import GOALS, make_goal
from engine.attacks.result import AttackResult
from engine.errors import InputError
from engine.paths import result_cache_file
from engine.types import ProgressFn

ATTACKS = ("hsj", "zoo", "boundary", "wordnet")
NORMS = ("2", "inf")
# defaults per attack: small enough for ~1-2 s on one BibTeX document with XR-Linear
DEFAULT_MAX_ITER = {"hsj": 5, "zoo": 20, "boundary": 20}
DEFAULT_MAX_EVAL = 100
DEFAULT_LR = 0.1
DEFAULT_NB_PARALLEL = 64
# upper bounds: an attack with max_iter=10**9 would run for days; refuse it with a message instead
MAX_ITER = 10_000
MAX_EVAL = 100_000
# in the cache key: results of an older layout (before features_changed was counted) are never read
CACHE_VERSION = 2


def _positive_int(name: str, value, allow_none: bool = True, upper: int | None = None):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a whole number of at least 1, got {value!r}.")
    if upper is not None and value > upper:
        raise InputError(f"{name} must be at most {upper:,}, got {value!r}.")
    return int(value)


def check_attack_params(attack: str, goal: str, eps, max_iter, max_eval, norm, learning_rate, nb_parallel,
                        max_words) -> None:
    """Raise InputError naming the first bad parameter."""
    if attack not in ATTACKS:
        raise InputError(f"unknown attack {attack!r}: choose one of {', '.join(ATTACKS)}.")
    if goal not in GOALS:
        raise InputError(f"unknown attack goal {goal!r}: choose one of {', '.join(GOALS)}.")
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating))
                            or not np.isfinite(eps) or eps <= 0):
        raise InputError(f"eps (the perturbation budget) must be a positive number, got {eps!r}.")
    _positive_int("max_iter (iterations)", max_iter, upper=MAX_ITER)
    _positive_int("max_eval (evaluations per step)", max_eval, upper=MAX_EVAL)
    _positive_int("nb_parallel", nb_parallel)
    _positive_int("max_words (words the WordNet attack may change)", max_words, allow_none=False)
    if str(norm) not in NORMS:
        raise InputError(f"norm must be '2' or 'inf', got {norm!r}.")
    if learning_rate is not None and (isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float))
                                      or not np.isfinite(learning_rate) or learning_rate <= 0):
        raise InputError(f"learning_rate must be a positive number, got {learning_rate!r}.")


def run_attack(model, inp, *, attack: str, goal: str = "top1", target_label=None, top_k: int = 5,
               eps: float | None = None, max_iter: int | None = None, max_eval: int | None = None, norm: str = "2",
               learning_rate: float | None = None, nb_parallel: int | None = None, max_words: int = 5,
               seed: int = 0, truth=None, progress: ProgressFn | None = None) -> AttackResult:
    """Attack one model input (a text, or a feature row (d,)) with no dataset and no cache. Any XMCModel."""
    from engine.models.base import MAX_TOP_K, check_top_k

    check_attack_params(attack, goal, eps, max_iter, max_eval, norm, learning_rate, nb_parallel, max_words)
    top_k = check_top_k(top_k, model.n_labels, limit=MAX_TOP_K)
    is_text = model.input_kind == "text"
    if attack == "wordnet" and not is_text:
        raise InputError("the WordNet attack replaces words; this model reads numeric features with no text "
                         "(e.g. MediaMill). Use hsj or zoo.")
    inputs = model.check_inputs([inp] if is_text else np.asarray(inp, dtype=np.float32)[None, :])
    before = model.predict(inputs, top_k, truth=None if truth is None else [truth])[0]
    tl = None if target_label is None else model.label_id(target_label)
    g = make_goal(goal, before.label_ids, tl, top_k)
    if attack == "wordnet":
        from engine.attacks.wordnet_synonyms import wordnet_attack

        return wordnet_attack(model, inputs[0], g, before, max_words=max_words, seed=seed, top_k=top_k,
                              truth=truth, progress=progress)
    view = model.feature_view(inputs[0] if is_text else inputs[0])
    common = dict(norm=str(norm), eps=None if eps is None else float(eps), seed=seed, top_k=top_k, truth=truth,
                  is_text=is_text, original_text=inputs[0] if is_text else None, progress=progress)
    if attack == "hsj":
        from engine.attacks.hopskipjump import hopskipjump

        return hopskipjump(view, g, before, model.label_names, max_iter=max_iter or DEFAULT_MAX_ITER["hsj"],
                           max_eval=max_eval or DEFAULT_MAX_EVAL, init_eval=min(10, max_eval or 10), **common)
    if attack == "boundary":
        from engine.attacks.boundary import DEFAULTS as BOUNDARY_DEFAULTS, boundary

        return boundary(view, g, before, model.label_names, max_iter=max_iter or DEFAULT_MAX_ITER["boundary"],
                        max_eval=max_eval or BOUNDARY_DEFAULTS["max_eval"], **common)
    from engine.attacks.zoo import zoo

    nbp = nb_parallel or DEFAULT_NB_PARALLEL
    if nb_parallel is not None and nb_parallel > view.x0.size:
        raise InputError(f"nb_parallel ({nb_parallel}) must not exceed the number of features ({view.x0.size}).")
    return zoo(view, g, before, model.label_names, max_iter=max_iter or DEFAULT_MAX_ITER["zoo"],
               learning_rate=learning_rate or DEFAULT_LR, nb_parallel=min(nbp, view.x0.size), **common)


def attack_document(dataset: str, model_id: str, index: int, attack: str = "hsj", goal: str = "top1",
                    target_label: int | str | None = None, top_k: int = 5, eps: float | None = None,
                    max_iter: int | None = None, max_eval: int | None = None, norm: str = "2",
                    learning_rate: float | None = None, nb_parallel: int | None = None, max_words: int = 5,
                    seed: int = 0, split: str = "test", store=None, progress: ProgressFn | None = None) -> AttackResult:
    """Attack one document of a dataset with a saved model; cached on disk.

    attack: "hsj" | "zoo" | "boundary" (feature view: TF-IDF for text, raw features for dense) | "wordnet" (text).
    goal: "top1" (the top-1 label changes) | "drop" (target_label leaves the top-k) | "topk" (every
    original top-k label leaves the top-k).
    eps: perturbation budget in the feature view (L2 or Linf per ``norm``); an over-budget result is
    projected onto the eps-ball and counts only if the projection still meets the goal.
    """
    from engine import pipeline
    from engine.models.store import ModelStore

    check_attack_params(attack, goal, eps, max_iter, max_eval, norm, learning_rate, nb_parallel, max_words)
    store = store or ModelStore()
    ds = pipeline.load_dataset(dataset)
    if attack == "wordnet" and not ds.has_text:
        raise InputError(f"the WordNet attack replaces words; {ds.display_name} has only numeric features. "
                         "Use hsj or zoo.")
    info = store.info(ds.name, model_id)
    doc = ds.document(index, split)
    args = {"v": CACHE_VERSION, "dataset": ds.name, "model_id": model_id, "index": int(index), "attack": attack, "goal": goal,
            "target_label": None if target_label is None else str(target_label), "top_k": top_k, "eps": eps,
            "max_iter": max_iter, "max_eval": max_eval, "norm": str(norm), "learning_rate": learning_rate,
            "nb_parallel": nb_parallel, "max_words": max_words, "seed": seed, "split": split,
            "store": str(Path(store.root).resolve()), "model_created": info.manifest.get("created")}
    path = result_cache_file("attacks", ds.name, key=args)
    if path.is_file():
        try:
            return AttackResult.from_json(path.read_text())
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable cache entry: recompute
    model = pipeline.get_model(ds.name, model_id, store)
    res = run_attack(model, pipeline.document_input(ds, doc), attack=attack, goal=goal, target_label=target_label,
                     top_k=top_k, eps=eps, max_iter=max_iter, max_eval=max_eval, norm=norm,
                     learning_rate=learning_rate, nb_parallel=nb_parallel, max_words=max_words, seed=seed,
                     truth=list(doc.labels), progress=progress)
    res.params.update({"dataset": ds.name, "model_id": model_id, "index": int(index), "split": split})
    try:
        write_text_atomic(path, res.to_json())
    except OSError:
        pass  # the cache is an optimisation: a finished attack is never lost to a read-only disk
    return res
