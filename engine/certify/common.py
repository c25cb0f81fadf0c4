"""What the certificates share: parameter specs (defaults and bounds written once), the two-stage
Monte-Carlo sampling of Cohen et al.'s CERTIFY (n0 samples select the top-k labels, n fresh
samples estimate them) with progress and Cancel, and the assembly of a CertifyResult."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from engine.certify.bounds import clopper_pearson_bounds
from engine.certify.result import CertifiedLabel, CertifyResult
from engine.errors import InputError
from engine.types import ProgressFn, report

BATCH = 500  # noisy samples per model call; >= 256 lets XR-Linear use every core (engine.models.xlinear.threads_for)


@dataclass(frozen=True)
class Param:
    """One parameter of a certificate: its default and the closed/open interval it must lie in."""

    name: str
    default: Any
    kind: type  # int or float
    lo: float
    hi: float
    help: str
    lo_open: bool = False

    def check(self, value):
        whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        number = whole or (self.kind is float and isinstance(value, (float, np.floating)))
        left = "(" if self.lo_open else "["
        interval = f"{left}{self.lo:g}, {self.hi:g}]"
        what = "a whole number" if self.kind is int else "a number"
        if not number or not np.isfinite(value) or (value <= self.lo if self.lo_open else value < self.lo) \
                or value > self.hi:
            raise InputError(f"{self.name} ({self.help}) must be {what} in {interval}, got {value!r}.")
        return self.kind(value)


# shared by every certificate (each spec lists them beside its own)
TOP_K = Param("top_k", 5, int, 1, 10_000, "labels the smoothed model returns")
N0 = Param("n0", 100, int, 10, 1_000_000, "selection samples, which pick the top-k labels")
N = Param("n", 1000, int, 10, 1_000_000, "estimation samples, which bound the label probabilities")
ALPHA = Param("alpha", 0.001, float, 0.0, 0.5, "the certificates fail with probability at most alpha",
              lo_open=True)
SEED = Param("seed", 0, int, 0, 2 ** 32 - 1, "random seed of the noise")


def sample_counts(draw: Callable[[np.random.Generator, int], np.ndarray], n: int, n_labels: int,
                  rng: np.random.Generator, progress: ProgressFn | None, lo: float, hi: float, what: str) -> np.ndarray:
    """Counts (n_labels,) of how often each label is in the base model's top-k over n samples.

    draw(rng, b) -> ndarray (b, k) label ids of b noisy samples (-1 pads a short row). Reports
    progress in [lo, hi] after every batch; a False from progress raises Cancelled."""
    counts = np.zeros(n_labels, dtype=np.int64)
    done = 0
    while done < n:
        b = min(BATCH, n - done)
        ids = np.asarray(draw(rng, b)).ravel()
        counts += np.bincount(ids[ids >= 0], minlength=n_labels)[:n_labels]
        done += b
        report(progress, lo + (hi - lo) * done / n, f"{what}: {done}/{n} samples")
    return counts


class SupportBounds:
    """The Clopper-Pearson bounds of every label (engine.certify.bounds.clopper_pearson_bounds at level
    alpha / (2L)) held for the labels that were counted only: every never-counted label has the same
    bounds (0, upper(0)). The certificates read the bounds of a few labels and the k largest upper
    bounds of the others (their conditions use b_1..b_k alone), so nothing (L,)-sized is computed
    beyond the counts: at 670K labels the full bounds took seconds per document.

    counts: (L,) estimation counts out of n; k: how many rival upper bounds the certificates read."""

    def __init__(self, counts: np.ndarray, n: int, alpha: float, k: int):
        self.L, self.k = int(counts.size), int(k)
        self.seen = np.flatnonzero(counts)  # (m,) label ids with a count > 0, ascending
        self.lower, self.upper = clopper_pearson_bounds(counts[self.seen], n, alpha, n_labels=self.L)
        _, up0 = clopper_pearson_bounds(np.zeros(1), n, alpha, n_labels=self.L)
        self.upper0 = float(up0[0])

    def of(self, label: int) -> tuple[float, float]:
        """(lower, upper) of one label."""
        if self._is_seen(label):
            i = int(np.searchsorted(self.seen, label))
            return float(self.lower[i]), float(self.upper[i])
        return 0.0, self.upper0

    def top_upper_except(self, excluded: set[int]) -> np.ndarray:
        """The k largest upper bounds of the labels not in ``excluded``, descending (fewer when fewer
        labels are left): exactly what the full (L - |excluded|,) array gives the certificates."""
        out = np.isin(self.seen, np.fromiter(excluded, dtype=np.int64, count=len(excluded)))
        unseen_excluded = sum(1 for j in excluded if 0 <= j < self.L and not self._is_seen(j))
        unseen_left = self.L - self.seen.size - unseen_excluded
        vals = np.concatenate([self.upper[~out], np.full(max(0, min(self.k, unseen_left)), self.upper0)])
        return np.sort(vals)[::-1][:self.k]

    def _is_seen(self, label: int) -> bool:
        i = int(np.searchsorted(self.seen, label))
        return i < self.seen.size and self.seen[i] == label


def run_certificate(method: str, space: str, model, draw, params: dict, truth: Sequence[int] | None,
                    label_radius: Callable[[float, np.ndarray], float | int | None],
                    true_certified: Callable[[np.ndarray, np.ndarray, float], int], radius: float,
                    guarantee: str, progress: ProgressFn | None, extra: dict | None = None) -> CertifyResult:
    """CERTIFY for the smoothed top-k (Cohen et al. 2019, Sec. 3.2, with k labels instead of one).

    1. n0 samples: the k labels most often in the base top-k are the smoothed model's top-k.
    2. n fresh samples: counts -> simultaneous Clopper-Pearson bounds on every label probability.
    3. label_radius(lower_l, upper of the other labels) for each selected label;
       true_certified(lower of the true labels, upper of the others, radius) for the truth.
    """
    t0 = time.perf_counter()
    k, L = params["top_k"], model.n_labels
    n0, n = params["n0"], params["n"]
    rng_select, rng_estimate = (np.random.default_rng([params["seed"], stage]) for stage in (0, 1))
    report(progress, 0.0, f"{method}: sampling")
    c0 = sample_counts(draw, n0, L, rng_select, progress, 0.0, n0 / (n0 + n), "selection")
    c = sample_counts(draw, n, L, rng_estimate, progress, n0 / (n0 + n), 0.99, "estimation")
    bounds = SupportBounds(c, n, params["alpha"], k)
    chosen = np.argsort(-c0, kind="stable")[:k]
    true_set = None if truth is None else {int(t) for t in truth}
    labels = []
    for lab in chosen:
        lo, up = bounds.of(int(lab))
        labels.append(CertifiedLabel(
            label_id=int(lab), name=model.label_names[int(lab)], selection_count=int(c0[lab]), count=int(c[lab]),
            p_lower=lo, p_upper=up, radius=label_radius(lo, bounds.top_upper_except({int(lab)})),
            is_true=None if true_set is None else int(lab) in true_set))
    if true_set is not None:
        truth_in = sorted(t for t in true_set if 0 <= t < L)
        n_true = len(truth_in)
        n_cert = true_certified(np.array([bounds.of(t)[0] for t in truth_in]), bounds.top_upper_except(set(truth_in)),
                                radius)
        in_top = sum(1 for x in labels if x.is_true and x.radius is not None and x.radius >= radius)
    else:
        n_true = n_cert = in_top = None
    report(progress, 1.0, f"{method}: done")
    return CertifyResult(method=method, space=space, top_k=k, labels=tuple(labels), radius=radius,
                         true_certified=n_cert, n_true=n_true, certified_true_in_top_k=in_top,
                         seconds=round(time.perf_counter() - t0, 4), queries=n0 + n, guarantee=guarantee,
                         params={**params, **(extra or {})})
