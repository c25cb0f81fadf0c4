"""The score, split: how much of each label's ranker score comes from the TF-IDF half of the ranker's
input and how much from the encoder half, level by level along the label's tree path.

PECOS' ranker is linear at each level d of the label tree: for the node n_d the label's path passes,
    v_d = w_d . x + b_d = (w_d,tfidf . x_tfidf) + (w_d,enc . x_enc) + b_d         (exactly)
with x = [TF-IDF (V) ; L2-normalised encoder output (h)] (``XTransformerXMC.rank_features``). The
post-processor then transforms each level and combines the levels (l3-hinge, PECOS' default:
score = prod_d exp(-max(1 - v_d, 0) ** 3)). So the split is taken where it is exact: on each
level's pre-transform value v_d, reported as its TF-IDF, encoder and bias parts.

Encoder share of a label = sum_d |enc_d| / sum_d (|enc_d| + |tfidf_d|) (the bias is the same for
every input and belongs to neither half). With the XR-Linear ensemble the second ranker's levels
count with its ensemble weight (its encoder parts are 0). XR-Linear alone reads no encoder: its
share is 0 by definition.

The share is measured against a zero encoder half, not against an empty text: an encoder whose output
hardly depends on its input still gets a large share here while moving the score little. The
whole-score attribution (engine.explain.whole_score) measures change from an all-[PAD] input instead
(on the tiny test X-Transformer: shares of 22-59 %, encoder attributions ~1e-4 of the log score).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from engine.errors import InputError

SHARE_DEFINITION = ("encoder share = sum over tree levels of |encoder part| / sum of (|encoder part| + |TF-IDF part|) "
                    "of each level's pre-transform ranker value (bias excluded); XR-Linear reads no encoder: 0 %")


@dataclass(frozen=True)
class LevelSplit:
    """One tree level: v = tfidf + encoder + bias (the pre-transform linear value); transformed =
    the post-processor's transform of v (what PECOS combines down the path)."""

    level: int
    node: int
    tfidf: float
    encoder: float
    bias: float
    transformed: float

    @property
    def value(self) -> float:
        return self.tfidf + self.encoder + self.bias

    def to_json(self) -> dict:
        return {"level": self.level, "node": self.node, "tfidf": self.tfidf, "encoder": self.encoder,
                "bias": self.bias, "value": self.value, "transformed": self.transformed}


@dataclass(frozen=True)
class RankerSplit:
    """One PECOS ranker along one label's path: its levels, post-processor and combined score;
    ``weight`` is its weight in the model's final score (1, or the ensemble mix)."""

    ranker: str
    weight: float
    post_processor: str
    levels: tuple[LevelSplit, ...]
    score: float

    def to_json(self) -> dict:
        return {"ranker": self.ranker, "weight": self.weight, "post_processor": self.post_processor,
                "score": self.score, "levels": [lv.to_json() for lv in self.levels]}


@dataclass(frozen=True)
class LabelScoreSplit:
    label_id: int
    name: str
    score: float  # re-combined from the levels: sum over rankers of weight x ranker score
    rankers: tuple[RankerSplit, ...]

    @property
    def encoder_share(self) -> float:
        """In [0, 1]; see SHARE_DEFINITION. 0 when neither half moves the score (no active input)."""
        enc = sum(r.weight * abs(lv.encoder) for r in self.rankers for lv in r.levels)
        tot = enc + sum(r.weight * abs(lv.tfidf) for r in self.rankers for lv in r.levels)
        return float(enc / tot) if tot > 0 else 0.0

    def to_json(self) -> dict:
        return {"label_id": self.label_id, "label": self.name, "score": self.score,
                "encoder_share_pct": round(100.0 * self.encoder_share, 4),
                "rankers": [r.to_json() for r in self.rankers]}


@dataclass(frozen=True)
class ScoreSplit:
    """The split of one input's label scores (labels in the order asked)."""

    family: str
    labels: tuple[LabelScoreSplit, ...]
    definition: str = SHARE_DEFINITION

    def to_json(self) -> dict:
        return {"family": self.family, "definition": self.definition, "labels": [lab.to_json() for lab in self.labels]}


