"""The score, split (engine/explain/score_split.py) on real PECOS models: XR-Linear and a tiny X-Transformer."""
import json

import numpy as np
import pytest
import scipy.sparse as sp

from engine.errors import InputError
from engine.explain.score_split import score_split, share_summary


def _pecos_level_values(xlm, X, label_ids):
    """Each level's linear value straight from PECOS' weight matrices (bias row included): (depth, m)."""
    from engine.models.xlinear import label_path_of

    X = sp.csr_matrix(X, dtype=np.float64)
    out = []
    for d, layer in enumerate(xlm.model.model_chain):
        nodes = [(label_path_of(xlm, int(i)) + [int(i)])[d] for i in label_ids]
        Xb = sp.hstack([X, sp.csr_matrix(np.full((X.shape[0], 1), layer.bias))]).tocsr() if layer.bias > 0 else X
        out.append(np.asarray((Xb @ layer.W.tocsc()[:, nodes].astype(np.float64)).toarray())[0])
    return np.asarray(out)


@pytest.fixture(scope="module")
def tiny_xtf(xtf_store):
    from engine.pipeline import get_model

    return get_model("bibtex", "xtransformer", xtf_store)


def test_xlinear_split_is_exact_and_all_tfidf(small_xlinear, bibtex):
    text = bibtex.test.texts[3]
    ids = small_xlinear.predict([text], 5)[0].label_ids
    split = score_split(small_xlinear, text, ids)
    v = _pecos_level_values(small_xlinear.xlm, small_xlinear.features([text]), ids)
    for j, lab in enumerate(split.labels):
        (r,) = lab.rankers
        assert [lv.node for lv in r.levels][-1] == ids[j]
        np.testing.assert_allclose([lv.value for lv in r.levels], v[:, j], rtol=1e-9, atol=1e-12)
        assert all(lv.encoder == 0.0 for lv in r.levels) and lab.encoder_share == 0.0
        assert r.post_processor == "l3-hinge"
        assert np.prod([np.exp(-max(1 - lv.value, 0) ** 3) for lv in r.levels]) == pytest.approx(lab.score, rel=1e-9)
    np.testing.assert_allclose([lab.score for lab in split.labels], small_xlinear.score_labels([text], ids)[0],
                               rtol=1e-5)
    js = json.loads(json.dumps(split.to_json()))
    assert js["labels"][0]["encoder_share_pct"] == 0.0 and "XR-Linear reads no encoder" in js["definition"]


def test_xtransformer_parts_add_up_and_recombine_to_score_labels(tiny_xtf, bibtex):
    text = bibtex.test.texts[0]
    ids = tiny_xtf.predict([text], 5)[0].label_ids
    split = score_split(tiny_xtf, text, ids)
    R = tiny_xtf.rank_features(tiny_xtf.embed([text]), tiny_xtf.features([text]))
    v = _pecos_level_values(tiny_xtf.xtf.concat_model, R, ids)
    V = tiny_xtf.featurizer.dim
    for j, lab in enumerate(split.labels):
        (r,) = lab.rankers
        np.testing.assert_allclose([lv.tfidf + lv.encoder + lv.bias for lv in r.levels], v[:, j], rtol=1e-9, atol=1e-12)
        # the encoder part is exactly the embedding columns' share of the linear value
        lw = tiny_xtf.ranker_path_weights([ids[j]])[-1]
        enc = float((R[:, V:].astype(np.float64) @ lw.W[V:].astype(np.float64)).toarray()[0, 0])
        assert r.levels[-1].encoder == pytest.approx(enc, rel=1e-9, abs=1e-12)
        assert any(lv.encoder != 0 for lv in r.levels)  # ranker_threshold 0.01 keeps embedding weights
        share = sum(abs(lv.encoder) for lv in r.levels) / sum(abs(lv.encoder) + abs(lv.tfidf) for lv in r.levels)
        assert lab.encoder_share == pytest.approx(share) and 0 < lab.encoder_share < 1
    np.testing.assert_allclose([lab.score for lab in split.labels], tiny_xtf.score_labels([text], ids)[0], rtol=1e-4)


def test_ensemble_split_weights_both_rankers(tiny_xtf, bibtex):
    ens = tiny_xtf.with_xlinear_ensemble(bibtex.train.texts[:300], bibtex.train.Y[:300], 0.3)
    text = bibtex.test.texts[1]
    ids = ens.predict([text], 3)[0].label_ids
    split = score_split(ens, text, ids)
    for lab in split.labels:
        assert [r.weight for r in lab.rankers] == pytest.approx([0.7, 0.3])
        assert all(lv.encoder == 0 for lv in lab.rankers[1].levels)
    np.testing.assert_allclose([lab.score for lab in split.labels], ens.score_labels([text], ids)[0], rtol=1e-4)


def test_share_summary_over_documents(tiny_xtf, bibtex):
    counts = np.asarray(bibtex.train.Y.sum(axis=0)).ravel()
    texts = bibtex.test.texts[:6]
    summary = share_summary(tiny_xtf, texts, counts, top_k=3)
    assert summary.n_docs == 6 and sum(c for _, c, _ in summary.per_label.values()) == 18
    one = score_split(tiny_xtf, texts[2], tiny_xtf.predict([texts[2]], 3)[0].label_ids)
    alone = share_summary(tiny_xtf, texts[2:3], counts, top_k=3)
    for lab in one.labels:  # the batched split of a document = its split on its own
        assert alone.per_label[lab.label_id][0] == pytest.approx(lab.encoder_share, rel=1e-5)
        assert alone.per_label[lab.label_id][2] == counts[lab.label_id]
    assert sum(n for _, _, n, _ in summary.by_frequency) == len(summary.per_label)
    assert 0 < summary.mean_share < 1
    js = json.loads(json.dumps(summary.to_json()))
    assert set(js) >= {"per_label", "by_frequency", "spearman_share_vs_frequency", "mean_share_pct"}
    with pytest.raises(InputError, match="train_label_counts"):
        share_summary(tiny_xtf, texts, counts[:-1])


def test_split_rejects_unknown_labels(small_xlinear, bibtex):
    with pytest.raises(InputError, match="not one of this model's labels"):
        score_split(small_xlinear, bibtex.test.texts[0], [small_xlinear.n_labels])
