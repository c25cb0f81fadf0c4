"""Work started once per process (per key) in a daemon thread, so that a later call does not wait for it: the
slow imports and loads of IBM ART, WordNet, Captum and PECOS' Python weights. Errors are left to the real
call, which reports them with its message. ``wait_all`` is what a benchmark calls to time a server that has
finished what it warms in the background."""
from __future__ import annotations

import threading
import time
from typing import Callable, Hashable

_STARTED: dict[Hashable, threading.Thread] = {}
_LOCK = threading.Lock()


def start_once(key: Hashable, work: Callable[[], object], name: str) -> threading.Thread:
    """Run ``work()`` in a daemon thread named ``xtrust-<name>-warm-up``, unless one was started for ``key``
    in this process already -> that thread."""
    def run() -> None:
        try:
            work()
        except Exception:  # noqa: BLE001 - the real call reports it with its message
            pass

    with _LOCK:
        t = _STARTED.get(key)
        if t is None:
            t = _STARTED[key] = threading.Thread(target=run, name=f"xtrust-{name}-warm-up", daemon=True)
            t.start()
        return t


def wait_all(timeout: float | None = None) -> float:
    """Wait for every thread started here (each up to ``timeout`` s) -> seconds waited."""
    t0 = time.perf_counter()
    with _LOCK:
        threads = list(_STARTED.values())
    for t in threads:
        t.join(timeout)
    return round(time.perf_counter() - t0, 3)
