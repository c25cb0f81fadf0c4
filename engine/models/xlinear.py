"""PECOS XR-Linear: PIFA label embedding + hierarchical k-means tree + linear rankers.

Text datasets: sublinear TF-IDF over the pseudo-text. Dense datasets: standardised features.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from engine.models.base import FeatureView, XMCModel
from engine.models.featurize import DenseScaler, TfidfText, load_featurizer
from engine.types import ProgressFn, report, scaled_progress

SOLVERS = {"squared-hinge": "L2R_L2LOSS_SVC_DUAL", "hinge": "L2R_L1LOSS_SVC_DUAL", "logistic": "L2R_LR_DUAL"}


@dataclass(frozen=True)
class XLinearParams:
    nr_splits: int = 16  # branching factor of the label tree
    max_leaf_size: int = 100  # labels per leaf cluster
    C: float = 1.0  # ranker regularisation (PECOS Cp = Cn)
    loss: str = "squared-hinge"  # squared-hinge | hinge | logistic
    threshold: float = 0.1  # weights below this are pruned
    beam_size: int = 50
    post_processor: str = "l3-hinge"
    seed: int = 0

    def validate(self) -> "XLinearParams":
        from engine.errors import InputError

        if self.loss not in SOLVERS:
            raise InputError(f"loss must be one of {', '.join(SOLVERS)}, got {self.loss!r}.")
        if not (2 <= self.nr_splits <= 1024):
            raise InputError(f"nr_splits must be between 2 and 1024, got {self.nr_splits}.")
        if not (1 <= self.max_leaf_size <= 100000):
            raise InputError(f"max_leaf_size must be between 1 and 100000, got {self.max_leaf_size}.")
        if not (0 < self.C <= 1e4):
            raise InputError(f"C must be in (0, 10000], got {self.C}.")
        if not (1 <= self.beam_size <= 10000):
            raise InputError(f"beam_size must be between 1 and 10000, got {self.beam_size}.")
        return self


def train_ranker(X, Y: sp.csr_matrix, params: XLinearParams, cluster_chain=None, progress: ProgressFn | None = None):
    """PECOS PIFA + hierarchical k-means + XLinearModel.train. X: csr or dense (n, d) float32.
    progress: reported before each of the two PECOS calls (neither can be stopped mid-call)."""
    from pecos.xmc import Indexer, LabelEmbeddingFactory
    from pecos.xmc.xlinear.model import XLinearModel

    Y = sp.csr_matrix(Y, dtype=np.float32)
    if cluster_chain is None:
        report(progress, 0.0, "clustering the labels (PIFA + hierarchical k-means)")
        Xs = X if sp.issparse(X) else sp.csr_matrix(X)
        emb = LabelEmbeddingFactory.create(Y, Xs.astype(np.float32), method="pifa")
        cluster_chain = Indexer.gen(emb, indexer_type="hierarchicalkmeans", nr_splits=params.nr_splits,
                                    max_leaf_size=params.max_leaf_size, seed=params.seed)
    report(progress, 0.05, "training the rankers (one uninterruptible PECOS call)")  # BibTeX: 0.07 s vs 2 s
    model = XLinearModel.train(X, Y, C=cluster_chain, threshold=params.threshold, Cp=params.C, Cn=params.C,
                               solver_type=SOLVERS[params.loss], beam_size=params.beam_size,
                               post_processor=params.post_processor)
    return model


def threads_for(n_rows: int) -> int:
    """PECOS/OpenMP thread count: one thread for small batches (LIME, attacks, single documents),
    where spinning up and synchronising threads costs more than it saves (10x on a busy 2-core box)."""
    return 1 if n_rows < 256 else -1


def label_path_of(xlm, label_id: int) -> list[int]:
    """Walk a PECOS HierarchicalMLModel's C matrices from the leaf up: cluster id per level."""
    return path_in_codes([layer.C.tocsr() for layer in xlm.model.model_chain[1:]], label_id)


def path_in_codes(codes: Sequence[sp.csr_matrix], label_id: int) -> list[int]:
    """Cluster id per level (top first) of a label, from the tree's C matrices below the root level
    (csr (nodes of level d, nodes of level d-1), top level first)."""
    path = []
    node = int(label_id)
    for C in reversed(codes):
        node = int(C.indices[C.indptr[node]])
        path.append(node)
    return list(reversed(path))


