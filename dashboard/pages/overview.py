"""Overview: the dataset's statistics and label frequencies, every model's metrics, training."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import components as C
from dashboard import jobs
from dashboard import state as S
from engine import pipeline

st.title("Overview")
dataset, model_id, _, _ = C.require_selection()
stats = C.call(S.dataset_stats, dataset, what="loading the dataset")
if C.failed(stats):
    st.stop()

name = stats["display_name"]
st.subheader(f"{name}" + ("  ·  sample" if stats["is_sample"] else ""))
if stats["is_sample"]:
    st.caption("This is the real 2,500-row **sample** of the dataset (the full files are not installed); "
               "metrics on it are not comparable with published results.")
cols = st.columns(6)
cols[0].metric("train documents", f"{stats['n_train']:,}")
cols[1].metric("test documents", f"{stats['n_test']:,}")
cols[2].metric("labels", f"{stats['n_labels']:,}")
cols[3].metric("features", f"{stats['n_features']:,}")
cols[4].metric("labels / document", f"{stats['labels_per_row_train']:.2f}")
cols[5].metric("input", "text" if stats["kind"] == "text" else "numeric features")

freq = stats["label_frequency"]  # a summary bounded in the label count (engine pipeline.label_frequency_summary)
display = S.label_display(dataset)
ranks, counts = freq["rank"], freq["count"]
hover = C.plot_texts(f"rank {r:,}: {C.shown(n, display)}" for r, n in zip(ranks, freq["label"]))
every_rank = len(ranks) == freq["n_labels"]
if every_rank:
    trace = go.Bar(x=ranks, y=counts, hovertext=hover, hoverinfo="text+y", marker_color="#4575b4")
else:  # a bar per label cannot be drawn at 10^5+ labels: the curve at log-spaced ranks (exact counts there)
    trace = go.Scatter(x=ranks, y=counts, mode="lines+markers", marker=dict(size=4), hovertext=hover,
                       hoverinfo="text+y", line=dict(color="#4575b4", shape="hv"))
fig = go.Figure(trace)
# ticks at 1-2-5 steps with full numbers: plotly's default log axis labels minor ticks with bare digits,
# and one tick per decade left BibTeX's 50-900 range with the single label "100"
# (counts of 0 have no place on a log axis: the caption says how many labels have none)
positive = [c for c in counts if c > 0] or [1]
y_ticks = [m * 10 ** e for e in range(0, 10) for m in (1, 2, 5)
           if min(positive) / 2 <= m * 10 ** e <= max(positive) * 2]
fig.update_layout(title="Label frequency in the training split (labels ranked by frequency)", height=320,
                  xaxis_title="label rank", yaxis_title="training documents",
                  xaxis=dict(type="linear" if every_rank else "log", tickformat=",d"),
                  yaxis=dict(type="log", tickvals=y_ticks, ticktext=[f"{t:,}" for t in y_ticks]), margin=dict(l=10, r=10, t=40, b=10))
st.plotly_chart(fig, key="label-freq")
shape = ("every label" if every_rank else
         f"{len(ranks):,} of the {freq['n_labels']:,} ranks, log-spaced (exact counts at those ranks)")
st.caption(f"Drawn: {shape}. Median {freq['median']:g} training documents per label, most {freq['max']:,}"
           + (f"; {freq['unseen']:,} labels have none (not drawn on the log axis)." if freq["unseen"] else "."))
with st.expander("Most and least frequent labels"):
    note = freq["names_note"]
    if note:
        st.caption(note[0].upper() + note[1:] + " (downloads and the CLI keep the raw names).")
    c1, c2 = st.columns(2)
    for col, part in ((c1, "top"), (c2, "bottom")):
        col.dataframe(pd.DataFrame({"label": [C.shown(n, display) for n, _ in freq[part]],
                                    "train docs": [c for _, c in freq[part]]}), hide_index=True, width="stretch")
    bins = freq["bins"]
    uppers = bins["lower"][1:] + [freq["max"] + 1]
    st.dataframe(pd.DataFrame({"training documents": [f"{lo:,}" if hi - lo <= 1 else f"{lo:,}–{hi - 1:,}"
                                                      for lo, hi in zip(bins["lower"], uppers)],
                               "labels": bins["labels"]}), hide_index=True, width="stretch")

# -- models -------------------------------------------------------------------------------------
st.subheader("Models")
manifests = S.model_manifests(dataset)
rows = []
for mid, man in manifests.items():
    m = man.get("metrics", {})
    row = {"model": C.model_label(mid), "id": mid, "variant": man.get("variant", "baseline")}
    for k in (1, 3, 5):
        for metric in ("P", "R", "nDCG", "PSP"):
            v = m.get(f"{metric}@{k}")
            row[f"{metric}@{k}"] = None if v is None else round(100 * float(v), 2)
    row["train s"] = man.get("train_seconds")
    row["trained"] = man.get("created", "")
    rows.append(row)
damaged = S.damaged_models(dataset)
for mid, why in damaged.items():
    st.warning(f"Model `{mid}` ({C.model_label(mid)}) is damaged and cannot be used: {why}. "
               "Train it again below to replace it.")
if rows:
    df = pd.DataFrame(rows)
    # what a reader compares first, on screen without scrolling: P@k, PSP@5 and training time
    order = (["model", "P@1", "P@3", "P@5", "PSP@5", "train s"]
             + [f"{m}@{k}" for m in ("R", "nDCG", "PSP") for k in (1, 3, 5) if f"{m}@{k}" != "PSP@5"]
             + ["variant", "id", "trained"])
    # a metric a model's manifest does not hold reads "–" on screen, not "None" (the CSV keeps it empty);
    # every cell as text, so a column mixing numbers and "–" is one type (Arrow refused the mix)
    shown = df[order].map(lambda v: "–" if v is None or (isinstance(v, float) and v != v)
                          else f"{v:.2f}" if isinstance(v, float) else str(v))
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption("Metrics in % on the test split. PSP@k is propensity-scored precision, normalised by the best achievable.")
    st.download_button("Metrics (CSV)", df[order].to_csv(index=False), file_name=f"xtrust-{dataset}-metrics.csv",
                       mime="text/csv", on_click="ignore")
elif not damaged:
    st.info("No model is trained for this dataset yet.")

# a training started in any browser session is shown here, not offered again
train_prefix = jobs.training_prefix(dataset)
job = jobs.get(st.session_state.get(S.K_TRAIN_JOB))
if job is None or not job.key.startswith(train_prefix):
    job = next(iter(jobs.running(train_prefix)), job)
running_ids = {j.key[len(train_prefix):] for j in jobs.running(train_prefix)}
trainable = C.call(S.trainable_model_ids, dataset, what="the model list")
missing = [] if C.failed(trainable) else [m for m in trainable if m not in manifests and m not in running_ids]
if missing:
    st.markdown("**Train a missing model**")
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    choice = c1.selectbox("Model to train", missing, format_func=C.model_label, key="train_choice")
    fam, variant = pipeline.parse_model_id(choice)
    if variant == "baseline":
        c1.caption(pipeline.model_families()[fam].help)
    else:
        spec = pipeline.defence_of(choice)
        c1.caption(f"{spec.help}, around the saved {C.model_label(pipeline.base_model_id(choice))}."
                   if spec.wraps else spec.help + ".")
    if c2.button("Train", type="primary", key="train_go"):
        key = train_prefix + choice
        fn, args = ((pipeline.train_model, (dataset, fam)) if variant == "baseline" else
                    (pipeline.train_defended, (dataset, choice)))
        job = jobs.start_training(dataset, choice, C.model_label(choice), fn, *args, on_done=S.clear_model_caches)
        st.session_state[S.K_TRAIN_JOB] = key
if job is not None and job.key.startswith(train_prefix):
    jobs.panel(job, "train")
    if job.ok:
        st.success(f"{job.label}: done; choose the model in the sidebar.")
