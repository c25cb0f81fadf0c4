"""Issue 15 (dashboard side): pages a new user can read. Numeric datasets speak of features, an
imported dataset can be deleted, free text shows the words the model ignores and can be explained
and attacked in place, and label names are shown without their ARFF prefix (downloads keep them)."""
from __future__ import annotations

import re
import time

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from tests.dashboard.test_pages import open_page, texts

TEXT = "learning children school education students teaching zzqxunknown"


def _csv(n=20) -> bytes:
    rows = ["text,labels"] + [f"\"graph neural network number {i}\",{'ml;graphs' if i % 2 else 'ml'}" for i in range(n)]
    return "\n".join(rows).encode()


def _wait(job, seconds=120):
    deadline = time.time() + seconds
    while not job.done and time.time() < deadline:
        time.sleep(0.2)
    assert job.done, f"{job.label} still running after {seconds} s"
    assert job.ok, job.error


def _downloads(monkeypatch) -> list[tuple[str, str]]:
    """(file name, text) of every file a page offers for download in the runs that follow."""
    seen: list[tuple[str, str]] = []
    add = MediaFileManager.add

    def record(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        data = path_or_data.decode() if isinstance(path_or_data, bytes) else str(path_or_data)
        seen.append((file_name or "", data))
        return add(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", record)
    return seen


# -- numeric data: feature wording --------------------------------------------------------------
def test_mediamill_attack_and_predict_pages_speak_of_features_not_words(xtrust_dirs):
    for page in ("attack", "predict"):
        at = open_page(page, dataset="mediamill", model="xlinear")
        t = texts(at)
        assert not re.search(r"\bwords?\b", t, re.I), (page, [ln for ln in t.splitlines() if "word" in ln.lower()])
    at = open_page("attack", dataset="mediamill", model="xlinear")
    assert "every attack here changes feature values" in texts(at)


def _render_explanation_app(expl_json: str, unit):
    import json

    from dashboard import components as C
    from engine.explain.result import DocumentExplanation

    C.render_explanation(DocumentExplanation.from_json(json.loads(expl_json)), key="t", unit=unit)


@pytest.mark.parametrize("unit", [None, "feature"])
def test_a_dense_explanation_shows_a_feature_table_not_a_paragraph(xtrust_dirs, unit):
    import json

    from engine import pipeline

    pipeline.ensure_model("mediamill", "xlinear")
    expl = pipeline.explain_document("mediamill", "xlinear", 0, method="lime", top_k=1, samples=100)
    at = AppTest.from_function(_render_explanation_app, args=(json.dumps(expl.to_json()), unit), default_timeout=60)
    at.run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "feature" in d.value.columns)
    assert len(table) == 120 and table["weight"].abs().is_monotonic_decreasing  # every MediaMill feature
    assert not [m for m in at.markdown if "xt-text" in str(m.value)]  # no 'Att1 Att2 …' paragraph
    assert "random-features baseline" in texts(at)
    assert all("features" in m.help and "words" not in m.help for m in at.metric)


def test_deletion_curve_axis_names_the_unit():
    from types import SimpleNamespace

    from dashboard import components as C

    le = SimpleNamespace(deletion_curve=[(0, 1.0, 1), (1, 0.5, 2)])
    assert C.deletion_curve(le).layout.xaxis.title.text == "words removed"  # the default stays
    assert C.deletion_curve(le, "feature").layout.xaxis.title.text == "features removed"


# -- deleting an imported dataset -----------------------------------------------------------------
def test_deleting_an_imported_dataset_from_the_page(xtrust_dirs):
    from dashboard import state
    from engine import pipeline
    from engine.errors import InputError

    pipeline.import_user_dataset("deleteme", {"p.csv": _csv()})
    pipeline.import_user_dataset("keepthis", {"p.csv": _csv()})
    state.user_datasets.clear()
    at = open_page("your-data")
    box = at.selectbox(key="ud_delete_name")
    assert "deleteme" in box.options and not set(box.options) & set(state.BUILTIN_DATASETS)  # built-ins: never
    box.set_value("deleteme").run()
    at.button(key="ud_delete").click().run()
    assert "This cannot be undone" in texts(at) and "deleteme" in pipeline.list_user_datasets()  # asks first
    at.button(key="ud_delete_yes").click().run()
    assert not at.exception
    assert "Deleted deleteme" in texts(at)
    assert "deleteme" not in at.selectbox(key="ud_delete_name").options
    assert "deleteme" not in pipeline.list_user_datasets() and "keepthis" in pipeline.list_user_datasets()
    with pytest.raises(InputError, match="unknown dataset 'deleteme'"):
        pipeline.load_dataset("deleteme")


def test_keep_it_cancels_the_deletion(xtrust_dirs):
    from dashboard import state
    from engine import pipeline

    pipeline.import_user_dataset("notdeleted", {"p.csv": _csv()})
    state.user_datasets.clear()
    at = open_page("your-data")
    at.selectbox(key="ud_delete_name").set_value("notdeleted").run()
    at.button(key="ud_delete").click().run()
    at.button(key="ud_delete_no").click().run()
    assert not at.exception and "notdeleted" in pipeline.list_user_datasets()
    assert "This cannot be undone" not in texts(at)


# -- free text: ignored words, explain, attack; display names --------------------------------------
def _predict_text():
    at = open_page("predict")
    at.text_area[0].input(TEXT)
    at.button(key="FormSubmitter:free-text-Predict labels").click().run()
    assert not at.exception
    return at


def test_free_text_names_the_ignored_words(xtrust_dirs):
    at = _predict_text()
    t = texts(at)
    assert "6 of the text's 7 words are in the model's vocabulary" in t
    assert "`zzqxunknown`" in t and "`learning`" not in t
    assert any("xt-ignored" in str(m.value) and "zzqxunknown" in str(m.value) for m in at.markdown)


def test_free_text_prediction_table_shows_display_names_and_the_csv_keeps_raw_ones(xtrust_dirs, monkeypatch):
    seen = _downloads(monkeypatch)
    at = _predict_text()
    table = at.dataframe[-1].value  # the free-text table (the page's own table comes first)
    assert "label-tree path" not in table.columns
    assert len(table) == 5 and not any(n.startswith("TAG_") for n in table["label"])
    csv = next(data for name, data in seen if name.endswith("text-predictions.csv"))
    raw = [ln.split(",")[1] for ln in csv.splitlines()[1:]]
    assert raw == ["TAG_" + n for n in table["label"]]


def test_free_text_is_explained_in_place(xtrust_dirs):
    from dashboard import jobs, state

    at = _predict_text()
    at.radio(key="ft_method").set_value("lime").run()
    at.button(key="ft_explain_go").click().run()
    _wait(jobs.get(at.session_state[state.K_TEXT_EXPLAIN_JOB]))
    at.run()
    assert not at.exception
    assert "comprehensiveness" in [m.label for m in at.metric]
    expanders = [e.label for e in at.expander]
    assert expanders and not any(lab.startswith("TAG_") for lab in expanders)  # display names
    assert any("xt-tok" in str(m.value) for m in at.markdown)  # the text's words highlighted


def test_free_text_is_attacked_in_place(xtrust_dirs):
    from dashboard import jobs, state

    at = _predict_text()
    at.radio(key="ft_attack").set_value("hsj").run()
    at.number_input(key="ft_hsj_max_iter").set_value(3)
    at.number_input(key="ft_hsj_max_eval").set_value(100)
    at.button(key="ft_attack_go").click().run()
    _wait(jobs.get(at.session_state[state.K_TEXT_ATTACK_JOB]))
    at.run()
    assert not at.exception
    t = texts(at)
    assert "**Before**" in t and "**After**" in t and any(m.label == "queries" for m in at.metric)
    before = [d.value for d in at.dataframe if list(d.value.columns) == ["rank", "label", "score", "true"]]
    assert before and not any(n.startswith("TAG_") for d in before for n in d["label"])


def test_overview_lists_display_names(xtrust_dirs):
    at = open_page("overview")
    lists = [d.value for d in at.dataframe if "train docs" in d.value.columns]
    assert lists and not any(n.startswith("TAG_") for d in lists for n in d["label"])
    assert "without their shared 'TAG_' prefix" in texts(at)


# -- words a person reads: the attack and goal by name, scores without snake_case, the file's separator -----
def test_an_attack_result_names_the_attack_and_its_goal_in_words():
    import numpy as np

    from engine.attacks.result import AttackResult
    from tests.dashboard.test_components import _render_attack_app, pred

    res = AttackResult("hsj", "features", "top1", None, True, 10, 0.1, pred("a"), pred("b"), 0.5, 0.4, None,
                       [("f0", 0.0, 0.1)], None, None, np.zeros(3, np.float32), features_changed=1)
    at = AppTest.from_function(_render_attack_app, args=(res.to_json(),), default_timeout=30)
    at.run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Attack succeeded (HopSkipJump, goal: the top-1 label changes)."]


def test_the_faithfulness_table_shows_display_names_and_readable_columns(xtrust_dirs):
    from dashboard import components as C
    from engine import pipeline

    expl = pipeline.explain_document("bibtex", "xlinear", 0, method="lime", top_k=2, samples=100)
    df = C.faithfulness_frame(expl)
    assert "random deletion AUC" in df.columns and not [c for c in df.columns if "_" in c]
    assert not any(n.startswith("TAG_") for n in df["label"])
    assert all(n.startswith("TAG_") for n in C.explanation_frame(expl)["label"])  # the CSV keeps the raw names


@pytest.mark.parametrize("cells, sep", [(["a|b", "c"], "|"), (["a;b", "c|d"], ";"), (["x", "y"], ";")])
def test_your_data_prefills_the_separator_the_file_uses(xtrust_dirs, cells, sep):
    rows = "".join(f"text number {i} about graphs,{cells[i % 2]}\n" for i in range(20))
    at = open_page("your-data")
    at.file_uploader(key="ud_files").set_value((f"p{sep}.csv", ("text,labels\n" + rows).encode(), "text/csv"))
    at.run()
    assert not at.exception
    assert at.text_input(key="ud_sep").value == sep


# -- a training another session started: shown with its progress and Cancel, not offered again ---------------
def test_compare_shows_a_running_training_and_does_not_offer_it_again(xtrust_dirs):
    """A running 'train:bibtex:xlinear-advhsj' job (started by any session; here by the test) is drawn on the
    Compare page with its bar and Cancel, its model is left out of the train menu, and Cancel stops it."""
    import threading

    from dashboard import components as C
    from dashboard import jobs
    from engine.errors import Cancelled

    release = threading.Event()

    def slow_training(progress=None):
        while not release.is_set():
            if not progress(0.3, "HopSkipJump: round 1/2"):
                raise Cancelled("cancelled")
            time.sleep(0.05)

    label = "training XR-Linear (trained on HopSkipJump examples) on bibtex"
    job = jobs.start("train:bibtex:xlinear-advhsj", label, slow_training, restart=True)
    try:
        at = open_page("compare")
        offered = at.selectbox(key="cmp_train_choice").options
        assert C.model_label("xlinear-robust") in offered and C.model_label("xlinear-advhsj") not in offered
        bars = [p.proto.text for p in at.get("progress")]
        assert any(t.startswith(f"{label}: HopSkipJump: round 1/2 · 30%") for t in bars), bars
        at.button(key="cancel-cmp-train").click().run()
        deadline = time.time() + 10
        while not job.done and time.time() < deadline:
            time.sleep(0.05)
        assert job.done and job.cancelled
    finally:
        release.set()