def saved_codes(folder: Path) -> list[sp.csr_matrix]:
    """The label tree's C matrices of a saved PECOS XLinearModel (ranker/<d>.model/C.npz, d >= 1), read
    alone (a few MB at 670K labels) so label paths need no ranker weights."""
    levels = sorted(int(p.name.split(".")[0]) for p in (folder / "ranker").glob("*.model"))
    return [sp.load_npz(folder / "ranker" / f"{d}.model" / "C.npz").tocsr() for d in levels[1:]]


@dataclass(frozen=True)
class LevelWeights:
    """One tree level of a PECOS ranker, read along the paths of m labels.

    nodes: (m,) the node (cluster, or the label itself at the last level) each label passes.
    W: csc (D, m) the nodes' weights on the D input features (PECOS' bias row removed).
    bias: (m,) the bias row's weight x PECOS' bias input (0 when the ranker has no bias).
    post_processor: PECOS' post-processor of this level (e.g. "l3-hinge").
    The level's linear value is v = x . W[:, j] + bias[j]; the score combines pecos_transform(v)
    down the levels with pecos_combine.
    """

    nodes: np.ndarray
    W: sp.csc_matrix
    bias: np.ndarray
    post_processor: str


def path_weights(xlm, label_ids: Sequence[int]) -> list[LevelWeights]:
    """Per tree level (top first) the ranker weights along each label's path: the exact linear
    part of PECOS' forward pass (``selected_scores`` = combine(transform(v)) of these)."""
    ids = np.asarray(list(label_ids), dtype=np.int64)
    paths = np.array([label_path_of(xlm, int(i)) + [int(i)] for i in ids], dtype=np.int64).reshape(ids.size, -1)
    chains = xlm.get_pred_params().hlm_args.model_chain
    out = []
    for d, layer in enumerate(xlm.model.model_chain):
        cols = layer.W.tocsc()[:, paths[:, d]]
        if layer.bias > 0:  # PECOS appends a constant input `bias` and learns its weight as the last row
            W, b = cols[:-1], float(layer.bias) * np.asarray(cols[-1].toarray(), dtype=np.float64).ravel()
        else:
            W, b = cols, np.zeros(ids.size)
        out.append(LevelWeights(paths[:, d].copy(), sp.csc_matrix(W), b, str(chains[d].post_processor)))
    return out


def pecos_transform(name: str, v):
    """PECOS post-processor transforms (pecos.xmc.base.Transform) on torch tensors."""
    import torch

    m = re.fullmatch(r"(log-)?l(\d)-hinge", name)
    if m:
        out = -torch.clamp(1.0 - v, min=0.0) ** int(m.group(2))
        return out if m.group(1) else torch.exp(out)
    if name == "sigmoid":
        return torch.sigmoid(v)
    if name == "log-sigmoid":
        return torch.nn.functional.logsigmoid(v)
    if name == "noop":
        return v
    from engine.errors import ModelError

    raise ModelError(f"PECOS post-processor {name!r} is not supported here.")


def pecos_combine(name: str, cur, parent):
    """PECOS combiners: l*-hinge / sigmoid multiply down the tree, log-* add, noop keeps the last."""
    if parent is None or name == "noop":
        return cur
    return cur + parent if name.startswith("log-") else cur * parent


def selected_scores(xlm, X, label_ids: np.ndarray, post_processor: str | None = None) -> np.ndarray:
    """Exact scores of label_ids for every row of X: ndarray (n, m) float32 (0 where PECOS stores none).
    Nothing here is sized by the label count: the selection is built as csr directly and the answer
    read from its nonzeros (a column slice of the (n, L) result would allocate L offsets per call)."""
    n = X.shape[0]
    ids = np.asarray(label_ids, dtype=np.int64)
    uniq, where = np.unique(ids, return_inverse=True)  # sorted, as PECOS wants the selection's indices
    u = uniq.size
    sel = sp.csr_matrix((np.ones(n * u, dtype=np.float32), np.tile(uniq, n).astype(np.int32),
                         np.arange(0, n * u + 1, u, dtype=np.int64)), shape=(n, xlm.nr_labels))
    S = xlm.predict(X, selected_outputs_csr=sel, post_processor=post_processor, threads=threads_for(n))
    S = S.tocsr() if sp.issparse(S) else sp.csr_matrix(S)
    out = np.zeros((n, u), dtype=np.float32)
    rows = np.repeat(np.arange(n), np.diff(S.indptr))
    cols = np.searchsorted(uniq, S.indices)
    hit = (cols < u) & (uniq[np.minimum(cols, u - 1)] == S.indices)  # PECOS answers only the selection; be sure
    out[rows[hit], cols[hit]] = S.data[hit]
    return out[:, where.ravel()]


