import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from engine.errors import InputError, ModelError
from engine.models.store import ModelStore


def test_save_list_load_and_manifest(small_xlinear, tmp_path, bibtex):
    store = ModelStore(tmp_path)
    info = store.save(small_xlinear, "bibtex", "xlinear", {"params": {"C": 1.0}, "seed": 0, "metrics": {"P@1": 0.5}})
    m = json.loads((info.path / "manifest.json").read_text())
    assert m["family"] == "xlinear" and m["seed"] == 0 and "libpecos" in m["library_versions"]
    assert [i.model_id for i in store.list("bibtex")] == ["xlinear"]
    again = store.load("bibtex", "xlinear")
    np.testing.assert_allclose(again.score_labels(bibtex.test.texts[:3], [1, 2]),
                               small_xlinear.score_labels(bibtex.test.texts[:3], [1, 2]))


def test_overwrite_is_atomic_and_recovery(small_xlinear, tmp_path):
    store = ModelStore(tmp_path)
    store.save(small_xlinear, "bibtex", "xlinear", {"metrics": {"P@1": 0.1}})
    store.save(small_xlinear, "bibtex", "xlinear", {"metrics": {"P@1": 0.2}})
    assert store.info("bibtex", "xlinear").metrics["P@1"] == 0.2
    assert sorted(p.name for p in (tmp_path / "bibtex").iterdir()) == ["xlinear"]
    # a crash between the two renames of a swap: only .old-* remains -> restored
    os.replace(tmp_path / "bibtex" / "xlinear", tmp_path / "bibtex" / ".old-xlinear-abcd1234")
    (tmp_path / "bibtex" / ".tmp-xlinear-zz").mkdir()
    assert [i.model_id for i in store.list("bibtex")] == ["xlinear"]
    assert sorted(p.name for p in (tmp_path / "bibtex").iterdir()) == ["xlinear"]


def test_unknown_and_corrupt(small_xlinear, tmp_path):
    store = ModelStore(tmp_path)
    with pytest.raises(ModelError, match="python -m engine train"):
        store.load("bibtex", "xlinear")
    with pytest.raises(InputError):
        store.folder("bibtex", "../../etc")
    info = store.save(small_xlinear, "bibtex", "xlinear", {})
    (info.path / "xlinear").rename(info.path / "gone")
    with pytest.raises(ModelError, match="could not be loaded"):
        store.load("bibtex", "xlinear")


@pytest.mark.slow
def test_sigkill_during_training_keeps_previous_model(tmp_path):
    """A training job killed midway leaves the previous model loadable and the store consistent."""
    script = textwrap.dedent(f"""
        import os, sys, time
        os.environ["XTRUST_MODEL_DIR"] = {str(tmp_path)!r}
        from engine import pipeline
        from engine.models import store as st
        real_save = st.ModelStore.save
        def slow_save(self, model, *a, **k):
            orig = model.save
            def save(path):
                orig(path)
                print("HALF", flush=True)
                time.sleep(60)
            model.save = save
            return real_save(self, model, *a, **k)
        if sys.argv[1] == "slow":
            st.ModelStore.save = slow_save
        pipeline.train_model("bibtex", "xlinear")
        print("DONE", flush=True)
    """)
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", script, "fast"], check=True, env=env, cwd=root, capture_output=True)
    before = json.loads((tmp_path / "bibtex/xlinear/manifest.json").read_text())["created"]
    p = subprocess.Popen([sys.executable, "-c", script, "slow"], env=env, cwd=root, stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and "HALF" not in (p.stdout.readline() or ""):
        pass
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert any(x.name.startswith(".tmp-") for x in (tmp_path / "bibtex").iterdir())
    store = ModelStore(tmp_path)
    assert [i.model_id for i in store.list("bibtex")] == ["xlinear"]  # partial save cleaned, old one kept
    assert store.info("bibtex", "xlinear").manifest["created"] == before
    store.load("bibtex", "xlinear").predict(["learning graphs"], 3)
    assert not any(x.name.startswith(".") for x in (tmp_path / "bibtex").iterdir())
