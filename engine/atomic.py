"""Atomic writes of files and whole folders: readers see the old one or the new one, never half of one."""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable


def write_text_atomic(path: str | Path, text: str, fsync: bool = False) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place.

    A crash mid-write leaves only a ``.tmp-*`` file, which every reader ignores. ``fsync`` also
    flushes to disk before the rename (for files whose loss would orphan a model).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# -- whole folders: written beside the target, swapped in under a lock, leftovers only of dead writers --
# Used by the model store, user dataset imports and the parsed-dataset cache. A temporary folder is
# named ".tmp-<name>+<writer>+<random>" and a replaced one ".old-<name>+<writer>+<random>", where
# <writer> is "<pid>+<process start time>": a listing in another process removes a leftover only
# when its writer is gone (the start time guards against a reused pid), and puts an ".old-" back
# only under the same lock a live swap holds, so a swap in progress is never "recovered".
TMP_PREFIX, OLD_PREFIX = ".tmp-", ".old-"
LEGACY_GRACE_S = 3600  # a leftover named by an older XTrust (no writer in its name) counts as abandoned after this


def writer_tag() -> str:
    """'<pid>+<process start time in 1/100 s>' of this process: the pid alone may be reused."""
    import psutil

    p = psutil.Process()
    return f"{p.pid}+{round(p.create_time() * 100)}"


def writer_alive(name: str) -> bool | None:
    """Whether the process named in a leftover's name ('.tmp-<name>+<pid>+<start>+<random>') still
    runs; None for a name without a writer (written by an older XTrust)."""
    import psutil

    parts = name.split("+")
    if len(parts) != 4 or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    try:
        started = round(psutil.Process(int(parts[1])).create_time() * 100)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # it exists but cannot be inspected: never take it for gone
        return True
    return abs(started - int(parts[2])) <= 1


def abandoned(p: Path) -> bool:
    """A leftover whose writer is gone (or, for an older XTrust's name, that is over an hour old)."""
    alive = writer_alive(p.name)
    if alive is None:
        try:
            return time.time() - p.stat().st_mtime > LEGACY_GRACE_S
        except OSError:
            return False
    return not alive


@contextlib.contextmanager
def swap_lock(folder: Path):
    """An exclusive flock on ``folder`` around a swap and its recovery. The kernel releases it when
    the holder dies, so an '.old-*' seen under the lock is from a swap that died midway."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def new_temp_folder(final: Path) -> Path:
    """A fresh temporary folder beside ``final``, named after it and its writer."""
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=final.parent, prefix=f"{TMP_PREFIX}{final.name}+{writer_tag()}+"))


def swap_into_place(tmp: Path, final: Path) -> None:
    """Rename the complete folder ``tmp`` to ``final`` under the parent's lock; the previous
    ``final`` is moved aside first and removed once the new one is in place."""
    with swap_lock(final.parent):
        old = None
        if final.exists():
            old = final.parent / f"{OLD_PREFIX}{final.name}+{writer_tag()}+{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_folder_atomic(final: str | Path, fill: Callable[[Path], None]) -> None:
    """Make ``final`` hold exactly what ``fill(tmp)`` writes into a fresh temporary folder: readers
    see the old folder or the new one, never a mix; a crash leaves only named leftovers."""
    final = Path(final)
    tmp = new_temp_folder(final)
    try:
        fill(tmp)
        swap_into_place(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _leftover_target(rest: str) -> str:
    """The folder name a leftover belongs to: '<name>+<pid>+<start>+<rnd>', or an older XTrust's
    '<name>-<8 hex>' (model store) / '<name>' (user imports)."""
    if "+" in rest:
        return rest.split("+")[0]
    return rest.rsplit("-", 1)[0] if re.fullmatch(r".+-[0-9a-f]{8}", rest) else rest


def recover_folders(root: str | Path, complete: Callable[[Path], bool],
                    valid_name: Callable[[str], bool] = lambda name: True) -> None:
    """Remove temporary folders whose writer is gone; where a swap died between its two renames
    (``<name>`` missing or not ``complete``), put ``.old-<name>`` back; remove other ``.old-``."""
    root = Path(root)
    if not root.is_dir():
        return
    for p in list(root.iterdir()):
        if p.name.startswith(TMP_PREFIX) and p.is_dir() and abandoned(p):
            shutil.rmtree(p, ignore_errors=True)
    if not any(p.name.startswith(OLD_PREFIX) for p in root.iterdir()):
        return
    with swap_lock(root):  # no swap runs now: every .old-* left is from a swap that died midway
        for p in list(root.iterdir()):
            if not p.name.startswith(OLD_PREFIX) or not p.is_dir():
                continue
            rest = p.name[len(OLD_PREFIX):]
            if "+" not in rest and not abandoned(p):
                continue  # an older XTrust's swap, maybe still running (it took no lock)
            name = _leftover_target(rest)
            try:
                if valid_name(name) and not complete(root / name):
                    if (root / name).exists():
                        shutil.rmtree(root / name, ignore_errors=True)
                    os.replace(p, root / name)
                else:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                continue  # another process recovered it first
