"""Ready at first start (engine/models/first_start.py + dashboard/app.py): with XTRUST_AUTO_TRAIN on, the
first page load trains the default dataset's X-Transformer in the background, exactly once across
sessions (a claim file with the writer's pid + start time), with its progress, time left and Cancel in
the sidebar; a claim left by a dead process is taken over; XTRUST_AUTO_TRAIN=0 (the test suite's
setting) turns it off. The trainer is injected: a tiny real X-Transformer, trained once here."""
from __future__ import annotations

import json
import shutil
import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP
from tests.helpers import dead_writer_tag, isolated_store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import streamlit as st

    from engine import pipeline
    from engine.explain.bench import tiny_xtransformer

    with isolated_store(tmp_path_factory.mktemp("xtrust-first")) as dirs:
        st.cache_data.clear()  # manifests cached by earlier tests describe another store
        yield tiny_xtransformer(pipeline.load_dataset("bibtex"), n_docs=300)
        st.cache_data.clear()


class Trainer:
    """An injected first-start trainer: reports progress, waits until released (or cancelled), then
    saves the tiny X-Transformer as bibtex/xtransformer."""

    def __init__(self, model):
        self.model, self.calls, self.release = model, 0, threading.Event()

    def __call__(self, dataset, store, progress):
        from engine.errors import Cancelled

        self.calls += 1
        while not self.release.wait(0.05):
            if progress(0.3, "fine-tuning the encoder") is False:
                raise Cancelled("cancelled")
        return store.save(self.model, dataset, "xtransformer", {"note": "tiny test model", "variant": "baseline"})


@pytest.fixture()
def trainer(tiny, monkeypatch):
    import streamlit as st

    from dashboard import jobs
    from engine.models import first_start
    from engine.models.runtime import forget_model
    from engine.models.store import ModelStore

    t = Trainer(tiny)
    monkeypatch.setattr(first_start, "trainer", t)
    monkeypatch.setenv(first_start.ENV, "1")
    yield t
    t.release.set()
    for job in jobs.running("first-start:"):
        deadline = time.time() + 30
        while job.running and time.time() < deadline:
            time.sleep(0.05)
    store = ModelStore()
    shutil.rmtree(store.folder("bibtex", "xtransformer"), ignore_errors=True)
    forget_model("bibtex", "xtransformer", store)
    for p in store.folder("bibtex", "xlinear").parent.glob(".first-start-*"):
        p.unlink()
    st.cache_data.clear()


def open_page(page: str, model: str = "xlinear") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in {"dataset": "bibtex", "model": model, "doc": "0", "page": page}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def until(cond, seconds=30.0):
    deadline = time.time() + seconds
    while not cond() and time.time() < deadline:
        time.sleep(0.05)
    assert cond()


def sidebar_progress(at: AppTest) -> list[str]:
    return [p.text for p in at.sidebar.get("progress")]


def test_trains_once_across_sessions_with_progress_in_the_sidebar(trainer):
    from dashboard import jobs
    from engine import pipeline

    first = open_page("overview")
    until(lambda: trainer.calls == 1)
    assert [j.key for j in jobs.running("first-start:")] == ["first-start:bibtex"]
    until(lambda: getattr(pipeline.first_start_status("bibtex"), "fraction", 0) == 0.3)
    second = open_page("explain")  # another browser session: sees the run, starts none
    time.sleep(0.3)
    assert trainer.calls == 1
    shown = sidebar_progress(second)
    assert shown and "Training the X-Transformer for bibtex" in shown[0] and "30%" in shown[0] and "left" in shown[0]
    assert second.sidebar.button(key="first-start-cancel")
    # the page that needs it says how long until it is ready
    assert any("ready in about" in str(i.value) for i in second.info)
    assert "first-start-cancel" in [b.key for b in first.sidebar.button]
    trainer.release.set()
    until(lambda: pipeline.first_start_status("bibtex") is None)
    until(lambda: not jobs.running("first-start:"))
    third = open_page("predict", model="xtransformer")
    assert trainer.calls == 1 and not sidebar_progress(third)
    assert third.session_state["sel_model"] == "xtransformer"  # the trained model is offered at once


def test_cancel_from_the_sidebar_stops_it_until_asked_again(trainer):
    from engine import pipeline

    at = open_page("overview")
    until(lambda: trainer.calls == 1)
    assert sidebar_progress(at)
    at.sidebar.button(key="first-start-cancel").click().run()
    until(lambda: getattr(pipeline.first_start_status("bibtex"), "state", "") == "cancelled")
    again = open_page("overview")  # no restart behind the user's back
    assert trainer.calls == 1
    assert any("cancelled" in str(c.value) for c in again.sidebar.caption)
    again.sidebar.button(key="first-start-again").click().run()
    until(lambda: trainer.calls == 2)


