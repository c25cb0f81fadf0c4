"""Rendering helpers shared by the pages: safe engine calls, label tables, LIME bars, highlighted
text, diffs, job panels and the one-file HTML report. Everything shown is escaped."""
from __future__ import annotations

import difflib
import html
import json
import logging
import time
from typing import Any, Callable, Iterable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine.errors import XTrustError
from engine.pipeline import plot_text, plot_texts

from dashboard import state

log = logging.getLogger("xtrust.dashboard")
FAILED = object()  # what call() returns when the engine call failed (a message is already shown)
GREEN, RED, GREY = "#1a9850", "#d73027", "#8c8c8c"


# -- engine calls ---------------------------------------------------------------------------------
def call(fn: Callable[..., Any], *args, what: str = "this step", **kwargs) -> Any:
    """Run one engine call; on failure show a clear message (never a traceback) and return FAILED.

    XTrustError -> st.error(its message); ImportError / NotImplementedError -> st.info (that part
    of the engine has not landed); anything else -> a short st.error and the traceback in the log.
    """
    try:
        return fn(*args, **kwargs)
    except XTrustError as exc:
        st.error(str(exc))
    except (ImportError, NotImplementedError) as exc:
        st.info(f"{what.capitalize()} is not available in this installation yet ({type(exc).__name__}: {exc}).")
    except Exception as exc:
        log.exception("%s failed", what)
        st.error(f"{what.capitalize()} failed unexpectedly ({type(exc).__name__}). The details are in the server log.")
    return FAILED


def failed(value: Any) -> bool:
    return value is FAILED


def require_selection() -> tuple[str, str, int, int]:
    """(dataset, model_id, doc, top_k) when the sidebar selection is usable; else explain and stop."""
    ok, why = state.ready()
    if not ok:
        st.error(why or "Choose a dataset in the sidebar.")
        st.stop()
    return state.selection()


def version() -> str:
    dataset, model_id, _, _ = state.selection()
    return state.model_version(dataset, model_id)


# -- small formatters --------------------------------------------------------------------------
def model_label(model_id: str) -> str:
    fam, _, var = model_id.partition("-")
    name = {"xlinear": "XR-Linear", "xtransformer": "X-Transformer"}.get(fam, fam)
    return f"{name} · {var or 'baseline'}"


def truth_mark(is_true: bool | None) -> str:
    return "✓" if is_true else ("✗" if is_true is False else "–")


def prediction_frame(pred, paths: list[list[int]] | None = None) -> pd.DataFrame:
    rows = []
    for r, x in enumerate(pred.labels, 1):
        row = {"rank": r, "label": x.name, "score": round(float(x.score), 4), "true": truth_mark(x.is_true)}
        if paths is not None:
            row["label-tree path"] = " → ".join(["root", *[f"c{c}" for c in paths[r - 1]], x.name])
        rows.append(row)
    return pd.DataFrame(rows)


def score_bars(pred, title: str = "") -> go.Figure:
    # every name drawn in a figure goes through plot_text: plotly renders HTML tags in its strings
    labels = plot_texts(x.name for x in pred.labels)[::-1]
    scores = [float(x.score) for x in pred.labels][::-1]
    colors = [GREEN if x.is_true else (RED if x.is_true is False else GREY) for x in pred.labels][::-1]
    fig = go.Figure(go.Bar(x=scores, y=labels, orientation="h", marker_color=colors))
    fig.update_layout(title=plot_text(title) if title else None, height=60 + 28 * len(labels), margin=dict(l=10, r=10, t=30 if title else 10, b=10),
                      xaxis_title="score")
    return fig


def weight_bars(weights: list[tuple[str, float]], title: str = "") -> go.Figure:
    """LIME-style horizontal bars: positive weights green (support the label), negative red."""
    ws = sorted(weights, key=lambda t: abs(t[1]))
    fig = go.Figure(go.Bar(x=[float(w) for _, w in ws], y=plot_texts(n for n, _ in ws), orientation="h",
                           marker_color=[GREEN if w >= 0 else RED for _, w in ws]))
    fig.update_layout(title=plot_text(title) if title else None, height=80 + 22 * len(ws), margin=dict(l=10, r=10, t=30 if title else 10, b=10),
                      xaxis_title="weight")
    return fig


