"""The bad-input corpus recorder: every case is classified (expect-error or expect-ok-or-clear-message),
run, checked, and counted. conftest.py prints the counts and writes test-artifacts/reliability_counts.json."""
from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any, Callable, Iterable

from engine.errors import XTrustError

_LOCK = threading.Lock()
CASES: dict[str, dict] = {}  # case id -> {"category", "expect", "passed", "detail"}


def record(case_id: str, category: str, expect: str, passed: bool, detail: str = "") -> None:
    with _LOCK:
        CASES[case_id] = {"category": category, "expect": expect, "passed": bool(passed), "detail": detail[:300]}


def summary() -> dict:
    by_cat: dict[str, dict[str, int]] = defaultdict(lambda: {"ran": 0, "passed": 0})
    by_expect: dict[str, dict[str, int]] = defaultdict(lambda: {"ran": 0, "passed": 0})
    for c in CASES.values():
        for d, k in ((by_cat, c["category"]), (by_expect, c["expect"])):
            d[k]["ran"] += 1
            d[k]["passed"] += int(c["passed"])
    return {"ran": len(CASES), "passed": sum(c["passed"] for c in CASES.values()),
            "by_category": dict(sorted(by_cat.items())), "by_expectation": dict(sorted(by_expect.items())),
            "failed": sorted(k for k, c in CASES.items() if not c["passed"])}


def _names_it(msg: str, names: Iterable[str]) -> bool:
    names = list(names)
    low = msg.lower()
    return not names or any(str(n).lower() in low for n in names)


def expect_error(case_id: str, category: str, fn: Callable[..., Any], *args, names: Iterable[str] = (),
                 **kwargs) -> XTrustError:
    """``fn(*args, **kwargs)`` must raise an XTrustError whose non-empty message contains one of ``names``
    (the offending thing: a file name, a parameter, a value). A raw exception or a result fails the case."""
    names = list(names)
    try:
        out = fn(*args, **kwargs)
    except XTrustError as exc:
        msg = str(exc)
        ok = bool(msg.strip()) and _names_it(msg, names)
        record(case_id, category, "expect-error", ok, msg)
        assert ok, f"{case_id}: message {msg!r} does not name any of {names}"
        return exc
    except Exception as exc:  # noqa: BLE001 - a raw exception is exactly what the corpus hunts for
        record(case_id, category, "expect-error", False, f"{type(exc).__name__}: {exc}")
        raise AssertionError(f"{case_id}: raw {type(exc).__name__} instead of an XTrustError: {exc}") from exc
    record(case_id, category, "expect-error", False, f"returned {type(out).__name__}")
    raise AssertionError(f"{case_id}: expected an XTrustError, got a result {type(out).__name__}")


def expect_ok_or_message(case_id: str, category: str, fn: Callable[..., Any], *args,
                         valid: Callable[[Any], bool] = lambda out: out is not None, **kwargs) -> Any:
    """No crash: either a result that ``valid`` accepts, or an XTrustError with a non-empty message."""
    try:
        out = fn(*args, **kwargs)
    except XTrustError as exc:
        ok = bool(str(exc).strip())
        record(case_id, category, "expect-ok-or-clear-message", ok, f"message: {exc}")
        assert ok, f"{case_id}: empty error message"
        return exc
    except Exception as exc:  # noqa: BLE001
        record(case_id, category, "expect-ok-or-clear-message", False, f"{type(exc).__name__}: {exc}")
        raise AssertionError(f"{case_id}: raw {type(exc).__name__}: {exc}") from exc
    ok = bool(valid(out))
    record(case_id, category, "expect-ok-or-clear-message", ok, f"result {type(out).__name__}")
    assert ok, f"{case_id}: result {out!r} is not valid"
    return out
