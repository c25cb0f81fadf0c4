"""Run long engine work (a training) in a child process, with the caller's progress callback and Cancel.

Why a process and not a thread: a training holds the interpreter lock for long stretches (ART's
attack loops, scikit-learn's featurising), so a server that trains in a thread answers every other
session slowly while it runs. The child is a fresh interpreter (``python -c``; not multiprocessing,
whose spawn re-runs the parent's ``__main__`` -- under Streamlit that is the page script), started
with the parent's import path and environment. The call goes to it as one JSON line on stdin (the
function by its module and name, plain arguments); it sends back JSON lines -- ``progress`` reports and
one outcome -- on a private copy of its stdout (its own fd 1 is pointed
at stderr, so a library's print cannot corrupt the stream). Cancel is one byte on its stdin, which
the child's next progress check answers with "stop". A child that does not stop within ``grace_s``
(a library call that reports nothing for minutes) is terminated: every model and result the engine
writes goes to a temp folder first and is renamed into place, so a killed child leaves nothing
partial behind (the store's recovery removes a dead writer's temp folder).

Nothing is unpickled: arguments and results are JSON (a dataclass result, e.g. a saved model's
ModelInfo, is rebuilt from its fields), so ``fn`` must be a module-level function with JSON arguments.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from engine.errors import Cancelled, XTrustError
from engine.types import ProgressFn

POLL_S = 0.2
GRACE_S = 10.0  # after a cancel, how long the child may take to reach its next progress check
_CANCEL = b"c"


def child_main() -> None:
    """The child's side (``python -c 'from engine.child_process import child_main; child_main()'``):
    read the call from stdin, run it, send ["progress", f, msg] while it works, then exactly one outcome:
    ["result", value] | ["cancelled", msg] | ["error", class name, msg] | ["crash", text]."""
    try:  # the server that started it keeps answering its sessions first
        os.nice(5)
    except (AttributeError, OSError):
        pass
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints go to stderr, not into the message stream
    sys.stdout = sys.stderr
    stdin = sys.stdin.buffer
    call = json.loads(stdin.readline())
    fn = getattr(importlib.import_module(call["module"]), call["name"])
    args, kwargs = call["args"], call["kwargs"]
    cancel = threading.Event()
    lock = threading.Lock()

    def watch_stdin() -> None:  # a cancel byte, or EOF (the parent is gone): stop at the next check
        stdin.read(1)
        cancel.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    def send(msg) -> None:
        line = json.dumps(msg, default=str)
        with lock:
            out.write(line + "\n")
            out.flush()

    def progress(fraction: float, message: str = "") -> bool:
        try:
            send(("progress", float(fraction), str(message)))
        except (BrokenPipeError, OSError):
            return False
        return not cancel.is_set()

    try:
        outcome = ("result", _to_json(fn(*args, progress=progress, **kwargs)))
    except Cancelled as exc:
        outcome = ("cancelled", str(exc))
    except XTrustError as exc:
        outcome = ("error", type(exc).__name__, str(exc))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which logs it
        import traceback

        outcome = ("crash", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    try:
        send(outcome)
    except Exception:  # a result JSON cannot hold: say so rather than leave the parent guessing
        send(("crash", f"the result of {getattr(fn, '__name__', fn)} could not be sent back"))
    out.close()


def _to_json(value: Any) -> Any:
    """A result as JSON: a dataclass as {"__dataclass__": "module:Name", "fields": {...}}."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        return {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}}
    return value


def _from_json(value: Any) -> Any:
    """The inverse of _to_json (Path fields made Paths again)."""
    if isinstance(value, dict) and set(value) == {"__dataclass__", "fields"}:
        module, name = value["__dataclass__"].split(":")
        cls = getattr(importlib.import_module(module), name)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {k: (Path(v) if v is not None and "Path" in str(fields[k].type) else v)
                  for k, v in value["fields"].items() if k in fields}
        return cls(**kwargs)
    return value


def _read_messages(stream, inbox: queue.Queue) -> None:
    try:
        for line in stream:
            inbox.put(json.loads(line))
    except Exception:  # the child wrote something that is not ours
        pass
    inbox.put(None)  # EOF: the child exited


def run_in_child(fn: Callable, *args, progress: ProgressFn | None = None,
                 cancelled: Callable[[], bool] | None = None, grace_s: float = GRACE_S, **kwargs) -> Any:
    """``fn(*args, progress=..., **kwargs)`` in a child process; returns its result.

    ``progress`` gets the child's reports; when it returns False, or ``cancelled()`` says so between
    reports, the child is asked to stop (and terminated if it has not within ``grace_s``), and
    Cancelled is raised here. The child's XTrustError is raised here as it was; anything else as
    RuntimeError with the child's traceback text.
    """
    if "<locals>" in fn.__qualname__:
        raise TypeError(f"{fn.__qualname__} is not a module-level function: a child process cannot import it")
    payload = (json.dumps({"module": fn.__module__, "name": fn.__name__, "args": list(args), "kwargs": kwargs})
               + "\n").encode("utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    child = subprocess.Popen([sys.executable, "-c", "from engine.child_process import child_main; child_main()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=False)
    child.stdin.write(payload)
    child.stdin.flush()
    inbox: queue.Queue = queue.Queue()
    threading.Thread(target=_read_messages, args=(child.stdout, inbox), daemon=True).start()
    cancelled_at = None
    outcome = None

    def ask_to_stop() -> float:
        try:
            child.stdin.write(_CANCEL)
            child.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        return time.monotonic()

    try:
        while outcome is None:
            try:
                msg = inbox.get(timeout=POLL_S)
            except queue.Empty:
                msg = "idle"
            if msg is None:  # the stream ended without an outcome
                break
            if msg == "idle":
                if cancelled is not None and cancelled_at is None and cancelled():
                    cancelled_at = ask_to_stop()
            elif msg[0] == "progress":
                if progress is not None and progress(msg[1], msg[2]) is False and cancelled_at is None:
                    cancelled_at = ask_to_stop()
            else:
                outcome = msg
            if outcome is None and cancelled_at is not None and time.monotonic() - cancelled_at > grace_s:
                child.terminate()
                outcome = ("cancelled", "cancelled (the work was stopped)")
    finally:
        try:
            child.stdin.close()
        except OSError:
            pass
        try:
            child.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)
    if outcome is None:
        if cancelled_at is not None:
            raise Cancelled("cancelled")
        raise RuntimeError(f"the child process running {getattr(fn, '__name__', fn)} exited with code "
                           f"{child.returncode} before it finished (see the server log)")
    kind = outcome[0]
    if kind == "result":
        return _from_json(outcome[1])
    if kind == "cancelled":
        raise Cancelled(outcome[1])
    if kind == "error":
        from engine import errors

        cls = getattr(errors, outcome[1], XTrustError)
        raise (cls if isinstance(cls, type) and issubclass(cls, XTrustError) else XTrustError)(outcome[2])
    raise RuntimeError(outcome[1])