def highlighted_html(token_weights: Iterable[tuple[str, float]]) -> str:
    """Words in text order, background coloured by weight (green supports, red opposes), escaped."""
    tw = [(str(w), float(v)) for w, v in token_weights]
    top = max((abs(v) for _, v in tw), default=0.0) or 1.0
    spans = []
    for word, v in tw:
        a = min(abs(v) / top, 1.0) * 0.85
        rgb = "26,152,80" if v >= 0 else "215,48,39"
        title = html.escape(f"{v:+.4f}", quote=True)
        spans.append(f'<span class="xt-tok" title="{title}" style="background: rgba({rgb},{a:.2f})">{html.escape(word)}</span>')
    return '<div class="xt-text">' + " ".join(spans) + "</div>"


def word_diff_html(before: str, after: str) -> str:
    """Word-level diff: removed words struck through in red, inserted words in green. Escaped."""
    a, b = before.split(), after.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(html.escape(" ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f'<del class="xt-del">{html.escape(" ".join(a[i1:i2]))}</del>')
        if j2 > j1:
            out.append(f'<ins class="xt-ins">{html.escape(" ".join(b[j1:j2]))}</ins>')
    return '<div class="xt-text">' + " ".join(out) + "</div>"


def html_block(markup: str) -> None:
    st.markdown(markup, unsafe_allow_html=True)


def to_json_text(obj: Any) -> str:
    """An engine result's to_json() if it has one (str or dict), else a JSON dump."""
    if hasattr(obj, "to_json"):
        out = obj.to_json()
        return out if isinstance(out, str) else json.dumps(out, indent=1, default=str)
    return json.dumps(obj, indent=1, default=str)


def download_row(items: list[tuple[str, str | bytes, str, str]], key: str) -> None:
    """items: (button label, data, file name, mime)."""
    cols = st.columns(len(items))
    for i, (col, (label, data, name, mime)) in enumerate(zip(cols, items)):
        col.download_button(label, data, file_name=name, mime=mime, key=f"{key}-{i}", on_click="ignore")


# -- background-job panel ------------------------------------------------------------------------
def job_panel(job: state.Job | None, key: str) -> None:
    """Progress bar + cancel button while ``job`` runs (re-drawn every 0.5 s); reruns the page when
    it finishes; shows an error / 'cancelled' afterwards. Result rendering is the page's job."""
    if job is None:
        return
    if job.done:
        if job.cancelled:
            st.warning(f"{job.label}: cancelled.")
        elif job.error:
            st.error(job.error)
        return

    @st.fragment(run_every=0.5)
    def _panel():
        j = state.get_job(job.key)
        if j is None or j.done:
            st.rerun(scope="app")
        st.progress(j.fraction, text=f"{j.label}: {j.message} ({time.time() - j.started:.0f} s)")
        if st.button("Cancel", key=f"cancel-{key}"):
            j.cancel()
            st.toast("cancelling…")

    _panel()


# -- explanation rendering ---------------------------------------------------------------------
def explanation_frame(expl) -> pd.DataFrame:
    rows = []
    for le in expl.labels:
        for word, w in le.weights:
            rows.append({"label": le.name, "label_id": le.label_id, "score": le.score, "is_true": le.is_true,
                         "word": word, "weight": float(w)})
    return pd.DataFrame(rows)


def faithfulness_frame(expl) -> pd.DataFrame:
    rows = []
    for le in expl.labels:
        row = {"label": le.name, "comprehensiveness": le.comprehensiveness, "sufficiency": le.sufficiency,
               "deletion AUC": le.deletion_auc}
        for k, v in (le.random_baseline or {}).items():
            row[f"random {k}"] = v
        rows.append(row)
    return pd.DataFrame(rows)


def faithfulness_table_frame(res: dict) -> pd.DataFrame:
    """engine faithfulness_table result -> one row per method: mean scores and paired wins over random."""
    names = {"lime": "LIME", "attention": "Attention", "random": "random order"}
    rows = []
    for m, row in res["table"].items():
        out = {"method": names.get(m, m), "comprehensiveness ↑": row["comprehensiveness"],
               "sufficiency ↓": row["sufficiency"], "deletion AUC ↓": row["deletion_auc"]}
        for k, label in (("comprehensiveness", "comp."), ("sufficiency", "suff."), ("deletion_auc", "AUC")):
            share = res.get("beats_random", {}).get(m, {}).get(k)
            out[f"beats random ({label})"] = None if share is None else f"{share:.0%}"
        rows.append(out)
    return pd.DataFrame(rows)


def deletion_curve(le) -> go.Figure:
    xs = [float(r[0]) for r in le.deletion_curve]
    ys = [float(r[1]) for r in le.deletion_curve]
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines+markers", name="explanation order"))
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=10), title="deletion curve",
                      xaxis_title="words removed", yaxis_title="label score")
    return fig


