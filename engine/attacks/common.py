"""Plumbing shared by the feature-space attacks: seeding ART, the eps projection, result assembly."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Sequence

import numpy as np

from engine.attacks.goals import Goal, GoalClassifier
from engine.attacks.result import AttackResult
from engine.models.base import FeatureView
from engine.types import LabelScore, Prediction, ProgressFn, report

_NP_LOCK = threading.Lock()  # ART draws from the global numpy RNG: one seeded attack at a time
N_CHANGED = 25  # features listed in AttackResult.changed


@contextmanager
def seeded_numpy(seed: int):
    """Seed numpy's global RNG (which ART uses) for the block, then restore the previous state."""
    with _NP_LOCK:
        state = np.random.get_state()
        np.random.seed(int(seed) % (2 ** 32))
        try:
            yield
        finally:
            np.random.set_state(state)


def norm_value(norm: str | int | float) -> float:
    return np.inf if str(norm) in ("inf", "np.inf") else 2.0


def perturbation_norms(x0: np.ndarray, x1: np.ndarray) -> tuple[float, float]:
    d = np.asarray(x1, dtype=np.float64) - np.asarray(x0, dtype=np.float64)
    return float(np.linalg.norm(d)), float(np.max(np.abs(d))) if d.size else 0.0


def project(x0: np.ndarray, x: np.ndarray, eps: float, norm: float, clip: tuple[float, float]) -> np.ndarray:
    """Project x (d,) onto the eps-ball around x0 in the given norm, then into the clip box."""
    d = np.asarray(x, dtype=np.float64) - x0
    if norm == np.inf:
        d = np.clip(d, -eps, eps)
    else:
        n = np.linalg.norm(d)
        if n > eps:
            d = d * (eps / n)
    return np.clip(x0 + d, clip[0], clip[1]).astype(np.float32)


class AttackProgress:
    """Progress of one attack as the fraction of its real budget, never going back.

    [0, start_share) is the starting-point search (tries made / tries allowed); the rest is steps
    done / n_steps (ART's iterations, read per query from ``steps_from``, or counted by
    ``step_done``), filled within a step by its queries so far against ``step_queries`` (never past
    90% of the step). Below 1.0 until ``done()``. Every query checks for Cancel (``on_query``).
    """

    def __init__(self, progress: ProgressFn | None, label: str, n_steps: int, step_queries: int = 1,
                 start_share: float = 0.0):
        self.progress, self.label = progress, label
        self.n_steps, self.step_queries = max(1, int(n_steps)), max(1, int(step_queries))
        self.start_share = float(start_share)
        self.last, self.steps, self.step_q0, self.queries = 0.0, 0, 0, 0
        self.stepping = start_share == 0.0
        self.steps_from: Callable[[], int] | None = None

    def _emit(self, f: float, what: str) -> None:
        self.last = max(self.last, min(float(f), 0.99))
        report(self.progress, self.last, f"{self.label}: {what}")

    def _at(self, steps: float) -> float:
        return self.start_share + (1.0 - self.start_share) * min(steps, self.n_steps) / self.n_steps

    def phase(self, what: str) -> None:
        """A named stretch with no fraction of its own (e.g. loading ART): the bar stays where it is."""
        self._emit(self.last, what)

    def searching(self, tried: int, tries: int) -> None:
        self._emit(self.start_share * tried / max(tries, 1),
                   f"finding a starting point (try {tried + 1} of at most {tries})")

    def begin_steps(self) -> None:
        self.stepping, self.step_q0 = True, self.queries
        self._emit(self._at(0), f"step 1/{self.n_steps}")

    def step_done(self) -> None:
        self.steps, self.step_q0 = self.steps + 1, self.queries
        self._emit(self._at(self.steps), f"step {min(self.steps + 1, self.n_steps)}/{self.n_steps}, "
                                         f"{self.queries} queries")

    def on_query(self, q: int) -> None:
        """GoalClassifier's on_query: advance with the attack's steps; raises Cancelled when asked."""
        self.queries = q
        if not self.stepping:
            self._emit(self.last, f"finding a starting point, {q} queries")
            return
        if self.steps_from is not None:
            s = int(self.steps_from())
            if s > self.steps:
                self.steps, self.step_q0 = s, q
        within = min(0.9, (q - self.step_q0) / self.step_queries)
        self._emit(self._at(self.steps + within), f"step {min(self.steps + 1, self.n_steps)}/{self.n_steps}, {q} queries")

    def done(self) -> None:
        self.last = 1.0
        report(self.progress, 1.0, f"{self.label}: done")


