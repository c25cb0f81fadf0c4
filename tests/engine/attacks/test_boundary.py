"""Boundary attack (paper Tables 8, 11, 14, 17): same goals, result type, seeding and cancel as HSJ."""
import numpy as np
import pytest

from engine.attacks.api import attack_document
from engine.errors import Cancelled


def test_boundary_flips_top1_reproducibly(attack_store, attack_cache, small_xlinear):
    a = attack_document("bibtex", "xlinear", 2, attack="boundary", max_iter=5, seed=3, store=attack_store)
    assert a.attack == "boundary" and a.space == "features" and a.success
    assert a.after.label_ids[0] != a.before.label_ids[0] and a.queries > 0 and a.l2 > 0
    assert all(w in small_xlinear.featurizer.vocabulary for w, _, _ in a.changed)
    for f in attack_cache.rglob("*.json"):
        f.unlink()
    b = attack_document("bibtex", "xlinear", 2, attack="boundary", max_iter=5, seed=3, store=attack_store)
    assert np.allclose(a.adversarial_vector, b.adversarial_vector) and a.queries == b.queries


def test_boundary_cancel_keeps_nothing(attack_store, attack_cache):
    with pytest.raises(Cancelled):
        attack_document("bibtex", "xlinear", 4, attack="boundary", store=attack_store,
                        progress=lambda f, m: f < 0.2)
    assert not list(attack_cache.rglob("*.json"))


def test_boundary_on_dense_mediamill(tmp_path, attack_cache):
    from engine import pipeline
    from engine.models.store import ModelStore

    store = ModelStore(tmp_path)
    pipeline.train_model("mediamill", "xlinear", store=store)
    r = attack_document("mediamill", "xlinear", 0, attack="boundary", max_iter=5, store=store)
    assert r.space == "features" and r.changed[0][0].startswith("Att") and r.adversarial_text is None
