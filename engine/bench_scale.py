"""python -m engine bench --scale: how XTrust's costs grow with the label count (issue 16).

Per synthetic preset (engine/data/synthetic.py), in a fresh child process (so the peak RSS is its own)
with its own temporary data and model folders (removed afterwards): generation time, streaming import
time of the same data written as XC files, dataset load time (pseudo-text), XR-Linear training time,
P@1 / P@5 on up to EVAL_DOCS test documents, predict latency for one document, LIME top-5 (SAMPLES
samples) per document -- the explanation alone and the whole explain_input call (which adds the
faithfulness scores) -- and HopSkipJump per document, through the engine's own API; as references,
PECOS' Python model's predict (the layout the store loaded before) with the memory it adds, and one
HopSkipJump query batch as dense whole-vocabulary rows vs the attack's subspace rows. With
ray_docs > 0: the robustness (HopSkipJump) and faithfulness runs over that many documents, in this
process and on a local Ray cluster with 1 and 2 workers (seconds, speedup, and whether the numbers
are the local run's). Then a table of each cost as a ratio to the smallest preset measured in the
same run, and its log-log growth exponent d log(cost) / d log(labels) between consecutive presets,
with the load average beside. ``existing``: measure a dataset and model already in the configured
folders instead (no generation, import or training).
"""
from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import platform
import resource
import shutil
import tempfile
import time

import numpy as np

from engine.types import ProgressFn, report

SAMPLES = 500
TOP_K = 5
EVAL_DOCS = 2000
PREDICT_REPEAT = 20
GOALS = {"predict_1_ms": 50.0, "lime_top5_s": 1.0, "hsj_s": 5.0, "peak_rss_mb": 8192.0}  # on amazon-670k
GROWTH_KEYS = ("generate_s", "import_s", "train_s", "predict_1_ms", "python_model_predict_1_ms", "lime_top5_s",
               "explain_input_s", "hsj_query_64_dense_rows_s", "hsj_query_64_subspace_rows_s", "hsj_s", "peak_rss_mb")
RAY_WORKERS = (1, 2)


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure_preset(preset_name: str, n_train: int | None = None, n_docs: int = 3, samples: int = SAMPLES,
                   seed: int = 0, with_import: bool = True, hsj_docs: int | None = None, workdir: str | None = None,
                   progress=None, ray_docs: int = 0, **overrides) -> dict:
    """Every number of one preset's row (run it in a child process: it sets XTRUST_CACHE_DIR / MODEL_DIR).
    hsj_docs: documents attacked with HopSkipJump (default n_docs; 0 = only its per-query cost).
    ray_docs: documents of the local-vs-Ray runs (0: none). overrides: preset fields (e.g. n_labels)."""
    hsj_docs = n_docs if hsj_docs is None else hsj_docs
    from engine.data import load_dataset
    from engine.data.synthetic import generate_dataset, preset
    from engine.data.xc_import import import_xc_files, write_xc_file

    work = workdir or tempfile.mkdtemp(prefix=f"xtrust-scale-{preset_name}-")
    os.environ["XTRUST_CACHE_DIR"] = os.path.join(work, "cache")
    os.environ["XTRUST_MODEL_DIR"] = os.path.join(work, "models")
    p = preset(preset_name, n_train=n_train, **overrides)
    row = {"preset": p.name, "mimics": p.mimics, "labels": p.n_labels, "features": p.n_features,
           "train_docs": p.n_train, "test_docs": p.n_test, "load_average_before": _load()}
    name = f"bench-{p.name}"
    t = time.perf_counter()
    gen = generate_dataset(p.name, name=name, seed=seed, n_train=n_train, **overrides)
    row["generate_s"] = round(time.perf_counter() - t, 2)
    row["labels_unseen_in_train"] = gen.labels_unseen_in_train
    row["nnz_train"] = gen.nnz_train
    row["estimated_generate_mb"] = round(gen.estimated_bytes / 2**20, 1)
    row["rss_after_generate_mb"] = _rss_mb()
    report(progress, 0.1, f"{p.name}: generated")
    t = time.perf_counter()
    ds = load_dataset(name)
    row["load_s"] = round(time.perf_counter() - t, 2)  # arrays + pseudo-text of every document
    if with_import:
        xc = os.path.join(work, "xc")
        os.makedirs(xc, exist_ok=True)
        t = time.perf_counter()
        write_xc_file(os.path.join(xc, "train.txt"), ds.train.X, ds.train.Y)
        write_xc_file(os.path.join(xc, "test.txt"), ds.test.X, ds.test.Y)
        row["write_xc_s"] = round(time.perf_counter() - t, 2)
        row["xc_mb"] = round(sum(os.path.getsize(os.path.join(xc, f)) for f in os.listdir(xc)) / 2**20, 1)
        t = time.perf_counter()
        import_xc_files(f"{name}-xc", os.path.join(xc, "train.txt"), os.path.join(xc, "test.txt"))
        row["import_s"] = round(time.perf_counter() - t, 2)
        shutil.rmtree(xc, ignore_errors=True)
    row["rss_after_load_mb"] = _rss_mb()
    report(progress, 0.3, f"{p.name}: training")
    from engine.models.runtime import train_model
    from engine.models.store import ModelStore

    store = ModelStore(os.environ["XTRUST_MODEL_DIR"])
    t = time.perf_counter()
    info = train_model(ds, "xlinear", store=store, evaluate=False)
    row["train_s"] = round(time.perf_counter() - t, 2)
    row["rss_after_train_mb"] = _rss_mb()
    row.update(measure_model(ds, info, store, n_docs, samples, seed, hsj_docs, ray_docs, progress))
    if workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return row


