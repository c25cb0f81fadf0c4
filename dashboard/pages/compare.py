"""Compare: the baseline and the adversarially trained (robust) model of one family side by side on
the same document (predictions, LIME, the same attack), and robustness tables and curves."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import components as C
from dashboard import state as S
from engine import pipeline

dataset, model_id, index, top_k = C.require_selection()
st.title("Compare: baseline vs robust")
stats = S.dataset_stats(dataset)
manifests = S.model_manifests(dataset)
family = model_id.split("-")[0]
pair = [family, f"{family}-robust"]
have = [m for m in pair if m in manifests]
ss = st.session_state
st.caption(f"{dataset} · {C.model_label(pair[0])} vs {C.model_label(pair[1])} · test document {index}")
for m, why in S.damaged_models(dataset).items():
    if m in pair:
        st.warning(f"{C.model_label(m)} is damaged and cannot be used: {why}. Retrain it on the Overview page.")
if len(have) < 2:
    st.info(f"There is no {'robust' if pair[0] in have else 'baseline'} {C.model_label(pair[0]).split(' ·')[0]} model "
            f"for {dataset} yet. Train it on the Overview page; until then the tables below cover "
            f"{', '.join(C.model_label(m) for m in have) or 'no model'}.")
if not have:
    st.stop()


def versions() -> dict[str, str]:
    return {m: S.model_version(dataset, m) for m in have}


# -- the same document, both models ------------------------------------------------------------
cols = st.columns(len(have))
preds = {}
for col, m in zip(cols, have):
    with col:
        st.subheader(C.model_label(m))
        out = C.call(S.predict_document, dataset, m, index, top_k, S.model_version(dataset, m), what="prediction")
        if C.failed(out):
            continue
        preds[m] = out[1]
        st.dataframe(C.prediction_frame(out[1]), hide_index=True, width="stretch")
        with st.expander("LIME explanation", expanded=False):
            expl = C.call(S.explain_document, dataset, m, index, "lime", top_k, 500, 10, 0,
                          S.model_version(dataset, m), what="the LIME explanation")
            if not C.failed(expl):
                C.render_explanation(expl, key=f"cmp-ex-{m}")

if preds:
    st.subheader("The same attack on both")
    first = next(iter(preds.values()))
    with st.container(border=True):
        params = C.attack_form("cmp", first, stats["kind"], top_k)
        go_attack = st.button("Attack both models", type="primary", key="cmp_go")
    key = S.job_key("cmp-attack", dataset=dataset, models=versions(), doc=index, **params)

    def attack_both(progress=None):
        """The same attack, baseline then robust; progress split evenly."""
        out = {}
        for i, m in enumerate(have):
            scaled = None if progress is None else (lambda f, msg="", i=i: progress((i + f) / len(have), f"{m}: {msg}"))
            out[m] = pipeline.attack_document(dataset, m, index, progress=scaled, **params)
        return out

    if go_attack:
        S.start_job(key, f"{C.ATTACKS[params['attack']]} on both models", attack_both)
        ss[S.K_COMPARE_JOB] = key
    job = S.get_job(ss.get(S.K_COMPARE_JOB))
    if job is not None and job.key == key:
        C.job_panel(job, "cmp-attack")
        if job.ok:
            rows = []
            for m, res in job.result.items():
                rows.append({"model": C.model_label(m), "success": res.success, "queries": res.queries,
                             "seconds": round(float(res.seconds), 2), "L2": res.l2, "L∞": res.linf,
                             "words changed": res.words_changed,
                             "top labels after": ", ".join(x.name for x in res.after.labels)})
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
            cols = st.columns(len(job.result))
            for col, (m, res) in zip(cols, job.result.items()):
                with col:
                    st.markdown(f"**{C.model_label(m)}**")
                    C.render_attack(res, key=f"cmp-{m}")

# -- robustness over many documents -------------------------------------------------------------
st.divider()
st.subheader("Robustness over test documents")
attacks = C.attacks_for(stats["kind"])
with st.form("robust-params"):
    c = st.columns(4)
    r_attack = c[0].selectbox("Attack", list(attacks), format_func=attacks.get, key="rb_attack")
    r_n = c[1].number_input("Documents", 1, 500, 20, key="rb_n")
    r_eps = c[2].number_input("eps", 0.0, 10.0, 1.0, step=0.1, key="rb_eps")
    r_seed = c[3].number_input("Seed", 0, 2**31 - 1, 0, key="rb_seed")
    eps_text = st.text_input("eps values for the curve (comma separated)", "0.1, 0.25, 0.5, 1.0", key="rb_eps_values")
    c = st.columns(2)
    run_eval = c[0].form_submit_button("Evaluate robustness")
    run_curve = c[1].form_submit_button("Robustness curve")

try:
    eps_values = [float(x) for x in eps_text.replace(";", ",").split(",") if x.strip()]
except ValueError:
    eps_values = []
    st.error("eps values must be numbers separated by commas, e.g. 0.1, 0.5, 1.")
eval_key = S.job_key("robust-eval", dataset=dataset, models=versions(), attack=r_attack, n=r_n, eps=r_eps, seed=r_seed)
curve_key = S.job_key("robust-curve", dataset=dataset, models=versions(), attack=r_attack, n=r_n, eps=eps_values,
                      seed=r_seed)


def evaluate_both(progress=None):
    out = {}
    for i, m in enumerate(have):
        scaled = None if progress is None else (lambda f, msg="", i=i: progress((i + f) / len(have), f"{m}: {msg}"))
        out[m] = pipeline.evaluate_robustness(dataset, m, r_attack, n=int(r_n), eps=float(r_eps), seed=int(r_seed),
                                              progress=scaled)
    return out


def curve_both(progress=None):
    out = {}
    for i, m in enumerate(have):
        scaled = None if progress is None else (lambda f, msg="", i=i: progress((i + f) / len(have), f"{m}: {msg}"))
        out[m] = pipeline.robustness_curve(dataset, m, r_attack, eps_values, n=int(r_n), seed=int(r_seed),
                                           progress=scaled)
    return out


if run_eval:
    S.start_job(eval_key, f"robustness of {len(have)} model(s) to {r_attack}", evaluate_both)
    ss[S.K_ROBUST_JOB] = eval_key
if run_curve and eps_values:
    S.start_job(curve_key, f"robustness curve of {len(have)} model(s)", curve_both)
    ss[S.K_CURVE_JOB] = curve_key

job = S.get_job(ss.get(S.K_ROBUST_JOB))
if job is not None and job.key == eval_key:
    C.job_panel(job, "rb-eval")
    if job.ok:
        rows = []
        for m, r in job.result.items():
            row = {"model": C.model_label(m)}
            for part in ("clean", "attacked"):
                for k, v in (r.get(part) or {}).items():
                    row[f"{part} {k}"] = round(100 * float(v), 2)
            for k in ("success_rate", "queries_mean", "perturbation_median"):
                row[k.replace("_", " ")] = r.get(k)
            rows.append(row)
        df = pd.DataFrame(rows)
        st.dataframe(df, hide_index=True, width="stretch")
        st.caption("P@k / R@k in % on the attacked documents, before (clean) and after the attack.")
        st.download_button("Robustness (CSV)", df.to_csv(index=False), file_name=f"xtrust-{dataset}-robustness.csv",
                           mime="text/csv", on_click="ignore", key="rb-dl")

job = S.get_job(ss.get(S.K_CURVE_JOB))
if job is not None and job.key == curve_key:
    C.job_panel(job, "rb-curve")
    if job.ok:
        fig = go.Figure()
        frames = []
        for m, rows in job.result.items():
            df = pd.DataFrame(rows)
            df.insert(0, "model", C.model_label(m))
            frames.append(df)
            if "P@1" in df:
                fig.add_trace(go.Scatter(x=df["eps"], y=df["P@1"], mode="lines+markers", name=f"{C.model_label(m)} P@1"))
            if "success_rate" in df:
                fig.add_trace(go.Scatter(x=df["eps"], y=df["success_rate"], mode="lines+markers", line=dict(dash="dot"),
                                         name=f"{C.model_label(m)} success rate"))
        fig.update_layout(height=380, xaxis_title="eps", yaxis_title="value", margin=dict(l=10, r=10, t=30, b=10),
                          title="Robustness curve")
        st.plotly_chart(fig, key="rb-curve-fig")
        st.dataframe(pd.concat(frames, ignore_index=True), hide_index=True, width="stretch")
