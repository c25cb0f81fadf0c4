"""Progressive explanations (engine/explain/api.py): the first result (weights, top words, scores) is
cached and returned before faithfulness is computed; the faithfulness scores then complete the same
cache entry from the stored weights, without running the method again."""
from __future__ import annotations

import dataclasses
import json
import math

import pytest

from engine.explain import registry
from engine.explain.api import cache_has, cached_explanation, explain_document

pytestmark = pytest.mark.slow  # trains BibTeX + MediaMill XR-Linear once (~5 s)


@pytest.fixture()
def result_cache(tmp_path, monkeypatch):
    import engine.paths

    monkeypatch.setattr(engine.paths, "cache_dir", lambda: tmp_path)
    return tmp_path


@pytest.mark.parametrize("dataset,method", [("bibtex", "lime"), ("bibtex", "whole"), ("mediamill", "lime")])
def test_first_result_then_faithfulness_in_the_same_entry(bibtex_store, result_cache, monkeypatch, dataset, method):
    kw = dict(method=method, top_k=3, samples=60, n_features=4, seed=2, store=bibtex_store)
    assert cached_explanation(dataset, "xlinear", 4, **kw) is None
    first = explain_document(dataset, "xlinear", 4, with_faithfulness=False, **kw)
    assert first.faithfulness_pending and len(first.labels) == 3
    for lab in first.labels:
        assert lab.weights and math.isnan(lab.comprehensiveness) and lab.deletion_curve == [] and not lab.random_baseline
    same = lambda a, b: json.dumps(a.to_json()) == json.dumps(b.to_json())  # noqa: E731 (NaN != NaN in ==)
    assert same(cached_explanation(dataset, "xlinear", 4, **kw), first)  # cached at once
    assert cache_has(dataset, "xlinear", 4, complete=False, **kw) and not cache_has(dataset, "xlinear", 4, **kw)

    def must_not_run(*a, **k):
        raise AssertionError("the method ran again: faithfulness must come from the cached weights")

    spec = registry.EXPLAINERS[method]
    monkeypatch.setitem(registry.EXPLAINERS, method, dataclasses.replace(spec, run=must_not_run))
    full = explain_document(dataset, "xlinear", 4, **kw)
    monkeypatch.setitem(registry.EXPLAINERS, method, spec)
    assert not full.faithfulness_pending and cache_has(dataset, "xlinear", 4, **kw)
    assert cached_explanation(dataset, "xlinear", 4, **kw) == full  # the entry was rewritten complete
    assert [lab.weights for lab in full.labels] == [lab.weights for lab in first.labels]
    # the same scores as one uncached call that does both stages at once
    direct = explain_document(dataset, "xlinear", 4, use_cache=False, **kw)
    for a, b in zip(full.labels, direct.labels):
        assert a.comprehensiveness == pytest.approx(b.comprehensiveness)
        assert a.random_baseline == pytest.approx(b.random_baseline)
        assert a.deletion_curve == b.deletion_curve and a.score == pytest.approx(b.score)
        assert not math.isnan(a.comprehensiveness)


def test_a_complete_entry_answers_a_first_result_request(bibtex_store, result_cache):
    kw = dict(method="whole", top_k=2, n_features=3, store=bibtex_store)
    full = explain_document("bibtex", "xlinear", 6, **kw)
    assert explain_document("bibtex", "xlinear", 6, with_faithfulness=False, **kw) == full
