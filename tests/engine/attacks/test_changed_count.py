"""features_changed: the true number of changed features, beside the display list capped at N_CHANGED."""
import argparse
import json

import numpy as np
import pytest

from engine.attacks.api import attack_document, run_attack
from engine.cli.attacks import add_parser, run
from engine.attacks.common import N_CHANGED
from engine.attacks.result import AttackResult


@pytest.mark.parametrize("attack, kw", [("hsj", {}), ("zoo", {"nb_parallel": 32, "max_iter": 5}),
                                        ("boundary", {"max_iter": 5})])
def test_feature_attacks_count_every_changed_feature(small_xlinear, bibtex, attack, kw):
    text = bibtex.test.texts[2]
    x0 = small_xlinear.feature_view(text).x0
    r = run_attack(small_xlinear, text, attack=attack, seed=0, **kw)
    true_count = int(np.count_nonzero(r.adversarial_vector != x0))
    assert r.features_changed == true_count
    assert len(r.changed) == min(N_CHANGED, true_count)
    if attack in ("hsj", "boundary"):  # their noise start moves almost every feature: far past the display cap
        assert r.features_changed > N_CHANGED
    back = AttackResult.from_json(r.to_json())
    assert back.features_changed == true_count and json.loads(r.to_json())["features_changed"] == true_count


def test_cached_results_keep_the_count(attack_store, attack_cache):
    a = attack_document("bibtex", "xlinear", 2, attack="hsj", store=attack_store)
    b = attack_document("bibtex", "xlinear", 2, attack="hsj", store=attack_store)  # from the cache
    assert a.features_changed == b.features_changed > N_CHANGED


def test_cli_prints_the_true_count(attack_store, attack_cache, monkeypatch, capsys):
    import engine.models.store as store_mod

    monkeypatch.setattr(store_mod, "model_dir", lambda: attack_store.root)
    root = argparse.ArgumentParser()
    add_parser(root.add_subparsers(dest="cmd"))
    assert run(root.parse_args(["attack", "--dataset", "bibtex", "--doc", "2", "--json"])) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["features_changed"] > len(res["changed"]) == N_CHANGED
    run(root.parse_args(["attack", "--dataset", "bibtex", "--doc", "2"]))
    assert f"features changed: {res['features_changed']:,} (the 10 largest below)" in capsys.readouterr().out
