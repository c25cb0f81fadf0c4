"""``python -m engine bench --pages D --browser`` (engine/bench_pages.py + dashboard/browser_timing.py): every
page opened by URL in headless Chromium against a real server, timed until drawn and settled, on a generated
dataset with a few thousand labels (the mid and Amazon-670K presets are measured by the benchmark, not in CI)."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import pipeline

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian chromium"),
]


@pytest.fixture(scope="module")
def generated(xtrust_dirs):
    from engine.data.synthetic import generate_dataset

    generate_dataset("eurlex-4k", name="browser-3000", n_labels=3000, n_features=1000, n_train=1000, n_test=100)
    pipeline.train_model("browser-3000", "xlinear")
    return "browser-3000"


def test_every_page_is_timed_in_a_real_browser(generated, tmp_path):
    from engine.bench_pages import format_browser_pages, measure_pages_in_browser

    out = measure_pages_in_browser(generated, "xlinear", screenshots=tmp_path, timeout_s=600)
    assert list(out["pages"]) == ["overview", "predict", "explain", "attack", "compare", "your-data"]
    for page, r in out["pages"].items():
        for visit in ("first", "again"):
            assert 0 < r[visit]["seconds"] < 120, (page, r)
            assert r[visit]["text_chars"] > 100 and not r[visit]["problems"], (page, r)
        assert (tmp_path / f"{generated}-{page}.png").stat().st_size > 10_000  # what the page showed
    ref = out["reference"]  # Streamlit's own cost of a page in this browser, timed the same way
    assert 0 < ref["first"]["seconds"] < 60 and ref["first"]["text_chars"] > 0 and not ref["first"]["problems"]
    assert out["warmup_s"] > 0 and out["slowest_first_s"] == max(r["first"]["seconds"] for r in out["pages"].values())
    table = format_browser_pages(out)
    assert "| explain |" in table and "goal <= 2 s" in table and "| reference: a page that does nothing |" in table


def test_a_model_that_is_not_there_is_named_before_any_browser_starts(generated):
    from engine.bench_pages import measure_pages_in_browser
    from engine.errors import InputError

    with pytest.raises(InputError, match="no saved model 'xtransformer'"):
        measure_pages_in_browser(generated, "xtransformer")
    with pytest.raises(InputError, match="unknown dataset"):
        measure_pages_in_browser("no-such-dataset", "xlinear")
