"""A representative subset of the bad-input corpus through the dashboard (AppTest): no exception, and
an st.error / st.warning / st.info tells the user what is wrong. Uploaded <script> text stays escaped."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.reliability.corpus import record

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")


def page(name, **query):
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in {"dataset": "bibtex", "model": "xlinear", "doc": "0", **query, "page": name}.items():
        at.query_params[k] = v
    at.run()
    return at


def messages(at):
    return [str(e.value) for kind in ("error", "warning", "info") for e in getattr(at, kind)]


UPLOADS = [
    ("dash/upload-empty-csv", ("d.csv", b"", "text/csv"), "ok-name", ["empty"]),
    ("dash/upload-binary-csv", ("d.csv", b"\x00\x01" * 64, "text/csv"), "ok-name", ["binary"]),
    ("dash/upload-one-label", ("d.csv", ("text,labels\n" + "".join(f"t {i},a\n" for i in range(12))).encode(), "text/csv"),
     "ok-name", ["label"]),
    ("dash/upload-bad-name", ("d.csv", ("text,labels\n" + "".join(f"t {i},a|b\n" for i in range(12))).encode(), "text/csv"),
     "../Bad Name", ["name"]),
    ("dash/upload-bad-xc", ("d.txt", b"12 -3 3\n", "text/plain"), "ok-name", ["d.txt"]),
]


@pytest.mark.slow
@pytest.mark.parametrize("case_id,file,name,names", UPLOADS, ids=[u[0] for u in UPLOADS])
def test_bad_upload_in_the_dashboard(rel_dirs, case_id, file, name, names):
    at = page("your-data")
    at.file_uploader(key="ud_files").set_value(file).run()
    at.text_input(key="ud_name").set_value(name)
    at.button[0].click() if False else None
    [b for b in at.button if b.label == "Import"][0].click().run()
    msgs = messages(at)
    ok = not at.exception and any(any(n.lower() in m.lower() for n in names) for m in msgs)
    record(case_id, "dashboard", "expect-error", ok, " | ".join(msgs)[:300])
    assert ok, (at.exception, msgs)


@pytest.mark.slow
@pytest.mark.parametrize("case_id,query", [("dash/doc-negative", {"doc": "-5"}), ("dash/doc-text", {"doc": "abc"}),
                                           ("dash/dataset-unknown", {"dataset": "nope"}),
                                           ("dash/model-unknown", {"model": "nope"})])
def test_bad_query_params_do_not_crash(rel_dirs, case_id, query):
    at = page("predict", **query)
    ok = not at.exception and at.title and at.title[0].value == "Predict"
    record(case_id, "dashboard", "expect-ok-or-clear-message", bool(ok), "; ".join(messages(at))[:300])
    assert ok


@pytest.mark.slow
def test_uploaded_script_tags_are_escaped(rel_dirs):
    from engine import pipeline

    rows = "".join(f"<script>alert({i})</script> learning words {i},<script>x</script>|<b>bold</b>\n" for i in range(30))
    pipeline.import_user_dataset("rel-xss", {"x.csv": ("text,labels\n" + rows).encode()}, label_separator="|")
    pipeline.train_model("rel-xss", "xlinear")
    from dashboard import state as S

    S.clear_model_caches()  # the dataset list is cached for 30 s
    at = page("predict", dataset="rel-xss")
    assert not at.exception
    raw = [m.value for m in at.markdown if getattr(m, "allow_html", False) or m.proto.allow_html]
    shown = " ".join(raw + [m.value for m in at.markdown] + [d.value.to_string() for d in at.dataframe])
    assert "script" in shown, "the uploaded text / labels are shown somewhere"
    assert not any("<script" in v.lower() for v in raw), raw
    record("dash/xss-upload", "dashboard", "expect-ok-or-clear-message", True, "escaped")
