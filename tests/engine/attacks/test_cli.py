import argparse
import json

from engine.cli.attacks import add_attack_args, add_parser, run, run_attack_eval


def test_evaluate_json(attack_store, attack_cache, monkeypatch, capsys):
    import engine.models.store as store_mod

    monkeypatch.setattr(store_mod, "model_dir", lambda: attack_store.root)
    p = argparse.ArgumentParser()
    p.add_argument("--dataset")
    p.add_argument("--model")
    add_attack_args(p)
    args = p.parse_args(["--dataset", "bibtex", "--model", "xlinear", "--attack", "hsj", "--n", "2", "--json"])
    out = run_attack_eval(args)
    assert capsys.readouterr().out == ""  # engine/cli/main.py prints the returned object, once
    out = json.loads(json.dumps(out))
    assert {"clean", "attacked", "success_rate", "queries_mean", "perturbation_median"} <= set(out)
    assert run_attack_eval(args, "xlinear") == out  # model id given by engine/cli/main.py (e.g. "-robust")
    args = p.parse_args(["--dataset", "bibtex", "--model", "xlinear", "--attack", "hsj", "--n", "2"])
    run_attack_eval(args)
    assert "success rate" in capsys.readouterr().out


def test_attack_subcommand(attack_store, attack_cache, monkeypatch, capsys):
    import engine.models.store as store_mod

    monkeypatch.setattr(store_mod, "model_dir", lambda: attack_store.root)
    root = argparse.ArgumentParser()
    add_parser(root.add_subparsers(dest="cmd"))
    args = root.parse_args(["attack", "--dataset", "bibtex", "--model", "xlinear", "--doc", "2", "--json"])
    assert args.func is run and run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["attack"] == "hsj" and out["success"] is True
    args = root.parse_args(["attack", "--dataset", "bibtex", "--doc", "2"])
    run(args)
    assert "SUCCESS" in capsys.readouterr().out
