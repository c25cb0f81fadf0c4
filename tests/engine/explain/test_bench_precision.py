"""The explanation bench's exact P@k (engine/explain/bench.py _precision) scores a few documents at a
time: the same numbers as scoring all of them at once, without an (n, L) array."""
import numpy as np
import scipy.sparse as sp

from engine.explain import bench
from engine.metrics import ranking_metrics


def test_precision_in_chunks_equals_all_at_once(bibtex, small_xlinear, monkeypatch):
    n = 40
    S = small_xlinear.score_labels(bibtex.test.texts[:n], range(small_xlinear.n_labels))  # (40, 159) reference
    top = np.argsort(-S, axis=1, kind="stable")[:, :5]
    r = np.repeat(np.arange(n), 5)
    M = sp.csr_matrix((S[r, top.ravel()], (r, top.ravel())), shape=S.shape)
    want = {k: round(100 * v, 2) for k, v in ranking_metrics(bibtex.test.Y[:n], M).items() if k in ("P@1", "P@3", "P@5")}
    calls = []
    real = small_xlinear.score_labels
    monkeypatch.setattr(small_xlinear, "score_labels", lambda t, ids: calls.append(len(t)) or real(t, ids))
    monkeypatch.setattr(bench, "SCORE_CELLS", 7 * small_xlinear.n_labels)  # 7 documents per call
    assert bench._precision(small_xlinear, bibtex, n_docs=n) == want
    assert max(calls) == 7 and sum(calls) == n
