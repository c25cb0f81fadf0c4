import numpy as np
import pytest

from engine.explain.api import explain_input
from engine.explain.units import split_words


@pytest.fixture(scope="module")
def bibtex_doc(bibtex, small_xlinear):
    text = bibtex.test.texts[3]
    ids = small_xlinear.predict([text], 3)[0].label_ids
    return text, ids


def test_lime_on_xlinear_explains_each_label_from_one_sample_set(bibtex, small_xlinear, bibtex_doc):
    text, ids = bibtex_doc
    calls = []
    score = small_xlinear.score_labels

    class Counting:  # the real model, counting how it is called
        def __getattr__(self, name):
            return getattr(small_xlinear, name)

        def score_labels(self, inputs, label_ids):
            calls.append((len(inputs), list(label_ids)))
            return score(inputs, label_ids)

    ex = explain_input(Counting(), text, ids, samples=100, n_features=6, seed=1, truth=bibtex.test.Y[3].indices)
    assert [e.label_id for e in ex] == ids
    assert calls[0] == (100, ids)  # one batched call with all samples, only the explained labels
    words = split_words(text.lower())
    for e in ex:
        assert len(e.weights) == 6
        mags = [abs(w) for _, w in e.weights]
        assert mags == sorted(mags, reverse=True) and mags[0] > 0
        assert [w for w, _ in e.token_weights] == words  # every word, in text order
        assert 0 <= e.extra["local_r2"] <= 1
        assert np.isfinite([e.comprehensiveness, e.sufficiency, e.deletion_auc]).all()
        assert set(e.random_baseline) == {"comprehensiveness", "sufficiency", "deletion_auc"}
        assert e.deletion_curve[0][1] == pytest.approx(e.score, rel=1e-5)
    assert ex[0].weights != ex[1].weights


def test_lime_is_seeded(small_xlinear, bibtex_doc):
    text, ids = bibtex_doc
    a = explain_input(small_xlinear, text, ids[:1], samples=100, seed=3)
    b = explain_input(small_xlinear, text, ids[:1], samples=100, seed=3)
    c = explain_input(small_xlinear, text, ids[:1], samples=100, seed=4)
    assert a[0].weights == b[0].weights
    assert a[0].weights != c[0].weights


def test_lime_beats_random_on_a_model_with_known_word_effects(linear_model):
    text = "zeta alpha eta beta theta gamma iota kappa lambda mu"
    ex = explain_input(linear_model, text, [0, 1], samples=300, n_features=3, seed=0)
    assert [w for w, _ in ex[0].weights] == ["alpha", "beta", "gamma"]
    assert [w for w, _ in ex[1].weights][:2] == ["delta", "gamma"] if "delta" in text else True
    for e in ex:
        assert e.deletion_auc <= e.random_baseline["deletion_auc"] + 1e-9
        assert e.comprehensiveness >= e.random_baseline["comprehensiveness"] - 1e-9
