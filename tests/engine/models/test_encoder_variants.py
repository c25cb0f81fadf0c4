"""Encoder variants of the X-Transformer: mean pooling, the embedding scale alpha (fixed or chosen by CV on
the training split), a ranker on the embedding alone fused with XR-Linear, the unmodified encoder.
Tiny random 2-layer BERT (tests/engine/models/conftest.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from engine.errors import InputError
from tests.engine.models.conftest import N_DOCS

TOP_K = 5


@pytest.fixture(scope="module")
def docs(bibtex):
    return bibtex.train.texts[:N_DOCS], bibtex.train.Y[:N_DOCS]


@pytest.fixture(scope="module")
def mean_scaled(docs, bibtex, tiny_encoder):
    """Unmodified tiny encoder, mean pooling, alpha 4 (no fine-tuning: seconds)."""
    from engine.models.xtransformer import XTransformerParams, XTransformerXMC

    params = XTransformerParams(max_tokens=32, encoder=tiny_encoder, threads=1, pooling="mean", embed_scale=4.0,
                                fine_tune=False)
    return XTransformerXMC.train(docs[0], docs[1], bibtex.label_names, params)


@pytest.fixture(scope="module")
def fused(docs, bibtex, tiny_encoder):
    from engine.models.xtransformer import XTransformerParams, XTransformerXMC

    params = XTransformerParams(max_tokens=32, encoder=tiny_encoder, threads=1, pooling="mean", embed_scale=2.0,
                                ranker_tfidf=False, ensemble_xlinear_weight=0.6, fine_tune=False)
    return XTransformerXMC.train(docs[0], docs[1], bibtex.label_names, params)


def _mean_pooled_by_hand(model, text):
    """Masked mean of the last hidden states, computed here from the HF BertModel (no XTrust code)."""
    import torch

    t = model.tokenizer([text], truncation=True, max_length=model.max_tokens, return_tensors="pt")
    with torch.no_grad():
        h = model.encoder(**t).last_hidden_state[0]  # (T, h), no padding
    return h.mean(dim=0).numpy()


def test_mean_pooling_is_the_masked_mean_of_the_last_hidden_states(mean_scaled, bibtex):
    texts = [bibtex.test.texts[0], "graph", bibtex.test.texts[1]]  # lengths differ: padding must be masked
    emb = mean_scaled.embed(texts)
    for i, t in enumerate(texts):
        np.testing.assert_allclose(emb[i], _mean_pooled_by_hand(mean_scaled, t), atol=1e-5)
        # not the pooler (what PECOS reads)
        import torch

        tok = mean_scaled.tokenizer([t], truncation=True, max_length=32, return_tensors="pt")
        with torch.no_grad():
            pooler = mean_scaled.encoder(**tok).pooler_output[0].numpy()
        assert not np.allclose(emb[i], pooler, atol=1e-3)


def test_alpha_scales_the_embedding_half_of_the_ranker_input(mean_scaled, bibtex):
    text = bibtex.test.texts[2]
    R = mean_scaled.rank_features(mean_scaled.embed([text]), mean_scaled.features([text]))
    V = mean_scaled.featurizer.dim
    X = mean_scaled.features([text])
    np.testing.assert_allclose(R[:, :V].toarray(), X.toarray())
    assert np.linalg.norm(R[:, V:].toarray()) == pytest.approx(4.0, rel=1e-5)


def test_scores_paths_agree_with_alpha_and_mean_pooling(mean_scaled, bibtex):
    text = bibtex.test.texts[3]
    row = mean_scaled.score_matrix([text], TOP_K).getrow(0)
    np.testing.assert_allclose(mean_scaled.score_labels([text], row.indices)[0], row.data, atol=1e-5)
    s, atts, _ = mean_scaled.differentiable_scores(text, row.indices)
    np.testing.assert_allclose(s.detach().numpy(), row.data, atol=1e-4)
    assert len(atts) == 2


def test_score_split_accounts_for_alpha(mean_scaled, bibtex):
    """The split's encoder part is alpha * unit(emb) . w_enc: computed here from the raw embedding, so a split
    that ignored alpha (or pooled differently) fails."""
    from engine.explain.score_split import score_split

    text = bibtex.test.texts[4]
    ids = mean_scaled.predict([text], TOP_K)[0].label_ids
    split = score_split(mean_scaled, text, ids)
    V = mean_scaled.featurizer.dim
    e = _mean_pooled_by_hand(mean_scaled, text).astype(np.float64)
    u = 4.0 * e / np.linalg.norm(e)
    x = mean_scaled.features([text]).toarray().astype(np.float64)[0]
    for j, lab in enumerate(split.labels):
        (r,) = lab.rankers
        for lv, lw in zip(r.levels, mean_scaled.ranker_path_weights([ids[j]])):
            W = lw.W.toarray().astype(np.float64)[:, 0]
            assert lv.encoder == pytest.approx(float(u @ W[V:]), rel=1e-4, abs=1e-7)
            assert lv.tfidf == pytest.approx(float(x @ W[:V]), rel=1e-6, abs=1e-9)
    np.testing.assert_allclose([lab.score for lab in split.labels], mean_scaled.score_labels([text], ids)[0],
                               rtol=1e-4)


def test_whole_score_completeness_holds_with_alpha_and_mean_pooling(mean_scaled, bibtex):
    from engine.explain.units import TextUnits
    from engine.explain.whole_score import whole_score

    text = bibtex.test.texts[5]
    ids = mean_scaled.predict([text], 3)[0].label_ids
    W, extras = whole_score(mean_scaled, TextUnits.of(text), ids)
    for j, ex in enumerate(extras):
        assert ex["completeness_error"] <= 0.01
        total = W[j].sum() + ex["non_word_attribution"]
        assert total == pytest.approx(ex["target_value"] - ex["baseline_value"], rel=0.01, abs=1e-9)
        assert ex["encoder_target"] != 0.0


def test_alpha_moves_the_encoder_share(docs, bibtex, mean_scaled):
    """Same embeddings, alpha 1 vs 4: the ranker leans more on the scaled embedding."""
    from engine.explain.score_split import share_summary

    counts = np.asarray(docs[1].sum(axis=0)).ravel()
    texts = bibtex.test.texts[:20]
    low = mean_scaled.refit_ranker(docs[0], docs[1], embed_scale=1.0)
    assert low.params.embed_scale == 1.0
    s1 = share_summary(low, texts, counts).mean_share
    s4 = share_summary(mean_scaled, texts, counts).mean_share
    assert s4 > s1


def test_fused_variant_ranker_reads_only_the_embedding(fused, bibtex):
    from engine.explain.score_split import score_split

    V = fused.featurizer.dim
    W = fused.xtf.concat_model.model.model_chain[-1].W.tocsr()
    assert W[:V].nnz == 0 and W[V:].nnz > 0
    text = bibtex.test.texts[6]
    row = fused.score_matrix([text], TOP_K).getrow(0)
    np.testing.assert_allclose(fused.score_labels([text], row.indices)[0], row.data, atol=1e-5)
    np.testing.assert_allclose(fused.differentiable_scores(text, row.indices)[0].detach().numpy(), row.data, atol=1e-4)
    split = score_split(fused, text, row.indices)
    for lab in split.labels:
        xt, xl = lab.rankers
        assert all(lv.tfidf == 0.0 for lv in xt.levels) and all(lv.encoder == 0.0 for lv in xl.levels)
        assert xt.weight == pytest.approx(0.4) and 0 < lab.encoder_share < 1
    np.testing.assert_allclose([lab.score for lab in split.labels], row.data, rtol=1e-4)


def test_variants_save_and_load_with_their_settings(mean_scaled, fused, bibtex, tmp_path):
    from engine.models.xtransformer import XTransformerXMC

    text = bibtex.test.texts[7]
    for i, m in enumerate((mean_scaled, fused)):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        m.save(folder)
        back = XTransformerXMC.load(folder)
        assert (back.params.pooling, back.params.embed_scale, back.params.ranker_tfidf) == \
            (m.params.pooling, m.params.embed_scale, m.params.ranker_tfidf)
        ids = m.score_matrix([text], TOP_K).indices
        np.testing.assert_allclose(back.score_labels([text], ids), m.score_labels([text], ids), atol=1e-6)


def test_old_params_files_load_as_pecos_pooler_alpha_1(mean_scaled, tmp_path):
    from engine.models.xtransformer import XTransformerXMC

    mean_scaled.save(tmp_path)
    raw = json.loads((tmp_path / "params.json").read_text())
    for k in ("pooling", "embed_scale", "ranker_tfidf", "fine_tune"):
        raw.pop(k)
    (tmp_path / "params.json").write_text(json.dumps(raw))
    back = XTransformerXMC.load(tmp_path)
    assert back.params.pooling == "cls" and back.params.embed_scale == 1.0 and back.params.ranker_tfidf


def test_auto_alpha_is_chosen_by_cv_on_train_and_kept(docs, bibtex, tiny_encoder):
    from engine.models.xtransformer import XTransformerParams, XTransformerXMC

    params = XTransformerParams(max_tokens=32, encoder=tiny_encoder, threads=1, pooling="mean", embed_scale="auto",
                                fine_tune=False)
    m = XTransformerXMC.train(docs[0], docs[1], bibtex.label_names, params)
    cv = m.training_report["embed_scale_cv"]
    assert m.params.embed_scale == cv["chosen"] and isinstance(m.params.embed_scale, float)
    best = max(cv["trials"], key=lambda t: t["val_P@1"] + t["val_P@5"])
    assert best["val_P@1"] + best["val_P@5"] == pytest.approx(
        next(t for t in cv["trials"] if t["embed_scale"] == cv["chosen"])["val_P@1"]
        + next(t for t in cv["trials"] if t["embed_scale"] == cv["chosen"])["val_P@5"])
    assert len(cv["trials"]) >= 3 and cv["folds"] == 3


def test_cv_never_reads_the_validation_labels_into_the_fit(docs, bibtex, mean_scaled):
    from engine.models.encoder_variants import fold_rows

    split = fold_rows(N_DOCS, 3, 0)
    for fit, val in split:
        assert np.intersect1d(fit, val).size == 0 and fit.size + val.size == N_DOCS
    assert np.array_equal(np.sort(np.concatenate([v for _, v in split])), np.arange(N_DOCS))


def test_cv_fusion_scores_every_weight(docs, mean_scaled):
    from engine.models.encoder_variants import cv_fusion

    X = mean_scaled.features(docs[0])
    emb = mean_scaled.embed(docs[0])
    res = cv_fusion(emb, X, docs[1], mean_scaled.params, weights=(0.3, 0.7))
    assert [t["weight"] for t in res["trials"]] == [0.3, 0.7] and res["chosen"] in (0.3, 0.7)
    with pytest.raises(InputError):
        cv_fusion(emb, X, docs[1], mean_scaled.params, weights=(1.0,))


@pytest.mark.parametrize("bad", [dict(pooling="max"), dict(embed_scale=0.0), dict(embed_scale="big"),
                                 dict(embed_scale=True), dict(ranker_tfidf=False),
                                 dict(ranker_tfidf="no", ensemble_xlinear_weight=0.5)])
def test_bad_variant_params_raise_input_error(bad):
    from engine.models.xtransformer import XTransformerParams

    with pytest.raises(InputError):
        XTransformerParams(**bad).validate()


def test_rank_features_of_scales_only_the_embedding_columns():
    from engine.models.xtransformer import rank_features_of

    X = sp.csr_matrix(np.array([[0.6, 0.0, 0.8], [0.0, 1.0, 0.0]], dtype=np.float32))
    emb = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    R = rank_features_of(emb, X, 2.5).toarray()
    np.testing.assert_allclose(R, [[0.6, 0, 0.8, 1.5, 2.0], [0, 1, 0, 0, 0]], atol=1e-6)
    np.testing.assert_allclose(rank_features_of(emb, X, 1.0, with_tfidf=False).toarray(),
                               [[0, 0, 0, 0.6, 0.8], [0, 0, 0, 0, 0]], atol=1e-6)


def test_auto_alpha_model_is_saved_with_its_cv_table_and_checksums(bibtex, tiny_encoder, tmp_path):
    from dataclasses import replace

    from engine.models.runtime import train_model
    from engine.models.store import ModelStore
    from engine.models.xtransformer import XTransformerParams
    from engine.types import Split

    def head(s, n):
        return Split(s.X[:n], s.Y[:n], s.texts[:n])

    small = replace(bibtex, name="bibtex-head", train=head(bibtex.train, N_DOCS), test=head(bibtex.test, 60))
    params = XTransformerParams(max_tokens=32, encoder=tiny_encoder, threads=1, pooling="mean", embed_scale="auto",
                                fine_tune=False)
    store = ModelStore(tmp_path)
    info = train_model(small, "xtransformer", params=params, store=store)
    cv = info.manifest["embed_scale_cv"]
    assert info.manifest["params"]["embed_scale"] == "auto" and len(cv["trials"]) >= 3
    assert "params.json" in info.manifest["file_checksums"]
    back = store.load("bibtex-head", "xtransformer")
    assert back.params.embed_scale == cv["chosen"] and back.params.pooling == "mean"
    assert 0.0 <= info.manifest["metrics"]["P@1"] <= 1.0


def test_cli_variant_options_are_checked_before_any_work(capsys):
    from engine.cli.main import main

    for argv, words in ((["train", "--dataset", "bibtex", "--model", "xlinear", "--pooling", "mean"], "apply to --model"),
                        (["train", "--dataset", "bibtex", "--model", "xtransformer", "--embed-scale", "big"],
                         "--embed-scale takes"),
                        (["encoder-variants", "--dataset", "bibtex", "--encoders", "nope"], "unknown encoder"),
                        (["encoder-variants", "--dataset", "bibtex", "--alphas", "x"], "--alphas takes")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err


def test_embed_poolings_equals_embed_under_each_pooling(mean_scaled, bibtex):
    from dataclasses import replace

    from engine.models.xtransformer import XTransformerXMC

    texts = [bibtex.test.texts[8], "graph", bibtex.test.texts[9]]
    both = mean_scaled.embed_poolings(texts, ("cls", "mean"))
    cls_model = XTransformerXMC(mean_scaled.xtf, mean_scaled.featurizer, mean_scaled.label_names,
                                replace(mean_scaled.params, pooling="cls"))
    np.testing.assert_allclose(both["mean"], mean_scaled.embed(texts), atol=1e-5)
    np.testing.assert_allclose(both["cls"], cls_model.embed(texts), atol=1e-5)
    with pytest.raises(InputError):
        mean_scaled.embed_poolings(texts, ("max",))


def test_fine_tuning_is_chosen_by_cv_with_a_model_trained_per_fold(docs, bibtex, tiny_encoder, monkeypatch, tmp_path):
    """tuning.cv_fine_tuning trains a whole X-Transformer per fold and choice (nothing of it sees the validation rows)
    and picks by validation P@1 + P@5; ``tune --model xtransformer --save`` stores the choice, which the
    X-Transformer's defaults then carry (XR-Linear's tuned entry kept)."""
    from engine.models import families, tuning
    from engine.models.xtransformer import XTransformerParams, XTransformerXMC

    params = XTransformerParams(max_tokens=32, encoder=tiny_encoder, threads=1, epochs=1, fine_tune_flat=True)
    trained = []
    real_train = XTransformerXMC.train.__func__

    def train(cls, texts, Y, names, p, progress=None):
        trained.append((len(texts), p.fine_tune))
        return real_train(cls, texts, Y, names, p, progress=progress)

    monkeypatch.setattr(XTransformerXMC, "train", classmethod(train))
    texts, Y = docs[0][:120], docs[1][:120]
    fractions = []
    cv = tuning.cv_fine_tuning(texts, Y, bibtex.label_names, params, folds=2, seed=0,
                           progress=lambda f, m="": fractions.append(f) or True)
    assert trained == [(60, False), (60, False), (60, True), (60, True)]  # one model per fold and choice
    assert [t["fine_tune"] for t in cv["trials"]] == [False, True]
    best = max(cv["trials"], key=lambda t: (t["val_P@1"] + t["val_P@5"], not t["fine_tune"]))
    assert cv["chosen"] is best["fine_tune"] and all(0 <= t["val_P@1"] <= 1 for t in cv["trials"])
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    with pytest.raises(InputError, match="one row per text"):
        tuning.cv_fine_tuning(texts[:10], Y, bibtex.label_names, params)
    from engine.cli import main

    assert main(["tune", "--dataset", "mediamill", "--model", "xtransformer"]) == 2  # no text: refused, no traceback
    assert main(["tune", "--dataset", "bibtex", "--max-tokens", "64"]) == 2  # XR-Linear has no token budget

    monkeypatch.setattr(tuning, "TUNED_FILE", tmp_path / "tuned.json")
    tuning.save_tuned("bibtex", {"best": {"C": 0.3}, "trials": [], "folds": 3})
    result = {"best": {"fine_tune": False}, "trials": cv["trials"], "folds": 2, "seed": 0,
              "criterion": cv["criterion"], "measured_with": {"max_tokens": 32}}
    tuning.save_tuned("bibtex", result, family="xtransformer")
    assert tuning.tuned_defaults("bibtex") == {"C": 0.3} and tuning.tuned_xtransformer("bibtex") == {"fine_tune": False}
    p = families.family("xtransformer").default_params(bibtex)
    assert p.fine_tune is False and p.ranker_C == 0.3
    assert families.family("xtransformer").default_params(bibtex, fine_tune=True).fine_tune is True


def test_the_fused_ensemble_is_offered_and_measured_without_the_whole_score_method(fused, mean_scaled, bibtex,
                                                                                   tmp_path):
    """The whole-score attribution does not cover an X-Transformer fused with XR-Linear: the Explain page's menu
    (from the saved manifest) and the faithfulness table (from the loaded model) leave it out, with the reason,
    instead of failing on every document; the plain X-Transformer keeps every method."""
    from engine import pipeline
    from engine.explain.faithfulness_table import faithfulness_table
    from engine.explain.registry import methods_for_model
    from engine.explain.whole_score import ENSEMBLE_NOTE
    from engine.models.store import ModelStore

    ok, why = methods_for_model(fused)
    assert ok == ["lime", "attention"] and why["whole"] == ENSEMBLE_NOTE
    assert methods_for_model(mean_scaled)[0] == ["whole", "lime", "attention"]
    store = ModelStore(tmp_path)
    store.save(fused, "bibtex", "xtransformer", {"note": "tiny fused test model", "variant": "baseline",
                                                 "params": {"ensemble_xlinear_weight": 0.6}})
    assert pipeline.explainers_for("bibtex", "xtransformer", store=store) == (ok, why)
    res = faithfulness_table("bibtex", "xtransformer", n_docs=2, samples=30, top_k=2, store=store)
    assert set(res["table"]) == {"lime", "attention", "random"} and res["n_docs"] == 2