def measure_existing(dataset: str, model_id: str = "xlinear", n_docs: int = 3, samples: int = SAMPLES, seed: int = 0,
                     hsj_docs: int | None = None, ray_docs: int = 0, progress=None) -> dict:
    """The interactive part of a row (measure_model) for a dataset and model already in the configured
    folders (XTRUST_DATA_DIR / XTRUST_MODEL_DIR / XTRUST_CACHE_DIR): no generation, import or training."""
    from engine.data import load_dataset
    from engine.models.store import ModelStore

    hsj_docs = n_docs if hsj_docs is None else hsj_docs
    row = {"preset": dataset, "existing": True, "load_average_before": _load()}
    t = time.perf_counter()
    ds = load_dataset(dataset)
    row.update(load_s=round(time.perf_counter() - t, 2), labels=ds.n_labels, features=ds.n_features,
               train_docs=ds.train.n, test_docs=ds.test.n, rss_after_load_mb=_rss_mb())
    store = ModelStore()
    row.update(measure_model(ds, store.info(ds.name, model_id), store, n_docs, samples, seed, hsj_docs, ray_docs,
                             progress))
    return row


def measure_model(ds, info, store, n_docs: int, samples: int, seed: int, hsj_docs: int, ray_docs: int,
                  progress=None) -> dict:
    """P@k, predict, LIME, HopSkipJump (and the Ray runs) of a saved model, as the pages load it."""
    from engine.models.runtime import evaluate_model, get_model

    row = {}
    t = time.perf_counter()
    model = get_model(ds.name, info.model_id, store)  # as every page loads it
    row["model_load_s"] = round(time.perf_counter() - t, 2)
    rows = range(min(EVAL_DOCS, ds.test.n))
    t = time.perf_counter()
    m = evaluate_model(model, ds, rows=rows)
    row["eval_docs"] = len(rows)
    row["eval_s"] = round(time.perf_counter() - t, 2)
    row["P@1"], row["P@5"] = round(100 * m["P@1"], 2), round(100 * m["P@5"], 2)
    freq = np.bincount(ds.train.Y.indices, minlength=ds.n_labels)
    top = int(np.argmax(freq))
    row["P@1_most_frequent_label"] = round(100 * float(np.mean(ds.test.Y[list(rows)][:, top].toarray() > 0)), 2)
    report(progress, 0.5, f"{ds.name}: predict, LIME, HopSkipJump")
    docs = list(range(n_docs))
    texts = [ds.test.texts[d] for d in docs]
    truths = [list(ds.document(d).labels) for d in docs]
    row.update(docs=len(docs), words_per_doc=round(float(np.mean([len(t.split()) for t in texts])), 1))
    row.update(_predict_references(model, texts))
    row.update(interactive_costs(model, texts, truths, samples, seed, hsj_docs, progress=progress))
    if ray_docs:
        report(progress, 0.9, f"{ds.name}: local vs Ray runs")
        row.update(ray_costs(ds.name, info.model_id, store, ray_docs, samples, seed))
    row.update(peak_rss_mb=_rss_mb(), load_average_after=_load())
    row.update(_python_model_reference(model, texts))  # after peak_rss_mb: the memory it adds is its own
    return row


