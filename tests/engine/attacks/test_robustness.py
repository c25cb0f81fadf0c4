"""evaluate_robustness / robustness_curve on a few documents; Ray equals the local loop."""
import pytest

from engine.attacks.robustness import evaluate_robustness, robustness_curve, sample_documents
from engine.errors import InputError

KEYS = {"P@1", "P@2", "P@3", "P@4", "P@5", "R@1", "R@2", "R@3", "R@4", "R@5"}


def test_sample_is_seeded():
    assert sample_documents(100, 5, 0) == sample_documents(100, 5, 0)
    assert sample_documents(100, 5, 0) != sample_documents(100, 5, 1)
    assert sample_documents(3, 10, 0) == [0, 1, 2]


def test_hsj_robustness_numbers(attack_store, attack_cache):
    r = evaluate_robustness("bibtex", "xlinear", "hsj", n=4, store=attack_store)
    assert set(r["clean"]) == KEYS and set(r["attacked"]) == KEYS
    assert r["n"] == 4 and r["attack"] == "hsj" and r["eps"] is None
    assert r["success_rate"] == 1.0  # unbounded HSJ always flips top-1 here
    assert r["attacked"]["P@1"] <= r["clean"]["P@1"]
    assert r["queries_mean"] > 0 and r["perturbation_median"] > 0
    again = evaluate_robustness("bibtex", "xlinear", "hsj", n=4, store=attack_store)
    assert again == r  # from the disk cache
    assert len(list((attack_cache / "robustness").rglob("*.json"))) == 1


def test_topk_goal_replaces_the_whole_top5(attack_store, attack_cache):
    top1 = evaluate_robustness("bibtex", "xlinear", "hsj", n=3, store=attack_store)
    r = evaluate_robustness("bibtex", "xlinear", "hsj", n=3, store=attack_store, goal="topk")
    assert r["success_rate"] == 1.0  # unbounded HSJ reaches it here too
    # every original top-5 label left the top-5, so attacked P@5 falls at least as far as under top1
    assert r["attacked"]["P@5"] <= top1["attacked"]["P@5"] and r["attacked"]["P@5"] < r["clean"]["P@5"]
    assert r["perturbation_median"] > top1["perturbation_median"]  # a harder goal needs a larger change
    with pytest.raises(InputError, match="'top1' or 'topk'"):
        evaluate_robustness("bibtex", "xlinear", "hsj", n=2, store=attack_store, goal="drop")


def test_bad_robustness_inputs(attack_store, attack_cache):
    with pytest.raises(InputError, match="n \\(documents"):
        evaluate_robustness("bibtex", "xlinear", "hsj", n=0, store=attack_store)
    with pytest.raises(InputError, match="eps"):
        evaluate_robustness("bibtex", "xlinear", "hsj", n=2, eps=-1.0, store=attack_store)
    with pytest.raises(InputError, match="unknown attack parameter"):
        evaluate_robustness("bibtex", "xlinear", "hsj", n=2, store=attack_store, steps=3)
    with pytest.raises(InputError, match="eps value"):
        robustness_curve("bibtex", "xlinear", "hsj", [], store=attack_store)


@pytest.mark.slow
def test_curve_success_grows_with_eps(attack_store, attack_cache):
    c = robustness_curve("bibtex", "xlinear", "hsj", [0.01, 10.0], n=3, store=attack_store)
    assert [x["eps"] for x in c] == [0.01, 10.0]
    assert c[0]["success_rate"] <= c[1]["success_rate"] == 1.0
    assert c[1]["P@1"] <= c[0]["P@1"]


@pytest.mark.slow
def test_ray_matches_local(attack_store, attack_cache, monkeypatch):
    ray = pytest.importorskip("ray")
    local = evaluate_robustness("bibtex", "xlinear", "hsj", n=4, seed=3, store=attack_store)
    for f in (attack_cache / "robustness").rglob("*.json"):
        f.unlink()
    ray.init(num_cpus=1, include_dashboard=False)
    try:
        dist = evaluate_robustness("bibtex", "xlinear", "hsj", n=4, seed=3, store=attack_store, ray_address="auto")
    finally:
        ray.shutdown()
    assert dist["distributed"] is True and local["distributed"] is False
    for k in ("clean", "attacked", "success_rate", "queries_mean", "perturbation_median", "docs"):
        assert dist[k] == local[k], k


