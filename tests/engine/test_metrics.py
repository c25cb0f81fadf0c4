import numpy as np
import pytest
import scipy.sparse as sp

from engine.metrics import propensities, ranking_metrics, top_k_indices


def test_hand_computed_case():
    # row 0: truth {0, 2}; ranking 2, 1, 0 -> hits 1, 0, 1
    # row 1: truth {3};    ranking 3, 0, 1 -> hits 1, 0, 0
    Y = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 1]], dtype=np.float32))
    S = np.array([[0.1, 0.5, 0.9, 0.0], [0.4, 0.3, 0.0, 0.8]])
    m = ranking_metrics(Y, S, ks=(1, 2, 3))
    assert m["P@1"] == pytest.approx(1.0)
    assert m["P@2"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert m["P@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert m["R@1"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["R@3"] == pytest.approx(1.0)
    dcg0 = 1 + 1 / np.log2(4)
    idcg0 = 1 + 1 / np.log2(3)
    assert m["nDCG@3"] == pytest.approx((dcg0 / idcg0 + 1.0) / 2)
    assert m["P@1"] != m["P@2"]  # P@k is not constant in k (the paper shows P@3 = P@4 = P@5)


def test_psp_hand_case():
    Ytr = sp.csr_matrix(np.array([[1, 0], [1, 0], [1, 1], [1, 0]], dtype=np.float32))
    p = propensities(Ytr)
    C = (np.log(4) - 1) * 2.5 ** 0.55
    assert p[0] == pytest.approx(1 / (1 + C * (4 + 1.5) ** -0.55))
    assert p[1] == pytest.approx(1 / (1 + C * (1 + 1.5) ** -0.55)) and p[1] < p[0]
    Y = sp.csr_matrix(np.array([[1, 1]], dtype=np.float32))
    m = ranking_metrics(Y, np.array([[0.9, 0.1]]), ks=(1,), Y_train=Ytr)
    assert m["PSP@1"] == pytest.approx((1 / p[0]) / (1 / p[1]))  # best achievable: the rare label first
    assert ranking_metrics(Y, np.array([[0.1, 0.9]]), ks=(1,), Y_train=Ytr)["PSP@1"] == pytest.approx(1.0)


def test_rows_without_labels_and_short_predictions():
    Y = sp.csr_matrix(np.array([[0, 0, 0], [1, 0, 0]], dtype=np.float32))
    S = sp.csr_matrix(np.array([[0.5, 0, 0], [0.7, 0, 0]], dtype=np.float32))
    m = ranking_metrics(Y, S, ks=(1, 2))
    assert m["P@1"] == pytest.approx(0.5) and m["P@2"] == pytest.approx(0.25) and m["R@2"] == pytest.approx(0.5)
    assert top_k_indices(S, 2).tolist() == [[0, -1], [0, -1]]


def test_matches_pecos_metrics_helper():
    from pecos.utils.smat_util import Metrics

    rng = np.random.default_rng(0)
    Y = sp.csr_matrix((rng.random((300, 40)) < 0.08).astype(np.float32))
    S = rng.random((300, 40)).astype(np.float32)
    S[S < 0.7] = 0
    P = sp.csr_matrix(S)
    ref = Metrics.generate(Y, P, topk=5)
    m = ranking_metrics(Y, P)
    for k in range(1, 6):
        assert m[f"P@{k}"] == pytest.approx(ref.prec[k - 1], abs=1e-9)
        assert m[f"R@{k}"] == pytest.approx(ref.recall[k - 1], abs=1e-9)
    dense = ranking_metrics(Y, S)
    assert dense["P@3"] == pytest.approx(m["P@3"]) and dense["nDCG@5"] == pytest.approx(m["nDCG@5"])