def _median_ms(fn, repeat: int = PREDICT_REPEAT) -> float:
    """Median milliseconds of fn() (after a warm-up): engine.bench's timer."""
    from engine.bench import _timeit

    return round(1000 * _timeit(fn, repeat), 2)


def _predict_references(model, texts: list[str]) -> dict:
    """Where one document's predict time goes: the TF-IDF featurizing, and PECOS' beam search alone."""
    from engine.models.xlinear import threads_for

    X = model.features(texts[:1])
    beam = max(model.params.beam_size, TOP_K)
    return {"featurize_1_ms": _median_ms(lambda: model.features(texts[:1])),
            "pecos_predict_1_ms": _median_ms(lambda: model.top_model(X).predict(X, beam_size=beam, only_topk=TOP_K,
                                                                                threads=threads_for(1))),
            "pecos_predict_1_ms_csc": _median_ms(lambda: model.predictor.predict(X, beam_size=beam, only_topk=TOP_K,
                                                                                 threads=threads_for(1)))}


def _python_model_reference(model, texts: list[str]) -> dict:
    """PECOS' Python model (what the store loaded for every page before; now only the score split
    loads it): its load time, the memory it adds, and its predict for one document."""
    from engine.models.xlinear import threads_for

    rss0 = _rss_mb()
    t = time.perf_counter()
    xlm = model.xlm
    out = {"python_model_load_s": round(time.perf_counter() - t, 2)}
    X = model.features(texts[:1])
    beam = max(model.params.beam_size, TOP_K)
    out["python_model_predict_1_ms"] = _median_ms(lambda: xlm.predict(X, beam_size=beam, only_topk=TOP_K,
                                                                      threads=threads_for(1)))
    out["python_model_adds_rss_mb"] = round(_rss_mb() - rss0, 1)  # lower bound: ru_maxrss is a peak
    return out


def interactive_costs(model, texts: list[str], truths: list[list[int]], samples: int, seed: int, hsj_docs: int,
                      progress=None) -> dict:
    """What a page waits for, per document, through the engine API: predict (top-5), LIME top-5 (the
    explanation alone, and explain_input with its faithfulness scores), one HopSkipJump query batch of 64
    dense rows, and HopSkipJump itself on the first hsj_docs documents."""
    from engine.attacks.api import run_attack
    from engine.explain.api import explain_input
    from engine.explain.lime_explainer import lime_text
    from engine.explain.units import TextUnits

    import art.attacks.evasion  # noqa: F401 - a one-off import (seconds) is not attack cost

    out = {"predict_1_ms": _median_ms(lambda: model.predict(texts[:1], TOP_K))}
    lime_s, explain_s, hsj_s, hsj_q, hsj_ok = [], [], [], [], []
    for j, (text, truth) in enumerate(zip(texts, truths)):
        ids = model.predict([text], TOP_K)[0].label_ids
        t = time.perf_counter()
        lime_text(model, TextUnits.of(text), ids, samples, seed)
        lime_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        explain_input(model, text, ids, "lime", samples=samples, seed=seed)
        explain_s.append(time.perf_counter() - t)
        if j < hsj_docs:
            t = time.perf_counter()
            r = run_attack(model, text, attack="hsj", seed=seed, truth=truth)
            hsj_s.append(time.perf_counter() - t)
            hsj_q.append(r.queries)
            hsj_ok.append(bool(r.success))
        report(progress, 0.5 + 0.5 * (j + 1) / len(texts), f"document {j + 1}/{len(texts)}")
    out.update(lime_top5_s=round(float(np.median(lime_s)), 3), explain_input_s=round(float(np.median(explain_s)), 3),
               **_query_seconds(model, texts[0], seed))
    if hsj_s:
        out.update(hsj_docs=len(hsj_s), hsj_s=round(float(np.median(hsj_s)), 3), hsj_queries=int(np.median(hsj_q)),
                   hsj_success=f"{sum(hsj_ok)}/{len(hsj_ok)}")
    return out


