"""Where XTrust keeps data, models and caches (all overridable by environment variables)."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from engine.errors import StorageError

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dirs() -> list[Path]:
    """Folders searched for dataset files, in order. Downloads go to the first one.

    XTRUST_DATA_DIR if set, else ``data/`` in the repo; then ``../shared/datasets`` beside the
    repo when it exists (a read-only mirror with the same layout).
    """
    dirs = [Path(os.environ["XTRUST_DATA_DIR"])] if os.environ.get("XTRUST_DATA_DIR") else [REPO_ROOT / "data"]
    shared = REPO_ROOT.parent / "shared" / "datasets"
    if shared.is_dir() and shared not in dirs:
        dirs.append(shared)
    return dirs


def model_dir() -> Path:
    """Root of the model store: XTRUST_MODEL_DIR, else ``models/`` in the repo."""
    return Path(os.environ.get("XTRUST_MODEL_DIR") or REPO_ROOT / "models")


def cache_dir() -> Path:
    """Parsed-dataset and result caches: XTRUST_CACHE_DIR, else ``cache/`` in the repo."""
    return Path(os.environ.get("XTRUST_CACHE_DIR") or REPO_ROOT / "cache")


def result_cache_file(kind: str, *folders: str, key: dict) -> Path:
    """A cached result's file: ``cache_dir()/kind/folders.../<sha256 of key>.json``. ``key`` holds
    every argument the result depends on (including the model's creation time), so a changed
    argument or a retrained model never reads an old result."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return cache_dir().joinpath(kind, *folders, f"{digest}.json")


def nltk_data_dir() -> Path:
    """Where WordNet is installed for NLTK (see scripts/install_wordnet.sh)."""
    return Path(os.environ.get("XTRUST_NLTK_DATA") or REPO_ROOT / "data" / "nltk_data")


def ensure_writable_dir(path: str | Path, what: str) -> Path:
    """Create ``path`` (with parents) if missing and prove it takes files by creating and removing a
    temporary file in it: permission bits lie (root ignores them; read-only mounts, immutable folders
    and full disks do not show in them). Call it before long work that will write there.

    ``what`` names the folder for the message, e.g. "model folder (XTRUST_MODEL_DIR)".
    Raises StorageError naming the folder, the path and the reason.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise StorageError(f"the {what} {path} is a file, not a folder: point it at a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path, prefix=".tmp-writable-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise StorageError(f"the {what} {path} is not writable ({exc.strerror or type(exc).__name__}): "
                           "choose a folder XTrust may write to.") from None
    return path


def check_readable_dir(path: str | Path, what: str, must_exist: bool = False) -> Path:
    """Raise StorageError if ``path`` exists but is not a folder XTrust can list (or, with
    ``must_exist``, does not exist). A missing optional folder is fine: nothing was saved there yet."""
    path = Path(path)
    if not path.exists():
        if must_exist:
            raise StorageError(f"the {what} {path} does not exist.")
        return path
    if not path.is_dir():
        raise StorageError(f"the {what} {path} is a file, not a folder: point it at a folder.")
    try:
        os.listdir(path)
    except OSError as exc:
        raise StorageError(f"the {what} {path} cannot be read ({exc.strerror or type(exc).__name__}).") from None
    return path


DATA_DIR_NAME = "data folder (XTRUST_DATA_DIR)"
MODEL_DIR_NAME = "model folder (XTRUST_MODEL_DIR)"
CACHE_DIR_NAME = "cache folder (XTRUST_CACHE_DIR)"


def check_storage(models: str = "read", cache: str = "read") -> None:
    """Preflight before long work: the data folder, the model folder and the cache folder are usable.

    models / cache: "read" (must be a readable folder if it exists) or "write" (created if missing
    and proven writable). Raises StorageError naming the first unusable folder.
    """
    check_readable_dir(data_dirs()[0], DATA_DIR_NAME)
    (ensure_writable_dir if models == "write" else check_readable_dir)(model_dir(), MODEL_DIR_NAME)
    (ensure_writable_dir if cache == "write" else check_readable_dir)(cache_dir(), CACHE_DIR_NAME)


def storage_problems() -> list[str]:
    """Messages for every unusable folder (the dashboard shows them): data / models / cache
    unreadable, models or cache not writable. Empty when all is well."""
    problems = []
    for check in (lambda: check_readable_dir(data_dirs()[0], DATA_DIR_NAME),
                  lambda: ensure_writable_dir(model_dir(), MODEL_DIR_NAME),
                  lambda: ensure_writable_dir(cache_dir(), CACHE_DIR_NAME)):
        try:
            check()
        except StorageError as exc:
            problems.append(str(exc))
    return problems
