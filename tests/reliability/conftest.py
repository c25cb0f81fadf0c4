"""Reliability suite fixtures: a temporary store with a real XR-Linear model on BibTeX (trained once,
~3 s), the bad-input counters (printed at the end of the run and written to
test-artifacts/reliability_counts.json)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import isolated_store

from tests.reliability import corpus

ROOT = Path(__file__).resolve().parents[2]
COUNTS_FILE = ROOT / "test-artifacts" / "reliability_counts.json"


@pytest.fixture(scope="session")
def rel_dirs(tmp_path_factory):
    """XTRUST_MODEL_DIR / XTRUST_CACHE_DIR in a temp folder holding XR-Linear trained on full BibTeX."""
    with isolated_store(tmp_path_factory.mktemp("reliability")) as dirs:
        yield dirs


@pytest.fixture()
def fresh_cache(rel_dirs, tmp_path, monkeypatch):
    """A result cache of its own (datasets parsed once are reused), so a test sees only its own entries."""
    cache = tmp_path / "cache"
    cache.mkdir()
    os.symlink(rel_dirs["cache"] / "datasets", cache / "datasets")
    monkeypatch.setenv("XTRUST_CACHE_DIR", str(cache))
    return cache


def _chattr_immutable(path: Path) -> bool:
    """Make ``path`` immutable (chattr +i): the one read-only folder that holds for root, who ignores
    permission bits. False where chattr is missing or not permitted."""
    try:
        return subprocess.run(["chattr", "+i", str(path)], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.fixture()
def read_only_dir(tmp_path):
    d = tmp_path / "read-only"
    d.mkdir()
    if not _chattr_immutable(d):
        pytest.skip("chattr +i is not available here: no folder is read-only for root")
    yield d
    subprocess.run(["chattr", "-i", str(d)], capture_output=True, timeout=10)


@pytest.fixture()
def no_training(monkeypatch):
    """Fail the test if any model training starts (the preflight must refuse first)."""
    from engine.models.xlinear import XLinearXMC

    def refuse(*a, **k):
        raise AssertionError("training started before the folder was checked")

    monkeypatch.setattr(XLinearXMC, "train", refuse)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    s = corpus.summary()
    if not s["ran"]:
        return
    tr = terminalreporter
    tr.section("reliability: bad-input corpus")
    tr.write_line(f"cases ran: {s['ran']}, passed: {s['passed']}, failed: {s['ran'] - s['passed']}")
    for cat, c in s["by_category"].items():
        tr.write_line(f"  {cat:12s} {c['passed']:4d} / {c['ran']:4d}")
    for exp, c in s["by_expectation"].items():
        tr.write_line(f"  [{exp}] {c['passed']} / {c['ran']}")
    for k in s["failed"][:20]:
        tr.write_line(f"  FAILED {k}: {corpus.CASES[k]['detail']}")
    try:
        COUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        COUNTS_FILE.write_text(json.dumps(s, indent=1))
        tr.write_line(f"written to {COUNTS_FILE.relative_to(ROOT)}")
    except OSError as exc:
        tr.write_line(f"could not write {COUNTS_FILE}: {exc}")