def _query_seconds(model, text: str, seed: int) -> dict:
    """Seconds for one top-1 query batch of 64 rows as HopSkipJump sends them (the document's feature vector
    plus small noise): dense rows of the whole vocabulary (the attack before its subspace), and rows of
    the attack's subspace (engine/attacks/common.py SubspaceView, as sent now)."""
    from engine.attacks.common import SubspaceView
    from engine.attacks.hopskipjump import MAX_FEATURES

    view = model.feature_view(text)
    rng = np.random.default_rng(seed)
    out = {}
    for name, v in (("dense", view), ("subspace", SubspaceView(view, MAX_FEATURES, seed).view)):
        pts = np.clip(v.x0[None, :] + 0.01 * rng.standard_normal((64, v.x0.size)), *v.clip).astype(np.float32)
        v.top_k(pts[:1], 1)
        t = time.perf_counter()
        v.top_k(pts, 1)
        out[f"hsj_query_64_{name}_rows_s"] = round(time.perf_counter() - t, 4)
    return out


@contextlib.contextmanager
def _fresh_result_cache():
    """XTRUST_CACHE_DIR pointed at an empty temporary folder for the block (the Ray workers inherit it),
    with the configured cache's parsed and generated datasets linked in: each run computes its results
    and no one else's cached results are touched."""
    from engine.paths import cache_dir

    base = cache_dir()
    tmp = tempfile.mkdtemp(prefix="xtrust-ray-bench-")
    for kept in ("datasets", "user_datasets"):
        if (base / kept).is_dir():
            os.symlink(base / kept, os.path.join(tmp, kept))
    old = os.environ.get("XTRUST_CACHE_DIR")
    os.environ["XTRUST_CACHE_DIR"] = tmp
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("XTRUST_CACHE_DIR", None)
        else:
            os.environ["XTRUST_CACHE_DIR"] = old
        shutil.rmtree(tmp, ignore_errors=True)  # removes the links, never what they point to


