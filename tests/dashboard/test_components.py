"""Rendering helpers: escaping, diffs, highlighting and the one-file HTML report (no Streamlit run)."""
from __future__ import annotations

import json

import numpy as np

from dashboard import components as C
from engine.attacks.result import AttackResult
from engine.explain.result import DocumentExplanation, LabelExplanation
from engine.types import Document, LabelScore, Prediction

EVIL = '<script>alert("x")</script>'


def pred(*names, true=(True, False)):
    return Prediction(tuple(LabelScore(i, n, 1.0 - 0.1 * i, true[i % len(true)]) for i, n in enumerate(names)))


def test_highlighted_html_escapes_and_colours_by_sign():
    out = C.highlighted_html([("good", 0.5), (EVIL, -1.0), ("zero", 0.0)])
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "rgba(26,152,80,0.42)" in out  # half the largest |weight|, green
    assert "rgba(215,48,39,0.85)" in out  # the largest |weight|, red


def test_word_diff_marks_replacements_only():
    out = C.word_diff_html("the quick brown fox", "the fast brown fox")
    assert '<del class="xt-del">quick</del>' in out and '<ins class="xt-ins">fast</ins>' in out
    assert out.count("<del") == 1 and "brown fox" in out
    assert "&lt;b&gt;" in C.word_diff_html("a <b>", "a c")


def test_prediction_frame_marks_truth_and_paths():
    df = C.prediction_frame(pred("a", "b"), [[0, 3], [1]])
    assert list(df["true"]) == ["✓", "✗"]
    assert df["label-tree path"][0] == "root → c0 → c3 → a"
    assert C.truth_mark(None) == "–"


def test_report_html_is_standalone_and_escaped():
    doc = Document("bibtex", "test", 3, f"words {EVIL} more", np.zeros(4, np.float32), (0,))
    le = LabelExplanation(0, EVIL, 0.9, True, [(EVIL, 0.4), ("more", -0.1)], [("words", 0.1), (EVIL, 0.4)],
                          0.5, 0.1, 0.3, [(0, 0.9, 1), (1, 0.2, 4)], {"comprehensiveness": 0.1})
    expl = DocumentExplanation("bibtex", "xlinear", 3, "test", "lime", {}, [le], 0.1)
    res = AttackResult("wordnet", "text", "drop", 0, True, 42, 0.5, pred(EVIL, "b"), pred("b", EVIL), 0.2, 0.1, 1,
                       [("words", 0.3, 0.0), ("terms", 0.0, 0.3)], f"words {EVIL} more", f"terms {EVIL} more", None)
    out = C.report_html("bibtex", "xlinear", doc, pred(EVIL, "b"), [[0], [1]], {"lime": expl}, res)
    assert out.startswith("<!doctype html>") and out.endswith("</html>")
    assert "<script>" not in out  # every engine string is escaped
    assert "Explanation: lime" in out and "Attack: wordnet" in out and "42 queries" in out
    assert '<del class="xt-del">words</del>' in out and '<ins class="xt-ins">terms</ins>' in out
    assert "http" not in out  # one file: no external resource


def test_feature_attack_changes_sorted_by_size():
    res = AttackResult("hsj", "features", "top1", None, False, 10, 0.1, pred("a"), pred("a"), 0.5, 0.4, None,
                       [("f1", 0.0, 0.1), ("f2", 1.0, 0.2), ("f3", 0.5, 0.55)], None, None, np.zeros(3, np.float32))
    df = C.changed_frame(res)
    assert list(df["name"]) == ["f2", "f1", "f3"]
    fig = C.changed_features_figure(res)
    assert list(fig.data[0].y) == ["f3", "f1", "f2"]  # largest at the top of a horizontal bar chart


# -- text from uploads inside plotly figures ------------------------------------------------------------
LINK, BOLD = '<a href="http://x">evil</a>', "<b>x</b>"


