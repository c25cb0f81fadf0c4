"""Boundary attack (Brendel et al. 2018), decision-based, via IBM ART, in a model's feature view.

The paper runs it on MediaMill and Delicious beside HopSkipJump. It starts from an adversarial
point and walks along the decision boundary toward the input with random orthogonal steps, so it
needs only decisions (no scores) and many queries. Parameters: ``max_iter`` (boundary walk steps)
and ``max_eval`` (random proposals per step, ART's ``sample_size``); ART's ``num_trial`` is fixed
at 5. Budget rule as HopSkipJump: an over-eps result is projected and re-checked.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from engine.attacks.common import (AttackProgress, count_calls, feature_result, initial_adversarial, norm_value,
                                   run_in_feature_view, seeded_numpy)
from engine.attacks.goals import Goal, GoalClassifier
from engine.attacks.result import AttackResult
from engine.attacks.spec import AttackParam, AttackSpec
from engine.models.base import FeatureView
from engine.types import Prediction, ProgressFn

NUM_TRIAL = 5


def boundary(view: FeatureView, goal: Goal, before: Prediction, label_names: Sequence[str], *,
             max_iter: int = 20, max_eval: int = 10, norm: str = "2", eps: float | None = None, seed: int = 0,
             top_k: int = 5, truth: Sequence[int] | None = None, is_text: bool = False,
             original_text: str | None = None, progress: ProgressFn | None = None) -> AttackResult:
    """Attack view.x0 (d,) toward ``goal``. Returns an AttackResult in the "features" space."""
    t0 = time.perf_counter()
    nv = norm_value(norm)
    # the bar: 5% for the starting-point search, then ART's walk steps done / max_iter (each about
    # 2 * max_eval queries: proposals, then the step toward the input)
    track = AttackProgress(progress, "Boundary", max_iter, step_queries=2 * max_eval + 2, start_share=0.05)
    clf = GoalClassifier(goal, view.score, view.top_k, track.on_query, margins=False)
    x0 = view.x0.astype(np.float32)
    track.phase("finding a starting point")
    # ART would draw the start from an unseeded generator: give it a seeded one (as for HopSkipJump)
    start = initial_adversarial(clf, x0, view.clip, np.random.default_rng(seed), on_try=track.searching)
    x_adv = None
    if start is not None:
        track.phase("loading ART")  # seconds on the first attack of a process
        from art.attacks.evasion import BoundaryAttack

        art = BoundaryAttack(clf.art_classifier(x0.size, view.clip), targeted=False, max_iter=int(max_iter),
                             num_trial=NUM_TRIAL, sample_size=int(max_eval), init_size=1, batch_size=64,
                             verbose=False)
        count_calls(art, "_best_adv", track.step_done)  # ART calls it once at the end of each walk step
        track.begin_steps()
        with seeded_numpy(seed):
            x_adv = art.generate(x0[None, :], x_adv_init=start[None, :])[0]
        if not clf.met(x_adv[None, :])[0]:
            x_adv = start
    params = {"max_iter": int(max_iter), "max_eval": int(max_eval), "num_trial": NUM_TRIAL, "norm": str(norm),
              "eps": eps, "seed": int(seed), "found_start": start is not None}
    res = feature_result("boundary", goal, goal.target_label, clf, view, x_adv, eps, nv,
                         before, top_k, label_names, truth, is_text, original_text, t0, params)
    track.done()
    return res


def _run(model, inp, goal, before, params, ctx) -> AttackResult:
    return run_in_feature_view(boundary, model, inp, goal, before, params, ctx)


SPEC = AttackSpec(
    name="boundary", title="Boundary", space="features", needs="decisions",
    help="decision-based (Brendel et al. 2018): walks along the decision boundary toward the input",
    run=_run, params=(
        AttackParam("max_iter", "Max iterations", "int", 20, 1, 10_000, "boundary walk steps (ART's max_iter)"),
        AttackParam("max_eval", "Proposals per step", "int", 10, 1, 100_000,
                    "random proposals per step (ART's sample_size)"),
    ))
