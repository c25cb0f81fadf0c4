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


def saved_model_info(progress=None):
    from pathlib import Path

    from engine.models.store import ModelInfo

    return ModelInfo("bibtex", "xlinear", Path("/tmp/x"), {"metrics": {"P@1": 0.65}, "family": "xlinear"})


def test_results_and_calls_travel_as_json_never_pickled():
    """A dataclass result (a saved model's ModelInfo) comes back rebuilt from its fields; a function the
    child could not import (defined inside another) is refused before anything starts."""
    from pathlib import Path

    from engine.models.store import ModelInfo

    info = run_in_child(saved_model_info)
    assert isinstance(info, ModelInfo) and info.path == Path("/tmp/x") and info.metrics == {"P@1": 0.65}

    def local(progress=None):
        return 1

    with pytest.raises(TypeError, match="module-level"):
        run_in_child(local)
