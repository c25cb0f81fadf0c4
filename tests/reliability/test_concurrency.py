"""8 sessions at once through the dashboard's cached engine calls: no errors, no cross-talk (each
result equals a single-session run), bounded caches and bounded memory. Two processes on one model
store: a save in progress survives the other's listing (its clean-up and swap recovery)."""
from __future__ import annotations

import ast
import gc
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil
import pytest

from engine import pipeline
from engine.models import runtime
from engine.models.store import ModelStore

ROOT = Path(__file__).resolve().parents[2]
N = 8


def test_every_streamlit_cache_is_bounded():
    for path in (ROOT / "dashboard").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for d in fn.decorator_list:
                if getattr(getattr(d, "func", d), "attr", "") in ("cache_data", "cache_resource"):
                    assert isinstance(d, ast.Call) and any(k.arg == "max_entries" for k in d.keywords), (path, fn.name)
    assert 1 <= runtime._MODEL_CACHE_MAX <= 16


@pytest.mark.slow
def test_eight_sessions_explain_and_attack_without_cross_talk(rel_dirs, fresh_cache):
    from dashboard import state as S

    ver = S.model_version("bibtex", "xlinear")

    def session(i):
        e = S.explain_document("bibtex", "xlinear", i, "lime", 2, 20, 5, i, ver)
        a = pipeline.attack_document("bibtex", "xlinear", i, attack="hsj", max_iter=1, max_eval=10, seed=i)
        p = S.predict_text("bibtex", "xlinear", f"learning networks {i}", 3, ver)
        return e.to_json()["labels"], a.to_json(), [x.label_id for x in p.labels]

    with ThreadPoolExecutor(N) as ex:
        together = list(ex.map(session, range(N)))
    # single-session reference, computed afterwards with no caches at all
    for i, (labels, atk, pred) in enumerate(together):
        e = pipeline.explain_document("bibtex", "xlinear", i, method="lime", top_k=2, samples=20, n_features=5,
                                      seed=i, use_cache=False)
        assert labels == e.to_json()["labels"], f"session {i}: explanation differs"
        from engine.attacks.api import run_attack

        ds = pipeline.load_dataset("bibtex")
        model = pipeline.get_model("bibtex", "xlinear")
        ref = run_attack(model, ds.test.texts[i], attack="hsj", max_iter=1, max_eval=10, seed=i,
                         truth=list(ds.document(i).labels))
        import json

        got = json.loads(atk)
        assert got["after"] == json.loads(ref.to_json())["after"], f"session {i}: attack differs"
        assert pred == [x.label_id for x in pipeline.predict_text("bibtex", "xlinear", f"learning networks {i}", 3).labels]


@pytest.mark.slow
def test_memory_plateaus_over_repeated_calls(rel_dirs):
    from dashboard import state as S

    ver = S.model_version("bibtex", "xlinear")
    proc = psutil.Process()

    def burst(start):
        with ThreadPoolExecutor(N) as ex:
            list(ex.map(lambda j: S.predict_text("bibtex", "xlinear", f"bayesian learning {j} " * 50, 5, ver),
                        range(start, start + 200)))
        gc.collect()
        return proc.memory_info().rss

    burst(0)  # warm: model, caches filled past max_entries (128)
    rss = [burst(k * 200) for k in range(1, 5)]
    growth = (rss[-1] - rss[0]) / 2**20
    assert growth < 60, f"RSS grew {growth:.1f} MB over 600 more distinct calls: {rss}"


# -- two processes on one model store: a save in progress survives another process's listing ------
STORE_SCRIPT = r"""
import os, sys, time
from engine.models import store as st
root, mode = sys.argv[1], sys.argv[2]
store = st.ModelStore(root)
if mode == "list":   # list (and so recover) as often as possible for a few seconds
    end, n = time.time() + float(sys.argv[3]), 0
    while time.time() < end:
        store.list("bibtex"); n += 1
    print("LISTED", n, flush=True)
    sys.exit(0)
model = store.load("bibtex", "seed")
if mode == "slow-save":   # the model's files are written, then the save pauses before its manifest
    orig = model.save
    def save(path):
        orig(path)
        print("HALF", flush=True)
        time.sleep(4)
    model.save = save
elif mode == "slow-swap":   # the old model is moved aside, then the swap pauses before the new one moves in
    real = os.replace
    def replace(src, dst):
        real(src, dst)
        if os.path.basename(dst).startswith(".old-"):
            print("HALF", flush=True)
            time.sleep(4)
    st.os.replace = replace
store.save(model, "bibtex", "xlinear", {"metrics": {"P@1": 0.75}})
print("SAVED", flush=True)
"""


def _store_process(root, *args):
    return subprocess.Popen([sys.executable, "-c", STORE_SCRIPT, str(root), *args], cwd=ROOT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["slow-save", "slow-swap"])
def test_a_save_in_another_process_survives_listing(small_xlinear, tmp_path, mode):
    store = ModelStore(tmp_path)
    store.save(small_xlinear, "bibtex", "seed", {})
    store.save(small_xlinear, "bibtex", "xlinear", {"metrics": {"P@1": 0.25}})
    saver = _store_process(tmp_path, mode)
    assert saver.stdout.readline().strip() == "HALF", saver.stderr.read()[-2000:]
    lister = _store_process(tmp_path, "list", "2")   # while the saver is paused mid-save
    out, err = lister.communicate(timeout=120)
    assert lister.returncode == 0 and out.startswith("LISTED"), err[-2000:]
    rest, err = saver.communicate(timeout=120)
    assert saver.returncode == 0 and "SAVED" in rest, err[-2000:]
    info = store.info("bibtex", "xlinear")
    assert info.metrics == {"P@1": 0.75}   # the saver's model arrived, not the older one
    model = store.load("bibtex", "xlinear")  # ... intact: its files verify against its checksums
    np.testing.assert_allclose(model.score_labels(["learning graphs"], [1, 2]),
                               small_xlinear.score_labels(["learning graphs"], [1, 2]))
    assert sorted(p.name for p in (tmp_path / "bibtex").iterdir()) == ["seed", "xlinear"]
