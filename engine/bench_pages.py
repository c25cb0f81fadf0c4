"""python -m engine bench --pages DATASET[:MODEL]: every dashboard page's first render once the model is
loaded, what each page sends to the browser, and the peak memory (issue 16: <= 2 s per page and
<= 8 GB on the Amazon-670K preset).

The pages run under Streamlit's AppTest in a child process (dashboard/page_timing.py; the engine never
imports Streamlit), with the caller's data, model and cache folders. ``measure_pages`` is the hook a
larger benchmark (engine/bench_scale.py) can call per preset once it has trained the preset's model.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.errors import InputError, XTrustError

ROOT = Path(__file__).resolve().parent.parent
PAGE_GOAL_S = 2.0
PEAK_RSS_GOAL_MB = 8192.0
MARK = "XTRUST-PAGES-JSON "


def fresh_results_cache(root: Path) -> Path:
    """A cache folder in ``root`` that shares the current one's datasets (parsed built-ins, imports) but
    holds no cached results: the pages then compute what a first visit computes (the Explain page's
    explanations of the document), instead of reading what an earlier run left on disk."""
    from engine.paths import cache_dir
    from engine.pipeline import RESULT_KINDS_KEPT

    fresh = root / "cache"
    fresh.mkdir(parents=True)
    for kind in RESULT_KINDS_KEPT:
        if (cache_dir() / kind).is_dir():
            (fresh / kind).symlink_to((cache_dir() / kind).resolve(), target_is_directory=True)
    return fresh


def _run_timing_child(module: str, mark: str, what: str, dataset: str, model_id: str, pages, extra: list[str],
                      timeout_s: float, env: dict | None, fresh_results: bool) -> dict:
    """``python -m module --dataset D --model M [--pages ...] extra`` in a child process with the caller's
    folders (results in an empty cache when ``fresh_results``) -> the JSON object it prints after ``mark``."""
    import shutil
    import tempfile

    from engine import pipeline

    if dataset not in pipeline.list_datasets():
        raise InputError(f"unknown dataset {dataset!r}: choose one of {', '.join(pipeline.list_datasets())}.")
    if model_id not in {m.model_id for m in pipeline.list_models(dataset)}:
        raise InputError(f"no saved model {model_id!r} for {dataset}: train it first (python -m engine train "
                         f"--dataset {dataset} --model {pipeline.parse_model_id(model_id)[0]}).")
    cmd = [sys.executable, "-m", module, "--dataset", dataset, "--model", model_id, *extra]
    if pages:
        cmd += ["--pages", ",".join(pages)]
    child_env = {**os.environ, **(env or {}), "XTRUST_AUTO_TRAIN": "0", "PYTHONPATH": str(ROOT)}
    tmp = Path(tempfile.mkdtemp(prefix="xtrust-pages-"))
    try:
        if fresh_results:
            child_env["XTRUST_CACHE_DIR"] = str(fresh_results_cache(tmp))
        proc = subprocess.run(cmd, cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise XTrustError(f"{what} on {dataset} took over {timeout_s:.0f} s; stopped.") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the links only: rmtree does not follow them
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(mark)), None)
    if proc.returncode != 0 or line is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise XTrustError(f"{what} failed on {dataset} (exit {proc.returncode}): " + " | ".join(tail))
    return json.loads(line[len(mark):])


def measure_pages(dataset: str, model_id: str = "xlinear", pages: tuple[str, ...] | None = None,
                  timeout_s: float = 1800, env: dict | None = None, fresh_results: bool = True) -> dict:
    """Render every page of the dashboard on ``dataset`` / ``model_id`` in a fresh child process ->
    dashboard.page_timing.time_pages' dict: load_s, model_s, warmup_s, pages {page: {"first", "again":
    {seconds, bytes, largest_element, largest_element_bytes, most_options, problems}}}, peak_rss_mb,
    load averages. The model must be trained already (nothing is trained here: XTRUST_AUTO_TRAIN=0).
    fresh_results: results (explanations, attacks, ...) go to an empty temporary cache, so "first" is a
    first visit whatever earlier runs cached (the datasets are shared, not copied)."""
    out = _run_timing_child("dashboard.page_timing", MARK, "rendering the pages", dataset, model_id, pages, [],
                            timeout_s, env, fresh_results)
    out["fresh_results_cache"] = fresh_results
    firsts = [p["first"]["seconds"] for p in out["pages"].values()]
    out["slowest_first_s"] = max(firsts) if firsts else None
    out["goals"] = {"page_first_s": PAGE_GOAL_S, "peak_rss_mb": PEAK_RSS_GOAL_MB}
    out["goals_met"] = {"page_first_s": bool(firsts) and max(firsts) <= PAGE_GOAL_S,
                        "peak_rss_mb": out["peak_rss_mb"] <= PEAK_RSS_GOAL_MB}
    return out


BROWSER_MARK = "XTRUST-BROWSER-JSON "


def measure_pages_in_browser(dataset: str, model_id: str = "xlinear", pages: tuple[str, ...] | None = None,
                             timeout_s: float = 1800, env: dict | None = None, fresh_results: bool = True,
                             screenshots: str | os.PathLike | None = None) -> dict:
    """The same pages in a real browser (dashboard/browser_timing.py in a child process: a Streamlit server,
    headless Chromium): seconds from opening each page's URL until it is drawn and settled, a new session
    ("first") and a second visit ("again"), once the model is loaded -> that module's dict plus the goals."""
    extra = ["--screenshots", str(screenshots)] if screenshots else []
    out = _run_timing_child("dashboard.browser_timing", BROWSER_MARK, "opening the pages in the browser", dataset,
                            model_id, pages, extra, timeout_s, env, fresh_results)
    firsts = [p["first"]["seconds"] for p in out["pages"].values()]
    out["slowest_first_s"] = max(firsts) if firsts else None
    out["goals"] = {"page_first_s": PAGE_GOAL_S}
    out["goals_met"] = {"page_first_s": bool(firsts) and max(firsts) <= PAGE_GOAL_S}
    return out


