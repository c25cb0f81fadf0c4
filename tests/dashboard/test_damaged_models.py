"""One damaged saved model (valid JSON of the wrong shape, or no checksums) beside a good one: the
Overview, Predict and Compare pages still render, the damaged model is named with its reason, and
the good model keeps working."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.dashboard.test_pages import open_page, texts

DAMAGED = {"array": "[]", "family": '{"family": 3}', "metrics": "METRICS_STRING", "no-checksums": "NO_CHECKSUMS"}


@pytest.fixture()
def damaged_robust(xtrust_dirs, request):
    """models/bibtex/xlinear-robust: a copy of the good model with a damaged manifest; removed after."""
    from dashboard import state as S

    good = xtrust_dirs["models"] / "bibtex" / "xlinear"
    bad = good.parent / "xlinear-robust"
    shutil.copytree(good, bad)
    m = json.loads((good / "manifest.json").read_text())
    text = {"METRICS_STRING": json.dumps({**m, "model_id": "xlinear-robust", "metrics": "great"}),
            "NO_CHECKSUMS": json.dumps({k: v for k, v in m.items() if k != "file_checksums"})}.get(request.param,
                                                                                                 request.param)
    (bad / "manifest.json").write_text(text)
    S.clear_model_caches()  # AppTest runs in this process: listings cached by another test must go
    try:
        yield bad
    finally:
        shutil.rmtree(bad)
        S.clear_model_caches()


@pytest.mark.parametrize("damaged_robust", list(DAMAGED.values()), ids=list(DAMAGED), indirect=True)
def test_pages_render_beside_a_damaged_model(damaged_robust):
    at = open_page("overview")   # open_page asserts that the page ran without an exception
    shown = texts(at)
    assert "`xlinear-robust`" in shown and "damaged" in shown
    df = next(d.value for d in at.dataframe if "model" in d.value.columns)
    assert list(df["id"]) == ["xlinear"] and 55 < float(df["P@1"].iloc[0]) < 75  # the good one, real metrics
    assert "XR-Linear (adversarially trained)" in at.selectbox(key="train_choice").options  # offered for retraining

    at = open_page("predict")
    assert len(next(d.value for d in at.dataframe if "label-tree path" in d.value.columns)) == 5

    at = open_page("compare")
    assert "damaged" in texts(at) and not [e for e in at.error if "unexpectedly" in str(e.value)]
