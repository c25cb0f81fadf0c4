import numpy as np
import scipy.sparse as sp

from engine.robust.augment import MAX_DENSE_EPS, augment_texts, dense_noise, tfidf_noise

TABLE = {"car": ["auto", "automobile"], "fast": ["quick", "speedy"], "road": ["route"]}


def test_augment_texts_seeded_and_bounded():
    texts = ["car fast road xyz", "road only", "nothing here"]
    a, ca = augment_texts(texts, TABLE, 1.0, np.random.default_rng(0))
    b, cb = augment_texts(texts, TABLE, 1.0, np.random.default_rng(0))
    assert a == b and list(ca) == list(cb)
    assert list(ca) == [1, 0, 0]  # round(0.35 * 3) = 1 of 3 substitutable words; 0.35 * 1 rounds to 0
    w0, w1 = texts[0].split(), a[0].split()
    changed = [(x, y) for x, y in zip(w0, w1) if x != y]
    assert len(changed) == 1 and changed[0][1] in TABLE[changed[0][0]]
    same, c0 = augment_texts(texts, TABLE, 0.0, np.random.default_rng(0))
    assert same == texts and c0.sum() == 0


def test_tfidf_noise_stays_sparse_and_normalised():
    rng = np.random.default_rng(0)
    X = sp.random(50, 300, density=0.05, random_state=0, format="csr", dtype=np.float32)
    X = sp.csr_matrix(sp.diags(1 / np.sqrt(np.asarray(X.multiply(X).sum(1)).ravel())) @ X)
    N = tfidf_noise(X, 1.0, rng)
    assert N.shape == X.shape and N.nnz <= X.nnz and N.nnz < X.nnz
    norms = np.sqrt(np.asarray(N.multiply(N).sum(1)).ravel())
    assert np.allclose(norms[norms > 0], 1.0, atol=1e-5)
    assert set(zip(*N.nonzero())) <= set(zip(*X.nonzero()))  # no new words in TF-IDF noise
    assert abs(tfidf_noise(X, 0.0, rng) - X).max() < 1e-6


def test_dense_noise_bounded():
    X = np.zeros((20, 4), dtype=np.float32)
    std = np.array([1.0, 2.0, 0.5, 1.0])
    N = dense_noise(X, std, -0.5, 0.5, 1.0, np.random.default_rng(0))
    assert np.all(np.abs(N) <= MAX_DENSE_EPS * std[None, :] + 1e-6)
    assert np.all(N <= 0.5) and np.all(N >= -0.5) and np.abs(N).max() > 0
