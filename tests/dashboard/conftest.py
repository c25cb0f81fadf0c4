"""Fixtures for the dashboard tests: a temporary model store holding a real XR-Linear model on
BibTeX (trained once per session, ~3 s) and temporary caches."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture(scope="session")
def xtrust_dirs(tmp_path_factory):
    """XTRUST_MODEL_DIR / XTRUST_CACHE_DIR in a temp folder, with XR-Linear trained on BibTeX."""
    base = tmp_path_factory.mktemp("xtrust")
    models, cache = base / "models", base / "cache"
    # Reuse the parsed-dataset cache when the checkout has one (parsing ARFF again costs seconds).
    if (ROOT / "cache" / "datasets").is_dir():
        shutil.copytree(ROOT / "cache" / "datasets", cache / "datasets")
    cache.mkdir(exist_ok=True)
    old = {k: os.environ.get(k) for k in ("XTRUST_MODEL_DIR", "XTRUST_CACHE_DIR", "XTRUST_USER_DATA_DIR")}
    os.environ["XTRUST_MODEL_DIR"] = str(models)
    os.environ["XTRUST_CACHE_DIR"] = str(cache)
    from engine import pipeline

    pipeline.train_model("bibtex", "xlinear")
    yield {"models": models, "cache": cache, "base": base}
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
