"""train_attack_trained: attack-generated and Gaussian-noise training on small real BibTeX / MediaMill subsets."""
import numpy as np
import pytest
import scipy.sparse as sp

from engine.errors import Cancelled, InputError
from engine.models import families
from engine.models.store import ModelStore
from engine.robust import attack_training as at

P = at.AttackTrainingParams


@pytest.fixture()
def fits(monkeypatch):
    """Every ranker fit: (X the ranker read, Y, the trained PECOS model), in order."""
    calls = []
    real = at.train_ranker

    def recording(X, Y, params):
        xlm = real(X, Y, params)
        calls.append((X, Y, xlm))
        return xlm

    monkeypatch.setattr(at, "train_ranker", recording)
    return calls


def _top5(xlm, X):
    from engine.metrics import top_k_indices

    return top_k_indices(xlm.predict(X, only_topk=5, beam_size=50), 5)


def test_hsj_training_set_holds_the_adversarial_examples(small_bibtex, tmp_path, fits):
    tp = P("hsj", rounds=2, sample_size=5, eps=1.2, seed=3)
    info = at.train_attack_trained(small_bibtex, training=tp, store=ModelStore(tmp_path))
    a = info.manifest["attack_training"]
    curve = a["curve"]
    n = small_bibtex.train.n
    n_fit = n - round(at.VAL_SHARE * n)
    assert info.model_id == "xlinear-advhsj" and info.manifest["variant"] == "advhsj"
    assert [c["round"] for c in curve] == [0, 1, 2] and [c["attacked"] for c in curve] == [0, 5, 5]
    assert len(fits) == 4  # clean, round 1, round 2, final
    # each fit saw the clean rows plus every example so far: the curve's counts are the real row counts
    assert [X.shape[0] for X, _, _ in fits] == [c["training_rows"] for c in curve] + [n + a["examples_added"]]
    assert a["examples_added"] == curve[1]["added"] + curve[2]["added"] == len(a["added_documents"]) > 0
    assert a["final_training_rows"] == n + a["examples_added"]
    X_final, Y_final, _ = fits[-1]
    extra, docs = X_final[n:], a["added_documents"]
    # the added rows carry the attacked documents' true labels, and are perturbations of them within eps
    assert (Y_final[n:] != small_bibtex.train.Y[docs]).nnz == 0
    featurizer = ModelStore(tmp_path).load("bibtex", "xlinear-advhsj").featurizer
    clean = featurizer.transform([small_bibtex.train.texts[i] for i in docs])
    dist = np.linalg.norm((extra - clean).toarray(), axis=1)
    assert np.all(dist > 0) and np.all(dist <= 1.2 + 1e-4)
    # the round-1 examples that met the goal are exactly the successes: the clean model (fit 0) loses its
    # whole top-5 on them
    k1 = curve[1]["added"]
    fooled = [not set(c) & set(d) for c, d in zip(_top5(fits[0][2], clean[:k1]), _top5(fits[0][2], extra[:k1]))]
    assert sum(fooled) == round(curve[1]["success_rate"] * 5)
    for c in curve:
        assert 0 < c["val_P@1"] <= 1 and 0 < c["val_P@5"] <= 1 and c["seconds"] >= 0
    assert 0 < info.manifest["metrics"]["P@1"] <= 1


def test_seeds_reproduce(small_bibtex, tmp_path):
    def run(seed, where):
        info = at.train_attack_trained(small_bibtex, training=P("hsj", rounds=1, sample_size=3, seed=seed),
                                       store=ModelStore(tmp_path / where))
        a = info.manifest["attack_training"]
        return ([{k: v for k, v in c.items() if k != "seconds"} for c in a["curve"]], a["added_documents"],
                info.manifest["metrics"])

    first = run(4, "a")
    assert run(4, "b") == first
    assert run(5, "c")[1] != first[1]


def test_gauss_adds_one_noisy_copy_per_round(small_bibtex, tmp_path, fits):
    info = at.train_attack_trained(small_bibtex, training=P("gauss", rounds=2, sample_size=20, sigma=0.05),
                                   store=ModelStore(tmp_path))
    a, n = info.manifest["attack_training"], small_bibtex.train.n
    n_fit = n - round(at.VAL_SHARE * n)
    assert info.model_id == "xlinear-gauss" and a["added_documents"] is None
    assert [c["training_rows"] for c in a["curve"]] == [n_fit, 2 * n_fit, 3 * n_fit]
    X, Y, _ = fits[-1]
    assert X.shape[0] == a["final_training_rows"] == 3 * n and (Y[n:2 * n] != small_bibtex.train.Y).nnz == 0
    clean = ModelStore(tmp_path).load("bibtex", "xlinear-gauss").featurizer.transform(small_bibtex.train.texts)
    noise = np.asarray(X[n:2 * n]) - clean.toarray()
    assert abs(noise.mean()) < 1e-3 and noise.std() == pytest.approx(0.05, rel=0.02)  # N(0, sigma^2), unclipped
    assert all(0 <= c["success_rate"] <= 1 for c in a["curve"][1:])


