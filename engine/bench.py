"""python -m engine bench: training time, predict latency (1 document and a batch), peak memory.

Each (dataset, model) is measured in a fresh child process so its peak RSS is its own. The
X-Transformer is not retrained here (tens of minutes on 2 cores): its training time comes from
the saved model's manifest, and latency is measured on the saved model when one exists.
Explanation and attack speed come from engine.explain.bench / engine.attacks.bench; the robustness
curve (several eps values over one document sample, first run vs repeat) from bench_robustness_curve.
"""
from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import platform
import resource
import tempfile
import time

import numpy as np

from engine.types import ProgressFn, report

BATCH = 256


def _timeit(fn, repeat: int = 5) -> float:
    """Median wall seconds of fn() over ``repeat`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _measure(dataset: str, family: str, queue) -> None:
    try:
        from engine.data import load_dataset
        from engine.models.runtime import train_model
        from engine.models.store import ModelStore

        ds = load_dataset(dataset)
        row = {"dataset": ds.display_name, "model": family}
        if family == "xlinear":
            store = ModelStore(tempfile.mkdtemp(prefix="xtrust-bench-"))
            t = time.perf_counter()
            info = train_model(ds, "xlinear", store=store, evaluate=False)
            row["train_s"] = round(time.perf_counter() - t, 3)
            model = store.load(ds.name, info.model_id)
        else:
            store = ModelStore()
            try:
                info = store.info(ds.name, family)
            except Exception:
                queue.put({**row, "skipped": f"no saved {family} model for {ds.name}; train it with "
                                             f"python -m engine train --dataset {ds.name} --model {family}"})
                return
            row["train_s"] = info.manifest.get("train_seconds")
            row["train_s_source"] = "manifest"
            model = store.load(ds.name, family)
        inputs = ds.inputs("test", range(min(BATCH, ds.test.n)))
        one = inputs[:1]
        repeat = 5 if family == "xlinear" else 2
        row["predict_1_ms"] = round(1000 * _timeit(lambda: model.score_matrix(one, 5), repeat), 2)
        row[f"predict_{len(inputs)}_ms"] = round(1000 * _timeit(lambda: model.score_matrix(inputs, 5), repeat), 1)
        row["per_doc_batched_ms"] = round(row[f"predict_{len(inputs)}_ms"] / len(inputs), 3)
        row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        queue.put(row)
    except Exception as exc:  # report, never crash the whole bench
        queue.put({"dataset": dataset, "model": family, "error": f"{type(exc).__name__}: {exc}"})


CURVE_EPS = (0.1, 0.3, 1.0, 3.0)  # L2 budgets in BibTeX's TF-IDF view: from rarely to always enough


def bench_robustness_curve(dataset: str = "bibtex", attack: str = "hsj", eps_values=CURVE_EPS, n: int = 5,
                           seed: int = 0) -> dict:
    """Seconds for robustness_curve(eps_values) over n documents on a freshly trained XR-Linear (a new
    store, so nothing is cached): the first run, the same call again, and as the reference in the same
    run one evaluate_robustness at a single eps on another fresh copy of the model (same documents).
    curve_vs_one_eps near 1 means the curve costs one attack per document, not one per (document, eps)."""
    from engine.attacks.robustness import evaluate_robustness, robustness_curve
    from engine.models.runtime import train_model
    from engine.models.store import ModelStore

    ref_store = ModelStore(tempfile.mkdtemp(prefix="xtrust-bench-curve-"))
    info = train_model(dataset, "xlinear", store=ref_store, evaluate=False)
    curve_store = ModelStore(tempfile.mkdtemp(prefix="xtrust-bench-curve-"))
    curve_store.save(ref_store.load(info.dataset, info.model_id), info.dataset, info.model_id, dict(info.manifest))
    t = time.perf_counter()
    evaluate_robustness(dataset, info.model_id, attack, n=n, eps=float(eps_values[0]), seed=seed, store=ref_store)
    one = time.perf_counter() - t
    t = time.perf_counter()
    rows = robustness_curve(dataset, info.model_id, attack, list(eps_values), n=n, seed=seed, store=curve_store)
    first = time.perf_counter() - t
    t = time.perf_counter()
    again = robustness_curve(dataset, info.model_id, attack, list(eps_values), n=n, seed=seed, store=curve_store)
    repeat = time.perf_counter() - t
    return {"dataset": dataset, "attack": attack, "n_docs": n, "eps": list(eps_values),
            "one_eps_s": round(one, 3), "curve_first_s": round(first, 3), "curve_repeat_s": round(repeat, 4),
            "curve_vs_one_eps": round(first / max(one, 1e-9), 2), "repeat_vs_first": round(repeat / max(first, 1e-9), 4),
            "repeat_equal": again == rows, "success_rate_by_eps": [r["success_rate"] for r in rows],
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]}


_IMPORT_PROBE = ("import time; t = time.perf_counter(); import engine.pipeline; "
                 "print(time.perf_counter() - t)")
_FIRST_PAGE_PROBE = ("import time; from streamlit.testing.v1 import AppTest; t = time.perf_counter(); "
                     "at = AppTest.from_file('dashboard/app.py', default_timeout=300).run(); "
                     "assert not at.exception, at.exception; print(time.perf_counter() - t)")


def _probe_seconds(root, code: str, env: dict) -> float:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
    return float(out.stdout.strip().splitlines()[-1])


def startup_seconds(repo_root: str | os.PathLike | None = None, repeat: int = 3, against=None,
                    model_dirs: tuple | None = None) -> dict:
    """Median seconds, each in a fresh process run in ``repo_root`` (default: this checkout):
    ``import engine.pipeline``, and the dashboard's first page (the Overview, rendered by Streamlit's
    AppTest, with the models already saved). ``against``: another checkout (an older version) measured
    in the same run, runs alternating A B A B so a drifting machine load hits both alike, with the
    ratios; ``model_dirs``: one XTRUST_MODEL_DIR per checkout (their stores may differ in format)."""
    from pathlib import Path

    from engine.paths import REPO_ROOT

    roots = [Path(repo_root or REPO_ROOT)] + ([Path(against)] if against else [])
    envs = []
    for i, root in enumerate(roots):
        env = {**os.environ, "PYTHONPATH": str(root)}
        if model_dirs:
            env["XTRUST_MODEL_DIR"] = str(model_dirs[i])
        envs.append(env)
    for root, env in zip(roots, envs):  # warm-up: trains the first model if missing, fills OS caches
        _probe_seconds(root, _FIRST_PAGE_PROBE, env)
    runs = {(i, k): [] for i in range(len(roots)) for k in ("import", "page")}
    for _ in range(repeat):
        for k, code in (("import", _IMPORT_PROBE), ("page", _FIRST_PAGE_PROBE)):
            for i, (root, env) in enumerate(zip(roots, envs)):
                runs[(i, k)].append(_probe_seconds(root, code, env))
    med = {key: round(float(np.median(v)), 3) for key, v in runs.items()}
    out = {"repo": str(roots[0]), "import_pipeline_s": med[(0, "import")], "dashboard_first_page_s": med[(0, "page")],
           "repeat": repeat, "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]}
    if against:
        out["against"] = {"repo": str(roots[1]), "import_pipeline_s": med[(1, "import")],
                          "dashboard_first_page_s": med[(1, "page")]}
        out["ratio_import"] = round(med[(0, "import")] / med[(1, "import")], 3)
        out["ratio_first_page"] = round(med[(0, "page")] / med[(1, "page")], 3)
    return out


_EXPLAIN_PAGE_PROBE = r"""
import json, os, sys, time
from streamlit.testing.v1 import AppTest
dataset, model_id, doc, preload = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
load_s = None
if preload:  # the model already in this server's memory, as after any earlier page that used it: that page's
    # run also started what a server warms in the background (ART's import on its first page run, the
    # explainers' warm-up once the model is selected), done before this page opens
    from engine.pipeline import get_model, wait_for_warm_ups, warm_up_attacks, warm_up_explainers
    t = time.perf_counter(); get_model(dataset, model_id); load_s = time.perf_counter() - t
    warm_up_attacks()
    warm_up_explainers(dataset, model_id)
    wait_for_warm_ups()
