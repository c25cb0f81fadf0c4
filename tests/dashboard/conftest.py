"""Fixtures for the dashboard tests: a temporary model store holding a real XR-Linear model on
BibTeX (trained once per session, ~3 s) and temporary caches."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import isolated_store

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture(scope="session")
def xtrust_dirs(tmp_path_factory):
    """XTRUST_MODEL_DIR / XTRUST_CACHE_DIR in a temp folder, with XR-Linear trained on BibTeX."""
    with isolated_store(tmp_path_factory.mktemp("xtrust")) as dirs:
        yield dirs
