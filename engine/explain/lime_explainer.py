"""LIME for XMC: one shared set of perturbed samples explains all k labels at once.

The model is wrapped as ``classifier_fn: inputs -> ndarray (n, k)`` returning
``model.score_labels(inputs, label_ids)`` for only the k explained labels (an XMC model has
hundreds of labels; LIME would otherwise want all of them). Scores are not probabilities: LIME's
ridge regression does not need them to be.

Text: lime's LimeTextExplainer with ``split_expression`` = the models' own TF-IDF tokenizer and
``bow=True``, so a removed word disappears from the TF-IDF vector (and from the encoder input).
Dense (MediaMill): lime's LimeTabularExplainer with the training rows' statistics (quartile
discretisation, as lime does by default).

The local linear model is fit over every unit (``feature_selection="none"``), so every word gets
a weight for highlighting and for the deletion order; the top ``n_features`` of those weights are
what a user sees as "the" explanation. (Fitting a second, smaller model for the top-n list would
show two different numbers for one word.)
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from engine.explain.units import DenseUnits, TextUnits, split_words
from engine.explain.spec import ExplainContext, ExplainerSpec, MethodOutput
from engine.types import ProgressFn, report


def _classifier_fn(model, label_ids: Sequence[int], batch: int, progress: ProgressFn | None, lo: float, hi: float):
    ids = [int(i) for i in label_ids]

    def fn(inputs):
        n = len(inputs)
        parts = []
        for i in range(0, n, batch):
            chunk = list(inputs[i:i + batch]) if isinstance(inputs, list) else np.asarray(inputs[i:i + batch])
            parts.append(np.asarray(model.score_labels(chunk, ids), dtype=np.float64))
            report(progress, lo + (hi - lo) * min(1.0, (i + batch) / n), f"LIME: scored {min(n, i + batch)}/{n} samples")
        return np.vstack(parts)

    return fn


def _record_fits(explainer) -> list[float]:
    """Keep each label's local R^2 (lime stores only the last label's on the Explanation)."""
    base = explainer.base
    scores: list[float] = []
    fit = base.explain_instance_with_data

    def recording(*args, **kwargs):
        out = fit(*args, **kwargs)
        scores.append(float(out[2]))
        return out

    base.explain_instance_with_data = recording
    return scores


def lime_text(model, units: TextUnits, label_ids: Sequence[int], samples: int, seed: int, batch: int = 256,
              progress: ProgressFn | None = None) -> tuple[np.ndarray, list[dict]]:
    """LIME weights of every word for each label.

    Returns W: ndarray (k, units.n) (unit order = units.names) and per-label extras
    (intercept, local R^2, local prediction).
    """
    from lime.lime_text import LimeTextExplainer

    k = len(label_ids)
    explainer = LimeTextExplainer(class_names=[str(int(i)) for i in label_ids], split_expression=split_words,
                                  bow=True, feature_selection="none", random_state=seed)
    r2 = _record_fits(explainer)
    exp = explainer.explain_instance(units.text, _classifier_fn(model, label_ids, batch, progress, 0.0, 1.0),
                                     labels=range(k), num_features=units.n, num_samples=samples)
    vocab = exp.domain_mapper.indexed_string.inverse_vocab
    index = {w: i for i, w in enumerate(units.names)}
    W = np.zeros((k, units.n), dtype=np.float64)
    extras = []
    for j in range(k):
        for feat, w in exp.local_exp[j]:
            W[j, index[vocab[feat]]] = w
        extras.append({"intercept": float(exp.intercept[j]), "local_r2": r2[j] if j < len(r2) else None})
    return W, extras


def lime_dense(model, units: DenseUnits, label_ids: Sequence[int], train_X: np.ndarray, samples: int, seed: int,
               batch: int = 2048, progress: ProgressFn | None = None) -> tuple[np.ndarray, list[dict], list[dict]]:
    """LIME (tabular, quartile-discretised) weights of every feature for each label.

    train_X: ndarray (n_train, d) raw training rows (for the sampling statistics).
    Returns W: ndarray (k, d), per-label extras, and per-label {feature index: readable condition}
    (e.g. "f12 > 0.53", lime's discretised feature names).
    """
    from lime.lime_tabular import LimeTabularExplainer

    k = len(label_ids)
    explainer = LimeTabularExplainer(np.asarray(train_X, dtype=np.float64), mode="classification",
                                     feature_names=units.names, class_names=[str(int(i)) for i in label_ids],
                                     discretize_continuous=True, feature_selection="none", random_state=seed)
    r2 = _record_fits(explainer)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="(?s).*probabilities do not sum")
        warnings.filterwarnings("ignore", message="(?s).*probabilties do not sum")
        exp = explainer.explain_instance(units.x.astype(np.float64), _classifier_fn(model, label_ids, batch, progress, 0.0, 1.0),
                                         labels=range(k), num_features=units.n, num_samples=samples)
    dm = exp.domain_mapper
    names = getattr(dm, "discretized_feature_names", None) or getattr(dm, "exp_feature_names", None) or units.names
    W = np.zeros((k, units.n), dtype=np.float64)
    extras, conditions = [], []
    for j in range(k):
        cond = {}
        for feat, w in exp.local_exp[j]:
            W[j, int(feat)] = w
            cond[int(feat)] = str(names[int(feat)])
        conditions.append(cond)
        extras.append({"intercept": float(exp.intercept[j]), "local_r2": r2[j] if j < len(r2) else None})
    return W, extras, conditions


def _run(model, units, label_ids, ctx: ExplainContext) -> MethodOutput:
    if units.kind == "text":
        W, extras = lime_text(model, units, label_ids, ctx.samples, ctx.seed, progress=ctx.progress)
        return MethodOutput(W, extras)
    W, extras, conditions = lime_dense(model, units, label_ids, ctx.train_X, ctx.samples, ctx.seed,
                                       progress=ctx.progress)
    return MethodOutput(W, extras, conditions=conditions)


SPEC = ExplainerSpec(
    name="lime", title="LIME", needs="any", run=_run, uses_samples=True,
    help="a local linear surrogate per label, fitted on the model's scores of perturbed copies (words removed, "
         "or features resampled from training data)")
