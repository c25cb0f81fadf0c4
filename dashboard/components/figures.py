"""Plotly figures. Every string drawn goes through plot_text: plotly renders HTML tags in its strings,
and label names and words can come from an upload."""
from __future__ import annotations

import plotly.graph_objects as go

from dashboard.components.formatting import changed_frame, shown
from engine.pipeline import plot_text, plot_texts

GREEN, RED, GREY = "#1a9850", "#d73027", "#8c8c8c"


def score_bars(pred, title: str = "", display: dict[str, str] | None = None) -> go.Figure:
    """Top-k scores as bars; ``display``: raw -> display label names (state.label_display)."""
    # every name drawn in a figure goes through plot_text: plotly renders HTML tags in its strings
    labels = plot_texts((display or {}).get(x.name, x.name) for x in pred.labels)[::-1]
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


def deletion_curve(le, unit: str = "word") -> go.Figure:
    """Label score as the explanation's top units are removed; ``unit``: "word" (text) or "feature"
    (numeric data: a feature is reset to its training mean)."""
    xs = [float(r[0]) for r in le.deletion_curve]
    ys = [float(r[1]) for r in le.deletion_curve]
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines+markers", name="explanation order"))
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=10), title="deletion curve",
                      xaxis_title=f"{unit}s removed", yaxis_title="label score")
    return fig


def attention_figure(am, display: dict[str, str] | None = None) -> go.Figure:
    """The label-wise attention heatmap; each row names its label and the encoder's share of that label's
    score (the part of the decision attention can speak for)."""
    shares = list(getattr(am, "encoder_share_pct", None) or [])
    rows = [shown(n, display) + (f" · encoder {shares[j]:.0f} %" if j < len(shares) and shares[j] is not None else "")
            for j, n in enumerate(am.label_names)]
    fig = go.Figure(go.Heatmap(z=am.weights, x=plot_texts(f"{i}:{t}" for i, t in enumerate(am.tokens)),
                               y=plot_texts(rows),
                               colorscale="Blues", colorbar=dict(title="attention")))
    fig.update_layout(height=120 + 30 * len(am.label_names), margin=dict(l=10, r=10, t=10, b=10))
    return fig


def changed_features_figure(res, top: int = 20) -> go.Figure:
    df = changed_frame(res).head(top).iloc[::-1]
    fig = go.Figure(go.Bar(x=df["change"], y=plot_texts(df["name"]), orientation="h",
                           marker_color=[GREEN if c >= 0 else RED for c in df["change"]]))
    fig.update_layout(height=80 + 22 * len(df), margin=dict(l=10, r=10, t=30, b=10), title="most-changed features",
                      xaxis_title="after − before")
    return fig


def robustness_figure(results: dict) -> go.Figure:
    """Clean vs attacked P@1 / P@3 / P@5 (%) of each model, grouped bars: the table's story at a glance."""
    from dashboard.components.formatting import model_label

    fig = go.Figure()
    ks = ["P@1", "P@3", "P@5"]
    for m, r in results.items():
        for part, pattern in (("clean", ""), ("attacked", "/")):
            vals = [100 * float((r.get(part) or {}).get(k, float("nan"))) for k in ks]
            fig.add_trace(go.Bar(x=ks, y=vals, name=plot_text(f"{model_label(m)} · {part}"),
                                 marker_pattern_shape=pattern))
    fig.update_layout(barmode="group", height=340, yaxis_title="%", yaxis_range=[0, 100],
                      margin=dict(l=10, r=10, t=30, b=10), title="clean vs attacked precision")
    return fig


def robustness_curve_figure(results: dict) -> go.Figure:
    """Attacked P@1 / P@5 and attack success (%) against the budget eps, one line per model and measure."""
    from dashboard.components.formatting import model_label

    fig = go.Figure()
    for m, curve in results.items():
        eps = [r["eps"] for r in curve]
        for key, dash in (("P@1", "solid"), ("P@5", "dash")):
            fig.add_trace(go.Scatter(x=eps, y=[100 * float(r[key]) for r in curve], mode="lines+markers",
                                     line=dict(dash=dash), name=plot_text(f"{model_label(m)} attacked {key}")))
        fig.add_trace(go.Scatter(x=eps, y=[100 * float(r["success_rate"]) for r in curve], mode="lines+markers",
                                 line=dict(dash="dot"), name=plot_text(f"{model_label(m)} attack success")))
    fig.update_layout(height=380, xaxis_title="eps (budget in the feature view)", yaxis_title="%",
                      yaxis_range=[0, 100], margin=dict(l=10, r=10, t=30, b=10), title="Robustness curve")
    return fig


def certified_vs_attacked_figure(results: dict) -> go.Figure:
    """Certified P@k (solid) and empirical attacked P@k (dashed) in % against the budget (l2 in the
    feature view), one pair of lines per model. results: as formatting.certified_curve_frame."""
    from dashboard.components.formatting import model_label

    fig = go.Figure()
    for m, r in results.items():
        cert = r["certified"]
        k = cert["top_k"]
        fig.add_trace(go.Scatter(x=cert["radii"], y=[100 * float(v) for v in cert["certified_P@k"]],
                                 mode="lines+markers", name=plot_text(f"{model_label(m)} certified P@{k}")))
        emp = [e for e in r.get("empirical") or [] if f"P@{k}" in e]
        if emp:
            fig.add_trace(go.Scatter(x=[e["eps"] for e in emp], y=[100 * float(e[f"P@{k}"]) for e in emp],
                                     mode="lines+markers", line=dict(dash="dash"),
                                     name=plot_text(f"{model_label(m)} attacked P@{k}")))
    fig.update_layout(height=380, xaxis_title="budget: ℓ2 radius / eps in the feature view", yaxis_title="%",
                      yaxis_range=[0, 100], margin=dict(l=10, r=10, t=30, b=10),
                      title="Certified vs empirically attacked precision")
    return fig


def frequency_figure(results: dict) -> go.Figure:
    """Share (%) of each label-frequency bin's correct top-k labels that survive the attack, per model.
    results: {model_id: FrequencyRobustness}."""
    from dashboard.components.formatting import FREQUENCY_BIN_NAMES, model_label

    fig = go.Figure()
    for m, fr in results.items():
        fig.add_trace(go.Bar(x=[FREQUENCY_BIN_NAMES.get(b.name, b.name) for b in fr.bins],
                             y=[None if b.kept_share is None else 100 * float(b.kept_share) for b in fr.bins],
                             name=plot_text(model_label(m))))
    fig.update_layout(barmode="group", height=340, yaxis_title="correct labels kept under attack %",
                      yaxis_range=[0, 100], margin=dict(l=10, r=10, t=30, b=10),
                      title="Robustness by label frequency")
    return fig
