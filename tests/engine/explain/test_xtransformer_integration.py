"""Explanations on the real XTransformerXMC (engine/models/xtransformer.py), tiny and CPU-only."""
import re

import numpy as np
import pytest

from engine.explain.api import attention_heatmap, bertviz_html, explain_document

pytestmark = pytest.mark.slow


def test_attention_and_lime_on_the_xtransformer(xtf_store, bibtex):
    att = explain_document("bibtex", "xtransformer", 0, method="attention", top_k=3, n_features=5, store=xtf_store)
    lime = explain_document("bibtex", "xtransformer", 0, method="lime", top_k=3, samples=60, n_features=5,
                            store=xtf_store)
    assert [lab.label_id for lab in att.labels] == [lab.label_id for lab in lime.labels]
    words = bibtex.test.texts[0].split()
    for lab in att.labels:
        assert [w for w, _ in lab.token_weights] == words
        assert all(w >= 0 for _, w in lab.token_weights)  # ReLU(attention x gradient)
        read = lab.extra["words_read"]
        assert 0 < read < len(words)  # 32 tokens: the tail of the document is not read
        assert all(w == 0 for _, w in lab.token_weights[read:])
        assert np.isfinite([lab.comprehensiveness, lab.sufficiency, lab.deletion_auc]).all()
    for a, b in zip(att.labels, lime.labels):
        assert a.score == pytest.approx(b.score, rel=1e-4)


def test_heatmap_and_offline_bertviz(xtf_store):
    am = attention_heatmap("bibtex", "xtransformer", 0, top_k=4, store=xtf_store)
    assert am.weights.shape == (4, len(am.tokens)) and am.raw.shape[:2] == (2, 2)
    assert am.raw.shape[2] == am.raw.shape[3] == len(am.pieces) == 32
    for view in ("head", "model"):
        html = bertviz_html("bibtex", "xtransformer", 0, view=view, store=xtf_store)
        assert not re.search(r"<script[^>]*\bsrc\s*=", html) and "cdnjs" not in html
        assert "define('d3'" in html


def test_bench_explain_measures_every_variant(xtf_store):
    from engine.explain.bench import bench_explain

    calls = []
    out = bench_explain(samples=30, store=xtf_store, progress=lambda f, m: calls.append(f) or True)
    assert out["xlinear"]["lime_seconds"] > 0 and out["xlinear"]["lime_over_forward"] > 0
    x = out["xtransformer"]
    assert x["model"].startswith("saved model")
    assert {"baseline", "int8 quantized", "16 tokens (of 32)"} <= set(x["variants"])
    for row in x["variants"].values():
        assert row["lime_seconds"] > 0 and 0 <= row["P@1"] <= 100
    assert calls[-1] == 1.0
