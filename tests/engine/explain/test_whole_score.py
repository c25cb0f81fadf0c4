"""Whole-score attribution (engine/explain/whole_score.py) on real PECOS XR-Linear and a tiny X-Transformer."""
import json

import numpy as np
import pytest
import scipy.sparse as sp

from engine.errors import InputError, ModelError
from engine.explain.units import TextUnits
from engine.explain.whole_score import IG_STEPS, whole_score
from engine.models.xlinear import selected_scores


@pytest.fixture(scope="module")
def tiny_xtf(xtf_store):
    from engine.pipeline import get_model

    return get_model("bibtex", "xtransformer", xtf_store)


def _top(model, text, k=5):
    return np.asarray(model.predict([text], k)[0].label_ids)


def test_xlinear_attributions_add_up_exactly_to_log_score_minus_empty_text(small_xlinear, bibtex):
    text = bibtex.test.texts[3]
    ids = _top(small_xlinear, text)
    W, extras = whole_score(small_xlinear, TextUnits.of(text), ids, top_k=5)
    empty = sp.csr_matrix((1, small_xlinear.featurizer.dim), dtype=np.float32)
    empty_score = selected_scores(small_xlinear.xlm, empty, ids)[0]  # PECOS on a zero TF-IDF vector
    target = np.log(small_xlinear.score_labels([text], ids)[0]) - np.log(empty_score)
    np.testing.assert_allclose(W.sum(axis=1), target, rtol=1e-5)
    for j, x in enumerate(extras):
        assert x["completeness_error"] < 1e-9 and x["ig_steps"] == 0 and x["encoder_attribution"] == 0
        assert x["target"].startswith("log score") and x["encoder_share_pct"] == 0.0
    # words outside the TF-IDF vocabulary carry nothing; every attributed word is in the text
    units = TextUnits.of(text + " qqqzzzunknownword")
    W2, _ = whole_score(small_xlinear, units, ids)
    assert np.all(W2[:, units.names.index("qqqzzzunknownword")] == 0)


def test_one_word_document_gets_the_whole_change(small_xlinear, bibtex):
    word = next(w for w in TextUnits.of(bibtex.test.texts[0]).names if w in small_xlinear.featurizer.vocabulary)
    ids = _top(small_xlinear, word, 3)
    W, extras = whole_score(small_xlinear, TextUnits.of(f"{word} {word}"), ids)
    assert W.shape == (3, 1)
    np.testing.assert_allclose(W[:, 0], [x["target_value"] - x["baseline_value"] for x in extras], rtol=1e-9)


def test_xtransformer_completeness_within_one_percent(tiny_xtf, bibtex):
    import torch

    pytest.importorskip("captum", reason="the encoder half's integrated gradients need captum==0.9.0")
    text = bibtex.test.texts[0]
    ids = _top(tiny_xtf, text)
    units = TextUnits.of(text)
    W, extras = whole_score(tiny_xtf, units, ids, top_k=5)
    # the baseline scored independently: all-[PAD] word pieces, zero TF-IDF, through PECOS' own ranker
    t = tiny_xtf.encoder_inputs(text)
    special = torch.as_tensor(tiny_xtf.tokenizer.get_special_tokens_mask(t["input_ids"][0].tolist(),
                                                                         already_has_special_tokens=True)).bool()
    pad = torch.where(special, t["input_ids"][0], tiny_xtf.tokenizer.pad_token_id)[None, :]
    with torch.no_grad():
        e0 = tiny_xtf.unit_embedding(pad, t["attention_mask"], t["token_type_ids"]).numpy()
    R0 = tiny_xtf.rank_features(e0, sp.csr_matrix((1, tiny_xtf.featurizer.dim), dtype=np.float32))
    base = np.log(selected_scores(tiny_xtf.xtf.concat_model, R0, ids)[0])
    clean = np.log(tiny_xtf.score_labels([text], ids)[0])
    for j, x in enumerate(extras):
        assert x["target_value"] == pytest.approx(clean[j], abs=1e-4)
        assert x["baseline_value"] == pytest.approx(base[j], abs=1e-4)
        assert x["completeness_error"] <= 0.01
        assert x["attribution_sum"] == pytest.approx(clean[j] - base[j], rel=0.011, abs=1e-4)
        assert x["encoder_attribution"] != 0 and x["ig_steps"] >= IG_STEPS
        assert W[j].sum() + x["non_word_attribution"] == pytest.approx(x["attribution_sum"], rel=1e-9)
    # with enough steps the encoder half alone adds up to its change from the [PAD] baseline (float32 encoder:
    # ~1e-5 absolute); the default's few steps are held to the whole score's completeness (above) only
    _, fine = whole_score(tiny_xtf, units, ids, top_k=5, ig_steps=50)
    for x in fine:
        assert x["encoder_attribution"] + x["non_word_attribution"] == pytest.approx(x["encoder_target"], rel=0.01,
                                                                                     abs=1e-5)
    # words past the 32-token window reach the score only through TF-IDF
    assert W.shape == (5, units.n)


