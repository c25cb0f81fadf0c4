"""Mulan ARFF (sparse or dense) -> feature and label matrices, via liac-arff.

Mulan puts the labels in the last L attributes; we take them by position because label names
can be messy (Delicious has ``TAG_m\\'usica``, ``TAG_??`` ...).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import arff
import numpy as np
import scipy.sparse as sp

from engine.errors import DataError


@dataclass
class ArffTable:
    """X: csr (n, n_features) float32; Y: csr (n, n_labels) float32 binary."""

    relation: str
    feature_names: list[str]
    label_names: list[str]
    X: sp.csr_matrix
    Y: sp.csr_matrix
    sparse_format: bool


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


def parse_arff(text: str, n_labels: int, name: str = "ARFF file") -> ArffTable:
    """Parse ARFF text whose last ``n_labels`` attributes are the labels."""
    if "\x00" in text:
        raise DataError(f"{name}: this is a binary file, not an ARFF text file.")
    if "@data" not in text.lower() or "@attribute" not in text.lower():
        raise DataError(f"{name}: not an ARFF file (no @attribute / @data sections).")
    first = _first_data_row(text)
    sparse_format = bool(first) and first.startswith("{")
    try:
        obj = arff.load(io.StringIO(text), return_type=arff.COO if sparse_format else arff.DENSE, encode_nominal=True)
    except arff.ArffException as exc:
        raise DataError(f"{name}: malformed ARFF ({exc}).") from None
    except (ValueError, IndexError) as exc:
        raise DataError(f"{name}: malformed ARFF data ({exc}).") from None
    attrs = obj["attributes"]
    n_attr = len(attrs)
    if n_labels <= 0 or n_labels >= n_attr:
        raise DataError(
            f"{name}: the label header names {n_labels} labels but the file has {n_attr} attributes; "
            "at least one feature and one label are needed (labels are the last attributes)."
        )
    n_feat = n_attr - n_labels
    if sparse_format:
        values, rows, cols = obj["data"]
        values = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        n = int(rows.max()) + 1 if rows.size else 0
        full = sp.csr_matrix((values, (rows, cols)), shape=(n, n_attr))
    else:
        data = obj["data"]
        try:
            full = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{name}: non-numeric values in the data ({exc}).") from None
        if full.ndim != 2 or full.shape[0] == 0:
            raise DataError(f"{name}: no data rows.")
        full = sp.csr_matrix(full)
    if full.shape[0] == 0:
        raise DataError(f"{name}: no data rows.")
    if np.isnan(full.data).any():
        raise DataError(f"{name}: missing values ('?') are not supported; fill them in first.")
    X = full[:, :n_feat].astype(np.float32).tocsr()
    Y = full[:, n_feat:].tocsr()
    if Y.nnz and not np.isin(np.unique(Y.data), (0.0, 1.0)).all():
        raise DataError(f"{name}: label attributes must be 0/1, found other values; is the label count right?")
    Y.eliminate_zeros()
    Y = Y.astype(np.float32)
    X.eliminate_zeros()
    names = [a[0] for a in attrs]
    return ArffTable(obj.get("relation", ""), names[:n_feat], names[n_feat:], X, Y, sparse_format)


def read_arff(path: str | Path, n_labels: int) -> ArffTable:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return parse_arff(text, n_labels, name=path.name)
