"""Small real datasets for adversarial-training tests (subsets of the official splits)."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before PECOS loads; see engine/attacks/__init__.py
import dataclasses  # noqa: E402

import pytest  # noqa: E402


def _subset(ds, n_train, n_test):
    from engine.types import Split

    def cut(s, n):
        return Split(s.X[:n], s.Y[:n], None if s.texts is None else s.texts[:n])
    return dataclasses.replace(ds, train=cut(ds.train, n_train), test=cut(ds.test, n_test))


@pytest.fixture(scope="session")
def small_mediamill():
    from engine.data import load_dataset

    return _subset(load_dataset("mediamill"), 800, 200)


@pytest.fixture(scope="session")
def small_bibtex(bibtex):
    return _subset(bibtex, 600, 200)