def count_calls(obj, method: str, on_call: Callable[[], None]) -> None:
    """Call on_call() after each call of obj.method (an instance attribute shadows the class's), e.g.
    once per iteration of an ART attack that has no callback."""
    inner = getattr(obj, method)

    def counted(*args, **kwargs):
        out = inner(*args, **kwargs)
        on_call()
        return out
    setattr(obj, method, counted)


def view_prediction(view: FeatureView, x: np.ndarray, k: int, label_names: Sequence[str],
                    truth: Sequence[int] | None) -> Prediction:
    """Top-k labels at a point x (d,) of a feature view, scored exactly."""
    ids = [int(j) for j in view.top_k(np.atleast_2d(x), k)[0] if j >= 0]
    scores = np.asarray(view.score(np.atleast_2d(x), ids))[0] if ids else []
    order = np.argsort(-np.asarray(scores), kind="stable")
    tset = None if truth is None else set(int(t) for t in truth)
    return Prediction(labels=tuple(
        LabelScore(ids[o], label_names[ids[o]], float(scores[o]), None if tset is None else ids[o] in tset)
        for o in order))


def changed_features(names: Sequence[str], x0: np.ndarray, x1: np.ndarray, limit: int = N_CHANGED) -> list[tuple[str, float, float]]:
    """(name, before, after) of the features that moved most, largest |change| first."""
    d = np.abs(np.asarray(x1, dtype=np.float64) - x0)
    idx = np.argsort(-d, kind="stable")[:limit]
    return [(str(names[i]), float(x0[i]), float(x1[i])) for i in idx if d[i] > 0]


def count_changed(x0: np.ndarray, x1: np.ndarray) -> int:
    """How many coordinates of x1 (d,) differ from x0 (d,): the true count behind the capped changed list."""
    return int(np.count_nonzero(np.asarray(x1, dtype=np.float64) != np.asarray(x0, dtype=np.float64)))


def initial_adversarial(clf: GoalClassifier, x0: np.ndarray, clip: tuple[float, float], rng: np.random.Generator,
                        tries: int = 20, steps: int = 12,
                        on_try: Callable[[int, int], None] | None = None) -> np.ndarray | None:
    """A seeded starting point that meets the goal: uniform noise in the clip box, then a binary
    search along the line back to x0 (so HopSkipJump starts near the boundary). None if no luck.
    on_try(tried, tries) before each try (progress)."""
    for t in range(tries):
        if on_try is not None:
            on_try(t, tries)
        cand = rng.uniform(clip[0], clip[1], size=x0.shape).astype(np.float32)
        if clf.met(cand[None, :])[0]:
            lo, hi = 0.0, 1.0  # fraction of the way from x0 to cand; hi always adversarial
            for _ in range(steps):
                mid = (lo + hi) / 2
                if clf.met((x0 + mid * (cand - x0))[None, :])[0]:
                    hi = mid
                else:
                    lo = mid
            return (x0 + hi * (cand - x0)).astype(np.float32)
    return None


def apply_budget(clf: GoalClassifier, view: FeatureView, x_adv: np.ndarray | None, eps: float | None,
                 norm: float) -> tuple[np.ndarray, bool, bool]:
    """The eps budget applied to an attack's output x_adv (d,) (None: the attack found nothing):
    (the point kept (d,) float32, whether it was projected onto the eps-ball, success). Over budget,
    the point is projected and counts only if it still meets the goal (one query). The attack itself
    never reads eps, so one unbounded run serves every budget (see robustness.py)."""
    x0 = view.x0
    projected = False
    if x_adv is None:
        x_adv = x0.copy()
    x_adv = np.clip(np.asarray(x_adv, dtype=np.float32).ravel(), view.clip[0], view.clip[1])
    if eps is not None:
        size = perturbation_norms(x0, x_adv)[0 if norm == 2.0 else 1]
        if size > eps:
            # over budget: project onto the eps-ball; it counts only if the projected point still works
            x_adv = project(x0, x_adv, eps, norm, view.clip)
            projected = True
    success = bool(clf.met(x_adv[None, :])[0]) and not np.array_equal(x_adv, x0)
    return x_adv, projected, success


