"""The Explain page on a (tiny, real) X-Transformer: uncached explanations run as a background job
with progress and Cancel, fastest method first, each shown as soon as its first result is cached and
its faithfulness scores afterwards; a cancelled job is not restarted behind the user's back."""
from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP
from tests.helpers import isolated_store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def xtf_dirs(tmp_path_factory):
    import streamlit as st

    from engine import pipeline
    from engine.explain.bench import tiny_xtransformer
    from engine.models.store import ModelStore

    with isolated_store(tmp_path_factory.mktemp("xtrust-xtf")) as dirs:
        ModelStore(dirs["models"]).save(tiny_xtransformer(pipeline.load_dataset("bibtex"), n_docs=300), "bibtex",
                                        "xtransformer", {"note": "tiny test model", "variant": "baseline"})
        st.cache_data.clear()  # manifests cached by earlier tests describe another store
        yield dirs
        st.cache_data.clear()


def open_explain(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in {"dataset": "bibtex", "model": "xtransformer", "doc": "2", "page": "explain", **query}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def explain_job(at):
    from dashboard import jobs, state

    keys = [k for k in jobs._job_registry()[0] if k.startswith("explain:")]
    assert keys, "an uncached X-Transformer explanation starts a background job"
    return jobs.get(keys[-1])


def wait(job, seconds=120):
    deadline = time.time() + seconds
    while not job.done and time.time() < deadline:
        time.sleep(0.2)


def test_uncached_explanation_runs_in_the_background_then_renders(xtf_dirs):
    from engine.models.runtime import forget_model

    forget_model("bibtex", "xtransformer")  # not in memory: nothing is computed in the page run itself
    at = open_explain(doc="2")
    job = explain_job(at)
    shown = " ".join(str(c.value) for c in at.caption)
    assert "labels explained in" not in shown or job.done  # nothing rendered before the job ends
    wait(job)
    assert job.ok, job.error
    assert list(job.result) == ["whole", "lime", "attention"]  # every supported method, fastest first
    at = open_explain(doc="2")  # now cached on disk: rendered inline, no new job
    captions = " ".join(str(c.value) for c in at.caption)
    assert "labels explained in" in captions
    assert [s.value for s in at.subheader][:3] == ["Whole score", "LIME", "Attention"]


def test_the_first_method_is_shown_before_the_others_finish(xtf_dirs, monkeypatch):
    from engine import pipeline
    from engine.explain import registry

    gate = threading.Event()
    lime = registry.EXPLAINERS["lime"]

    def slow_lime(*args, **kwargs):
        gate.wait(120)
        return lime.run(*args, **kwargs)

    monkeypatch.setitem(registry.EXPLAINERS, "lime", dataclasses.replace(lime, run=slow_lime))
    at = open_explain(doc="4")
    job = explain_job(at)
    kw = dict(top_k=5, samples=500, n_features=10, seed=0)
    deadline = time.time() + 60
    while pipeline.cached_explanation("bibtex", "xtransformer", 4, method="whole", **kw) is None:
        assert time.time() < deadline and not job.done, job.error
        time.sleep(0.1)
    at.run()
    assert not at.exception
    captions = [str(c.value) for c in at.caption]
    assert sum("labels explained in" in c for c in captions) == 1  # the whole-score attribution, at once
    assert any("faithfulness scores: computing" in c for c in captions)  # its scores come later
    assert sum("waiting" in c for c in captions) == 2  # LIME (held back here), then attention
    assert not [d for d in at.dataframe if "comprehensiveness" in d.value.columns]
    assert not job.done
    gate.set()
    wait(job)
    assert job.ok, job.error
    at.run()
    captions = [str(c.value) for c in at.caption]
    assert sum("labels explained in" in c for c in captions) == 3
    assert not any("faithfulness scores: computing" in c for c in captions)
    faith = next(d.value for d in at.dataframe if "comprehensiveness" in d.value.columns)
    assert set(faith["method"]) == {"Whole score", "LIME", "Attention"}
    for m in ("whole", "lime", "attention"):  # each complete entry is cached: asking again is instant
        assert pipeline.explanation_is_cached("bibtex", "xtransformer", 4, method=m, **kw)


def test_with_the_model_in_memory_the_whole_score_is_on_the_first_page_run(xtf_dirs, monkeypatch):
    """The fastest method (whole score, under a second) is computed in the page run when the model is loaded,
    so it is on the page when the first run ends; the slower methods follow from the background job. A model
    that is not in memory is never loaded by the page run itself (the job does it, with progress)."""
    from engine import pipeline
    from engine.explain import registry

    gate = threading.Event()
    lime = registry.EXPLAINERS["lime"]
    monkeypatch.setitem(registry.EXPLAINERS, "lime",
                        dataclasses.replace(lime, run=lambda *a, **k: gate.wait(120) and lime.run(*a, **k)))
    pipeline.get_model("bibtex", "xtransformer")
    assert pipeline.model_is_loaded("bibtex", "xtransformer")
    try:
        at = open_explain(doc="8")
        captions = [str(c.value) for c in at.caption]
        assert sum("labels explained in" in c for c in captions) == 1, captions  # whole, in the first run
        assert [s.value for s in at.subheader][:3] == ["Whole score", "LIME", "Attention"]
        job = explain_job(at)
        assert not job.done  # LIME (held back) and attention still run in the background
        kw = dict(top_k=5, samples=500, n_features=10, seed=0)
        whole = pipeline.cached_explanation("bibtex", "xtransformer", 8, method="whole", **kw)
        assert whole is not None and whole.faithfulness_pending  # cached at once; its scores come from the job
    finally:
        gate.set()
    wait(job)
    assert job.ok, job.error


def test_the_attention_heatmap_waits_for_the_explanations(xtf_dirs, monkeypatch):
    """The page does not compute the heatmap while the explanation job runs (it loaded the model and ran
    a forward + backward pass per label in the page itself, holding the first explanation back 18 s)."""
    from engine import pipeline
    from engine.explain import registry

    gate = threading.Event()
    lime = registry.EXPLAINERS["lime"]
    monkeypatch.setitem(registry.EXPLAINERS, "lime",
                        dataclasses.replace(lime, run=lambda *a, **k: gate.wait(120) and lime.run(*a, **k)))
    heatmaps = []
    real = pipeline.attention_heatmap
    monkeypatch.setattr(pipeline, "attention_heatmap", lambda *a, **k: heatmaps.append(a) or real(*a, **k))
    at = open_explain(doc="6")
    job = explain_job(at)
    kw = dict(top_k=5, samples=500, n_features=10, seed=0)
    deadline = time.time() + 60
    while pipeline.cached_explanation("bibtex", "xtransformer", 6, method="whole", **kw) is None:
        assert time.time() < deadline and not job.done, job.error
        time.sleep(0.1)
    at.run()
    assert not at.exception and not job.done
    assert sum("labels explained in" in str(c.value) for c in at.caption) == 1  # the whole-score result
    heat = lambda: [c for c in at.get("plotly_chart") if c.key == "attn-heat"]  # noqa: E731
    assert heatmaps == [] and not heat()
    assert any("heatmap is drawn when the explanations above are done" in str(c.value) for c in at.caption)
    gate.set()
    wait(job)
    assert job.ok, job.error
    at.run()
    assert not at.exception and len(heatmaps) == 1 and heat()  # the tiny model reads its encoder: a heatmap
    # every attention map says how much of each label's score it can speak for
    from engine.explain.score_split import score_split

    am = pipeline.attention_heatmap("bibtex", "xtransformer", 6, top_k=5)
    shares = [round(100 * lab.encoder_share, 4) for lab in score_split(
        pipeline.get_model("bibtex", "xtransformer"), pipeline.load_dataset("bibtex").test.texts[6],
        am.label_ids).labels]
    assert am.encoder_share_pct == shares
    rows = json.loads(heat()[0].proto.spec)["data"][0]["y"]
    assert all(" · encoder " in r and r.endswith(" %") for r in rows), rows
    assert any("Attention explains only the encoder half" in str(c.value) for c in at.caption)
    # the attention column shows each label's share beside its words
    assert any("encoder share %" in d.value.columns and len(d.value) == len(am.label_ids) for d in at.dataframe)


def test_a_cancelled_explanation_stays_cancelled_until_try_again(xtf_dirs):
    from dashboard import jobs, state

    jobs._job_registry()[0].clear()
    at = open_explain(doc="3")
    job = explain_job(at)
    job.cancel()
    wait(job)
    assert job.cancelled
    at.run()
    assert not at.exception
    assert jobs.get(job.key) is job  # not restarted on rerun
    assert any("cancelled" in str(w.value) for w in at.warning)
    at.button(key="retry-explain").click().run()
    again = jobs.get(job.key)
    assert again is not job and not again.cancelled
    wait(again)
    assert again.ok, again.error
