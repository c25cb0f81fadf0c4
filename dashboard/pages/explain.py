"""Explain: why the model predicts each top-k label -- LIME, attention and whole-score attribution side
by side, the label-wise attention heatmap, BertViz, and faithfulness scores of each explanation."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from dashboard import components as C
from dashboard import jobs
from dashboard import state as S
from engine import pipeline


dataset, model_id, index, top_k = C.require_selection()
stats_kind_is_text = S.dataset_stats(dataset)["kind"] == "text"
st.title("Explain")
st.caption(f"{dataset} · {C.model_label(model_id)} · test document {index}")
family = S.model_manifests(dataset).get(model_id, {}).get("family", "")
is_xtf = family == "xtransformer"

# only the methods this model supports are offered (the engine's explainer registry); the others say why
specs = pipeline.explainers()
supported = C.call(pipeline.explainers_for, dataset, model_id, what="the explanation methods")
if C.failed(supported):
    st.stop()
METHODS, missing = supported
NAMES = {**{m: spec.title for m, spec in specs.items()}, "": "(none)"}
ss = st.session_state
# every supported method by default, in the registry's order (fastest first: whole, LIME, attention)
ss["ex_methods"] = [m for m in ss.get("ex_methods", METHODS) if m in METHODS]
with st.form("explain-params"):
    c = st.columns([3, 1, 1, 1])
    c[0].multiselect("Methods", METHODS, key="ex_methods", format_func=NAMES.get,
                     help="; ".join(f"{NAMES[m]}: {specs[m].help}" for m in METHODS))
    c[1].number_input("LIME samples", 50, 5000, 500, step=50, key="ex_samples")
    c[2].number_input("Words shown" if stats_kind_is_text else "Features shown", 3, 50, 10, key="ex_nfeat")
    c[3].number_input("Seed", 0, 2**31 - 1, 0, key="ex_seed")
    st.form_submit_button("Explain")
for m, why in missing.items():
    st.caption(f"**{NAMES[m]}** is not offered for this model: {why}")

methods = [m for m in METHODS if m in ss["ex_methods"]]  # run and shown fastest first
if not methods:
    st.info("Choose at least one explanation method above.")
eparams = dict(top_k=top_k, samples=int(ss["ex_samples"]), n_features=int(ss["ex_nfeat"]), seed=int(ss["ex_seed"]))


def explain_all(progress=None) -> dict:
    """The X-Transformer background job: every chosen method's first result, fastest first, each
    cached (so shown) as soon as it exists; then each one's faithfulness scores, updating its entry."""
    bars = jobs.parts(progress, [1.0] * (2 * len(methods)))
    for m, bar in zip(methods, bars):
        pipeline.explain_document(dataset, model_id, index, method=m, progress=bar, with_faithfulness=False,
                                  **eparams)
    return {m: pipeline.explain_document(dataset, model_id, index, method=m, progress=bar, **eparams)
            for m, bar in zip(methods, bars[len(methods):])}


def stored() -> dict:
    """method -> what the cache holds now (complete, first result with faithfulness pending, or None)."""
    out = {}
    for m in methods:
        hit = C.call(pipeline.cached_explanation, dataset, model_id, index, method=m, what="the explanation cache",
                     **eparams)
        out[m] = None if C.failed(hit) else hit
    return out


def stage(hit) -> str:
    return "none" if hit is None else "first" if hit.faithfulness_pending else "done"


# XR-Linear explains in well under a second: inline. The X-Transformer takes seconds per method: a
# background job with progress and Cancel, whose results appear one by one as they land in the cache.
cached = stored() if is_xtf else {}
have = dict(cached)
if is_xtf and methods and have[methods[0]] is None and specs[methods[0]].sub_second \
        and pipeline.model_is_loaded(dataset, model_id):
    # the fastest method's first result (whole score: well under a second with the model in memory) is computed
    # in this run, so it is on the page at once instead of after the job's start and the next poll
    first = C.call(pipeline.explain_document, dataset, model_id, index, method=methods[0], with_faithfulness=False,
                   what=f"the {NAMES[methods[0]]} explanation", **eparams)
    have[methods[0]] = None if C.failed(first) else first
