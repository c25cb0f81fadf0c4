"""Test-wide settings: models and caches go to a temporary folder, never the user's store."""
import os
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="xtrust-tests-"))
os.environ["XTRUST_MODEL_DIR"] = str(_TMP / "models")
os.environ["XTRUST_CACHE_DIR"] = str(_TMP / "cache")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# never train an X-Transformer by itself at first start (engine/models/first_start.py ENV); the tests
# of that mechanism turn it on explicitly with a tiny injected trainer
os.environ["XTRUST_AUTO_TRAIN"] = "0"

import pytest  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: slower integration test (still runs in CI)")


@pytest.fixture(scope="session")
def bibtex():
    from engine.data import load_dataset

    return load_dataset("bibtex")


@pytest.fixture(scope="session")
def small_xlinear(bibtex):
    """A real PECOS XR-Linear model on the first 800 BibTeX training documents (sub-second)."""
    from engine.models.xlinear import XLinearXMC

    return XLinearXMC.train(bibtex.train.texts[:800], bibtex.train.Y[:800], bibtex.label_names)
