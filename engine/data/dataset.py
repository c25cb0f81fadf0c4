"""The built-in benchmark datasets (BibTeX, Delicious, MediaMill) as :class:`engine.types.Dataset`,
parsed once and cached on disk. ``engine.data.catalog.load_dataset`` serves these and user datasets."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from engine.data.arff import check_same_layout, read_arff
from engine.atomic import write_folder_atomic
from engine.data.build import build_dataset, read_split_arrays, write_split_arrays
from engine.data.download import ensure_files, missing_files, sha256_of
from engine.data.label_xml import read_label_xml
from engine.data.sources import SOURCES, DatasetSource
from engine.errors import DataError, InputError
from engine.paths import cache_dir
from engine.types import Dataset

DATASETS = tuple(SOURCES)  # ("bibtex", "delicious", "mediamill")
SAMPLE_TEST_FRACTION = 0.2
SAMPLE_SPLIT_SEED = 0
# Part of the cache key: bump it whenever parsing changes what a cached dataset holds, so that no old
# parse is reused (2: labels matched to ARFF attributes by name, not taken as the last L by position).
PARSE_VERSION = 2


def pick_source(name: str) -> DatasetSource:
    """The first source of ``name`` whose files are all present, else the preferred one."""
    if name not in SOURCES:
        raise InputError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}.")
    for src in SOURCES[name]:
        if not missing_files(src):
            return src
    return SOURCES[name][0]


def load_builtin(name: str, download: bool = True, progress=None) -> Dataset:
    """Load a benchmark dataset by name (bibtex, delicious, mediamill).

    MediaMill falls back to the real 2,500-row sample (``is_sample=True``) when the full files
    are absent. Raises DataError with what to do when files are missing and cannot be fetched.
    """
    src = pick_source(name)
    if name == "mediamill" and not src.is_sample and missing_files(src):
        sample = SOURCES[name][1]
        if not missing_files(sample):
            src = sample
    paths = ensure_files(src, download=download and not src.is_sample, progress=progress)
    checksums = {rel: (f.sha256 or sha256_of(paths[rel])) for rel, f in ((f.relpath, f) for f in src.files)}
    return _load_cached(src.name, src.is_sample, tuple(sorted(checksums.items())), tuple(sorted((k, str(v)) for k, v in paths.items())))


@lru_cache(maxsize=8)
def _load_cached(name: str, is_sample: bool, checksums: tuple, paths: tuple) -> Dataset:
    src = next(s for s in SOURCES[name] if s.is_sample == is_sample)
    paths_d = {k: Path(v) for k, v in paths}
    key = "-".join(v[:10] for _, v in checksums)
    cache = cache_dir() / "datasets" / f"{name}{'-sample' if is_sample else ''}-p{PARSE_VERSION}-{key}"
    if (cache / "meta.json").is_file():
        try:
            return _read_cache(cache, src, dict(checksums))
        except Exception:  # a damaged cache is rebuilt, never trusted
            pass
    ds = _parse(src, paths_d, dict(checksums))
    _write_cache(cache, ds)
    return ds


def _parse(src: DatasetSource, paths: dict[str, Path], checksums: dict[str, str]) -> Dataset:
    labels = read_label_xml(paths[src.labels_xml])
    if len(labels) != src.n_labels:
        raise DataError(f"{src.labels_xml}: expected {src.n_labels} labels, found {len(labels)}.")
    train = read_arff(paths[src.train], labels, labels_file=Path(src.labels_xml).name)
    warnings = list(train.warnings)
    if src.test is not None:
        test = read_arff(paths[src.test], labels, labels_file=Path(src.labels_xml).name)
        check_same_layout(train, test, Path(src.train).name, Path(src.test).name)
        warnings += [w for w in test.warnings if w not in warnings]
        Xtr, Ytr, Xte, Yte = train.X, train.Y, test.X, test.Y
    else:
        rng = np.random.default_rng(SAMPLE_SPLIT_SEED)
        perm = rng.permutation(train.X.shape[0])
        n_test = int(round(SAMPLE_TEST_FRACTION * perm.size))
        te, tr = np.sort(perm[:n_test]), np.sort(perm[n_test:])
        Xtr, Ytr, Xte, Yte = train.X[tr], train.Y[tr], train.X[te], train.Y[te]
    return build_dataset(src.name, train.feature_names, labels, Xtr, Ytr, Xte, Yte, src.kind, src.is_sample, checksums,
                  src.note, warnings)


def _write_cache(cache: Path, ds: Dataset) -> None:
    try:
        write_folder_atomic(cache, lambda tmp: write_split_arrays(tmp, ds))
    except OSError:
        pass  # caching is an optimisation; a read-only disk still works


def _read_cache(cache: Path, src: DatasetSource, checksums: dict) -> Dataset:
    ds = read_split_arrays(cache)
    if ds.checksums != checksums:
        raise ValueError("stale cache")
    return ds
