import json
import re

import pytest

from engine.models.store import ModelStore
from engine.report.build import build_report, paper_numbers


def test_paper_numbers_file_is_complete():
    p = paper_numbers()
    assert sorted(r["table"] for r in p["results"]) == list(range(6, 24))
    t19 = next(r for r in p["results"] if r["table"] == 19)
    assert (t19["dataset"], t19["attack"], t19["k"]["5"]) == ("bibtex", "hsj", [0.4010, 0.2177])
    assert [a["table"] for a in p["augmentation"]] == [1, 2, 3, 4]


@pytest.mark.slow
def test_report_on_mediamill_sample(tmp_path):
    out = build_report(("mediamill",), tmp_path / "rep", n=3, store=ModelStore(tmp_path / "models"))
    md = open(out["markdown"]).read()
    assert "Table 6" in md and "74.20" in md and "2,500-row sample" in md
    assert "Table 9" in md and "P@k and R@k of one ranking cannot all be equal" in md
    res = json.loads(open(out["json"]).read())["datasets"]["mediamill"]
    assert res["models"]["robust"] == "xlinear-robust" and res["clean"]["baseline"]["P@1"] > 0.5
    assert res["attacked"]["hsj"]["baseline"]["n"] == 3
    ceil = res["p_at_k_ceiling"]  # MediaMill sample: some test rows have no label
    assert 0.9 < ceil["1"] <= 1 and 0 < ceil["5"] < ceil["1"]
    html = open(out["html"]).read()
    assert "<table>" in html and "Plotly" in html
    assert not re.search(r"<script[^>]+src=[\"']https?://", html)  # nothing fetched from a CDN