# AppTest scans every installed package for custom components on each new app (~0.4 s here); a server does
# that once at its start, so the scan of a first, untimed app (the Your data page) is reused by the timed one
scan = AppTest.from_file("dashboard/app.py", default_timeout=600)
scan.query_params.update({"dataset": dataset, "model": "xlinear", "page": "your-data"})
scan.run()
at = AppTest.from_file("dashboard/app.py", default_timeout=600)
if hasattr(scan, "_bidi_component_manager") and hasattr(at, "_bidi_component_manager"):
    at._bidi_component_manager = scan._bidi_component_manager
for k, v in {"dataset": dataset, "model": model_id, "doc": doc, "page": "explain"}.items():
    at.query_params[k] = v
t0 = time.perf_counter(); at.run(); page_s = time.perf_counter() - t0
assert not at.exception, [e.value for e in at.exception]
# Poll the cache cheaply, as the page's own 0.5 s fragment does, and rerun the page once per new result
# (a full AppTest rerun per poll would hold the GIL and starve the job thread it measures).
from engine.pipeline import cached_explanation
kw = dict(top_k=5, samples=500, n_features=10, seed=0)
methods, marks, seen = ["whole", "lime", "attention"], {}, ()
def mark_shown(at):
    caps = [str(c.value) for c in at.caption]
    for n in range(1, sum("labels explained in" in c for c in caps) + 1):
        marks.setdefault(f"method_{n}_shown_s", round(time.perf_counter() - t0, 3))
