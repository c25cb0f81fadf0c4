"""train_robust on real (subsets of) MediaMill and BibTeX with XR-Linear."""
import pytest

from engine.errors import InputError
from engine.models.store import ModelStore
from engine.robust import adversarial_training as at


def test_bad_inputs(small_mediamill, tmp_path):
    with pytest.raises(InputError, match="unknown model"):
        at.train_robust(small_mediamill, family="svm", store=ModelStore(tmp_path))
    with pytest.raises(InputError, match="max_rounds"):
        at.train_robust(small_mediamill, max_rounds=0, store=ModelStore(tmp_path))
    with pytest.raises(InputError, match="numeric features"):
        at.train_robust(small_mediamill, family="xtransformer", store=ModelStore(tmp_path))


def test_dense_robust_model_saved_with_manifest(small_mediamill, tmp_path):
    store = ModelStore(tmp_path)
    info = at.train_robust(small_mediamill, store=store, max_rounds=2, seed=1)
    m = info.manifest
    assert info.model_id == "xlinear-robust" and m["variant"] == "robust" and m["baseline"] == "xlinear"
    aug = m["augmentation"]
    rounds = aug["rounds"]
    assert [r["round"] for r in rounds] == list(range(1, len(rounds) + 1)) and len(rounds) <= 2
    assert all(r["within_tolerance"] for r in rounds[:-1])  # it stops at the first failing round
    ok = [r["round"] for r in rounds if r["within_tolerance"]]
    assert aug["kept_round"] == (ok[-1] if ok else 1)
    assert aug["early_stopped"] == (not rounds[-1]["within_tolerance"] and len(rounds) < 2)
    assert aug["vocabulary_before"] == aug["vocabulary_after"] == 120
    assert 0.0 <= aug["tag_consistency"] <= aug["top1_consistency"] <= 1.0 and aug["label_distribution_kl"] >= 0
    assert 0.0 < m["metrics"]["P@1"] <= 1.0 and m["params"]["seed"] == 0
    model = store.load("mediamill", "xlinear-robust")
    assert model.predict(small_mediamill.test.X[:2].toarray(), 3)[0].label_ids


def test_early_stop_when_clean_accuracy_drops(small_mediamill, tmp_path, monkeypatch):
    monkeypatch.setattr(at, "TOLERANCE", -1.0)  # demand +100 points: every round fails
    info = at.train_robust(small_mediamill, store=ModelStore(tmp_path), max_rounds=3)
    aug = info.manifest["augmentation"]
    assert len(aug["rounds"]) == 1 and aug["early_stopped"] and aug["no_round_within_tolerance"]
    assert aug["kept_round"] == 1


def test_cancel_keeps_nothing(small_mediamill, tmp_path):
    from engine.errors import Cancelled

    store = ModelStore(tmp_path)
    with pytest.raises(Cancelled):
        at.train_robust(small_mediamill, store=store, progress=lambda f, m: f < 0.3)
    assert store.list() == []


@pytest.mark.slow
def test_text_robust_vocabulary_grows(small_bibtex, tmp_path):
    info = at.train_robust(small_bibtex, store=ModelStore(tmp_path), max_rounds=2)
    aug = info.manifest["augmentation"]
    assert aug["vocabulary_after"] > aug["vocabulary_before"]
    assert aug["avg_words_changed"] > 0
    assert aug["rounds"][1]["avg_words_changed"] > aug["rounds"][0]["avg_words_changed"]  # curriculum


def test_robust_xtransformer_needs_a_saved_baseline(small_bibtex, tmp_path):
    from engine.errors import ModelError

    with pytest.raises(ModelError, match="train the X-Transformer first"):
        at.train_robust(small_bibtex, family="xtransformer", store=ModelStore(tmp_path))


@pytest.mark.slow
def test_robust_xtransformer_keeps_the_encoder_and_retrains_tfidf_and_ranker(small_bibtex, tmp_path):
    import numpy as np

    from engine.explain.bench import tiny_xtransformer

    store = ModelStore(tmp_path)
    base = tiny_xtransformer(small_bibtex, n_docs=300)
    store.save(base, "bibtex", "xtransformer", {"note": "tiny test baseline"})
    info = at.train_robust(small_bibtex, family="xtransformer", store=store, max_rounds=2)
    m = info.manifest
    assert info.model_id == "xtransformer-robust" and m["baseline"] == "xtransformer"
    assert m["encoder"].startswith("kept from the saved X-Transformer")
    assert m["encoder_from_created"] == store.info("bibtex", "xtransformer").manifest["created"]
    aug = m["augmentation"]
    assert aug["vocabulary_after"] > aug["vocabulary_before"] and aug["final_model_trained_on"] == "full train split"
    assert 0.0 < m["metrics"]["P@1"] <= 1.0
    robust = store.load("bibtex", "xtransformer-robust")
    texts = small_bibtex.test.texts[:5]
    np.testing.assert_allclose(robust.embed(texts), base.embed(texts), atol=1e-6)  # same encoder
    assert robust.featurizer.dim == aug["vocabulary_after"] > base.featurizer.dim  # new TF-IDF
    ids = list(range(10))
    assert not np.allclose(robust.score_labels(texts, ids), base.score_labels(texts, ids))  # new ranker
    # the exact differentiable forward (attention x gradient) still matches the new ranker
    S = robust.score_labels(texts[:1], ids)[0]
    scores, _, _ = robust.differentiable_scores(texts[0], ids)
    np.testing.assert_allclose(scores.detach().numpy(), S, atol=1e-4)


@pytest.mark.parametrize("phase", ["clean reference model: ", "clean reference model: scoring validation",
                                   "round 1/2: ", "round 1/2: scoring validation", "final model on the full",
                                   "evaluating on test"])
def test_cancel_in_every_phase_stops_there_and_keeps_nothing(small_mediamill, tmp_path, phase):
    from engine.errors import Cancelled

    store = ModelStore(tmp_path)
    seen = []

    def progress(f, msg):
        seen.append(msg)
        return not msg.startswith(phase)

    with pytest.raises(Cancelled):
        at.train_robust(small_mediamill, store=store, max_rounds=2, progress=progress)
    assert seen[-1].startswith(phase)  # stopped at the first report of that phase
    assert store.list() == []


def test_progress_fills_with_named_phases(small_mediamill, tmp_path):
    seen = []
    at.train_robust(small_mediamill, store=ModelStore(tmp_path), max_rounds=2,
                    progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions[0] < 0.1 and fractions[-1] == 1.0 and 1.0 not in fractions[:-1]
    assert all(a <= b for a, b in zip(fractions, fractions[1:])), fractions
    # the nested model's own end is named as its phase's, never a bare "trained" / "done"
    bare = [m for _, m in seen if m.split(":")[0].strip() in ("done", "XR-Linear trained")]
    assert bare == [] and seen[-1][1] == "saved"
    assert any(m.startswith("clean reference model: XR-Linear trained") for _, m in seen)
