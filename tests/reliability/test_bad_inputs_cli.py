"""Bad input through ``python -m engine``: exit code 2 and ``error: ...`` on stderr naming the problem,
never a traceback. In-process through engine.cli.main (argparse errors exit 2 via SystemExit), plus a
few real subprocesses."""
from __future__ import annotations

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
