"""Import of large Extreme Classification Repository text files from the CLI (``python -m engine import``):
a train and a test file, kept as given, streamed line by line into CSR arrays (never the whole text in
memory), with progress and cancellation, then stored in the user-datasets store and loadable by name.

Beyond the browser's limits (50 MB, 100,000 labels, 2,000 dense features): labels up to
MAX_IMPORT_LABELS (one name per label is kept, about 100 bytes each with its JSON), features of any
count (stored sparse; more than MAX_DENSE_FEATURES are read as words: see ``import_xc_files``). The
memory a file can need is bounded from its size before anything is parsed and refused when over
the budget. Each line is checked by the same parser as an upload (engine/data/user_data.py), so a
header that lies about its sizes, or a bad label / feature / value, is refused with its line number.
"""
from __future__ import annotations

import os
import re
import time
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from engine.data.user_data import (MAX_DENSE_FEATURES, check_row_counts, check_training_labels, parse_xc_header,
                                   parse_xc_line, store_user_arrays, xc_feature_names, xc_label_names,
                                   xc_too_few_rows, xc_too_many_rows)
from engine.errors import DataError
from engine.types import ProgressFn, report, scaled_progress

MAX_IMPORT_LABELS = 4_000_000  # label names cost ~100 B each in memory and meta.json: 4M labels ~ 0.4 GB
# Bytes of memory one byte of XC text can become: a 'k:v ' entry is >= 4 bytes and costs 8 bytes in the
# growing buffers plus 8-12 in the CSR arrays built from them (and sum_duplicates' copy).
BYTES_PER_FILE_BYTE = 6
LABEL_NAME_BYTES = 100
MEMORY_FRACTION = 0.7  # of the memory available now: what an import may plan to use
PROGRESS_EVERY = 5000  # lines between progress reports
WORD_NAME = re.compile(r"[^\W]+")  # one token of the TF-IDF's pattern: a feature name must stay one word


@dataclass(frozen=True)
class XCImportSummary:
    name: str
    folder: str
    n_train: int
    n_test: int
    n_features: int
    n_labels: int
    kind: str
    nnz_train: int
    seconds: float


def memory_budget() -> int:
    """Bytes an import or a generation may plan to use: MEMORY_FRACTION of what is available now."""
    import psutil

    return int(MEMORY_FRACTION * psutil.virtual_memory().available)


