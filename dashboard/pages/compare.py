"""Compare: the baseline and the adversarially trained (robust) model of one family side by side on
the same document (predictions, LIME, the same attack), and robustness tables and curves."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import components as C
from dashboard import jobs
from dashboard import state as S
from engine import pipeline

dataset, model_id, index, top_k = C.require_selection()
st.title("Compare: baseline vs robust")
stats = S.dataset_stats(dataset)
manifests = S.model_manifests(dataset)
display = S.label_display(dataset)  # what a person reads (TAG_children -> children); downloads keep the raw names
family, _ = pipeline.parse_model_id(model_id)
baseline = pipeline.base_model_id(family)
ss = st.session_state
trainable = C.call(S.trainable_model_ids, dataset, what="the model list")
defended = [] if C.failed(trainable) else [m for m in trainable if m != baseline and m.startswith(family + "-")]
saved_defended = [m for m in defended if m in manifests]
for m, why in S.damaged_models(dataset).items():
    if m == baseline or m in defended:
        st.warning(f"{C.model_label(m)} is damaged and cannot be used: {why}. Retrain it below or on the Overview page.")
if saved_defended:
    if ss.get("cmp_robust") not in saved_defended:
        ss["cmp_robust"] = model_id if model_id in saved_defended else saved_defended[0]
    robust = st.selectbox("Robust model to compare with", saved_defended, key="cmp_robust", format_func=C.model_label)
else:
    robust = None
pair = [baseline] + ([robust] if robust else [])
have = [m for m in pair if m in manifests]
st.caption(f"{dataset} · {' vs '.join(C.model_label(m) for m in pair)} · test document {index}")

# no robust model yet: train one here (adversarial training or smoothing), visible from every session: a
# training another session started is shown with its progress and Cancel, and not offered again
train_prefix = jobs.training_prefix(dataset)
running_ids = {j.key[len(train_prefix):]: j for j in jobs.running(train_prefix)}
tjob = next((j for m, j in running_ids.items() if m in defended), None)
if tjob is None:
    tjob = jobs.get(ss.get(S.K_TRAIN_JOB))
    tjob = tjob if tjob is not None and tjob.key[len(train_prefix):] in defended else None
unsaved = [m for m in defended if m not in manifests and m not in running_ids]
if (unsaved and robust is None) or tjob is not None:
    with st.container(border=True):
        if robust is None:
            st.markdown(f"There is no robust {C.model_label(baseline)} for {dataset} yet"
                        + (": train one here." if unsaved else "."))
        if unsaved:
            c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
            choice = c1.selectbox("Robust model to train", unsaved, format_func=C.model_label, key="cmp_train_choice")
            c1.caption(pipeline.defence_of(choice).help)
            if c2.button("Train", type="primary", key="cmp_train_go"):
                tjob = jobs.start_training(dataset, choice, C.model_label(choice), pipeline.train_defended,
                                           dataset, choice, on_done=S.clear_model_caches)
                ss[S.K_TRAIN_JOB] = tjob.key
        jobs.panel(tjob, "cmp-train")
        if tjob is not None and tjob.ok:
            st.success(f"{tjob.label}: done.")
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
        st.dataframe(C.prediction_frame(out[1], display=display), hide_index=True, width="stretch")
        with st.expander("LIME explanation", expanded=False):
            expl = C.call(S.explain_document, dataset, m, index, "lime", top_k, 500, 10, 0,
                          S.model_version(dataset, m), what="the LIME explanation")
            if not C.failed(expl):
                C.render_explanation(expl, key=f"cmp-ex-{m}", display=display)

if preds:
    st.subheader("The same attack on both")
    first = next(iter(preds.values()))
    with st.container(border=True):
        params = C.attack_form("cmp", first, stats["kind"], top_k, display=display)
        go_attack = st.button("Attack both models", type="primary", key="cmp_go")
    key = jobs.key_for("cmp-attack", dataset=dataset, models=versions(), doc=index, **params)

    def attack_both(progress=None):
        """The same attack, baseline then robust; progress split evenly."""
        return jobs.each(have, progress, lambda m, part: pipeline.attack_document(dataset, m, index, progress=part,
                                                                                  **params))

    if go_attack:
        jobs.start(key, f"{pipeline.attacks()[params['attack']].title} on both models", attack_both)
        ss[S.K_COMPARE_JOB] = key
    job = jobs.get(ss.get(S.K_COMPARE_JOB))
    if job is not None and job.key == key:
        jobs.panel(job, "cmp-attack")
        if job.ok:
            rows = []
            for m, res in job.result.items():
                rows.append({"model": C.model_label(m), "success": res.success, "queries": res.queries,
                             "seconds": round(float(res.seconds), 2), "L2": res.l2, "L∞": res.linf,
                             "words changed": res.words_changed,
                             "top labels after": ", ".join(C.shown(x.name, display) for x in res.after.labels)})
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
            cols = st.columns(len(job.result))
            for col, (m, res) in zip(cols, job.result.items()):
                with col:
                    st.markdown(f"**{C.model_label(m)}**")
                    C.render_attack(res, key=f"cmp-{m}", display=display)

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
    c = st.columns(4)
    run_eval = c[0].form_submit_button("Evaluate robustness")
    run_curve = c[1].form_submit_button("Robustness curve")
    run_cert = c[2].form_submit_button("Certified vs attacked")
    run_freq = c[3].form_submit_button("By label frequency")

try:
    eps_values = [float(x) for x in eps_text.replace(";", ",").split(",") if x.strip()]
except ValueError:
    eps_values = []
    st.error("eps values must be numbers separated by commas, e.g. 0.1, 0.5, 1.")
eval_key = jobs.key_for("robust-eval", dataset=dataset, models=versions(), attack=r_attack, n=r_n, eps=r_eps, seed=r_seed)
curve_key = jobs.key_for("robust-curve", dataset=dataset, models=versions(), attack=r_attack, n=r_n, eps=eps_values,
                      seed=r_seed)


def evaluate_both(progress=None):
    return jobs.each(have, progress, lambda m, part: pipeline.evaluate_robustness(
        dataset, m, r_attack, n=int(r_n), eps=float(r_eps), seed=int(r_seed), progress=part))


def curve_both(progress=None):
    return jobs.each(have, progress, lambda m, part: pipeline.robustness_curve(
        dataset, m, r_attack, eps_values, n=int(r_n), seed=int(r_seed), progress=part))


if run_eval:
    jobs.start(eval_key, f"robustness of {len(have)} model(s) to {r_attack}", evaluate_both)
    ss[S.K_ROBUST_JOB] = eval_key
if run_curve and eps_values:
    jobs.start(curve_key, f"robustness curve of {len(have)} model(s)", curve_both)
    ss[S.K_CURVE_JOB] = curve_key

job = jobs.get(ss.get(S.K_ROBUST_JOB))
if job is not None and job.key == eval_key:
    jobs.panel(job, "rb-eval")
    if job.ok:
        st.plotly_chart(C.robustness_figure(job.result), key="rb-eval-fig")
        df = C.robustness_frame(job.result)
        st.dataframe(df, hide_index=True, width="stretch")
        st.caption("All numbers in %. P@k and R@k on the attacked test documents, clean (before) beside attacked "
                   "(after); attack success: documents whose goal was reached.")
        st.download_button("Robustness (CSV)", df.to_csv(index=False), file_name=f"xtrust-{dataset}-robustness.csv",
                           mime="text/csv", on_click="ignore", key="rb-dl")

job = jobs.get(ss.get(S.K_CURVE_JOB))
if job is not None and job.key == curve_key:
    jobs.panel(job, "rb-curve")
    if job.ok:
        st.plotly_chart(C.robustness_curve_figure(job.result), key="rb-curve-fig")
        st.dataframe(C.robustness_curve_frame(job.result), hide_index=True, width="stretch")
        st.caption("All numbers in %: attacked P@1 / P@5 and attack success against the budget eps (the clean "
                   "P@k is the curve's value at eps = 0).")

# -- certified vs attacked P@k at the same budgets, and damage by label frequency ---------------
gauss = next(spec for spec in pipeline.list_certificates().values() if spec.unit == "l2")
feature_attack = pipeline.attacks()[r_attack].space == "features"
cert_key = jobs.key_for("cert-curve", dataset=dataset, models=versions(), attack=r_attack, n=r_n, eps=eps_values,
                        seed=r_seed)
freq_key = jobs.key_for("robust-freq", dataset=dataset, models=versions(), attack=r_attack, n=r_n, eps=r_eps,
                        seed=r_seed)


def certified_both(progress=None):
    """Per model: the certified P@k curve and the attacked P@k curve over the same seeded documents."""
    def one(m, part):
        certify_part, attack_part = jobs.parts(part, [1.0, 1.0]) if part is not None else (None, None)
        return {"certified": pipeline.certified_curve(dataset, m, eps_values, n=int(r_n), seed=int(r_seed),
                                                      method=gauss.name, progress=certify_part),
                "empirical": pipeline.robustness_curve(dataset, m, r_attack, eps_values, n=int(r_n),
                                                       seed=int(r_seed), progress=attack_part)}
    return jobs.each(have, progress, one)


def frequency_both(progress=None):
    return jobs.each(have, progress, lambda m, part: pipeline.robustness_by_frequency(
        dataset, m, r_attack, n=int(r_n), eps=float(r_eps), seed=int(r_seed), progress=part))


if run_cert and eps_values:
    if feature_attack:
        jobs.start(cert_key, f"certified vs attacked P@k of {len(have)} model(s)", certified_both)
        ss[S.K_CERT_CURVE_JOB] = cert_key
    else:
        st.error(f"{pipeline.attacks()[r_attack].title} changes words, so its budget is not an ℓ2 radius: choose a "
                 "feature-view attack to compare with the certified ℓ2 radius.")
if run_freq:
    jobs.start(freq_key, f"robustness by label frequency of {len(have)} model(s)", frequency_both)
    ss[S.K_FREQ_JOB] = freq_key

job = jobs.get(ss.get(S.K_CERT_CURVE_JOB))
if job is not None and job.key == cert_key:
    st.subheader("Certified vs attacked precision")
    jobs.panel(job, "cert-curve", retry=lambda: jobs.start(cert_key, job.label, certified_both, restart=True))
    if job.ok:
        st.plotly_chart(C.certified_vs_attacked_figure(job.result), key="cert-curve-fig")
        df = C.certified_curve_frame(job.result)
        st.dataframe(df, hide_index=True, width="stretch")
        first = next(iter(job.result.values()))["certified"]
        st.caption(f"All numbers in %. Certified P@{first['top_k']} at radius r: the share of the top-{first['top_k']} "
                   f"slots that provably hold a true label for every feature-view change of ℓ2 norm below r — a "
                   f"guarantee for the smoothed version of each model ({gauss.title}, σ = "
                   f"{first['params']['sigma']:g}, confidence {100 * (1 - first['params']['alpha']):g} %): no "
                   f"attack on it within r can push it lower. Attacked P@{first['top_k']}: "
                   f"{pipeline.attacks()[r_attack].title} on the model itself at budget eps = r, on the same "
                   f"{first['n']} seeded test documents. Certification: {first['seconds_per_doc']:.1f} s per document.")
        st.download_button("Certified vs attacked (CSV)", df.to_csv(index=False),
                           file_name=f"xtrust-{dataset}-certified.csv", mime="text/csv", on_click="ignore",
                           key="cert-dl")

job = jobs.get(ss.get(S.K_FREQ_JOB))
if job is not None and job.key == freq_key:
    st.subheader("Robustness by label frequency")
    jobs.panel(job, "freq", retry=lambda: jobs.start(freq_key, job.label, frequency_both, restart=True))
    if job.ok:
        st.plotly_chart(C.frequency_figure(job.result), key="freq-fig")
        df = C.frequency_frame(job.result)
        st.dataframe(df, hide_index=True, width="stretch")
        first = next(iter(job.result.values()))
        st.caption(f"All numbers in %. Labels split by how many training documents carry them into three thirds of "
                   f"equal label count. P@{first.top_k} parts add up to P@{first.top_k}; *correct labels kept*: of "
                   f"the true labels in the clean top-{first.top_k}, the share still there after the attack "
                   f"(goal: {first.goal}, {first.n} seeded test documents, eps {first.eps}).")
        st.download_button("By label frequency (CSV)", df.to_csv(index=False),
                           file_name=f"xtrust-{dataset}-by-frequency.csv", mime="text/csv", on_click="ignore",
                           key="freq-dl")
