"""A user's own data: CSV (text + labels), Mulan ARFF + label XML, or the Extreme Classification
Repository text format; one file (split 80/20, seeded) or a train and a test file (kept as given).
Validated, stored under the cache directory and then loadable by name everywhere
(``load_dataset(name)``). Files are parsed, never unpickled.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import threading
import uuid
from collections import OrderedDict
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from engine.atomic import TMP_PREFIX, abandoned, recover_folders, swap_lock, write_folder_atomic, writer_tag
from engine.data.build import build_dataset, read_split_arrays, write_split_arrays
from engine.data.arff import FLOAT32_MAX, check_same_layout, parse_arff
from engine.data.label_xml import parse_label_xml
from engine.data.sources import SOURCES
from engine.errors import DataError, InputError
from engine.paths import cache_dir
from engine.text_input import TOKEN_PATTERN

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MIN_ROWS = 10
MAX_DENSE_FEATURES = 2000
MAX_LABELS = 100_000  # an XC header's label count builds one name per label: bound it before allocating
TEST_FRACTION = 0.2
SPLIT_SEED = 0
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DEFAULT_LABEL_SEPARATOR = ";"  # between the labels of one CSV cell; the Your data page pre-fills it


def user_root() -> Path:
    return cache_dir() / "user_datasets"


def list_user_datasets() -> list[str]:
    root = user_root()
    if not root.is_dir():
        return []
    recover_folders(root, complete=lambda p: (p / "meta.json").is_file())
    return sorted(p.name for p in root.iterdir() if (p / "meta.json").is_file() and not p.name.startswith("."))


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InputError(f"dataset name {name!r} is not allowed: use 1-40 lowercase letters, digits, '_' or '-'.")
    if name in SOURCES:
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


def _data_rows_text(rows: list[int], limit: int = 8) -> str:
    """'3, 7 and 9' (1-based data rows) with at most ``limit`` shown."""
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def parse_csv(data: bytes, filename: str, text_column: str | None, label_column: str | None,
              label_separator: str | None):
    """-> (texts, label lists). Columns default to 'text' and 'labels'; labels split on
    DEFAULT_LABEL_SEPARATOR unless told. Refuses rows whose text has no word the TF-IDF would keep."""
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
    sep = label_separator or DEFAULT_LABEL_SEPARATOR
    texts = [str(t) for t in df[tcol]]
    labels = [[x.strip() for x in str(v).split(sep) if x.strip()] for v in df[lcol]]
    # Data rows are counted from 1 after the header (a quoted text may span several file lines).
    empty = [i + 1 for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise DataError(f"{filename}: {len(empty)} row(s) have empty text: data row(s) {_data_rows_text(empty)} "
                        "(row 1 is the first after the header).")
    word = re.compile(TOKEN_PATTERN)
    wordless = [i + 1 for i, t in enumerate(texts) if not word.search(t.lower())]
    if wordless:
        raise DataError(f"{filename}: {len(wordless)} row(s) have no word the model can use (no letter or digit): "
                        f"data row(s) {_data_rows_text(wordless)} (row 1 is the first after the header). "
                        "Remove or fix them.")
    return texts, labels


def parse_xc_header(line: str, filename: str, max_labels: int = MAX_LABELS) -> tuple[int, int, int]:
    """The XC header 'n_rows n_features n_labels' -> (n, f, L), checked; DataError naming the problem."""
    try:
        n, f, L = (int(x) for x in line.split())
    except ValueError:
        raise DataError(f"{filename}: first line must be 'n_rows n_features n_labels' (XC format).") from None
    if n < 0 or f < 1 or L < 1:
        raise DataError(f"{filename}: header 'n_rows n_features n_labels' must have n_rows >= 0 and at least "
                        f"1 feature and 1 label, got {n} {f} {L}.")
    if L > max_labels:
        raise DataError(f"{filename}: header says {L:,} labels; XTrust reads at most {max_labels:,} labels"
                        + (" in an upload (import larger files with python -m engine import)." if max_labels == MAX_LABELS
                           else "."))
    return n, f, L


def xc_too_few_rows(filename: str, n: int, found: int, last_line: int) -> DataError:
    return DataError(f"{filename}: header says {n} rows but only {found} follow (the file ends at line "
                     f"{last_line}); is it cut short?")


def xc_too_many_rows(filename: str, n: int, found: int | None, line_no: int) -> DataError:
    more = f"{found} follow" if found is not None else "more follow"
    return DataError(f"{filename}: header says {n} rows but {more} (line {line_no} is one too many).")


def parse_xc_line(ln: str, n_features: int, n_labels: int) -> tuple[list[int], list[int], list[float]]:
    """One XC data line 'l1,l2 f:v f:v' -> (label ids, feature ids, values); ValueError naming the fault."""
    parts = ln.split()
    lab = parts[0] if parts and ":" not in parts[0] else ""
    feats = parts[1:] if lab or (parts and ":" not in parts[0]) else parts
    labels, cols, vals = [], [], []
    for x in filter(None, lab.split(",")):
        j = int(x)
        if not 0 <= j < n_labels:
            raise ValueError(f"label {j} outside 0..{n_labels - 1}")
        labels.append(j)
    for fv in feats:
        k, v = fv.split(":")
        k = int(k)
        if not 0 <= k < n_features:
            raise ValueError(f"feature {k} outside 0..{n_features - 1}")
        v = float(v)
        if not np.isfinite(v) or abs(v) > FLOAT32_MAX:
            raise ValueError(f"feature {k} has the value {v:g}, not a finite number (nan / inf, or too "
                             "large for float32)")
        cols.append(k)
        vals.append(v)
    return labels, cols, vals


def xc_label_names(n_labels: int) -> list[str]:
    return [f"label{j}" for j in range(n_labels)]


def xc_feature_names(n_features: int) -> list[str]:
    return [f"f{k}" for k in range(n_features)]


def parse_xc(data: bytes, filename: str):
    """Extreme Classification Repository format: header 'N F L', then 'l1,l2 f:v f:v' per line.
    (An upload, held in memory; large files stream through engine/data/xc_import.py.)

    -> X csr (N, F) float32, Y csr (N, L) float32, feature names, label names.
    """
    numbered = [(k, ln) for k, ln in enumerate(_decode(data, filename).split("\n"), start=1) if ln.strip()]
    if not numbered:
        raise DataError(f"{filename}: the file is empty.")
    n, f, L = parse_xc_header(numbered[0][1], filename)
    body = numbered[1:]
    if len(body) < n:
        raise xc_too_few_rows(filename, n, len(body), body[-1][0] if body else numbered[0][0])
    if len(body) > n:
        raise xc_too_many_rows(filename, n, len(body), body[n][0])
    if f > MAX_DENSE_FEATURES:
        raise DataError(f"{filename}: {f} features; XTrust reads XC-format files with at most {MAX_DENSE_FEATURES} "
                        "features (dense) in an upload. For text, upload a CSV with the raw text instead; for a large "
                        "sparse XC file use python -m engine import.")
    rows, cols, vals, yr, yc = [], [], [], [], []
    for i, (line_no, ln) in enumerate(body):
        try:
            labels, c, v = parse_xc_line(ln, f, L)
        except ValueError as exc:
            raise DataError(f"{filename}: line {line_no}: {exc}.") from None
        yr += [i] * len(labels)
        yc += labels
        rows += [i] * len(c)
        cols += c
        vals += v
    X = sp.csr_matrix((vals, (rows, cols)), shape=(n, f), dtype=np.float32)
    Y = sp.csr_matrix((np.ones(len(yr), dtype=np.float32), (yr, yc)), shape=(n, L))
    Y.sum_duplicates()
    Y.data[:] = 1.0  # a label listed twice on a line is still one label
    return X, Y, xc_feature_names(f), xc_label_names(L)


def _looks_like_words(names: list[str], X: sp.csr_matrix) -> bool:
    binary = X.nnz == 0 or np.isin(np.unique(X.data), (0.0, 1.0)).all()
    wordy = np.mean([bool(re.fullmatch(r"[A-Za-z_][\w]*", n)) for n in names]) > 0.8
    return bool(binary and wordy)


def split_role(filename: str) -> str | None:
    """'train' or 'test' when the file name says which split it is (and not both), else None."""
    stem = Path(filename).stem.lower()
    train, test = "train" in stem, "test" in stem
    return "train" if train and not test else "test" if test and not train else None


def _pick_files(files: dict[str, bytes]) -> tuple[str, list[tuple[str, bytes]], tuple[str, bytes] | None]:
    """-> (kind '.csv' | '.arff' | '.txt', [(name, bytes)] as [single] or [train, test], label XML or None)."""
    by_ext: dict[str, list[tuple[str, bytes]]] = {}
    for fn, d in files.items():
        by_ext.setdefault(Path(fn).suffix.lower(), []).append((fn, bytes(d)))
    kinds = [e for e in (".csv", ".arff", ".txt") if e in by_ext]
    others = [fn for e, items in by_ext.items() if e not in (".csv", ".arff", ".txt", ".xml") for fn, _ in items]
    if not kinds or others:
        raise DataError(f"unsupported file type(s): {', '.join(others or files)}. Upload a .csv, a .arff with its .xml, "
                        "or an XC-format .txt (or a train and a test file of one of these).")
    if len(kinds) > 1:
        raise DataError(f"upload one kind of data at a time, not {' and '.join(kinds)} files together.")
    kind, items = kinds[0], by_ext[kinds[0]]
    xmls = by_ext.get(".xml", [])
    if kind == ".arff" and not xmls:
        raise DataError("an ARFF upload needs its Mulan label XML file too (the .xml naming the labels).")
    if len(xmls) > 1 or (xmls and kind != ".arff"):
        raise DataError(f"{', '.join(fn for fn, _ in xmls)}: only one label XML, and only with ARFF files.")
    if len(items) > 2:
        raise DataError(f"{len(items)} {kind} files: upload one file (split 80/20) or a train and a test file.")
    if len(items) == 2:
        roles = {split_role(fn): (fn, d) for fn, d in items}
        if set(roles) != {"train", "test"}:
            raise DataError(f"two {kind} files ({items[0][0]}, {items[1][0]}): name the training file '…train…' and "
                            "the test file '…test…' so that XTrust knows which split is which.")
        items = [roles["train"], roles["test"]]
    return kind, items, (xmls[0] if xmls else None)


def _label_matrix(label_lists: list[list[str]], index: dict[str, int]) -> sp.csr_matrix:
    """Label name lists -> csr (n, len(index)) float32 binary."""
    rows = [i for i, ls in enumerate(label_lists) for _ in ls]
    cols = [index[x] for ls in label_lists for x in ls]
    Y = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(label_lists), len(index)))
    Y.sum_duplicates()
    Y.data[:] = 1.0  # 'a;a' is one label
    return Y


def _read_parts(kind, items, xml, text_column, label_column, label_separator):
    """Parse each uploaded file of one kind -> (parts [(X, Y, texts | None)], feature names, label names,
    dataset kind, warnings). The parts share one label index and are checked to agree."""
    names = [fn for fn, _ in items]
    if kind == ".csv":
        parsed = [parse_csv(d, fn, text_column, label_column, label_separator) for fn, d in items]
        if len(parsed) == 2:
            unseen = sorted({x for ls in parsed[1][1] for x in ls} - {x for ls in parsed[0][1] for x in ls})
            if unseen:
                shown = ", ".join(repr(x) for x in unseen[:5]) + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else "")
                raise DataError(f"{names[1]} uses {len(unseen)} label(s) that {names[0]} never does: {shown}; train "
                                "and test must share one label set (a model cannot learn a label it never sees).")
        label_names = sorted({x for _, lists in parsed for ls in lists for x in ls})
        index = {x: j for j, x in enumerate(label_names)}
        parts = [(sp.csr_matrix((len(t), 0), dtype=np.float32), _label_matrix(ls, index), t) for t, ls in parsed]
        return parts, [], label_names, "text", []
    if kind == ".arff":
        xml_fn, xml_data = xml
        label_names = parse_label_xml(xml_data, xml_fn)
        tables = [parse_arff(_decode(d, fn), label_names, name=fn, labels_file=xml_fn) for fn, d in items]
        if len(tables) == 2:
            check_same_layout(tables[0], tables[1], names[0], names[1])
        warnings = list(dict.fromkeys(w for t in tables for w in t.warnings))
        feature_names = tables[0].feature_names
        dkind = "text" if _looks_like_words(feature_names, tables[0].X) else "dense"
        return [(t.X, t.Y, None) for t in tables], feature_names, label_names, dkind, warnings
    parsed = [parse_xc(d, fn) for fn, d in items]
    if len(parsed) == 2:
        (a, b) = (parsed[0][0].shape[1], parsed[0][1].shape[1]), (parsed[1][0].shape[1], parsed[1][1].shape[1])
        if a != b:
            raise DataError(f"{names[0]} has {a[0]} features and {a[1]} labels but {names[1]} has {b[0]} features and "
                            f"{b[1]} labels; train and test must agree.")
    return [(X, Y, None) for X, Y, _, _ in parsed], parsed[0][2], parsed[0][3], "dense", []


def check_row_counts(names: list[str], n_rows: list[int]) -> None:
    """Enough rows in all, and none of the files empty."""
    if sum(n_rows) < MIN_ROWS:
        raise DataError(f"only {sum(n_rows)} rows; at least {MIN_ROWS} are needed to train and test a model.")
    for fn, n in zip(names, n_rows):
        if n == 0:
            raise DataError(f"{fn}: no data rows.")


def check_training_labels(Ytr: sp.csr_matrix, train_name: str) -> None:
    """Y (n, L) csr of the training split: at least one labelled row and 2 distinct labels."""
    if Ytr.getnnz() == 0:
        raise DataError(f"no training row ({train_name}) has any label.")
    if np.unique(Ytr.indices[Ytr.data != 0]).size < 2:  # O(nnz), never a dense (L,) count
        raise DataError(f"the training data ({train_name}) has fewer than 2 distinct labels; multi-label "
                        "classification needs at least 2.")


def store_user_arrays(name: str, feature_names: list[str], label_names: list[str], Xtr, Ytr, Xte, Yte, kind: str,
                      description: str, warnings=()) -> Path:
    """Store a dataset's arrays (X (n, d) / Y (n, L) csr per split) under the user-datasets store, swapped in
    whole (write to a temporary folder, then rename). No pseudo-text is built here: it is made on load.
    -> the dataset's folder; ``load_dataset(name)`` then reads it like any import."""
    from engine.types import Dataset, Split

    name = check_name(name)
    ds = Dataset(name=name, feature_names=list(feature_names), label_names=list(label_names),
                 train=Split(Xtr.tocsr().astype(np.float32), Ytr.tocsr().astype(np.float32), None),
                 test=Split(Xte.tocsr().astype(np.float32), Yte.tocsr().astype(np.float32), None),
                 kind=kind, description=description, warnings=list(warnings))
    folder = user_root() / name
    write_folder_atomic(folder, lambda tmp: write_split_arrays(tmp, ds))
    forget_loaded(name)
    return folder


