"""Training-data augmentation for adversarial training (seeded, intensity in [0, 1]).

- Text: WordNet synonym substitution (the attack's own move, applied at random): a share of the
  words that have a synonym are replaced by a random synonym of the same part of speech.
- TF-IDF (the feature view HSJ / ZOO perturb for text models): word dropout plus bounded
  jitter of the remaining weights, rows re-normalised (stays sparse, like a real document).
- Dense features (MediaMill): bounded uniform noise, eps in units of each feature's std, clipped
  to the valid range.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from engine.types import ProgressFn, report

MAX_SUBSTITUTION = 0.35  # share of substitutable words replaced at intensity 1
MAX_DROPOUT = 0.2  # share of TF-IDF entries zeroed at intensity 1
MAX_JITTER = 0.3  # relative jitter of TF-IDF weights at intensity 1
MAX_DENSE_EPS = 0.5  # dense noise bound (feature std units) at intensity 1


def synonym_table(texts: list[str], progress: ProgressFn | None = None) -> dict[str, list[str]]:
    """word -> WordNet synonyms (same POS as its most frequent sense) for every distinct word."""
    from engine.wordnet import pos_of, synonyms

    vocab = sorted({w for t in texts for w in t.split()})
    out: dict[str, list[str]] = {}
    for j, w in enumerate(vocab):
        lw = w.lower()
        if lw.isalpha():
            p = pos_of(lw)
            syns = synonyms(lw, p) if p else []
            if syns:
                out[w] = syns[:20]
        if j % 200 == 0:
            report(progress, j / max(len(vocab), 1), f"WordNet synonyms {j}/{len(vocab)} words")
    return out


def augment_texts(texts: list[str], table: dict[str, list[str]], intensity: float,
                  rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Replace a share (MAX_SUBSTITUTION * intensity) of each text's substitutable words by a random
    synonym. Returns (augmented texts, words changed per text (n,) int)."""
    rate = MAX_SUBSTITUTION * float(intensity)
    out, changed = [], np.zeros(len(texts), dtype=np.int64)
    for i, t in enumerate(texts):
        words = t.split()
        subs = [j for j, w in enumerate(words) if w in table]
        k = int(round(rate * len(subs)))
        if k:
            for j in rng.choice(subs, size=k, replace=False):
                syn = table[words[j]]
                words[j] = syn[int(rng.integers(len(syn)))]
            changed[i] = k
        out.append(" ".join(words))
    return out, changed


def tfidf_noise(X: sp.csr_matrix, intensity: float, rng: np.random.Generator) -> sp.csr_matrix:
    """X: csr (n, V) L2-normalised TF-IDF -> same shape: dropout + bounded jitter, re-normalised."""
    X = sp.csr_matrix(X, dtype=np.float32, copy=True)
    keep = rng.random(X.nnz) >= MAX_DROPOUT * intensity
    X.data = X.data * keep * (1.0 + MAX_JITTER * intensity * rng.uniform(-1, 1, X.nnz)).astype(np.float32)
    X.eliminate_zeros()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-6)) @ X, dtype=np.float32)


def dense_noise(X: np.ndarray, std: np.ndarray, lo: float, hi: float, intensity: float,
                rng: np.random.Generator) -> np.ndarray:
    """X: (n, d) raw features -> (n, d): x + U(-eps, eps) * std with eps = MAX_DENSE_EPS * intensity, clipped."""
    eps = MAX_DENSE_EPS * float(intensity)
    noise = rng.uniform(-eps, eps, size=X.shape) * np.asarray(std, dtype=np.float64)[None, :]
    return np.clip(X + noise, lo, hi).astype(np.float32)
