"""Fixtures for attack tests: a small real XR-Linear model saved in a temporary store."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before PECOS loads; see engine/attacks/__init__.py
import pytest


@pytest.fixture(scope="session")
def attack_store(tmp_path_factory, small_xlinear):
    """ModelStore holding bibtex/xlinear = the 800-document XR-Linear model."""
    from engine.models.store import ModelStore

    store = ModelStore(tmp_path_factory.mktemp("attack-models"))
    store.save(small_xlinear, "bibtex", "xlinear", {"variant": "baseline"})
    return store


@pytest.fixture(scope="session")
def wordnet_reader():
    """WordNet loads once per session (~6-14 s); tests using it are marked slow."""
    from engine.wordnet import wordnet

    return wordnet()


@pytest.fixture()
def attack_cache(tmp_path, monkeypatch):
    """A fresh result cache per test (result caches only: the parsed-dataset cache stays shared)."""
    import engine.paths

    monkeypatch.setattr(engine.paths, "cache_dir", lambda: tmp_path)
    return tmp_path
