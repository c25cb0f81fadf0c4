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
    lower, upper = clopper_pearson_bounds(c, n, params["alpha"])
    chosen = np.argsort(-c0, kind="stable")[:k]
    true_set = None if truth is None else {int(t) for t in truth}
    labels = []
    for lab in chosen:
        others = np.delete(upper, lab)
        labels.append(CertifiedLabel(
            label_id=int(lab), name=model.label_names[int(lab)], selection_count=int(c0[lab]), count=int(c[lab]),
            p_lower=float(lower[lab]), p_upper=float(upper[lab]), radius=label_radius(float(lower[lab]), others),
            is_true=None if true_set is None else int(lab) in true_set))
    if true_set is not None:
        mask = np.zeros(L, dtype=bool)
        mask[sorted(t for t in true_set if 0 <= t < L)] = True
        n_true, n_cert = int(mask.sum()), true_certified(lower[mask], upper[~mask], radius)
        in_top = sum(1 for x in labels if x.is_true and x.radius is not None and x.radius >= radius)
    else:
        n_true = n_cert = in_top = None
    report(progress, 1.0, f"{method}: done")
    return CertifyResult(method=method, space=space, top_k=k, labels=tuple(labels), radius=radius,
                         true_certified=n_cert, n_true=n_true, certified_true_in_top_k=in_top,
                         seconds=round(time.perf_counter() - t0, 4), queries=n0 + n, guarantee=guarantee,
                         params={**params, **(extra or {})})