def figure_strings(fig) -> list[str]:
    """Every string in a figure's JSON (axis categories, hover texts, titles, names, annotations)."""
    found = []

    def walk(v):
        if isinstance(v, str):
            found.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, np.ndarray) and v.dtype.kind in "OUS":
            walk(v.tolist())

    walk(json.loads(fig.to_json()))
    return found


def assert_inert(fig) -> None:
    strings = figure_strings(fig)
    assert not [s for s in strings if "<a" in s or "<b>" in s], strings
    joined = "\n".join(strings)
    assert "&lt;a href=\"http://x\"&gt;evil&lt;/a&gt;" in joined and "&lt;b&gt;x&lt;/b&gt;" in joined, strings


def test_every_dashboard_figure_escapes_uploaded_text():
    from engine.explain.result import AttentionMap

    p = pred(LINK, BOLD)
    assert_inert(C.score_bars(p, title=f"doc about {BOLD} and {LINK}"))
    assert_inert(C.weight_bars([(LINK, 0.5), (BOLD, -0.2)], title=LINK))
    am = AttentionMap(tokens=[LINK, "w", BOLD], label_names=[LINK, BOLD], label_ids=[0, 1],
                      weights=np.ones((2, 3)), raw=np.zeros((1, 1, 1, 1)), pieces=[], piece_word=np.zeros(0, int))
    assert_inert(C.attention_figure(am))
    res = AttackResult("hsj", "features", "top1", None, True, 10, 0.1, p, p, 0.5, 0.4, None,
                       [(LINK, 0.0, 0.1), (BOLD, 1.0, 0.2)], None, None, np.zeros(2, np.float32), features_changed=2)
    assert_inert(C.changed_features_figure(res))
    # plotly shows the entities as the characters they stand for: the label reads exactly as uploaded
    assert C.plot_text(LINK) == "&lt;a href=\"http://x\"&gt;evil&lt;/a&gt;" and C.plot_text("R&D") == "R&amp;D"


def _render_attack_app(res_json: str):
    from dashboard import components as C
    from engine.attacks.result import AttackResult

    C.render_attack(AttackResult.from_json(res_json), key="t")


def test_render_attack_shows_the_true_feature_count():
    from streamlit.testing.v1 import AppTest

    names = [(f"f{i}", 0.0, 0.1 + i) for i in range(25)]  # the capped display list
    res = AttackResult("hsj", "features", "top1", None, True, 10, 0.1, pred("a"), pred("b"), 0.5, 0.4, None,
                       names, None, None, np.zeros(3, np.float32), features_changed=1234)
    at = AppTest.from_function(_render_attack_app, args=(res.to_json(),), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    metric = next(m for m in at.metric if m.label == "features changed")
    assert metric.value == "1,234"
    assert any("of 1,234 changed features" in c.value for c in at.caption)


def test_whole_score_frame_shows_display_names_and_readable_completeness_errors():
    """The Explain page's whole-score table: display names (not TAG_ prefixes) and errors as % text a
    person reads ('< 0.001', '0.42'), not 0.00000000000001."""
    from types import SimpleNamespace

    from dashboard.components import percent_text, whole_score_frame

    labels = [SimpleNamespace(name="TAG_children", extra={"encoder_share_pct": 0.0, "completeness_error": 1e-16}),
              SimpleNamespace(name="TAG_learning", extra={"encoder_share_pct": 12.5, "completeness_error": 0.0042}),
              SimpleNamespace(name="TAG_games", extra={})]
    frame = whole_score_frame(SimpleNamespace(labels=labels), {"TAG_children": "children", "TAG_learning": "learning"})
    assert list(frame["label"]) == ["children", "learning", "TAG_games"]
    assert list(frame["completeness error %"]) == ["< 0.001", "0.42", "n/a"]
    assert percent_text(float("nan")) == "n/a" and percent_text(-0.02) == "2"