def gb_text(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB"


def read_xc_header(path: Path, max_labels: int = MAX_IMPORT_LABELS) -> tuple[int, int, int]:
    """(n_rows, n_features, n_labels) from the first non-blank line of an XC file, checked."""
    with open(path, "rb") as fh:
        for raw in fh:
            line = raw.decode("utf-8-sig", errors="replace")
            if line.strip():
                return parse_xc_header(line, path.name, max_labels)
    raise DataError(f"{path.name}: the file is empty.")


def stream_xc(path: str | os.PathLike, max_labels: int = MAX_IMPORT_LABELS,
              progress: ProgressFn | None = None) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Parse an XC text file line by line -> X csr (n, F) float32, Y csr (n, L) float32 binary.

    Holds one line of text at a time; the arrays grow in compact typed buffers. The same checks and
    messages as an upload (engine.data.user_data.parse_xc), with the file's own line numbers.
    """
    path = Path(path)
    size = max(path.stat().st_size, 1)
    fname = path.name
    cols, vals, labs = array("i"), array("f"), array("i")
    x_ptr, y_ptr = array("q", [0]), array("q", [0])
    header = None
    n = f = L = 0
    rows = 0
    done = 0
    line_no = 0
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            done += len(raw)
            if line_no == 1:
                if b"\x00" in raw[:4096]:
                    raise DataError(f"{fname}: this is a binary file, not text.")
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                ln = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError(f"{fname}: line {line_no}: not UTF-8 text.") from None
            if not ln.strip():
                continue
            if header is None:
                header = n, f, L = parse_xc_header(ln, fname, max_labels)
                continue
            if rows == n:  # one row too many: count the rest (without parsing it) to say how many follow
                extra = line_no
                found = n + 1 + sum(1 for r in fh if r.strip())
                raise xc_too_many_rows(fname, n, found, extra)
            try:
                lab, c, v = parse_xc_line(ln, f, L)
            except ValueError as exc:
                raise DataError(f"{fname}: line {line_no}: {exc}.") from None
            labs.extend(lab)
            cols.extend(c)
            vals.extend(v)
            x_ptr.append(len(cols))
            y_ptr.append(len(labs))
            rows += 1
            if rows % PROGRESS_EVERY == 0:
                report(progress, done / size, f"{fname}: {rows:,} / {n:,} rows")
    if header is None:
        raise DataError(f"{fname}: the file is empty.")
    if rows < n:
        raise xc_too_few_rows(fname, n, rows, line_no)
    # own, writable copies (sum_duplicates sorts in place), then the buffers go
    X = sp.csr_matrix((np.array(vals, dtype=np.float32), np.array(cols, dtype=np.int32),
                       np.array(x_ptr, dtype=np.int64)), shape=(n, f))
    del vals, cols, x_ptr
    X.sum_duplicates()  # as the upload parser's COO -> CSR: repeated features add up, indices sorted
    Y = sp.csr_matrix((np.ones(len(labs), dtype=np.float32), np.array(labs, dtype=np.int32),
                       np.array(y_ptr, dtype=np.int64)), shape=(n, L))
    Y.sum_duplicates()
    Y.data[:] = 1.0  # a label listed twice on a line is still one label
    report(progress, 1.0, f"{fname}: {rows:,} rows")
    return X, Y


def read_names(path: str | os.PathLike, expected: int, what: str, words: bool) -> list[str]:
    """One name per line (blank lines count: a name may not be empty); ``words``: each must be one word,
    unique ignoring case (it becomes a pseudo-text word that the TF-IDF lowercases)."""
    path = Path(path)
    try:
        names = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path.name}: cannot read the {what} names ({type(exc).__name__}).") from None
    if len(names) != expected:
        raise DataError(f"{path.name}: {len(names):,} {what} names, but the XC header says {expected:,} {what}s "
                        "(one name per line).")
    seen: dict[str, int] = {}
    for i, nm in enumerate(names, start=1):
        nm = nm.strip()
        if not nm:
            raise DataError(f"{path.name}: line {i}: empty {what} name.")
        if words:
            if not WORD_NAME.fullmatch(nm):
                raise DataError(f"{path.name}: line {i}: {what} name {nm!r} is not one word (letters, digits, '_').")
            if nm.lower() in seen:
                raise DataError(f"{path.name}: line {i}: {what} name {nm!r} repeats line {seen[nm.lower()]} "
                                "(ignoring case).")
            seen[nm.lower()] = i
        names[i - 1] = nm
    return names


def import_xc_files(name: str, train_path: str | os.PathLike, test_path: str | os.PathLike,
                    feature_names_path: str | os.PathLike | None = None,
                    label_names_path: str | os.PathLike | None = None, max_labels: int = MAX_IMPORT_LABELS,
                    budget_bytes: int | None = None, progress: ProgressFn | None = None) -> XCImportSummary:
    """Import a train and a test XC file (kept as given) as dataset ``name``.

    Kind: with a feature-names file, or more than MAX_DENSE_FEATURES features, the dataset is "text":
    each document's active features become its pseudo-text words (their values are read as presence;
    the model weighs words with its own TF-IDF), so LIME and the text attacks have words to work on.
    Otherwise "dense" (numeric features), as an upload. Everything is checked before the long parse:
    headers, names files, and the memory the files can need (DataError with the estimate).
    """
    from engine.data.user_data import check_name

    t0 = time.perf_counter()
    name = check_name(name)
    paths = [Path(train_path), Path(test_path)]
    for p in paths:
        if not p.is_file():
            raise DataError(f"{p}: no such file.")
    (n_tr, f, L), (n_te, f2, L2) = (read_xc_header(p, max_labels) for p in paths)
    if (f, L) != (f2, L2):
        raise DataError(f"{paths[0].name} has {f} features and {L} labels but {paths[1].name} has {f2} features and "
                        f"{L2} labels; train and test must agree.")
    check_row_counts([p.name for p in paths], [n_tr, n_te])
    need = BYTES_PER_FILE_BYTE * sum(p.stat().st_size for p in paths) + LABEL_NAME_BYTES * L
    budget = memory_budget() if budget_bytes is None else budget_bytes
    if need > budget:
        raise DataError(f"importing {paths[0].name} + {paths[1].name} can need up to {gb_text(need)} of memory "
                        f"({BYTES_PER_FILE_BYTE} bytes per byte of text, {L:,} label names); {gb_text(budget)} is "
                        "available to it. Free memory or import on a larger machine.")
    label_names = (read_names(label_names_path, L, "label", words=False) if label_names_path
                   else xc_label_names(L))
    feature_names = (read_names(feature_names_path, f, "feature", words=True) if feature_names_path
                     else xc_feature_names(f))
    Xtr, Ytr = stream_xc(paths[0], max_labels, scaled_progress(progress, 0.0, 0.75))
    check_training_labels(Ytr, paths[0].name)
    Xte, Yte = stream_xc(paths[1], max_labels, scaled_progress(progress, 0.75, 0.95))
    as_words = feature_names_path is not None or f > MAX_DENSE_FEATURES
    warnings = []
    if as_words:
        warnings.append("feature values are read as word presence (pseudo-text of the active features); the model "
                        "weighs the words with its own TF-IDF.")
        if feature_names_path is None:
            warnings.append(f"no feature names were given: the words are f0..f{f - 1}.")
    if label_names_path is None:
        warnings.append(f"no label names were given: labels are label0..label{L - 1}.")
    unseen = L - np.unique(Ytr.indices).size
    if unseen:
        warnings.append(f"{unseen:,} of the {L:,} labels never appear in the training file (a model cannot "
                        "predict them).")
    description = (f"imported XC text files: the given split, kept as it is: train = {paths[0].name} ({n_tr:,} rows), "
                   f"test = {paths[1].name} ({n_te:,} rows).")
    report(progress, 0.96, "storing")
    folder = store_user_arrays(name, feature_names, label_names, Xtr, Ytr, Xte, Yte,
                               "text" if as_words else "dense", description, warnings)
    report(progress, 1.0, "done")
    return XCImportSummary(name, str(folder), n_tr, n_te, f, L, "text" if as_words else "dense", int(Xtr.nnz),
                           round(time.perf_counter() - t0, 3))


def write_xc_file(path: str | os.PathLike, X: sp.csr_matrix, Y: sp.csr_matrix) -> None:
    """Write X (n, F) / Y (n, L) csr as an XC text file (header 'n F L', then 'l1,l2 f:v ...'), written to a
    temporary file and renamed into place."""
    import tempfile

    path = Path(path)
    X, Y = X.tocsr(), Y.tocsr()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{X.shape[0]} {X.shape[1]} {Y.shape[1]}\n")
            for i in range(X.shape[0]):
                labs = ",".join(map(str, Y.indices[Y.indptr[i]:Y.indptr[i + 1]].tolist()))
                a, b = X.indptr[i], X.indptr[i + 1]
                if not labs and a == b:  # a blank line is skipped by every XC reader: the row would vanish
                    raise DataError(f"{path.name}: row {i} has no label and no feature; XC text cannot hold it.")
                # repr: the shortest text that reads back to the same float32
                feats = " ".join(f"{k}:{v!r}" for k, v in zip(X.indices[a:b].tolist(), X.data[a:b].tolist()))
                fh.write(f"{labs} {feats}\n" if labs else f"{feats}\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
