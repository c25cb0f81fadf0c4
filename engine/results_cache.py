"""One on-disk cache for finished results (explanations, attacks, robustness runs, certificates).

``cached(kind, folders, key, compute, dump, load)``: the result stored under
``cache_dir()/kind/folders.../<sha256 of key>.json`` if it is there and readable, else
``compute()``, written atomically and returned. The key must name the model it was computed
with (the store root and the model's creation time, see ``model_key``), so a retrained model or
another store never reads an old result. ``compute`` raising (``Cancelled`` included) writes
nothing, so a cancelled run leaves no partial entry.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from engine.atomic import write_text_atomic
from engine.paths import result_cache_file

T = TypeVar("T")
_UNREADABLE = (OSError, ValueError, KeyError, TypeError, AttributeError)
REQUIRED_KEYS = ("store", "model_created")


def model_key(store_root: str | Path, manifest: dict) -> dict[str, Any]:
    """The part of every key that names the model: its store (resolved) and its creation time."""
    return {"store": str(Path(store_root).resolve()), "model_created": manifest.get("created")}


def cache_path(kind: str, folders: Sequence[str], key: dict) -> Path:
    missing = [k for k in REQUIRED_KEYS if k not in key]
    if missing:  # a programming error: a key without the model would serve stale results
        raise ValueError(f"a {kind} cache key must hold {', '.join(missing)} (see results_cache.model_key)")
    return result_cache_file(kind, *folders, key=key)


def lookup(kind: str, folders: Sequence[str], key: dict, load: Callable[[str], T]) -> T | None:
    """The cached result, or None when absent or unreadable (a damaged entry is recomputed)."""
    path = cache_path(kind, folders, key)
    if not path.is_file():
        return None
    try:
        return load(path.read_text())
    except _UNREADABLE:
        return None


def store(kind: str, folders: Sequence[str], key: dict, value: T, dump: Callable[[T], str]) -> T:
    """Save ``value``; a cache that cannot be written (read-only or full disk) costs only the reuse:
    the finished result is still returned, never lost."""
    try:
        write_text_atomic(cache_path(kind, folders, key), dump(value))
    except OSError as exc:
        logging.getLogger("xtrust.cache").warning("could not cache a %s result (%s)", kind, exc)
    return value


def cached(kind: str, folders: Sequence[str], key: dict, compute: Callable[[], T],
           dump: Callable[[T], str], load: Callable[[str], T]) -> T:
    """The cached result for ``key``, or ``compute()`` saved under it."""
    hit = lookup(kind, folders, key, load)
    if hit is not None:
        return hit
    return store(kind, folders, key, compute(), dump)