def feature_result(attack: str, goal: Goal, target_label: int | None, clf: GoalClassifier, view: FeatureView,
                   x_adv: np.ndarray | None, eps: float | None, norm: float, before: Prediction, k: int,
                   label_names: Sequence[str], truth: Sequence[int] | None, is_text: bool, original_text: str | None,
                   t0: float, params: dict) -> AttackResult:
    """Apply the eps budget (projection, then a re-check) and assemble the AttackResult."""
    x0 = view.x0
    x_adv, projected, success = apply_budget(clf, view, x_adv, eps, norm)
    after = view_prediction(view, x_adv, k, label_names, truth)
    l2, linf = perturbation_norms(x0, x_adv)
    return AttackResult(
        attack=attack, space="features", goal=goal.kind, target_label=target_label, success=success,
        queries=int(clf.queries), seconds=round(time.perf_counter() - t0, 4), before=before, after=after,
        l2=l2, linf=linf, words_changed=None, changed=changed_features(view.feature_names, x0, x_adv),
        original_text=original_text if is_text else None, adversarial_text=None,
        adversarial_vector=x_adv, params={**params, "projected": projected, "view": view.description},
        features_changed=count_changed(x0, x_adv))


def run_in_feature_view(attack_fn, model, inp, goal: Goal, before: Prediction, params: dict, ctx) -> AttackResult:
    """Run a feature-space attack ``attack_fn(view, goal, before, label_names, **params, ...)`` on one
    model input (a text, or a feature row (d,)): the model's continuous view of that input."""
    is_text = model.input_kind == "text"
    view = model.feature_view(inp)
    return attack_fn(view, goal, before, model.label_names, **params, norm=ctx.norm, eps=ctx.eps, seed=ctx.seed,
                     top_k=ctx.top_k, truth=ctx.truth, is_text=is_text, original_text=inp if is_text else None,
                     progress=ctx.progress)


class SubspaceView:
    """A feature view restricted to a subset of its coordinates, for attacks on large vocabularies.

    The attack perturbs only ``coords`` (m,): the input's own nonzero features plus a seeded uniform
    sample of the others, ``max_features`` in all (every nonzero feature is kept even past that);
    every other coordinate stays at x0's value (0 for a TF-IDF vector). Each query then sends rows
    with at most m nonzeros (csr, when the view takes sparse rows), so its cost follows what it
    touches, not the whole vocabulary. L2 / Linf distances are the same in both spaces (the other
    coordinates never move). ``view``: the restricted FeatureView (x0 (m,)); ``full(z)`` maps a
    point z (m,) back to the whole space (d,).
    """

    def __init__(self, base: FeatureView, max_features: int, seed: int):
        d = base.x0.size
        own = np.flatnonzero(base.x0)
        if max_features <= 0 or d <= max_features:
            coords = np.arange(d)
        else:
            rest = np.setdiff1d(np.arange(d), own, assume_unique=True)
            n_more = max(0, int(max_features) - own.size)
            more = np.random.default_rng(seed).choice(rest, size=min(n_more, rest.size), replace=False)
            coords = np.sort(np.concatenate([own, more]))
        self.base, self.coords, self.d = base, coords.astype(np.int64), d
        self.whole = coords.size == d
        self.view = base if self.whole else FeatureView(
            base.x0[coords].astype(np.float32), [base.feature_names[i] for i in coords], self._score, self._top_k,
            base.clip, base.description)

    def _rows(self, Z):
        """Rows Z (n, m) of the subspace as the base view's input: csr (n, d) or dense (n, d)."""
        Z = np.atleast_2d(np.asarray(Z, dtype=np.float32))
        n, m = Z.shape
        if self.base.sparse_rows:
            import scipy.sparse as sp

            # coords hold every nonzero of x0, so the rows' other entries are 0; new arrays (never views
            # of Z, which belongs to the attack)
            nz = Z != 0
            indptr = np.concatenate([[0], np.cumsum(nz.sum(axis=1))])
            return sp.csr_matrix((Z[nz], self.coords[np.nonzero(nz)[1]], indptr), shape=(n, self.d))
        X = np.repeat(self.base.x0[None, :], n, axis=0)
        X[:, self.coords] = Z
        return X

    def _score(self, Z, label_ids):
        return self.base.score(self._rows(Z), label_ids)

    def _top_k(self, Z, k):
        return self.base.top_k(self._rows(Z), k)

    def full(self, z: np.ndarray | None) -> np.ndarray | None:
        """z (m,) -> the point (d,) of the whole feature view (None stays None)."""
        if z is None or self.whole:
            return z
        x = self.base.x0.astype(np.float32).copy()
        x[self.coords] = np.asarray(z, dtype=np.float32).ravel()
        return x

    def describe(self) -> str:
        """The threat model in words, for the result's params."""
        if self.whole:
            return f"all {self.d:,} features"
        own = int(np.count_nonzero(self.base.x0))
        return (f"{self.coords.size:,} of {self.d:,} features: the input's {own:,} nonzero ones plus "
                f"{self.coords.size - own:,} drawn at random (seeded) from the others")
