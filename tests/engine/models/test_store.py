import contextlib
import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from engine.errors import InputError, ModelError
from engine.models.store import ModelStore, file_checksums
from tests.helpers import dead_writer_tag


def test_save_list_load_and_manifest(small_xlinear, tmp_path, bibtex):
    store = ModelStore(tmp_path)
    info = store.save(small_xlinear, "bibtex", "xlinear", {"params": {"C": 1.0}, "seed": 0, "metrics": {"P@1": 0.5}})
    m = json.loads((info.path / "manifest.json").read_text())
    assert m["family"] == "xlinear" and m["seed"] == 0 and "libpecos" in m["library_versions"]
    assert [i.model_id for i in store.list("bibtex")] == ["xlinear"]
    again = store.load("bibtex", "xlinear")
    np.testing.assert_allclose(again.score_labels(bibtex.test.texts[:3], [1, 2]),
                               small_xlinear.score_labels(bibtex.test.texts[:3], [1, 2]))


def test_overwrite_is_atomic_and_recovery(small_xlinear, tmp_path):
    store = ModelStore(tmp_path)
    store.save(small_xlinear, "bibtex", "xlinear", {"metrics": {"P@1": 0.1}})
    store.save(small_xlinear, "bibtex", "xlinear", {"metrics": {"P@1": 0.2}})
    assert store.info("bibtex", "xlinear").metrics["P@1"] == 0.2
    assert sorted(p.name for p in (tmp_path / "bibtex").iterdir()) == ["xlinear"]
    # a crash between the two renames of a swap: only .old-* remains -> restored
    dead = dead_writer_tag()
    os.replace(tmp_path / "bibtex" / "xlinear", tmp_path / "bibtex" / f".old-xlinear+{dead}+abcd1234")
    (tmp_path / "bibtex" / f".tmp-xlinear+{dead}+zz").mkdir()
    assert [i.model_id for i in store.list("bibtex")] == ["xlinear"]
    assert sorted(p.name for p in (tmp_path / "bibtex").iterdir()) == ["xlinear"]
    store.load("bibtex", "xlinear")  # the restored folder still verifies


def test_only_leftovers_of_gone_writers_are_removed(small_xlinear, tmp_path):
    store = ModelStore(tmp_path)
    store.save(small_xlinear, "bibtex", "xlinear", {})
    d = tmp_path / "bibtex"
    me = psutil.Process()
    mine = d / f".tmp-xlinear+{me.pid}+{round(me.create_time() * 100)}+abc"        # a save in progress here
    reused = d / f".tmp-xlinear+{me.pid}+{round(me.create_time() * 100) - 500}+abc"  # same pid, other process
    dead = d / f".tmp-xlinear+{dead_writer_tag()}+abc"
    legacy_fresh, legacy_stale = d / ".tmp-xlinear-fresh", d / ".tmp-xlinear-stale"
    for p in (mine, reused, dead, legacy_fresh, legacy_stale):
        p.mkdir()
    os.utime(legacy_stale, (time.time() - 2 * 3600,) * 2)
    assert [i.model_id for i in store.list("bibtex")] == ["xlinear"]
    assert sorted(p.name for p in d.iterdir()) == sorted(["xlinear", mine.name, legacy_fresh.name])


def test_names_with_a_trailing_newline_are_refused(tmp_path):
    store = ModelStore(tmp_path)
    for dataset, model_id in (("bibtex", "xlinear\n"), ("bibtex\n", "xlinear"), ("bibtex", "xlinear\n\n")):
        with pytest.raises(InputError, match="invalid"):
            store.folder(dataset, model_id)
    assert not tmp_path.exists() or not any(tmp_path.rglob("*\n*"))


@pytest.mark.parametrize("model_id, command", [
    ("xlinear", "--model xlinear"), ("xtransformer", "--model xtransformer"),
    ("xlinear-robust", "--model xlinear --robust"), ("xtransformer-robust", "--model xtransformer --robust"),
    ("xlinear-smoothed", "--model xlinear --smoothed"),
    ("xtransformer-robust-smoothed", "--model xtransformer --robust --smoothed"),
])
def test_missing_model_hint_names_the_right_train_command(tmp_path, model_id, command):
    with pytest.raises(ModelError) as err:
        ModelStore(tmp_path).load("bibtex", model_id)
    assert str(err.value).endswith(f"Train it with: python -m engine train --dataset bibtex {command}")


