"""The certificate math, in one place: confidence bounds, the Gaussian (l2) and the total-variation
(word substitution) certificates for the smoothed top-k classifier.

The smoothed classifier (MultiGuard's, Jia, Qu & Gong, NeurIPS 2022): the base model's top-k'
labels are a random set under the smoothing noise; p_l = P(l in top-k'(f(noisy x))) is label l's
*label probability*, and the smoothed model g(x) returns the k labels with the largest p_l. Here
k' = k. Because the base model names exactly k' labels per sample, sum_l p_l = k'.

Monte-Carlo: p_l is estimated from n samples by counts c_l. ``clopper_pearson_bounds`` gives a
lower and an upper one-sided Clopper-Pearson bound for *every* label at level alpha / (2L)
(Bonferroni over the 2L one-sided bounds of L labels), so all of them -- and hence every
certificate computed from them for this input -- hold together with probability >= 1 - alpha.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.special import ndtr as Phi, ndtri as Phi_inv  # scipy.stats.norm.cdf / .ppf, without its overhead
from scipy.stats import beta


def clopper_pearson_bounds(counts: np.ndarray, n: int, alpha: float,
                           n_labels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Simultaneous one-sided Clopper-Pearson bounds on every label probability.

    counts: (m,) samples (out of n) whose base top-k' held each label: all L labels, or (with
    ``n_labels`` = L) only some of them -- each bound depends on its own count and on L alone, so
    the labels never counted need not be passed (at 670K labels they are nearly all).
    Returns (lower (m,), upper (m,)): each bound at level alpha / (2L), so that with probability
    >= 1 - alpha, lower_l <= p_l <= upper_l for all L labels at once (Bonferroni).
    lower = Beta(a; c, n - c + 1) quantile (0 when c = 0), upper = Beta(1 - a; c + 1, n - c) (1 when c = n).
    """
    c = np.asarray(counts, dtype=np.float64)
    a = alpha / (2 * (c.size if n_labels is None else n_labels))
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(c > 0, beta.ppf(a, np.maximum(c, 1), n - c + 1), 0.0)
        upper = np.where(c < n, beta.ppf(1 - a, c + 1, np.maximum(n - c, 1)), 1.0)
    return lower, upper


def _desc(values: Sequence[float]) -> np.ndarray:
    return np.sort(np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0))[::-1]


def gaussian_intersection_size(lower_true: Sequence[float], upper_other: Sequence[float], k: int, k_prime: int,
                               radius: float, sigma: float) -> int:
    """MultiGuard's certified intersection size (Jia, Qu & Gong 2022, Theorem 1).

    The smallest number of the labels in T (e.g. the true labels) that the Gaussian-smoothed top-k
    classifier g keeps for every perturbation ||delta||_2 <= radius.

    lower_true: (d,) lower bounds of p_l for the labels in T; upper_other: (m,) upper bounds for all
    other labels. Sort them: a_1 >= ... >= a_d (lower_true), b_1 >= b_2 >= ... (upper_other; labels
    that do not exist count 0). With r = radius / sigma, the answer is the largest e in
    [1, min(d, k)] for which, with s = k - e + 1,

        max( Phi(Phi^-1(a_e) - r),  max_{u=1..d-e+1} k'/u * Phi(Phi^-1(A_u / k') - r) )
      > min( Phi(Phi^-1(b_s) + r),  min_{v=1..s}     k'/v * Phi(Phi^-1(B_v / k') + r) ),

    A_u = a_e + ... + a_{e+u-1},  B_v = b_{s-v+1} + ... + b_s;  0 when no e qualifies.
    The first terms alone are the per-label Neyman-Pearson bound of Cohen et al. (ICML 2019,
    Theorem 1); the sums use sum_l p_l = k'.
    """
    a = _desc(lower_true)
    d = a.size
    r = float(radius) / float(sigma)
    b = np.zeros(max(k, len(upper_other)))
    b[:len(upper_other)] = _desc(upper_other)
    ca, cb = np.concatenate([[0.0], np.cumsum(a)]), np.concatenate([[0.0], np.cumsum(b)])
    with np.errstate(divide="ignore"):
        for e in range(min(d, k), 0, -1):
            s = k - e + 1
            if b[s - 1] <= 0.0 < a[e - 1]:  # < s labels can compete (RHS is 0; LHS > 0 even if it underflows)
                return e
            u = np.arange(1, d - e + 2)
            A = ca[e - 1 + u] - ca[e - 1]
            lhs = max(Phi(Phi_inv(a[e - 1]) - r),
                      float(np.max(k_prime / u * Phi(Phi_inv(np.minimum(A / k_prime, 1.0)) - r))))
            v = np.arange(1, s + 1)
            B = cb[s] - cb[s - v]
            rhs = min(Phi(Phi_inv(b[s - 1]) + r),
                      float(np.min(k_prime / v * Phi(Phi_inv(np.minimum(B / k_prime, 1.0)) + r))))
            if lhs > rhs:
                return e
    return 0


