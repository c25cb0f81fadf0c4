"""Certified robustness and robustness by label frequency in the dashboard (issue 13, item 5): the
Predict page's Certify action and the Compare page's certified-vs-attacked chart and frequency table,
under Streamlit's AppTest with real XR-Linear models."""
from __future__ import annotations

import time

from tests.dashboard.test_pages import open_page, texts


def finish(at, job):
    deadline = time.time() + 300
    while not job.done and time.time() < deadline:
        time.sleep(0.2)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert job.ok, job.error
    return job


def test_predict_certify_fills_the_radius_column(xtrust_dirs):
    from dashboard import jobs
    from engine import pipeline

    at = open_page("predict")
    box = at.selectbox(key="pred_cert_method")
    assert box.options == [s.title for s in pipeline.list_certificates().values()]  # BibTeX is text: both
    assert box.value == pipeline.list_certificates()["gaussian"].title
    table = next(d.value for d in at.dataframe if "label-tree path" in d.value.columns)
    assert "certified ℓ2 radius" not in table.columns  # nothing until asked
    at.button(key="pred_certify").click().run()
    for job in jobs.running("certify:"):  # none left when it finished within the run
        finish(at, job)
    at.run()
    table = next(d.value for d in at.dataframe if "label-tree path" in d.value.columns)
    col = list(table["certified ℓ2 radius"])
    assert len(col) == 5
    for cell in col:  # a radius, or one of the two honest answers
        assert cell.startswith("not certified at 99.9 % confidence") or cell == "not in the smoothed top-k" \
            or cell.startswith("∞") or float(cell) >= 0
    t = texts(at)
    assert "**MultiGuard:**" in t and "true labels provably stay in the smoothed top-5" in t
    # the settings shown are the registry's defaults, not a copy
    sigma = next(p for p in pipeline.list_certificates()["gaussian"].params if p.name == "sigma")
    assert f"{sigma.help} = {sigma.default}" in t


def test_mediamill_offers_only_the_gaussian_certificate(xtrust_dirs):
    at = open_page("predict", dataset="mediamill", model="xlinear")
    assert at.selectbox(key="pred_cert_method").options == ["Gaussian smoothing (l2, feature view)"]


def test_compare_certified_chart_and_frequency_table_in_percent(xtrust_dirs):
    from dashboard import jobs, state
    from engine import pipeline

    pipeline.ensure_model("mediamill", "xlinear")
    pipeline.train_robust("mediamill", "xlinear")
    # trained outside a dashboard job (whose on_done does this): the 5 s model listing would still name
    # an earlier test's robust model, and the job keys would change under the page when it expires
    state.clear_model_caches()
    at = open_page("compare", dataset="mediamill")
    at.number_input(key="rb_n").set_value(2)
    at.text_input(key="rb_eps_values").set_value("0.05, 0.25")
    at.button(key="FormSubmitter:robust-params-Certified vs attacked").click().run()
    job = finish(at, jobs.get(at.session_state[state.K_CERT_CURVE_JOB]))
    assert set(job.result) == {"xlinear", "xlinear-robust"}
    df = next(d.value for d in at.dataframe if "certified P@5 %" in d.value.columns)
    assert list(df["budget (ℓ2)"]) == [0.05, 0.25, 0.05, 0.25]
    assert (df["certified P@5 %"] <= df["attacked P@5 %"]).all()  # certified never above attacked here
    assert ((df["certified P@5 %"] >= 0) & (df["certified P@5 %"] <= 100)).all()
    assert (df["attacked P@5 %"] > 1).any()  # in %, not a fraction
    assert any("Certified vs empirically attacked precision" in c.proto.spec for c in at.get("plotly_chart"))
    assert "Certified P@5 at radius r" in texts(at)

    at.button(key="FormSubmitter:robust-params-By label frequency").click().run()
    job = finish(at, jobs.get(at.session_state[state.K_FREQ_JOB]))
    df = next(d.value for d in at.dataframe if "correct labels kept %" in d.value.columns)
    assert list(df["labels"])[:3] == ["head (most frequent third)", "torso (middle third)", "tail (least frequent third)"]
    assert len(df) == 6 and set(df["model"]) == {"XR-Linear", "XR-Linear (adversarially trained)"}
    fr = job.result["xlinear"]
    head = df.iloc[0]
    assert head["clean P@5 part %"] == round(100 * fr.bins[0].clean_p_at_k_part, 2)
    assert abs(df.iloc[:3]["attacked P@5 part %"].sum() - 100 * fr.attacked_p_at_k) < 0.05
    assert any('"Robustness by label frequency"' in c.proto.spec for c in at.get("plotly_chart"))