def test_dense_features_hsj(small_mediamill, tmp_path, fits):
    # no attack pushes MediaMill's frequent labels out of the top-5: the top1 goal
    info = at.train_attack_trained(small_mediamill, training=P("hsj", rounds=1, sample_size=3, eps=None, goal="top1"),
                                   store=ModelStore(tmp_path))
    a = info.manifest["attack_training"]
    assert a["curve"][1]["success_rate"] == 1.0 and a["examples_added"] == 3  # unbounded HSJ always succeeds here
    assert not sp.issparse(fits[-1][0]) and fits[-1][0].shape[0] == small_mediamill.train.n + 3
    assert ModelStore(tmp_path).load("mediamill", "xlinear-advhsj").predict(small_mediamill.test.X[:2].toarray(), 3)


@pytest.mark.parametrize("method, phase", [
    ("hsj", "fitting"), ("hsj", "attacking"), ("hsj", "queries"), ("hsj", "evaluating"), ("hsj", "round 1/1: evaluating"),
    ("gauss", "Gaussian"), ("hsj", "evaluating on test"),
])
def test_cancel_in_every_phase_saves_nothing(small_bibtex, tmp_path, method, phase):
    store = ModelStore(tmp_path)
    seen = []

    def progress(f, msg):
        seen.append(msg)
        return phase not in msg

    with pytest.raises(Cancelled):
        at.train_attack_trained(small_bibtex, training=P(method, rounds=1, sample_size=2), store=store,
                                progress=progress)
    assert any(phase in m for m in seen) and store.list() == []


