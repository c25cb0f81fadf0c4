"""Bad input through ``python -m engine``: exit code 2 and ``error: ...`` on stderr naming the problem,
never a traceback. In-process through engine.cli.main (argparse errors exit 2 via SystemExit), plus a
few real subprocesses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import cli
from tests.reliability.corpus import record

ROOT = Path(__file__).resolve().parents[2]
EX = ["explain", "--dataset", "bibtex", "--samples", "20", "--top-k", "2", "--json"]
AT = ["attack", "--dataset", "bibtex", "--max-iter", "1", "--max-eval", "10", "--json"]

CASES = [
    ("cli/no-command", [], ["command"]),
    ("cli/unknown-command", ["fly"], ["fly"]),
    ("cli/explain-no-doc", EX, ["--doc"]),
    *[(f"cli/explain-doc/{d}", EX + ["--doc", d], ["doc", "document"]) for d in ("-1", "2515", "999999999", "abc", "1.5", "")],
    *[(f"cli/explain-dataset/{d!r}", ["explain", "--dataset", d, "--doc", "0", "--samples", "20"], ["dataset", d or "''"])
      for d in ("nope", "", "../bibtex", "BIBTEX")],
    *[(f"cli/explain-model/{m!r}", EX + ["--doc", "0", "--model", m], ["model"]) for m in ("nope", "xtransformer", "../x", "")],
    *[(f"cli/explain-samples/{s}", EX + ["--doc", "0", "--samples", s], ["samples"]) for s in ("0", "-5", "20001", "1000000000000", "x")],
    *[(f"cli/explain-features/{s}", EX + ["--doc", "0", "--features", s], ["words", "features"]) for s in ("0", "-1")],
    *[(f"cli/explain-top-k/{s}", EX + ["--doc", "0", "--top-k", s], ["top-k"]) for s in ("0", "-1", "160", "99999")],
    ("cli/explain-seed/-1", EX + ["--doc", "0", "--seed", "-1"], ["seed"]),
    ("cli/explain-method/shap", EX + ["--doc", "0", "--method", "shap"], ["method", "shap"]),
    ("cli/explain-method/attention-xlinear", EX + ["--doc", "0", "--method", "attention"], ["attention"]),
    ("cli/explain-split/valid", EX + ["--doc", "0", "--split", "valid"], ["split", "valid"]),
    *[(f"cli/attack-doc/{d}", AT + ["--doc", d], ["doc", "document"]) for d in ("-1", "2515", "x")],
    *[(f"cli/attack-eps/{e}", AT + ["--doc", "0", "--eps", e], ["eps"]) for e in ("0", "-1", "nan", "inf", "-inf", "x")],
    *[(f"cli/attack-max-iter/{v}", AT[:-5] + ["--doc", "0", "--max-iter", v, "--json"], ["max_iter", "max-iter"])
      for v in ("0", "-3", "1000000000")],
    *[(f"cli/attack-max-eval/{v}", AT[:-3] + ["--doc", "0", "--max-eval", v, "--json"], ["max_eval", "max-eval"])
      for v in ("0", "1000000000000")],
    *[(f"cli/attack-nb-parallel/{v}", AT + ["--doc", "0", "--attack", "zoo", "--nb-parallel", v], ["nb_parallel"])
      for v in ("0", "1000000000")],
    *[(f"cli/attack-lr/{v}", AT + ["--doc", "0", "--attack", "zoo", "--learning-rate", v], ["learning_rate"])
      for v in ("0", "-1", "nan")],
    *[(f"cli/attack-max-words/{v}", AT + ["--doc", "0", "--attack", "wordnet", "--max-words", v], ["max_words"])
      for v in ("0", "-2")],
    *[(f"cli/attack-label/{v}", AT + ["--doc", "0", "--goal", "drop", "--label", v], ["label"])
      for v in ("TAG_nope", "-1", "159", "99999")],
    ("cli/attack-drop-no-label", AT + ["--doc", "0", "--goal", "drop"], ["label"]),
    ("cli/attack-kind/fgsm", AT + ["--doc", "0", "--attack", "fgsm"], ["attack", "fgsm"]),
    ("cli/attack-norm/1", AT + ["--doc", "0", "--norm", "1"], ["norm"]),
    ("cli/attack-top-k/0", AT + ["--doc", "0", "--top-k", "0"], ["top-k"]),
    ("cli/attack-dataset/nope", ["attack", "--dataset", "nope", "--doc", "0"], ["nope"]),
    ("cli/attack-model/nope", AT + ["--doc", "0", "--model", "nope"], ["model"]),
    ("cli/evaluate-dataset/nope", ["evaluate", "--dataset", "nope"], ["nope"]),
    ("cli/evaluate-model/nope", ["evaluate", "--dataset", "bibtex", "--model", "nope"], ["model"]),
    *[(f"cli/evaluate-n/{n}", ["evaluate", "--dataset", "bibtex", "--attack", "hsj", "--n", n, "--json"], ["n "])
      for n in ("0", "-1", "x")],
    ("cli/evaluate-eps/-1", ["evaluate", "--dataset", "bibtex", "--attack", "hsj", "--n", "1", "--eps", "-1"], ["eps"]),
    ("cli/evaluate-attack/fgsm", ["evaluate", "--dataset", "bibtex", "--attack", "fgsm"], ["fgsm"]),
    ("cli/train-dataset/nope", ["train", "--dataset", "nope"], ["nope"]),
    ("cli/train-model/svm", ["train", "--dataset", "bibtex", "--model", "svm"], ["svm"]),
    ("cli/train-xtransformer-dense", ["train", "--dataset", "mediamill", "--model", "xtransformer"], ["text"]),
    *[(f"cli/train-param/{k}={v}", ["train", "--dataset", "bibtex", k, v], [k.lstrip("-").replace("-", "_")])
      for k, v in (("--C", "-1"), ("--C", "0"), ("--nr-splits", "1"), ("--max-leaf-size", "0"), ("--loss", "mse"),
                   ("--C", "abc"))],
    ("cli/train-fine-tune-encoder/xlinear", ["train", "--dataset", "bibtex", "--fine-tune-encoder"],
     ["fine-tune-encoder"]),
    ("cli/train-robust-xtransformer/epochs", ["train", "--dataset", "bibtex", "--model", "xtransformer", "--robust",
                                              "--epochs", "2"], ["epochs", "encoder"]),
    ("cli/tune-dataset/nope", ["tune", "--dataset", "nope"], ["nope"]),
    ("cli/faithfulness-docs/0", ["faithfulness", "--dataset", "bibtex", "--docs", "0", "--samples", "20"], ["docs"]),
    ("cli/faithfulness-samples/0", ["faithfulness", "--dataset", "bibtex", "--samples", "0"], ["samples"]),
    ("cli/faithfulness-dataset/nope", ["faithfulness", "--dataset", "nope", "--docs", "1", "--samples", "20"], ["nope"]),
]


def run_main(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse: usage + "error: ..." on stderr, exit 2
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case_id,argv,names", CASES, ids=[c[0] for c in CASES])
def test_cli_bad_input_exits_2_with_a_message(rel_dirs, capsys, case_id, argv, names):
    try:
        code, out, err = run_main(argv, capsys)
    except Exception as exc:  # noqa: BLE001
        record(case_id, "cli", "expect-error", False, f"raw {type(exc).__name__}: {exc}")
        raise
    msg = next((ln for ln in err.splitlines() if "error:" in ln), "")
    ok = (code == 2 and bool(msg.split("error:", 1)[1].strip()) and "Traceback" not in err
          and any(n.lower() in err.lower() for n in names))
    record(case_id, "cli", "expect-error", ok, f"exit {code}: {err.strip()[-200:]}")
    assert ok, f"{case_id}: exit {code}, stderr {err[-500:]!r}"


SUBPROCESS = [
    ("cli-subprocess/explain-doc-out-of-range", ["explain", "--dataset", "bibtex", "--doc", "99999", "--samples", "20"], ["document"]),
    ("cli-subprocess/attack-eps-zero", ["attack", "--dataset", "bibtex", "--doc", "0", "--eps", "0"], ["eps"]),
    ("cli-subprocess/unknown-dataset", ["evaluate", "--dataset", "nope"], ["nope"]),
    ("cli-subprocess/bad-int", ["explain", "--dataset", "bibtex", "--doc", "abc"], ["--doc"]),
]


@pytest.mark.slow
@pytest.mark.parametrize("case_id,argv,names", SUBPROCESS, ids=[c[0] for c in SUBPROCESS])
def test_cli_subprocess_bad_input(rel_dirs, case_id, argv, names):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "engine", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    ok = p.returncode == 2 and "error:" in p.stderr and "Traceback" not in p.stderr and \
        any(n.lower() in p.stderr.lower() for n in names)
    record(case_id, "cli", "expect-error", ok, f"exit {p.returncode}: {p.stderr.strip()[-200:]}")
    assert ok, (p.returncode, p.stderr[-800:])


# -- file-system and environment faults: refused before the long work starts --------------------------
def _assert_refused(code, err, *names):
    assert code == 2 and "Traceback" not in err and err.startswith("error: "), (code, err[-600:])
    assert all(n.lower() in err.lower() for n in names), err


def test_model_dir_under_a_file_refuses_train_before_training(rel_dirs, capsys, tmp_path, monkeypatch, no_training):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("XTRUST_MODEL_DIR", str(tmp_path / "file" / "models"))
    code, _, err = run_main(["train", "--dataset", "bibtex"], capsys)
    _assert_refused(code, err, "model folder", "XTRUST_MODEL_DIR", "not writable")


def test_read_only_model_dir_refuses_train_before_training(rel_dirs, capsys, read_only_dir, monkeypatch, no_training):
    monkeypatch.setenv("XTRUST_MODEL_DIR", str(read_only_dir))
    code, _, err = run_main(["train", "--dataset", "bibtex", "--json"], capsys)
    _assert_refused(code, err, "model folder", str(read_only_dir), "not writable")


def test_model_dir_that_is_a_file_is_named_for_reading_commands(rel_dirs, capsys, tmp_path, monkeypatch):
    (tmp_path / "models").write_text("x")
    monkeypatch.setenv("XTRUST_MODEL_DIR", str(tmp_path / "models"))
    code, _, err = run_main(["evaluate", "--dataset", "bibtex"], capsys)
    _assert_refused(code, err, "model folder", "is a file")


def test_data_dir_that_is_a_file_is_refused(rel_dirs, capsys, tmp_path, monkeypatch):
    (tmp_path / "data").write_text("x")
    monkeypatch.setenv("XTRUST_DATA_DIR", str(tmp_path / "data"))
    code, _, err = run_main(EX + ["--doc", "0"], capsys)
    _assert_refused(code, err, "data folder", "XTRUST_DATA_DIR", "is a file")


@pytest.mark.parametrize("argv", [AT + ["--doc", "0"], EX + ["--doc", "0"],
                                  ["evaluate", "--dataset", "bibtex", "--attack", "hsj", "--n", "1", "--json"]],
                         ids=["attack", "explain", "evaluate-attack"])
def test_read_only_cache_refuses_commands_that_cache_results(rel_dirs, capsys, read_only_dir, monkeypatch, argv):
    monkeypatch.setenv("XTRUST_CACHE_DIR", str(read_only_dir))
    code, out, err = run_main(argv, capsys)
    _assert_refused(code, err, "cache folder", "XTRUST_CACHE_DIR", "not writable")
    assert out == ""


def test_explain_no_cache_runs_with_a_read_only_cache(rel_dirs, capsys, read_only_dir, monkeypatch):
    monkeypatch.setenv("XTRUST_CACHE_DIR", str(read_only_dir))
    code, out, err = run_main(EX + ["--doc", "0", "--no-cache"], capsys)
    assert code == 0, err[-600:]
    assert len(json.loads(out)["labels"]) == 2


def test_unwritable_report_out_is_refused_before_any_work(rel_dirs, capsys, tmp_path, monkeypatch):
    from engine.report import build

    monkeypatch.setattr(build, "_ensure", lambda *a, **k: pytest.fail("the report started working"))
    (tmp_path / "file").write_text("x")
    code, _, err = run_main(["report", "--datasets", "bibtex", "--out", str(tmp_path / "file" / "out")], capsys)
    _assert_refused(code, err, "report folder (--out)", "not writable")


@pytest.mark.parametrize("n", ["0", "-1"])
def test_report_n_below_one_is_refused(rel_dirs, capsys, tmp_path, n):
    code, _, err = run_main(["report", "--datasets", "bibtex", "--out", str(tmp_path / "r"), "--n", n], capsys)
    _assert_refused(code, err, "--n", "at least 1")
    assert not (tmp_path / "r" / "results.json").exists()


@pytest.mark.parametrize("address, names", [("127.0.0.1:1", ["cannot reach", "127.0.0.1:1"]),
                                            ("no-port-here", ["not host:port"])])
def test_unreachable_ray_address_is_refused_before_attacking(rel_dirs, capsys, fresh_cache, address, names):
    import time

    t0 = time.perf_counter()
    code, out, err = run_main(["evaluate", "--dataset", "bibtex", "--attack", "hsj", "--n", "2", "--ray", address,
                               "--json"], capsys)
    _assert_refused(code, err, "Ray", *names)
    assert time.perf_counter() - t0 < 30 and out == ""
    assert not list((fresh_cache / "robustness").rglob("*.json")) if (fresh_cache / "robustness").exists() else True


def _subprocess_env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.slow
def test_closed_pipe_on_stdout_is_quiet(rel_dirs):
    """``python -m engine evaluate --json | head -c 10``: the reader is gone before the JSON is written."""
    p = subprocess.Popen([sys.executable, "-m", "engine", "evaluate", "--dataset", "bibtex", "--json"], cwd=ROOT,
                         env=_subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader leaves at once, as head does after 10 bytes
    err = p.stderr.read().decode()
    code = p.wait(timeout=120)
    assert code in (2, 141) and "Traceback" not in err and "BrokenPipe" not in err, (code, err[-800:])


@pytest.mark.slow
def test_stdout_closed_entirely_is_refused(rel_dirs):
    """``python -m engine evaluate --json >&-``: nothing could be printed, so refuse before working."""
    p = subprocess.run([sys.executable, "-m", "engine", "evaluate", "--dataset", "bibtex", "--json"], cwd=ROOT,
                       env=_subprocess_env(), stderr=subprocess.PIPE, text=True, timeout=120,
                       preexec_fn=lambda: os.close(1))
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr[-800:]
    assert "error: standard output is closed" in p.stderr


# -- bounds and messages -------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [EX + ["--doc", "0", "--top-k", "101"], AT + ["--doc", "0", "--top-k", "150"]],
                         ids=["explain", "attack"])
def test_top_k_above_the_maximum_is_refused(rel_dirs, capsys, argv):
    from engine.models.base import MAX_TOP_K

    code, _, err = run_main(argv, capsys)
    _assert_refused(code, err, "top-k", f"between 1 and {MAX_TOP_K}", "maximum")


@pytest.fixture(scope="module")
def three_label_dataset(rel_dirs):
    """A user CSV dataset with 3 labels and a 6-document test split, XR-Linear trained on it."""
    from engine import pipeline
    from engine.data.user_data import import_user_dataset

    rows = ["id,text,labels"] + [f"{i},\"graph neural network paper number {i} on learning\","
                                 f"{['ml;graphs', 'ml', 'theory;ml'][i % 3]}" for i in range(30)]
    ds = import_user_dataset("threelabels", {"p.csv": "\n".join(rows).encode()})
    pipeline.train_model("threelabels", "xlinear")
    return ds


def test_evaluate_n_above_the_split_is_capped_with_a_note(three_label_dataset, capsys):
    n_test = three_label_dataset.test.n
    argv = ["evaluate", "--dataset", "threelabels", "--attack", "hsj", "--n", "50", "--max-iter", "1"]
    code, out, err = run_main(argv + ["--json"], capsys)
    assert code == 0, err[-800:]
    res = json.loads(out)
    assert res["n"] == n_test < 50 and res["n_requested"] == 50
    assert "capped" in res["note"] and f"{n_test}" in res["note"]
    code, out, err = run_main(argv, capsys)  # the table, from the cache, says it too
    assert code == 0 and f"note: n capped: asked for 50 documents, the test split has {n_test}" in out, out


def test_evaluate_on_few_labels_never_speaks_of_a_top_k_option(three_label_dataset, capsys):
    """evaluate has no --top-k: with 3 labels the top-1 goal works (top-3 kept), the topk goal names --goal."""
    code, out, err = run_main(["evaluate", "--dataset", "threelabels", "--attack", "hsj", "--n", "2",
                               "--max-iter", "1", "--json"], capsys)
    assert code == 0 and "top-k" not in err, err[-800:]
    assert 0 <= json.loads(out)["attacked"]["P@1"] <= 1
    code, out, err = run_main(["evaluate", "--dataset", "threelabels", "--attack", "hsj", "--n", "2",
                               "--goal", "topk"], capsys)
    _assert_refused(code, err, "--goal topk", "3", "--goal top1")
    assert "top-k must" not in err