def test_a_stale_claim_of_a_dead_server_is_taken_over(trainer):
    from engine import pipeline
    from engine.atomic import writer_tag

    path = pipeline.first_start.claim_path("bibtex")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"state": "running", "writer": dead_writer_tag(), "started": time.time() - 60,
                                "fraction": 0.5, "message": "fine-tuning"}))
    assert pipeline.first_start_status("bibtex").alive is False
    open_page("overview")
    until(lambda: trainer.calls == 1)
    assert pipeline.first_start_status("bibtex").writer == writer_tag()
    assert not list(path.parent.glob(path.name + ".stale-*"))


def test_off_when_the_environment_says_so(trainer, monkeypatch):
    from dashboard import jobs
    from engine import pipeline

    monkeypatch.setenv(pipeline.AUTO_TRAIN_ENV, "0")
    at = open_page("overview")
    time.sleep(0.3)
    assert trainer.calls == 0 and pipeline.first_start_status("bibtex") is None
    assert not jobs.running("first-start:") and not sidebar_progress(at)


def test_only_one_of_two_claims_wins(trainer):
    from engine import pipeline

    assert pipeline.claim_first_start("bibtex") is True
    assert pipeline.claim_first_start("bibtex") is False  # this process already holds it
    assert pipeline.claim_first_start("delicious") is False  # only the default dataset trains by itself
    assert pipeline.first_start_status("bibtex").running
    pipeline.first_start.claim_path("bibtex").unlink()


@pytest.fixture()
def child_run(tiny, trainer, monkeypatch, tmp_path):
    """The dashboard's real path: the training runs in a child process (tests.helpers.first_start_in_a_child
    stands in for pipeline.run_first_start there); the file ``release`` lets it finish."""
    from engine import pipeline
    from engine.models.store import ModelStore
    from tests import helpers

    source = ModelStore(tmp_path / "source")
    source.save(tiny, "bibtex", "xtransformer", {"note": "tiny test model", "variant": "baseline"})
    release = tmp_path / "release"
    monkeypatch.setenv("XTRUST_TEST_RELEASE", str(release))
    monkeypatch.setenv("XTRUST_TEST_MODEL_SOURCE", str(source.root))
    monkeypatch.setattr(pipeline, "run_first_start", helpers.first_start_in_a_child)
    monkeypatch.setattr(pipeline, "first_start_in_child", lambda: True)
    yield release
    release.touch()


def _handed_over() -> bool:
    from engine.models import first_start

    s = first_start.status("bibtex")
    return s is not None and s.running and s.writer != first_start.claimant()


def test_the_training_runs_in_a_child_process_that_takes_the_claim_over(child_run):
    """A training thread held the interpreter lock and slowed every session's pages while it ran: the
    server claims, a child process trains and takes the claim over (its death makes the claim stale);
    the sidebar shows the child's progress; the model it saves is served."""
    import os

    from dashboard import jobs
    from engine import pipeline

    open_page("overview")
    until(_handed_over, 60)
    writer_pid = int(pipeline.first_start_status("bibtex").writer.split("+")[0])
    assert writer_pid != os.getpid()
    assert [j.key for j in jobs.running("first-start:")] == ["first-start:bibtex"]
    until(lambda: getattr(pipeline.first_start_status("bibtex"), "fraction", 0) == 0.3)
    shown = sidebar_progress(open_page("explain"))  # another session: the child's progress, no second run
    assert shown and "Training the X-Transformer for bibtex" in shown[0] and "30%" in shown[0]
    child_run.touch()
    until(lambda: pipeline.first_start_status("bibtex") is None, 60)
    until(lambda: not jobs.running("first-start:"), 60)
    job = jobs.get("first-start:bibtex")
    assert job.ok and job.result.model_id == "xtransformer"  # the child's ModelInfo, rebuilt from JSON
    assert open_page("predict", model="xtransformer").session_state["sel_model"] == "xtransformer"


def test_a_cancel_request_reaches_the_child_and_stays(child_run):
    from engine import pipeline

    open_page("overview")
    until(_handed_over, 60)
    at = open_page("overview")
    at.sidebar.button(key="first-start-cancel").click().run()
    until(lambda: getattr(pipeline.first_start_status("bibtex"), "state", "") == "cancelled", 60)
    assert not pipeline.first_start.wanted("bibtex")  # not restarted behind the user's back


def test_a_child_stopped_by_its_server_leaves_no_claim_so_the_next_start_trains_again(child_run):
    """Stopped by its server (the job's stop, or the server's exit closing the child's stdin), not by a
    cancel request: the claim is removed, so the next page load of any server starts it again."""
    from engine import pipeline
    from engine.errors import Cancelled
    from engine.child_process import run_in_child
    from tests import helpers

    assert pipeline.claim_first_start("bibtex")
    with pytest.raises(Cancelled):
        run_in_child(helpers.first_start_in_a_child, "bibtex", handed_over_from=pipeline.first_start_claimant(),
                     progress=lambda f, m="": not _handed_over())
    assert pipeline.first_start_status("bibtex") is None and pipeline.first_start.wanted("bibtex")
