"""Multi-label attack goals as a 2-class problem, so ART's single-label attacks can run on an XMC model.

ART attacks assume one argmax label. A goal turns the model into two classes:

- ``top1``: class 0 = the original top-1 label is still top-1; class 1 = another label is top-1.
- ``drop``: class 0 = the chosen label is still in the top-k; class 1 = it left the top-k.
- ``topk``: class 0 = some label of the original top-k is still in the top-k; class 1 = all of them
  left it (the whole top-k is replaced, so P@k falls unless the new labels happen to be true too).

The decision (class) always comes from the model's own top-k ranking; the scores handed to ART
are ``[margin, 0]`` where ``margin`` > 0 means "goal not met yet" (ZOO's loss needs a continuous
margin; HopSkipJump uses only the argmax). The margin is forced to agree with the decision, so
ART never sees a score that contradicts the ranking.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from engine.errors import InputError

GOALS = ("top1", "drop", "topk")
_TIE = 1e-6  # smallest margin magnitude, so argmax is never a tie


@dataclass
class Goal:
    """kind: "top1" | "drop" | "topk"; label: the original top-1 (top1, topk) or the label to drop (drop);
    k: top-k size; labels: the labels the goal pushes out -- (label,) for top1 / drop, the original
    top-k ids for topk."""

    kind: str
    label: int
    k: int
    labels: tuple[int, ...]

    def describe(self, label_names: Sequence[str]) -> str:
        name = label_names[self.label] if 0 <= self.label < len(label_names) else str(self.label)
        if self.kind == "top1":
            return f"make the top-1 label ({name}) lose first place"
        if self.kind == "topk":
            return f"push every one of the current top-{self.k} labels out of the top-{self.k}"
        return f"push label {name} out of the top-{self.k}"


def make_goal(goal: str, original_top: Sequence[int], target_label: int | None, k: int) -> Goal:
    """Check a goal against the original top-k ids (best first) and build it.

    Raises InputError for an unknown goal, or a drop target that is not in the top-k now.
    """
    if goal not in GOALS:
        raise InputError(f"unknown attack goal {goal!r}: choose one of {', '.join(GOALS)}.")
    top = [int(j) for j in original_top]
    if not top:
        raise InputError("the model predicts no labels for this input, so there is nothing to attack.")
    if goal == "top1":
        return Goal("top1", top[0], k, (top[0],))
    if goal == "topk":
        return Goal("topk", top[0], k, tuple(top[:k]))
    if target_label is None:
        raise InputError("the 'drop' goal needs a target label: one of the current top-k labels.")
    if int(target_label) not in top[:k]:
        raise InputError(f"label {target_label} is not in the current top-{k} ({', '.join(map(str, top[:k]))}); "
                         "choose a label the model predicts now.")
    return Goal("drop", int(target_label), k, (int(target_label),))


def goal_met(goal: Goal, top_k: Callable, X) -> np.ndarray:
    """(n,) bool: the goal holds for each input (rows of X (n, d), or a list of texts). One ranking call."""
    if goal.kind == "top1":
        return top_k(X, 1)[:, 0] != goal.label
    return ~np.isin(top_k(X, goal.k), goal.labels).any(axis=1)


def decision_and_margin(goal: Goal, score: Callable, top_k: Callable, X) -> tuple[np.ndarray, np.ndarray]:
    """For inputs X (rows of an (n, d) array, or a list of n texts): met (n,) bool -- goal reached;
    margin (n,) float -- > 0 while not reached.

    score(X, label_ids) -> (n, m) and top_k(X, k) -> (n, k) ids, as in FeatureView.
    """
    if not isinstance(X, list):
        X = np.atleast_2d(np.asarray(X, dtype=np.float32))
    n = len(X) if isinstance(X, list) else X.shape[0]
    held = np.asarray(goal.labels, dtype=np.int64)
    if goal.kind == "top1":
        ids = top_k(X, 2)
        met = ids[:, 0] != goal.label
        # the strongest rival: the current top-1, or the runner-up while the label still leads
        rival = np.where(ids[:, 0] == goal.label, ids[:, 1], ids[:, 0])
    else:
        # drop / topk: the held labels are all out of the top-k exactly when the k-th best other
        # label beats every one of them
        ids = top_k(X, goal.k + held.size)
        met = ~np.isin(ids[:, :goal.k], held).any(axis=1)
        rival = np.empty(n, dtype=np.int64)
        for i in range(n):
            others = [j for j in ids[i] if j >= 0 and j not in goal.labels]
            rival[i] = others[goal.k - 1] if len(others) >= goal.k else (others[-1] if others else -1)
    cand = np.unique(np.concatenate([held, rival[rival >= 0]]))
    S = np.asarray(score(X, cand), dtype=np.float64)
    col = {int(j): c for c, j in enumerate(cand)}
    own = S[:, [col[int(j)] for j in held]].max(axis=1)  # the strongest held label
    riv = np.array([S[i, col[int(r)]] if r >= 0 else 0.0 for i, r in enumerate(rival)])
    margin = own - riv
    # agree with the ranking: beam search may rank differently from exact scores near ties
    margin = np.where(met, np.minimum(margin, -_TIE), np.maximum(margin, _TIE))
    return met, margin


class GoalClassifier:
    """A 2-class black box over a feature view: predict(X (n, d)) -> (n, 2) scores [margin, 0].

    Counts queries (rows scored) and calls ``on_query(queries)`` after each batch, which may
    raise engine.errors.Cancelled to stop an attack mid-way. ``margins=False`` (HopSkipJump, which
    needs only the decision) answers with one ranking call and scores [+1, 0] / [-1, 0].
    """

    def __init__(self, goal: Goal, score: Callable, top_k: Callable, on_query: Callable[[int], None] | None = None,
                 margins: bool = True):
        self.goal = goal
        self.score = score
        self.top_k = top_k
        self.on_query = on_query
        self.margins = margins
        self.queries = 0

    def _count(self, n: int) -> None:
        self.queries += n
        if self.on_query is not None:
            self.on_query(self.queries)

    def met(self, X) -> np.ndarray:
        """(n,) bool: the goal holds at each input (rows of X (n, d) or a list of texts)."""
        if not isinstance(X, list):
            X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        out = goal_met(self.goal, self.top_k, X)
        self._count(len(X))
        return out

    def evaluate(self, X) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(X, list):
            X = np.atleast_2d(X)
        met, margin = decision_and_margin(self.goal, self.score, self.top_k, X)
        self._count(len(X))
        return met, margin

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n, d) -> (n, 2) float32: column 0 = margin (goal not met), column 1 = 0 (goal met)."""
        if self.margins:
            _, margin = self.evaluate(X)
        else:
            margin = np.where(self.met(X), -1.0, 1.0)
        out = np.zeros((margin.size, 2), dtype=np.float32)
        out[:, 0] = margin
        return out

    def art_classifier(self, n_features: int, clip: tuple[float, float]):
        """ART BlackBoxClassifier (2 classes) over this goal."""
        from art.estimators.classification import BlackBoxClassifier

        class WholeBatch(BlackBoxClassifier):
            # ZOO asks for predictions with batch_size=1 (its attack batch), which would cost one
            # model call per perturbed sample; scoring the whole array at once is the same answer.
            def predict(self, x, batch_size: int = 128, **kwargs):
                return super().predict(x, batch_size=max(int(batch_size), 1024), **kwargs)

        return WholeBatch(self.predict, input_shape=(n_features,), nb_classes=2,
                          clip_values=(float(clip[0]), float(clip[1])))