def gaussian_label_radius(lower: float, upper_other: Sequence[float], k: int, k_prime: int,
                          sigma: float) -> float | None:
    """Certified l2 radius of one label: the supremum R such that the label stays in g's top-k for
    every ||delta||_2 < R (MultiGuard's Theorem 1 with T = {label}, found by bisection: its
    condition only gets harder as R grows). None when the label is not certified even at R = 0;
    inf when fewer than k other labels can ever compete (every label is always in the top-k).

    For 2 labels and k = k' = 1 this is Cohen et al.'s R = sigma/2 (Phi^-1(pA_lower) - Phi^-1(pB_upper)),
    = sigma * Phi^-1(pA_lower) when pB_upper = 1 - pA_lower.
    """
    rivals = _desc(upper_other)[:k]  # with one label in T only b_1..b_k enter the condition

    def holds(R: float) -> bool:
        return gaussian_intersection_size([lower], rivals, k, k_prime, R, sigma) >= 1

    if not holds(0.0):
        return None
    hi = sigma
    for _ in range(60):
        if not holds(hi):
            break
        hi *= 2
    else:
        return math.inf
    lo = 0.0
    for _ in range(50):  # |hi - lo| shrinks to sigma * 2^-50 or less
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if holds(mid) else (lo, mid)
    return lo


# -- word substitution: bounds on the total variation between smoothing distributions ----------
def uniform_overlap(set_a: set, set_b: set) -> float:
    """1 - TV(Uniform(A), Uniform(B)) = |A & B| / max(|A|, |B|)."""
    return len(set_a & set_b) / max(len(set_a), len(set_b))


def substitution_shift(overlaps: Sequence[float], words: int) -> float:
    """Delta(r): an upper bound on |P_x(E) - P_x'(E)| for every event E, over every x' that replaces
    at most r = ``words`` words of x by allowed substitutes (SAFER, Ye, Gong & Liu, ACL 2020).

    overlaps: (m,) per replaceable position j, rho_j = min over allowed substitutes w of
    |T(x_j) & T(w)| / max(|T(x_j)|, |T(w)|), T(.) the word's perturbation set. The smoothing
    distributions are products over positions, so (coupling each position maximally)
    TV <= 1 - prod_{j changed} rho_j, and the worst r positions are those with the smallest rho:
        Delta(r) = 1 - product of the r smallest rho_j   (Delta(0) = 0; r > m changes nothing more).
    """
    rho = np.sort(np.asarray(overlaps, dtype=np.float64))[:max(int(words), 0)]
    return float(1.0 - np.prod(rho)) if rho.size else 0.0


def tv_intersection_size(lower_true: Sequence[float], upper_other: Sequence[float], k: int, shift: float) -> int:
    """Certified intersection size under a total-variation shift: every label probability moves by
    at most ``shift`` between x and x'. The largest e <= min(d, k) with a_e - shift > b_{k-e+1} + shift
    (a, b sorted as in ``gaussian_intersection_size``): if fewer than e labels of T stayed in the
    top-k, k - e + 1 other labels would have to reach p >= a_e - shift. 0 when none.

    (The first-term analogue of MultiGuard's condition; the sum terms are not used here.)
    """
    a = _desc(lower_true)
    b = np.zeros(max(k, len(upper_other)))
    b[:len(upper_other)] = _desc(upper_other)
    for e in range(min(a.size, k), 0, -1):
        if a[e - 1] - shift > b[k - e] + shift:
            return e
    return 0


def substitution_label_words(lower: float, upper_other: Sequence[float], k: int,
                             overlaps: Sequence[float]) -> int | None:
    """How many words an attacker may replace while the label provably stays in g's top-k: the
    largest r in [0, m] with lower - Delta(r) > b_k + Delta(r), b_k the k-th largest upper bound of
    the other labels. m (every replaceable word) means no substitution at all can remove it.
    None when the label is not certified even with no word replaced."""
    m = len(overlaps)
    rivals = _desc(upper_other)[:k]
    best = None
    for r in range(m + 1):  # Delta(r) grows with r: stop at the first failure
        if tv_intersection_size([lower], rivals, k, substitution_shift(overlaps, r)) < 1:
            break
        best = r
    return best
