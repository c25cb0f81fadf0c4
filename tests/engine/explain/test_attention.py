import re

import numpy as np
import pytest

from engine.errors import InputError
from engine.explain.api import attention_map, explain_input
from engine.explain.bertviz_view import bertviz_document_html
from engine.explain.offline_js import ASSETS, FILES

pytestmark = pytest.mark.slow  # the session fixture imports torch + transformers (~5-10 s on a busy machine)

TEXT = "graph neural networks for protein folding and molecule design"


def test_attention_differs_across_labels(tiny_bert):
    am = attention_map(tiny_bert, TEXT, [0, 1, 2])
    assert am.tokens == TEXT.split()
    assert am.weights.shape == (3, 9) and am.weights.max(axis=1).tolist() == [1.0, 1.0, 1.0]
    T = len(am.pieces)
    assert am.raw.shape == (2, 2, T, T) and np.allclose(am.raw.sum(-1), 1, atol=1e-5)
    assert am.pieces[0] == "[CLS]" and am.piece_word[0] == -1
    # label 1 = -label 0 in the head: ReLU(A * grad) keeps opposite evidence, so the maps differ.
    assert not np.allclose(am.weights[0], am.weights[1], atol=0.05)
    assert np.corrcoef(am.weights[0], am.weights[1])[0, 1] < 0.5
    assert not np.allclose(am.weights[0], am.weights[2], atol=0.05)


def test_attention_merges_word_pieces_into_words(tiny_bert):
    text = "unbelievably photosynthesis x"
    am = attention_map(tiny_bert, text, [0])
    assert am.tokens == ["unbelievably", "photosynthesis", "x"]
    assert len(am.pieces) > 5  # the long words were split into pieces
    assert set(am.piece_word[1:-1].tolist()) == {0, 1, 2}


def test_attention_explanation_has_faithfulness(tiny_bert):
    ex = explain_input(tiny_bert, TEXT, [0, 1], method="attention", n_features=4)
    assert [len(e.weights) for e in ex] == [4, 4]
    assert [w for w, _ in ex[0].token_weights] == TEXT.split()
    assert ex[0].weights != ex[1].weights
    assert all(np.isfinite(e.deletion_auc) for e in ex)
    assert ex[0].extra["words_read"] == 9


def test_attention_needs_a_model_with_attention(small_xlinear):
    with pytest.raises(InputError, match="X-Transformer"):
        explain_input(small_xlinear, TEXT, [0], method="attention")


@pytest.mark.parametrize("view", ["head", "model"])
def test_bertviz_html_is_offline(tiny_bert, view):
    html = bertviz_document_html(tiny_bert, TEXT, view)
    assert not re.search(r"<script[^>]*\bsrc\s*=", html)
    assert not re.search(r"https?://(cdnjs|ajax\.googleapis|cdn\.jsdelivr|unpkg|code\.jquery)", html)
    assert not re.search(r"require\.config\(\{\s*paths", html)
    for name in FILES.values():
        lib = (ASSETS / name).read_text(encoding="utf-8")
        assert lib[:200] in html and lib[-200:] in html
    assert "requirejs(['jquery', 'd3']" in html.replace('"', "'") or "requirejs([" in html
    assert "protein" in html


def test_bertviz_unknown_view(tiny_bert):
    with pytest.raises(InputError, match="view"):
        bertviz_document_html(tiny_bert, TEXT, "neuron")


@pytest.mark.skipif(not __import__("shutil").which("chromium"), reason="needs Debian chromium (apt-get install chromium)")
def test_bertviz_renders_in_an_offline_browser(tiny_bert, tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    html = bertviz_document_html(tiny_bert, TEXT, "head")
    page_file = tmp_path / "view.html"
    page_file.write_text(f"<html><body>{html}</body></html>", encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=__import__("shutil").which("chromium"),
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            ctx = browser.new_context(offline=True)
            page = ctx.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_file.as_uri())
            page.wait_for_selector("svg text", timeout=10000)
            labels = page.eval_on_selector_all("svg text", "els => els.map(e => e.textContent)")
        finally:
            browser.close()
    assert not errors
    assert "protein" in labels and "[CLS]" in labels


def test_a_label_the_encoder_does_not_drive_gets_no_attention_words():
    from tests.engine.explain.conftest import TinyBertXMC

    # head row 0 is zero: label 0's score is constant in the encoder (like a ranker that gives the
    # embedding no weight), so attention x gradient is exactly zero and must not rank words by a tie.
    rows = np.zeros((2, 32))
    rows[1] = np.random.default_rng(1).normal(size=32)
    m = TinyBertXMC(n_labels=2, head_rows=rows, seed=1)
    ex = explain_input(m, TEXT, [0, 1], method="attention", n_features=3)
    assert ex[0].weights == [] and "no weight" in ex[0].extra["note"] and np.isnan(ex[0].deletion_auc)
    assert len(ex[1].weights) == 3 and "note" not in ex[1].extra
    am = attention_map(m, TEXT, [0, 1])
    assert not am.weights[0].any() and am.weights[1].max() == 1.0 and "tag0" in am.note
