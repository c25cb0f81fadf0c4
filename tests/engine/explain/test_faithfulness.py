import numpy as np

from engine.explain.faithfulness import deletion_counts, faithfulness, order_of, random_order, top_count
from engine.explain.units import TextUnits


def test_counts_and_fractions():
    assert deletion_counts(5) == [0, 1, 2, 3, 4, 5]
    c = deletion_counts(250)
    assert c[0] == 0 and c[-1] == 250 and len(c) <= 101
    assert [top_count(q, 68) for q in (0.01, 0.05, 0.1, 0.2, 0.5)] == [1, 4, 7, 14, 34]
    assert top_count(0.01, 1) == 1


def test_true_order_beats_reversed_and_random(linear_model):
    # label0 = alpha(1.0) + beta(0.5) + gamma(0.1); the best order is alpha, beta, gamma, then zeros.
    u = TextUnits.of("zeta alpha eta beta theta gamma iota kappa")
    w = np.array([linear_model.weights[0].get(x, 0.0) for x in u.names])
    orders = {"true": order_of(w)[None, :], "reverse": order_of(-w)[None, :],
              "random": random_order(u.n, 0, 0)[None, :]}
    F = faithfulness(linear_model, u, [0], orders, with_curves=("true",))
    t, r = F["true"][0], F["reverse"][0]
    assert t["clean"] == np.float32(1.6)
    assert t["deletion_auc"] < F["random"][0]["deletion_auc"] <= r["deletion_auc"]
    assert t["comprehensiveness"] > r["comprehensiveness"]
    assert t["sufficiency"] < r["sufficiency"]
    curve = t["deletion_curve"]
    assert [c[0] for c in curve] == list(range(u.n + 1))
    assert np.allclose([c[1] for c in curve[:4]], [1.6, 0.6, 0.1, 0.0])
    assert curve[0][2] == 1  # label0 (1.6) outranks label1 (gamma 1.0 - alpha 0.5 = 0.5)
    assert "deletion_curve" not in r


def test_ranks_follow_the_competing_label(linear_model):
    # label1 = delta(2.0) + gamma(1.0) - alpha(0.5): removing delta drops label1 below label0.
    u = TextUnits.of("alpha delta gamma")
    w1 = np.array([linear_model.weights[1].get(x, 0.0) for x in u.names])
    F = faithfulness(linear_model, u, [1], {"m": order_of(w1)[None, :]}, with_curves=("m",))
    curve = F["m"][0]["deletion_curve"]
    assert curve[0][2] == 1 and curve[1][2] == 2  # 2.5 > 1.1, then 0.5 < 1.1
