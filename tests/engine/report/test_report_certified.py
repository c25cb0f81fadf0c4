"""The report's certified P@k table and robustness-by-label-frequency table (issue 13, items 5 and 7)."""
import json

import pytest

from engine.models.store import ModelStore
from engine.report.build import CERT_RADII, build_report, paper_numbers, render_markdown


def _entry():
    cert = {"radii": list(CERT_RADII), "certified_P@k": [0.30, 0.2, 0.1, 0.0123], "smoothed_P@k": 0.31,
            "clean_P@k": 0.4444, "top_k": 5, "n": 7, "seconds_per_doc": 1.25,
            "params": {"sigma": 0.25, "n0": 100, "n": 1000, "alpha": 0.001, "top_k": 5, "seed": 0}}
    bins = [{"name": b, "n_labels": 53, "train_frequency_min": lo, "train_frequency_max": hi, "true_pairs": 9,
             "clean_hits": 6, "attacked_hits": 3, "kept_hits": 3, "kept_share": ks, "clean_p_at_k_part": 0.2,
             "attacked_p_at_k_part": 0.1, "predicted": 20, "removed_share": 0.5, "top1_documents": 4,
             "success_rate": 0.5} for b, lo, hi, ks in (("head", 50, 900, 0.5), ("torso", 20, 49, 0.25),
                                                        ("tail", 1, 19, None))]
    freq = {"top_k": 5, "goal": "topk", "n": 7, "bins": bins}
    return {"display_name": "BibTeX", "p_at_k_ceiling": {}, "train_seconds": {}, "augmentation": None,
            "example": None, "attacked": {}, "clean": {},
            "models": {"baseline": "xlinear", "robust": "xlinear-robust", "smoothed": None, "xtransformer": None},
            "certified": {"baseline": cert, "robust": {"error": "the model is damaged"}},
            "by_frequency": {"baseline": freq}}


def test_certified_and_frequency_tables_are_rendered_in_percent():
    md = render_markdown({"n_attacked": 7, "seconds": 1, "datasets": {"bibtex": _entry()}}, paper_numbers())
    cert = md.split("### Certified P@5")[1].split("###")[0]
    assert "certified P@5 at r = 0.25" in cert and "σ = 0.25" in cert and "7 test documents" in cert
    assert "| baseline (`xlinear`) | 44.44 | 31.00 | 30.00 | 20.00 | 10.00 | 1.23 | 1.25 |" in cert
    assert "| robust | the model is damaged |" in cert
    freq = md.split("### Robustness by label frequency")[1].split("###")[0]
    assert "| baseline (`xlinear`) | head | 53 | 50–900 | 20.00 | 10.00 | 50.00 | 50.00 |" in freq
    assert "| tail | 53 | 1–19 | 20.00 | 10.00 | – |" in freq  # no correct tail label: "–", not 0


def test_old_results_without_certificates_still_render():
    e = _entry()
    del e["certified"], e["by_frequency"]
    md = render_markdown({"n_attacked": 7, "seconds": 1, "datasets": {"bibtex": e}}, paper_numbers())
    assert "Certified P@" not in md and "label frequency" not in md


@pytest.mark.slow
def test_report_certifies_and_splits_by_frequency_on_real_models(tmp_path):
    out = build_report(("mediamill",), tmp_path / "rep", n=2, quick=False, store=ModelStore(tmp_path / "models"))
    res = json.loads(open(out["json"]).read())["datasets"]["mediamill"]
    for role in ("baseline", "robust"):
        c = res["certified"][role]
        assert c["n"] == 2 and c["radii"] == list(CERT_RADII)
        assert all(a >= b for a, b in zip(c["certified_P@k"], c["certified_P@k"][1:]))
        assert c["certified_P@k"][0] <= c["smoothed_P@k"] <= 1
        f = res["by_frequency"][role]
        assert [b["name"] for b in f["bins"]] == ["head", "torso", "tail"]
        assert abs(sum(b["attacked_p_at_k_part"] for b in f["bins"]) - f["attacked_p_at_k"]) < 1e-9
    md = open(out["markdown"]).read()
    assert "### Certified P@5" in md and "### Robustness by label frequency under hsj" in md
    assert "<th>certified P@5 at r = 0.25</th>" in open(out["html"]).read()