KIND_TEXT = {".csv": "CSV", ".arff": "ARFF + label XML", ".txt": "XC text file"}


def import_user_dataset(name: str, files: dict[str, bytes], text_column: str | None = None,
                        label_column: str | None = None, label_separator: str | None = None):
    """Parse uploaded files, validate, store, and return the Dataset.

    files: {filename: content}. One .csv, .arff (+ its label .xml) or XC .txt: split 80/20 (seed 0).
    Or a train and a test file of one kind (names containing 'train' / 'test'): kept as given.
    The Dataset's description says which; its warnings carry caveats (e.g. labels by position).
    """
    name = check_name(name)
    if not files:
        raise DataError("no file uploaded.")
    for fn, data in files.items():
        if not isinstance(data, (bytes, bytearray)):
            raise DataError(f"{fn}: expected file bytes.")
        if len(data) > MAX_UPLOAD_BYTES:
            raise DataError(f"{fn}: {len(data) / 1e6:.1f} MB is over the {MAX_UPLOAD_BYTES // 2**20} MB upload limit.")
    kind, items, xml = _pick_files(files)
    parts, feature_names, label_names, dkind, warnings = _read_parts(kind, items, xml, text_column, label_column,
                                                                     label_separator)
    names = [fn for fn, _ in items]
    n_rows = [Y.shape[0] for _, Y, _ in parts]
    check_row_counts(names, n_rows)
    if len(parts) == 1:
        X, Y, texts = parts[0]
        perm = np.random.default_rng(SPLIT_SEED).permutation(Y.shape[0])
        n_test = max(1, int(round(TEST_FRACTION * Y.shape[0])))
        te, tr = np.sort(perm[:n_test]), np.sort(perm[n_test:])
        Y = Y.tocsr()
        train = (X[tr], Y[tr], None if texts is None else [texts[i] for i in tr])
        test = (X[te], Y[te], None if texts is None else [texts[i] for i in te])
        description = (f"uploaded {KIND_TEXT[kind]} {names[0]}: one file, split at random 80/20 (seed {SPLIT_SEED}) "
                       f"into {tr.size} train / {te.size} test rows.")
    else:
        train, test = parts
        description = (f"uploaded {KIND_TEXT[kind]}: the given split, kept as it is: train = {names[0]} "
                       f"({n_rows[0]} rows), test = {names[1]} ({n_rows[1]} rows).")
    Ytr = train[1].tocsr()
    check_training_labels(Ytr, names[0])
    real_text = train[2] is not None  # a CSV: real text, no feature vectors
    ds = build_dataset(name, [] if real_text else feature_names, label_names, train[0], Ytr, test[0], test[1],
                       "text" if real_text else dkind, False, {}, description, warnings,
                       texts=(train[2], test[2]) if real_text else None)
    write_folder_atomic(user_root() / ds.name, lambda tmp: write_split_arrays(tmp, ds, real_text=real_text))
    forget_loaded(ds.name)
    return ds


