"""attack_document on a real (small) XR-Linear model: validation, HSJ, ZOO, budget, cache, cancel."""
import numpy as np
import pytest

from engine.attacks.api import attack_document, run_attack
from engine.errors import Cancelled, InputError


def _attack(store, **kw):
    kw.setdefault("index", 0)
    return attack_document("bibtex", "xlinear", store=store, **kw)


@pytest.mark.parametrize("kw, match", [
    ({"eps": 0.0}, "eps"), ({"eps": -1.0}, "eps"), ({"max_iter": 0}, "max_iter"), ({"max_eval": -3}, "max_eval"),
    ({"max_words": 0, "attack": "wordnet"}, "max_words"), ({"attack": "fgsm"}, "unknown attack"),
    ({"goal": "flip"}, "unknown attack goal"), ({"norm": "1"}, "norm"), ({"learning_rate": 0.0, "attack": "zoo"},
                                                                         "learning_rate"),
    ({"index": 10 ** 6}, "does not exist"),
])
def test_bad_parameters_raise_input_error(attack_store, attack_cache, kw, match):
    with pytest.raises(InputError, match=match):
        _attack(attack_store, **kw)


def test_target_label_not_in_top_k(attack_store, attack_cache, small_xlinear, bibtex):
    top = small_xlinear.predict([bibtex.test.texts[0]], 3)[0].label_ids
    outside = next(j for j in range(small_xlinear.n_labels) if j not in top)
    with pytest.raises(InputError, match="not in the current top-3"):
        _attack(attack_store, goal="drop", target_label=outside, top_k=3)


def test_wordnet_on_mediamill_is_refused(attack_store, attack_cache):
    with pytest.raises(InputError, match="numeric features"):
        attack_document("mediamill", "xlinear", 0, attack="wordnet", store=attack_store)


def test_nb_parallel_above_feature_count(small_xlinear, bibtex):
    d = small_xlinear.feature_view(bibtex.test.texts[0]).x0.size
    with pytest.raises(InputError, match="nb_parallel"):
        run_attack(small_xlinear, bibtex.test.texts[0], attack="zoo", nb_parallel=d + 1)


def test_hsj_flips_top1_and_maps_back_to_words(attack_store, attack_cache, small_xlinear):
    r = _attack(attack_store, attack="hsj", index=2)
    assert r.space == "features" and r.attack == "hsj" and r.goal == "top1"
    assert r.success and r.queries > 0
    assert r.after.label_ids[0] != r.before.label_ids[0]
    assert r.l2 > 0 and r.linf > 0 and r.adversarial_vector.shape == (len(small_xlinear.featurizer.vocabulary),)
    vocab = small_xlinear.featurizer.vocabulary
    assert r.changed and all(w in vocab for w, _, _ in r.changed)
    diffs = [abs(b - a) for _, a, b in r.changed]
    assert diffs == sorted(diffs, reverse=True)
    assert r.before.labels[0].is_true is not None  # ground truth marked


def test_hsj_is_reproducible_and_cached(attack_store, attack_cache):
    a = _attack(attack_store, attack="hsj", index=3, seed=7)
    files = list(attack_cache.rglob("*.json"))
    assert len(files) == 1
    b = _attack(attack_store, attack="hsj", index=3, seed=7)  # from the cache
    assert b.to_json() == a.to_json()
    files[0].unlink()
    c = _attack(attack_store, attack="hsj", index=3, seed=7)  # recomputed with the same seed
    assert np.allclose(c.adversarial_vector, a.adversarial_vector) and c.queries == a.queries


def test_eps_budget_projects_and_reports(attack_store, attack_cache):
    free = _attack(attack_store, attack="hsj", index=2)
    tiny = free.l2 / 100
    r = _attack(attack_store, attack="hsj", index=2, eps=tiny)
    assert r.params["projected"] is True
    assert r.l2 <= tiny * (1 + 1e-4)
    assert not r.success  # a hundredth of the needed distance does not flip the label
    inf = _attack(attack_store, attack="hsj", index=2, eps=0.001, norm="inf")
    assert inf.linf <= 0.001 + 1e-6


def test_zoo_drop_goal(attack_store, attack_cache, small_xlinear, bibtex):
    top = small_xlinear.predict([bibtex.test.texts[1]], 5)[0].label_ids
    r = _attack(attack_store, attack="zoo", index=1, goal="drop", target_label=top[4], nb_parallel=32)
    assert r.target_label == top[4] and r.params["nb_parallel"] == 32
    assert r.success == (top[4] not in r.after.label_ids)
    assert r.success


def test_cancel_mid_attack_keeps_nothing(attack_store, attack_cache):
    calls = []

    def progress(f, msg):
        calls.append(f)
        return len(calls) < 4  # cancel after a few model calls

    with pytest.raises(Cancelled):
        _attack(attack_store, attack="hsj", index=4, progress=progress)
    assert len(calls) == 4
    assert not list(attack_cache.rglob("*.json"))


def test_art_warm_up_runs_once_in_the_background():
    from engine.attacks import registry

    t1, t2 = registry.warm_up(), registry.warm_up()
    assert t1 is t2 and t1.daemon
    t1.join(timeout=120)
    import sys

    assert "art.attacks.evasion" in sys.modules
