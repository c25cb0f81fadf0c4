"""Robustness by label frequency: the bins, a hand-computed table, and the real attack path."""
import json

import numpy as np
import pytest
import scipy.sparse as sp

from engine.attacks.by_frequency import (BINS, FrequencyRobustness, by_frequency_table, frequency_bins,
                                         robustness_by_frequency)
from engine.errors import InputError


def _Y(rows, L):
    r = [i for i, labels in enumerate(rows) for _ in labels]
    c = [j for labels in rows for j in labels]
    return sp.csr_matrix((np.ones(len(c), dtype=np.float32), (r, c)), shape=(len(rows), L))


def test_bins_partition_the_labels_by_frequency():
    rng = np.random.default_rng(0)
    Y = sp.csr_matrix((rng.random((300, 100)) < rng.random(100) * 0.2).astype(np.float32))
    bins = frequency_bins(Y)
    freq = np.asarray(Y.sum(axis=0)).ravel()
    assert bins.shape == (100,) and set(bins.tolist()) == {0, 1, 2}  # every label in exactly one bin
    sizes = np.bincount(bins)
    assert sizes.max() - sizes.min() <= 1
    for b in (0, 1):  # a bin's least frequent label is at least as frequent as the next bin's most frequent
        assert freq[bins == b].min() >= freq[bins == b + 1].max()
    assert frequency_bins(_Y([[0, 1], [1, 2]], 7)).tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert frequency_bins(_Y([[5, 4, 3, 2, 1, 0]], 6)).tolist() == [0, 0, 1, 1, 2, 2]  # ties: by label id


def test_table_matches_a_hand_computation():
    # training frequencies 5, 4, 4, 2, 1, 0: head {0, 1}, torso {2, 3} (the 4-4 tie goes by id), tail {4, 5}
    Y_train = _Y([[0, 1, 2, 3, 4], [0, 1, 2, 3], [0, 1, 2], [0, 1, 2], [0]], 6)
    Y = _Y([[0, 2, 4], [1, 5]], 6)
    head, torso, tail = by_frequency_table(Y, Y_train, [[0, 2], [1, 3]], [[1, 4], [1, 5]], [True, False], k=2)
    assert [b.name for b in (head, torso, tail)] == list(BINS)
    assert (head.n_labels, head.train_frequency_min, head.train_frequency_max) == (2, 4, 5)
    assert (head.true_pairs, head.clean_hits, head.kept_hits, head.attacked_hits) == (2, 2, 1, 1)
    assert (head.kept_share, head.predicted, head.removed_share) == (0.5, 2, 0.5)
    assert (head.top1_documents, head.success_rate) == (2, 0.5)
    assert (head.clean_p_at_k_part, head.attacked_p_at_k_part) == (0.5, 0.25)
    assert (torso.train_frequency_min, torso.train_frequency_max, torso.true_pairs, torso.clean_hits) == (2, 4, 1, 1)
    assert (torso.kept_share, torso.predicted, torso.removed_share) == (0.0, 2, 1.0)
    assert (torso.top1_documents, torso.success_rate, torso.attacked_p_at_k_part) == (0, None, 0.0)
    assert (tail.true_pairs, tail.clean_hits, tail.kept_share, tail.attacked_hits) == (2, 0, None, 2)
    assert (tail.predicted, tail.removed_share, tail.attacked_p_at_k_part) == (0, None, 0.5)
    # the parts add up to P@2: clean 3 of 4 slots true, attacked 3 of 4
    assert head.clean_p_at_k_part + torso.clean_p_at_k_part + tail.clean_p_at_k_part == 0.75
    assert head.attacked_p_at_k_part + torso.attacked_p_at_k_part + tail.attacked_p_at_k_part == 0.75


def test_real_attacks_add_up_to_evaluate_robustness(attack_store, attack_cache):
    from engine.attacks.robustness import evaluate_robustness

    r = robustness_by_frequency("bibtex", "xlinear", "hsj", n=3, goal="topk", store=attack_store)
    ev = evaluate_robustness("bibtex", "xlinear", "hsj", n=3, store=attack_store, goal="topk")
    assert list(r.docs) == ev["docs"] and r.success_rate == ev["success_rate"]
    assert r.clean_p_at_k == pytest.approx(ev["clean"]["P@5"]) and r.attacked_p_at_k == pytest.approx(ev["attacked"]["P@5"])
    assert sum(b.n_labels for b in r.bins) == 159 and sum(b.top1_documents for b in r.bins) == 3
    assert FrequencyRobustness.from_json(r.to_json()) == r and json.loads(r.to_json())["bins"][0]["name"] == "head"
    # the per-document attacks came from (and went to) attack_document's cache: a second call attacks nothing
    assert len(list((attack_cache / "attacks").rglob("*.json"))) == 3
    import engine.attacks.api as api

    def no_attack(*a, **k):
        raise AssertionError("attacked again")

    orig = api.run_attack
    api.run_attack = no_attack
    try:
        assert robustness_by_frequency("bibtex", "xlinear", "hsj", n=3, goal="topk", store=attack_store) == r
    finally:
        api.run_attack = orig


def test_bad_inputs(attack_store, attack_cache):
    with pytest.raises(InputError, match="n \\(documents"):
        robustness_by_frequency("bibtex", "xlinear", "hsj", n=0, store=attack_store)
    with pytest.raises(InputError, match="'top1' or 'topk'"):
        robustness_by_frequency("bibtex", "xlinear", "hsj", n=2, goal="drop", store=attack_store)
    with pytest.raises(InputError, match="unknown attack parameter"):
        robustness_by_frequency("bibtex", "xlinear", "hsj", n=2, steps=3, store=attack_store)
    with pytest.raises(InputError, match="eps"):
        robustness_by_frequency("bibtex", "xlinear", "hsj", n=2, eps=0, store=attack_store)
