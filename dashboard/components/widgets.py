"""Widgets built from the engine's registries (attack forms), result renderers and download rows."""
from __future__ import annotations

import streamlit as st

from dashboard.components.figures import changed_features_figure, deletion_curve, weight_bars
from dashboard.components.formatting import (UNITS, _fmt, changed_frame, feature_weight_frame, highlighted_html,
                                             explanation_display, html_block, prediction_frame, score_name, shown, unit_of,
                                             word_diff_html)
from engine import pipeline

def download_row(items: list[tuple[str, str | bytes, str, str]], key: str) -> None:
    """items: (button label, data, file name, mime)."""
    cols = st.columns(len(items))
    for i, (col, (label, data, name, mime)) in enumerate(zip(cols, items)):
        col.download_button(label, data, file_name=name, mime=mime, key=f"{key}-{i}", on_click="ignore")


def explanation_unit(expl) -> str:
    """'word' or 'feature' for an explanation: from its dataset's kind (a numeric dataset's
    explanation removes features, not words); 'word' when the dataset cannot be read."""
    from dashboard import state

    try:
        return unit_of(state.dataset_stats(expl.dataset)["kind"])
    except Exception:  # a deleted or damaged dataset: the explanation is still shown
        return "word"


def render_explanation(expl, key: str, unit: str | None = None, display: dict[str, str] | None = None) -> None:
    """One DocumentExplanation: per label, weight bars, the highlighted text (words) or a weight table
    (features), faithfulness and the deletion curve. ``unit``: "word" | "feature" (None: from the
    explanation's dataset); ``display``: raw -> display label names (None: the explanation's dataset's)."""
    unit = unit or explanation_unit(expl)
    display = explanation_display(expl) if display is None else display
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    units = f"{unit}s"
    for i, le in enumerate(expl.labels):
        title = (f"{shown(le.name, display)} — score {float(le.score):.3f} "
                 f"{'(true)' if le.is_true else '(not true)' if le.is_true is False else ''}")
        with st.expander(title, expanded=i == 0):
            note = (getattr(le, "extra", None) or {}).get("note")
            if note:
                st.warning(note)
            if le.weights:
                st.plotly_chart(weight_bars(list(le.weights)), key=f"{key}-w-{i}", config={"displayModeBar": False})
            else:
                st.caption("no weights for this label")
            if le.token_weights:
                if unit == "word":
                    html_block(highlighted_html(le.token_weights))
                else:
                    st.caption(f"every feature's weight, largest first ({len(le.token_weights):,} features)")
                    st.dataframe(feature_weight_frame(le.token_weights), hide_index=True, width="stretch",
                                 height=240, key=f"{key}-f-{i}")
            removed = "reset to their training mean" if unit == "feature" else "removed"
            cols = st.columns(3)
            cols[0].metric("comprehensiveness", _fmt(le.comprehensiveness),
                           help=f"score drop when the top {units} are {removed} (higher = more faithful)")
            cols[1].metric("sufficiency", _fmt(le.sufficiency),
                           help=f"score drop when only the top {units} are kept (lower = more faithful)")
            cols[2].metric("deletion AUC", _fmt(le.deletion_auc),
                           help=f"area under the score curve as the top {units} are {removed} (lower = more faithful)")
            if le.random_baseline:
                st.caption(f"random-{units} baseline: " + ", ".join(f"{score_name(k)} {_fmt(v)}"
                                                                for k, v in le.random_baseline.items()))
            if le.deletion_curve:
                st.plotly_chart(deletion_curve(le, unit), key=f"{key}-d-{i}", config={"displayModeBar": False})


def attacks_for(kind: str) -> dict[str, str]:
    """Attacks offered for a dataset kind (name -> menu title), from the engine's attack registry:
    a text-space attack needs text."""
    return {name: f"{spec.title} ({spec.space})" for name, spec in pipeline.attacks().items()
            if spec.is_compatible(kind == "text")}


def _param_input(col, p, key: str):
    """One attack parameter's widget, with the default, bounds and help the attack's spec declares."""
    if p.kind == "int":
        return int(col.number_input(p.label, int(p.low), int(p.high), int(p.default), step=1, key=key, help=p.help))
    return float(col.number_input(p.label, float(p.low), float(p.high), float(p.default), format="%.4g", key=key,
                                  help=p.help))


def attack_form(prefix: str, pred, kind: str, top_k: int, display: dict[str, str] | None = None) -> dict:
    """Attack parameter widgets (keys under ``prefix``) built from the attack registry; returns
    attack_document's keyword arguments."""
    ss = st.session_state
    attacks = attacks_for(kind)
    if ss.get(f"{prefix}_attack") not in attacks:
        ss[f"{prefix}_attack"] = next(iter(attacks))
    c = st.columns(3)
    attack = c[0].radio("Attack", list(attacks), format_func=attacks.get, key=f"{prefix}_attack")
    spec = pipeline.attacks()[attack]
    c[0].caption(spec.help)
    goals = pipeline.attack_goals()
    goal = c[1].radio("Goal", list(goals), key=f"{prefix}_goal", format_func=lambda g: goals[g].help)
    target = None
    if goals[goal].needs_target:
        ids = [x.label_id for x in pred.labels]
        names = {x.label_id: shown(x.name, display) for x in pred.labels}
        if ss.get(f"{prefix}_target") not in ids:
            ss[f"{prefix}_target"] = ids[0]
        target = c[2].selectbox("Label to drop", ids, format_func=names.get, key=f"{prefix}_target")
    elif goal == "topk":
        c[2].caption(f"target: all {len(pred.labels)} current top-k labels leave the top-k")
    else:
        c[2].caption(f"target: the current top-1 label, **{shown(pred.labels[0].name, display)}**")
    p = dict(attack=attack, goal=goal, target_label=target, top_k=top_k)
    widgets = list(spec.params)
    c = st.columns(max(4, len(widgets) + (2 if spec.space == "features" else 0)))
    col = 0
    if spec.space == "features":
        p["eps"] = c[0].number_input("eps (max perturbation)", 0.0, 10.0, 1.0, step=0.1, key=f"{prefix}_eps",
                                     help="budget in the feature view; 0 = unbounded")
        p["eps"] = p["eps"] or None
        p["norm"] = c[1].selectbox("Norm (budget)", ["2", "inf"], key=f"{prefix}_norm")
        col = 2
    for i, param in enumerate(widgets):
        p[param.name] = _param_input(c[col + i], param, f"{prefix}_{attack}_{param.name}")
    p["seed"] = st.number_input("Seed", 0, 2**31 - 1, 0, key=f"{prefix}_seed")
    return p


def render_attack(res, key: str, display: dict[str, str] | None = None) -> None:
    """An AttackResult: outcome, cost, before/after tables (``display``: raw -> display label names)
    and what changed (words, or the most-changed features)."""
    spec, goal = pipeline.attacks().get(res.attack), pipeline.attack_goals().get(res.goal)
    what = f"{spec.title if spec else res.attack}, goal: {goal.help if goal else res.goal}"
    if res.success:
        st.success(f"Attack succeeded ({what}).")
    else:
        st.warning(f"Attack did not reach its goal ({what}).")
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
    left.dataframe(prediction_frame(res.before, display=display), hide_index=True, width="stretch")
    right.markdown("**After**")
    right.dataframe(prediction_frame(res.after, display=display), hide_index=True, width="stretch")
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
