"""HopSkipJump's subspace (engine/attacks/common.py SubspaceView): what it may change, and that its
queries score exactly like the whole feature view's."""
import numpy as np
import scipy.sparse as sp

from engine.attacks.common import SubspaceView
from engine.attacks.goals import make_goal
from engine.attacks.hopskipjump import hopskipjump


def test_subspace_holds_the_documents_features_plus_a_seeded_sample(small_xlinear, bibtex):
    view = small_xlinear.feature_view(bibtex.test.texts[0])
    own = np.flatnonzero(view.x0)
    sub = SubspaceView(view, 300, seed=4)
    assert sub.coords.size == 300 and set(own) <= set(sub.coords) and not sub.whole
    assert np.array_equal(sub.coords, SubspaceView(view, 300, seed=4).coords)
    assert not np.array_equal(sub.coords, SubspaceView(view, 300, seed=5).coords)
    assert "300 of 1,836 features" in sub.describe() and f"input's {own.size} nonzero" in sub.describe()
    whole = SubspaceView(view, 0, seed=4)  # 0 (or a vocabulary no larger than the limit): the whole view
    assert whole.whole and whole.view is view and SubspaceView(view, view.x0.size, 0).whole


def test_subspace_queries_score_like_the_whole_view_and_leave_the_attacks_arrays_alone(small_xlinear, bibtex):
    view = small_xlinear.feature_view(bibtex.test.texts[1])
    sub = SubspaceView(view, 200, seed=0)
    Z = np.clip(sub.view.x0[None, :] + np.random.default_rng(0).normal(0, 0.3, (16, 200)), 0, 1).astype(np.float32)
    Z[:, ::3] = 0.0  # zeros inside the rows: the sparse rows drop them
    before = Z.copy()
    full = np.stack([sub.full(z) for z in Z])
    assert np.array_equal(full[:, sub.coords], Z) and np.count_nonzero(np.delete(full, sub.coords, axis=1)) == 0
    assert sp.issparse(sub._rows(Z)) and sub._rows(Z).nnz == np.count_nonzero(Z)
    ids = small_xlinear.predict([bibtex.test.texts[1]], 5)[0].label_ids
    assert np.array_equal(sub.view.top_k(Z, 5), view.top_k(full, 5))
    assert np.array_equal(sub.view.score(Z, ids), view.score(full, ids))
    assert np.array_equal(Z, before)  # the rows ART hands over are its own arrays: never modified


def test_hopskipjump_changes_only_the_subspace(small_xlinear, bibtex):
    text = bibtex.test.texts[2]
    view = small_xlinear.feature_view(text)
    before = small_xlinear.predict([text], 5)[0]
    goal = make_goal("top1", before.label_ids, None, 5)
    r = hopskipjump(view, goal, before, small_xlinear.label_names, max_features=300, max_iter=2, seed=0)
    sub = SubspaceView(view, 300, seed=0)
    moved = np.flatnonzero(r.adversarial_vector != view.x0)
    assert r.success and moved.size > 0 and set(moved) <= set(sub.coords)
    assert r.params["perturbed"] == sub.describe() and r.adversarial_vector.shape == view.x0.shape
    # the default attacks BibTeX's whole 1,836-word view, as before the subspace existed
    d = hopskipjump(view, goal, before, small_xlinear.label_names, max_iter=2, seed=0)
    assert d.params["perturbed"] == "all 1,836 features"


def test_compare_subspace_reports_each_limit(attack_store):
    from engine.attacks.bench import compare_subspace

    out = compare_subspace("bibtex", "xlinear", n=2, limits=(0, 300), store=attack_store)
    assert out[0]["whole_view"] and not out[300]["whole_view"] and out[0]["features"] == 1836
    for r in out.values():
        assert r["success"].endswith("/2") and r["queries_median"] > 0 and r["seconds_per_doc"] > 0
