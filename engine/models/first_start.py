"""Ready at first start: on a fresh install the default dataset's X-Transformer is trained in the
background, once, without being asked (XR-Linear, trained in seconds, serves in the meantime).

One training per dataset across every server and browser: a claim file
``<model dir>/<dataset>/.first-start-xtransformer.json`` is created exclusively (O_EXCL) by the
process that trains, holds its writer tag (pid + process start time, engine.atomic.writer_tag) and
its progress (rewritten atomically about once a second), so every other process reads the state
instead of starting another run. A claim whose writer is gone (a killed or restarted server) is
stale and is taken over: training starts again from the beginning -- PECOS' X-Transformer has no
checkpoint to resume from. A cancel (from any process) is a request file the trainer's progress
check sees; a cancelled or failed run stays so (no retry loop) until ``reset``.

``XTRUST_AUTO_TRAIN=0`` turns it off (CI, the test suite, small machines).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.atomic import write_text_atomic, writer_alive, writer_tag
from engine.errors import Cancelled, XTrustError
from engine.models.store import ModelStore
from engine.types import ProgressFn

ENV = "XTRUST_AUTO_TRAIN"
DEFAULT_DATASET = "bibtex"  # the dashboard's default dataset
MODEL_ID = "xtransformer"
# fits 10 minutes on 2 CPU cores for BibTeX (README: 116 s on a quiet machine, 473 s on a busy one): 32 tokens,
# one flat fine-tuning epoch (whether to fine-tune at all is the dataset's cross-validated choice, tuned_defaults)
PARAMS = {"max_tokens": 32, "fine_tune_flat": True, "threads": 2}
EXPECTED_SECONDS = 300.0  # the estimate shown until the run's own progress gives a better one
_WRITE_EVERY_S = 1.0


def enabled() -> bool:
    """Whether first-start training is on (XTRUST_AUTO_TRAIN unset or anything but 0/false/no/off)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _default_trainer(dataset: str, store: ModelStore, progress: ProgressFn):
    from engine.data import load_dataset
    from engine.models import families
    from engine.models.runtime import train_model

    ds = load_dataset(dataset)
    params = families.family("xtransformer").default_params(ds, **PARAMS)
    return train_model(ds, "xtransformer", params=params, store=store, progress=progress, model_id=MODEL_ID)


# the training function (dataset, store, progress) -> ModelInfo; tests inject a tiny one
trainer: Callable = _default_trainer


@dataclass
class Status:
    """state: "running" (alive: its writer process still runs; False means stale), "cancelled" or "failed"."""

    dataset: str
    state: str
    writer: str
    started: float
    updated: float
    fraction: float = 0.0
    message: str = ""
    error: str = ""
    alive: bool = True

    @property
    def running(self) -> bool:
        return self.state == "running" and self.alive

    def seconds_left(self, now: float | None = None) -> float:
        """Time until the model is ready: from the run's own rate once it has made progress, else the
        expected duration minus the time spent."""
        now = now or time.time()
        spent = max(0.0, now - self.started)
        if self.fraction >= 0.05 and spent > 5:
            return spent / self.fraction * (1.0 - self.fraction)
        return max(0.0, EXPECTED_SECONDS - spent)


def _dir(dataset: str, store: ModelStore) -> Path:
    return Path(store.root) / dataset


def claim_path(dataset: str, store: ModelStore | None = None) -> Path:
    return _dir(dataset, store or ModelStore()) / f".first-start-{MODEL_ID}.json"


def _cancel_path(dataset: str, store: ModelStore) -> Path:
    return _dir(dataset, store) / f".first-start-{MODEL_ID}.cancel"


def _alive(tag: str) -> bool:
    # writer_alive reads a leftover's name: '<prefix>+<pid>+<start>+<random>'
    return writer_alive(f"claim+{tag}+0") is not False


