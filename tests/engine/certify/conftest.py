"""Fixtures for certificate tests: a small real XR-Linear in a temporary store (small_xlinear comes
from tests/conftest.py) and a fresh result cache. The fake models are in fakes.py."""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before PECOS loads; see engine/attacks/__init__.py
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def certify_store(tmp_path_factory, small_xlinear):
    """ModelStore holding bibtex/xlinear = the 800-document XR-Linear model."""
    from engine.models.store import ModelStore

    store = ModelStore(tmp_path_factory.mktemp("certify-models"))
    store.save(small_xlinear, "bibtex", "xlinear", {"variant": "baseline"})
    return store


@pytest.fixture()
def certify_cache(tmp_path, monkeypatch):
    """A fresh result cache per test."""
    import engine.paths

    monkeypatch.setattr(engine.paths, "cache_dir", lambda: tmp_path)
    return tmp_path