def ray_costs(dataset: str, model_id: str, store, n_docs: int, samples: int, seed: int,
              workers=RAY_WORKERS) -> dict:
    """Robustness (HopSkipJump, top-1 goal) and faithfulness over n_docs documents: seconds in this
    process, then on a local Ray cluster of 1 and of 2 workers (ray.init(num_cpus=w); each worker loads
    the dataset and model once, included), each run from its own empty result cache; whether each Ray run gave
    the local run's numbers; speedup = seconds with 1 worker / seconds with 2."""
    import ray

    from engine.attacks.robustness import evaluate_robustness
    from engine.explain.faithfulness_table import faithfulness_table

    keys_rob = ("clean", "attacked", "success_rate", "queries_mean", "perturbation_median", "docs")
    keys_faith = ("table", "beats_random", "n_docs", "skipped")
    out = {"ray_docs": n_docs}
    ref = {}
    for w in (None, *workers):
        name = "local" if w is None else f"ray{w}"
        with contextlib.ExitStack() as stack:
            stack.enter_context(_fresh_result_cache())
            if w is not None:
                ray.init(num_cpus=w, include_dashboard=False)
                stack.callback(ray.shutdown)
            address = None if w is None else "auto"
            t = time.perf_counter()
            rob = evaluate_robustness(dataset, model_id, "hsj", n=n_docs, seed=seed, store=store, ray_address=address)
            out[f"robustness_{name}_s"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            fa = faithfulness_table(dataset, model_id, n_docs=n_docs, seed=seed, samples=samples, store=store,
                                    ray_address=address)
            out[f"faithfulness_{name}_s"] = round(time.perf_counter() - t, 2)
        if w is None:
            ref = {"rob": {k: rob[k] for k in keys_rob}, "faith": {k: fa[k] for k in keys_faith}}
            out["robustness_success"] = f"{round(rob['success_rate'] * rob['n'])}/{rob['n']}"
        else:
            out[f"{name}_same_numbers"] = ({k: rob[k] for k in keys_rob} == ref["rob"]
                                           and {k: fa[k] for k in keys_faith} == ref["faith"])
    if all(f"robustness_ray{w}_s" in out for w in (1, 2)):
        for kind in ("robustness", "faithfulness"):
            out[f"{kind}_ray_speedup_2_vs_1"] = round(out[f"{kind}_ray1_s"] / out[f"{kind}_ray2_s"], 2)
    out["load_average_after_ray"] = _load()
    return out


def _child(args, kwargs, queue) -> None:
    try:
        if kwargs.pop("existing", False):
            queue.put(measure_existing(*args, **kwargs))
        else:
            queue.put(measure_preset(*args, **kwargs))
    except Exception as exc:  # one failed preset is reported, the others still run
        queue.put({"preset": args[0], "error": f"{type(exc).__name__}: {exc}"})


def growth(rows: list[dict]) -> list[dict]:
    """Per measured preset: each cost as a ratio to the first (smallest) preset's, and the log-log growth
    exponent d log(cost) / d log(labels) from the previous preset (1 = linear in the label count)."""
    ok = [r for r in rows if "error" not in r]
    out = []
    for i, r in enumerate(ok):
        g = {"preset": r["preset"], "labels": r["labels"]}
        for k in GROWTH_KEYS:
            if not all(isinstance(x.get(k), (int, float)) and x.get(k) for x in (r, ok[0])):
                continue  # not measured (or an error text) in one of the two
            g[f"{k}_ratio"] = round(r[k] / ok[0][k], 2)
            if i > 0 and isinstance(ok[i - 1].get(k), (int, float)) and ok[i - 1][k] > 0 and r["labels"] != ok[i - 1]["labels"]:
                g[f"{k}_exponent"] = round(math.log(r[k] / ok[i - 1][k]) / math.log(r["labels"] / ok[i - 1]["labels"]), 2)
        out.append(g)
    return out


def run_scale_bench(presets=("eurlex-4k", "wiki10-31k"), n_train: int | None = None, n_docs: int = 3,
                    samples: int = SAMPLES, seed: int = 0, with_import: bool = True, hsj_docs: int | None = None,
                    ray_docs: int = 0, existing: bool = False, progress: ProgressFn | None = None) -> dict:
    """Measure each preset in its own child process; n_train overrides the training documents of every preset.
    existing: ``presets`` name datasets with a saved xlinear model in the configured folders (measure_existing)."""
    from engine.data.synthetic import preset
    from engine.errors import InputError

    if isinstance(ray_docs, bool) or not isinstance(ray_docs, int) or ray_docs < 0:
        raise InputError(f"ray_docs (documents of the local vs Ray runs) must be a whole number >= 0, got {ray_docs!r}.")
    if ray_docs:
        from engine.ray_tasks import check_ray_address

        check_ray_address("local")  # Ray installed, before any preset runs
    if existing:
        from engine.models.store import ModelStore

        for name in presets:  # a missing dataset or model refused before any child starts
            ModelStore().info(name, "xlinear")
    else:
        for name in presets:  # bad names refused before any child starts
            preset(name, n_train=n_train)
    ctx = mp.get_context("spawn")
    rows = []
    for i, name in enumerate(presets):
        report(progress, i / len(presets), name)
        q = ctx.Queue()
        if existing:
            args, kwargs = (name,), dict(n_docs=n_docs, samples=samples, seed=seed, hsj_docs=hsj_docs,
                                         ray_docs=ray_docs, existing=True)
        else:
            args, kwargs = (name, n_train, n_docs, samples, seed, with_import, hsj_docs), dict(ray_docs=ray_docs)
        proc = ctx.Process(target=_child, args=(args, kwargs, q))
        proc.start()
        rows.append(q.get())
        proc.join()
    report(progress, 1.0, "done")
    return {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "load_average_1_5_15": _load()},
            "goals_on_amazon_670k": GOALS, "presets": rows, "growth": growth(rows)}


PLOT_UNITS = {"generate_s": "s", "import_s": "s", "train_s": "s", "predict_1_ms": "ms", "python_model_predict_1_ms": "ms",
              "lime_top5_s": "s", "explain_input_s": "s", "hsj_query_64_dense_rows_s": "s",
              "hsj_query_64_subspace_rows_s": "s", "hsj_s": "s", "peak_rss_mb": "MB"}