def test_encoder_integrated_gradients_are_complete(tiny_xtf, bibtex):
    """IG through the encoder alone, on random directions of the encoder output (larger than the ranker's)."""
    import torch

    pytest.importorskip("captum", reason="the encoder half's integrated gradients need captum==0.9.0")
    from engine.explain.whole_score import _encoder_ig, _pad_baseline

    text = bibtex.test.texts[0]
    units = TextUnits.of(text)
    t = tiny_xtf.encoder_inputs(text)
    base = _pad_baseline(tiny_xtf, t)
    assert base[0, 0] == t["input_ids"][0, 0] and base[0, -1] == t["input_ids"][0, -1]  # [CLS] ... [SEP] kept
    assert set(base[0, 1:-1].tolist()) == {tiny_xtf.tokenizer.pad_token_id}
    with torch.no_grad():
        e, e0 = (tiny_xtf.unit_embedding(ids, t["attention_mask"], t["token_type_ids"])[0].double().numpy()
                 for ids in (t["input_ids"], base))
    U = np.random.default_rng(0).normal(size=(e.size, 3))
    word_attr, non_word = _encoder_ig(tiny_xtf, units, t, base, U, 50)
    np.testing.assert_allclose(word_attr.sum(axis=1) + non_word, U.T @ (e - e0), rtol=1e-3)
    assert np.all(word_attr[:, [units.names.index(w) for w in units.words[-3:]]] == 0)  # past the 32 tokens


def test_bad_requests_get_clear_messages(small_xlinear, tiny_xtf, bibtex):
    text = bibtex.test.texts[3]
    scores = small_xlinear.score_labels([text], range(small_xlinear.n_labels))[0]
    outside = int(np.argsort(scores)[0])
    with pytest.raises(InputError, match="not in this document's top-5"):
        whole_score(small_xlinear, TextUnits.of(text), [outside], top_k=5)
    with pytest.raises(InputError, match="not one of this model's labels"):
        whole_score(small_xlinear, TextUnits.of(text), [10 ** 6])
    with pytest.raises(InputError, match="none of the document's words is in the model's vocabulary"):
        whole_score(small_xlinear, TextUnits.of("qqqzzz xxyyww"), [0])
    ens = tiny_xtf.with_xlinear_ensemble(bibtex.train.texts[:300], bibtex.train.Y[:300], 0.3)
    with pytest.raises(InputError, match="ensemble"):
        whole_score(ens, TextUnits.of(text), [0])


def test_missing_captum_is_a_clear_model_error(tiny_xtf, bibtex, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "captum.attr", None)  # import captum.attr now raises ImportError
    with pytest.raises(ModelError, match="needs Captum"):
        whole_score(tiny_xtf, TextUnits.of(bibtex.test.texts[0]), [0])