def test_missing_model_with_an_id_no_command_makes(tmp_path):
    with pytest.raises(ModelError) as err:
        ModelStore(tmp_path).load("bibtex", "xlinear-tuned")
    assert "python -m engine train" not in str(err.value) and "xlinear-tuned" in str(err.value)


GOOD_METRICS = {"P@1": 0.5}
DAMAGED = {  # manifest text -> words the reason must hold
    "[]": "array",
    '{"family": 3}': "'dataset'",
    "{not json": "cannot be read",
    "FAMILY3": "'family' is a number",
    "METRICS_STRING": "'metrics' is a string",
    "METRIC_STRING": "metric 'P@1' is a string",
    "NO_CHECKSUMS": "before XTrust recorded file checksums",
}


def _damage(folder, kind: str) -> None:
    m = json.loads((folder / "manifest.json").read_text())
    text = {"FAMILY3": lambda: json.dumps({**m, "family": 3}),
            "METRICS_STRING": lambda: json.dumps({**m, "metrics": "great"}),
            "METRIC_STRING": lambda: json.dumps({**m, "metrics": {"P@1": "0.5"}}),
            "NO_CHECKSUMS": lambda: json.dumps({k: v for k, v in m.items() if k != "file_checksums"}),
            }.get(kind, lambda: kind)()
    (folder / "manifest.json").write_text(text)


@pytest.mark.parametrize("kind", list(DAMAGED))
def test_a_damaged_manifest_is_listed_as_damaged_and_refused(small_xlinear, tmp_path, kind):
    store = ModelStore(tmp_path)
    store.save(small_xlinear, "bibtex", "xlinear", {"metrics": GOOD_METRICS})
    bad = store.save(small_xlinear, "bibtex", "xlinear-robust", {"metrics": GOOD_METRICS})
    _damage(bad.path, kind)
    assert [i.model_id for i in store.list("bibtex")] == ["xlinear"]  # what callers that cannot use it see
    listed = {i.model_id: i for i in store.list("bibtex", include_damaged=True)}
    assert listed["xlinear"].damaged is None and listed["xlinear"].metrics == GOOD_METRICS
    assert DAMAGED[kind] in listed["xlinear-robust"].damaged and listed["xlinear-robust"].manifest == {}
    with pytest.raises(ModelError) as err:
        store.load("bibtex", "xlinear-robust")
    assert DAMAGED[kind] in str(err.value) and "--model xlinear --robust" in str(err.value)
    store.load("bibtex", "xlinear").predict(["learning graphs"], 3)  # the good one keeps working


def test_manifest_records_a_checksum_of_every_file(small_xlinear, tmp_path):
    info = ModelStore(tmp_path).save(small_xlinear, "bibtex", "xlinear", {})
    sums = info.manifest["file_checksums"]
    files = sorted(p.relative_to(info.path).as_posix() for p in info.path.rglob("*") if p.is_file())
    assert sorted(sums) == [f for f in files if f != "manifest.json"] and "labels.json" in sums
    assert sums["labels.json"] == hashlib.sha256((info.path / "labels.json").read_bytes()).hexdigest()


def test_extra_changed_missing_or_linked_files_are_refused(small_xlinear, tmp_path):
    store = ModelStore(tmp_path)
    info = store.save(small_xlinear, "bibtex", "xlinear", {})
    weights = sorted((info.path / "xlinear").rglob("*.npz"))[0]
    original = weights.read_bytes()

    (info.path / "xlinear" / "extra.pkl").write_bytes(b"x")
    with pytest.raises(ModelError, match="did not write.*extra.pkl"):
        store.load("bibtex", "xlinear")
    (info.path / "xlinear" / "extra.pkl").unlink()

    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0x01  # one bit of one byte
    weights.write_bytes(bytes(changed))
    with pytest.raises(ModelError, match="changed since it was saved"):
        store.load("bibtex", "xlinear")

    weights.unlink()
    with pytest.raises(ModelError, match="missing files"):
        store.load("bibtex", "xlinear")
    (tmp_path / "elsewhere.npz").write_bytes(original)
    weights.symlink_to(tmp_path / "elsewhere.npz")  # same bytes, but not a file XTrust wrote
    with pytest.raises(ModelError, match="link"):
        store.load("bibtex", "xlinear")
    weights.unlink()
    weights.write_bytes(original)
    store.load("bibtex", "xlinear")


