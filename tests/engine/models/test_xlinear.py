import numpy as np
import pytest

from engine.errors import InputError
from engine.models.xlinear import XLinearParams, XLinearXMC


def test_predict_and_score_labels_agree(small_xlinear, bibtex):
    texts = bibtex.test.texts[:5]
    preds = small_xlinear.predict(texts, top_k=5, truth=[bibtex.document(i).labels for i in range(5)])
    for text, pred in zip(texts, preds):
        assert len(pred.labels) == 5
        scores = [x.score for x in pred.labels]
        assert scores == sorted(scores, reverse=True)
        exact = small_xlinear.score_labels([text], pred.label_ids)[0]
        np.testing.assert_allclose(exact, scores, rtol=1e-5, atol=1e-6)
    assert any(x.is_true for p in preds for x in p.labels)


def test_label_path_and_feature_view(small_xlinear, bibtex):
    text = bibtex.test.texts[0]
    pred = small_xlinear.predict([text], 3)[0]
    depth = len(small_xlinear.xlm.model.model_chain)
    for lid in pred.label_ids:
        path = small_xlinear.label_path(lid)
        assert len(path) == depth - 1 and all(isinstance(c, int) for c in path)
    fv = small_xlinear.feature_view(text)
    assert fv.x0.shape == (small_xlinear.featurizer.dim,) and fv.clip == (0.0, 1.0)
    assert fv.top_k(fv.x0[None, :], 3)[0].tolist() == pred.label_ids
    np.testing.assert_allclose(fv.score(fv.x0[None, :], pred.label_ids)[0], [x.score for x in pred.labels], rtol=1e-5)
    words = set(text.split())
    assert all(fv.feature_names[j] in words for j in np.nonzero(fv.x0)[0])


def test_save_load_roundtrip(small_xlinear, bibtex, tmp_path):
    small_xlinear.save(tmp_path)
    again = XLinearXMC.load(tmp_path)
    texts = bibtex.test.texts[:20]
    np.testing.assert_allclose(again.score_labels(texts, [0, 5, 9]), small_xlinear.score_labels(texts, [0, 5, 9]))
    assert not list(tmp_path.rglob("*.pkl"))  # nothing pickled


def test_dense_model_on_mediamill():
    from engine.data import load_dataset

    ds = load_dataset("mediamill")
    X = ds.train.X.toarray()
    m = XLinearXMC.train(X, ds.train.Y, ds.label_names, feature_names=ds.feature_names)
    assert m.input_kind == "dense"
    pred = m.predict(ds.test.X[:3].toarray(), 5)
    assert len(pred) == 3 and len(pred[0].labels) == 5
    with pytest.raises(InputError, match="120 feature"):
        m.predict(np.ones((1, 7)), 5)
    with pytest.raises(InputError, match="finite"):
        m.predict(np.full((1, 120), np.nan), 5)


@pytest.mark.parametrize("kwargs", [dict(loss="magic"), dict(nr_splits=1), dict(C=0), dict(beam_size=0), dict(max_leaf_size=0)])
def test_bad_params(kwargs):
    with pytest.raises(InputError):
        XLinearParams(**kwargs).validate()


def test_bad_inputs(small_xlinear):
    with pytest.raises(InputError, match="top-k"):
        small_xlinear.predict(["a b"], 0)
    with pytest.raises(InputError, match="top-k"):
        small_xlinear.predict(["a b"], 10_000)
    with pytest.raises(InputError, match="not one of this model"):
        small_xlinear.score_labels(["a b"], [159])
    with pytest.raises(InputError, match="no labels"):
        small_xlinear.score_labels(["a b"], [])
    with pytest.raises(InputError, match="list of strings"):
        small_xlinear.predict([1, 2], 3)
    with pytest.raises(InputError, match="unknown label"):
        small_xlinear.label_id("TAG_nonexistent")
    assert small_xlinear.label_id("TAG_2005") == 0


def test_train_progress_names_phases_and_cancel_keeps_nothing(bibtex, tmp_path):
    from engine.errors import Cancelled
    from engine.models.runtime import train_model
    from engine.models.store import ModelStore

    seen = []
    XLinearXMC.train(bibtex.train.texts[:300], bibtex.train.Y[:300], bibtex.label_names,
                     progress=lambda f, m: seen.append((f, m)))
    assert [m for _, m in seen] == ["featurizing", "clustering the labels (PIFA + hierarchical k-means)",
                                    "training the rankers (one uninterruptible PECOS call)", "XR-Linear trained"]
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and seen[0][0] == 0.0
    store = ModelStore(tmp_path)
    for phase in ("clustering", "training the rankers", "evaluating"):
        with pytest.raises(Cancelled):
            train_model(bibtex, "xlinear", store=store, progress=lambda f, m, p=phase: not m.startswith(p))
        assert store.list() == []


def test_loaded_model_predicts_with_pecos_predict_only_and_same_numbers(small_xlinear, bibtex, tmp_path):
    """A loaded model answers predict / score_labels / the attack view with PECOS' predict-only C++ model
    (the Python one stays unloaded) and gives the trained Python model's top-k and scores exactly."""
    small_xlinear.save(tmp_path)
    again = XLinearXMC.load(tmp_path)
    assert again.predictor.is_predict_only and again.ranker.is_predict_only and again._xlm is None
    texts = bibtex.test.texts[:30]
    for a, b in zip(again.predict(texts, 10), small_xlinear.predict(texts, 10)):
        assert a.label_ids == b.label_ids and [x.score for x in a.labels] == [x.score for x in b.labels]
    ids = sorted({j for p in small_xlinear.predict(texts, 5) for j in p.label_ids})
    assert np.array_equal(again.score_labels(texts, ids), small_xlinear.score_labels(texts, ids))
    fa, fb = again.feature_view(texts[0]), small_xlinear.feature_view(texts[0])
    X = np.clip(fa.x0[None, :] + np.random.default_rng(0).normal(0, 0.05, (8, fa.x0.size)), 0, 1).astype(np.float32)
    assert np.array_equal(fa.top_k(X, 5), fb.top_k(X, 5))
    assert np.array_equal(fa.score(X, ids[:7]), fb.score(X, ids[:7]))
    import scipy.sparse as sp

    assert fa.sparse_rows and np.array_equal(fa.score(sp.csr_matrix(X), ids[:7]), fa.score(X, ids[:7]))
    assert np.array_equal(fa.top_k(sp.csr_matrix(X), 5), fb.top_k(X, 5))  # csr rows: the chunked ranker
    # label paths come from the tree's C matrices alone, still without the Python model
    assert [again.label_path(j) for j in ids] == [small_xlinear.label_path(j) for j in ids]
    assert again._xlm is None
    # the score split's ranker weights load the Python model on first use
    w = again.ranker_path_weights(ids[:3])
    assert again._xlm is not None
    for la, lb in zip(w, small_xlinear.ranker_path_weights(ids[:3])):
        assert np.array_equal(la.nodes, lb.nodes) and (la.W != lb.W).nnz == 0


def test_python_model_is_not_loaded_from_a_replaced_folder(small_xlinear, tmp_path):
    small_xlinear.save(tmp_path / "a")
    again = XLinearXMC.load(tmp_path / "a")
    import shutil

    from engine.errors import ModelError

    shutil.rmtree(tmp_path / "a")  # a retrain swaps a new folder in
    small_xlinear.save(tmp_path / "a")

    with pytest.raises(ModelError, match="changed on disk"):
        again.ranker_path_weights([0])
