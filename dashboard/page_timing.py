"""Each dashboard page's first render on one dataset and model, and what it sends to the browser, measured
with Streamlit's AppTest in this process (issue 16: every page <= 2 s once the model is loaded, nothing
dense in the label dimension). ``engine.bench_pages`` runs this in a child process (the engine never
imports Streamlit): ``python -m dashboard.page_timing --dataset D --model M`` prints one JSON object.

AppTest runs the app's script as the server would (the sidebar, then the page) without a browser: the
times are the server's work for a page, not the browser's drawing of it.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

from engine import pipeline

APP = str(Path(__file__).resolve().parent / "app.py")
PAGES = ("overview", "predict", "explain", "attack", "compare", "your-data")
_components = None  # Streamlit's component registry, built by the first app of the process


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _elements(node) -> list:
    kids = getattr(node, "children", None)
    kids = list(kids.values()) if isinstance(kids, dict) else list(kids or [])
    out = []
    for ch in kids:
        out.append(ch)
        out += _elements(ch)
    return out


def page_payload(at) -> dict:
    """What the last run put on the page: total bytes of its elements (what goes to the browser), the
    largest element (type, bytes) and the most options any selectbox / multiselect / radio offers."""
    total, largest, options = 0, ("", 0), 0
    for el in _elements(at._tree):
        proto = getattr(el, "proto", None)
        if proto is None or not hasattr(proto, "SerializeToString"):
            continue
        size = len(proto.SerializeToString())
        total += size
        if size > largest[1]:
            largest = (str(getattr(el, "type", type(el).__name__)), size)
        options = max(options, len(getattr(proto, "options", []) or []))
    return {"bytes": total, "largest_element": largest[0], "largest_element_bytes": largest[1],
            "most_options": options}


def render_page(page: str, dataset: str, model_id: str, timeout: float = 300) -> dict:
    """One fresh app session opened on ``page`` (the sidebar runs too) -> seconds, payload, problems."""
    from streamlit.testing.v1 import AppTest

    global _components
    at = AppTest.from_file(APP, default_timeout=timeout)
    # AppTest scans every installed package for custom components on each new app (seconds here); a
    # server does that once at start, so the scan of the first app is reused and kept out of the timing
    if _components is not None and hasattr(at, "_bidi_component_manager"):
        at._bidi_component_manager = _components
    for k, v in {"dataset": dataset, "model": model_id, "doc": "0", "page": page}.items():
        at.query_params[k] = v
    t = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - t
    _components = getattr(at, "_bidi_component_manager", None) or _components
    problems = [str(e.value)[:300] for e in at.exception] + [str(e.value)[:300] for e in at.error]
    title = at.title[0].value if len(at.title) else ""
    return {"page": page, "seconds": round(seconds, 3), "title": title, "problems": problems, **page_payload(at)}


def clear_streamlit_caches() -> None:
    """Forget every st.cache_data / st.cache_resource value: the next page run computes its tables as
    a first visit would (the engine's own in-process caches, dataset and model, stay loaded)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def time_pages(dataset: str, model_id: str = "xlinear", pages=PAGES, timeout: float = 300) -> dict:
    """Load the dataset and the model, then render every page twice in fresh app sessions: "first"
    with Streamlit's caches emptied before each page (a first visit once the model is loaded), "again"
    with them warm (a page switch). One discarded run of the first page comes before, so that the
    one-off work of a fresh server process (imports of plotly, pandas and the page modules; Streamlit's
    scan of installed components) is not in any page.
    -> {"load_s", "model_s", "warmup_s", "pages": {page: {"first": ..., "again": ...}}, "peak_rss_mb", ...}."""
    os.environ.setdefault("XTRUST_AUTO_TRAIN", "0")
    out = {"dataset": dataset, "model": model_id, "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    t = time.perf_counter()
    ds = pipeline.load_dataset(dataset)
    out["load_s"] = round(time.perf_counter() - t, 3)
    out.update(n_labels=ds.n_labels, n_train=ds.train.n, n_test=ds.test.n, n_features=ds.n_features)
    t = time.perf_counter()
    pipeline.get_model(dataset, model_id)
    out["model_s"] = round(time.perf_counter() - t, 3)
    out["rss_after_model_mb"] = _rss_mb()
    out["warmup_s"] = render_page(pages[0], dataset, model_id, timeout)["seconds"]
    # what that first run started in the background (ART's import, the explainers' warm-up) finishes first, as
    # on a server that has been up a little while: "once the model is loaded" includes its lazily loaded parts
    out["background_warm_up_s"] = pipeline.wait_for_warm_ups(timeout)
    out["pages"] = {}
    for page in pages:
        clear_streamlit_caches()
        first = render_page(page, dataset, model_id, timeout)
        again = render_page(page, dataset, model_id, timeout)
        out["pages"][page] = {"first": first, "again": again}
    out["peak_rss_mb"] = _rss_mb()
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def timing_parser(description: str) -> argparse.ArgumentParser:
    """The page timings' common command line: --dataset, --model, --pages, --timeout."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--model", default="xlinear")
    ap.add_argument("--pages", default=",".join(PAGES))
    ap.add_argument("--timeout", type=float, default=300)
    return ap


def main(argv=None) -> int:
    args = timing_parser(__doc__.splitlines()[0]).parse_args(argv)
    out = time_pages(args.dataset, args.model, tuple(p for p in args.pages.split(",") if p), args.timeout)
    print("XTRUST-PAGES-JSON " + json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
