"""What a fresh server starts in the background on its first page run, so that no later page waits for it:
IBM ART's import (an import thread overlapping a page slowed the Attack page from ~1.2 s to ~4.5 s in the
browser), and Captum's once an X-Transformer is selected (engine/explain/whole_score.warm_up)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.dashboard.conftest import APP, ROOT

pytestmark = pytest.mark.slow

PROBE = r"""
import sys, threading
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.query_params.update({"dataset": "bibtex", "model": "xlinear", "page": "overview"})
at.run()
assert not at.exception, [e.value for e in at.exception]
warm = [t for t in threading.enumerate() if t.name == "xtrust-art-warm-up"]
from engine import background
print(int("art" in background._STARTED), "art.attacks.evasion" in sys.modules or bool(warm))
for t in warm:
    t.join(180)
print("art.attacks.evasion" in sys.modules)
"""


def test_the_first_page_run_of_a_server_starts_the_art_import(xtrust_dirs):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XTRUST_AUTO_TRAIN": "0"}
    out = subprocess.run([sys.executable, "-c", PROBE, APP], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-3:] == ["1", "True", "True"], out.stdout
