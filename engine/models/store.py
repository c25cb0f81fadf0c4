"""The model store: atomic saves with a manifest, listing, loading, and crash recovery.

Layout: ``<model_dir>/<dataset>/<model_id>/`` holding the model's files and ``manifest.json``
(dataset + checksums, family, params, seed, library versions, metrics, training time). A save
writes into ``.tmp-*`` beside the target and renames it into place, so a crash mid-save leaves
the previous model loadable; leftovers are cleaned on the next listing.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.atomic import write_text_atomic
from engine.errors import InputError, ModelError
from engine.paths import model_dir

MANIFEST = "manifest.json"
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
LIBRARIES = ("libpecos", "torch", "transformers", "numpy", "scipy", "scikit-learn")


def library_versions() -> dict[str, str]:
    out = {}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return out


def family_class(family: str):
    if family == "xlinear":
        from engine.models.xlinear import XLinearXMC

        return XLinearXMC
    if family == "xtransformer":
        from engine.models.xtransformer import XTransformerXMC

        return XTransformerXMC
    if family == "smoothed":
        from engine.robust.smoothing import SmoothedXMC

        return SmoothedXMC
    raise ModelError(f"unknown model family {family!r} in a manifest.")


@dataclass(frozen=True)
class ModelInfo:
    dataset: str
    model_id: str
    path: Path
    manifest: dict

    @property
    def family(self) -> str:
        return self.manifest.get("family", "")

    @property
    def metrics(self) -> dict:
        return self.manifest.get("metrics", {})


def _check_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InputError(f"invalid {kind} {value!r}: use letters, digits, '.', '_' or '-' (max 80).")
    return value


class ModelStore:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else model_dir()

    def folder(self, dataset: str, model_id: str) -> Path:
        return self.root / _check_id("dataset name", dataset) / _check_id("model id", model_id)

    def save(self, model, dataset: str, model_id: str, manifest: dict[str, Any]) -> ModelInfo:
        """Write model + manifest atomically; the previous model with this id stays until the swap."""
        final = self.folder(dataset, model_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".tmp-{model_id}-"))
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
            }
            _write_json_atomic(tmp / MANIFEST, full)
            old = None
            if final.exists():
                old = final.parent / f".old-{model_id}-{uuid.uuid4().hex[:8]}"
                os.replace(final, old)
            os.replace(tmp, final)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return ModelInfo(dataset, model_id, final, full)

    def recover(self, dataset: str) -> None:
        """Remove half-written saves; restore a model whose swap was interrupted."""
        d = self.root / dataset
        if not d.is_dir():
            return
        for p in d.iterdir():
            if p.name.startswith(".tmp-"):
                shutil.rmtree(p, ignore_errors=True)
        for p in d.iterdir():
            if p.name.startswith(".old-"):
                model_id = p.name[len(".old-"):].rsplit("-", 1)[0]
                if not (d / model_id / MANIFEST).exists():
                    if (d / model_id).exists():
                        shutil.rmtree(d / model_id, ignore_errors=True)
                    os.replace(p, d / model_id)
                else:
                    shutil.rmtree(p, ignore_errors=True)

    def list(self, dataset: str | None = None) -> list[ModelInfo]:
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
                try:
                    out.append(ModelInfo(ds, p.name, p, json.loads((p / MANIFEST).read_text())))
                except (OSError, json.JSONDecodeError):
                    continue  # unreadable manifest: not offered
        return out

    def info(self, dataset: str, model_id: str) -> ModelInfo:
        p = self.folder(dataset, model_id)
        self.recover(dataset)
        if not (p / MANIFEST).is_file():
            have = ", ".join(i.model_id for i in self.list(dataset)) or "none"
            raise ModelError(f"no saved model {model_id!r} for {dataset}; available: {have}. "
                             f"Train it with: python -m engine train --dataset {dataset} --model {model_id.split('-')[0]}")
        try:
            return ModelInfo(dataset, model_id, p, json.loads((p / MANIFEST).read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f"model {dataset}/{model_id} has an unreadable manifest ({exc}); retrain it.") from None

    def load(self, dataset: str, model_id: str):
        info = self.info(dataset, model_id)
        try:
            return family_class(info.family).load(info.path)
        except ModelError:
            raise
        except Exception as exc:  # a damaged model folder: say so, never crash the caller
            raise ModelError(f"model {dataset}/{model_id} could not be loaded ({type(exc).__name__}: {exc}); "
                             "retrain it.") from None

    def update_manifest(self, dataset: str, model_id: str, **fields) -> ModelInfo:
        info = self.info(dataset, model_id)
        manifest = {**info.manifest, **fields}
        _write_json_atomic(info.path / MANIFEST, manifest)
        return ModelInfo(dataset, model_id, info.path, manifest)


def _write_json_atomic(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=1, sort_keys=True, default=str), fsync=True)
