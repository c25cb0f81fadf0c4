"""Certified l2 robustness in the feature view by Gaussian smoothing (Cohen, Rosenfeld & Kolter,
ICML 2019) of the top-k classifier, with MultiGuard's certified intersection size (Jia, Qu & Gong,
NeurIPS 2022).

The smoothed model of any saved model: noise N(0, sigma^2 I) is added to the input's feature-view
vector x0 (TF-IDF for text datasets, raw features for dense ones; not clipped: the certificate
is about points anywhere in R^d), the base model names its top-k labels for each noisy copy, and
the smoothed model returns the k labels named most often. Per label: the l2 radius within which
it provably stays in the smoothed top-k; for the document: how many true labels provably stay
at a given radius. The math is in engine/certify/bounds.py.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.certify.bounds import gaussian_intersection_size, gaussian_label_radius
from engine.certify.common import ALPHA, N, N0, SEED, TOP_K, Param, run_certificate
from engine.certify.result import CertifyResult
from engine.types import ProgressFn

SIGMA = Param("sigma", 0.25, float, 0.0, 10.0, "standard deviation of the Gaussian noise in the feature view",
              lo_open=True)
RADIUS = Param("radius", 0.25, float, 0.0, 1000.0, "l2 radius at which the true labels are counted")
PARAMS = (SIGMA, TOP_K, N0, N, ALPHA, SEED, RADIUS)


def noisy_top_k(model, inp, sigma: float, k: int):
    """draw(rng, b) -> (b, k): the base model's top-k for b noisy copies x0 + N(0, sigma^2 I) of
    the input's feature-view vector x0 (d,)."""
    view = model.feature_view(inp)
    x0 = np.asarray(view.x0, dtype=np.float32)

    def draw(rng: np.random.Generator, b: int) -> np.ndarray:
        X = x0[None, :] + np.float32(sigma) * rng.standard_normal((b, x0.size), dtype=np.float32)
        return view.top_k(X, k)

    return draw


def certify_gaussian(model, inp, params: dict, truth: Sequence[int] | None = None,
                     progress: ProgressFn | None = None) -> CertifyResult:
    """Certify one input (a text, or a feature row (d,)) of any XMCModel; params validated by the registry."""
    sigma, k = params["sigma"], params["top_k"]
    guarantee = (f"With probability >= {1 - params['alpha']:g} (simultaneous Clopper-Pearson bounds over all "
                 f"{model.n_labels} labels, Bonferroni), each label stays in the Gaussian-smoothed (sigma {sigma:g}) "
                 f"top-{k} for every feature-view perturbation of l2 norm below its radius (MultiGuard, Theorem 1).")
    return run_certificate(
        "gaussian", "features", model, noisy_top_k(model, inp, sigma, k), params, truth,
        label_radius=lambda lo, up: gaussian_label_radius(lo, up, k, k, sigma),
        true_certified=lambda lo, up, r: gaussian_intersection_size(lo, up, k, k, r, sigma),
        radius=float(params["radius"]), guarantee=guarantee, progress=progress)