def render_explanation(expl, key: str) -> None:
    """One DocumentExplanation: per label, weight bars + highlighted text + faithfulness."""
    for i, le in enumerate(expl.labels):
        title = f"{le.name} — score {float(le.score):.3f} {'(true)' if le.is_true else '(not true)' if le.is_true is False else ''}"
        with st.expander(title, expanded=i == 0):
            note = (getattr(le, "extra", None) or {}).get("note")
            if note:
                st.warning(note)
            if le.weights:
                st.plotly_chart(weight_bars(list(le.weights)), key=f"{key}-w-{i}", config={"displayModeBar": False})
            else:
                st.caption("no weights for this label")
            if le.token_weights:
                html_block(highlighted_html(le.token_weights))
            cols = st.columns(3)
            cols[0].metric("comprehensiveness", _fmt(le.comprehensiveness), help="score drop when the top words are removed (higher = more faithful)")
            cols[1].metric("sufficiency", _fmt(le.sufficiency), help="score drop when only the top words are kept (lower = more faithful)")
            cols[2].metric("deletion AUC", _fmt(le.deletion_auc), help="area under the score curve as top words are deleted (lower = more faithful)")
            if le.random_baseline:
                st.caption("random-words baseline: " + ", ".join(f"{k} {_fmt(v)}" for k, v in le.random_baseline.items()))
            if le.deletion_curve:
                st.plotly_chart(deletion_curve(le), key=f"{key}-d-{i}", config={"displayModeBar": False})


def _fmt(v) -> str:
    try:
        return f"{float(v):.3f}"
    except (TypeError, ValueError):
        return "–"


def attention_figure(am) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=am.weights, x=plot_texts(f"{i}:{t}" for i, t in enumerate(am.tokens)),
                               y=plot_texts(am.label_names),
                               colorscale="Blues", colorbar=dict(title="attention")))
    fig.update_layout(height=120 + 30 * len(am.label_names), margin=dict(l=10, r=10, t=10, b=10))
    return fig


# -- attack rendering --------------------------------------------------------------------------
ATTACKS = {"wordnet": "WordNet synonyms (text)", "hsj": "HopSkipJump (features)", "zoo": "ZOO (features)",
           "boundary": "Boundary (features)"}


def attacks_for(kind: str) -> dict[str, str]:
    """Attacks offered for a dataset kind: WordNet needs text."""
    return {k: v for k, v in ATTACKS.items() if kind == "text" or k != "wordnet"}