background = is_xtf and any(stage(h) != "done" for h in have.values())
ejob = None
if background:
    ekey = jobs.key_for("explain", dataset=dataset, model=model_id, version=C.version(), doc=index, methods=methods,
                        **eparams)

    def start_job(restart: bool = False):
        return jobs.start(ekey, f"explaining document {index}", explain_all, restart=restart)

    ejob = jobs.get(ekey)  # started once per parameter set: a cancelled or failed job stays so until "Try again"
    panel_slot = st.container()  # its progress and Cancel, above the results
    if ejob is not None and ejob.ok:  # the job's own results (the cache may be unwritable)
        have = {m: ejob.result.get(m) or have.get(m) for m in methods}


def show_job(ejob):
    """Start the job if it is not there (after this run has drawn what it has: the job's thread would compete
    with the drawing), show its panel, and redraw the page when a result lands while it runs -> the job."""
    ejob = ejob or start_job()
    with panel_slot:
        jobs.panel(ejob, "explain", retry=lambda: start_job(restart=True))
        if ejob.running:
            shown = tuple(stage(cached[m]) for m in methods)  # the cache as read (an unwritable one stays "none")

            @st.fragment(run_every=0.5)
            def _watch():
                """Redraw the page as soon as a method's first result or its faithfulness scores land."""
                if tuple(stage(h) for h in stored().values()) != shown:
                    st.rerun(scope="app")

            _watch()
    return ejob


cols = st.columns(len(methods)) if methods else []
results = {}
for col, method in zip(cols, methods):
    with col:
        st.subheader(NAMES[method])
        if is_xtf:
            expl = have.get(method)
            if expl is None:
                if background:
                    st.caption("waiting: the methods run one after the other, fastest first")
                continue
        else:
            with st.spinner(f"explaining with {NAMES[method]}…"):
                expl = C.call(S.explain_document, dataset, model_id, index, method, top_k, int(ss["ex_samples"]),
                              int(ss["ex_nfeat"]), int(ss["ex_seed"]), C.version(),
                              what=f"the {NAMES[method]} explanation")
        if C.failed(expl):
            continue
        st.caption(f"{len(expl.labels)} labels explained in {float(expl.seconds):.2f} s")
        if expl.faithfulness_pending:
            st.caption("faithfulness scores: computing (they appear below when ready)")
        else:
            results[method] = expl
            S.remember(f"explain-{method}", expl)  # the HTML report takes complete results only
        if method == "whole":  # the encoder's share of each score and how exactly the attributions add up
            st.dataframe(C.whole_score_frame(expl, S.label_display(dataset)), hide_index=True)
        elif method == "attention":  # attention speaks for the encoder's share of each score only
            st.caption(C.encoder_share_note([le.extra.get("encoder_share_pct") for le in expl.labels]))
            st.dataframe(C.encoder_share_frame(expl, S.label_display(dataset)), hide_index=True)
        C.render_explanation(expl, key=f"ex-{method}")

if background:
    ejob = show_job(ejob)

if results:
    st.subheader("Faithfulness")
    st.caption("Comprehensiveness: score drop when the explanation's top words are removed (higher is better). "
               "Sufficiency: score drop when only they are kept (lower is better). Deletion AUC: lower is better. "
               "'random' columns: the same scores for a random word order.")
    frames = []
    for m, e in results.items():
        f = C.faithfulness_frame(e)
        f.insert(0, "method", NAMES[m])
        frames.append(f)
    faith = pd.concat(frames, ignore_index=True)
    st.dataframe(faith, hide_index=True, width="stretch")
    csv = pd.concat([C.explanation_frame(e).assign(method=m) for m, e in results.items()], ignore_index=True)
    C.download_row([
        ("Explanations (CSV)", csv.to_csv(index=False), f"xtrust-{dataset}-{model_id}-{index}-explanations.csv", "text/csv"),
        ("Explanations (JSON)", json.dumps({m: json.loads(C.to_json_text(e)) for m, e in results.items()}, indent=1),
         f"xtrust-{dataset}-{model_id}-{index}-explanations.json", "application/json"),
    ], key="ex-dl")
    C.report_button("explain")