def _evil_pickle(marker: Path) -> bytes:
    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    return pickle.dumps(Evil())


@pytest.mark.slow
def test_planted_pickle_in_an_xtransformer_folder_never_runs(xtf_model, tmp_path):
    from pecos.xmc.xtransformer.matcher import TransformerMatcher

    from engine.models.xtransformer import XTransformerXMC

    store = ModelStore(tmp_path / "store")
    info = store.save(xtf_model, "bibtex", "xtransformer", {})
    matcher_dir = info.path / "xtransformer" / "text_encoder"
    marker = tmp_path / "pwned"
    # PECOS' TransformerMatcher.load torch.load(weights_only=False)s <matcher dir>/text_model, if present
    (matcher_dir / "text_model").write_bytes(_evil_pickle(marker))
    with contextlib.suppress(Exception):   # the control: PECOS' own loader does run it
        TransformerMatcher.load(str(matcher_dir))
    assert marker.exists(), "the planted pickle is not where PECOS reads it: the test proves nothing"
    marker.unlink()

    with pytest.raises(ModelError, match="did not write.*text_model"):
        store.load("bibtex", "xtransformer")
    with pytest.raises(ModelError, match="pickle"):
        XTransformerXMC.load(info.path)  # the family's own loader refuses it too, store or not
    assert not marker.exists()

    (matcher_dir / "text_model").unlink()
    weights = next(p for p in (matcher_dir / "text_encoder").iterdir() if p.suffix in (".safetensors", ".bin"))
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="changed since it was saved.*text_encoder"):
        store.load("bibtex", "xtransformer")
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    t0 = time.perf_counter()
    store.load("bibtex", "xtransformer").predict(["learning graphs"], 3)
    assert time.perf_counter() - t0 < 60


def test_unknown_and_corrupt(small_xlinear, tmp_path):
    store = ModelStore(tmp_path)
    with pytest.raises(ModelError, match="python -m engine train"):
        store.load("bibtex", "xlinear")
    with pytest.raises(InputError):
        store.folder("bibtex", "../../etc")
    info = store.save(small_xlinear, "bibtex", "xlinear", {})
    (info.path / "xlinear").rename(info.path / "gone")
    with pytest.raises(ModelError, match="did not write"):  # the files differ from the manifest's
        store.load("bibtex", "xlinear")
    # a folder whose checksums agree but which its library cannot read: a clear error, not a traceback
    m = json.loads((info.path / "manifest.json").read_text())
    (info.path / "manifest.json").write_text(json.dumps({**m, "file_checksums": file_checksums(info.path)}))
    with pytest.raises(ModelError, match="could not be loaded"):
        store.load("bibtex", "xlinear")


@pytest.mark.slow
def test_sigkill_during_training_keeps_previous_model(tmp_path):
    """A training job killed midway leaves the previous model loadable and the store consistent."""
    script = textwrap.dedent(f"""
        import os, sys, time
        os.environ["XTRUST_MODEL_DIR"] = {str(tmp_path)!r}
        from engine import pipeline
        from engine.models import store as st
        real_save = st.ModelStore.save
        def slow_save(self, model, *a, **k):
            orig = model.save
            def save(path):
                orig(path)
                print("HALF", flush=True)
                time.sleep(60)
            model.save = save
            return real_save(self, model, *a, **k)
        if sys.argv[1] == "slow":
            st.ModelStore.save = slow_save
        pipeline.train_model("bibtex", "xlinear")
        print("DONE", flush=True)
    """)
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", script, "fast"], check=True, env=env, cwd=root, capture_output=True)
    before = json.loads((tmp_path / "bibtex/xlinear/manifest.json").read_text())["created"]
    p = subprocess.Popen([sys.executable, "-c", script, "slow"], env=env, cwd=root, stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and "HALF" not in (p.stdout.readline() or ""):
        pass
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert any(x.name.startswith(".tmp-") for x in (tmp_path / "bibtex").iterdir())
    store = ModelStore(tmp_path)
    assert [i.model_id for i in store.list("bibtex")] == ["xlinear"]  # partial save cleaned, old one kept
    assert store.info("bibtex", "xlinear").manifest["created"] == before
    store.load("bibtex", "xlinear").predict(["learning graphs"], 3)
    assert not any(x.name.startswith(".") for x in (tmp_path / "bibtex").iterdir())