def attack_form(prefix: str, pred, kind: str, top_k: int) -> dict:
    """Attack parameter widgets (keys under ``prefix``); returns attack_document's keyword arguments."""
    ss = st.session_state
    attacks = attacks_for(kind)
    if ss.get(f"{prefix}_attack") not in attacks:
        ss[f"{prefix}_attack"] = next(iter(attacks))
    c = st.columns(3)
    attack = c[0].radio("Attack", list(attacks), format_func=attacks.get, key=f"{prefix}_attack")
    goal = c[1].radio("Goal", ["top1", "drop", "topk"], key=f"{prefix}_goal",
                      format_func={"drop": "push a label out of the top-k", "top1": "dethrone the top-1 label",
                                   "topk": "replace the whole top-k"}.get)
    target = None
    if goal == "drop":
        ids = [x.label_id for x in pred.labels]
        names = {x.label_id: x.name for x in pred.labels}
        if ss.get(f"{prefix}_target") not in ids:
            ss[f"{prefix}_target"] = ids[0]
        target = c[2].selectbox("Label to drop", ids, format_func=names.get, key=f"{prefix}_target")
    elif goal == "topk":
        c[2].caption(f"target: all {len(pred.labels)} current top-k labels leave the top-k")
    else:
        c[2].caption(f"target: the current top-1 label, **{pred.labels[0].name}**")
    p = dict(attack=attack, goal=goal, target_label=target, top_k=top_k)
    c = st.columns(4)
    if attack == "wordnet":
        p["max_words"] = c[0].number_input("Max words replaced", 1, 100, 10, key=f"{prefix}_max_words")
    else:
        p["eps"] = c[0].number_input("eps (max perturbation)", 0.0, 10.0, 1.0, step=0.1, key=f"{prefix}_eps")
        p["max_iter"] = c[1].number_input("Max iterations", 1, 1000, {"hsj": 5, "boundary": 20}.get(attack, 50),
                                          key=f"{prefix}_max_iter_{attack}")
        if attack == "hsj":
            p["max_eval"] = c[2].number_input("Max evaluations / step", 10, 10000, 100, step=10, key=f"{prefix}_max_eval")
            p["norm"] = c[3].selectbox("Norm", ["2", "inf"], key=f"{prefix}_norm")
        elif attack == "boundary":
            p["max_eval"] = c[2].number_input("Proposals per step", 1, 1000, 10, key=f"{prefix}_proposals")
            p["norm"] = c[3].selectbox("Norm (budget)", ["2", "inf"], key=f"{prefix}_norm")
        else:
            p["learning_rate"] = c[2].number_input("Learning rate", 0.0001, 1.0, 0.01, step=0.001, format="%.4f",
                                                   key=f"{prefix}_lr")
            p["nb_parallel"] = c[3].number_input("Coordinates per step", 1, 1024, 16, key=f"{prefix}_nb_parallel")
    p["seed"] = st.number_input("Seed", 0, 2**31 - 1, 0, key=f"{prefix}_seed")
    return p


def changed_frame(res) -> pd.DataFrame:
    rows = [{"name": n, "before": b, "after": a} for n, b, a in res.changed]
    df = pd.DataFrame(rows, columns=["name", "before", "after"])
    if res.space == "features" and len(df):
        df["change"] = pd.to_numeric(df["after"]) - pd.to_numeric(df["before"])
        df = df.reindex(df["change"].abs().sort_values(ascending=False).index)
    return df


def changed_features_figure(res, top: int = 20) -> go.Figure:
    df = changed_frame(res).head(top).iloc[::-1]
    fig = go.Figure(go.Bar(x=df["change"], y=plot_texts(df["name"]), orientation="h",
                           marker_color=[GREEN if c >= 0 else RED for c in df["change"]]))
    fig.update_layout(height=80 + 22 * len(df), margin=dict(l=10, r=10, t=30, b=10), title="most-changed features",
                      xaxis_title="after − before")
    return fig


def render_attack(res, key: str) -> None:
    if res.success:
        st.success(f"Attack succeeded ({res.attack}, goal {res.goal}).")
    else:
        st.warning(f"Attack did not reach its goal ({res.attack}, goal {res.goal}).")
    cols = st.columns(5)
    cols[0].metric("queries", f"{int(res.queries):,}")
    cols[1].metric("seconds", f"{float(res.seconds):.2f}")
    cols[2].metric("L2", _fmt(res.l2))
    cols[3].metric("L∞", _fmt(res.linf))
    # res.changed is capped for display; features_changed is the true count (None: a result saved before it)
    n_changed = res.words_changed if res.space == "text" else getattr(res, "features_changed", None)
    cols[4].metric("words changed" if res.space == "text" else "features changed",
                   "–" if n_changed is None else f"{int(n_changed):,}")
    left, right = st.columns(2)
    left.markdown("**Before**")
    left.dataframe(prediction_frame(res.before), hide_index=True, width="stretch")
    right.markdown("**After**")
    right.dataframe(prediction_frame(res.after), hide_index=True, width="stretch")
    if res.space == "text":
        st.markdown("**Changed words** (removed struck through, inserted underlined)")
        if res.original_text is not None and res.adversarial_text is not None:
            html_block(word_diff_html(res.original_text, res.adversarial_text))
        if res.changed:
            st.dataframe(changed_frame(res), hide_index=True, width="stretch")
    else:
        st.caption("This attack acts on the model's feature vector; the result is a vector, not readable text.")
        if res.changed:
            st.plotly_chart(changed_features_figure(res), key=f"{key}-feat", config={"displayModeBar": False})
            if res.features_changed is not None:
                st.caption(f"the {min(20, len(res.changed))} most-changed of {res.features_changed:,} changed features")
        else:
            st.caption("no feature changed")


