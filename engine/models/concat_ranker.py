"""The X-Transformer's ranker stage on its own: PECOS' linear XR model over [TF-IDF ; alpha * unit(emb)],
and its fusion with XR-Linear. Shared by engine/models/xtransformer.py (training, scoring) and
engine/models/encoder_variants.py (cross-validation from cached embeddings), so both fit the same ranker."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from engine.models.xlinear import SOLVERS

BEAM = 50  # ranker beam, as XR-Linear


def ranker_params(params):
    """PECOS XTransformer (TrainParams, PredParams) for the trees, the ranker and the truncation."""
    from pecos.xmc.xtransformer.model import XTransformer

    tp = XTransformer.TrainParams.from_dict({}, recursive=True)
    for ix in (tp.preliminary_indexer_params, tp.refined_indexer_params):
        ix.nr_splits, ix.max_leaf_size, ix.seed, ix.threads = params.nr_splits, params.max_leaf_size, params.seed, params.threads
    r = tp.ranker_params
    r.nr_splits = params.nr_splits
    r.hlm_args.model_chain.Cp = r.hlm_args.model_chain.Cn = float(params.ranker_C)
    r.hlm_args.model_chain.solver_type = SOLVERS[params.ranker_loss]
    r.hlm_args.model_chain.threads = params.threads
    r.hlm_args.model_chain.threshold = float(params.ranker_threshold)
    pp = XTransformer.PredParams.from_dict({}, recursive=True)
    pp.matcher_params_chain.truncate_length = params.max_tokens
    pp.ranker_params.hlm_args.model_chain.only_topk = BEAM
    return tp, pp


def fusion_candidates(ranker, R, xlinear, X_tfidf, k: int, threads: int = 1):
    """Both rankers' exact scores on the union of their top-max(BEAM, k) labels: (A, B) csr (n, L), A from
    ``ranker`` on R (n, D), B from ``xlinear`` on X_tfidf (n, V); same candidates in both."""
    beam = max(BEAM, int(k))
    kw = dict(beam_size=beam, only_topk=beam, threads=threads)
    cand = (ranker.predict(R, **kw).tocsr() + xlinear.predict(X_tfidf, **kw).tocsr()).tocsr()
    cand.data[:] = 1.0
    cand.sort_indices()
    return (ranker.predict(R, selected_outputs_csr=cand).tocsr(),
            xlinear.predict(X_tfidf, selected_outputs_csr=cand).tocsr())


def top_k_of_mix(A: sp.csr_matrix, B: sp.csr_matrix, w: float, k: int) -> sp.csr_matrix:
    """(1 - w) * A + w * B (csr (n, L)), each row's k best kept (best first)."""
    S = ((1.0 - w) * A + w * B).tocsr()
    rows, cols, vals = [], [], []
    for i in range(S.shape[0]):
        d, idx = S.data[S.indptr[i]:S.indptr[i + 1]], S.indices[S.indptr[i]:S.indptr[i + 1]]
        order = np.argsort(-d, kind="stable")[:k]
        rows += [i] * order.size
        cols += idx[order].tolist()
        vals += d[order].tolist()
    return sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=S.shape)


def rank_features_of(emb: np.ndarray, X_tfidf, alpha: float = 1.0, with_tfidf: bool = True) -> sp.csr_matrix:
    """[TF-IDF ; alpha * L2-normalised emb]: csr (n, V + h) float32 (PECOS' concat_features, then alpha).
    with_tfidf False: the TF-IDF columns are kept but empty (a ranker on the embedding alone)."""
    from pecos.xmc.xtransformer.matcher import TransformerMatcher

    X = sp.csr_matrix(X_tfidf, dtype=np.float32)
    if not with_tfidf:
        X = sp.csr_matrix(X.shape, dtype=np.float32)
    emb = np.ascontiguousarray(np.atleast_2d(emb), dtype=np.float32)
    R = TransformerMatcher.concat_features(X, emb, normalize_emb=True).astype(np.float32).tocsr()
    if float(alpha) != 1.0:
        V = X.shape[1]
        R = R.tocsc()
        R.data[R.indptr[V]:] *= np.float32(alpha)  # the embedding columns only
        R = R.tocsr()
    return R


def fit_concat_ranker(R: sp.csr_matrix, Y: sp.csr_matrix, params):
    """PECOS' last X-Transformer stage on R = rank_features (n, D): a refined tree from PIFA of R, then
    XR-Linear with the X-Transformer's ranker settings. Returns the PECOS XLinearModel."""
    from pecos.xmc import Indexer, LabelEmbeddingFactory
    from pecos.xmc.base import HierarchicalMLModel
    from pecos.xmc.xlinear.model import XLinearModel

    tp, pp = ranker_params(params)
    cl = Indexer.gen(LabelEmbeddingFactory.pifa(Y, R), train_params=tp.refined_indexer_params)
    tp.ranker_params.hlm_args = HierarchicalMLModel._duplicate_fields_with_name_ending_with_chain(
        tp.ranker_params.hlm_args, HierarchicalMLModel.TrainParams, len(cl))
    pp.ranker_params.hlm_args = HierarchicalMLModel._duplicate_fields_with_name_ending_with_chain(
        pp.ranker_params.hlm_args, HierarchicalMLModel.PredParams, len(cl))
    return XLinearModel.train(R, sp.csr_matrix(Y, dtype=np.float32), C=cl, train_params=tp.ranker_params,
                              pred_params=pp.ranker_params)


def train_xlinear(X_tfidf, Y: sp.csr_matrix, params):
    """The XR-Linear half of the optional ensemble (PECOS XLinearModel on TF-IDF)."""
    from engine.models.xlinear import XLinearParams, train_ranker

    xp = XLinearParams(nr_splits=params.nr_splits, max_leaf_size=params.max_leaf_size, C=params.ranker_C,
                       loss=params.ranker_loss, seed=params.seed).validate()
    return train_ranker(X_tfidf, Y, xp)
