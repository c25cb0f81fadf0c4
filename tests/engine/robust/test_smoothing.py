import numpy as np
import pytest

from engine.errors import InputError
from engine.models.store import ModelStore
from engine.robust.smoothing import SmoothedXMC, SmoothingParams


def test_smoothing_is_deterministic_and_averages(small_xlinear, bibtex):
    sm = SmoothedXMC(small_xlinear, SmoothingParams(n_samples=6, rate=0.2, seed=1))
    texts = bibtex.test.texts[:4]
    ids = small_xlinear.predict(texts[:1], 3)[0].label_ids
    a, b = sm.score_labels(texts, ids), sm.score_labels(texts, ids)
    np.testing.assert_array_equal(a, b)
    manual = small_xlinear.score_labels(sm._perturb_texts(texts[0]), ids).mean(axis=0)
    np.testing.assert_allclose(a[0], manual, rtol=1e-6)
    assert not np.allclose(a[0], small_xlinear.score_labels(texts[:1], ids)[0])  # it really perturbs
    pred = sm.predict(texts, 3)
    assert len(pred) == 4 and all(len(p.labels) == 3 for p in pred)
    identity = SmoothedXMC(small_xlinear, SmoothingParams(n_samples=3, rate=0.0))
    np.testing.assert_allclose(identity.score_labels(texts, ids), small_xlinear.score_labels(texts, ids), rtol=1e-6)


def test_feature_view_is_deterministic(small_xlinear, bibtex):
    sm = SmoothedXMC(small_xlinear, SmoothingParams(n_samples=4, rate=0.2))
    fv = sm.feature_view(bibtex.test.texts[0])
    X = np.stack([fv.x0, fv.x0 * 0.5])
    np.testing.assert_array_equal(fv.score(X, [1, 2]), fv.score(X, [1, 2]))
    assert fv.top_k(X, 3).shape == (2, 3)


def test_saved_with_base_and_reloaded(tmp_path):
    from engine import pipeline
    from engine.robust.smoothing import train_smoothed

    store = ModelStore(tmp_path)
    pipeline.train_model("mediamill", "xlinear", store=store)
    info = train_smoothed("mediamill", "xlinear", SmoothingParams(n_samples=4, rate=0.05), store=store)
    assert info.model_id == "xlinear-smoothed" and info.manifest["baseline"] == "xlinear"
    assert 0.5 < info.manifest["metrics"]["P@1"] <= 1
    again = store.load("mediamill", "xlinear-smoothed")
    assert isinstance(again, SmoothedXMC) and again.base_ref == ("mediamill", "xlinear")


@pytest.mark.parametrize("kw", [dict(n_samples=0), dict(n_samples=10_000), dict(rate=1.0), dict(rate=-0.1)])
def test_bad_params(kw):
    with pytest.raises(InputError):
        SmoothingParams(**kw).validate()
