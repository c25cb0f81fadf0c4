"""engine.bench.explain_page_first_render: the Explain page's time to each method's first result, measured
in fresh processes on a real (tiny) X-Transformer with an empty explanation cache."""
import pytest

pytestmark = pytest.mark.slow


def test_explain_page_first_render_marks_each_method_in_order(xtf_store, monkeypatch):
    from engine.bench import explain_page_first_render
    from engine.errors import ModelError

    monkeypatch.setenv("XTRUST_MODEL_DIR", str(xtf_store.root))
    out = explain_page_first_render("bibtex", "xtransformer", doc=1)
    for mode in ("model_loaded", "cold"):
        row = out[mode]
        assert "error" not in row, row
        assert row["subheaders"] == ["Whole score", "LIME", "Attention"]
        marks = [row[f"method_{n}_shown_s"] for n in (1, 2, 3)]
        assert 0 < marks[0] <= marks[1] <= marks[2] <= row["all_done_s"]
        assert len(row["load_average_1_5_15"]) == 3
    assert out["model_loaded"]["model_preload_s"] > 0 and out["cold"]["model_preload_s"] is None
    with pytest.raises(ModelError, match="no saved xtransformer model for delicious"):
        explain_page_first_render("delicious", "xtransformer")
