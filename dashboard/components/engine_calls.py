"""Engine calls with their errors shown as messages, and the page's selection."""
from __future__ import annotations

import logging
from typing import Any, Callable

import streamlit as st

from dashboard import state
from engine.errors import XTrustError

log = logging.getLogger("xtrust.dashboard")
FAILED = object()  # what call() returns when the engine call failed (a message is already shown)


def call(fn: Callable[..., Any], *args, what: str = "this step", **kwargs) -> Any:
    """Run one engine call; on failure show a clear message (never a traceback) and return FAILED.

    XTrustError -> st.error(its message); anything else is a bug: a short st.error here and the
    traceback in the server log.
    """
    try:
        return fn(*args, **kwargs)
    except XTrustError as exc:
        st.error(str(exc))
    except Exception as exc:
        log.exception("%s failed", what)
        st.error(f"{what.capitalize()} failed unexpectedly ({type(exc).__name__}). The details are in the server log.")
    return FAILED


def failed(value: Any) -> bool:
    return value is FAILED


K_THROUGH_APP = "_through_app"  # set by app.py on each run: this session's pages run through it


def require_app() -> None:
    """Run this page through app.py (sidebar, URL handling, navigation), never as a file on its own.

    Until the first st.navigation call in the server process, Streamlit treats a folder named pages/
    beside the entry point as old-style pages (PagesManager.uses_pages_directory): a fresh server's
    first request for /predict runs pages/predict.py alone, without the sidebar. Turn that mode off
    as st.navigation does, and run again (once): the page hash is the same, so the same page opens.
    """
    ss = st.session_state
    if ss.get(K_THROUGH_APP) or ss.get("_through_app_tried"):
        return
    from streamlit.runtime.pages_manager import PagesManager

    ss["_through_app_tried"] = True
    PagesManager.uses_pages_directory = False
    st.rerun()


def require_selection() -> tuple[str, str, int, int]:
    """(dataset, model_id, doc, top_k) when the sidebar selection is usable; else explain and stop."""
    require_app()
    ok, why = state.ready()
    if not ok:
        st.error(why or "Choose a dataset in the sidebar.")
        st.stop()
    return state.selection()


def version() -> str:
    dataset, model_id, _, _ = state.selection()
    return state.model_version(dataset, model_id)