def ranker_parts(xlm, X, n_tfidf: int, label_ids: np.ndarray):
    """Per level of one ranker: (LevelWeights, tfidf (n, m), encoder (n, m), bias (m,)) float64.
    X: csr or ndarray (n, D), columns [0, n_tfidf) the TF-IDF (or dense-feature) half."""
    from engine.models.xlinear import path_weights

    X = sp.csr_matrix(X, dtype=np.float64)
    out = []
    for lw in path_weights(xlm, label_ids):
        W = lw.W.astype(np.float64)
        t = np.asarray((X[:, :n_tfidf] @ W[:n_tfidf]).toarray())
        e = np.asarray((X[:, n_tfidf:] @ W[n_tfidf:]).toarray()) if X.shape[1] > n_tfidf else np.zeros_like(t)
        out.append((lw, t, e, lw.bias))
    return out


def transform_np(post_processor: str, v: np.ndarray) -> np.ndarray:
    """PECOS' transform of level values (pecos.xmc.base.Transform), float64, in numpy: the same
    functions as the torch code in engine.models.xlinear.pecos_transform (tested equal), so the
    split and the whole-score attribution of XR-Linear never load torch (~5 s on a busy box)."""
    return transform_and_slope(post_processor, v)[0]


def transform_and_slope(post_processor: str, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(v) and its derivative f'(v) for a PECOS post-processor, float64, shapes of v."""
    import re

    from scipy.special import expit

    v = np.asarray(v, dtype=np.float64)
    m = re.fullmatch(r"(log-)?l(\d)-hinge", post_processor)
    if m:
        p = int(m.group(2))
        gap = np.maximum(1.0 - v, 0.0)
        # d/dv of -max(1 - v, 0)^p; at the kink v = 1 torch's clamp passes the gradient: the same subgradient
        log_f, d_log_f = -gap ** p, p * gap ** (p - 1) * (v <= 1.0)
        if m.group(1):
            return log_f, d_log_f
        f = np.exp(log_f)
        return f, f * d_log_f
    if post_processor == "sigmoid":
        f = expit(v)
        return f, f * (1.0 - f)
    if post_processor == "log-sigmoid":
        return -np.logaddexp(0.0, -v), expit(-v)
    if post_processor == "noop":
        return v.copy(), np.ones_like(v)
    from engine.errors import ModelError

    raise ModelError(f"PECOS post-processor {post_processor!r} is not supported here.")


def _combine_levels(levels: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """Combine transformed level values top-down as PECOS does. levels: (post_processor, (…,) array)."""
    from engine.models.xlinear import pecos_combine

    score = None
    for pp, f in levels:
        score = pecos_combine(pp, f, score)
    return score


def _check_model(model) -> None:
    if not callable(getattr(model, "ranker_inputs", None)):
        raise InputError(f"the score split needs a PECOS model (XR-Linear or X-Transformer); the "
                         f"{getattr(model, 'family', '?')} model exposes no ranker.")


def _splits(model, inputs, ids_per_row: list[np.ndarray], ranker_inputs=None) -> list[tuple[LabelScoreSplit, ...]]:
    """Split every row's labels. inputs: n texts or an (n, d) array; ids_per_row: n arrays of label ids;
    ranker_inputs: ``model.ranker_inputs(inputs)`` when the caller has it already."""
    union = np.unique(np.concatenate(ids_per_row))
    rankers = []
    for name, weight, xlm, X, n_tfidf in (ranker_inputs or model.ranker_inputs(inputs)):
        rankers.append((name, weight, ranker_parts(xlm, X, n_tfidf, union)))
    return splits_from_parts(model, ids_per_row, union, rankers)


def splits_from_parts(model, ids_per_row: list[np.ndarray], union: np.ndarray, rankers) -> list[tuple]:
    """The splits from each ranker's ``ranker_parts`` over the labels ``union`` (their column order):
    rankers: [(name, weight, parts)]. For callers that need the parts themselves too (whole-score)."""
    col = {int(l): j for j, l in enumerate(union)}
    out = []
    for i, ids in enumerate(ids_per_row):
        labs = []
        for lab in ids:
            j = col[int(lab)]
            rsplits = []
            for name, weight, parts in rankers:
                levels, trans = [], []
                for d, (lw, t, e, b) in enumerate(parts):
                    v = t[i, j] + e[i, j] + b[j]
                    f = float(transform_np(lw.post_processor, np.asarray([v]))[0])
                    levels.append(LevelSplit(d, int(lw.nodes[j]), float(t[i, j]), float(e[i, j]), float(b[j]), f))
                    trans.append((lw.post_processor, f))
                rsplits.append(RankerSplit(name, float(weight), parts[-1][0].post_processor, tuple(levels),
                                           float(_combine_levels(trans))))
            labs.append(LabelScoreSplit(int(lab), model.label_names[int(lab)],
                                        float(sum(r.weight * r.score for r in rsplits)), tuple(rsplits)))
        out.append(tuple(labs))
    return out


def split_rows(model, ranker_inputs, ids_per_row: Sequence[Sequence[int]]) -> list[tuple[LabelScoreSplit, ...]]:
    """The split of every row's labels from ranker inputs the caller built (``model.ranker_inputs_of``, e.g.
    from cached embeddings): one tuple of LabelScoreSplit per row."""
    _check_model(model)
    return _splits(model, None, [model.check_label_ids(ids) for ids in ids_per_row], list(ranker_inputs))


def score_split(model, model_input: Any, label_ids: Sequence[int]) -> ScoreSplit:
    """The exact split of each label's score for one input (a text, or a feature row (d,))."""
    _check_model(model)
    ids = model.check_label_ids(label_ids)
    x = [model_input] if isinstance(model_input, str) else np.atleast_2d(np.asarray(model_input, dtype=np.float32))
    return ScoreSplit(model.family, _splits(model, model.check_inputs(x), [ids])[0])


@dataclass(frozen=True)
class ShareSummary:
    """Encoder share over n documents' top-k labels.

    per_label: label_id -> (mean share in [0, 1], times predicted, training frequency).
    by_frequency: rows (lowest training frequency, highest, labels, mean share) over frequency quartiles.
    spearman: rank correlation of a label's mean share with its training frequency (nan if undefined).
    """

    n_docs: int
    top_k: int
    mean_share: float
    per_label: dict
    by_frequency: tuple
    spearman: float

    def to_json(self) -> dict:
        return {"n_docs": self.n_docs, "top_k": self.top_k, "mean_share_pct": round(100 * self.mean_share, 4),
                "definition": SHARE_DEFINITION,
                "per_label": {str(k): {"mean_share_pct": round(100 * s, 4), "predicted": c, "train_frequency": f}
                              for k, (s, c, f) in self.per_label.items()},
                "by_frequency": [{"min_freq": a, "max_freq": b, "labels": n, "mean_share_pct": round(100 * s, 4)}
                                 for a, b, n, s in self.by_frequency],
                "spearman_share_vs_frequency": self.spearman}


def share_summary(model, inputs, train_label_counts: np.ndarray, top_k: int = 5) -> ShareSummary:
    """Mean encoder share of each predicted label over the inputs' top-k labels, and share vs the
    label's training frequency. inputs: n texts (or an (n, d) array); train_label_counts: (L,) ints."""
    from scipy.stats import spearmanr

    from engine.models.base import check_top_k

    _check_model(model)
    top_k = check_top_k(top_k, model.n_labels)
    counts = np.asarray(train_label_counts).ravel()
    if counts.size != model.n_labels:
        raise InputError(f"train_label_counts has {counts.size} entries, the model {model.n_labels} labels.")
    inputs = model.check_inputs(inputs)
    preds = model.predict(inputs, top_k)
    ids = [np.asarray(p.label_ids, dtype=np.int64) for p in preds]
    shares: dict[int, list[float]] = {}
    for row in _splits(model, inputs, ids):
        for lab in row:
            shares.setdefault(lab.label_id, []).append(lab.encoder_share)
    per_label = {l: (float(np.mean(s)), len(s), int(counts[l])) for l, s in sorted(shares.items())}
    labs = np.asarray(list(per_label), dtype=np.int64)
    mean = np.asarray([per_label[l][0] for l in labs])
    freq = counts[labs].astype(np.float64)
    rows = []
    if labs.size:
        edges = np.unique(np.quantile(freq, [0, 0.25, 0.5, 0.75, 1.0]))
        bins = np.clip(np.searchsorted(edges, freq, side="right") - 1, 0, max(0, edges.size - 2))
        for b in np.unique(bins):
            sel = bins == b
            rows.append((int(freq[sel].min()), int(freq[sel].max()), int(sel.sum()), float(mean[sel].mean())))
    rho = float(spearmanr(mean, freq).statistic) if labs.size > 2 and np.ptp(mean) > 0 and np.ptp(freq) > 0 \
        else float("nan")
    all_shares = [s for v in shares.values() for s in v]
    return ShareSummary(len(inputs), top_k, float(np.mean(all_shares)) if all_shares else 0.0, per_label,
                        tuple(rows), rho)
