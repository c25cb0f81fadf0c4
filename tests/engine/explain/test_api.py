import json
import subprocess
import sys
import time

import numpy as np
import pytest

from engine.errors import InputError, ModelError
from engine.explain.api import explain_document, explain_input
from engine.explain.result import DocumentExplanation

pytestmark = pytest.mark.slow  # trains BibTeX + MediaMill XR-Linear once (~5 s)


def test_explain_document_json_shape_and_cache(bibtex_store, bibtex):
    t0 = time.perf_counter()
    ex = explain_document("bibtex", "xlinear", 5, top_k=3, samples=100, n_features=4, store=bibtex_store)
    first = time.perf_counter() - t0
    d = ex.to_json()
    assert d["doc"] == 5 and d["method"] == "lime" and len(d["labels"]) == 3
    for lab in d["labels"]:
        assert {"label", "score", "weights", "comprehensiveness", "sufficiency", "deletion_auc"} <= set(lab)
        assert lab["label"] in bibtex.label_names and len(lab["weights"]) == 4
        assert all(isinstance(w, str) and isinstance(v, float) for w, v in lab["weights"])
    truth = set(bibtex.test.Y[5].indices.tolist())
    assert [lab.is_true for lab in ex.labels] == [lab.label_id in truth for lab in ex.labels]
    assert DocumentExplanation.from_json(json.loads(json.dumps(d))) == ex
    t0 = time.perf_counter()
    again = explain_document("bibtex", "xlinear", 5, top_k=3, samples=100, n_features=4, store=bibtex_store)
    assert again == ex and time.perf_counter() - t0 < min(first, 0.5)
    other = explain_document("bibtex", "xlinear", 5, top_k=3, samples=100, n_features=4, seed=1, store=bibtex_store)
    assert other.labels[0].weights != ex.labels[0].weights


def test_chosen_labels_by_name_and_id(bibtex_store, bibtex):
    name = bibtex.label_names[bibtex.test.Y[2].indices[0]]
    ex = explain_document("bibtex", "xlinear", 2, samples=50, labels=[name, 0], store=bibtex_store)
    assert [lab.name for lab in ex.labels] == [name, bibtex.label_names[0]]
    assert ex.labels[0].is_true is True


def test_mediamill_lime_over_dense_features(bibtex_store):
    ex = explain_document("mediamill", "xlinear", 0, top_k=2, samples=100, n_features=5, store=bibtex_store)
    lab = ex.labels[0]
    assert len(lab.token_weights) == 120 and len(lab.weights) == 5
    assert any(op in lab.weights[0][0] for op in ("<", ">"))  # lime's discretised feature condition
    assert np.isfinite(lab.deletion_auc) and [c[0] for c in lab.deletion_curve] == list(range(0, 121, 2))


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "shap"}, "unknown explanation method"),
    ({"samples": 0}, "samples"),
    ({"samples": 20001}, "samples"),
    ({"n_features": 0}, "words to show"),
    ({"top_k": 0}, "top-k"),
    ({"top_k": 160}, "top-k"),
    ({"labels": [159]}, "not one of this model's labels"),
    ({"labels": ["no-such-tag"]}, "unknown label"),
    ({"method": "attention"}, "X-Transformer"),
    ({"index": 99999}, "does not exist"),
    ({"split": "dev"}, "split"),
    ({"seed": -1}, "seed"),
    ({"samples": 2.5}, "whole number"),
])
def test_bad_input_is_a_clear_error(bibtex_store, kwargs, match):
    args = {"dataset": "bibtex", "model_id": "xlinear", "index": 0, "samples": 20, **kwargs}
    with pytest.raises(InputError, match=match):
        explain_document(store=bibtex_store, **args)


def test_mediamill_attention_and_missing_model(bibtex_store):
    with pytest.raises(InputError, match="numeric features"):
        explain_document("mediamill", "xlinear", 0, method="attention", store=bibtex_store)
    with pytest.raises(ModelError, match="no saved model"):
        explain_document("bibtex", "xtransformer", 0, store=bibtex_store)


def test_document_with_no_words(small_xlinear):
    with pytest.raises(InputError, match="no words"):
        explain_input(small_xlinear, "", [0], samples=10)
    with pytest.raises(InputError, match="no words"):
        explain_input(small_xlinear, " -- ", [0], samples=10)


def test_dataset_document_with_empty_pseudo_text(bibtex_store, bibtex):
    from engine.data import load_dataset

    ds = load_dataset("bibtex")  # the cached object explain_document will load
    old = ds.test.texts[11]
    ds.test.texts[11] = ""
    try:
        with pytest.raises(InputError, match="document 11 of bibtex test has no words"):
            explain_document("bibtex", "xlinear", 11, samples=20, store=bibtex_store, use_cache=False)
    finally:
        ds.test.texts[11] = old


def test_cancel_keeps_no_result(bibtex_store, tmp_path, monkeypatch):
    from engine.errors import Cancelled

    monkeypatch.setenv("XTRUST_CACHE_DIR", str(tmp_path))
    with pytest.raises(Cancelled):
        explain_document("bibtex", "xlinear", 7, samples=50, store=bibtex_store, progress=lambda f, m: f < 0.5)
    assert not list(tmp_path.rglob("*.json"))


def test_cli_explain_json(bibtex_store, tmp_path):
    env = {"XTRUST_MODEL_DIR": str(bibtex_store.root), "XTRUST_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    base = [sys.executable, "-m", "engine", "explain", "--dataset", "bibtex", "--model", "xlinear", "--doc", "1",
            "--samples", "50", "--top-k", "2"]
    out = subprocess.run(base + ["--json"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["doc"] == 1 and len(d["labels"]) == 2
    human = subprocess.run(base, capture_output=True, text=True, env=env, timeout=120)
    assert "comprehensiveness" in human.stdout and d["labels"][0]["label"] in human.stdout
    bad = subprocess.run(base[:-2] + ["--top-k", "0"], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "top-k" in bad.stderr


def test_cli_faithfulness_table(bibtex_store, tmp_path):
    env = {"XTRUST_MODEL_DIR": str(bibtex_store.root), "XTRUST_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "engine", "faithfulness", "--dataset", "bibtex", "--model", "xlinear", "--docs", "2",
           "--samples", "40", "--top-k", "2", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["n_docs"] == 2 and set(res["table"]) == {"whole", "lime", "random"}  # every method XR-Linear supports
    assert res["table"]["lime"]["deletion_auc"] < res["table"]["random"]["deletion_auc"]
    assert res["cached_docs"] == 0
    # each document's explanation is cached: asking again (or resuming a cut-off run) recomputes nothing
    again = json.loads(subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120).stdout)
    assert again["cached_docs"] == 2 and again["table"] == res["table"]
    assert set(res["beats_random"]) == {"whole", "lime"} and 0.5 < res["beats_random"]["lime"]["deletion_auc"] <= 1.0
    human = subprocess.run(cmd[:-1], capture_output=True, text=True, env=env, timeout=120).stdout
    assert "wins / ties / losses" in human and "lime" in human
