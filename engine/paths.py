"""Where XTrust keeps data, models and caches (all overridable by environment variables)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dirs() -> list[Path]:
    """Folders searched for dataset files, in order. Downloads go to the first one.

    XTRUST_DATA_DIR if set, else ``data/`` in the repo; then ``../shared/datasets`` beside the
    repo when it exists (a read-only mirror with the same layout).
    """
    dirs = [Path(os.environ["XTRUST_DATA_DIR"])] if os.environ.get("XTRUST_DATA_DIR") else [REPO_ROOT / "data"]
    shared = REPO_ROOT.parent / "shared" / "datasets"
    if shared.is_dir() and shared not in dirs:
        dirs.append(shared)
    return dirs


def model_dir() -> Path:
    """Root of the model store: XTRUST_MODEL_DIR, else ``models/`` in the repo."""
    return Path(os.environ.get("XTRUST_MODEL_DIR") or REPO_ROOT / "models")


def cache_dir() -> Path:
    """Parsed-dataset and result caches: XTRUST_CACHE_DIR, else ``cache/`` in the repo."""
    return Path(os.environ.get("XTRUST_CACHE_DIR") or REPO_ROOT / "cache")


def result_cache_file(kind: str, *folders: str, key: dict) -> Path:
    """A cached result's file: ``cache_dir()/kind/folders.../<sha256 of key>.json``. ``key`` holds
    every argument the result depends on (including the model's creation time), so a changed
    argument or a retrained model never reads an old result."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return cache_dir().joinpath(kind, *folders, f"{digest}.json")


def nltk_data_dir() -> Path:
    """Where WordNet is installed for NLTK (see scripts/install_wordnet.sh)."""
    return Path(os.environ.get("XTRUST_NLTK_DATA") or REPO_ROOT / "data" / "nltk_data")
