import numpy as np
import pytest

from engine.attacks.goals import GoalClassifier, decision_and_margin, make_goal
from engine.errors import InputError


def test_make_goal_checks():
    assert make_goal("top1", [4, 2, 9], None, 3).label == 4
    assert make_goal("drop", [4, 2, 9], 2, 3).label == 2
    with pytest.raises(InputError, match="unknown attack goal"):
        make_goal("flip", [4, 2], None, 2)
    with pytest.raises(InputError, match="not in the current top-2"):
        make_goal("drop", [4, 2, 9], 9, 2)
    with pytest.raises(InputError, match="needs a target label"):
        make_goal("drop", [4, 2], None, 2)


def _toy_view():
    """Linear toy scorer: 3 labels, score = X @ W; label 0 leads at x0."""
    W = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])

    def score(X, ids):
        return (np.atleast_2d(X) @ W)[:, list(ids)]

    def top_k(X, k):
        return np.argsort(-(np.atleast_2d(X) @ W), axis=1, kind="stable")[:, :k]
    return score, top_k


def test_top1_margin_and_decision_agree():
    score, top_k = _toy_view()
    g = make_goal("top1", [0, 1, 2], None, 2)
    X = np.array([[0.9, 0.5, 0.1], [0.2, 0.6, 0.1]], dtype=np.float32)
    met, margin = decision_and_margin(g, score, top_k, X)
    assert list(met) == [False, True]
    assert margin[0] == pytest.approx(0.4, abs=1e-6) and margin[1] == pytest.approx(-0.4, abs=1e-6)


def test_drop_goal_margin_against_kth_rival():
    score, top_k = _toy_view()
    g = make_goal("drop", [0, 1, 2], 1, 2)  # keep label 1 in the top-2?
    X = np.array([[0.9, 0.5, 0.1], [0.9, 0.2, 0.3]], dtype=np.float32)
    met, margin = decision_and_margin(g, score, top_k, X)
    assert list(met) == [False, True]
    assert margin[0] == pytest.approx(0.4, abs=1e-6)  # 0.5 - 0.1 (the 2nd best other label)
    assert margin[1] == pytest.approx(-0.1, abs=1e-6)


def test_topk_goal_needs_every_original_label_out():
    # 5 labels, score = X; original top-2 = {0, 1}
    def score(X, ids):
        return np.atleast_2d(X)[:, list(ids)]

    def top_k(X, k):
        return np.argsort(-np.atleast_2d(X), axis=1, kind="stable")[:, :k]

    g = make_goal("topk", [0, 1, 2, 3, 4], None, 2)
    assert g.labels == (0, 1) and "every one of the current top-2" in g.describe([str(i) for i in range(5)])
    X = np.array([[0.9, 0.8, 0.1, 0.2, 0.0],   # both original labels still in: not met
                  [0.1, 0.8, 0.9, 0.2, 0.0],   # label 1 still 2nd: not met
                  [0.1, 0.3, 0.9, 0.5, 0.0]],  # top-2 = {2, 3}: met
                 dtype=np.float32)
    met, margin = decision_and_margin(g, score, top_k, X)
    assert list(met) == [False, False, True]
    # margin = best original score - 2nd best newcomer's score
    assert margin[0] == pytest.approx(0.9 - 0.1, abs=1e-6)
    assert margin[1] == pytest.approx(0.8 - 0.2, abs=1e-6)
    assert margin[2] == pytest.approx(0.3 - 0.5, abs=1e-6)
    clf = GoalClassifier(g, score, top_k)
    assert list(clf.met(X)) == [False, False, True]


def test_classifier_counts_queries_and_argmax_is_goal():
    score, top_k = _toy_view()
    seen = []
    clf = GoalClassifier(make_goal("top1", [0, 1, 2], None, 2), score, top_k, on_query=seen.append)
    P = clf.predict(np.array([[0.9, 0.5, 0.1], [0.2, 0.6, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32))
    assert P.shape == (3, 2)
    assert list(P.argmax(axis=1)) == [0, 1, 1]
    assert clf.queries == 3 and seen == [3]
    dec = GoalClassifier(clf.goal, score, top_k, margins=False)
    assert list(dec.predict(np.array([[0.9, 0.5, 0.1]])).argmax(axis=1)) == [0]


def test_real_model_margin_positive_at_input(small_xlinear, bibtex):
    text = bibtex.test.texts[0]
    view = small_xlinear.feature_view(text)
    top = small_xlinear.predict([text], 5)[0].label_ids
    for g in (make_goal("top1", top, None, 5), make_goal("drop", top, top[2], 5), make_goal("topk", top, None, 5)):
        met, margin = decision_and_margin(g, view.score, view.top_k, view.x0[None, :])
        assert not met[0] and margin[0] > 0
