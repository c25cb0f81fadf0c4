"""The smoothed model: a wrapper that averages label scores over N seeded random perturbations of the input.

The paper's discussion names it as a defence beside adversarial training. Text: word dropout
(each word kept with probability 1 - rate). Dense features: uniform noise of +/- rate x (feature
range). The perturbations are seeded by (seed, the input itself), so the smoothed model is a
deterministic function -- decision-based attacks such as HopSkipJump need that.

The same smoothing is applied in the ranker's feature space for feature_view (HSJ / ZOO act
there): dropout of non-zero TF-IDF entries for text, bounded noise for dense features.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from engine.errors import InputError
from engine.models.base import FeatureView, XMCModel


@dataclass(frozen=True)
class SmoothingParams:
    n_samples: int = 8  # perturbations averaged per input
    rate: float = 0.15  # word-dropout probability (text) or noise amplitude as a share of range (dense)
    seed: int = 0

    def validate(self) -> "SmoothingParams":
        if not (1 <= self.n_samples <= 256):
            raise InputError(f"n_samples must be between 1 and 256, got {self.n_samples}.")
        if not (0.0 <= self.rate < 1.0):
            raise InputError(f"rate must be in [0, 1), got {self.rate}.")
        return self


def _rng(seed: int, key: bytes) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(key)])


class SmoothedXMC(XMCModel):
    family = "smoothed"

    def __init__(self, base: XMCModel, params: SmoothingParams, base_ref: tuple[str, str] | None = None):
        self.base = base
        self.params = params.validate()
        self.base_ref = base_ref  # (dataset, model_id) of the wrapped model in the store
        self.label_names = base.label_names
        self.input_kind = base.input_kind

    # -- perturbations ----------------------------------------------------------------------
    def _perturb_texts(self, text: str) -> list[str]:
        words = text.split()
        rng = _rng(self.params.seed, text.encode("utf-8", "surrogatepass"))
        out = []
        for _ in range(self.params.n_samples):
            keep = rng.random(len(words)) >= self.params.rate
            out.append(" ".join(w for w, k in zip(words, keep) if k) or text)
        return out

    def _perturb_rows(self, X: np.ndarray, lo: float, hi: float, sparse_dropout: bool) -> np.ndarray:
        """X: (n, d) -> (n * n_samples, d), each row's perturbations contiguous."""
        X = np.asarray(X, dtype=np.float32)
        out = np.repeat(X, self.params.n_samples, axis=0)
        for i in range(X.shape[0]):
            rng = _rng(self.params.seed, X[i].tobytes())
            block = out[i * self.params.n_samples:(i + 1) * self.params.n_samples]
            if sparse_dropout:
                block *= rng.random(block.shape) >= self.params.rate
            else:
                block += (rng.random(block.shape, dtype=np.float32) * 2 - 1) * self.params.rate * (hi - lo)
                np.clip(block, lo, hi, out=block)
        return out

    def _expand(self, inputs):
        if self.input_kind == "text":
            return [t for text in inputs for t in self._perturb_texts(text)]
        lo, hi = self.base.featurizer.lo, self.base.featurizer.hi
        return self._perturb_rows(inputs, lo, hi, sparse_dropout=False)

    def _mean(self, S, n: int):
        k = self.params.n_samples
        if sp.issparse(S):
            avg = sp.kron(sp.identity(n, format="csr"), np.full((1, k), 1.0 / k), format="csr")
            return (avg @ S).tocsr()
        return S.reshape(n, k, -1).mean(axis=1)

    # -- the interface --------------------------------------------------------------------------
    def score_matrix(self, inputs, top_k: int):
        """Mean of the base model's top-(2k) score matrices over the perturbations; labels outside a
        perturbation's beam count 0 for it."""
        inputs = self.check_inputs(inputs)
        n = len(inputs) if self.input_kind == "text" else inputs.shape[0]
        S = self.base.score_matrix(self._expand(inputs), min(self.n_labels, max(2 * top_k, 10)))
        return self._mean(S.tocsr(), n)

    def score_labels(self, inputs, label_ids: Sequence[int]) -> np.ndarray:
        inputs = self.check_inputs(inputs)
        n = len(inputs) if self.input_kind == "text" else inputs.shape[0]
        return self._mean(self.base.score_labels(self._expand(inputs), label_ids), n).astype(np.float32)

    def label_path(self, label_id: int) -> list[int]:
        return self.base.label_path(label_id)

    def feature_view(self, one_input) -> FeatureView:
        fv = self.base.feature_view(one_input)
        lo, hi = fv.clip
        text = self.input_kind == "text"
        k = self.params.n_samples

        def score(X, label_ids):
            X = np.atleast_2d(X)
            S = fv.score(self._perturb_rows(X, lo, hi, sparse_dropout=text), label_ids)
            return S.reshape(X.shape[0], k, -1).mean(axis=1)

        def top_k(X, kk):
            X = np.atleast_2d(X)
            cand = np.unique(fv.top_k(self._perturb_rows(X, lo, hi, sparse_dropout=text), max(2 * kk, 10)))
            cand = cand[cand >= 0]
            S = score(X, cand)
            return cand[np.argsort(-S, axis=1, kind="stable")[:, :kk]]

        return FeatureView(fv.x0, fv.feature_names, score, top_k, fv.clip,
                           fv.description + f" Smoothed: mean over {k} seeded perturbations (rate {self.params.rate}).")

    def save(self, path) -> None:
        if self.base_ref is None:
            raise InputError("a smoothed model can be saved only when its base model is in the store.")
        Path(path, "smoothing.json").write_text(json.dumps({"base": list(self.base_ref), "params": asdict(self.params)}))

    @classmethod
    def load(cls, path) -> "SmoothedXMC":
        from engine.models.store import ModelStore

        path = Path(path)
        meta = json.loads((path / "smoothing.json").read_text())
        dataset, base_id = meta["base"]
        store = ModelStore(path.parent.parent)
        return cls(store.load(dataset, base_id), SmoothingParams(**meta["params"]), (dataset, base_id))
