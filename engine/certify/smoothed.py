"""The smoothed classifiers the certificates are about, as black boxes an attack can query.

A certificate (gaussian.py, wordnet_substitution.py) estimates the smoothed top-k classifier g
once, at the input. To attack g itself -- to check that no attack within a certified radius
removes a certified label (tests/engine/attacks/test_certified_cases.py) -- an attack needs g
at every point it queries. Here g is estimated with one fixed, seeded set of n noise draws
reused for every query (common random numbers), so the estimate is a deterministic function of
the point, as decision-based attacks need.

Decisions (top_k / score_matrix) are g's: labels ranked by how many of the n noisy copies hold
them in the base model's top-k (ties: lower label id first). Scores handed to score-based
attacks (ZOO, the WordNet attack's margins) are the base model's scores averaged over the same
copies: a continuous guide for the attacker (the vote counts are piecewise constant). The goal's
margin is forced to agree with the decision (engine/attacks/goals.py), so success is always
judged on g.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from engine.models.base import FeatureView, XMCModel

MAX_CELLS = 4_000_000  # noisy rows x features scored per base-model call (memory)


def _vote_order(counts: np.ndarray, m: int) -> np.ndarray:
    """counts (b, L) -> (b, m) label ids by count, ties by lower id."""
    return np.argsort(-counts, axis=1, kind="stable")[:, :m]


def gaussian_smoothed_view(model: XMCModel, inp, sigma: float, k: int, n: int, seed: int = 0) -> FeatureView:
    """The Gaussian-smoothed top-k classifier of ``model`` around one input, as a FeatureView.

    top_k(X (b, d), m) -> (b, m): labels by P(label in the base top-k of x + N(0, sigma^2 I)),
    estimated with n fixed noise draws (seeded); score(X, ids) -> (b, len(ids)) the base scores
    averaged over the same draws. clip and x0 are the base view's."""
    base = model.feature_view(inp)
    d, L = base.x0.size, model.n_labels
    noise = np.float32(sigma) * np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)
    per_call = max(1, MAX_CELLS // max(n * d, 1))  # query points per base-model call

    def chunks(X):
        X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        for s in range(0, X.shape[0], per_call):
            part = X[s:s + per_call]
            yield part.shape[0], (part[:, None, :] + noise[None, :, :]).reshape(-1, d)

    def top_k(X, m):
        out = []
        for b, noisy in chunks(X):
            ids = np.asarray(base.top_k(noisy, k)).reshape(b, -1)
            counts = np.zeros((b, L), dtype=np.int64)
            for i in range(b):
                row = ids[i][ids[i] >= 0]
                counts[i] = np.bincount(row, minlength=L)[:L]
            out.append(_vote_order(counts, m))
        return np.vstack(out)

    def score(X, label_ids):
        ids = list(label_ids)
        out = [np.asarray(base.score(noisy, ids), dtype=np.float64).reshape(b, n, len(ids)).mean(axis=1)
               for b, noisy in chunks(X)]
        return np.vstack(out)

    return FeatureView(base.x0, base.feature_names, score, top_k, base.clip,
                       f"the Gaussian-smoothed (sigma {sigma:g}, {n} fixed draws) top-{k} of: {base.description}")


class SubstitutionSmoothedXMC(XMCModel):
    """The substitution-smoothed top-k classifier of a text model (SAFER), with fixed draws.

    Each of n copies of a text replaces every word by a member of its perturbation set
    (engine.certify.wordnet_substitution.perturbation_sets), chosen by fixed seeded uniforms per
    (copy, position); decisions are votes of the base model's top-k over the copies. An
    XMCModel, so the WordNet attack (engine/attacks/wordnet_synonyms.py) runs on it unchanged."""

    input_kind = "text"

    def __init__(self, base: XMCModel, k: int, n: int, seed: int = 0,
                 substitutes: Callable[[str], Sequence[str]] | None = None):
        from engine.certify.wordnet_substitution import wordnet_substitutes

        self.base, self.k, self.n, self.seed = base, int(k), int(n), int(seed)
        self.substitutes = substitutes or wordnet_substitutes
        self.label_names = base.label_names
        self.family = f"{base.family}-substitution-smoothed"
        self._u = np.zeros((self.n, 0))

    def _uniforms(self, m: int) -> np.ndarray:
        if self._u.shape[1] < m:  # one seeded stream, widened on demand: the same draws for every query
            self._u = np.random.default_rng(self.seed).random((self.n, max(m, 64)))
        return self._u[:, :m]

    def copies(self, text: str) -> list[str]:
        """The n substituted copies of one text."""
        from engine.certify.wordnet_substitution import perturbation_sets

        sets, _ = perturbation_sets(text.split(), self.substitutes)
        u = self._uniforms(len(sets))
        sizes = np.array([len(s) for s in sets])
        picks = np.minimum((u * sizes[None, :]).astype(np.int64), sizes[None, :] - 1)
        return [" ".join(s[p] for s, p in zip(sets, row)) for row in picks]

    def _votes(self, texts: Sequence[str]) -> np.ndarray:
        from engine.metrics import top_k_indices

        L = self.n_labels
        counts = np.zeros((len(texts), L), dtype=np.int64)
        for i, t in enumerate(texts):
            ids = top_k_indices(self.base.score_matrix(self.base.check_inputs(self.copies(t)), self.k), self.k).ravel()
            counts[i] = np.bincount(ids[ids >= 0], minlength=L)[:L]
        return counts

    def score_matrix(self, inputs, top_k: int):
        """Vote shares (counts / n) of the top_k labels by vote, as a csr (b, L), in vote order."""
        texts = self.check_inputs(inputs)
        counts = self._votes(texts)
        order = _vote_order(counts, top_k)
        rows = np.repeat(np.arange(len(texts)), top_k)
        # vote order must survive a stable sort by value: ties get a tiny decreasing offset
        vals = counts[rows, order.ravel()] / self.n + 1e-9 * np.tile(np.arange(top_k, 0, -1), len(texts))
        return sp.csr_matrix((vals, (rows, order.ravel())), shape=(len(texts), self.n_labels))

    def score_labels(self, inputs, label_ids):
        texts = self.check_inputs(inputs)
        ids = self.check_label_ids(label_ids)
        return np.stack([self.base.score_labels(self.base.check_inputs(self.copies(t)), ids).mean(axis=0)
                         for t in texts]).astype(np.float32)

    def label_path(self, label_id):
        return self.base.label_path(label_id)

    def feature_view(self, one_input) -> FeatureView:
        return self.base.feature_view(one_input)  # only read to report the change in TF-IDF terms

    def save(self, path) -> None:
        raise NotImplementedError("a smoothed classifier with fixed draws is rebuilt, not saved")