# -- the one-file HTML report ------------------------------------------------------------------
REPORT_CSS = """body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.xt-text{line-height:1.9;border:1px solid #eee;padding:.6em}.xt-tok{padding:1px 2px;border-radius:3px}
del{background:#f8d0cc}ins{background:#cdebd5;text-decoration:none}h2{border-bottom:1px solid #ddd}"""


def _table(rows: list[dict]) -> str:
    if not rows:
        return "<p>(none)</p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(dataset: str, model_id: str, doc, pred, paths, explanations: dict[str, Any] | None = None,
                attack=None) -> str:
    """A standalone HTML page: the document, its predictions, explanations and attack outcome."""
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>XTrust report {e(dataset)} #{doc.index}</title>",
             f"<style>{REPORT_CSS}</style></head><body>",
             f"<h1>XTrust report</h1><p>dataset <b>{e(dataset)}</b>, model <b>{e(model_label(model_id))}</b>, "
             f"{e(doc.split)} document <b>{doc.index}</b>, generated {e(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>"]
    parts.append("<h2>Document</h2>")
    if doc.text is not None:
        parts.append(f"<div class='xt-text'>{e(doc.text)}</div>")
    else:
        parts.append(f"<p>{int((doc.features != 0).sum())} non-zero numeric features (no text).</p>")
    parts.append("<h2>Predictions</h2>" + _table(prediction_frame(pred, paths).to_dict("records")))
    for method, expl in (explanations or {}).items():
        parts.append(f"<h2>Explanation: {e(method)}</h2>")
        for le in expl.labels:
            parts.append(f"<h3>{e(le.name)} (score {float(le.score):.3f}, {'true' if le.is_true else 'not true'})</h3>")
            parts.append(_table([{"word": w, "weight": f"{float(v):+.4f}"} for w, v in le.weights]))
            if le.token_weights:
                parts.append(highlighted_html(le.token_weights))
            parts.append(f"<p>comprehensiveness {_fmt(le.comprehensiveness)}, sufficiency {_fmt(le.sufficiency)}, "
                         f"deletion AUC {_fmt(le.deletion_auc)}</p>")
    if attack is not None:
        parts.append(f"<h2>Attack: {e(attack.attack)}</h2><p>goal {e(str(attack.goal))}, "
                     f"{'succeeded' if attack.success else 'failed'}, {int(attack.queries)} queries, "
                     f"{float(attack.seconds):.2f} s, L2 {_fmt(attack.l2)}, L∞ {_fmt(attack.linf)}"
                     + ("" if getattr(attack, "features_changed", None) is None
                        else f", {int(attack.features_changed):,} features changed") + "</p>")
        parts.append("<h3>Before</h3>" + _table(prediction_frame(attack.before).to_dict("records")))
        parts.append("<h3>After</h3>" + _table(prediction_frame(attack.after).to_dict("records")))
        if attack.space == "text" and attack.original_text is not None and attack.adversarial_text is not None:
            parts.append("<h3>Changed words</h3>" + word_diff_html(attack.original_text, attack.adversarial_text))
        else:
            parts.append("<h3>Changed features</h3>" + _table(changed_frame(attack).head(50).to_dict("records")))
    parts.append("</body></html>")
    return "".join(parts)


def report_button(key: str) -> None:
    """Download a one-file HTML report of the selected document from this session's results."""
    dataset, model_id, index, top_k = state.selection()
    try:
        doc, pred, paths = state.predict_document(dataset, model_id, index, top_k, state.model_version(dataset, model_id))
    except Exception:  # the page already showed the problem
        return
    expls = {m: state.recall(f"explain-{m}") for m in ("lime", "attention")}
    expls = {m: x for m, x in expls.items() if x is not None}
    data = report_html(dataset, model_id, doc, pred, paths, expls, state.recall("attack"))
    st.download_button("HTML report of this document", data, file_name=f"xtrust-{dataset}-{model_id}-{index}.html",
                       mime="text/html", key=f"report-{key}", on_click="ignore",
                       help="predictions, plus the explanations and attack run in this session for this document")
