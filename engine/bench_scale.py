"""python -m engine bench --scale: how XTrust's costs grow with the label count (issue 16).

Per synthetic preset (engine/data/synthetic.py), in a fresh child process (so the peak RSS is its own)
with its own temporary data and model folders (removed afterwards): generation time, streaming import
time of the same data written as XC files, dataset load time (pseudo-text), XR-Linear training time,
P@1 / P@5 on up to EVAL_DOCS test documents, predict latency for one document, LIME top-5 (SAMPLES
samples) per document -- the explanation alone and the whole explain_input call (which adds the
faithfulness scores) -- and HopSkipJump per document, through the engine's own API. Then a table of
each cost as a ratio to the smallest preset measured in the same run, and its log-log growth
exponent d log(cost) / d log(labels) between consecutive presets, with the load average beside.
"""
from __future__ import annotations

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
GROWTH_KEYS = ("generate_s", "import_s", "train_s", "predict_1_ms", "predict_1_ms_po", "lime_top5_s", "lime_top5_s_po",
               "explain_input_s", "hsj_query_64_dense_rows_s", "hsj_query_64_dense_rows_s_po", "hsj_s", "hsj_s_po",
               "peak_rss_mb")


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure_preset(preset_name: str, n_train: int | None = None, n_docs: int = 3, samples: int = SAMPLES,
                   seed: int = 0, with_import: bool = True, hsj_docs: int | None = None, workdir: str | None = None,
                   progress=None, **overrides) -> dict:
    """Every number of one preset's row (run it in a child process: it sets XTRUST_CACHE_DIR / MODEL_DIR).
    hsj_docs: documents attacked with HopSkipJump (default n_docs; 0 = only its per-query cost).
    overrides: preset fields (e.g. n_labels) for a small run."""
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
    from engine.models.runtime import evaluate_model, get_model, train_model
    from engine.models.store import ModelStore

    store = ModelStore(os.environ["XTRUST_MODEL_DIR"])
    t = time.perf_counter()
    info = train_model(ds, "xlinear", store=store, evaluate=False)
    row["train_s"] = round(time.perf_counter() - t, 2)
    row["rss_after_train_mb"] = _rss_mb()
    model = get_model(ds.name, info.model_id, store)  # as every page loads it (predict-only)
    rows = range(min(EVAL_DOCS, ds.test.n))
    t = time.perf_counter()
    m = evaluate_model(model, ds, rows=rows)
    row["eval_docs"] = len(rows)
    row["eval_s"] = round(time.perf_counter() - t, 2)
    row["P@1"], row["P@5"] = round(100 * m["P@1"], 2), round(100 * m["P@5"], 2)
    freq = np.bincount(ds.train.Y.indices, minlength=ds.n_labels)
    top = int(np.argmax(freq))
    row["P@1_most_frequent_label"] = round(100 * float(np.mean(ds.test.Y[list(rows)][:, top].toarray() > 0)), 2)
    report(progress, 0.5, f"{p.name}: predict, LIME, HopSkipJump")
    docs = list(range(n_docs))
    texts = [ds.test.texts[d] for d in docs]
    truths = [list(ds.document(d).labels) for d in docs]
    row.update(docs=len(docs), words_per_doc=round(float(np.mean([len(t.split()) for t in texts])), 1))
    row.update(_predict_references(model, texts))
    row.update(interactive_costs(model, texts, truths, samples, seed, hsj_docs, progress=progress))
    fast = predict_only_copy(model, info.path)
    if fast is not None:  # the same model, PECOS loaded predict-only: what the store's loading leaves on the table
        row.update({f"{k}_po": v for k, v in interactive_costs(fast, texts, truths, samples, seed, hsj_docs).items()})
    row.update(peak_rss_mb=_rss_mb(), load_average_after=_load())
    if workdir is None:
        shutil.rmtree(work, ignore_errors=True)
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
            "pecos_predict_1_ms": _median_ms(lambda: model.xlm.predict(X, beam_size=beam, only_topk=TOP_K,
                                                                        threads=threads_for(1)))}


def predict_only_copy(model, model_path):
    """A shallow copy of an XR-Linear model whose PECOS model is loaded from the same files with
    ``is_predict_only=True`` (a measured reference; None when it cannot be loaded). Its label_path
    (which reads the tree from the Python model) does not work."""
    import copy

    from pecos.xmc.xlinear.model import XLinearModel

    try:
        fast = copy.copy(model)
        # CSC weights: PECOS' predict-only default (chunked) cannot score selected labels (LIME, attacks)
        fast.xlm = XLinearModel.load(str(model_path / "xlinear"), is_predict_only=True, weight_matrix_type="CSC")
        return fast
    except Exception:  # a reference only: never fail the row
        return None


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
               hsj_query_64_dense_rows_s=_dense_query_seconds(model, texts[0], seed))
    if hsj_s:
        out.update(hsj_docs=len(hsj_s), hsj_s=round(float(np.median(hsj_s)), 3), hsj_queries=int(np.median(hsj_q)),
                   hsj_success=f"{sum(hsj_ok)}/{len(hsj_ok)}")
    return out


def _dense_query_seconds(model, text: str, seed: int) -> float:
    """Seconds for one top-1 query batch of 64 rows as HopSkipJump sends them: the document's feature
    vector plus small noise on every feature (dense rows of the whole vocabulary)."""
    view = model.feature_view(text)
    rng = np.random.default_rng(seed)
    pts = np.clip(view.x0[None, :] + 0.01 * rng.standard_normal((64, view.x0.size)), *view.clip).astype(np.float32)
    view.top_k(pts[:1], 1)
    t = time.perf_counter()
    view.top_k(pts, 1)
    return round(time.perf_counter() - t, 3)


def _child(args, queue) -> None:
    try:
        queue.put(measure_preset(*args))
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
                    progress: ProgressFn | None = None) -> dict:
    """Measure each preset in its own child process; n_train overrides the training documents of every preset."""
    from engine.data.synthetic import preset

    for name in presets:  # bad names refused before any child starts
        preset(name, n_train=n_train)
    ctx = mp.get_context("spawn")
    rows = []
    for i, name in enumerate(presets):
        report(progress, i / len(presets), name)
        q = ctx.Queue()
        proc = ctx.Process(target=_child, args=((name, n_train, n_docs, samples, seed, with_import, hsj_docs), q))
        proc.start()
        rows.append(q.get())
        proc.join()
    report(progress, 1.0, "done")
    return {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "load_average_1_5_15": _load()},
            "goals_on_amazon_670k": GOALS, "presets": rows, "growth": growth(rows)}


def format_scale(out: dict) -> str:
    """Plain-text tables: one column per preset."""
    rows = out["presets"]
    interactive = ("predict_1_ms", "lime_top5_s", "explain_input_s", "hsj_query_64_dense_rows_s", "hsj_docs", "hsj_s",
                   "hsj_queries", "hsj_success")
    keys = [k for k in ("labels", "features", "train_docs", "test_docs", "labels_unseen_in_train", "nnz_train",
                        "generate_s", "write_xc_s", "xc_mb", "import_s", "load_s", "train_s", "eval_docs", "P@1", "P@5",
                        "P@1_most_frequent_label", "words_per_doc", "featurize_1_ms", "pecos_predict_1_ms",
                        *interactive, *(f"{k}_po" for k in interactive), "estimated_generate_mb",
                        "rss_after_generate_mb", "rss_after_load_mb", "rss_after_train_mb", "peak_rss_mb",
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
    lines.append("(_po: the same model with PECOS loaded predict-only, measured in the same run)")
    lines.append(f"machine: {out['machine']}")
    return "\n".join(lines)