# Loaded imports kept in this process: reading a large import's arrays and rebuilding its pseudo-text
# takes seconds (about 6 s at 670K labels / 200K documents), and every engine call loads its dataset.
# An entry is keyed by its folder's path and meta.json (inode, mtime, size): a re-import or delete -- in this or
# any process -- swaps the folder, so the stamp changes and the next load reads the new files.
MAX_LOADED_USER_DATASETS = 2
_loaded: "OrderedDict[str, tuple[tuple, object]]" = OrderedDict()
_loaded_lock = threading.Lock()
_loading_locks: dict[str, threading.Lock] = {}


def _stamp(folder: Path) -> tuple | None:
    try:
        st = (folder / "meta.json").stat()
    except OSError:
        return None
    return (str(folder), st.st_ino, st.st_mtime_ns, st.st_size)  # the path: another XTRUST_CACHE_DIR is another dataset


def forget_loaded(name: str | None = None) -> None:
    """Drop ``name`` (or every import) from this process's cache of loaded user datasets."""
    with _loaded_lock:
        if name is None:
            _loaded.clear()
        else:
            _loaded.pop(name, None)


def loaded_user_datasets() -> list[str]:
    """Names held in this process's cache, least recently used first."""
    with _loaded_lock:
        return list(_loaded)


