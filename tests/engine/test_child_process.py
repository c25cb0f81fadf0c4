"""engine.child_process: a training's work in a spawned child, with progress, Cancel and errors back."""
from __future__ import annotations

import os
import time

import pytest

from engine.child_process import run_in_child
from engine.errors import Cancelled, DataError


def counting(n, progress=None):
    """Reports n steps and returns the child's pid (proves the work ran elsewhere)."""
    for i in range(n):
        if progress(i / n, f"step {i + 1}/{n}") is False:
            raise Cancelled(f"cancelled at step {i + 1}")
    return os.getpid()


def reporting_forever(progress=None):
    while progress(0.5, "working") is not False:
        time.sleep(0.01)
    raise Cancelled("stopped")


def silent_forever(progress=None):
    """A phase that never reports (a long uninterruptible library call)."""
    progress(0.1, "one report")
    time.sleep(600)


def refusing(progress=None):
    raise DataError("the dataset has no test split")


def crashing(progress=None):
    raise ZeroDivisionError("boom")


def test_result_and_progress_come_back_from_another_process():
    seen = []
    pid = run_in_child(counting, 5, progress=lambda f, m="": seen.append((f, m)) or True)
    assert pid != os.getpid()
    assert [m for _, m in seen] == [f"step {i}/5" for i in range(1, 6)]
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)


def test_cancel_from_the_progress_answer_stops_the_child():
    t0 = time.monotonic()
    calls = []
    with pytest.raises(Cancelled):
        run_in_child(reporting_forever, progress=lambda f, m="": calls.append(m) or len(calls) < 3)
    assert time.monotonic() - t0 < 30


def test_cancel_during_a_silent_phase_terminates_the_child_after_the_grace_time():
    asked = time.monotonic() + 3  # Cancel pressed 3 s in, while the child reports nothing
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        run_in_child(silent_forever, progress=lambda f, m="": True, cancelled=lambda: time.monotonic() > asked,
                     grace_s=1.0)
    assert time.monotonic() - t0 < 30  # not the child's 600 s


def test_errors_keep_their_type_and_message_and_crashes_say_what_happened():
    with pytest.raises(DataError, match="no test split"):
        run_in_child(refusing)
    with pytest.raises(RuntimeError, match="ZeroDivisionError: boom"):
        run_in_child(crashing)
