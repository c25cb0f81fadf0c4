"""The certificates compute Clopper-Pearson bounds for the counted labels only (engine/certify/common.py
SupportBounds): the same bounds and the same certified radii and intersection sizes as the bounds of
every label, without an (L,) array of beta quantiles (seconds per document at 670K labels)."""
import numpy as np
import pytest

from engine.certify.bounds import (clopper_pearson_bounds, gaussian_intersection_size, gaussian_label_radius,
                                   substitution_label_words)
from engine.certify.common import SupportBounds


@pytest.mark.parametrize("L,k,seen", [(500, 5, 40), (8, 5, 3), (6, 5, 6), (3000, 10, 25)])
def test_support_bounds_equal_the_full_bounds(L, k, seen):
    rng = np.random.default_rng(L + k)
    n = 1000
    counts = np.zeros(L, dtype=np.int64)
    ids = rng.choice(L, size=seen, replace=False)
    counts[ids] = rng.integers(1, n + 1, size=seen)
    counts[ids[0]] = n  # one label in every sample: upper bound 1
    lower, upper = clopper_pearson_bounds(counts, n, 0.001)
    b = SupportBounds(counts, n, 0.001, k)
    unseen = [int(j) for j in np.flatnonzero(counts == 0)[:2]]
    for j in [*ids, *unseen]:
        assert b.of(int(j)) == (float(lower[j]), float(upper[j]))
    for excluded in ({int(ids[0])}, {int(ids[1]), int(ids[2 % seen])}, set(unseen), {int(ids[0]), *unseen}):
        full = np.delete(upper, sorted(excluded))
        got = b.top_upper_except(excluded)
        np.testing.assert_array_equal(got, np.sort(full)[::-1][:k])
        lo = float(lower[ids[0]])
        assert gaussian_label_radius(lo, got, k, k, 0.5) == gaussian_label_radius(lo, full, k, k, 0.5)
        assert substitution_label_words(lo, got, k, [0.9, 0.8]) == substitution_label_words(lo, full, k, [0.9, 0.8])
        true_lower = lower[sorted(excluded)]
        assert (gaussian_intersection_size(true_lower, got, k, k, 0.1, 0.5)
                == gaussian_intersection_size(true_lower, full, k, k, 0.1, 0.5))