st.divider()
st.subheader("How faithful is each method across the dataset?")
st.caption("The same scores averaged over the top-k labels of seeded test documents, and how often each method's "
           "word order beats a random order on the same label. Each document is cached: a second run, or one "
           "after a cancel, continues where it stopped. On the X-Transformer a BibTeX document takes ~15 s.")
with st.form("faith-params"):
    c = st.columns([1, 1, 2], vertical_alignment="bottom")
    c[0].number_input("Documents", 1, 1000, 20, key="faith_docs")
    c[1].number_input("LIME samples", 50, 5000, 500, step=50, key="faith_samples")
    measure = c[2].form_submit_button("Measure faithfulness")
fparams = dict(n_docs=int(ss["faith_docs"]), samples=int(ss["faith_samples"]), seed=int(ss["ex_seed"]), top_k=top_k)
fkey = jobs.key_for("faithfulness", dataset=dataset, model=model_id, version=C.version(), **fparams)
if measure:
    jobs.start(fkey, f"faithfulness over {fparams['n_docs']} documents", pipeline.faithfulness_table,
                dataset, model_id, **fparams)
    ss[S.K_FAITH_JOB] = fkey
fjob = jobs.get(ss.get(S.K_FAITH_JOB))
if fjob is not None and fjob.key != fkey:
    fjob = None if fjob.done else fjob
jobs.panel(fjob, "faith")
if fjob is not None and fjob.ok:
    res = fjob.result
    ftable = C.faithfulness_table_frame(res)
    st.dataframe(ftable, hide_index=True, width="stretch")
    st.download_button("Faithfulness table (CSV)", ftable.to_csv(index=False), key="faith-dl", on_click="ignore",
                       file_name=f"xtrust-{dataset}-{model_id}-faithfulness.csv", mime="text/csv")
    st.caption(f"{res['n_docs']} documents × top-{res['labels_per_doc']} labels, LIME {res['samples']} samples, "
               f"seed {res['seed']}; {res['cached_docs']} documents from the cache, {res['seconds']} s computing.")

st.divider()
st.subheader("Attention heatmap and BertViz")
if not is_xtf:
    st.info("The label-wise attention heatmap and BertViz need an X-Transformer model; the selected model is "
            f"{C.model_label(model_id)}. Train an X-Transformer on the Overview page (text datasets only).")
    note = S.first_start_note(dataset)
    if note:
        st.info(note, icon=":material/hourglass_top:")
elif background and not ejob.done:
    # computed here it would hold the page (and so the first explanation) back by the model's load and a
    # forward + backward pass per label: it is drawn on the rerun after the explanations above are done
    st.caption("The label-wise attention heatmap is drawn when the explanations above are done.")
else:
    am = C.call(S.attention_heatmap, dataset, model_id, index, top_k, C.version(), what="the attention heatmap")
    if not C.failed(am) and getattr(am, "note", None):
        st.warning(am.note)
    elif not C.failed(am):
        st.plotly_chart(C.attention_figure(am, S.label_display(dataset)), key="attn-heat")
        st.caption("Each row: how strongly the encoder's attention links each word to the label (row max = 1). "
                   + C.encoder_share_note(am.encoder_share_pct))
    # the BertViz views are ~0.4-15 MB of HTML each: built and sent only when asked
    view = st.radio("BertViz view", ["(none)", "head", "model"], horizontal=True, key="bv_view",
                    help="BertViz's head / model view of the encoder's attention, loaded on demand")
    if view != "(none)":
        markup = C.call(S.bertviz_html, dataset, model_id, index, view, C.version(), what="BertViz")
        if not C.failed(markup):
            if not C.failed(am):
                st.caption("BertViz shows the encoder's raw attention. " + C.encoder_share_note(am.encoder_share_pct))
            st.iframe(markup, height=720 if view == "model" else 560)