@pytest.mark.parametrize("kwargs, match", [
    ({"rounds": 0}, "rounds must be"), ({"rounds": 11}, "rounds must be"), ({"rounds": 1.5}, "rounds must be"),
    ({"sample_size": 0}, "sample_size must be"), ({"sample_size": 5001}, "sample_size must be"),
    ({"method": "pgd"}, "unknown training method"), ({"eps": -1.0}, "eps"), ({"eps": float("nan")}, "eps"),
    ({"max_iter": 0}, "max_iter"), ({"method": "zoo", "max_eval": 0}, "max_eval"),
    ({"method": "gauss", "sigma": 0.0}, "sigma"), ({"method": "gauss", "sigma": 1.5}, "sigma"),
    ({"seed": -1}, "seed"), ({"goal": "drop"}, "goal must be"),
])
def test_bad_parameters_refused_before_work(small_bibtex, tmp_path, monkeypatch, kwargs, match):
    monkeypatch.setattr(at, "_train", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(InputError, match=match):
        at.train_attack_trained(small_bibtex, training=P(**kwargs), store=ModelStore(tmp_path))


def test_bad_model_or_dataset_refused_before_work(small_bibtex, small_mediamill, tmp_path, monkeypatch):
    monkeypatch.setattr(at, "_train", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(InputError, match="xlinear, xtransformer only"):
        at.train_attack_trained(small_bibtex, family="fasttext", store=ModelStore(tmp_path))
    with pytest.raises(InputError, match="numeric features"):
        at.train_attack_trained(small_mediamill, training=P("wordnet"), store=ModelStore(tmp_path))
    monkeypatch.setattr(at, "MAX_DENSE_BYTES", 1000)
    with pytest.raises(InputError, match="GiB of dense rows"):
        at.train_attack_trained(small_bibtex, training=P("gauss"), store=ModelStore(tmp_path))


@pytest.mark.slow
def test_wordnet_examples_are_texts_through_the_kept_tfidf(small_bibtex, tmp_path, fits):
    info = at.train_attack_trained(small_bibtex, training=P("wordnet", rounds=1, sample_size=3, max_words=3),
                                   store=ModelStore(tmp_path))
    a, n = info.manifest["attack_training"], small_bibtex.train.n
    assert 0 < a["examples_added"] <= 3 and fits[-1][0].shape == (n + a["examples_added"], fits[0][0].shape[1])
    model = ModelStore(tmp_path).load("bibtex", "xlinear-advwordnet")
    assert model.featurizer.dim == fits[0][0].shape[1]  # one TF-IDF, fitted once on the training split


@pytest.mark.parametrize("model_id, variant, command, title", [
    ("xlinear-advhsj", "advhsj", "--model xlinear --adv-attack hsj", "XR-Linear (trained on HopSkipJump examples)"),
    ("xlinear-advwordnet", "advwordnet", "--model xlinear --adv-attack wordnet", "XR-Linear (trained on WordNet examples)"),
    ("xlinear-gauss", "gauss", "--model xlinear --gauss", "XR-Linear (Gaussian-noise trained)"),
    ("xlinear-gauss-smoothed", "gauss-smoothed", "--model xlinear --gauss --smoothed",
     "XR-Linear (Gaussian-noise trained, smoothed)"),
    ("xlinear-robust-smoothed", "robust-smoothed", "--model xlinear --robust --smoothed",
     "XR-Linear (adversarially trained, smoothed)"),
])
def test_new_variant_ids(model_id, variant, command, title):
    assert families.parse_model_id(model_id) == ("xlinear", variant)
    assert families.format_model_id("xlinear", variant) == model_id
    assert families.train_command("bibtex", model_id) == f"python -m engine train --dataset bibtex {command}"
    assert families.model_title(model_id) == title
    assert families.base_of(model_id) == model_id.removesuffix("-smoothed")
    assert families.train_command("bibtex", "xtransformer-advhsj") == ("python -m engine train --dataset bibtex "
                                                                        "--model xtransformer --adv-attack hsj")


def test_cli_refuses_bad_combinations(capsys):
    from engine.cli import main

    assert main(["train", "--dataset", "bibtex", "--robust", "--gauss"]) == 2
    assert "choose one of --robust, --adv-attack and --gauss" in capsys.readouterr().err
    assert main(["train", "--dataset", "bibtex", "--adv-attack", "hsj", "--rounds", "0"]) == 2
    assert "rounds must be a whole number from 1 to 10" in capsys.readouterr().err
    # the X-Transformer's attack training keeps the saved model's settings: options that would change them are
    # refused, not silently ignored
    for extra in (["--max-tokens", "64"], ["--C", "0.5"], ["--flat"], ["--no-fine-tune"]):
        assert main(["train", "--dataset", "bibtex", "--model", "xtransformer", "--adv-attack", "hsj", *extra]) == 2
        assert "cannot change" in capsys.readouterr().err
        assert main(["train", "--dataset", "bibtex", "--model", "xtransformer", "--gauss", *extra]) == 2
        assert "--gauss on the X-Transformer keeps the saved" in capsys.readouterr().err


def test_bar_fills_per_attacked_document_with_named_phases(small_bibtex, tmp_path):
    seen = []
    at.train_attack_trained(small_bibtex, training=P("hsj", rounds=2, sample_size=3, max_iter=1, max_eval=10),
                            store=ModelStore(tmp_path), progress=lambda f, msg: seen.append((f, msg)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0  # the bar never goes back
    for r in (1, 2):
        # each attacked document gets its own stretch of the bar, filled by the attack's steps
        starts = [f for j in (1, 2, 3) for f, m in seen if m == f"round {r}/2: attacking {j}/3"]
        assert len(starts) == 3 and starts[0] < starts[1] < starts[2]
        assert any(m.startswith(f"round {r}/2: attacking 2/3: HopSkipJump: step") for _, m in seen)
        assert any(m.startswith(f"round {r}/2: fitting the ranker on clean +") for _, m in seen)
        assert any(m.startswith(f"round {r}/2: evaluating on validation") for _, m in seen)
    assert any(m.startswith("round 0/2 (clean): fitting the ranker") for _, m in seen)
    assert any(m.startswith("final model: fitting the ranker") for _, m in seen)


@pytest.mark.parametrize("method", ["hsj", "wordnet"])
def test_cancel_while_attacking_stops_within_one_document(small_bibtex, tmp_path, method):
    store = ModelStore(tmp_path)
    seen = []

    def progress(f, msg):
        seen.append(msg)
        # the user presses Cancel while document 2 of round 1 is being attacked (mid-attack)
        return not (msg.startswith("round 1/2: attacking 2/4: ") and ("step" in msg or "queries" in msg))

    with pytest.raises(Cancelled):
        at.train_attack_trained(small_bibtex, training=P(method, rounds=2, sample_size=4, max_words=2),
                                store=store, progress=progress)
    assert any(m.startswith("round 1/2: attacking 2/4: ") for m in seen)
    assert not any(m.startswith(("round 1/2: attacking 3/4", "round 1/2: attacking 2/4: done",
                                 "round 1/2: fitting")) for m in seen)
    assert store.list() == []


@pytest.fixture(scope="module")
def xt_store(small_bibtex, tmp_path_factory):
    """A store holding bibtex/xtransformer = the tiny random 2-layer BERT X-Transformer (300 documents)."""
    from engine.explain.bench import tiny_xtransformer

    store = ModelStore(tmp_path_factory.mktemp("xt-attack-training"))
    store.save(tiny_xtransformer(small_bibtex, n_docs=300), "bibtex", "xtransformer", {"note": "tiny test baseline"})
    return store


@pytest.fixture()
def refits(monkeypatch):
    """Every X-Transformer ranker refit: (texts, X_tfidf) it trained on, in order."""
    from engine.models.xtransformer import XTransformerXMC

    calls = []
    real = XTransformerXMC.refit_ranker

    def recording(self, texts, Y, progress=None, featurizer=None, X_tfidf=None, **kw):
        calls.append((list(texts), X_tfidf, Y))
        return real(self, texts, Y, progress=progress, featurizer=featurizer, X_tfidf=X_tfidf, **kw)

    monkeypatch.setattr(XTransformerXMC, "refit_ranker", recording)
    return calls


@pytest.mark.slow
def test_xtransformer_trains_its_ranker_on_hsj_examples_with_the_cached_embedding(small_bibtex, xt_store, refits):
    import shutil

    store = ModelStore(shutil.copytree(xt_store.root, xt_store.root.parent / "hsj"))
    base = store.load("bibtex", "xtransformer")
    tp = P("hsj", rounds=2, sample_size=3, eps=1.2, max_iter=2, max_eval=20, seed=1)
    info = at.train_attack_trained(small_bibtex, "xtransformer", tp, store=store)
    m, a = info.manifest, info.manifest["attack_training"]
    assert info.model_id == "xtransformer-advhsj" and m["variant"] == "advhsj" and m["baseline"] == "xtransformer"
    assert m["encoder"].startswith("kept") and a["feature_space"].startswith("[TF-IDF ; embedding]")
    assert [c["round"] for c in a["curve"]] == [0, 1, 2] and len(refits) == 4  # clean, 2 rounds, final
    n = small_bibtex.train.n
    texts, X, Y = refits[-1]
    docs = a["added_documents"]
    assert a["examples_added"] == len(docs) > 0 and X.shape[0] == len(texts) == n + len(docs)
    # each example: the adversarial TF-IDF row (within eps of the document's own) joined to the embedding of
    # the attacked document's own text -- the embedding the attack kept fixed -- with its true labels
    assert texts[n:] == [small_bibtex.train.texts[i] for i in docs]
    clean = base.features([small_bibtex.train.texts[i] for i in docs])
    dist = np.linalg.norm((X[n:] - clean).toarray(), axis=1)
    assert np.all(dist > 0) and np.all(dist <= 1.2 + 1e-4)
    assert (Y[n:] != small_bibtex.train.Y[docs]).nnz == 0
    trained = store.load("bibtex", "xtransformer-advhsj")
    sample = small_bibtex.test.texts[:4]
    np.testing.assert_allclose(trained.embed(sample), base.embed(sample), atol=1e-6)  # the encoder is kept
    assert trained.featurizer.dim == base.featurizer.dim  # and its TF-IDF
    ids = list(range(10))
    assert not np.allclose(trained.score_labels(sample, ids), base.score_labels(sample, ids))  # a new ranker
    assert 0.0 < m["metrics"]["P@1"] <= 1.0


@pytest.mark.slow
def test_xtransformer_wordnet_and_gauss_examples(small_bibtex, xt_store, refits):
    import shutil

    store = ModelStore(shutil.copytree(xt_store.root, xt_store.root.parent / "wn"))
    n = small_bibtex.train.n
    info = at.train_attack_trained(small_bibtex, "xtransformer", P("wordnet", rounds=1, sample_size=3, max_words=3),
                                   store=store)
    texts, X, _ = refits[-1]
    docs = info.manifest["attack_training"]["added_documents"]
    assert docs and all(t != small_bibtex.train.texts[i] for t, i in zip(texts[n:], docs))  # adversarial texts
    base = store.load("bibtex", "xtransformer")
    assert abs(X[n:] - base.features(texts[n:])).max() < 1e-6  # ... through the kept TF-IDF, both halves
    refits.clear()
    info = at.train_attack_trained(small_bibtex, "xtransformer", P("gauss", rounds=1, sigma=0.05), store=store)
    texts, X, _ = refits[-1]
    assert info.model_id == "xtransformer-gauss" and X.shape[0] == len(texts) == 2 * n
    assert texts[n:] == list(small_bibtex.train.texts)  # noisy TF-IDF copies with each document's embedding
    noise = (X[n:] - base.features(list(small_bibtex.train.texts))).toarray()
    assert 0.04 < noise.std() < 0.06


def test_xtransformer_needs_its_saved_baseline_and_text(small_bibtex, small_mediamill, tmp_path):
    from engine.errors import ModelError

    with pytest.raises(ModelError, match="train the X-Transformer first"):
        at.train_attack_trained(small_bibtex, "xtransformer", P("hsj"), store=ModelStore(tmp_path))
    with pytest.raises(InputError, match="only numeric features"):
        at.train_attack_trained(small_mediamill, "xtransformer", P("hsj"), store=ModelStore(tmp_path))
