"""The model store: atomic saves with a manifest, listing, verified loading, and crash recovery.

Layout: ``<model_dir>/<dataset>/<model_id>/`` holding the model's files and ``manifest.json``
(dataset + checksums, family, params, seed, library versions, metrics, training time, and the
sha256 of every other file in the folder). A load first checks that the folder holds exactly the
files the manifest names, byte for byte, so no library (PECOS unpickles one file with torch)
ever reads a file XTrust did not write.

A save writes into ``.tmp-<id>+<pid>+<start>+*`` beside the target and renames it into place under
a lock on the dataset folder, so a crash mid-save leaves the previous model loadable. The writer's
pid and process start time in the name tell a listing whether the writer still runs: only folders
whose writer is gone are cleaned up (pid + start time, so a reused pid is not taken for the writer).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.atomic import new_temp_folder, recover_folders, swap_into_place, write_text_atomic
from engine.errors import InputError, ModelError
from engine.models.families import FAMILIES, family_of_manifest, train_command
from engine.paths import MODEL_DIR_NAME, ensure_writable_dir, model_dir

MANIFEST = "manifest.json"
CHECKSUMS = "file_checksums"    # manifest key: {path relative to the model folder: sha256 hex}
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")   # always fullmatch: "name\n" is not a name
LIBRARIES = ("libpecos", "torch", "transformers", "numpy", "scipy", "scikit-learn")
NO_CHECKSUMS = ("saved before XTrust recorded file checksums, so its files cannot be verified "
                "(a planted file could run code when loaded)")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def library_versions() -> dict[str, str]:
    out = {}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return out


@dataclass(frozen=True)
class ModelInfo:
    """A saved model. ``damaged`` is None for a usable one, else why it cannot be loaded (its
    ``manifest`` is then {})."""

    dataset: str
    model_id: str
    path: Path
    manifest: dict
    damaged: str | None = None

    @property
    def family(self) -> str:
        return self.manifest.get("family", "")

    @property
    def metrics(self) -> dict:
        return self.manifest.get("metrics", {})


def _check_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise InputError(f"invalid {kind} {value!r}: use letters, digits, '.', '_' or '-' (max 80).")
    return value


def _retrain_hint(dataset: str, model_id: str) -> str:
    cmd = train_command(dataset, model_id)
    return f"Train it with: {cmd}" if cmd else "Train it again under this id."


# -- manifest schema -----------------------------------------------------------------------------
def _json_type(value) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def manifest_problem(m: Any) -> str | None:
    """Why a parsed manifest is unusable (wrong shape or types, no checksum table), or None."""
    if not isinstance(m, dict):
        return f"its manifest is {_json_type(m)}, not an object"
    for key in ("dataset", "model_id", "family", "created", "input_kind"):
        if not isinstance(m.get(key), str):
            return f"its manifest's {key!r} is {'missing' if key not in m else _json_type(m[key])}, not a string"
    if m["family"] not in FAMILIES:
        return f"its manifest names an unknown model family {m['family']!r}"
    if not isinstance(m.get("n_labels"), int) or isinstance(m["n_labels"], bool) or m["n_labels"] < 1:
        return f"its manifest's 'n_labels' is {m.get('n_labels')!r}, not a positive integer"
    metrics = m.get("metrics", {})
    if not isinstance(metrics, dict):
        return f"its manifest's 'metrics' is {_json_type(metrics)}, not an object"
    bad = [k for k, v in metrics.items() if not (v is None or _is_number(v))]
    if bad:
        return f"its manifest's metric {bad[0]!r} is {_json_type(metrics[bad[0]])}, not a number"
    for key in ("params", "library_versions"):
        if key in m and not isinstance(m[key], dict):
            return f"its manifest's {key!r} is {_json_type(m[key])}, not an object"
    for key in ("variant",):
        if key in m and not isinstance(m[key], str):
            return f"its manifest's {key!r} is {_json_type(m[key])}, not a string"
    if m.get("train_seconds") is not None and not _is_number(m["train_seconds"]):
        return f"its manifest's 'train_seconds' is {_json_type(m['train_seconds'])}, not a number"
    if CHECKSUMS not in m:
        return NO_CHECKSUMS
    sums = m[CHECKSUMS]
    if not isinstance(sums, dict) or not sums or not all(
            isinstance(k, str) and isinstance(v, str) and _SHA256.fullmatch(v) for k, v in sums.items()):
        return "its manifest's file checksum table is malformed"
    return None


def _read_manifest(folder: Path) -> tuple[dict, str | None]:
    """(manifest, None) for a usable manifest, else ({}, why it is damaged)."""
    try:
        m = json.loads((folder / MANIFEST).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, f"its manifest cannot be read ({type(exc).__name__}: {exc})"
    problem = manifest_problem(m)
    return ({}, problem) if problem else (m, None)


# -- file checksums ------------------------------------------------------------------------------
def _model_files(folder: Path) -> list[str]:
    """Paths (relative, '/'-separated) of every file under ``folder`` except the manifest.
    A link or a special file is refused: XTrust writes neither."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            if p.is_symlink() or not (p.is_dir() or p.is_file()):
                raise ModelError(f"{p.relative_to(folder).as_posix()} in {folder} is a link or a special file, "
                                 "which XTrust never writes; the model is not loaded.")
        out += [Path(dirpath, n).relative_to(folder).as_posix() for n in filenames]
    return sorted(r for r in out if r != MANIFEST)


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def file_checksums(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file of a model folder but its manifest."""
    return {rel: _sha256(folder / rel) for rel in _model_files(folder)}


def _listed(names: list[str], n: int = 5) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


class ModelStore:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else model_dir()

    def check_writable(self) -> None:
        """StorageError now, before minutes of training, when this store's folder cannot take a model."""
        ensure_writable_dir(self.root, MODEL_DIR_NAME)

    def folder(self, dataset: str, model_id: str) -> Path:
        return self.root / _check_id("dataset name", dataset) / _check_id("model id", model_id)

    def save(self, model, dataset: str, model_id: str, manifest: dict[str, Any], source=None) -> ModelInfo:
        """Write model + manifest (with the sha256 of every file) atomically; the previous model with
        this id stays until the swap. source: the imported Dataset the model was trained on, as
        ``engine.data.catalog.import_of`` gave it before training; deleted or replaced meanwhile, it is refused
        just before the swap (nothing is saved)."""
        final = self.folder(dataset, model_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = new_temp_folder(final)
        try:
            model.save(tmp)
            full = {
                "dataset": dataset,
                "model_id": model_id,
                "family": model.family,
                "n_labels": model.n_labels,
                "input_kind": model.input_kind,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "library_versions": library_versions(),
                **manifest,
                CHECKSUMS: file_checksums(tmp),
            }
            problem = manifest_problem(json.loads(json.dumps(full, default=str)))
            if problem:
                raise ModelError(f"model {dataset}/{model_id} was not saved: {problem}.")
            _write_json_atomic(tmp / MANIFEST, full)
            if source is not None:  # last, so that a delete during the long training is seen
                from engine.data.catalog import check_unchanged

                check_unchanged(source)
            swap_into_place(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return ModelInfo(dataset, model_id, final, full)

    def recover(self, dataset: str) -> None:
        """Remove saves whose writer is gone; restore a model whose swap was interrupted. A save or
        swap still running in another process is left alone (engine/atomic.py)."""
        recover_folders(self.root / dataset, complete=lambda p: (p / MANIFEST).exists(),
                        valid_name=lambda name: bool(ID_PATTERN.fullmatch(name)))

    def list(self, dataset: str | None = None, include_damaged: bool = False) -> list[ModelInfo]:
        """Saved models (sorted by dataset, id). Damaged ones (unreadable or malformed manifest, saved
        without checksums) only with ``include_damaged``, their reason in ``ModelInfo.damaged``.
        The files' checksums are checked on load, not here."""
        out = []
        if not self.root.is_dir():
            return out
        datasets = [dataset] if dataset else sorted(p.name for p in self.root.iterdir() if p.is_dir())
        for ds in datasets:
            self.recover(ds)
            d = self.root / ds
            if not d.is_dir():
                continue
            for p in sorted(d.iterdir()):
                if p.name.startswith(".") or not (p / MANIFEST).is_file():
                    continue
                manifest, damaged = _read_manifest(p)
                if damaged is None or include_damaged:
                    out.append(ModelInfo(ds, p.name, p, manifest, damaged))
        return out

    def info(self, dataset: str, model_id: str) -> ModelInfo:
        """A usable model's info; ModelError when it is missing or damaged (naming why)."""
        p = self.folder(dataset, model_id)
        self.recover(dataset)
        if not (p / MANIFEST).is_file():
            have = ", ".join(i.model_id for i in self.list(dataset)) or "none"
            raise ModelError(f"no saved model {model_id!r} for {dataset}; available: {have}. "
                             + _retrain_hint(dataset, model_id))
        manifest, damaged = _read_manifest(p)
        if damaged:
            raise ModelError(f"model {dataset}/{model_id} cannot be used: {damaged}. "
                             + _retrain_hint(dataset, model_id))
        return ModelInfo(dataset, model_id, p, manifest)

    def verify(self, info: ModelInfo) -> None:
        """Refuse a model folder whose files differ from those its manifest recorded at save time:
        an extra file (a planted pickle), a missing one, or one with a changed byte."""
        expected = info.manifest[CHECKSUMS]
        name = f"model {info.dataset}/{info.model_id}"
        present = _model_files(info.path)
        extra = sorted(set(present) - set(expected))
        if extra:
            raise ModelError(f"{name} holds files XTrust did not write ({_listed(extra)}); it is not loaded. "
                             "Remove them or retrain the model.")
        missing = sorted(set(expected) - set(present))
        if missing:
            raise ModelError(f"{name} is missing files ({_listed(missing)}); retrain it.")
        changed = [rel for rel in sorted(expected) if _sha256(info.path / rel) != expected[rel]]
        if changed:
            raise ModelError(f"{name} has files changed since it was saved ({_listed(changed)}); "
                             "it is not loaded. Retrain it.")

    def load(self, dataset: str, model_id: str):
        """The model, after its files are verified against the manifest's checksums."""
        info = self.info(dataset, model_id)
        self.verify(info)
        try:
            return family_of_manifest(info.family).model_class().load(info.path)
        except ModelError:
            raise
        except Exception as exc:  # a damaged model folder: say so, never crash the caller
            raise ModelError(f"model {dataset}/{model_id} could not be loaded ({type(exc).__name__}: {exc}); "
                             "retrain it.") from None

    def update_manifest(self, dataset: str, model_id: str, **fields) -> ModelInfo:
        info = self.info(dataset, model_id)
        manifest = {**info.manifest, **fields, CHECKSUMS: info.manifest[CHECKSUMS]}
        problem = manifest_problem(json.loads(json.dumps(manifest, default=str)))
        if problem:
            raise InputError(f"manifest of {dataset}/{model_id} not updated: {problem}.")
        _write_json_atomic(info.path / MANIFEST, manifest)
        return ModelInfo(dataset, model_id, info.path, manifest)


def _write_json_atomic(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=1, sort_keys=True, default=str), fsync=True)
