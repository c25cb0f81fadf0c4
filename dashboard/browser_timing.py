"""Each dashboard page's first render in a real browser (headless Chromium driven by Playwright) on one dataset
and model, once the model is loaded (issue 16: every page <= 2 s; page_timing.py measures the server's
script under AppTest, this measures what a user waits for, the browser's drawing included).

A Streamlit server is started on a free local port with the caller's data, model and cache folders; one
warm-up visit of the Predict page loads the dataset and the model into it, and the server is left to finish
its background imports (until it is idle). Then every page is opened by its
URL in a new browser context (a new session, as a new user would), and again in the same context (a second
visit). A page that does nothing, served and timed the same way, is the reference: what any Streamlit page
costs in this browser on this machine. A page is rendered when its title is shown and its main area has not changed for ``SETTLE_S`` with
no script run in progress; the time reported is that of the last change (the settle wait is not counted).

``python -m dashboard.browser_timing --dataset D --model M`` prints one line, ``XTRUST-BROWSER-JSON {...}``;
``engine.bench_pages.measure_pages_in_browser`` runs it in a child process (the engine never imports
Streamlit or Playwright).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = str(Path(__file__).resolve().parent / "app.py")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
PAGES = {"overview": "Overview", "predict": "Predict", "explain": "Explain", "attack": "Attack",
         "compare": "Compare", "your-data": "Your data"}
SETTLE_S = 0.75
MARK = "XTRUST-BROWSER-JSON "
# [visible text size of the main area, whether a script run is in progress or not started yet] (the app
# root's data-test-script-state; the status widget is drawn only for some runs, so it cannot say "done")
_STATE_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const app = document.querySelector('[data-testid="stApp"]');
  const state = app ? app.getAttribute('data-test-script-state') : 'initial';
  return [main ? main.innerText.length : -1, state === 'running' || state === 'initial'];
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# the reference: a Streamlit page that does nothing (a title and a line of text), measured by the same clock in
# the same run -- what any Streamlit page costs in this browser on this machine (the page's bundle, the session)
REFERENCE_APP = 'import streamlit as st\nst.title("Reference")\nst.write("A page that does nothing.")\n'


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server of ``start_server`` (killed if it has not exited 10 s after the request) and close its log."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log = getattr(proc, "xtrust_log", None)
    if log is not None:
        log.close()


def start_server(log_path: Path, env: dict | None = None, timeout_s: float = 90,
                 app: str = APP) -> tuple[subprocess.Popen, str]:
    """A Streamlit server of ``app`` (default: the dashboard) on a free loopback port, its output in
    ``log_path`` -> (process, base URL); RuntimeError with the log's end when it does not answer in time."""
    port = _free_port()
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", app, "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=log, stderr=subprocess.STDOUT)
    proc.xtrust_log = log
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError("the Streamlit server did not start: " + log_path.read_text()[-1500:])


def wait_until_idle(pid: int, below_pct: float = 10.0, max_s: float = 120.0) -> float:
    """Wait until the server process (and its threads: the background imports it warms) uses under
    ``below_pct`` % of a core for two 0.5 s samples in a row -> seconds waited. "Once the model is loaded"
    means this: what a fresh server still does in the background is not any page's time."""
    import psutil

    proc, t0, quiet = psutil.Process(pid), time.perf_counter(), 0
    while time.perf_counter() - t0 < max_s and quiet < 2:
        quiet = quiet + 1 if proc.cpu_percent(interval=0.5) < below_pct else 0
    return round(time.perf_counter() - t0, 2)


def open_and_time(pg, url: str, title: str, timeout_s: float = 300) -> dict:
    """Open ``url`` and wait until the page titled ``title`` is drawn and settled -> seconds, visible text size."""
    t0 = time.perf_counter()
    pg.goto(url)
    pg.locator("h1").filter(has_text=title).first.wait_for(timeout=timeout_s * 1000)
    last_state, last_change = None, time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        state = tuple(pg.evaluate(_STATE_JS))
        now = time.perf_counter()
        if state != last_state:
            last_state, last_change = state, now
        elif not state[1] and now - last_change >= SETTLE_S:
            break
        time.sleep(0.05)
    text = pg.locator('[data-testid="stMain"]').inner_text()
    problems = [ln for ln in text.splitlines() if "Traceback" in ln or "Error" in ln][:3]
    return {"seconds": round(last_change - t0, 3), "text_chars": len(text), "problems": problems}


def new_session(browser):
    """A page in a new browser context: its own cookies and storage, so Streamlit gives it its own session."""
    return browser.new_context(viewport={"width": 1440, "height": 1500}).new_page()


def time_pages_in_browser(dataset: str, model_id: str = "xlinear", pages=tuple(PAGES), timeout_s: float = 300,
                          screenshots: Path | None = None) -> dict:
    """Start a server, load the model with one Predict visit, then open every page twice (new session, then
    again) -> {"warmup_s", "reference": {"first", "again"}, "pages": {page: {"first": {seconds, ...},
    "again": {...}}}, load averages}; "reference" is a page that does nothing, on its own server."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    out = {"dataset": dataset, "model": model_id, "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    query = f"?dataset={dataset}&model={model_id}&doc=0"
    with tempfile.TemporaryDirectory(prefix="xtrust-browser-") as tmp:
        ref_app = Path(tmp) / "reference.py"
        ref_app.write_text(REFERENCE_APP)
        proc, url = start_server(Path(tmp) / "streamlit.log", {"XTRUST_AUTO_TRAIN": "0"})
        ref_proc, ref_url = start_server(Path(tmp) / "reference.log", app=str(ref_app))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                pg = new_session(browser)
                open_and_time(pg, ref_url, "Reference", timeout_s)  # the reference server's own first run
                pg.context.close()
                pg = new_session(browser)
                first = open_and_time(pg, ref_url, "Reference", timeout_s)
                out["reference"] = {"first": first, "again": open_and_time(pg, ref_url, "Reference", timeout_s)}
                pg.context.close()
                stop_server(ref_proc)
                pg = new_session(browser)
                out["warmup_s"] = open_and_time(pg, f"{url}/predict{query}", "Predict", timeout_s)["seconds"]
                pg.context.close()
                out["server_idle_after_s"] = wait_until_idle(proc.pid)
                out["pages"] = {}
                for page in pages:
                    pg = new_session(browser)
                    first = open_and_time(pg, f"{url}/{page}{query}", PAGES[page], timeout_s)
                    if screenshots is not None:
                        screenshots.mkdir(parents=True, exist_ok=True)
                        pg.screenshot(path=str(screenshots / f"{dataset}-{page}.png"), full_page=True)
                    again = open_and_time(pg, f"{url}/{page}{query}", PAGES[page], timeout_s)
                    out["pages"][page] = {"first": first, "again": again}
                    pg.context.close()
                browser.close()
        finally:
            stop_server(ref_proc)
            stop_server(proc)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main(argv=None) -> int:
    from dashboard.page_timing import timing_parser

    ap = timing_parser(__doc__.splitlines()[0])
    ap.add_argument("--screenshots", help="folder for one screenshot of each page's first visit")
    args = ap.parse_args(argv)
    out = time_pages_in_browser(args.dataset, args.model, tuple(p for p in args.pages.split(",") if p), args.timeout,
                                Path(args.screenshots) if args.screenshots else None)
    print(MARK + json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
