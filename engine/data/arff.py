"""Mulan ARFF (sparse or dense) + its label names -> feature and label matrices, via liac-arff.

Mulan identifies the label attributes **by name** (the label XML names them; they may sit anywhere
in the ARFF, in any order). So do we: the label columns are the attributes the XML names, in the
XML's order, and the features are all the other attributes in file order. Names are compared as
written, then unquoted and unescaped (:func:`name_key`: liac-arff keeps the backslash of an
unquoted ``TAG_m\\'usica`` and drops the quotes of a quoted ``'odd name'``, and an XML may spell
either). Only when *none* of the XML's names is an attribute are the last L attributes taken, by
position, and the table carries a warning saying so.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import arff
import numpy as np
import scipy.sparse as sp

from engine.errors import DataError

FLOAT32_MAX = float(np.finfo(np.float32).max)  # features are stored as float32: larger values become inf


@dataclass
class ArffTable:
    """X: csr (n, n_features) float32; Y: csr (n, n_labels) float32 binary, columns in label_names order.

    attributes: every (name, type) of the file, in file order (to check that train and test agree).
    warnings: caveats a user must see (labels taken by position).
    """

    relation: str
    feature_names: list[str]
    label_names: list[str]
    X: sp.csr_matrix
    Y: sp.csr_matrix
    sparse_format: bool
    attributes: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def name_key(name: str) -> str:
    """A label / attribute name as compared: surrounding quotes dropped, backslash escapes resolved."""
    s = name.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        s = s[1:-1]
    return re.sub(r"\\(.)", r"\1", s)


def match_label_columns(attr_names: list[str], label_names: list[str], name: str,
                        labels_file: str) -> tuple[list[int], list[str]]:
    """Attribute index of each label (in ``label_names`` order) and the warnings of the match.

    Exact names first, then :func:`name_key`. All matched: by name. None matched: the last L
    attributes by position, with a warning. Some matched: refused, naming the labels the ARFF lacks.
    """
    n_attr, n_labels = len(attr_names), len(label_names)
    exact = {a: i for i, a in enumerate(attr_names)}
    by_key: dict[str, list[int]] = {}
    for i, a in enumerate(attr_names):
        by_key.setdefault(name_key(a), []).append(i)
    cols: list[int | None] = []
    for lab in label_names:
        if lab in exact:
            cols.append(exact[lab])
        else:
            hits = by_key.get(name_key(lab), [])
            cols.append(hits[0] if len(hits) == 1 else None)  # an ambiguous spelling matches nothing
    missing = [lab for lab, c in zip(label_names, cols) if c is None]
    if not missing:
        taken: dict[int, str] = {}
        for lab, c in zip(label_names, cols):
            if c in taken:
                raise DataError(f"{labels_file}: the labels {taken[c]!r} and {lab!r} both name the attribute "
                                f"{attr_names[c]!r} of {name}.")
            taken[c] = lab
        if n_labels >= n_attr:
            raise DataError(f"{name}: every attribute is a label named in {labels_file}; at least one feature is needed.")
        return [int(c) for c in cols], []
    if len(missing) < n_labels:
        shown = ", ".join(repr(m) for m in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DataError(f"{labels_file} names {len(missing)} label(s) that {name} has no attribute for: {shown}. "
                        "Is this the label file of this ARFF?")
    if n_labels >= n_attr:
        raise DataError(f"{name}: {labels_file} names {n_labels} labels, none of them an attribute of the file, and "
                        f"the file has only {n_attr} attributes; at least one feature and one label are needed.")
    warning = (f"None of the {n_labels} label names in {labels_file} is an attribute of {name}: the last {n_labels} "
               f"attributes ({attr_names[n_attr - n_labels]!r} … {attr_names[-1]!r}) were taken as the labels, by "
               f"position, and named in {labels_file}'s order ({label_names[0]!r} …). Check that this is right.")
    return list(range(n_attr - n_labels, n_attr)), [warning]


def data_line_numbers(text: str) -> list[int]:
    """1-based file line of each data row, as liac-arff counts rows (blank and % lines skipped)."""
    lines = io.StringIO(text)
    for k, row in enumerate(lines, start=1):
        if row.strip(" \r\n").upper().startswith("@DATA"):
            break
    else:
        return []
    return [j for j, row in enumerate(lines, start=k + 1) if row.strip() and not row.strip().startswith("%")]


def _first_data_row(text: str) -> str | None:
    seen_data = False
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("%"):
            continue
        if seen_data:
            return s
        if s.lower().startswith("@data"):
            seen_data = True
    return None


def parse_arff(text: str, label_names: list[str], name: str = "ARFF file", labels_file: str = "the label XML") -> ArffTable:
    """Parse ARFF text; ``label_names`` (the label XML's, in its order) pick the label attributes."""
    if "\x00" in text:
        raise DataError(f"{name}: this is a binary file, not an ARFF text file.")
    if "@data" not in text.lower() or "@attribute" not in text.lower():
        raise DataError(f"{name}: not an ARFF file (no @attribute / @data sections; is the file cut short?).")
    if not label_names:
        raise DataError(f"{labels_file}: names no labels.")
    first = _first_data_row(text)
    sparse_format = bool(first) and first.startswith("{")
    try:
        obj = arff.load(io.StringIO(text), return_type=arff.COO if sparse_format else arff.DENSE, encode_nominal=True)
    except arff.ArffException as exc:
        raise DataError(f"{name}: malformed ARFF ({exc}).") from None
    except (ValueError, IndexError) as exc:
        raise DataError(f"{name}: malformed ARFF data ({exc}).") from None
    attrs = obj["attributes"]
    attr_names = [a[0] for a in attrs]
    n_attr = len(attrs)
    label_cols, warnings = match_label_columns(attr_names, list(label_names), name, labels_file)
    for j in label_cols:  # encode_nominal gives a nominal value's index: only {0,1} makes it the value
        kind = attrs[j][1]
        if isinstance(kind, (list, tuple)) and [str(v) for v in kind] != ["0", "1"]:
            raise DataError(f"{name}: the label attribute {attr_names[j]!r} is declared {_type_text(kind)}; "
                            "label attributes must be numeric or {0,1}.")
    lines = data_line_numbers(text)
    n = len(lines)  # not rows.max() + 1: trailing empty sparse rows ({}) are rows too
    if n == 0:
        raise DataError(f"{name}: no data rows.")
    if sparse_format:
        values, rows, cols = obj["data"]
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        values = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    else:
        data = obj["data"]
        try:
            dense = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=np.float64)
            missing_dense = np.array([[v is None for v in row] for row in data], dtype=bool)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{name}: non-numeric values in the data ({exc}).") from None
        if dense.ndim != 2 or dense.shape[0] != n:
            raise DataError(f"{name}: malformed ARFF data ({dense.shape[0]} rows read, {n} data lines).")
        rows, cols = np.nonzero((dense != 0) | missing_dense)
        values, missing = dense[rows, cols], missing_dense[rows, cols]
    if rows.size and rows.max() >= n:
        raise DataError(f"{name}: malformed ARFF data (more rows read than data lines).")
    _check_values(values, missing, rows, cols, lines, attr_names, name)
    full = sp.csr_matrix((values, (rows, cols)), shape=(n, n_attr))
    feat_cols = sorted(set(range(n_attr)) - set(label_cols))
    X = full[:, feat_cols].astype(np.float32).tocsr()
    Y = full[:, label_cols].tocsr()
    if Y.nnz and not np.isin(Y.data, (0.0, 1.0)).all():
        bad = np.flatnonzero(~np.isin(Y.data, (0.0, 1.0)))[0]
        r = int(np.searchsorted(Y.indptr, bad, side="right") - 1)
        raise DataError(f"{name}: line {lines[r]}: the label attribute {attr_names[label_cols[Y.indices[bad]]]!r} has "
                        f"the value {Y.data[bad]:g}; label attributes must be 0/1.")
    Y.eliminate_zeros()
    Y = Y.astype(np.float32)
    X.eliminate_zeros()
    return ArffTable(obj.get("relation", ""), [attr_names[j] for j in feat_cols], list(label_names), X, Y,
                     sparse_format, [(a[0], a[1]) for a in attrs], warnings)


