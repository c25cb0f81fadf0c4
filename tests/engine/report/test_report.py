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


def test_robust_xtransformer_sits_beside_the_papers_robust_rows():
    from engine.report.build import render_markdown

    def metrics(p1, p5):
        return {"P@1": p1, "P@3": 0.4, "P@4": 0.35, "P@5": p5, "R@1": 0.2, "R@3": 0.4, "R@4": 0.45, "R@5": 0.5,
                "nDCG@5": 0.5, "PSP@5": 0.4}

    def attacked(p1, p5):
        return {"clean": metrics(0.7, 0.3), "attacked": metrics(p1, p5), "success_rate": 0.5, "queries_mean": 100.0,
                "perturbation_median": 0.2, "perturbation": "L2 in the feature view"}

    e = {"display_name": "BibTeX", "p_at_k_ceiling": {}, "train_seconds": {}, "augmentation": None, "example": None,
         "models": {"baseline": "xlinear", "robust": "xlinear-robust", "smoothed": None, "xtransformer": "xtransformer",
                    "xtransformer_robust": "xtransformer-robust"},
         "clean": {"baseline": metrics(0.65, 0.29), "robust": metrics(0.64, 0.28), "xtransformer": metrics(0.66, 0.3),
                   "xtransformer_robust": metrics(0.6123, 0.2777)},
         "attacked": {"hsj": {"baseline": attacked(0.1, 0.24), "robust": attacked(0.15, 0.23),
                              "xtransformer": attacked(0.05, 0.2424), "xtransformer_robust": attacked(0.2, 0.1919)}}}
    md = render_markdown({"n_attacked": 20, "seconds": 1, "datasets": {"bibtex": e}}, paper_numbers())
    robust_hsj = md.split("adversarially trained under HopSkipJump")[1].split("###")[0]
    assert "ours robust X-Transformer P@k" in robust_hsj and "| 5 |" in robust_hsj and "19.19" in robust_hsj
    baseline_hsj = md.split("baseline under HopSkipJump")[1].split("###")[0]
    assert "ours X-Transformer P@k" in baseline_hsj and "24.24" in baseline_hsj and "19.19" not in baseline_hsj
    assert "adversarially trained X-Transformer = `xtransformer-robust`" in md
    assert "| hsj | xtransformer_robust (`xtransformer-robust`) |" in md
