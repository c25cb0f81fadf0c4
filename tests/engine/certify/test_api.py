"""certify_document / the certify CLI on a real (small) PECOS XR-Linear: cache, cancel, refusals."""
import json

import pytest

from engine.certify.api import certify_document
from engine.errors import Cancelled, InputError


def _certify(store, **kw):
    kw.setdefault("index", 0)
    kw.setdefault("n0", 20)
    kw.setdefault("n", 200)
    return certify_document("bibtex", "xlinear", store=store, **kw)


def test_gaussian_on_xlinear_is_cached_and_consistent(certify_store, certify_cache, bibtex):
    res = _certify(certify_store, sigma=0.02, radius=0.005)
    assert len(res.labels) == 5 and res.space == "features" and res.queries == 220
    truth = set(bibtex.test.Y[0].indices.tolist())
    assert res.n_true == len(truth) and 0 <= res.true_certified <= res.n_true
    for lab in res.labels:
        assert lab.is_true == (lab.label_id in truth)
        assert 0 <= lab.p_lower <= lab.count / 200 <= lab.p_upper <= 1
    assert any(lab.radius for lab in res.labels)  # sigma 0.02 keeps the top labels: something is certified
    assert res.certified_true_in_top_k == sum(1 for x in res.labels if x.is_true and x.radius and x.radius >= 0.005)
    files = list(certify_cache.rglob("*.json"))
    assert len(files) == 1 and "certify" in str(files[0])
    assert _certify(certify_store, sigma=0.02, radius=0.005) == res  # read back from the cache
    assert len(list(certify_cache.rglob("*.json"))) == 1
    _certify(certify_store, sigma=0.02, radius=0.005, seed=1)  # another parameter, another entry
    assert len(list(certify_cache.rglob("*.json"))) == 2


def test_cancel_keeps_nothing(certify_store, certify_cache):
    calls = []

    def progress(fraction, message=""):
        calls.append(fraction)
        return len(calls) < 3

    with pytest.raises(Cancelled):
        _certify(certify_store, n=2000, progress=progress)
    assert not list(certify_cache.rglob("*.json"))


@pytest.mark.parametrize("kw, match", [
    ({"sigma": 0}, "sigma"), ({"n": 10 ** 7}, "at most|in \\["), ({"alpha": 2}, "alpha"), ({"method": "ibp"}, "unknown"),
    ({"index": 10 ** 6}, "does not exist"), ({"top_k": 10 ** 4}, "top-k must be between"),
])
def test_bad_parameters(certify_store, certify_cache, kw, match):
    with pytest.raises(InputError, match=match):
        _certify(certify_store, **kw)


def test_wordnet_on_mediamill_is_refused(certify_store, certify_cache):
    with pytest.raises(InputError, match="numeric features"):
        certify_document("mediamill", "xlinear", 0, method="wordnet", store=certify_store)


def test_certify_subcommand(certify_store, certify_cache, monkeypatch, capsys):
    import engine.models.store as store_mod
    from engine.cli import main

    monkeypatch.setattr(store_mod, "model_dir", lambda: certify_store.root)
    argv = ["certify", "--dataset", "bibtex", "--model", "xlinear", "--doc", "1", "--sigma", "0.02", "--n0", "20",
            "--n", "200", "--radius", "0.005"]
    assert main(argv + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "gaussian" and len(out["labels"]) == 5 and out["params"]["sigma"] == 0.02
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "MultiGuard:" in text and "true labels provably stay in the top-5" in text
    assert main(["certify", "--dataset", "bibtex", "--doc", "1", "--sigma", "-1"]) == 2
    assert "error: sigma" in capsys.readouterr().err
    assert main(["certify", "--dataset", "bibtex", "--doc", "1", "--method", "wordnet", "--radius", "1.5"]) == 2
    assert "whole number" in capsys.readouterr().err
    assert main(["certify", "--dataset", "bibtex", "--model", "ghost", "--doc", "1"]) == 2
    assert "error: " in capsys.readouterr().err


def test_pipeline_lists_certificates():
    from engine import pipeline

    certs = pipeline.list_certificates()
    assert set(certs) == {"gaussian", "wordnet"}
    assert certs["gaussian"].space == "features" and certs["wordnet"].space == "text"
    assert certs["gaussian"].defaults["sigma"] == 0.25 and certs["wordnet"].defaults["radius"] == 1
