import pytest


@pytest.mark.slow
def test_bench_attacks_reports_rates(attack_store):
    from engine.attacks.bench import bench_attacks

    out = bench_attacks("bibtex", "xlinear", attacks=("hsj",), n=1, store=attack_store)
    assert out["model"]["rows_per_s_single"] > 0 and out["model"]["rows_per_s_batch64"] > 0
    h = out["hsj"]
    assert h["queries_per_doc"] > 0 and h["seconds_per_doc"] > 0
    assert h["queries_per_s"] == pytest.approx(h["queries_per_doc"] / h["seconds_per_doc"])
