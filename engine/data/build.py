"""Building a Dataset from its arrays, and writing / reading its arrays on disk (.npz and JSON,
never pickle). Whole folders are swapped in with engine/atomic.py's write_folder_atomic."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from engine.data.pseudotext import pseudo_texts, word_order
from engine.types import Dataset, Split

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
    if not meta["checksums"]:  # an import: its stored files are its identity (a re-import is another dataset)
        from engine.data.download import sha256_of

        meta["checksums"] = {p.name: sha256_of(p) for p in sorted(folder.iterdir()) if p.is_file()}
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
