"""HopSkipJump (Chen et al. 2020), decision-based, via IBM ART, in a model's feature view.

Threat model: the attacker changes the weights of at most ``max_features`` features (default
MAX_FEATURES): all of the input's own nonzero features plus others drawn at random (seeded) from the
rest of the vocabulary; a view with no more features than that is attacked whole (BibTeX's 1,836
words, Delicious' 500, MediaMill's 120). On a 100K-word vocabulary a query then costs what its
~2,000 nonzeros touch instead of a dense row of every word (common.SubspaceView); ART's
HopSkipJump runs unchanged on that subspace.

Budget rule: when ``eps`` is given and ART's result lies farther than eps from the input (in the
chosen norm), the point is projected onto the eps-ball and re-checked; the attack succeeds only
if the projected point still meets the goal (``params["projected"]`` records the projection).
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from engine.attacks.common import (AttackProgress, SubspaceView, feature_result, initial_adversarial, norm_value,
                                   run_in_feature_view, seeded_numpy)
from engine.attacks.goals import Goal, GoalClassifier
from engine.attacks.result import AttackResult
from engine.attacks.spec import AttackParam, AttackSpec
from engine.models.base import FeatureView
from engine.types import Prediction, ProgressFn

THETA = 2.0 ** -8
MAX_FEATURES = 2000  # features an attack may change (see the module docstring); 0 = all


def hopskipjump(view: FeatureView, goal: Goal, before: Prediction, label_names: Sequence[str], *,
                max_iter: int = 5, max_eval: int = 100, init_eval: int = 10, norm: str = "2",
                max_features: int = MAX_FEATURES, eps: float | None = None, seed: int = 0, top_k: int = 5,
                truth: Sequence[int] | None = None, is_text: bool = False, original_text: str | None = None,
                progress: ProgressFn | None = None) -> AttackResult:
    """Attack view.x0 (d,) toward ``goal``, changing at most ``max_features`` features (0: all; see the
    module docstring). Returns an AttackResult in the "features" space (vectors (d,))."""
    t0 = time.perf_counter()
    nv = norm_value(norm)
    # the bar: 5% for the starting-point search, then ART's iterations (curr_iter) / max_iter, each
    # filled by its queries (gradient estimate, binary search, step-size search)
    track = AttackProgress(progress, "HopSkipJump", max_iter, step_queries=max_eval + 20, start_share=0.05)
    sub = SubspaceView(view, int(max_features), seed)
    clf = GoalClassifier(goal, sub.view.score, sub.view.top_k, track.on_query, margins=False)
    x0 = sub.view.x0.astype(np.float32)
    track.phase("finding a starting point")
    # ART draws its own starting point from an unseeded RandomState: give it a seeded one instead
    start = initial_adversarial(clf, x0, view.clip, np.random.default_rng(seed), on_try=track.searching)
    x_adv = None
    if start is not None:
        track.phase("loading ART")  # seconds on the first attack of a process
        from art.attacks.evasion import HopSkipJump

        art = HopSkipJump(clf.art_classifier(x0.size, view.clip), targeted=False, norm=nv, max_iter=int(max_iter),
                          max_eval=int(max_eval), init_eval=int(init_eval), init_size=1, batch_size=64,
                          verbose=False)
        # ART's binary-search tolerance is 0.01/sqrt(d) (L2) or 0.01/d (Linf): with d ~ 2,000 words that
        # is 12-17 single-query steps per iteration. 2^-8 of the segment is precise enough for a margin
        # check and halves the queries spent on line searches.
        art.theta = max(art.theta, THETA)
        track.steps_from = lambda: art.curr_iter
        track.begin_steps()
        with seeded_numpy(seed):
            x_adv = art.generate(x0[None, :], x_adv_init=start[None, :])[0]
        if not clf.met(x_adv[None, :])[0]:
            x_adv = start  # ART gave back a non-adversarial point: keep the seeded start
    params = {"max_iter": int(max_iter), "max_eval": int(max_eval), "init_eval": int(init_eval), "norm": str(norm),
              "max_features": int(max_features), "eps": eps, "seed": int(seed), "found_start": start is not None,
              "perturbed": sub.describe()}
    # the budget, the re-check and the result in the whole view, counting on from the attack's queries
    whole = GoalClassifier(goal, view.score, view.top_k, margins=False)
    whole.queries = clf.queries
    res = feature_result("hsj", goal, goal.target_label, whole, view, sub.full(x_adv), eps, nv, before,
                         top_k, label_names, truth, is_text, original_text, t0, params)
    track.done()
    return res


def _run(model, inp, goal, before, params, ctx) -> AttackResult:
    return run_in_feature_view(hopskipjump, model, inp, goal, before,
                               {**params, "init_eval": min(10, params["max_eval"])}, ctx)


SPEC = AttackSpec(
    name="hsj", title="HopSkipJump", space="features", needs="decisions",
    help="decision-based (Chen et al. 2020): estimates the boundary's gradient from top-k decisions only; "
         f"changes the input's own features and, on a vocabulary of more than {MAX_FEATURES:,}, others drawn at "
         f"random (seeded) up to {MAX_FEATURES:,} features in all",
    run=_run, params=(
        AttackParam("max_iter", "Max iterations", "int", 5, 1, 10_000, "boundary steps (ART's max_iter)"),
        AttackParam("max_eval", "Max evaluations / step", "int", 100, 1, 100_000,
                    "queries to estimate each step's gradient (ART's max_eval)"),
    ))
