"""The one-file HTML report of a document: predictions, this session's explanations and attack."""
from __future__ import annotations

import html
import time
from typing import Any

import streamlit as st

from dashboard import state
from engine import pipeline
from dashboard.components.formatting import (_fmt, changed_frame, highlighted_html, model_label, prediction_frame,
                                             word_diff_html)

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
    expls = {m: state.recall(f"explain-{m}") for m in pipeline.explainers()}
    expls = {m: x for m, x in expls.items() if x is not None}
    data = report_html(dataset, model_id, doc, pred, paths, expls, state.recall("attack"))
    st.download_button("HTML report of this document", data, file_name=f"xtrust-{dataset}-{model_id}-{index}.html",
                       mime="text/html", key=f"report-{key}", on_click="ignore",
                       help="predictions, plus the explanations and attack run in this session for this document")
