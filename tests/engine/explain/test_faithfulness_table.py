"""Dataset-level faithfulness table (engine/explain/faithfulness_table.py) on real models."""
from __future__ import annotations

import pytest

from engine.errors import Cancelled, InputError, XTrustError
from engine.explain.faithfulness_table import faithfulness_table, paired_comparison


@pytest.fixture()
def result_cache(tmp_path, monkeypatch):
    import engine.paths

    monkeypatch.setattr(engine.paths, "cache_dir", lambda: tmp_path)
    return tmp_path


def test_paired_comparison_counts_ties_apart_from_wins_and_losses():
    # comprehensiveness: higher is better. Pairs: win, tie (equal), tie (float32 rounding), loss, NaN (left out)
    method = [0.5, 0.2, 0.3000000001, 0.1, float("nan")]
    random = [0.4, 0.2, 0.3, 0.2, 0.1]
    r = paired_comparison(method, random, "comprehensiveness")
    assert r == {"pairs": 4, "wins": 0.25, "ties": 0.5, "losses": 0.25, "wins_of_decided": 0.5}
    # lower is better for sufficiency and deletion AUC: the same numbers turn around, the ties stay ties
    r = paired_comparison(method, random, "deletion_auc")
    assert (r["wins"], r["ties"], r["losses"]) == (0.25, 0.5, 0.25)
    assert paired_comparison([0.1], [0.1], "sufficiency")["wins_of_decided"] is None  # nothing decided
    assert paired_comparison([], [], "sufficiency") is None


def test_one_word_documents_tie_with_the_random_order(bibtex_store, result_cache):
    """A document of one known word has one order: the method and the random order are the same order,
    which is a tie, not a loss (the old count put it with the losses)."""
    from engine.data import load_dataset

    res = faithfulness_table("bibtex", "xlinear", n_docs=4, samples=20, top_k=2, store=bibtex_store)
    for m in ("whole", "lime"):
        for k, v in res["vs_random"][m].items():
            assert v["pairs"] == 8 and abs(v["wins"] + v["ties"] + v["losses"] - 1) < 1e-9
            assert res["beats_random"][m][k] == v["wins"]
    ds = load_dataset("bibtex")
    word = next(w for w in ds.test.texts[0].lower().split() if w.isalpha() and len(w) > 4)
    from engine.explain.api import explain_input
    from engine.pipeline import get_model

    model = get_model("bibtex", "xlinear", bibtex_store)
    ids = model.predict([word], 2)[0].label_ids
    labs = explain_input(model, word, ids, method="whole", top_k=2)
    method = [lab.comprehensiveness for lab in labs]
    random = [lab.random_baseline["comprehensiveness"] for lab in labs]
    assert paired_comparison(method, random, "comprehensiveness")["ties"] == 1.0


@pytest.mark.parametrize("n_docs", [0, -3, 1.5, True, "5", 10**6])
def test_bad_document_counts_are_refused(bibtex_store, n_docs):
    with pytest.raises(InputError, match="docs"):
        faithfulness_table("bibtex", "xlinear", n_docs=n_docs, samples=20, store=bibtex_store)


def test_bad_samples_and_unknown_model_are_refused(bibtex_store):
    with pytest.raises(InputError, match="samples"):
        faithfulness_table("bibtex", "xlinear", n_docs=2, samples=0, store=bibtex_store)
    with pytest.raises(XTrustError, match="xlinear-nope"):
        faithfulness_table("bibtex", "xlinear-nope", n_docs=2, samples=20, store=bibtex_store)


def test_mediamill_table_uses_lime_tabular(bibtex_store, result_cache):
    res = faithfulness_table("mediamill", "xlinear", n_docs=2, samples=40, top_k=2, store=bibtex_store)
    # every method the registry offers for a dense XR-Linear model: whole-score attribution and LIME
    assert list(res["table"]) == ["whole", "lime", "random"] and res["n_docs"] == 2
    assert all(v is not None for m in ("whole", "lime") for v in res["table"][m].values())
    assert set(res["method_seconds"]) == {"whole", "lime"}
    assert all(t["explain"] > 0 and t["faithfulness"] > 0 for t in res["method_seconds"].values())


@pytest.mark.slow
def test_xtransformer_table_has_attention_resumes_and_cancels(xtf_store, result_cache):
    seen = []

    def stop_after_first_doc(f, msg=""):
        seen.append(f)
        return "document 2/" not in msg

    with pytest.raises(Cancelled):
        faithfulness_table("bibtex", "xtransformer", n_docs=3, samples=30, top_k=2, store=xtf_store,
                           progress=stop_after_first_doc)
    assert seen == sorted(seen)  # progress only moves forward
    res = faithfulness_table("bibtex", "xtransformer", n_docs=3, samples=30, top_k=2, store=xtf_store)
    assert res["cached_docs"] == 1  # the document finished before the cancel was kept
    assert set(res["table"]) == {"whole", "lime", "attention", "random"}
    assert set(res["beats_random"]) == {"whole", "lime", "attention"}
    for row in res["beats_random"].values():
        assert all(0.0 <= v <= 1.0 for v in row.values())
    again = faithfulness_table("bibtex", "xtransformer", n_docs=3, samples=30, top_k=2, store=xtf_store)
    assert again["cached_docs"] == 3 and again["table"] == res["table"]


@pytest.mark.slow
def test_ray_table_equals_the_local_one_and_workers_write_the_configured_cache(bibtex_store, tmp_path, monkeypatch):
    """One Ray task per document on a local cluster started here: the same table as the local loop,
    each document's explanation written by the workers to the driver's cache folder (never the repo's)."""
    ray = pytest.importorskip("ray")
    import engine.paths

    repo_cache = engine.paths.REPO_ROOT / "cache"
    before = sorted(repo_cache.rglob("*")) if repo_cache.exists() else []
    monkeypatch.setattr(engine.paths, "cache_dir", lambda: tmp_path / "local")
    local = faithfulness_table("bibtex", "xlinear", n_docs=3, seed=2, samples=30, top_k=2, store=bibtex_store)
    monkeypatch.setattr(engine.paths, "cache_dir", lambda: tmp_path / "ray")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        dist = faithfulness_table("bibtex", "xlinear", n_docs=3, seed=2, samples=30, top_k=2, store=bibtex_store,
                                  ray_address="auto")
    finally:
        ray.shutdown()
    assert dist["distributed"] is True and local["distributed"] is False and dist["cached_docs"] == 0
    for k in ("table", "beats_random", "n_docs", "skipped"):
        assert dist[k] == local[k], k
    def explanations(folder):
        return sorted(str(p.relative_to(folder)) for p in (folder / "explanations").rglob("*.json"))

    assert explanations(tmp_path / "local") and explanations(tmp_path / "ray") == explanations(tmp_path / "local")
    assert (sorted(repo_cache.rglob("*")) if repo_cache.exists() else []) == before