def load_predictor(folder, layout: str = "CSC"):
    """PECOS' predict-only C++ model: "CSC" weights (the one layout that also scores chosen labels and
    takes dense rows) or "BINARY_SEARCH_CHUNKED" (PECOS' default: top-k of sparse rows only, 4-8x faster
    than CSC at 670K labels). Both give the Python model's top-k and scores exactly (tested); the
    Python model's predict converts its weight arrays on every call (~430 ms per document at 670K)."""
    from pecos.xmc.xlinear.model import XLinearModel

    return XLinearModel.load(str(folder), is_predict_only=True, weight_matrix_type=layout)


def _fingerprint(folder: Path) -> list[tuple[str, int, int, int]]:
    """(file, inode, size, mtime_ns) of every file under a PECOS model folder: a save swaps a new folder in
    by renaming, so a retrained model never has the same fingerprint."""
    return sorted((str(f.relative_to(folder)), *(lambda st: (st.st_ino, st.st_size, st.st_mtime_ns))(f.stat()))
                  for f in folder.rglob("*") if f.is_file())


class XLinearXMC(XMCModel):
    """XR-Linear. After ``load``, PECOS predict-only (C++) models answer: ``ranker`` (chunked layout) the
    top-k of sparse rows (predict, the attacks' decisions), ``predictor`` (CSC) chosen labels' scores
    (LIME, margins) and dense rows; ``xlm`` (PECOS' Python model, whose weight matrices the score split
    reads) is loaded from the model folder on first use, so pages that only predict never hold it."""

    family = "xlinear"

    def __init__(self, xlm, featurizer, label_names: list[str], params: XLinearParams, predictor=None,
                 folder: Path | None = None, ranker=None):
        """xlm: PECOS XLinearModel (Python) or None with ``folder`` (loaded on first use);
        predictor / ranker: predict-only copies, CSC / chunked (default: xlm itself)."""
        self._xlm, self._folder, self._codes = xlm, folder, None
        self._fingerprint = None if folder is None else _fingerprint(folder)
        self.predictor = predictor if predictor is not None else xlm
        self.ranker = ranker if ranker is not None else self.predictor
        self.featurizer = featurizer
        self.label_names = list(label_names)
        self.params = params
        self.input_kind = featurizer.kind

    @property
    def xlm(self):
        """PECOS' Python XLinearModel (loaded from the model folder on first use; refused when the
        folder's files changed since the predictor was loaded, e.g. the model was retrained)."""
        if self._xlm is None:
            from pecos.xmc.xlinear.model import XLinearModel

            self._check_unchanged()
            self._xlm = XLinearModel.load(str(self._folder))
        return self._xlm

    def _check_unchanged(self) -> None:
        from engine.errors import ModelError

        if not self._folder.is_dir() or _fingerprint(self._folder) != self._fingerprint:
            raise ModelError("this XR-Linear model's files changed on disk since it was loaded (retrained or "
                             "removed): reload the model.")

    def tree_codes(self) -> list[sp.csr_matrix]:
        """The label tree's C matrices below the root (see path_in_codes), kept after the first call."""
        if self._codes is None:
            if self._xlm is not None:
                self._codes = [layer.C.tocsr() for layer in self._xlm.model.model_chain[1:]]
            else:
                self._check_unchanged()
                self._codes = saved_codes(self._folder)
        return self._codes

    @classmethod
    def train(cls, inputs_train: Any, Y: sp.csr_matrix, label_names: list[str], params: XLinearParams = XLinearParams(),
              feature_names: list[str] | None = None, progress: ProgressFn | None = None) -> "XLinearXMC":
        """inputs_train: list[str] (text) or ndarray (n, d) (dense); Y: csr (n, L)."""
        params.validate()
        report(progress, 0.0, "featurizing")
        if isinstance(inputs_train, list):
            feat = TfidfText().fit(inputs_train)
        else:
            feat = DenseScaler().fit(np.asarray(inputs_train), feature_names or [f"f{i}" for i in range(np.shape(inputs_train)[1])])
        X = feat.transform(inputs_train)
        xlm = train_ranker(X, Y, params, progress=scaled_progress(progress, 0.2, 0.99))
        report(progress, 1.0, "XR-Linear trained")
        return cls(xlm, feat, label_names, params)

    def features(self, inputs) -> Any:
        return self.featurizer.transform(inputs)

    def top_model(self, X):
        """The PECOS model for the top-k of rows X: the chunked ranker for csr rows, CSC for dense ones."""
        return self.ranker if sp.issparse(X) else self.predictor

    def score_matrix(self, inputs, top_k: int):
        X = self.features(inputs)
        return self.top_model(X).predict(X, beam_size=max(self.params.beam_size, top_k), only_topk=top_k,
                                threads=threads_for(X.shape[0]))

    def score_labels(self, inputs, label_ids: Sequence[int]) -> np.ndarray:
        ids = self.check_label_ids(label_ids)
        return selected_scores(self.predictor, self.features(self.check_inputs(inputs)), ids)

    def label_path(self, label_id: int) -> list[int]:
        return path_in_codes(self.tree_codes(), int(self.check_label_ids([label_id])[0]))

    def ranker_path_weights(self, label_ids: Sequence[int]) -> list[LevelWeights]:
        """The ranker's weights along each label's tree path, per level (see ``path_weights``)."""
        return path_weights(self.xlm, self.check_label_ids(label_ids))

    def ranker_inputs(self, inputs) -> list[tuple[str, float, Any, Any, int]]:
        """What each ranker reads: [(name, weight in the final score, PECOS model, X csr/ndarray (n, D),
        n_sparse)]. Columns [0, n_sparse) are TF-IDF (text) or scaled features (dense); XR-Linear has
        no encoder columns, so n_sparse = D."""
        X = self.features(self.check_inputs(inputs))
        return [("xr-linear", 1.0, self.xlm, X, int(X.shape[1]))]

    def feature_view(self, one_input) -> FeatureView:
        if self.input_kind == "text":
            x0 = np.asarray(self.features([one_input]).toarray()).ravel()

            def to_model(X):
                if sp.issparse(X):  # subspace queries (engine/attacks/common.py SubspaceView): already rows
                    return sp.csr_matrix(X, dtype=np.float32)
                return sp.csr_matrix(np.atleast_2d(np.asarray(X, dtype=np.float32)))

            names, clip = self.featurizer.feature_names, (0.0, 1.0)
            desc = "TF-IDF vector of the text, read directly by the XR-Linear ranker."
        else:
            x0 = np.asarray(self.check_inputs(one_input), dtype=np.float32).ravel()

            def to_model(X):
                return self.featurizer.transform(np.atleast_2d(np.asarray(X, dtype=np.float32)))

            names, clip = self.featurizer.feature_names, (self.featurizer.lo, self.featurizer.hi)
            desc = "Raw dense features, standardised by the model before the XR-Linear ranker."

        def score(X, label_ids):
            return selected_scores(self.predictor, to_model(X), np.asarray(label_ids, dtype=np.int64))

        def top_k(X, k):
            from engine.metrics import top_k_indices

            Xm = to_model(X)
            S = self.top_model(Xm).predict(Xm, beam_size=max(self.params.beam_size, k), only_topk=k,
                                           threads=threads_for(Xm.shape[0]))
            return top_k_indices(S, k)

        return FeatureView(x0.astype(np.float32), names, score, top_k, clip, desc,
                           sparse_rows=self.input_kind == "text")

    def save(self, path) -> None:
        path = Path(path)
        self.xlm.save(str(path / "xlinear"))
        (path / "featurizer").mkdir()
        self.featurizer.save(path / "featurizer")
        (path / "labels.json").write_text(json.dumps(self.label_names))
        (path / "params.json").write_text(json.dumps(asdict(self.params)))

    @classmethod
    def load(cls, path) -> "XLinearXMC":
        path = Path(path)
        return cls(None, load_featurizer(path / "featurizer"), json.loads((path / "labels.json").read_text()),
                   XLinearParams(**json.loads((path / "params.json").read_text())),
                   predictor=load_predictor(path / "xlinear"), folder=path / "xlinear",
                   ranker=load_predictor(path / "xlinear", "BINARY_SEARCH_CHUNKED"))
