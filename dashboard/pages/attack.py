"""Attack: run a black-box attack (HopSkipJump, ZOO, WordNet synonyms) on the selected document in
a background thread, with progress and cancel; show predictions before/after and what changed."""
from __future__ import annotations

import streamlit as st

from dashboard import components as C
from dashboard import jobs
from dashboard import state as S
from engine import pipeline

dataset, model_id, index, top_k = C.require_selection()
st.title("Attack")
st.caption(f"{dataset} · {C.model_label(model_id)} · test document {index}")
stats = S.dataset_stats(dataset)
out = C.call(S.predict_document, dataset, model_id, index, top_k, C.version(), what="prediction")
if C.failed(out):
    st.stop()
doc, pred, _ = out

attacks = C.attacks_for(stats["kind"])
ss = st.session_state
display = S.label_display(dataset)
if stats["kind"] == "text":
    if "wordnet" in attacks and not ss.get(S.K_WORDNET_WARMED):
        # WordNet takes seconds to load: warm it now, in the background, for this document's words
        pipeline.warm_up_wordnet(tuple(dict.fromkeys(doc.text.split())) if doc.text else ())
        ss[S.K_WORDNET_WARMED] = True
else:
    st.caption(f"{stats['display_name']} reads {stats['n_features']:,} numeric features and has no text: every "
               "attack here changes feature values, and the budget eps is measured on them.")
with st.container(border=True):
    params = C.attack_form("at", pred, stats["kind"], top_k, display=display)
    launch = st.button("Launch attack", type="primary", key="at_go")

key = jobs.key_for("attack", dataset=dataset, model=model_id, version=C.version(), doc=index, **params)
if launch:
    jobs.start(key, f"{attacks[params['attack']]} on document {index}", pipeline.attack_document,
               dataset, model_id, index, **params)
    ss[S.K_ATTACK_JOB] = key
job = jobs.get(ss.get(S.K_ATTACK_JOB))
if job is None or job.key != key:
    if job is not None and job.done:
        st.caption("The parameters or the document changed since the last attack; launch again to see its result.")
    job = None if job is None or job.done else job
jobs.panel(job, "attack", retry=lambda: jobs.start(key, job.label, pipeline.attack_document, dataset, model_id,
                                                   index, restart=True, **params))
if job is not None and job.ok:
    res = job.result
    S.remember("attack", res)
    C.render_attack(res, key="at", display=display)
    C.download_row([
        ("Attack result (JSON)", C.to_json_text(res), f"xtrust-{dataset}-{model_id}-{index}-{res.attack}.json", "application/json"),
        ("Changes (CSV)", C.changed_frame(res).to_csv(index=False), f"xtrust-{dataset}-{model_id}-{index}-{res.attack}-changes.csv", "text/csv"),
    ], key="at-dl")
    C.report_button("attack")