def status(dataset: str, store: ModelStore | None = None) -> Status | None:
    """The first-start training of ``dataset`` as its claim file tells (None: never started or done)."""
    store = store or ModelStore()
    try:
        d = json.loads(claim_path(dataset, store).read_text())
        st = Status(dataset=dataset, state=str(d["state"]), writer=str(d["writer"]), started=float(d["started"]),
                    updated=float(d.get("updated", d["started"])), fraction=float(d.get("fraction", 0.0)),
                    message=str(d.get("message", "")), error=str(d.get("error", "")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):  # half-written by an older run: treat as stale
        return Status(dataset, "running", "", 0.0, 0.0, alive=False)
    st.alive = st.state != "running" or _alive(st.writer)
    return st


def _has_model(dataset: str, store: ModelStore) -> bool:
    return any(i.model_id == MODEL_ID for i in store.list(dataset))


def wanted(dataset: str, store: ModelStore | None = None) -> bool:
    """Whether first-start training should start now: on, the default dataset, no X-Transformer
    yet, and no live, cancelled or failed run."""
    store = store or ModelStore()
    if not enabled() or dataset != DEFAULT_DATASET or _has_model(dataset, store):
        return False
    st = status(dataset, store)
    return st is None or (st.state == "running" and not st.alive)


def _write(path: Path, st: Status) -> None:
    write_text_atomic(path, json.dumps({"state": st.state, "writer": st.writer, "started": st.started,
                                        "updated": st.updated, "fraction": st.fraction, "message": st.message,
                                        "error": st.error}))


def claim(dataset: str, store: ModelStore | None = None) -> bool:
    """Take the claim to train (True) if training is wanted and no live process holds it; a stale
    claim (its writer is gone) is taken over. Exactly one of many concurrent callers wins."""
    store = store or ModelStore()
    if not wanted(dataset, store):
        return False
    path = claim_path(dataset, store)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():  # stale (wanted() said so): move it aside; of two takers only one rename succeeds
        try:
            os.replace(path, path.with_name(f"{path.name}.stale-{writer_tag()}"))
        except FileNotFoundError:
            return False
        for p in path.parent.glob(f"{path.name}.stale-*"):
            p.unlink(missing_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    now = time.time()
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps({"state": "running", "writer": writer_tag(), "started": now, "updated": now,
                            "fraction": 0.0, "message": "starting"}))
    _cancel_path(dataset, store).unlink(missing_ok=True)
    return True


def cancel(dataset: str, store: ModelStore | None = None) -> None:
    """Ask the running first-start training (in whichever process) to stop at its next progress check."""
    store = store or ModelStore()
    write_text_atomic(_cancel_path(dataset, store), str(time.time()))


def reset(dataset: str, store: ModelStore | None = None) -> None:
    """Forget a cancelled or failed run so that the next ``claim`` starts again (a live one is kept)."""
    store = store or ModelStore()
    st = status(dataset, store)
    if st is not None and not st.running:
        claim_path(dataset, store).unlink(missing_ok=True)


def claimant() -> str:
    """The writer tag this process claims with (what a child process it hands the claim to is told)."""
    return writer_tag()


def uses_child_process() -> bool:
    """Whether the training can run in a child process (engine.child_process): only the real trainer,
    which a fresh interpreter imports by itself; an injected one (tests) runs where it was injected."""
    return trainer is _default_trainer


def run(dataset: str, store: ModelStore | None = None, progress: ProgressFn | None = None,
        handed_over_from: str | None = None):
    """Train the claimed first-start model (call after ``claim`` returned True, in a background thread or
    a child process): progress goes to the claim file (and ``progress``); a cancel request stops it. On
    success the claim file is removed (the model's presence says it is done); otherwise it records why.

    handed_over_from: the writer tag of the process that claimed (a server that runs the training in a
    child process, engine.child_process): this process takes the claim over, so that the claim names the
    process that trains -- its death makes the claim stale and a restarted server trains again.
    Stopped by anything but a cancel request (``progress`` answered False: the server that started it is
    gone or stopping), the claim is removed, so the next page load of any server starts it again."""
    store = store or ModelStore()
    path = claim_path(dataset, store)
    st = status(dataset, store)
    if st is not None and handed_over_from is not None and st.writer == handed_over_from and st.state == "running":
        st.writer, st.updated = writer_tag(), time.time()
        _write(path, st)
    if st is None or st.writer != writer_tag() or st.state != "running":
        raise XTrustError(f"the first-start training of {dataset} is not claimed by this process.")
    cancel_file = _cancel_path(dataset, store)
    last = [0.0]

    def report(fraction: float, message: str = "") -> bool:
        st.fraction, st.message = float(min(max(fraction, 0.0), 1.0)), message or st.message
        now = time.time()
        if now - last[0] >= _WRITE_EVERY_S:
            st.updated, last[0] = now, now
            _write(path, st)
        go_on = progress(st.fraction, st.message) if progress is not None else True
        return go_on is not False and not cancel_file.exists()

    try:
        info = trainer(dataset, store, report)
    except Cancelled:
        if cancel_file.exists():  # asked for: it stays cancelled until "Train it now"
            st.state, st.message = "cancelled", "cancelled"
            _write(path, st)
        else:  # interrupted (its server went away): started again from the beginning on the next page load
            path.unlink(missing_ok=True)
        raise
    except Exception as exc:
        st.state = "failed"
        st.error = str(exc) if isinstance(exc, XTrustError) else f"{type(exc).__name__} (see the server log)"
        _write(path, st)
        raise
    finally:
        cancel_file.unlink(missing_ok=True)
    path.unlink(missing_ok=True)
    return info
