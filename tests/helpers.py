"""Helpers shared by several test folders."""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def isolated_store(base: Path):
    """Point XTRUST_MODEL_DIR / XTRUST_CACHE_DIR into ``base`` with XR-Linear trained on full BibTeX
    (~3 s); restore the environment afterwards. Yields {"models", "cache", "base"}."""
    models, cache = base / "models", base / "cache"
    if (ROOT / "cache" / "datasets").is_dir():  # parsing the ARFF files again costs seconds
        shutil.copytree(ROOT / "cache" / "datasets", cache / "datasets")
    cache.mkdir(parents=True, exist_ok=True)
    old = {k: os.environ.get(k) for k in ("XTRUST_MODEL_DIR", "XTRUST_CACHE_DIR")}
    os.environ["XTRUST_MODEL_DIR"] = str(models)
    os.environ["XTRUST_CACHE_DIR"] = str(cache)
    try:
        from engine import pipeline

        pipeline.train_model("bibtex", "xlinear")
        yield {"models": models, "cache": cache, "base": base}
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def dead_writer_tag() -> str:
    """'<pid>+<start>' of a process that has exited (what a killed save leaves in its folder names)."""
    import subprocess
    import sys

    import psutil

    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    tag = f"{p.pid}+{round(psutil.Process(p.pid).create_time() * 100)}"
    p.kill()
    p.wait()
    return tag


def first_start_in_a_child(dataset: str, progress=None, handed_over_from: str | None = None):
    """The first-start tests' stand-in for ``pipeline.run_first_start`` in a child process
    (engine.child_process imports it by name): the real ``engine.models.first_start.run``, claim hand-over
    included, with a trainer that reports progress until the file named by $XTRUST_TEST_RELEASE exists,
    then saves the model of the store at $XTRUST_TEST_MODEL_SOURCE as the trained X-Transformer."""
    import time

    from engine.errors import Cancelled
    from engine.models import first_start
    from engine.models.store import ModelStore

    def trainer(name, store, report):
        release = Path(os.environ["XTRUST_TEST_RELEASE"])
        while not release.exists():
            if report(0.3, "fine-tuning the encoder") is False:
                raise Cancelled("cancelled")
            time.sleep(0.05)
        model = ModelStore(os.environ["XTRUST_TEST_MODEL_SOURCE"]).load(name, "xtransformer")
        return store.save(model, name, "xtransformer", {"note": "tiny test model", "variant": "baseline"})

    first_start.trainer = trainer
    return first_start.run(dataset, progress=progress, handed_over_from=handed_over_from)
