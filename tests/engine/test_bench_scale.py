"""The scale benchmark (engine/bench_scale.py) on a tiny preset: every number is measured, none made up."""
import pytest

from engine.bench_scale import format_scale, growth, measure_preset

TINY = dict(n_labels=200, n_features=600, n_train=1000, n_test=100)


@pytest.fixture(autouse=True)
def restored_dirs(monkeypatch):
    """measure_preset points XTRUST_CACHE_DIR / XTRUST_MODEL_DIR at its work folder: restore them after."""
    import os

    for var in ("XTRUST_CACHE_DIR", "XTRUST_MODEL_DIR"):
        monkeypatch.setenv(var, os.environ[var])


def test_a_tiny_preset_row_is_measured(tmp_path):
    row = measure_preset("eurlex-4k", n_docs=1, samples=50, hsj_docs=1, workdir=str(tmp_path), **TINY)
    assert "error" not in row and row["labels"] == 200 and row["train_docs"] == 1000
    for k in ("generate_s", "import_s", "train_s", "predict_1_ms", "featurize_1_ms", "pecos_predict_1_ms",
              "lime_top5_s", "explain_input_s", "hsj_query_64_dense_rows_s", "hsj_query_64_subspace_rows_s", "hsj_s",
              "python_model_predict_1_ms", "model_load_s"):
        assert isinstance(row[k], float) and row[k] > 0, k
    assert row["P@1"] > 2 * row["P@1_most_frequent_label"]  # the generated labels are learnable
    assert row["peak_rss_mb"] >= row["rss_after_generate_mb"] > 0 and row["hsj_docs"] == 1
    assert row["labels_unseen_in_train"] == 0


def test_growth_ratios_and_exponents():
    rows = [{"preset": "a", "labels": 1000, "train_s": 2.0, "hsj_s": 1.0, "python_model_predict_1_ms": "Error: x"},
            {"preset": "b", "labels": 10000, "train_s": 20.0, "hsj_s": 100.0, "python_model_predict_1_ms": 3.0},
            {"preset": "c", "error": "MemoryError"}]
    g = growth(rows)
    assert len(g) == 2 and g[1]["train_s_ratio"] == 10.0 and g[1]["train_s_exponent"] == 1.0
    assert g[1]["hsj_s_exponent"] == 2.0 and "python_model_predict_1_ms_ratio" not in g[1]
    text = format_scale({"machine": {}, "presets": rows, "growth": g})
    assert "MemoryError" in text and "10.0 (1.0)" in text


def test_log_log_plot_of_every_cost_against_the_label_count(tmp_path):
    import json
    import re

    from engine.bench_scale import scale_plot_html
    from engine.cli import main

    rows = [{"preset": "a", "labels": 1000, "train_s": 2.0, "hsj_s": 1.0, "peak_rss_mb": 300.0},
            {"preset": "<b>", "labels": 100000, "train_s": 20.0, "hsj_s": 3.0, "peak_rss_mb": "Error: x"},
            {"preset": "c", "error": "MemoryError"}]
    html = scale_plot_html({"machine": {"load_average_1_5_15": [1.0]}, "presets": rows})
    spec = json.loads(re.search(r'Plotly.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*\{', html, re.S).group(1))
    lines = {t["name"]: t for t in spec if t.get("mode") == "lines+markers"}
    assert set(lines) == {"train_s (s)", "hsj_s (s)"}  # a cost measured on fewer than two presets is no line
    assert lines["train_s (s)"]["x"] == [1000, 100000] and lines["train_s (s)"]["y"] == [2.0, 20.0]
    assert "&lt;b&gt;" in lines["hsj_s (s)"]["text"][1]  # names drawn as text, never markup
    assert '"type":"log"' in html.replace(" ", "") and "<b>" not in json.dumps(spec)
    assert [t["x"] for t in spec if t["name"].startswith("goal: hsj_s")] == [[670091]]
    # the CLI refuses a plot that cannot be written before any preset is measured
    (tmp_path / "a-file").write_text("")
    assert main(["bench", "--scale", "eurlex-4k", "--scale-plot", str(tmp_path / "a-file" / "x.html")]) == 2


@pytest.mark.slow
def test_ray_runs_on_a_tiny_preset_match_the_local_run(tmp_path):
    """Robustness and faithfulness over 2 documents in this process and on local Ray clusters of 1 and 2
    workers: timed, and the same numbers each time."""
    pytest.importorskip("ray")
    row = measure_preset("eurlex-4k", n_docs=1, samples=30, hsj_docs=0, workdir=str(tmp_path), with_import=False,
                         ray_docs=2, **TINY)
    assert "error" not in row and row["ray_docs"] == 2
    assert row["ray1_same_numbers"] is True and row["ray2_same_numbers"] is True
    for k in ("robustness_local_s", "robustness_ray1_s", "robustness_ray2_s", "faithfulness_ray2_s",
              "robustness_ray_speedup_2_vs_1"):
        assert isinstance(row[k], float) and row[k] > 0, k