def test_wordnet_doc_without_synonyms_counts_as_failed(attack_store, attack_cache, monkeypatch):
    import engine.attacks.wordnet_synonyms as wsyn

    monkeypatch.setattr(wsyn, "candidate_synonyms", lambda words: {})  # as if no word had a synonym
    r = evaluate_robustness("bibtex", "xlinear", "wordnet", n=2, store=attack_store)
    assert r["success_rate"] == 0.0 and r["not_attackable"] == 2 and r["perturbation_median"] is None
    assert r["attacked"] == r["clean"]


@pytest.mark.parametrize("attack", ["hsj", "zoo"])
def test_curve_numbers_equal_attacks_run_with_each_eps(attack_store, attack_cache, attack):
    from engine.attacks.robustness import _attack_one

    eps_values = [0.05, 0.3, 2.0]
    docs = sample_documents(500, 3, 0)
    params = {"max_iter": 3} if attack == "hsj" else {"max_iter": 5}
    rows = [_attack_one("bibtex", "xlinear", i, attack, eps_values, 0, "test", str(attack_store.root), params)
            for i in docs]
    from engine.attacks.api import run_attack
    from engine.data import load_dataset
    from engine.models.runtime import get_model

    ds, model = load_dataset("bibtex"), get_model("bibtex", "xlinear", attack_store)
    for d, i in enumerate(docs):
        doc = ds.document(i, "test")
        for e, eps in enumerate(eps_values):
            res = run_attack(model, ds.input_of(doc), attack=attack, eps=eps, seed=0, top_k=5,
                             truth=list(doc.labels), **params)
            r = rows[d][e]
            assert (r["success"], r["queries"], r["adv_top"], r["clean_top"]) == \
                (res.success, res.queries, res.after.label_ids, res.before.label_ids), (i, eps)
            assert r["l2"] == pytest.approx(res.l2, rel=1e-6, abs=1e-9)
    # the budgets differ in what they let through on this sample (the test would not see a wrong projection)
    assert len({tuple(r[e]["success"] for r in rows) for e in range(len(eps_values))}) > 1


def test_curve_attacks_each_document_once_and_repeats_attack_nothing(attack_store, attack_cache, monkeypatch):
    import engine.attacks.api as api

    calls = []
    real = api.run_attack
    monkeypatch.setattr(api, "run_attack", lambda *a, **k: calls.append(k.get("eps")) or real(*a, **k))
    curve = robustness_curve("bibtex", "xlinear", "hsj", [0.1, 1.0, 3.0], n=3, store=attack_store, max_iter=3)
    assert calls == [None, None, None]  # one unbounded attack per document for the three budgets
    assert len(list((attack_cache / "robustness-docs").rglob("*.json"))) == 3
    one = evaluate_robustness("bibtex", "xlinear", "hsj", n=3, eps=1.0, store=attack_store, max_iter=3)
    assert curve[1]["success_rate"] == one["success_rate"] and curve[1]["P@1"] == one["attacked"]["P@1"]

    def no_attack(*a, **k):
        raise AssertionError("attacked again")
    monkeypatch.setattr(api, "run_attack", no_attack)
    assert robustness_curve("bibtex", "xlinear", "hsj", [0.1, 1.0, 3.0], n=3, store=attack_store,
                            max_iter=3) == curve
    for f in (attack_cache / "robustness").rglob("*.json"):
        f.unlink()  # the totals gone: the per-document results still serve any eps, new ones included
    again = robustness_curve("bibtex", "xlinear", "hsj", [3.0, 0.5, 0.1], n=3, store=attack_store, max_iter=3)
    assert again[0] == curve[2] and again[2] == curve[0]


def test_cancel_mid_attack_stops_and_keeps_nothing(attack_store, attack_cache):
    from engine.errors import Cancelled

    seen = []

    def progress(f, msg):
        seen.append((f, msg))
        return len(seen) < 5  # cancel inside the first document's attack

    with pytest.raises(Cancelled):
        evaluate_robustness("bibtex", "xlinear", "hsj", n=3, store=attack_store, progress=progress)
    assert "document 1/3" in seen[-1][1] and seen[-1][0] < 1 / 3
    assert not list(attack_cache.rglob("robustness*/**/*.json"))