mark_shown(at)  # a first result computed in the page's own first run is on the page when it ends
while time.perf_counter() - t0 < 900:
    hits = [cached_explanation(dataset, model_id, int(doc), method=m, **kw) for m in methods]
    stage = tuple("none" if h is None else "first" if h.faithfulness_pending else "done" for h in hits)
    if stage != seen:
        seen = stage
        at.run()
        if at.exception or at.error:
            marks["error"] = str((at.exception or at.error)[0].value); break
        mark_shown(at)
    if all(s == "done" for s in seen):
        at.run()  # the heatmap, drawn once the explanations are done
        marks["all_done_s"] = round(time.perf_counter() - t0, 3); break
    time.sleep(0.1)
titles = [s.value for s in at.subheader]
whole = cached_explanation(dataset, model_id, int(doc), method="whole", **kw)
engine_s = {} if whole is None else {"whole_first_result_s": whole.seconds,  # inside the job: document, top-k, method
                                     "whole_method_s": whole.params.get("method_seconds")}
print(json.dumps({"first_page_run_s": round(page_s, 3), "model_preload_s": None if load_s is None else round(load_s, 3),
                  "subheaders": titles[:3], **engine_s, **marks}))
"""


def explain_page_first_render(dataset: str = "bibtex", model_id: str = "xtransformer", doc: int = 0,
                              repo_root: str | os.PathLike | None = None) -> dict:
    """Seconds from opening the Explain page (Streamlit's AppTest and the page's own background job; the
    cache polled every 0.1 s and the page rerun when a result lands, as the page's fragment does) until each
    method's first result is rendered and until everything (faithfulness, heatmap) is done, for an
    uncached document (a fresh explanation cache), in a fresh process: once with the model loaded
    before the page opens ("model_loaded") and once cold (the page's job loads it)."""
    import subprocess
    import sys
    from pathlib import Path

    from engine.errors import ModelError
    from engine.models.store import ModelStore
    from engine.paths import REPO_ROOT, cache_dir

    try:
        ModelStore().info(dataset, model_id)
    except Exception as exc:
        raise ModelError(f"no saved {model_id} model for {dataset}: python -m engine train --dataset {dataset} "
                         f"--model {model_id}") from exc
    root = Path(repo_root or REPO_ROOT)
    out = {"dataset": dataset, "model": model_id, "doc": doc}
    for mode, preload in (("model_loaded", "1"), ("cold", "0")):
        with tempfile.TemporaryDirectory(prefix="xtrust-bench-page-") as tmp:
            datasets = Path(cache_dir()) / "datasets"
            if datasets.is_dir():  # the parsed datasets, not the explanations: those must be computed
                import shutil

                shutil.copytree(datasets, Path(tmp) / "datasets")
            env = {**os.environ, "PYTHONPATH": str(root), "XTRUST_CACHE_DIR": tmp, "XTRUST_AUTO_TRAIN": "0"}
            run = subprocess.run([sys.executable, "-c", _EXPLAIN_PAGE_PROBE, dataset, model_id, str(doc), preload],
                                 cwd=root, env=env, capture_output=True, text=True, timeout=1200)
            if run.returncode != 0:
                out[mode] = {"error": (run.stderr.strip().splitlines() or ["failed"])[-1]}
            else:
                import json

                out[mode] = json.loads(run.stdout.strip().splitlines()[-1])
        out[mode]["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    return out


def run_bench(quick: bool = False, datasets=("bibtex", "delicious", "mediamill"), progress: ProgressFn | None = None) -> dict:
    jobs = [("bibtex", "xlinear")] if quick else [(d, f) for d in datasets for f in ("xlinear", "xtransformer")
                                                  if not (d == "mediamill" and f == "xtransformer")]
    ctx = mp.get_context("spawn")
    rows = []
    for i, (d, f) in enumerate(jobs):
        report(progress, i / (len(jobs) + 2), f"{d}/{f}")
        q = ctx.Queue()
        p = ctx.Process(target=_measure, args=(d, f, q))
        p.start()
        row = q.get()
        p.join()
        rows.append(row)
    out = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "processor": platform.machine(),
                       # timings are only comparable on a quiet machine: record how busy it was
                       "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]},
           "models": rows}
    if not quick:
        for module, fn, key in (("engine.explain.bench", "bench_explain", "explain"),
                                ("engine.attacks.bench", "bench_attacks", "attacks"),
                                ("engine.bench", "bench_robustness_curve", "robustness_curve"),
                                ("engine.bench", "explain_page_first_render", "explain_page")):
            report(progress, (len(jobs) + 0.7 * ("explain", "attacks", "robustness_curve",
                                                 "explain_page").index(key) / 4) / (len(jobs) + 2), key)
            try:
                out[key] = getattr(importlib.import_module(module), fn)()
            except Exception as exc:  # one failed measurement is reported, the others still run
                out[key] = {"error": f"{type(exc).__name__}: {exc}"}
    report(progress, 0.99, "start-up times")
    try:
        out["startup"] = startup_seconds()
    except Exception as exc:  # reported, never fatal to the other numbers
        out["startup"] = {"error": f"{type(exc).__name__}: {exc}"}
    report(progress, 1.0, "done")
    return out
