"""Integration: real PECOS on real BibTeX through the pipeline and the CLI."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine import pipeline
from engine.errors import InputError, ModelError

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trained():
    return pipeline.train_model("bibtex", "xlinear")


def test_full_bibtex_metrics_are_sane(trained):
    m = trained.manifest["metrics"]
    # XR-Linear on sublinear TF-IDF reaches ~63.5 P@1 on the official split (README table)
    assert 0.60 < m["P@1"] < 0.70 and m["P@1"] > m["P@3"] > m["P@5"]
    assert m["R@1"] < m["R@3"] < m["R@5"] <= 1 and 0 < m["PSP@5"] <= 1 and 0 < m["nDCG@5"] <= 1
    man = trained.manifest
    assert man["data_checksums"]["bibtex/bibtex-train.arff"].startswith("8dcc9de6")
    assert man["params"]["seed"] == 0 and man["train_seconds"] > 0 and man["n_train"] == 4880


def test_predict_document_and_search(trained):
    doc, pred, paths = pipeline.predict_document("bibtex", "xlinear", 3, top_k=4)
    assert doc.index == 3 and len(pred.labels) == 4 and len(paths) == 4
    assert any(x.is_true for x in pred.labels)
    ids = pipeline.search_documents("bibtex", word="graph")
    assert ids and all("graph" in pipeline.load_dataset("bibtex").test.texts[i].split() for i in ids)
    lab = pipeline.search_documents("bibtex", label="TAG_granular")
    assert 3 in lab
    with pytest.raises(InputError):
        pipeline.search_documents("bibtex", label="TAG_nope")
    with pytest.raises(InputError):
        pipeline.predict_document("bibtex", "xlinear", 99999)
    with pytest.raises(ModelError):
        pipeline.predict_document("bibtex", "no-such-model", 0)
    assert pipeline.predict_text("bibtex", "xlinear", "graph mining social networks", 3).labels
    with pytest.raises(InputError, match="empty"):
        pipeline.predict_text("bibtex", "xlinear", " \x00\x07 ")
    stats = pipeline.dataset_stats("bibtex")
    freq = stats["label_frequency"]
    assert stats["n_train"] == 4880 and freq["n_labels"] == 159 and len(freq["rank"]) == 159  # every rank: L <= 256


def test_cli_train_and_evaluate_json(trained):
    r = _cli("evaluate", "--dataset", "bibtex", "--model", "xlinear", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for k in ("P@1", "P@5", "R@5", "nDCG@3", "PSP@5"):
        assert 0 <= out[k] <= 1
    assert out["P@1"] == pytest.approx(trained.manifest["metrics"]["P@1"])
    r = _cli("train", "--dataset", "mediamill", "--model", "xlinear", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metrics"]["P@1"] > 0.5


def test_cli_errors_are_messages_not_tracebacks():
    for args in (("evaluate", "--dataset", "nope"), ("evaluate", "--dataset", "bibtex", "--model", "ghost"),
                 ("train", "--dataset", "mediamill", "--model", "xtransformer")):
        r = _cli(*args)
        assert r.returncode == 2 and "error: " in r.stderr and "Traceback" not in r.stderr, r.stderr
