"""The smoothed classifiers as black boxes (engine/certify/smoothed.py): deterministic, and equal to
the smoothed model they estimate (fakes whose smoothed probabilities are known exactly)."""
import numpy as np

from engine.certify.smoothed import SubstitutionSmoothedXMC, gaussian_smoothed_view

from .fakes import LinearFeatureXMC
from .test_wordnet_substitution import TEXT, _model, exact_probabilities, substitutes


def test_gaussian_view_is_deterministic_and_estimates_the_smoothed_top_k():
    # two labels, w_A - w_B = (2, 1, 0): P(A on top | x) = Phi(margin / (sigma ||w_A - w_B||))
    W = np.array([[1.5, 0.5, 0.3], [-0.5, -0.5, 0.3]])
    model = LinearFeatureXMC(W)
    sigma, diff = 0.5, W[0] - W[1]
    x = diff / np.linalg.norm(diff) * 0.1  # P(A) = Phi(0.2) = 0.58: A wins the vote
    view = gaussian_smoothed_view(model, x, sigma, k=1, n=4000, seed=3)
    X = np.stack([x, -x, 3 * x])
    assert view.top_k(X, 1)[:, 0].tolist() == [0, 1, 0]
    assert np.array_equal(view.top_k(X, 2), gaussian_smoothed_view(model, x, sigma, 1, 4000, seed=3).top_k(X, 2))
    # the scores are the base scores averaged over the same draws: linear, so about W x
    np.testing.assert_allclose(view.score(X, [0, 1]), X @ W.T, atol=0.05)


def test_substitution_model_votes_like_the_exact_smoothed_model():
    model = _model(alpha_weight=0.2)
    smoothed = SubstitutionSmoothedXMC(model, k=1, n=3000, seed=0, substitutes=substitutes)
    p = exact_probabilities(model, TEXT, 1)
    S = smoothed.score_matrix([TEXT], 3).toarray()[0]
    np.testing.assert_allclose(S, p, atol=0.03)  # vote shares estimate the smoothed probabilities
    assert smoothed.predict([TEXT], 1)[0].label_ids == [int(np.argmax(p))]
    assert smoothed.copies(TEXT) == SubstitutionSmoothedXMC(model, 1, 3000, 0, substitutes).copies(TEXT)  # fixed draws
    assert {w for c in smoothed.copies(TEXT) for w in c.split()} == {"alpha", "good", "fine", "nice", "bad",
                                                                   "poor", "great", "super"}
