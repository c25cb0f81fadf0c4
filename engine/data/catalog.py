"""Every dataset by name: the built-in benchmarks (engine/data/dataset.py) and the user's imports
(engine/data/user_data.py). The only module that knows both kinds."""
from __future__ import annotations

from engine.data.dataset import DATASETS, load_builtin
from engine.data.user_data import list_user_datasets, load_user_dataset
from engine.errors import InputError
from engine.types import Dataset


def list_datasets() -> list[str]:
    """Built-in names first, then imported ones."""
    return list(DATASETS) + [d for d in list_user_datasets() if d not in DATASETS]


def load_dataset(name: str, download: bool = True, progress=None) -> Dataset:
    """A dataset by name: built-in (downloaded if missing and allowed) or imported."""
    if isinstance(name, str) and name in DATASETS:
        return load_builtin(name, download=download, progress=progress)
    user = load_user_dataset(name) if isinstance(name, str) and name in list_user_datasets() else None
    if user is None:
        raise InputError(f"unknown dataset {name!r}: choose one of {', '.join(list_datasets())}.")
    return user


def import_of(ds: Dataset) -> Dataset | None:
    """``ds`` when it is an imported dataset stored right now (call before long work on it, and hand the
    result to ``ModelStore.save(source=...)``), else None: built-ins, and datasets that were never stored
    (made in memory), are not checked."""
    return ds if ds.name not in DATASETS and ds.name in list_user_datasets() else None


def check_unchanged(ds: Dataset) -> None:
    """Refuse (DataError) when the imported dataset ``ds`` (stored when the work began: ``import_of``) was
    deleted or replaced by another import since: what was computed from it (a model) must not be saved
    under its name."""
    from engine.data.user_data import stored_checksums
    from engine.errors import DataError

    if ds.name not in list_user_datasets():
        raise DataError(f"the dataset {ds.name!r} was deleted while this work ran; nothing was saved.")
    if stored_checksums(ds.name) != ds.checksums:  # meta.json alone: a replaced dataset is not loaded to compare
        raise DataError(f"the dataset {ds.name!r} was replaced by another import while this work ran; nothing "
                        "was saved (train again on the new data).")
