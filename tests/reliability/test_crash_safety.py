"""Crash safety of the on-disk caches and user-dataset imports: a killed or truncated cache write is
never served (it is ignored and recomputed), a half-written import is never listed or loaded.
(A SIGKILL during model training: tests/engine/models/test_store.py.)"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine import pipeline
from engine.data.user_data import list_user_datasets, user_root

ROOT = Path(__file__).resolve().parents[2]
CORRUPT = [b"", b"{", b'{"dataset": "bibtex", "lab', b"{}", b"null", b"[]", b"1", b'"x"', b"\x00\x00\xff",
           b'{"before": 1, "after": 2}']


def _entries(cache: Path, kind: str) -> list[Path]:
    return [p for p in (cache / kind).rglob("*.json") if not p.name.startswith(".")]


@pytest.mark.parametrize("payload", CORRUPT, ids=[repr(p)[:30] for p in CORRUPT])
def test_truncated_explanation_cache_is_recomputed(fresh_cache, payload):
    kw = dict(method="lime", top_k=2, samples=20, n_features=5, seed=3)
    first = pipeline.explain_document("bibtex", "xlinear", 4, **kw)
    (entry,) = _entries(fresh_cache, "explanations")
    entry.write_bytes(payload)  # what a write killed half-way (without temp + rename) would leave
    again = pipeline.explain_document("bibtex", "xlinear", 4, **kw)
    assert again.to_json()["labels"] == first.to_json()["labels"]
    assert json.loads(entry.read_text())["labels"] == first.to_json()["labels"], "the bad entry was rewritten"


@pytest.mark.parametrize("payload", CORRUPT, ids=[repr(p)[:30] for p in CORRUPT])
def test_truncated_attack_cache_is_recomputed(fresh_cache, payload):
    kw = dict(attack="hsj", max_iter=1, max_eval=10, seed=2)
    first = pipeline.attack_document("bibtex", "xlinear", 5, **kw)
    (entry,) = _entries(fresh_cache, "attacks")
    entry.write_bytes(payload)
    again = pipeline.attack_document("bibtex", "xlinear", 5, **kw)
    assert again.to_json() == first.to_json() or json.loads(again.to_json())["after"] == json.loads(first.to_json())["after"]
    assert json.loads(entry.read_text())["before"] == json.loads(first.to_json())["before"]


KILL_SCRIPT = r"""
import os, signal, sys
os.environ["XTRUST_MODEL_DIR"], os.environ["XTRUST_CACHE_DIR"] = sys.argv[1], sys.argv[2]
from engine import pipeline
kind = sys.argv[3]
real_fdopen = os.fdopen

class Dying:
    # a file whose first write lands half its data on disk, then the process is SIGKILLed
    def __init__(self, f): self.f = f
    def __enter__(self): return self
    def __exit__(self, *a): return False
    def write(self, s):
        self.f.write(s[: len(s) // 2]); self.f.flush(); os.fsync(self.f.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

def fdopen(fd, *a, **k):
    return Dying(real_fdopen(fd, *a, **k))

import engine.atomic as m  # every cache write goes through engine.atomic.write_text_atomic
if kind == "explain":
    m.os.fdopen = fdopen
    pipeline.explain_document("bibtex", "xlinear", 6, method="lime", top_k=2, samples=20, n_features=5, seed=1)
elif kind == "attack":
    m.os.fdopen = fdopen
    pipeline.attack_document("bibtex", "xlinear", 6, attack="hsj", max_iter=1, max_eval=10, seed=1)
elif kind == "import":
    import scipy.sparse as sp
    real = sp.save_npz
    n = [0]
    def save_npz(path, m, *a, **k):
        n[0] += 1
        if n[0] == 3:
            open(path, "wb").write(b"PK\x03\x04 half")
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, m, *a, **k)
    sp.save_npz = save_npz
    rows = "\n".join(f"text number {i},a;b" if i % 2 else f"other words {i},b;c" for i in range(30))
    pipeline.import_user_dataset(sys.argv[4], {"d.csv": ("text,labels\n" + rows + "\n").encode()})
print("not killed")
"""


def _killed(rel_dirs, cache: Path, kind: str, *extra: str) -> None:
    p = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(rel_dirs["models"]), str(cache), kind, *extra],
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == -signal.SIGKILL, (p.returncode, p.stdout[-300:], p.stderr[-1500:])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["explain", "attack"])
def test_killed_cache_write_leaves_no_entry_and_is_recomputed(rel_dirs, fresh_cache, kind):
    _killed(rel_dirs, fresh_cache, kind)
    sub = "explanations" if kind == "explain" else "attacks"
    leftovers = [p for p in (fresh_cache / sub).rglob("*") if p.is_file()]
    assert leftovers and all(p.name.startswith(".tmp-") for p in leftovers), leftovers  # only the temp file
    assert _entries(fresh_cache, sub) == []
    if kind == "explain":
        res = pipeline.explain_document("bibtex", "xlinear", 6, method="lime", top_k=2, samples=20, n_features=5, seed=1)
        assert len(res.labels) == 2
    else:
        res = pipeline.attack_document("bibtex", "xlinear", 6, attack="hsj", max_iter=1, max_eval=10, seed=1)
        assert res.before.labels
    assert len(_entries(fresh_cache, sub)) == 1


@pytest.mark.slow
def test_killed_import_is_ignored_and_the_previous_import_survives(rel_dirs, fresh_cache):
    rows = "\n".join(f"first import {i},x;y" for i in range(20))
    pipeline.import_user_dataset("rel-crash", {"d.csv": ("text,labels\n" + rows + "\n").encode()})
    _killed(rel_dirs, fresh_cache, "import", "rel-crash")   # re-import of the same name, killed mid-write
    _killed(rel_dirs, fresh_cache, "import", "rel-new")     # a first import, killed mid-write
    assert any(p.name.startswith(".tmp-") for p in user_root().iterdir()), "the half-written folder exists"
    assert list_user_datasets() == ["rel-crash"]
    ds = pipeline.load_dataset("rel-crash")
    assert ds.train.texts[0].startswith("first import") and set(ds.label_names) == {"x", "y"}
    with pytest.raises(Exception) as err:
        pipeline.load_dataset("rel-new")
    assert "rel-new" in str(err.value) and type(err.value).__name__ == "InputError"
    for p in user_root().iterdir():  # hidden half-written folders are not datasets
        if p.name.startswith("."):
            with pytest.raises(Exception) as err:
                pipeline.load_dataset(p.name)
            assert type(err.value).__name__ == "InputError"


def test_user_dataset_with_damaged_files_gives_a_data_error(rel_dirs, fresh_cache):
    rows = "\n".join(f"some words {i},x;y" for i in range(20))
    pipeline.import_user_dataset("rel-damaged", {"d.csv": ("text,labels\n" + rows + "\n").encode()})
    (user_root() / "rel-damaged" / "train_Y.npz").write_bytes(b"PK\x03\x04 truncated")
    from engine.errors import DataError

    with pytest.raises(DataError, match="rel-damaged"):
        pipeline.load_dataset("rel-damaged")
