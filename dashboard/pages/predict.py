"""Predict: the selected document, its top-k labels (ground truth marked) and label-tree paths;
plus free text typed by the user."""
from __future__ import annotations

import html
import json

import pandas as pd
import streamlit as st

from dashboard import components as C
from dashboard import jobs
from dashboard import state as S
from engine import pipeline

dataset, model_id, index, top_k = C.require_selection()
st.title("Predict")
st.caption(f"{dataset} · {C.model_label(model_id)} · test document {index}")

out = C.call(S.predict_document, dataset, model_id, index, top_k, C.version(), what="prediction")
if C.failed(out):
    st.stop()
doc, pred, paths = out
stats = S.dataset_stats(dataset)

left, right = st.columns([3, 2])
with left:
    st.subheader("Document")
    if doc.text is not None:
        st.caption("Pseudo-text: the document's active bag-of-words features, in a fixed word order "
                   "(the benchmark files hold word ids, not the original sentences)." if dataset in S.BUILTIN_DATASETS else "")
        C.html_block(f'<div class="xt-text xt-doc">{html.escape(doc.text)}</div>')
    else:
        names = S.feature_names(dataset)
        nz = pd.DataFrame({"feature": names if len(names) == doc.features.size else
                           [f"f{i}" for i in range(doc.features.size)], "value": doc.features})
        st.caption(f"{stats['display_name']} has numeric features only ({doc.features.size}); no text.")
        st.dataframe(nz, hide_index=True, width="stretch", height=300)
    truth_names = sorted(S.label_names(dataset)[j] for j in doc.labels)  # raw names: the downloads keep them
    display = S.label_display(dataset)  # what a person reads (e.g. TAG_children -> children)
    st.markdown("**True labels:** " + (", ".join(f"`{display.get(n, n)}`" for n in truth_names)
                                       if truth_names else "(none)"))
with right:
    st.subheader(f"Top-{len(pred.labels)} labels")
    st.plotly_chart(C.score_bars(pred, display=display), key="pred-bars", config={"displayModeBar": False})
    st.caption("green: a true label · red: not a true label")
df = C.prediction_frame(pred, paths)
if S.model_manifests(dataset).get(model_id, {}).get("family") == "xtransformer":
    split = C.call(S.score_split_document, dataset, model_id, index, top_k, C.version(), what="the score split")
    if not C.failed(split):
        shares = {s.label_id: 100 * s.encoder_share for s in split.labels}
        df.insert(3, "evidence from the encoder %", [round(shares.get(x.label_id, float("nan")), 1) for x in pred.labels])
        st.caption("The X-Transformer's ranker reads [TF-IDF ; text embedding]: *evidence from the encoder* is the "
                   "encoder half's share of each label's ranker evidence (summed |parts| along the label's tree path; "
                   "the rest is TF-IDF). Attention maps explain only that share.")
# certified robustness of this document: a background job (seconds), cached on disk; defaults from the registry
certs = C.call(S.certificates_for, dataset, model_id, C.version(), what="the certificate list")
if not C.failed(certs) and certs:
    specs = pipeline.list_certificates()
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    # options are the titles themselves: a format_func'd selectbox breaks AppTest's reruns of this page
    titles = {specs[n].title: n for n in certs}
    method = titles[c1.selectbox("Certificate", list(titles), key="pred_cert_method")]
    spec = specs[method]
    cert_key = jobs.key_for("certify", dataset=dataset, model=model_id, version=C.version(), doc=index,
                            method=method, top_k=top_k)
    if c2.button("Certify", key="pred_certify", help=spec.description):
        jobs.start(cert_key, f"certifying test document {index} ({spec.title})", pipeline.certify_document,
                   dataset, model_id, index, method, top_k=top_k)
    cert_job = jobs.get(cert_key)
    jobs.panel(cert_job, "pred-cert", retry=lambda: jobs.start(
        cert_key, f"certifying test document {index} ({spec.title})", pipeline.certify_document, dataset, model_id,
        index, method, restart=True, top_k=top_k))
    if cert_job is not None and cert_job.ok:
        name, column = C.certified_column(pred, cert_job.result)
        df[name] = column
        st.markdown(C.multiguard_text(cert_job.result))
        st.caption(cert_job.result.guarantee + " Settings: " + "; ".join(
            f"{p.help} = {cert_job.result.params.get(p.name, p.default)}" for p in spec.params if p.name != "top_k") +
            f". {cert_job.result.queries:,} model calls in {cert_job.result.seconds:.1f} s.")
# on screen the display names, in the label column and at the end of each label-tree path; the downloads keep the raw
shown_df = C.prediction_frame(pred, paths, display)
st.dataframe(df.assign(label=shown_df["label"], **{"label-tree path": shown_df["label-tree path"]}), hide_index=True,
             width="stretch")
hits = sum(1 for x in pred.labels if x.is_true)
st.caption(f"{hits} of the top {len(pred.labels)} are true labels (P@{len(pred.labels)} = {hits / len(pred.labels):.2f}). "
           "The label-tree path lists the clusters of the model's label tree from the root down to the label.")
