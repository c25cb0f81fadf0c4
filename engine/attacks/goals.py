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

from typing import Callable, Sequence

import numpy as np

from engine.errors import InputError

_TIE = 1e-6  # smallest margin magnitude, so argmax is never a tie


class Goal:
    """What an attack must achieve, answering "is it met" and "how far" for a batch of inputs
    (TextAttack's goal functions, multi-label). Attacks never branch on a goal's name.

    label: the original top-1 (top1, topk) or the label to drop (drop); k: top-k size;
    labels: the labels the goal pushes out -- (label,) for top1 / drop, the original top-k for topk.
    """

    name: str = ""
    needs_target: bool = False  # the user must name a label (drop)
    help: str = ""

    def __init__(self, label: int, k: int, labels: tuple[int, ...]):
        self.label, self.k, self.labels = int(label), int(k), tuple(int(j) for j in labels)

    @property
    def kind(self) -> str:
        """The goal's registry name (stored in results and cache keys)."""
        return self.name

    @property
    def target_label(self) -> int | None:
        """The label the user named, if the goal has one."""
        return self.label if self.needs_target else None

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and (self.label, self.k, self.labels) == (other.label, other.k, other.labels)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(label={self.label}, k={self.k}, labels={self.labels})"

    @classmethod
    def build(cls, top: list[int], target_label: int | None, k: int) -> "Goal":
        raise NotImplementedError

    def describe(self, label_names: Sequence[str]) -> str:
        raise NotImplementedError

    def _name_of(self, label_names: Sequence[str]) -> str:
        return label_names[self.label] if 0 <= self.label < len(label_names) else str(self.label)

    def met(self, top_k: Callable, X) -> np.ndarray:
        """(n,) bool: the goal holds for each input (rows of X (n, d), or a list of texts). One ranking call."""
        return ~np.isin(top_k(X, self.k), self.labels).any(axis=1)

    def rivals(self, top_k: Callable, X, n: int) -> tuple[np.ndarray, np.ndarray]:
        """met (n,) bool and, per input, the label whose score the held labels must fall below (n,) ids
        (-1: none). The held labels are all out of the top-k exactly when the k-th best other label
        beats every one of them."""
        held = set(self.labels)
        ids = top_k(X, self.k + len(self.labels))
        met = ~np.isin(ids[:, :self.k], self.labels).any(axis=1)
        rival = np.empty(n, dtype=np.int64)
        for i in range(n):
            others = [j for j in ids[i] if j >= 0 and j not in held]
            rival[i] = others[self.k - 1] if len(others) >= self.k else (others[-1] if others else -1)
        return met, rival

    def margin(self, score: Callable, top_k: Callable, X) -> tuple[np.ndarray, np.ndarray]:
        """met (n,) bool -- goal reached; margin (n,) float -- > 0 while not reached: the strongest held
        label's score minus its rival's, forced to agree with the ranking.

        score(X, label_ids) -> (n, m) and top_k(X, k) -> (n, k) ids, as in FeatureView.
        """
        if not isinstance(X, list):
            X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        n = len(X) if isinstance(X, list) else X.shape[0]
        held = np.asarray(self.labels, dtype=np.int64)
        met, rival = self.rivals(top_k, X, n)
        cand = np.unique(np.concatenate([held, rival[rival >= 0]]))
        S = np.asarray(score(X, cand), dtype=np.float64)
        col = {int(j): c for c, j in enumerate(cand)}
        own = S[:, [col[int(j)] for j in held]].max(axis=1)  # the strongest held label
        riv = np.array([S[i, col[int(r)]] if r >= 0 else 0.0 for i, r in enumerate(rival)])
        margin = own - riv
        # agree with the ranking: beam search may rank differently from exact scores near ties
        margin = np.where(met, np.minimum(margin, -_TIE), np.maximum(margin, _TIE))
        return met, margin


class Top1Goal(Goal):
    """class 1 = another label is top-1."""

    name = "top1"
    help = "the top-1 label changes"

    @classmethod
    def build(cls, top, target_label, k):
        return cls(top[0], k, (top[0],))

    def describe(self, label_names):
        return f"make the top-1 label ({self._name_of(label_names)}) lose first place"

    def met(self, top_k, X):
        return top_k(X, 1)[:, 0] != self.label

    def rivals(self, top_k, X, n):
        ids = top_k(X, 2)
        # the strongest rival: the current top-1, or the runner-up while the label still leads
        return ids[:, 0] != self.label, np.where(ids[:, 0] == self.label, ids[:, 1], ids[:, 0])


class DropGoal(Goal):
    """class 1 = the chosen label left the top-k."""

    name = "drop"
    needs_target = True
    help = "a chosen label leaves the top-k"

    @classmethod
    def build(cls, top, target_label, k):
        if target_label is None:
            raise InputError("the 'drop' goal needs a target label: one of the current top-k labels.")
        if int(target_label) not in top[:k]:
            raise InputError(f"label {target_label} is not in the current top-{k} ({', '.join(map(str, top[:k]))}); "
                             "choose a label the model predicts now.")
        return cls(int(target_label), k, (int(target_label),))

    def describe(self, label_names):
        return f"push label {self._name_of(label_names)} out of the top-{self.k}"


class TopKGoal(Goal):
    """class 1 = every label of the original top-k left it (P@k falls unless the newcomers are true)."""

    name = "topk"
    help = "every original top-k label leaves the top-k"

    @classmethod
    def build(cls, top, target_label, k):
        return cls(top[0], k, tuple(top[:k]))

    def describe(self, label_names):
        return f"push every one of the current top-{self.k} labels out of the top-{self.k}"


GOAL_CLASSES: dict[str, type[Goal]] = {g.name: g for g in (Top1Goal, DropGoal, TopKGoal)}
GOALS = tuple(GOAL_CLASSES)


def make_goal(goal: str, original_top: Sequence[int], target_label: int | None, k: int) -> Goal:
    """Check a goal against the original top-k ids (best first) and build it.

    Raises InputError for an unknown goal, or a drop target that is not in the top-k now.
    """
    if goal not in GOAL_CLASSES:
        raise InputError(f"unknown attack goal {goal!r}: choose one of {', '.join(GOALS)}.")
    top = [int(j) for j in original_top]
    if not top:
        raise InputError("the model predicts no labels for this input, so there is nothing to attack.")
    return GOAL_CLASSES[goal].build(top, target_label, k)


def goal_met(goal: Goal, top_k: Callable, X) -> np.ndarray:
    """(n,) bool: the goal holds for each input. See Goal.met."""
    return goal.met(top_k, X)


def decision_and_margin(goal: Goal, score: Callable, top_k: Callable, X) -> tuple[np.ndarray, np.ndarray]:
    """met (n,) bool and margin (n,) float for inputs X. See Goal.margin."""
    return goal.margin(score, top_k, X)


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
