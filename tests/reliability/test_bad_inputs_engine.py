"""Bad text, ids and parameters through the engine API (predict, search, explain, attack, robustness,
training): each ends in an XTrustError naming the offending thing; odd-but-legal input (emoji, unknown
words, huge eps) gives a valid result or a clear message. Tiny params keep it fast (LIME 20 samples,
HopSkipJump 1 iteration) on the real XR-Linear trained on BibTeX."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from engine import pipeline
from tests.reliability.corpus import expect_error, expect_ok_or_message

N_TEST, N_LABELS = 2515, 159  # BibTeX test documents, labels
MB = 1024 * 1024


def predict_text(text, top_k=5, dataset="bibtex", model="xlinear"):
    return pipeline.predict_text(dataset, model, text, top_k)


def explain(index=0, **kw):
    args = dict(method="lime", top_k=2, samples=20, n_features=5, seed=0)
    args.update(kw)
    return pipeline.explain_document(args.pop("dataset", "bibtex"), args.pop("model", "xlinear"), index, **args)


def attack(index=0, **kw):
    args = dict(attack="hsj", max_iter=1, max_eval=10, top_k=5)
    args.update(kw)
    return pipeline.attack_document(args.pop("dataset", "bibtex"), args.pop("model", "xlinear"), index, **args)


def train_tiny(**overrides):
    """XR-Linear training with overridden params on 50 BibTeX documents (parameters are checked first)."""
    from engine.models.xlinear import XLinearXMC

    ds = pipeline.load_dataset("bibtex")
    params = pipeline.default_params("xlinear", ds, **overrides)
    return XLinearXMC.train(ds.train.texts[:50], ds.train.Y[:50], ds.label_names, params)


def is_prediction(p):
    return 1 <= len(p.labels) <= N_LABELS and all(math.isfinite(x.score) for x in p.labels)


# -- text ------------------------------------------------------------------------------------------
TEXT_ERRORS = [
    ("text/empty", "", ["empty"]),
    ("text/spaces", "     ", ["empty"]),
    ("text/newlines-tabs", "\n\t\r\n", ["empty"]),
    ("text/control-only", "\x00\x01\x02\x1b\x7f", ["empty", "control"]),
    ("text/zero-width-only", "\u200b\u200c\u200d\ufeff", ["empty"]),
    ("text/1MB", "word " * (MB // 5), ["characters", "limit"]),
    ("text/1MB-one-token", "x" * MB, ["characters", "limit"]),
    ("text/100001-chars", "a" * 100_001, ["characters", "limit"]),
    ("text/none", None, ["string"]),
    ("text/int", 12345, ["string"]),
    ("text/bytes", b"bytes are not text", ["string"]),
    ("text/list", ["a", "list"], ["string"]),
]


@pytest.mark.parametrize("case_id,text,names", TEXT_ERRORS, ids=[c[0] for c in TEXT_ERRORS])
def test_bad_text_is_refused(rel_dirs, case_id, text, names):
    expect_error(case_id, "text", predict_text, text, names=names)


TEXT_ODD = [
    ("text-ok/emoji", "🙂🎉🚀 😀"),
    ("text-ok/emoji-with-words", "learning 🙂 networks 🎉 bayesian"),
    ("text-ok/unknown-words", "zzqx blorfle quuxification xyzzy"),
    ("text-ok/one-unknown-word", "qwertyuiop"),
    ("text-ok/one-known-word", "learning"),
    ("text-ok/control-chars-between-words", "neural\x00network\x07learning\x1b[31m"),
    ("text-ok/script-tag", "<script>alert('x')</script> learning"),
    ("text-ok/sql", "'; DROP TABLE models; --"),
    ("text-ok/rtl", "مرحبا بالعالم שלום עולם"),
    ("text-ok/cjk", "機械学習 深層学習 神经网络"),
    ("text-ok/combining", "e\u0301" * 200),
    ("text-ok/lone-surrogate", "learning \ud800 networks"),
    ("text-ok/max-length", ("learning " * 20_000)[:100_000]),
    ("text-ok/numbers", "1234 5678 3.14159 -1e308"),
    ("text-ok/punctuation", "!!! ??? ... ;;; ---"),
    ("text-ok/repeated-word", "bayesian " * 5000),
    ("text-ok/format-string", "%s %d {0} {__class__} ${HOME}"),
    ("text-ok/path-traversal", "../../../../etc/passwd"),
]


@pytest.mark.parametrize("case_id,text", TEXT_ODD, ids=[c[0] for c in TEXT_ODD])
def test_odd_text_predicts_or_explains(rel_dirs, case_id, text):
    expect_ok_or_message(case_id, "text", predict_text, text, valid=is_prediction)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(text=hs.text(max_size=300))
def test_any_text_predicts_or_explains(rel_dirs, text):
    expect_ok_or_message(f"hypothesis/text/{hash(text) & 0xffffffff:08x}", "text-prop", predict_text, text,
                         valid=is_prediction)


# -- ids: documents, datasets, models, labels ---------------------------------------------------------
BAD_INDEX = [-1, -10**9, N_TEST, N_TEST + 1, 10**12, 1.5, "3", None, True, float("nan")]
BAD_DATASETS = ["nope", "", "BIBTEX", "../bibtex", "bibtex/../x", "a" * 300, "\x00", None]
BAD_MODELS = ["nope", "", "xtransformer", "xlinear-robust", "../xlinear", "x" * 200, "xlinear\n", None]

ID_CASES = []
for i in BAD_INDEX:
    ID_CASES += [(f"id/predict-doc/{i!r}", lambda i=i: pipeline.predict_document("bibtex", "xlinear", i), ["document"]),
                 (f"id/explain-doc/{i!r}", lambda i=i: explain(i), ["document"]),
                 (f"id/attack-doc/{i!r}", lambda i=i: attack(i), ["document"])]
for d in BAD_DATASETS:
    names = ["dataset", "unknown", "invalid"]
    ID_CASES += [(f"id/dataset-predict/{d!r}", lambda d=d: pipeline.predict_document(d, "xlinear", 0), names),
                 (f"id/dataset-explain/{d!r}", lambda d=d: explain(0, dataset=d), names + ["model"]),
                 (f"id/dataset-attack/{d!r}", lambda d=d: attack(0, dataset=d), names),
                 (f"id/dataset-text/{d!r}", lambda d=d: predict_text("learning", dataset=d), names + ["model"]),
                 (f"id/dataset-stats/{d!r}", lambda d=d: pipeline.dataset_stats(d), names)]
for m in BAD_MODELS:
    names = ["model"]
    ID_CASES += [(f"id/model-predict/{m!r}", lambda m=m: pipeline.predict_document("bibtex", m, 0), names),
                 (f"id/model-explain/{m!r}", lambda m=m: explain(0, model=m), names),
                 (f"id/model-attack/{m!r}", lambda m=m: attack(0, model=m), names),
                 (f"id/model-text/{m!r}", lambda m=m: predict_text("learning", model=m), names)]
for lab in ["nope", "TAG_nope", -1, 159, 10**9, "-1", "159", ""]:
    ID_CASES += [(f"id/label-explain/{lab!r}", lambda lab=lab: explain(0, labels=[lab]), ["label"]),
                 (f"id/label-attack-drop/{lab!r}", lambda lab=lab: attack(0, goal="drop", target_label=lab),
                  ["label"])]
ID_CASES += [
    ("id/label-explain/empty-list", lambda: explain(0, labels=[]), ["label"]),
    ("id/label-search/nope", lambda: pipeline.search_documents("bibtex", label="TAG_nope"), ["TAG_nope"]),
    ("id/search-dataset/nope", lambda: pipeline.search_documents("nope", word="x"), ["nope"]),
    ("id/split/explain", lambda: explain(0, split="valid"), ["split"]),
    ("id/split/attack", lambda: attack(0, split="valid"), ["split"]),
    ("id/split/predict", lambda: pipeline.predict_document("bibtex", "xlinear", 0, split="dev"), ["split"]),
    ("id/split/search", lambda: pipeline.search_documents("bibtex", split="x"), ["split"]),
    ("id/family/train", lambda: pipeline.train_model("bibtex", "svm"), ["svm"]),
    ("id/family/model-id", lambda: pipeline.model_id_for("bert"), ["bert"]),
    ("id/family/xtransformer-on-dense", lambda: pipeline.train_model("mediamill", "xtransformer"), ["text"]),
]


@pytest.mark.parametrize("case_id,call,names", ID_CASES, ids=[c[0] for c in ID_CASES])
def test_bad_id_is_refused(rel_dirs, case_id, call, names):
    expect_error(case_id, "ids", call, names=names)


# -- parameters ---------------------------------------------------------------------------------------
PARAM_CASES = [
    *[(f"param/top-k-predict/{k!r}", lambda k=k: pipeline.predict_document("bibtex", "xlinear", 0, top_k=k), ["top-k"])
      for k in (0, -1, N_LABELS + 1, 10**9, 1.5, "5", None, True)],
    *[(f"param/top-k-text/{k!r}", lambda k=k: predict_text("learning", top_k=k), ["top-k"]) for k in (0, -5, 10**6)],
    *[(f"param/top-k-explain/{k!r}", lambda k=k: explain(0, top_k=k), ["top-k"]) for k in (0, -1, N_LABELS + 1, 10**9)],
    *[(f"param/top-k-attack/{k!r}", lambda k=k: attack(0, top_k=k), ["top-k"]) for k in (0, -1, N_LABELS + 1)],
    *[(f"param/samples/{s!r}", lambda s=s: explain(0, samples=s), ["samples"])
      for s in (0, -1, -10**9, 20_001, 10**12, 1.5, "20", None, True, float("inf"))],
    *[(f"param/n-features/{n!r}", lambda n=n: explain(0, n_features=n), ["words"]) for n in (0, -1, 2.5, "x", None)],
    *[(f"param/explain-seed/{s!r}", lambda s=s: explain(0, seed=s), ["seed"]) for s in (-1, 1.5, "x", None)],
    *[(f"param/method/{m!r}", lambda m=m: explain(0, method=m), ["method"]) for m in ("shap", "", "LIME", None)],
    ("param/method/attention-on-xlinear", lambda: explain(0, method="attention"), ["attention"]),
    *[(f"param/attack/{a!r}", lambda a=a: attack(0, attack=a), ["attack"]) for a in ("fgsm", "", "HSJ", None)],
    *[(f"param/goal/{g!r}", lambda g=g: attack(0, goal=g), ["goal"]) for g in ("x", "", None)],
    *[(f"param/eps/{e!r}", lambda e=e: attack(0, eps=e), ["eps"])
      for e in (0, 0.0, -0.0, -1, -1e-12, float("nan"), float("inf"), float("-inf"), "1", True)],
    *[(f"param/max-iter/{v!r}", lambda v=v: attack(0, max_iter=v), ["max_iter"])
      for v in (0, -5, 1.5, "3", True, 10**9, 10**18)],
    *[(f"param/max-eval/{v!r}", lambda v=v: attack(0, max_eval=v), ["max_eval"]) for v in (0, -1, 2.5, 10**12)],
    *[(f"param/norm/{n!r}", lambda n=n: attack(0, norm=n), ["norm"]) for n in ("1", "l2", 3, None, "")],
    *[(f"param/learning-rate/{v!r}", lambda v=v: attack(0, attack="zoo", learning_rate=v), ["learning_rate"])
      for v in (0, -0.1, float("nan"), float("inf"))],
    *[(f"param/nb-parallel/{v!r}", lambda v=v: attack(0, attack="zoo", nb_parallel=v), ["nb_parallel"])
      for v in (0, -1, 10**9)],
    *[(f"param/max-words/{v!r}", lambda v=v: attack(0, attack="wordnet", max_words=v), ["max_words"])
      for v in (0, -1, 1.5)],
    ("param/goal-drop-without-label", lambda: attack(0, goal="drop"), ["label"]),
    *[(f"param/robustness-n/{n!r}", lambda n=n: pipeline.evaluate_robustness("bibtex", "xlinear", "hsj", n=n), ["n "])
      for n in (0, -1, 1.5, "5", True)],
    ("param/robustness-attack", lambda: pipeline.evaluate_robustness("bibtex", "xlinear", "fgsm", n=2), ["fgsm"]),
    ("param/robustness-goal", lambda: pipeline.evaluate_robustness("bibtex", "xlinear", "hsj", n=2, goal="drop"), ["goal"]),
    ("param/robustness-unknown-param", lambda: pipeline.evaluate_robustness("bibtex", "xlinear", "hsj", n=2, foo=1), ["foo"]),
    ("param/robustness-eps", lambda: pipeline.evaluate_robustness("bibtex", "xlinear", "hsj", n=2, eps=-1.0), ["eps"]),
    ("param/robustness-max-iter", lambda: pipeline.evaluate_robustness("bibtex", "xlinear", "hsj", n=2, max_iter=10**9), ["max_iter"]),
    ("param/robustness-curve-no-eps", lambda: pipeline.robustness_curve("bibtex", "xlinear", "hsj", eps_values=[], n=2), ["eps"]),
    *[(f"param/train-xlinear/{k}={v!r}", lambda k=k, v=v: train_tiny(**{k: v}), [k])
      for k, v in (("C", -1.0), ("C", 0.0), ("C", 1e9), ("nr_splits", 1), ("nr_splits", 10**6), ("max_leaf_size", 0),
                   ("loss", "mse"), ("beam_size", 0))],
]


@pytest.mark.parametrize("case_id,call,names", PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
def test_bad_parameter_is_refused(rel_dirs, case_id, call, names):
    expect_error(case_id, "params", call, names=names)


def test_huge_but_legal_budgets_stay_fast(rel_dirs):
    """eps = 1e300 is a legal (if pointless) budget: a valid result, quickly."""
    import time

    t0 = time.perf_counter()
    res = expect_ok_or_message("param-ok/eps-1e300", "params", attack, 1, eps=1e300,
                               valid=lambda r: r.before is not None and r.after is not None)
    expect_ok_or_message("param-ok/max-words-10000", "params", attack, 1, attack="wordnet", max_words=10_000,
                         valid=lambda r: r.words_changed is None or r.words_changed >= 0)
    # None means the attack's own default (engine/attacks/registry.py), as for every attack parameter
    expect_ok_or_message("param-ok/max-words-none-is-the-default", "params", attack, 1, attack="wordnet",
                         max_words=None, valid=lambda r: r.params.get("max_words", 5) == 5 or r.words_changed <= 5)
    expect_ok_or_message("param-ok/top-k-all-labels", "params", pipeline.predict_document, "bibtex", "xlinear", 0,
                         top_k=N_LABELS, valid=lambda t: len(t[1].labels) == N_LABELS)
    expect_ok_or_message("param-ok/explain-max-samples-boundary", "params", explain, 0, samples=20, n_features=10**6,
                         valid=lambda e: len(e.labels) == 2)
    assert res is not None and time.perf_counter() - t0 < 60


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(samples=hs.integers(-10**12, 10**12).filter(lambda s: not 1 <= s <= 20_000),
       top_k=hs.integers(-10**6, 10**6))
def test_any_out_of_range_samples_is_refused(rel_dirs, samples, top_k):
    expect_error(f"hypothesis/samples/{samples}/{top_k}", "params-prop", explain, 0, samples=samples, top_k=top_k,
                 names=["samples", "top-k"])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(eps=hs.one_of(hs.floats(max_value=0.0), hs.just(float("nan")), hs.just(float("inf"))),
       index=hs.integers(-10**9, 10**9))
def test_any_non_positive_eps_is_refused(rel_dirs, eps, index):
    expect_error(f"hypothesis/eps/{eps!r}/{index}", "params-prop", attack, index, eps=eps, names=["eps", "document"])


# -- folders, bounds, Ray: refused before the work, never a lost result --------------------------------
def test_ensure_writable_dir_proves_it_can_write(tmp_path, read_only_dir):
    from engine.errors import StorageError
    from engine.paths import ensure_writable_dir

    made = ensure_writable_dir(tmp_path / "a" / "b", "test folder")
    assert made.is_dir() and list(made.iterdir()) == []  # created, and the probe file removed
    (tmp_path / "f").write_text("x")
    for bad, why in ((tmp_path / "f", "is a file"), (tmp_path / "f" / "sub", "not writable"),
                     (read_only_dir, "not writable"), (read_only_dir / "sub", "not writable")):
        with pytest.raises(StorageError, match=why) as err:
            ensure_writable_dir(bad, "test folder")
        assert "test folder" in str(err.value) and str(bad) in str(err.value)


def test_train_model_refuses_a_read_only_store_before_training(rel_dirs, read_only_dir, no_training):
    from engine.errors import StorageError
    from engine.models.store import ModelStore

    with pytest.raises(StorageError, match="model folder"):
        pipeline.train_model("bibtex", "xlinear", store=ModelStore(read_only_dir))
    with pytest.raises(StorageError, match="model folder"):
        pipeline.train_robust("bibtex", "xlinear", store=ModelStore(read_only_dir))


def test_attack_result_survives_a_read_only_cache(rel_dirs, read_only_dir, monkeypatch):
    """The cache is an optimisation: a finished attack is returned even when it cannot be cached."""
    monkeypatch.setenv("XTRUST_CACHE_DIR", str(read_only_dir))
    res = attack(0)
    assert res.queries > 0 and list(read_only_dir.iterdir()) == []


def test_top_k_has_one_documented_maximum():
    from engine.errors import InputError
    from engine.models.base import MAX_TOP_K, check_top_k

    assert check_top_k(MAX_TOP_K, 50_000) == MAX_TOP_K
    with pytest.raises(InputError, match=f"between 1 and {MAX_TOP_K} .*50,000 labels"):
        check_top_k(50_000, 50_000, limit=MAX_TOP_K)  # an explanation of 50,000 labels would run for hours
    with pytest.raises(InputError, match="between 1 and 7 \\(the number of labels\\)"):
        check_top_k(8, 7, limit=MAX_TOP_K)
    assert check_top_k(50_000, 50_000) == 50_000  # no limit: a prediction of every label is one sparse product


def test_explain_and_attack_refuse_top_k_above_the_maximum(rel_dirs):
    from engine.models.base import MAX_TOP_K

    for name, fn in (("explain", explain), ("attack", attack)):
        err = expect_error(f"bounds/{name}-top-k-max", "params", fn, 0, top_k=MAX_TOP_K + 1, names=["top-k"])
        assert f"between 1 and {MAX_TOP_K} (XTrust's maximum" in str(err)
    # a prediction is one sparse product: all 159 labels stay allowed (test_huge_but_legal_budgets_stay_fast)


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_report_refuses_n_below_one(rel_dirs, tmp_path, n):
    from engine.report.build import build_report

    expect_error(f"bounds/report-n/{n}", "params", build_report, ["bibtex"], tmp_path / "r", n=n, names=["at least 1"])
    assert not (tmp_path / "r").exists()


def test_report_refuses_an_unwritable_out_before_work(rel_dirs, tmp_path, monkeypatch):
    from engine.report import build

    monkeypatch.setattr(build, "_ensure", lambda *a, **k: pytest.fail("the report started working"))
    (tmp_path / "file").write_text("x")
    err = expect_error("faults/report-out-under-file", "faults", build.build_report, ["bibtex"],
                       tmp_path / "file" / "out", names=["report folder"])
    assert "not writable" in str(err)


def test_robustness_refuses_an_unreachable_ray_address(rel_dirs, fresh_cache):
    err = expect_error("faults/ray-unreachable", "faults", pipeline.evaluate_robustness, "bibtex", "xlinear", "hsj",
                       n=2, ray_address="127.0.0.1:1", names=["127.0.0.1:1"])
    assert "cannot reach the Ray cluster" in str(err)
    assert not (fresh_cache / "robustness").exists()  # refused before any document was attacked
