"""The certificate math against closed forms (engine/certify/bounds.py)."""
import math

import numpy as np
import pytest
from scipy.stats import norm

from engine.certify.bounds import (clopper_pearson_bounds, gaussian_intersection_size, gaussian_label_radius,
                                   substitution_label_words, substitution_shift, tv_intersection_size,
                                   uniform_overlap)


def test_clopper_pearson_closed_forms_and_bonferroni():
    n, alpha = 10, 0.01
    lower, upper = clopper_pearson_bounds(np.array([10, 0]), n, alpha)
    a = alpha / 4  # two labels, two one-sided bounds each
    assert lower[0] == pytest.approx(a ** (1 / n)) and upper[0] == 1.0  # all successes
    assert lower[1] == 0.0 and upper[1] == pytest.approx(1 - a ** (1 / n))  # no success
    lo, up = clopper_pearson_bounds(np.array([300, 700]), 1000, 0.001)
    assert lo[0] < 0.3 < up[0] and lo[1] < 0.7 < up[1]
    # more labels -> a smaller level per bound -> wider bounds
    lo_many, _ = clopper_pearson_bounds(np.r_[300, 700, np.zeros(98)], 1000, 0.001)
    assert lo_many[0] < lo[0]


def test_clopper_pearson_covers_at_least_one_minus_alpha():
    rng = np.random.default_rng(0)
    p, n, alpha = np.array([0.2, 0.5, 0.9]), 200, 0.1
    misses = 0
    for _ in range(2000):
        lo, up = clopper_pearson_bounds(rng.binomial(n, p), n, alpha)
        misses += bool(np.any((lo > p) | (up < p)))
    assert misses / 2000 <= alpha


def test_two_labels_top1_is_cohens_radius():
    sigma, pa, pb = 0.5, 0.9, 0.1
    R = gaussian_label_radius(pa, [pb], k=1, k_prime=1, sigma=sigma)
    assert R == pytest.approx(sigma * norm.ppf(pa), abs=1e-9)  # pb = 1 - pa
    R2 = gaussian_label_radius(0.8, [0.15], k=1, k_prime=1, sigma=sigma)
    assert R2 == pytest.approx(sigma / 2 * (norm.ppf(0.8) - norm.ppf(0.15)), abs=1e-9)
    assert gaussian_label_radius(0.4, [0.6], 1, 1, sigma) is None  # not the top label: abstain


def test_label_radius_is_the_edge_of_multiguards_condition():
    up = [0.3, 0.2, 0.2, 0.05]
    R = gaussian_label_radius(0.7, up, k=2, k_prime=2, sigma=0.25)
    assert R > 0
    assert gaussian_intersection_size([0.7], up, 2, 2, R * 0.999, 0.25) == 1
    assert gaussian_intersection_size([0.7], up, 2, 2, R * 1.001, 0.25) == 0


def test_intersection_size_shrinks_with_radius_and_counts_labels():
    lower_true, upper_other = [0.95, 0.9, 0.6], [0.3, 0.1, 0.05, 0.05]
    sizes = [gaussian_intersection_size(lower_true, upper_other, 3, 3, r, 0.5) for r in np.linspace(0, 2, 21)]
    assert sizes[0] == 3 and sizes[-1] == 0
    assert all(a >= b for a, b in zip(sizes, sizes[1:]))
    # with fewer other labels than top-k slots, e true labels are always kept
    assert gaussian_intersection_size([0.01], [0.01], 2, 2, 100.0, 0.5) == 1
    assert gaussian_label_radius(0.01, [0.01], 2, 2, 0.5) == math.inf


def test_substitution_shift_and_overlap():
    assert uniform_overlap({"a", "b", "c"}, {"a", "b"}) == pytest.approx(2 / 3)
    assert uniform_overlap({"a", "b"}, {"a", "b"}) == 1.0
    rho = [0.5, 1.0, 0.25]
    assert substitution_shift(rho, 0) == 0.0
    assert substitution_shift(rho, 1) == pytest.approx(0.75)  # the worst position first
    assert substitution_shift(rho, 2) == pytest.approx(1 - 0.25 * 0.5)
    assert substitution_shift(rho, 9) == pytest.approx(1 - 0.125)


def test_tv_certificates():
    # p_lower 0.9 vs the best other 0.05: certified while 0.9 - D > 0.05 + D, i.e. D < 0.425
    rho = [0.8, 0.7, 0.9]  # D(1) = 0.3, D(2) = 0.44
    assert substitution_label_words(0.9, [0.05, 0.01], 1, rho) == 1
    assert substitution_label_words(0.9, [0.05, 0.01], 1, [1.0, 1.0]) == 2  # free substitutions
    assert substitution_label_words(0.4, [0.5], 1, rho) is None
    assert tv_intersection_size([0.9, 0.8], [0.1, 0.05], 2, 0.0) == 2
    # e = 2 needs a_2 - D > b_1 + D (0.44 < 0.46: no); e = 1 needs a_1 - D > b_2 + D (0.54 > 0.41)
    assert tv_intersection_size([0.9, 0.8], [0.1, 0.05], 2, 0.36) == 1
    assert tv_intersection_size([0.9, 0.8], [0.1, 0.05], 2, 0.3) == 2