def format_browser_pages(out: dict) -> str:
    """A Markdown table of measure_pages_in_browser's result."""
    lines = [f"{out['dataset']}, model {out['model']}, headless Chromium: model loaded by a first Predict visit in "
             f"{out['warmup_s']:.2f} s; load average {out['load_average_before']} -> {out['load_average_after']}", "",
             "| page | first visit (new session) | again |", "|---|---|---|"]
    if out.get("reference"):
        ref = out["reference"]
        lines.append(f"| reference: a page that does nothing | {ref['first']['seconds']:.2f} s | "
                     f"{ref['again']['seconds']:.2f} s |")
    for page, r in out["pages"].items():
        f, a = r["first"], r["again"]
        flag = "" if f["seconds"] <= PAGE_GOAL_S else " (over 2 s)"
        lines.append(f"| {page} | {f['seconds']:.2f} s{flag} | {a['seconds']:.2f} s |")
        for p in f["problems"]:
            lines.append(f"|  | problem: {p[:150]} | |")
    lines += ["", f"slowest first visit {out['slowest_first_s']:.2f} s (goal <= {PAGE_GOAL_S:g} s: "
                  f"{'met' if out['goals_met']['page_first_s'] else 'not met'})"]
    return "\n".join(lines)


def format_pages(out: dict) -> str:
    """A Markdown table of measure_pages' result."""
    lines = [f"{out['dataset']} ({out['n_labels']:,} labels, {out['n_train']:,} train / {out['n_test']:,} test "
             f"documents), model {out['model']}: dataset load {out['load_s']:.2f} s, model load {out['model_s']:.2f} s, "
             f"first page of the process {out['warmup_s']:.2f} s (imports); load average "
             f"{out['load_average_before']} -> {out['load_average_after']}", "",
             "| page | first render | again (warm caches) | sent to the browser | largest element | most options |",
             "|---|---|---|---|---|---|"]
    for page, r in out["pages"].items():
        f, a = r["first"], r["again"]
        flag = "" if f["seconds"] <= PAGE_GOAL_S else " (over 2 s)"
        lines.append(f"| {page} | {f['seconds']:.2f} s{flag} | {a['seconds']:.2f} s | {f['bytes'] / 1024:.1f} KB | "
                     f"{f['largest_element']} {f['largest_element_bytes'] / 1024:.1f} KB | {f['most_options']} |")
        for p in f["problems"]:
            lines.append(f"|  | problem: {p[:150]} | | | | |")
    lines += ["", f"peak RSS {out['peak_rss_mb']:,.0f} MB (goal <= {PEAK_RSS_GOAL_MB:,.0f} MB: "
                  f"{'met' if out['goals_met']['peak_rss_mb'] else 'not met'}); slowest first render "
                  f"{out['slowest_first_s']:.2f} s (goal <= {PAGE_GOAL_S:g} s: "
                  f"{'met' if out['goals_met']['page_first_s'] else 'not met'})"]
    return "\n".join(lines)


def add_pages_argument(bench_parser) -> None:
    bench_parser.add_argument("--pages", metavar="DATASET[:MODEL]",
                              help="time every dashboard page's first render on a dataset (default model xlinear) "
                                   "and its peak memory, e.g. --pages synth-wiki10-31k")
    bench_parser.add_argument("--browser", action="store_true",
                              help="with --pages: time the pages in headless Chromium against a running server "
                                   "(what a user waits for) instead of the server's script under AppTest")
    bench_parser.add_argument("--screenshots", metavar="DIR", help="with --pages --browser: a screenshot per page")


def run_pages_command(args) -> int:
    dataset, _, model_id = args.pages.partition(":")
    if getattr(args, "browser", False):
        out = measure_pages_in_browser(dataset, model_id or "xlinear", screenshots=getattr(args, "screenshots", None))
        print(json.dumps(out, indent=1) if args.json else format_browser_pages(out))
        return 0
    out = measure_pages(dataset, model_id or "xlinear")
    print(json.dumps(out, indent=1) if args.json else format_pages(out))
    return 0
