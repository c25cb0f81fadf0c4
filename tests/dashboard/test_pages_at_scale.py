"""Every page renders on a generated dataset with many labels, and what a page sends to the browser does
not grow with the label count (issue 16): the same preset at 300 and 3,000 labels, XR-Linear trained on
each in seconds, every page opened in a fresh app session (dashboard/page_timing.py)."""
from __future__ import annotations

import pytest

from dashboard.page_timing import PAGES, render_page
from engine import pipeline

SIZES = (300, 3000)


@pytest.fixture(scope="module")
def scaled(xtrust_dirs):
    from engine.data.synthetic import generate_dataset

    names = []
    for n_labels in SIZES:
        name = f"scale-{n_labels}"
        generate_dataset("eurlex-4k", name=name, n_labels=n_labels, n_features=1000, n_train=1000, n_test=100)
        pipeline.train_model(name, "xlinear")
        names.append(name)
    return names


@pytest.mark.parametrize("page", PAGES)
def test_page_payload_does_not_grow_with_the_label_count(scaled, page):
    small, large = (render_page(page, name, "xlinear") for name in scaled)
    for r in (small, large):
        assert not r["problems"], r["problems"]
        assert r["title"]
    # on main the sidebar offered every label in a selectbox (3,001 options) and the Overview drew a bar
    # per label; now labels are found by typing and the chart keeps at most FREQUENCY_POINTS ranks
    assert large["most_options"] <= 50, large
    assert large["bytes"] <= 1.5 * small["bytes"] + 8 * 1024, (small, large)


def test_sidebar_finds_a_label_by_typing(scaled):
    from streamlit.testing.v1 import AppTest

    from tests.dashboard.conftest import APP

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"dataset": scaled[1], "model": "xlinear", "page": "overview"})
    at.session_state["sel_search_label_query"] = "label2999"
    at.run()
    assert not at.exception
    labels = at.selectbox(key="w_sel_search_label")
    docs = int(pipeline.load_dataset(scaled[1]).label_train_counts[2999])
    assert labels.options == ["(any)", f"eurlex-4k-label2999 ({docs:,} training docs)"]  # the one match, not 3,001
    labels.set_value("eurlex-4k-label2999").run()
    assert at.session_state["sel_search_label"] == "eurlex-4k-label2999" and not at.exception