S.remember("predict", (doc, pred, paths))
C.download_row([
    ("Predictions (CSV)", df.to_csv(index=False), f"xtrust-{dataset}-{model_id}-{index}-predictions.csv", "text/csv"),
    ("Predictions (JSON)", json.dumps({"dataset": dataset, "model": model_id, "doc": index,
                                       "true_labels": truth_names, "predictions": df.to_dict("records")}, indent=1),
     f"xtrust-{dataset}-{model_id}-{index}-predictions.json", "application/json"),
], key="pred-dl")
C.report_button("predict")

st.divider()
st.subheader("Your own text")
if stats["kind"] != "text":
    st.info(f"{stats['display_name']} models read numeric features, so they cannot label free text.")
else:
    from dashboard import jobs
    from engine import pipeline

    ss = st.session_state
    display = S.label_display(dataset)
    with st.form("free-text"):
        text = st.text_area("Text to label", height=120, placeholder="paste an abstract or a few sentences…")
        go = st.form_submit_button("Predict labels")
    if go:
        ss[S.K_FREE_TEXT] = text
    text = ss.get(S.K_FREE_TEXT)
    p = C.FAILED
    if text is not None:
        p = C.call(S.predict_text, dataset, model_id, text, top_k, C.version(), what="prediction")
    if text is not None and not C.failed(p):
        cov = C.call(S.text_coverage, dataset, model_id, text, C.version(), what="the vocabulary check")
        if not C.failed(cov):
            encoder = S.model_manifests(dataset).get(model_id, {}).get("family") == "xtransformer"
            known = f"{cov.n_known} of the text's {cov.n_words} words are in the model's vocabulary"
            if cov.ignored:
                st.markdown(f"**{known}.** " + ("Its TF-IDF half ignores the others (its encoder still reads "
                            "them): " if encoder else "The model ignores the others: ")
                            + ", ".join(f"`{w}`" for w in cov.ignored[:40])
                            + (f" and {len(cov.ignored) - 40} more" if len(cov.ignored) > 40 else ""))
                C.html_block(C.coverage_html(text, cov.ignored))
            else:
                st.markdown(f"**{known}:** the model reads every word.")
        raw = C.prediction_frame(p)
        st.dataframe(C.prediction_frame(p, display=display), hide_index=True, width="stretch")
        st.download_button("Predictions for this text (CSV)", raw.to_csv(index=False), key="ft-dl",
                           file_name=f"xtrust-{dataset}-{model_id}-text-predictions.csv", mime="text/csv",
                           on_click="ignore")

        # explain and attack the text right here, each a background job (progress, Cancel, cached)
        left, right = st.columns(2)
        with left.container(border=True):
            st.markdown("**Explain this text**")
            methods = C.call(pipeline.explainers_for, dataset, model_id, what="the explanation methods")
            methods = [] if C.failed(methods) else methods[0]
            specs = pipeline.explainers()
            method = st.radio("Method", methods, key="ft_method", format_func=lambda m: specs[m].title,
                              horizontal=True) if methods else None
            ex_key = jobs.key_for("text-explain", dataset=dataset, model=model_id, version=C.version(), text=text,
                                  method=method, top_k=top_k)
            if method and st.button("Explain this text", key="ft_explain_go"):
                jobs.start(ex_key, f"{specs[method].title} on your text", pipeline.explain_text, dataset, model_id,
                           text, method=method, top_k=top_k)
                ss[S.K_TEXT_EXPLAIN_JOB] = ex_key
        with right.container(border=True):
            st.markdown("**Attack this text**")
            at_params = C.attack_form("ft", p, "text", top_k, display=display)
            at_key = jobs.key_for("text-attack", dataset=dataset, model=model_id, version=C.version(), text=text,
                                  **at_params)
            if st.button("Attack this text", key="ft_attack_go"):
                jobs.start(at_key, f"{pipeline.attacks()[at_params['attack']].title} on your text",
                           pipeline.attack_text, dataset, model_id, text, **at_params)
                ss[S.K_TEXT_ATTACK_JOB] = at_key
        for job_key, current, what in ((S.K_TEXT_EXPLAIN_JOB, ex_key, "explain"), (S.K_TEXT_ATTACK_JOB, at_key, "attack")):
            job = jobs.get(ss.get(job_key))
            if job is None or job.key != current:
                continue  # the text or the parameters changed since: launch again
            retry = (lambda j=job, w=what: jobs.start(j.key, j.label, pipeline.explain_text, dataset, model_id, text,
                                                      method=method, top_k=top_k, restart=True) if w == "explain"
                     else jobs.start(j.key, j.label, pipeline.attack_text, dataset, model_id, text, restart=True,
                                     **at_params))
            jobs.panel(job, f"ft-{what}", retry=retry)
            if job.ok and what == "explain":
                C.render_explanation(job.result, key="ft-ex", unit="word", display=display)
            elif job.ok:
                C.render_attack(job.result, key="ft-at", display=display)