def scale_plot_html(out: dict) -> str:
    """The growth of every measured cost with the label count, log-log (x: labels; y: the cost in its own
    unit, one line per cost; the goals at 670K as markers), as one offline HTML file (plotly.js inlined)."""
    import plotly.graph_objects as go

    from engine.plot_text import plot_text

    rows = sorted((r for r in out["presets"] if isinstance(r.get("labels"), (int, float))), key=lambda r: r["labels"])
    fig = go.Figure()
    for k in GROWTH_KEYS:
        pts = [(r["labels"], r[k], r.get("preset", "")) for r in rows if isinstance(r.get(k), (int, float)) and r[k] > 0]
        if len(pts) < 2:
            continue
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                 name=plot_text(f"{k} ({PLOT_UNITS[k]})"),
                                 text=[plot_text(p[2]) for p in pts],
                                 hovertemplate="%{text}: %{x:,} labels, %{y:.4g} " + PLOT_UNITS[k]))
    for k, goal in GOALS.items():
        fig.add_trace(go.Scatter(x=[670_091], y=[goal], mode="markers", marker_symbol="x", marker_size=10,
                                 name=plot_text(f"goal: {k} <= {goal:g} {PLOT_UNITS[k]} at 670K")))
    load = out.get("machine", {}).get("load_average_1_5_15")
    fig.update_layout(title=plot_text(f"XTrust cost vs label count (python -m engine bench --scale; load {load})"),
                      xaxis=dict(type="log", title="labels"), yaxis=dict(type="log", title="cost (its own unit)"),
                      height=640)
    return fig.to_html(full_html=True, include_plotlyjs=True)


def format_scale(out: dict) -> str:
    """Plain-text tables: one column per preset."""
    rows = out["presets"]
    interactive = ("predict_1_ms", "lime_top5_s", "explain_input_s", "hsj_query_64_dense_rows_s",
                   "hsj_query_64_subspace_rows_s", "hsj_docs", "hsj_s", "hsj_queries", "hsj_success")
    ray = ("ray_docs", "robustness_success", *(f"{k}_{w}_s" for k in ("robustness", "faithfulness")
                                               for w in ("local", *(f"ray{n}" for n in RAY_WORKERS))),
           *(f"ray{n}_same_numbers" for n in RAY_WORKERS), "robustness_ray_speedup_2_vs_1",
           "faithfulness_ray_speedup_2_vs_1", "load_average_after_ray")
    keys = [k for k in ("labels", "features", "train_docs", "test_docs", "labels_unseen_in_train", "nnz_train",
                        "generate_s", "write_xc_s", "xc_mb", "import_s", "load_s", "train_s", "model_load_s", "eval_docs",
                        "P@1", "P@5", "P@1_most_frequent_label", "words_per_doc", "featurize_1_ms", "pecos_predict_1_ms", "pecos_predict_1_ms_csc",
                        *interactive, *ray, "estimated_generate_mb",
                        "rss_after_generate_mb", "rss_after_load_mb", "rss_after_train_mb", "peak_rss_mb",
                        "python_model_load_s", "python_model_predict_1_ms", "python_model_adds_rss_mb",
                        "load_average_before", "load_average_after", "error") if any(k in r for r in rows)]
    width = max(18, *(len(str(r.get("preset"))) + 2 for r in rows))
    lines = [f"{'':28}" + "".join(f"{str(r.get('preset')):>{width}}" for r in rows)]
    for k in keys:
        lines.append(f"{k:28}" + "".join(f"{str(r.get(k, '')):>{width}}" for r in rows))
    g = out.get("growth", [])
    if len(g) > 1:
        lines.append("")
        lines.append("growth: ratio to the first preset (exponent d log cost / d log labels from the previous one)")
        lines.append(f"{'':28}" + "".join(f"{x['preset']:>{width}}" for x in g))
        for k in GROWTH_KEYS:
            if f"{k}_ratio" in g[0]:
                cells = [f"{x.get(f'{k}_ratio', '')}" + (f" ({x[f'{k}_exponent']})" if f"{k}_exponent" in x else "")
                         for x in g]
                lines.append(f"{k:28}" + "".join(f"{c:>{width}}" for c in cells))
    lines.append("(python_model_*: PECOS' Python model, loaded after peak_rss_mb was read: the layout pages used before)")
    lines.append(f"machine: {out['machine']}")
    return "\n".join(lines)
