"""Gaussian certificate on fake linear models, where the smoothed model is known in closed form."""
import json

import numpy as np
import pytest
from scipy.stats import norm

from engine.certify import CERTIFICATES
from engine.certify.api import certify_input
from engine.certify.common import sample_counts
from engine.certify.gaussian import noisy_top_k
from engine.certify.result import CertifyResult
from engine.errors import InputError

from .fakes import LinearFeatureXMC


def _two_labels(margin_radius: float):
    """Labels A, B with w_A - w_B = (2, 1, 0) and x0 at l2 distance margin_radius from the boundary."""
    W = np.array([[1.5, 0.5, 0.3], [-0.5, -0.5, 0.3]])
    diff = W[0] - W[1]
    x0 = diff / np.linalg.norm(diff) * margin_radius  # score margin = radius * ||w_A - w_B||
    return LinearFeatureXMC(W), x0


def test_top1_radius_matches_the_analytic_one():
    # P(A beats B under noise) = Phi(margin / (sigma ||w_A - w_B||)) = Phi(R / sigma): radius R exactly
    R_true, sigma = 0.5, 0.5
    model, x0 = _two_labels(R_true)
    res = certify_input(model, x0, "gaussian", sigma=sigma, top_k=1, n0=100, n=20000, seed=1)
    (lab,) = res.labels
    assert lab.label_id == 0
    assert lab.count / 20000 == pytest.approx(norm.cdf(R_true / sigma), abs=0.01)
    # below the analytic radius (a guarantee), and close to it (the Monte-Carlo slack with n=20000)
    assert R_true - 0.06 < lab.radius <= R_true
    assert lab.radius == pytest.approx(sigma * norm.ppf(lab.p_lower), abs=1e-6)  # Cohen's R for 2 labels


def test_more_samples_tighten_the_radius():
    model, x0 = _two_labels(0.5)
    small = certify_input(model, x0, "gaussian", sigma=0.5, top_k=1, n=500).labels[0].radius
    large = certify_input(model, x0, "gaussian", sigma=0.5, top_k=1, n=20000).labels[0].radius
    assert small < large <= 0.5


def _smoothed_top_k(model, x, sigma, k, n=20000, seed=123):
    c = sample_counts(noisy_top_k(model, x, sigma, k), n, model.n_labels, np.random.default_rng(seed), None, 0, 1, "")
    return set(np.argsort(-c, kind="stable")[:k].tolist())


def test_no_attack_within_the_radius_removes_a_certified_label():
    rng = np.random.default_rng(5)
    W = rng.normal(size=(6, 8))
    model = LinearFeatureXMC(W)
    x0 = W[0] * 0.6 + W[1] * 0.5 + rng.normal(scale=0.1, size=8)
    sigma, k = 0.3, 2
    res = certify_input(model, x0, "gaussian", sigma=sigma, top_k=k, n=5000, seed=0)
    certified = [lab for lab in res.labels if lab.radius]
    assert certified, "the test needs at least one certified label"
    removed_far = False
    for lab in certified:
        ell = lab.label_id
        for j in range(model.n_labels):  # the worst directions: push label ell's score below a rival's
            if j == ell:
                continue
            d = W[j] - W[ell]
            d /= np.linalg.norm(d)
            assert ell in _smoothed_top_k(model, x0 + 0.99 * lab.radius * d, sigma, k), (ell, j)
            removed_far |= ell not in _smoothed_top_k(model, x0 + 4 * lab.radius * d, sigma, k, n=2000)
    assert removed_far  # the same attack, well beyond the radius, does remove labels: it is a real attack


def test_seeded_and_reproducible():
    model, x0 = _two_labels(0.3)
    a = certify_input(model, x0, "gaussian", top_k=1, n=300, seed=4)
    b = certify_input(model, x0, "gaussian", top_k=1, n=300, seed=4)
    c = certify_input(model, x0, "gaussian", top_k=1, n=300, seed=5)
    assert a.labels == b.labels and a.labels != c.labels


def test_truth_count_and_json_round_trip():
    model, x0 = _two_labels(0.5)
    res = certify_input(model, x0, "gaussian", sigma=0.5, top_k=1, n=5000, truth=[0], radius=0.2)
    assert res.n_true == 1 and res.true_certified == 1 and res.certified_true_in_top_k == 1
    far = certify_input(model, x0, "gaussian", sigma=0.5, top_k=1, n=5000, truth=[0], radius=0.6)
    assert far.true_certified == 0 and far.certified_true_in_top_k == 0
    assert res.labels[0].is_true is True
    assert CertifyResult.from_json(res.to_json()) == res
    # a model with no more labels than top-k keeps every label at any radius: inf survives JSON
    always = certify_input(model, x0, "gaussian", top_k=2, n=50)
    assert all(lab.radius == float("inf") for lab in always.labels)
    assert CertifyResult.from_json(always.to_json()) == always
    json.loads(always.to_json())


@pytest.mark.parametrize("kw, match", [
    ({"sigma": 0.0}, "sigma"), ({"sigma": -1.0}, "sigma"), ({"sigma": float("nan")}, "sigma"),
    ({"n": 5}, "n \\(estimation"), ({"n": 10 ** 7}, "n \\(estimation"), ({"n0": 3}, "n0"), ({"n": 2.5}, "whole"),
    ({"alpha": 0.0}, "alpha"), ({"alpha": 1.0}, "alpha"), ({"alpha": 1.5}, "alpha"), ({"radius": -0.1}, "radius"),
    ({"top_k": 0}, "top.k"), ({"top_k": 3}, "top-k must be between 1 and 2"), ({"seed": -1}, "seed"), ({"noise": 1}, "no parameter"),
])
def test_bad_parameters_are_refused(kw, match):
    model, x0 = _two_labels(0.5)
    with pytest.raises(InputError, match=match):
        certify_input(model, x0, "gaussian", **kw)


def test_unknown_method_and_text_certificate_on_dense_model():
    model, x0 = _two_labels(0.5)
    with pytest.raises(InputError, match="unknown certificate"):
        certify_input(model, x0, "interval")
    assert CERTIFICATES["gaussian"].is_compatible(model) and not CERTIFICATES["wordnet"].is_compatible(model)
    with pytest.raises(InputError, match="numeric features"):
        certify_input(model, x0, "wordnet")