def test_explain_document_and_cli_with_method_whole(bibtex_store, monkeypatch, capsys):
    from engine.cli import main
    from engine.explain.api import explain_document
    from engine.explain.result import DocumentExplanation

    expl = explain_document("bibtex", "xlinear", 0, method="whole", top_k=3, store=bibtex_store, use_cache=False)
    assert expl.method == "whole" and len(expl.labels) == 3
    for lab in expl.labels:
        assert np.isfinite([lab.comprehensiveness, lab.sufficiency, lab.deletion_auc]).all()
        assert lab.comprehensiveness > lab.random_baseline["comprehensiveness"]
        assert lab.extra["completeness_error"] < 1e-9
    again = DocumentExplanation.from_json(json.loads(json.dumps(expl.to_json())))
    assert again.labels[0].extra["score_split"]["rankers"][0]["levels"]
    with pytest.raises(InputError, match="top-1"):
        explain_document("bibtex", "xlinear", 0, method="whole", top_k=1, labels=[expl.labels[2].label_id],
                         store=bibtex_store, use_cache=False)
    monkeypatch.setenv("XTRUST_MODEL_DIR", str(bibtex_store.root))
    assert main(["explain", "--dataset", "bibtex", "--model", "xlinear", "--doc", "0", "--method", "whole",
                 "--top-k", "2", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert out.count("encoder share of the score 0.00 %") == 2 and "completeness error 0.000 %" in out


def test_dense_xlinear_attributes_features_against_their_training_means(bibtex_store):
    from engine.explain.api import explain_document

    expl = explain_document("mediamill", "xlinear", 0, method="whole", top_k=2, n_features=5, store=bibtex_store,
                            use_cache=False)
    for lab in expl.labels:
        assert lab.extra["completeness_error"] < 1e-6 and len(lab.weights) == 5
        assert np.isfinite(lab.comprehensiveness)


@pytest.mark.parametrize("name", ["l3-hinge", "log-l3-hinge", "l1-hinge", "l2-hinge", "sigmoid", "log-sigmoid",
                                  "noop"])
def test_numpy_post_processor_transforms_match_the_torch_ones(name):
    import torch

    from engine.explain.score_split import transform_and_slope
    from engine.models.xlinear import pecos_transform

    v = np.linspace(-3.0, 2.5, 23)  # both sides of the hinge at 1
    t = torch.as_tensor(v, dtype=torch.float64).requires_grad_(True)
    f = pecos_transform(name, t)
    (df,) = torch.autograd.grad(f.sum(), t)
    mine, slope = transform_and_slope(name, v)
    np.testing.assert_allclose(mine, f.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(slope, df.numpy(), rtol=1e-12, atol=1e-15)


def test_xlinear_whole_score_never_loads_torch(bibtex_store):
    """XR-Linear has no encoder: its exact attribution needs numpy only (importing torch alone took ~5 s
    of a 100-document faithfulness table on the busy 2-core box)."""
    import os
    import subprocess
    import sys

    code = ("import sys; from engine.explain.api import explain_document; "
            "e = explain_document('bibtex', 'xlinear', 0, method='whole', top_k=3, use_cache=False, "
            "with_faithfulness=False); assert e.labels[0].extra['completeness_error'] < 1e-9; "
            "print('torch' in sys.modules)")
    env = {**os.environ, "XTRUST_MODEL_DIR": str(bibtex_store.root)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_whole_method_featurises_the_document_once(bibtex_store, monkeypatch):
    """The first result of a whole-score explanation featurises the text once for the top-k and once for
    the attribution: no second top-k prediction, no second pass for the score split or the labels' scores."""
    from engine.explain.api import explain_document
    from engine.models.featurize import TfidfText
    from engine.pipeline import get_model

    get_model("bibtex", "xlinear", bibtex_store)  # loaded before counting
    calls = []
    real = TfidfText.transform
    monkeypatch.setattr(TfidfText, "transform", lambda self, texts: calls.append(len(texts)) or real(self, texts))
    expl = explain_document("bibtex", "xlinear", 0, method="whole", top_k=5, store=bibtex_store, use_cache=False,
                            with_faithfulness=False)
    assert calls == [1, 1]  # model.predict for the top-k, ranker_inputs for the attribution
    assert 0 < expl.params["method_seconds"] <= expl.seconds
    exact = get_model("bibtex", "xlinear", bibtex_store).score_labels(
        [" ".join(w for w, _ in expl.labels[0].token_weights)],
        [lab.label_id for lab in expl.labels])[0]
    np.testing.assert_allclose([lab.score for lab in expl.labels], exact, rtol=1e-5)


def test_attention_explanations_carry_each_labels_encoder_share(tiny_xtf, xtf_store, bibtex, monkeypatch, capsys):
    """Attention speaks for the encoder half only: every attention result (method extras, heatmap, CLI) carries
    each label's encoder share of its score, equal to the score split's."""
    from engine.cli import main
    from engine.explain.api import attention_map, explain_document
    from engine.explain.score_split import score_split

    text = bibtex.test.texts[1]
    ids = _top(tiny_xtf, text, 3)
    want = [round(100 * lab.encoder_share, 4) for lab in score_split(tiny_xtf, text, ids).labels]
    assert all(0 < w < 100 for w in want)
    assert attention_map(tiny_xtf, text, ids).encoder_share_pct == want
    expl = explain_document("bibtex", "xtransformer", 1, method="attention", top_k=3, store=xtf_store,
                            use_cache=False, with_faithfulness=False)
    assert [lab.extra["encoder_share_pct"] for lab in expl.labels] == want
    monkeypatch.setenv("XTRUST_MODEL_DIR", str(xtf_store.root))
    assert main(["explain", "--dataset", "bibtex", "--model", "xtransformer", "--doc", "1", "--method", "attention",
                 "--top-k", "3", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert [f"encoder share of the score {w:.2f} % (attention explains only that part" in out for w in want] == \
        [True] * 3
    assert "+0.00000" not in out  # relevances of ~1e-7 keep their digits (they printed as +0.00000)


def test_warm_up_starts_what_the_first_call_would_wait_for(bibtex_store, xtf_store):
    """The sidebar calls it once the selected model is in memory: Captum's import for the X-Transformer, PECOS'
    Python weights (which XR-Linear's exact attribution reads; predictions use the predict-only layouts) for
    XR-Linear; a model not in memory is not loaded for it."""
    code = ("import sys, threading; from engine import pipeline; "
            "print(pipeline.warm_up_explainers('bibtex', 'xlinear')); "
            "m = pipeline.get_model('bibtex', 'xlinear'); print(m._xlm is None); "
            "print(pipeline.warm_up_explainers('bibtex', 'xlinear'), pipeline.warm_up_explainers('bibtex', 'xlinear')); "
            "ts = [t for t in threading.enumerate() if t.name.endswith('warm-up')]; print(len(ts)); ts[0].join(120); "
            "print(m._xlm is not None, 'captum.attr' in sys.modules)")
    assert _fresh_process(code, bibtex_store) == ["False", "True", "True", "True", "1", "True", "False"]
    code = ("import sys, threading; from engine import pipeline; pipeline.get_model('bibtex', 'xtransformer'); "
            "print(pipeline.warm_up_explainers('bibtex', 'xtransformer')); "
            "[t.join(120) for t in threading.enumerate() if t.name.endswith('warm-up')]; "
            "print('captum.attr' in sys.modules)")
    assert _fresh_process(code, xtf_store) == ["True", "True"]


def _fresh_process(code: str, store) -> list[str]:
    """What ``code`` prints, run in a fresh interpreter (nothing imported or warmed yet) over ``store``."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "XTRUST_MODEL_DIR": str(store.root)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_concurrent_forward_passes_neither_corrupt_nor_are_corrupted_by_integrated_gradients(tiny_xtf, bibtex):
    """Captum's hooks sit on the shared word-embedding module: a forward pass of another thread (a LIME job, a
    prediction of another session) during the attribution would be read -- and rewritten -- by them (seen as
    Captum's baseline-shape assertion on the Explain page, or silently wrong numbers). With the model's
    encoder lock both give exactly what they give alone."""
    import threading

    text, others = bibtex.test.texts[3], bibtex.test.texts[10:30]
    ids = _top(tiny_xtf, text)
    alone_W, alone_x = whole_score(tiny_xtf, TextUnits.of(text), ids, ig_steps=32)
    want = tiny_xtf.score_labels(others, ids)
    seen, errors, stop = [], [], threading.Event()

    def score_meanwhile():
        while not stop.is_set():
            try:
                seen.append(tiny_xtf.score_labels(others, ids))
            except Exception as exc:  # noqa: BLE001 - the assertion below shows it
                errors.append(exc)

    t = threading.Thread(target=score_meanwhile)
    t.start()
    try:
        for _ in range(3):
            W, x = whole_score(tiny_xtf, TextUnits.of(text), ids, ig_steps=32)
            np.testing.assert_allclose(W, alone_W, rtol=1e-4, atol=1e-6)
            assert [e["completeness_error"] for e in x] == pytest.approx([e["completeness_error"] for e in alone_x],
                                                                         abs=1e-6)
    finally:
        stop.set()
        t.join()
    assert not errors and seen
    for s in seen:
        np.testing.assert_allclose(s, want, rtol=1e-5, atol=1e-6)
