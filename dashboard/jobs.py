"""Background jobs: long engine work in a thread, shared by every browser session.

``start(key, label, fn, *args)`` runs ``fn(*args, progress=job.progress)`` once per key (a key holds
the work's parameters, so two sessions asking the same thing share one run and its result);
``panel(job)`` draws its filling progress bar with the phase, elapsed time and an estimate of the
time left, a Cancel button, and after a failure or a cancel a "Try again" button; ``running(prefix)``
finds a job another session started (so a second browser sees a training in progress instead of
offering to start it again). A page is three lines: key, start on click, panel.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import streamlit as st

from engine.errors import Cancelled, XTrustError
from engine.pipeline import run_in_child

log = logging.getLogger("xtrust.dashboard")
MAX_JOBS = 64


@dataclass
class Job:
    """Long engine work in a thread. ``progress`` is the engine's ProgressFn; it returns False to cancel."""

    key: str
    label: str
    fraction: float = 0.0
    message: str = "starting"
    result: Any = None
    error: str | None = None
    cancelled: bool = False
    done: bool = False
    started: float = field(default_factory=time.time)
    finished: float | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _first_progress: tuple[float, float] | None = field(default=None, repr=False)  # (time, fraction)

    def progress(self, fraction: float, message: str = "") -> bool:
        self.fraction = float(min(max(fraction, 0.0), 1.0))
        self.message = message or self.message
        if self._first_progress is None and self.fraction > 0:
            self._first_progress = (time.time(), self.fraction)
        return not self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()
        self.message = "cancelling…"

    @property
    def cancelling(self) -> bool:
        return self._cancel.is_set() and not self.done

    @property
    def running(self) -> bool:
        return not self.done

    @property
    def ok(self) -> bool:
        return self.done and self.error is None and not self.cancelled

    @property
    def elapsed(self) -> float:
        return (self.finished or time.time()) - self.started

    def seconds_left(self) -> float | None:
        """Linear estimate from the progress made since the first report (None until it means something)."""
        if self._first_progress is None or self.done:
            return None
        t0, f0 = self._first_progress
        spent, made = time.time() - t0, self.fraction - f0
        if made < 0.02 or spent < 2:
            return None
        return spent / made * (1.0 - self.fraction)


@st.cache_resource(max_entries=1)
def _job_registry() -> tuple[dict[str, Job], threading.Lock]:
    """Shared by all sessions: the same job (same key = same params and seed) runs once."""
    return {}, threading.Lock()


def key_for(kind: str, **params) -> str:
    blob = json.dumps(params, sort_keys=True, default=str)
    return f"{kind}:{hashlib.sha1(blob.encode()).hexdigest()[:16]}"


def get(key: str | None) -> Job | None:
    if not key:
        return None
    jobs, lock = _job_registry()
    with lock:
        return jobs.get(key)


def running(prefix: str) -> list[Job]:
    """Jobs whose key starts with ``prefix`` that are still running, whichever session started them."""
    jobs, lock = _job_registry()
    with lock:
        return [j for k, j in jobs.items() if k.startswith(prefix) and j.running]


def start(key: str, label: str, fn: Callable[..., Any], *args, restart: bool = False,
          on_done: Callable[[], None] | None = None, in_child: bool = False, **kwargs) -> Job:
    """Run ``fn(*args, progress=job.progress, **kwargs)`` in a thread, unless the same job is running
    or already finished successfully (then its result is reused: results are cached by key).
    ``restart`` runs a finished job again (a retrain, a retry after a failure or a cancel).
    ``in_child``: the work itself runs in a child process (engine.child_process; fn must be a module-level
    function): trainings, which would otherwise slow every session of this server while they run."""
    jobs, lock = _job_registry()
    with lock:
        old = jobs.get(key)
        if old is not None and (old.running or (old.ok and not restart)):
            return old
        job = Job(key, label)
        jobs[key] = job
        if len(jobs) > MAX_JOBS:  # forget the oldest finished jobs
            for k, j in sorted(jobs.items(), key=lambda kv: kv[1].started):
                if len(jobs) <= MAX_JOBS:
                    break
                if j.done and k != key:
                    del jobs[k]

    def work():
        try:
            if in_child:
                job.result = run_in_child(fn, *args, progress=job.progress, cancelled=job._cancel.is_set, **kwargs)
            else:
                job.result = fn(*args, progress=job.progress, **kwargs)
            job.fraction, job.message = 1.0, "done"
        except Cancelled:
            job.cancelled, job.message = True, "cancelled"
        except XTrustError as exc:
            job.error = str(exc)
        except Exception as exc:  # never a traceback in the UI; the log keeps it
            log.exception("job %s failed", key)
            job.error = f"{label} failed unexpectedly ({type(exc).__name__}); see the server log."
        finally:
            job.finished = time.time()
            job.done = True
            if on_done is not None:
                try:
                    on_done()
                except Exception:
                    log.exception("job %s: on_done failed", key)

    threading.Thread(target=work, name=f"xtrust-{key}", daemon=True).start()
    return job


