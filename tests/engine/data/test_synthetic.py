"""The synthetic XC-shaped dataset generator (engine/data/synthetic.py): tiny presets, seconds."""
import numpy as np
import pytest

from engine.data import load_dataset
from engine.data.synthetic import PRESETS, estimate_bytes, generate_arrays, generate_dataset, preset, syllable_word
from engine.errors import DataError, InputError

TINY = dict(n_labels=300, n_features=2000, n_train=1500, n_test=300)


def test_same_seed_same_data_other_seed_other_data():
    p = preset("eurlex-4k", **TINY)
    a, b, c = generate_arrays(p, seed=3), generate_arrays(p, seed=3), generate_arrays(p, seed=4)
    for x, y in zip(a[:4], b[:4]):
        assert (x != y).nnz == 0 and x.shape == y.shape
    assert a[4] == b[4] and a[5] == b[5]
    assert (a[1] != c[1]).nnz > 0 and (a[0] != c[0]).nnz > 0


def test_shape_power_law_and_every_document_labelled():
    Xtr, Ytr, Xte, Yte, words, labels = generate_arrays(preset("eurlex-4k", n_train=4000, n_test=500), seed=0)
    assert Ytr.shape == (4000, 3993) and Xtr.shape == (4000, 5000) and len(words) == 5000 and len(labels) == 3993
    for Y in (Ytr, Yte):
        assert np.diff(Y.indptr).min() >= 1  # every document has a label
        assert set(np.unique(Y.data)) == {1.0}
    freq = np.bincount(Ytr.indices, minlength=3993)
    assert freq.min() >= 1  # enough label slots (4000 * 5.3 > 3993): every label is in train
    assert freq.max() >= 10 * np.median(freq)  # a head and a long tail
    top = np.sort(freq)[::-1]
    # Zipf-like: frequency falls with rank roughly as a power (log-log slope clearly negative)
    r = np.arange(10, 2000)
    slope = np.polyfit(np.log(r), np.log(top[r - 1]), 1)[0]
    assert -2.0 < slope < -0.4
    assert 3.5 < Ytr.nnz / Ytr.shape[0] < 6.5
    assert len(set(words)) == len(words) and all(w.isalpha() and w.islower() for w in words)


def test_words_are_pronounceable_and_distinct():
    names = [syllable_word(i) for i in range(6000)]
    assert len(set(names)) == 6000 and len(names[0]) == 4 and len(names[-1]) == 6  # 75**2 = 5625 short ones


def test_too_few_slots_leave_labels_unseen_and_say_so():
    s = generate_dataset("eurlex-4k", name="synth-sparse", n_labels=5000, n_features=800, n_train=200, n_test=40,
                         labels_per_doc=2.0)
    ds = load_dataset("synth-sparse")
    seen = np.unique(ds.train.Y.indices).size
    assert s.labels_unseen_in_train == 5000 - seen > 0
    assert any("never appear" in w for w in ds.warnings)


def test_stored_and_loadable_by_name_as_text():
    s = generate_dataset("wiki10-31k", name="synth-tiny", seed=1, **TINY)
    ds = load_dataset("synth-tiny")
    assert ds.kind == "text" and ds.has_text and ds.n_labels == 300 and ds.train.n == 1500 and ds.test.n == 300
    assert ds.train.texts[0] and all(w in set(ds.feature_names) for w in ds.train.texts[0].split())
    assert s.nnz_train == ds.train.X.nnz and "seed 1" in ds.description


def test_labels_are_learnable_far_above_the_frequency_baseline():
    from engine.models.runtime import evaluate_model
    from engine.models.xlinear import XLinearXMC

    generate_dataset("eurlex-4k", name="synth-learn", **TINY)
    ds = load_dataset("synth-learn")
    model = XLinearXMC.train(ds.train.texts, ds.train.Y, ds.label_names)
    p1 = evaluate_model(model, ds)["P@1"]
    # the frequency baseline: always predict the most frequent training label
    top_label = int(np.argmax(np.bincount(ds.train.Y.indices, minlength=ds.n_labels)))
    baseline = float(np.mean(np.asarray(ds.test.Y[:, top_label].toarray()).ravel() > 0))
    assert p1 > 0.6 and p1 > 4 * baseline, (p1, baseline)


def test_refuses_what_does_not_fit_before_allocating():
    p = preset("amazon-670k", n_train=490_449)
    need = estimate_bytes(p)
    with pytest.raises(DataError, match=r"needs about .* GB of memory; 0\.5 GB is available.*--train"):
        generate_dataset("amazon-670k", n_train=490_449, budget_bytes=500_000_000)
    assert need > 500_000_000
    # the estimate grows with the documents asked for
    assert estimate_bytes(preset("amazon-670k", n_train=1000)) < need


@pytest.mark.parametrize("kwargs,match", [
    (dict(preset_name="nope"), "unknown preset"),
    (dict(preset_name="eurlex-4k", n_train=0), "n_train"),
    (dict(preset_name="eurlex-4k", name="Bad Name"), "not allowed"),
    (dict(preset_name="eurlex-4k", name="bibtex"), "built-in"),
    (dict(preset_name="eurlex-4k", vocabulary="klingon", **TINY), "vocabulary"),
])
def test_bad_requests_are_refused_clearly(kwargs, match):
    with pytest.raises((InputError, DataError), match=match):
        generate_dataset(**kwargs)


def test_presets_have_the_real_label_counts():
    assert {k: p.n_labels for k, p in PRESETS.items()} == {"eurlex-4k": 3993, "wiki10-31k": 30938,
                                                           "amazon-670k": 670091}
