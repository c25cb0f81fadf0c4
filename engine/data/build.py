"""Building a Dataset from its arrays, writing / reading its arrays on disk (.npz and JSON, never
pickle), and the one atomic folder swap (with its crash recovery) that dataset caches, user
imports and the model store share.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp

from engine.data.pseudotext import pseudo_texts, word_order
from engine.types import Dataset, Split

OLD_PREFIX, TMP_PREFIX = ".old-", ".tmp-"


def build_dataset(name, feature_names, label_names, Xtr, Ytr, Xte, Yte, kind, is_sample, checksums, note="",
                  warnings=(), texts: tuple[list[str], list[str]] | None = None) -> Dataset:
    """A Dataset from X (n, d) / Y (n, L) csr per split. Text comes from ``texts`` (train, test) when
    the data has real text (a CSV), else, for word-presence data (kind "text"), pseudo-text."""
    texts_tr = texts_te = None
    if texts is not None:
        texts_tr, texts_te = list(texts[0]), list(texts[1])
    elif kind == "text":
        rank = word_order(Xtr)
        texts_tr = pseudo_texts(Xtr, feature_names, rank)
        texts_te = pseudo_texts(Xte, feature_names, rank)
    return Dataset(
        name=name,
        feature_names=list(feature_names),
        label_names=list(label_names),
        train=Split(Xtr.tocsr().astype(np.float32), Ytr.tocsr().astype(np.float32), texts_tr),
        test=Split(Xte.tocsr().astype(np.float32), Yte.tocsr().astype(np.float32), texts_te),
        kind=kind,
        is_sample=is_sample,
        checksums=dict(checksums),
        description=note,
        warnings=list(warnings),
    )


def write_split_arrays(folder: Path, ds: Dataset, real_text: bool = False) -> None:
    """Write both splits' X / Y as .npz and the dataset's meta.json into ``folder``; with
    ``real_text`` also the texts (an uploaded CSV's; pseudo-text is rebuilt on load)."""
    folder = Path(folder)
    for part, s in (("train", ds.train), ("test", ds.test)):
        sp.save_npz(folder / f"{part}_X.npz", s.X)
        sp.save_npz(folder / f"{part}_Y.npz", s.Y)
        if real_text:
            (folder / f"{part}_texts.json").write_text(json.dumps(s.texts))
    meta = {k: getattr(ds, k) for k in ("name", "feature_names", "label_names", "kind", "is_sample", "checksums",
                                         "description", "warnings")}
    meta["real_text"] = real_text
    (folder / "meta.json").write_text(json.dumps(meta))


def read_split_arrays(folder: Path) -> Dataset:
    """The Dataset written by ``write_split_arrays`` (raises on missing or damaged files)."""
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    X = {p: sp.load_npz(folder / f"{p}_X.npz").tocsr() for p in ("train", "test")}
    Y = {p: sp.load_npz(folder / f"{p}_Y.npz").tocsr() for p in ("train", "test")}
    # older user imports marked real text only by the texts files being there
    real_text = meta.get("real_text", (folder / "train_texts.json").is_file())
    texts = None
    if real_text:
        texts = tuple(json.loads((folder / f"{p}_texts.json").read_text()) for p in ("train", "test"))
    return build_dataset(meta["name"], meta["feature_names"], meta["label_names"], X["train"], Y["train"], X["test"],
                         Y["test"], "text" if real_text else meta["kind"], meta["is_sample"], meta["checksums"],
                         meta.get("description", ""), meta.get("warnings", []), texts=texts)


def write_folder_atomic(final: Path, fill: Callable[[Path], None]) -> None:
    """Make ``final`` hold exactly what ``fill(tmp)`` writes into a fresh temporary folder beside it:
    readers see the old folder or the new one, never a mix. A crash between the two renames leaves
    ``.old-<name>-*`` only, which ``recover_folders`` puts back."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f"{TMP_PREFIX}{final.name}-"))
    try:
        fill(tmp)
        swap_into_place(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def swap_into_place(tmp: Path, final: Path) -> None:
    """Rename a complete ``tmp`` folder to ``final``; the previous ``final`` is moved aside first and
    removed once the new one is in place."""
    old = None
    if final.exists():
        old = final.parent / f"{OLD_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def recover_folders(root: Path, complete: Callable[[Path], bool]) -> None:
    """After a crash between the two renames of ``swap_into_place``: where ``<name>`` is missing or
    incomplete (``complete(folder)`` false) and ``.old-<name>-*`` is there, put the old one back;
    an ``.old-`` whose ``<name>`` is complete is a leftover and is removed."""
    root = Path(root)
    if not root.is_dir():
        return
    for p in sorted(root.iterdir()):
        if not p.name.startswith(OLD_PREFIX):
            continue
        rest = p.name[len(OLD_PREFIX):]
        # ".old-<name>-<8 hex>"; older user imports wrote ".old-<name>"
        name = rest.rsplit("-", 1)[0] if re.fullmatch(r".+-[0-9a-f]{8}", rest) else rest
        target = root / name
        if complete(target):
            shutil.rmtree(p, ignore_errors=True)
            continue
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(p, target)
