"""Whole-score attribution ("whole"): every word's share of a label's whole ranker score, both halves.

Target. PECOS combines the tree levels of a label's path multiplicatively for its default
post-processor (l3-hinge: score = prod_d f(v_d)), so the additive quantity is the log of the score,
    A = log score = sum_d g(v_d),   g = log f  (l*-hinge -> log-l*-hinge, sigmoid -> log-sigmoid).
For the log-* post-processors (combined by +) A = score and g = f; for noop only the last level
counts (A = its v). The attributions of a label add up to A(x) - A(baseline).

Baseline. Zero TF-IDF, and an encoder input whose every word piece is [PAD] ([CLS]/[SEP],
positions, token types and attention mask unchanged). For dense XR-Linear models: all features
zero after scaling, i.e. every raw feature at its training mean (the faithfulness code's removal).

Attribution. Each level's linear value splits exactly (engine.explain.score_split):
    v_d - v'_d = sum_words w_d[word] * tfidf[word]  +  (w_d,enc . (e(x) - e(x')))
The TF-IDF terms are exact. The encoder term is spread over the word pieces by Integrated
Gradients through the encoder (Captum's LayerIntegratedGradients on the word-embedding layer).
Each level's change g(v_d) - g(v'_d) is then shared among the words in proportion to their part
of v_d - v'_d (the rescale rule: exactly what Integrated Gradients gives for g of a linear
function), so that by linearity of IG one IG run per label, on e(x) . sum_d r_d w_d,enc with
r_d = (g(v_d) - g(v'_d)) / (v_d - v'_d), covers every level.

Completeness error = |sum of attributions - (A - A')| / |A - A'|, reported for every label: the
TF-IDF half is exact (float rounding), the encoder half carries IG's quadrature error (re-run once
with 4x the steps when above 1 %). ``encoder_completeness_error`` is the same for the encoder half
alone (its target: that half's change from the baseline); the float32 encoder bounds it to ~1e-5
absolute, which is large relative to a tiny encoder change. XR-Linear has no encoder: exact.
Attribution that lands on word pieces that are no word of the text (punctuation) is reported
as ``non_word_attribution``; it is in the completeness sum, not in the words' weights.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.errors import InputError, ModelError
from engine.explain.score_split import _check_model, ranker_parts, splits_from_parts
from engine.explain.spec import ExplainContext, ExplainerSpec, MethodOutput
from engine.types import ProgressFn, report

TARGET_COMPLETENESS = 0.01
IG_STEPS = 8  # Gauss-Legendre nodes; rerun at 4x when the completeness error is above 1 % (see README)
BASELINE = ("zero TF-IDF and an all-[PAD] encoder input ([CLS]/[SEP] kept); dense features: their training means")


def additive_transform(post_processor: str, level: int, depth: int) -> str | None:
    """The per-level function g whose sum over levels is the additive target (None: the level does not count)."""
    if post_processor == "noop":
        return "noop" if level == depth - 1 else None
    if post_processor.startswith("log-"):
        return post_processor
    if post_processor == "sigmoid" or post_processor.endswith("-hinge"):
        return "log-" + post_processor
    raise ModelError(f"PECOS post-processor {post_processor!r} is not supported by whole-score attribution.")


def _g_and_slope(name: str | None, v: np.ndarray, v0: np.ndarray):
    """g(v), g(v0) and the rescale ratio (g(v) - g(v0)) / (v - v0) (g'(v) where v == v0). All (m,).
    numpy only (engine.explain.score_split.transform_and_slope): XR-Linear never loads torch."""
    from engine.explain.score_split import transform_and_slope

    v, v0 = np.asarray(v, dtype=np.float64), np.asarray(v0, dtype=np.float64)
    if name is None:
        z = np.zeros_like(v)
        return z, z, z
    gv, dg = transform_and_slope(name, v)
    g0 = transform_and_slope(name, v0)[0]
    dv = v - v0
    close = np.abs(dv) < 1e-12
    ratio = np.where(close, dg, (gv - g0) / np.where(close, 1.0, dv))
    return gv, g0, ratio


def _check_top_k(model, model_input, ids: np.ndarray, top_k: int | None) -> None:
    if top_k is None:
        return
    x = [model_input] if isinstance(model_input, str) else np.atleast_2d(model_input)
    top = set(model.predict(x, int(top_k))[0].label_ids)
    for lab in ids:
        if int(lab) not in top:
            raise InputError(f"label {model.label_names[int(lab)]!r} (id {int(lab)}) is not in this document's top-"
                             f"{int(top_k)}: whole-score attribution explains the predicted labels only.")


def _tfidf_unit_parts(units, X_row, W, n_tfidf: int, feature_names) -> np.ndarray:
    """Exact TF-IDF (or dense-feature) contributions x_j * w_j summed per unit: (m, units.n) float64.
    X_row: csr (1, D); W: csc (D, m)."""
    row = X_row[:, :n_tfidf].tocsr()
    cols, vals = row.indices, row.data.astype(np.float64)
    contrib = np.asarray(W[cols].toarray(), dtype=np.float64) * vals[:, None]  # (active, m)
    if units.kind == "dense":
        unit_of = cols
    else:
        index = {w: u for u, w in enumerate(units.names)}
        unit_of = np.asarray([index.get(feature_names[j], -1) for j in cols], dtype=np.int64)
        if np.any(unit_of < 0):  # cannot happen: TF-IDF and the units share one tokenizer and lower-casing
            raise ModelError("a TF-IDF word of the document is not one of its words; tokenizers disagree.")
    out = np.zeros((W.shape[1], units.n), dtype=np.float64)
    np.add.at(out.T, unit_of, contrib)
    return out


def _pad_baseline(model, t: dict):
    """The baseline encoder input: every word piece of t["input_ids"] (1, T) replaced by [PAD]."""
    import torch

    ids = t["input_ids"]
    special = model.tokenizer.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True)
    keep = torch.as_tensor(special, dtype=torch.bool, device=ids.device)[None, :]
    return torch.where(keep, ids, torch.full_like(ids, int(model.tokenizer.pad_token_id)))


def _layer_integrated_gradients():
    """Captum's LayerIntegratedGradients; captum is needed by this method only, so imported here."""
    try:
        from captum.attr import LayerIntegratedGradients
    except ImportError:
        raise ModelError("whole-score attribution of the X-Transformer's encoder needs Captum, which is not "
                         "installed: pip install captum==0.9.0 (XR-Linear models need no Captum).") from None
    return LayerIntegratedGradients


def warm_up(model) -> None:
    """Start, in a daemon thread, what a model's first whole-score explanation would otherwise wait for:
    Captum's import (~0.5 s) for the X-Transformer, PECOS' Python model (its weight matrices, which the
    exact attribution reads: ~3 s and ~650 MB at 670K labels; pages that only predict use the predict-only
    layouts) for XR-Linear. Once per process (per model object). Errors surface on first use."""
    from engine.background import start_once

    if getattr(model, "family", "") == "xtransformer":
        start_once("captum", _layer_integrated_gradients, "whole-score")
    elif callable(getattr(model, "ranker_inputs", None)) and hasattr(type(model), "xlm"):
        start_once(("pecos-weights", id(model)), lambda: model.xlm, "whole-score")


def _encoder_ig(model, units, t: dict, base, U: np.ndarray, steps: int):
    """Integrated Gradients of e(x) . U[:, j] for each label j over the word pieces, from ``base``.

    t: the encoder inputs (1, T); U: (h, m). Returns (per-unit attributions (m, units.n),
    attribution on word pieces that are no word of the text (m,))."""
    import torch

    from engine.explain.attention import piece_to_word, unit_weights

    LayerIntegratedGradients = _layer_integrated_gradients()

    ids = t["input_ids"]
    m = U.shape[1]
    Ut = torch.as_tensor(U, dtype=torch.float32, device=ids.device)

    def forward(input_ids, attention_mask, token_type_ids):
        return model.unit_embedding(input_ids, attention_mask, token_type_ids) @ Ut  # (batch, m)

    lig = LayerIntegratedGradients(forward, model.encoder.embeddings.word_embeddings)
    rep = lambda x: x.repeat(m, 1)  # noqa: E731 - one row per label, target j on row j
    # the hooks Captum puts on the shared word-embedding module see every thread's forward passes: no other
    # forward of this model runs while they are on (XTransformerXMC.encoder_lock)
    with torch.enable_grad(), model.encoder_lock:
        attr = lig.attribute(rep(ids), baselines=rep(base), target=list(range(m)),
                             additional_forward_args=(rep(t["attention_mask"]), rep(t["token_type_ids"])),
                             n_steps=int(steps), internal_batch_size=max(m, 64))
    piece_attr = attr.sum(dim=-1).detach().double().cpu().numpy()  # (m, T)
    pw = piece_to_word(model, units, model.tokenizer.convert_ids_to_tokens(ids[0].tolist()))
    word_rel = np.zeros((m, len(units.words)), dtype=np.float64)
    for p, w in enumerate(pw):
        if w >= 0:
            word_rel[:, w] += piece_attr[:, p]
    return unit_weights(units, word_rel), piece_attr[:, pw < 0].sum(axis=1)


def whole_score(model, units, label_ids: Sequence[int], top_k: int | None = None, ig_steps: int = IG_STEPS,
                progress: ProgressFn | None = None) -> tuple[np.ndarray, list[dict]]:
    """Whole-score attributions of every unit (word type, or dense feature) for each label.

    units: TextUnits or DenseUnits. top_k: when given, every label must be in the input's top-k.
    Returns W: ndarray (m, units.n) summing (with ``non_word_attribution``) to A(x) - A(baseline),
    and per-label extras (target, baseline, completeness error, the score split, ...).
    """
    _check_model(model)
    ids = model.check_label_ids(label_ids)
    model_input = units.text if units.kind == "text" else units.x
    _check_top_k(model, model_input, ids, top_k)
    x = [model_input] if units.kind == "text" else model.check_inputs(model_input)
    rankers = model.ranker_inputs(x)  # the input featurised (and encoded) once; everything below reuses it
    if len(rankers) != 1:
        raise InputError(ENSEMBLE_NOTE)
    name, weight, xlm, X, n_tfidf = rankers[0]
    import scipy.sparse as sp

    X = sp.csr_matrix(X, dtype=np.float64)
    if X[:, :n_tfidf].nnz == 0:
        raise InputError("none of the document's words is in the model's vocabulary (its TF-IDF vector is empty): "
                         "there is nothing for a word-level attribution to explain." if units.kind == "text" else
                         "every feature is at its training mean (the baseline): there is nothing to attribute.")
    has_encoder = X.shape[1] > n_tfidf
    parts = ranker_parts(xlm, X, n_tfidf, ids)  # one pass: the score split and the attributions share it
    split = splits_from_parts(model, [ids], ids, [(name, weight, parts)])[0]
    depth = len(parts)
    m = ids.size
    report(progress, 0.1, "whole-score: exact TF-IDF contributions")
    tfidf_units = np.zeros((m, units.n))
    U = np.zeros((X.shape[1] - n_tfidf, m))
    A = np.zeros(m)
    A0 = np.zeros(m)
    names = getattr(model.featurizer, "feature_names", None)
    if has_encoder:
        import torch

        _layer_integrated_gradients()  # fail before any work when Captum is missing
        t = model.encoder_inputs(units.text)
        base_ids = _pad_baseline(model, t)
        with torch.no_grad():
            e0 = model.unit_embedding(base_ids, t["attention_mask"], t["token_type_ids"])[0].double().cpu().numpy()
    for d, (lw, tf, enc, b) in enumerate(parts):
        v = tf[0] + enc[0] + b
        v0 = b + (np.asarray(lw.W[n_tfidf:].T @ e0, dtype=np.float64).ravel() if has_encoder else 0.0)
        g, g0, r = _g_and_slope(additive_transform(lw.post_processor, d, depth), v, v0)
        A += g
        A0 += g0
        tfidf_units += r[:, None] * _tfidf_unit_parts(units, X, lw.W, n_tfidf, names)
        if has_encoder:
            U += np.asarray(lw.W[n_tfidf:].toarray(), dtype=np.float64) * r[None, :]
    target = A - A0
    # what IG must hand out over the word pieces: sum_d r_d w_d,enc . (e(x) - e(baseline)), (m,)
    enc_target = (U.T @ (X[:, n_tfidf:].toarray().ravel() - e0)) if has_encoder else np.zeros(m)
    enc_units, non_word, steps = np.zeros((m, units.n)), np.zeros(m), 0
    if has_encoder:
        report(progress, 0.3, "whole-score: integrated gradients through the encoder")
        steps = int(ig_steps)
        for attempt in range(2):
            enc_units, non_word = _encoder_ig(model, units, t, base_ids, U, steps)
            total = tfidf_units.sum(axis=1) + enc_units.sum(axis=1) + non_word
            if attempt or np.all(_relative_error(total, target) <= TARGET_COMPLETENESS):
                break
            steps *= 4
    W = tfidf_units + enc_units
    total = W.sum(axis=1) + non_word
    err = _relative_error(total, target)
    kind = additive_transform(parts[-1][0].post_processor, depth - 1, depth)
    what = "log score" if kind and kind.startswith("log-") and not parts[-1][0].post_processor.startswith("log-") \
        else "score"
    extras = []
    for j, lab in enumerate(split):
        extras.append({
            "target": f"{what} (sum over the {depth} tree levels) minus its value at the baseline",
            "baseline": BASELINE, "target_value": float(A[j]), "baseline_value": float(A0[j]),
            "attribution_sum": float(total[j]), "completeness_error": float(err[j]),
            "tfidf_attribution": float(tfidf_units[j].sum()), "encoder_attribution": float(enc_units[j].sum()),
            "non_word_attribution": float(non_word[j]), "ig_steps": steps, "encoder_target": float(enc_target[j]),
            "encoder_completeness_error": float(_relative_error(enc_units[j].sum() + non_word[j], enc_target[j])),
            "encoder_share_pct": round(100.0 * lab.encoder_share, 4), "score_split": lab.to_json()})
    report(progress, 1.0, "whole-score attribution done")
    return W, extras


def _relative_error(total: np.ndarray, target: np.ndarray) -> np.ndarray:
    """|total - target| / |target|; the absolute error where the target is 0."""
    gap = np.abs(total - target)
    return np.where(np.abs(target) > 1e-12, gap / np.maximum(np.abs(target), 1e-12), gap)


def _run(model, units, label_ids, ctx: ExplainContext) -> MethodOutput:
    top_k = None if ctx.labels_are_top_k else ctx.top_k  # the caller's own top-k: not predicted a second time
    W, extras = whole_score(model, units, label_ids, top_k=top_k, progress=ctx.progress)
    # each label's score, re-combined from its split (PECOS' float32 score to ~1e-7): no extra forward pass
    return MethodOutput(W, extras, scores=np.asarray([x["score_split"]["score"] for x in extras]))


ENSEMBLE_NOTE = ("whole-score attribution does not cover the X-Transformer + XR-Linear ensemble (its score is a sum "
                 "of two rankers' products); explain the plain X-Transformer, or use LIME.")


def _params_check(params: dict) -> str | None:
    """The fused X-Transformer + XR-Linear ensemble is not covered (see ENSEMBLE_NOTE)."""
    return ENSEMBLE_NOTE if float(params.get("ensemble_xlinear_weight") or 0.0) > 0.0 else None


SPEC = ExplainerSpec(
    name="whole", title="Whole score", needs="any", run=_run, warm_up=warm_up, sub_second=True,
    params_check=_params_check,
    help="exact per-word contributions of the TF-IDF half plus the encoder half by Integrated Gradients; they add "
         "up to the log score minus an empty text's (the completeness error is shown)")
