"""A user's own data: CSV (text + labels), Mulan ARFF + label XML, or the Extreme Classification
Repository text format. Validated, split 80/20 (seeded), stored under the cache directory and then
loadable by name everywhere (``load_dataset(name)``). Files are parsed, never unpickled.
"""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from engine.data.arff import parse_arff
from engine.data.label_xml import read_label_xml
from engine.errors import DataError, InputError
from engine.paths import cache_dir

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MIN_ROWS = 10
MAX_DENSE_FEATURES = 2000
MAX_LABELS = 100_000  # an XC header's label count builds one name per label: bound it before allocating
TEST_FRACTION = 0.2
SPLIT_SEED = 0
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def user_root() -> Path:
    return cache_dir() / "user_datasets"


def recover_user_datasets(root: Path) -> None:
    """A re-import killed between its two renames leaves only ``.old-NAME``: put it back."""
    import os

    for p in root.iterdir():
        if p.name.startswith(".old-") and not (root / p.name[len(".old-"):] / "meta.json").is_file():
            target = root / p.name[len(".old-"):]
            if target.exists():
                shutil.rmtree(target, ignore_errors=True)
            os.replace(p, target)


def list_user_datasets() -> list[str]:
    root = user_root()
    if not root.is_dir():
        return []
    recover_user_datasets(root)
    return sorted(p.name for p in root.iterdir() if (p / "meta.json").is_file() and not p.name.startswith("."))


def check_name(name: str) -> str:
    from engine.data.dataset import DATASETS

    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InputError(f"dataset name {name!r} is not allowed: use 1-40 lowercase letters, digits, '_' or '-'.")
    if name in DATASETS:
        raise InputError(f"{name!r} is a built-in dataset name; choose another.")
    return name


def _decode(data: bytes, filename: str) -> str:
    if not data:
        raise DataError(f"{filename}: the file is empty.")
    if b"\x00" in data[:4096]:
        raise DataError(f"{filename}: this is a binary file, not text.")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataError(f"{filename}: cannot decode the text (not UTF-8 or Windows-1252).")