def _check_values(values: np.ndarray, missing: np.ndarray, rows: np.ndarray, cols: np.ndarray, lines: list[int],
                  attr_names: list[str], name: str) -> None:
    """Refuse '?' and values that are not finite float32 numbers, naming the first one's line."""
    if missing.any():
        k = int(np.flatnonzero(missing)[0])
        raise DataError(f"{name}: line {lines[rows[k]]}: missing value ('?') for {attr_names[cols[k]]!r}; missing "
                        "values are not supported, fill them in first.")
    bad = ~np.isfinite(values) | (np.abs(values) > FLOAT32_MAX)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise DataError(f"{name}: line {lines[rows[k]]}: the value {values[k]:g} of {attr_names[cols[k]]!r} is not a "
                        "finite number (nan / inf, or too large for float32); XTrust needs finite feature values.")


def check_same_layout(train: ArffTable, test: ArffTable, train_name: str, test_name: str) -> None:
    """Refuse a train / test pair whose attributes (names, types, order) differ, naming the first difference."""
    a, b = train.attributes, test.attributes
    if len(a) != len(b):
        raise DataError(f"{train_name} has {len(a)} attributes but {test_name} has {len(b)}; train and test must "
                        "have the same attributes.")
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            raise DataError(f"attribute {i + 1} differs: {x[0]!r} ({_type_text(x[1])}) in {train_name} but {y[0]!r} "
                            f"({_type_text(y[1])}) in {test_name}; train and test must have the same attributes.")


def _type_text(t) -> str:
    return "{" + ",".join(map(str, t)) + "}" if isinstance(t, (list, tuple)) else str(t).lower()


def read_arff(path: str | Path, label_names: list[str], labels_file: str = "the label XML") -> ArffTable:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return parse_arff(text, label_names, name=path.name, labels_file=labels_file)
