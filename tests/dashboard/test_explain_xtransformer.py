"""The Explain page on a (tiny, real) X-Transformer: uncached explanations run as a background job
with progress and Cancel; a cancelled job is not restarted behind the user's back."""
from __future__ import annotations

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
    at = open_explain(doc="2")
    job = explain_job(at)
    shown = " ".join(str(c.value) for c in at.caption)
    assert "labels explained in" not in shown or job.done  # nothing rendered before the job ends
    wait(job)
    assert job.ok, job.error
    assert set(job.result) == {"lime", "attention"}
    at = open_explain(doc="2")  # now cached on disk: rendered inline, no new job
    captions = " ".join(str(c.value) for c in at.caption)
    assert "labels explained in" in captions
    assert [s.value for s in at.subheader][:2] == ["LIME", "Attention"]


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