def training_prefix(dataset: str) -> str:
    """The key prefix of every training job of a dataset (a page finds running trainings by it)."""
    return f"train:{dataset}:"


def start_training(dataset: str, model_id: str, label: str, fn: Callable[..., Any], *args,
                   on_done: Callable[[], None] | None = None) -> Job:
    """Start (or restart) the training of ``model_id`` on ``dataset`` as a job keyed by
    ``training_prefix(dataset) + model_id``, in a child process like every dashboard training (a thread
    would hold the interpreter lock and slow every other session while it runs)."""
    return start(training_prefix(dataset) + model_id, f"training {label} on {dataset}", fn, *args,
                 restart=True, on_done=on_done, in_child=True)


def parts(progress: Callable, weights: list[float]) -> list[Callable]:
    """Split one ProgressFn over parts of given weights: part i reports its own [0, 1] and the bar
    fills by its share; each part's cancel answer is the whole job's."""
    total = float(sum(weights)) or 1.0
    out, lo = [], 0.0
    for w in weights:
        share = w / total

        def part(fraction: float, message: str = "", _lo=lo, _share=share):
            return progress(_lo + _share * min(max(fraction, 0.0), 1.0), message)
        out.append(part)
        lo += share
    return out


def each(items, progress: Callable | None, fn: Callable) -> dict:
    """{item: fn(item, part)} for each item in order, the bar split evenly over them and each part's
    messages prefixed with its item (e.g. the baseline and the robust model of the Compare page)."""
    items = list(items)
    steps = parts(progress, [1.0] * len(items)) if progress is not None else [None] * len(items)
    out = {}
    for item, step in zip(items, steps):
        out[item] = fn(item, None if step is None else
                       (lambda f, msg="", step=step, item=item: step(f, f"{item}: {msg}")))
    return out


def _time_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


time_text = _time_text  # "42 s" / "3.5 min", for other panels


def status_text(job: Job) -> str:
    text = f"{job.label}: {job.message} · {job.fraction:.0%} · {_time_text(job.elapsed)}"
    left = job.seconds_left()
    return text + (f" · about {_time_text(left)} left" if left is not None else "")


def panel(job: Job | None, key: str, retry: Callable[[], Any] | None = None) -> None:
    """While ``job`` runs: a progress bar that fills with the work done, the phase, elapsed time and
    the time left once known, and Cancel (re-drawn every 0.5 s; the page reruns when it finishes).
    Afterwards: the error or 'cancelled', with a Try again button when ``retry`` is given."""
    if job is None:
        return
    if job.done:
        if job.cancelled:
            st.warning(f"{job.label}: cancelled after {_time_text(job.elapsed)}; nothing partial was kept.")
        elif job.error:
            st.error(job.error)
        if (job.cancelled or job.error) and retry is not None:
            if st.button("Try again", key=f"retry-{key}", icon=":material/refresh:"):
                retry()
                st.rerun()
        return

    @st.fragment(run_every=0.5)
    def _panel():
        j = get(job.key)
        if j is None or j.done:
            st.rerun(scope="app")
        st.progress(j.fraction, text=status_text(j))
        if j.cancelling:
            st.caption("cancelling: the engine stops at its next progress check (a few seconds at most)")
        elif st.button("Cancel", key=f"cancel-{key}", icon=":material/stop:"):
            j.cancel()
            st.toast("cancelling…")

    _panel()
