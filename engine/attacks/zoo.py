"""ZOO (Chen et al. 2017), score-based zeroth-order coordinate descent, via IBM ART, in a feature view.

ART's ZooAttack minimises ||x' - x||^2 + c * max(margin, 0) with finite-difference gradients on
``nb_parallel`` random coordinates per step. The goal's margin (see goals.py) is the score ZOO
reads. ``use_resize`` and ``use_importance`` are off (they assume images; STACK.md), and
``nb_parallel`` must not exceed the number of features (ART raises otherwise).

Budget rule (as HopSkipJump): a result farther than ``eps`` is projected onto the eps-ball and
re-checked; it counts as a success only if the projected point still meets the goal.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from engine.attacks.common import AttackProgress, count_calls, feature_result, norm_value, run_in_feature_view, seeded_numpy
from engine.attacks.goals import Goal, GoalClassifier
from engine.attacks.result import AttackResult
from engine.attacks.spec import AttackParam, AttackSpec
from engine.errors import InputError
from engine.models.base import FeatureView
from engine.types import Prediction, ProgressFn

# Margins of XMC scores are small (scores lie in [0, 1]); ART's default c = 1e-3 would make the
# distance term dominate and ZOO would never move. c = 10 lets the margin term lead.
INITIAL_CONST = 10.0


def zoo(view: FeatureView, goal: Goal, before: Prediction, label_names: Sequence[str], *,
        max_iter: int = 20, learning_rate: float = 0.1, nb_parallel: int = 64, norm: str = "2",
        eps: float | None = None, seed: int = 0, top_k: int = 5, truth: Sequence[int] | None = None,
        is_text: bool = False, original_text: str | None = None, progress: ProgressFn | None = None) -> AttackResult:
    """Attack view.x0 (d,) toward ``goal``. Returns an AttackResult in the "features" space."""
    t0 = time.perf_counter()
    nv = norm_value(norm)
    x0 = view.x0.astype(np.float32)
    nb_parallel = int(min(nb_parallel, x0.size))
    # the bar: ART's iterations done / max_iter (one _optimizer call each: 2 * nb_parallel + 1 queries)
    track = AttackProgress(progress, "ZOO", max_iter, step_queries=2 * nb_parallel + 2)
    clf = GoalClassifier(goal, view.score, view.top_k, track.on_query)
    track.phase("loading ART")  # seconds on the first attack of a process
    from art.attacks.evasion import ZooAttack

    art = ZooAttack(clf.art_classifier(x0.size, view.clip), confidence=0.0, targeted=False,
                    learning_rate=float(learning_rate), max_iter=int(max_iter), binary_search_steps=1,
                    initial_const=INITIAL_CONST, abort_early=True, use_resize=False, use_importance=False,
                    nb_parallel=nb_parallel, batch_size=1, variable_h=1e-3, verbose=False)
    count_calls(art, "_optimizer", track.step_done)  # ZooAttack has no callback: one call per iteration
    track.begin_steps()
    with seeded_numpy(seed):
        x_adv = art.generate(x0[None, :])[0]
    params = {"max_iter": int(max_iter), "learning_rate": float(learning_rate), "nb_parallel": nb_parallel,
              "norm": str(norm), "eps": eps, "seed": int(seed), "initial_const": INITIAL_CONST}
    res = feature_result("zoo", goal, goal.target_label, clf, view, x_adv, eps, nv, before,
                         top_k, label_names, truth, is_text, original_text, t0, params)
    track.done()
    return res


def _run(model, inp, goal, before, params, ctx) -> AttackResult:
    n_features = model.feature_view(inp).x0.size
    if "nb_parallel" in ctx.given and params["nb_parallel"] > n_features:
        raise InputError(f"nb_parallel ({params['nb_parallel']}) must not exceed the number of features "
                         f"({n_features}).")
    # ART's ZooAttack raises when nb_parallel exceeds the feature count: the default is capped
    return run_in_feature_view(zoo, model, inp, goal, before,
                               {**params, "nb_parallel": min(params["nb_parallel"], n_features)}, ctx)


SPEC = AttackSpec(
    name="zoo", title="ZOO", space="features", needs="scores",
    help="score-based (Chen et al. 2017): coordinate-wise gradient estimates of the goal's margin",
    run=_run, params=(
        AttackParam("max_iter", "Max iterations", "int", 20, 1, 10_000, "optimisation steps (ART's max_iter)"),
        AttackParam("learning_rate", "Learning rate", "float", 0.1, 1e-6, 100.0, "step size (ART's learning_rate)"),
        AttackParam("nb_parallel", "Coordinates per step", "int", 64, 1, 100_000,
                    "coordinates estimated per step (ART's nb_parallel; at most the feature count)"),
    ))