def stored_checksums(name: str) -> dict | None:
    """The checksums an imported dataset's meta.json records now (None: not stored, or unreadable), without
    loading its arrays."""
    try:
        meta = json.loads((user_root() / name / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    return meta.get("checksums") if isinstance(meta, dict) else None


def load_user_dataset(name: str):
    """An imported dataset by name (None when there is none); DataError when its files are damaged.
    Served from this process's cache while the stored folder is unchanged (callers must not modify it)."""
    folder = user_root() / name
    stamp = _stamp(folder)
    if stamp is None:
        forget_loaded(name)
        return None
    with _loaded_lock:
        hit = _loaded.get(name)
        if hit is not None and hit[0] == stamp:
            _loaded.move_to_end(name)
            return hit[1]
        lock = _loading_locks.setdefault(name, threading.Lock())
    with lock:  # two sessions asking at once read the files once
        with _loaded_lock:
            hit = _loaded.get(name)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        try:
            ds = read_split_arrays(folder)
        except Exception as exc:  # damaged files on disk: say which dataset, never a raw traceback
            raise DataError(f"imported dataset {name!r} is damaged ({type(exc).__name__}: {exc}); import it again.") from None
        if _stamp(folder) == stamp:  # not swapped while it was read
            with _loaded_lock:
                _loaded[name] = (stamp, ds)
                _loaded.move_to_end(name)
                while len(_loaded) > MAX_LOADED_USER_DATASETS:
                    _loaded.popitem(last=False)
        return ds


def importing_now(name: str) -> bool:
    """Whether a live process is writing an import of ``name`` right now (its '.tmp-<name>+<writer>+…'
    folder exists and its writer still runs: engine/atomic.py's naming rules)."""
    root = user_root()
    if not root.is_dir():
        return False
    return any(p.name[len(TMP_PREFIX):].split("+")[0] == name and p.is_dir() and not abandoned(p)
               for p in root.iterdir() if p.name.startswith(TMP_PREFIX) and "+" in p.name)


def remove_folder_atomic(folder: Path) -> None:
    """Rename ``folder`` aside to a writer-named '.tmp-' folder beside it, then remove that: readers
    see the whole folder or none of it, and a crash midway leaves only a leftover that the next
    listing removes once this process is gone (engine/atomic.py recover_folders)."""
    aside = folder.parent / f"{TMP_PREFIX}{folder.name}+{writer_tag()}+{uuid.uuid4().hex[:8]}"
    os.replace(folder, aside)
    shutil.rmtree(aside, ignore_errors=True)


def delete_user_dataset(name: str) -> str:
    """Remove an imported dataset's stored files (atomically: renamed aside, then removed) -> its name.

    Refuses a built-in dataset, a name that is not an imported dataset, and a dataset that another
    process is importing right now. Only the dataset's own folder is removed here: its saved
    models and cached results are the caller's (engine.pipeline.delete_user_dataset removes them).
    """
    if isinstance(name, str) and name in SOURCES:
        raise InputError(f"{name!r} is a built-in dataset; only imported datasets can be deleted.")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InputError(f"{name!r} is not the name of an imported dataset.")
    root = user_root()
    if not root.is_dir():
        raise InputError(f"there is no imported dataset {name!r}; none is imported.")
    with swap_lock(root):  # an import's swap holds this lock: it finishes before, or starts after
        if importing_now(name):
            raise InputError(f"{name!r} is being imported right now (in another session or process); "
                             "delete it once the import has finished.")
        folder = root / name
        present = (folder / "meta.json").is_file()
        if present:
            remove_folder_atomic(folder)
            forget_loaded(name)
    if not present:  # named outside the lock: listing may take it to recover an interrupted swap
        have = ", ".join(list_user_datasets()) or "none"
        raise InputError(f"there is no imported dataset {name!r}; imported: {have}.")
    return name