def parse_csv(data: bytes, filename: str, text_column: str | None, label_column: str | None,
              label_separator: str | None):
    """-> (texts, label lists). Columns default to 'text' and 'labels'; labels split on ';' by default."""
    import pandas as pd

    text = _decode(data, filename)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"{filename}: malformed CSV ({str(exc).splitlines()[0]}).") from None
    tcol, lcol = text_column or "text", label_column or "labels"
    for col, what in ((tcol, "text"), (lcol, "label")):
        if col not in df.columns:
            raise DataError(f"{filename}: no {what} column {col!r}; columns are: {', '.join(map(str, df.columns))}.")
    if "id" in df.columns and df["id"].duplicated().any():
        dup = df["id"][df["id"].duplicated()].iloc[0]
        raise DataError(f"{filename}: duplicate id {dup!r} in the 'id' column.")
    sep = label_separator or ";"
    texts = [str(t) for t in df[tcol]]
    labels = [[x.strip() for x in str(v).split(sep) if x.strip()] for v in df[lcol]]
    empty = [i + 2 for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise DataError(f"{filename}: {len(empty)} row(s) have empty text (first at line {empty[0]}).")
    return texts, labels


def parse_xc(data: bytes, filename: str):
    """Extreme Classification Repository format: header 'N F L', then 'l1,l2 f:v f:v' per line."""
    lines = [ln for ln in _decode(data, filename).splitlines() if ln.strip()]
    if not lines:
        raise DataError(f"{filename}: the file is empty.")
    try:
        n, f, L = (int(x) for x in lines[0].split())
    except ValueError:
        raise DataError(f"{filename}: first line must be 'n_rows n_features n_labels' (XC format).") from None
    if n < 0 or f < 1 or L < 1:
        raise DataError(f"{filename}: header 'n_rows n_features n_labels' must have n_rows >= 0 and at least "
                        f"1 feature and 1 label, got {n} {f} {L}.")
    if L > MAX_LABELS:
        raise DataError(f"{filename}: header says {L:,} labels; XTrust reads at most {MAX_LABELS:,} labels.")
    if len(lines) - 1 != n:
        raise DataError(f"{filename}: header says {n} rows but {len(lines) - 1} follow.")
    if f > MAX_DENSE_FEATURES:
        raise DataError(f"{filename}: {f} features; XTrust reads XC-format files with at most {MAX_DENSE_FEATURES} "
                        "features (dense). For text, upload a CSV with the raw text instead.")
    rows, cols, vals, yr, yc = [], [], [], [], []
    for i, ln in enumerate(lines[1:]):
        parts = ln.split()
        lab = parts[0] if parts and ":" not in parts[0] else ""
        feats = parts[1:] if lab or (parts and ":" not in parts[0]) else parts
        try:
            for x in filter(None, lab.split(",")):
                j = int(x)
                if not 0 <= j < L:
                    raise ValueError(f"label {j} outside 0..{L - 1}")
                yr.append(i)
                yc.append(j)
            for fv in feats:
                k, v = fv.split(":")
                k = int(k)
                if not 0 <= k < f:
                    raise ValueError(f"feature {k} outside 0..{f - 1}")
                v = float(v)
                if not np.isfinite(v):
                    raise ValueError(f"feature {k} has the non-finite value {v}")
                rows.append(i)
                cols.append(k)
                vals.append(v)
        except ValueError as exc:
            raise DataError(f"{filename}: line {i + 2}: {exc}.") from None
    X = sp.csr_matrix((vals, (rows, cols)), shape=(n, f), dtype=np.float32)
    Y = sp.csr_matrix((np.ones(len(yr), dtype=np.float32), (yr, yc)), shape=(n, L))
    return X, Y, [f"f{k}" for k in range(f)], [f"label{j}" for j in range(L)]


def _looks_like_words(names: list[str], X: sp.csr_matrix) -> bool:
    binary = X.nnz == 0 or np.isin(np.unique(X.data), (0.0, 1.0)).all()
    wordy = np.mean([bool(re.fullmatch(r"[A-Za-z_][\w]*", n)) for n in names]) > 0.8
    return bool(binary and wordy)


def import_user_dataset(name: str, files: dict[str, bytes], text_column: str | None = None,
                        label_column: str | None = None, label_separator: str | None = None):
    """Parse uploaded files, validate, split 80/20 (seed 0), store, and return the Dataset.

    files: {filename: content}. One .csv; or one .arff + its label .xml; or one XC .txt file.
    """
    from engine.data.dataset import _build

    name = check_name(name)
    if not files:
        raise DataError("no file uploaded.")
    for fn, data in files.items():
        if not isinstance(data, (bytes, bytearray)):
            raise DataError(f"{fn}: expected file bytes.")
        if len(data) > MAX_UPLOAD_BYTES:
            raise DataError(f"{fn}: {len(data) / 1e6:.1f} MB is over the {MAX_UPLOAD_BYTES // 2**20} MB upload limit.")
    by_ext = {Path(fn).suffix.lower(): (fn, bytes(d)) for fn, d in files.items()}
    if ".csv" in by_ext:
        fn, data = by_ext[".csv"]
        texts, label_lists = parse_csv(data, fn, text_column, label_column, label_separator)
        label_names = sorted({x for ls in label_lists for x in ls})
        index = {x: j for j, x in enumerate(label_names)}
        rows = [i for i, ls in enumerate(label_lists) for _ in ls]
        cols = [index[x] for ls in label_lists for x in ls]
        Y = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(texts), len(label_names)))
        X = sp.csr_matrix((len(texts), 0), dtype=np.float32)
        feature_names, kind = [], "text"
    elif ".arff" in by_ext:
        if ".xml" not in by_ext:
            raise DataError("an ARFF upload needs its Mulan label XML file too (the .xml naming the labels).")
        xml_fn, xml = by_ext[".xml"]
        tmp = user_root() / ".incoming"
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "labels.xml").write_bytes(xml)
        try:
            label_names = read_label_xml(tmp / "labels.xml")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        fn, data = by_ext[".arff"]
        table = parse_arff(_decode(data, fn), len(label_names), name=fn)
        X, Y, feature_names = table.X, table.Y, table.feature_names
        kind = "text" if _looks_like_words(feature_names, X) else "dense"
        texts = None
    elif ".txt" in by_ext:
        fn, data = by_ext[".txt"]
        X, Y, feature_names, label_names = parse_xc(data, fn)
        kind, texts = "dense", None
    else:
        raise DataError(f"unsupported file type(s): {', '.join(files)}. Upload a .csv, a .arff with its .xml, "
                        "or an XC-format .txt.")
    n = Y.shape[0]
    if n < MIN_ROWS:
        raise DataError(f"only {n} rows; at least {MIN_ROWS} are needed to train and test a model.")
    label_counts = np.asarray((Y != 0).sum(axis=0)).ravel()
    if (label_counts > 0).sum() < 2:
        raise DataError("the data has fewer than 2 distinct labels; multi-label classification needs at least 2.")
    if Y.getnnz() == 0:
        raise DataError("no row has any label.")
    perm = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_test = max(1, int(round(TEST_FRACTION * n)))
    te, tr = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    Y = Y.tocsr()
    if texts is not None:  # CSV: real text, no feature vectors
        ds = _build(name, [], label_names, X[tr], Y[tr], X[te], Y[te], "dense", False, {}, "uploaded CSV")
        ds.kind = "text"
        ds.train.texts = [texts[i] for i in tr]
        ds.test.texts = [texts[i] for i in te]
    else:
        ds = _build(name, feature_names, label_names, X[tr], Y[tr], X[te], Y[te], kind, False, {}, "uploaded")
    _store(ds)
    return ds


def _store(ds) -> None:
    import json
    import os
    import tempfile

    from engine.data.dataset import write_split_arrays

    root = user_root()
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
    write_split_arrays(tmp, ds)
    for part, s in (("train", ds.train), ("test", ds.test)):
        if s.texts is not None:  # an uploaded CSV's real text (bag-of-words texts are rebuilt on load)
            (tmp / f"{part}_texts.json").write_text(json.dumps(s.texts))
    final = root / ds.name
    old = None
    if final.exists():
        old = root / f".old-{ds.name}"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_user_dataset(name: str):
    import json

    from engine.data.dataset import _build

    folder = user_root() / name
    if not (folder / "meta.json").is_file():
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text())
        X = {p: sp.load_npz(folder / f"{p}_X.npz").tocsr() for p in ("train", "test")}
        Y = {p: sp.load_npz(folder / f"{p}_Y.npz").tocsr() for p in ("train", "test")}
        csv_text = (folder / "train_texts.json").is_file()
        ds = _build(meta["name"], meta["feature_names"], meta["label_names"], X["train"], Y["train"], X["test"],
                    Y["test"], "dense" if csv_text else meta["kind"], False, {}, meta.get("description", ""))
        if csv_text:
            ds.kind = "text"
            ds.train.texts = json.loads((folder / "train_texts.json").read_text())
            ds.test.texts = json.loads((folder / "test_texts.json").read_text())
    except Exception as exc:  # damaged files on disk: say which dataset, never a raw traceback
        raise DataError(f"imported dataset {name!r} is damaged ({type(exc).__name__}: {exc}); import it again.") from None
    return ds
