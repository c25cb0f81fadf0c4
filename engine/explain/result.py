"""Plain results of an explanation, JSON round-trippable (the on-disk cache stores ``to_json()``)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LabelExplanation:
    """One explained label.

    weights: the n_features largest (word, weight) by |weight|, largest first.
    token_weights: (word, weight) for every word of the document in text order (each feature for
        dense data), for highlighting. Words the method did not see (e.g. past the encoder's token
        budget) have weight 0.
    comprehensiveness / sufficiency: ERASER AOPC over 1/5/10/20/50 % of the words (score drops;
        higher comprehensiveness and lower sufficiency are better).
    deletion_auc: area under the deletion curve, score normalised by the clean score and the x
        axis by the number of steps (lower is better).
    deletion_curve: (words removed, label score, label rank (1 = top)) per step.
    random_baseline: the same three scores for a seeded random word order.
    unit_weights: the method's weight of every unit (word type or feature), from which the
        faithfulness scores are computed after the first result is shown; [] when the method has
        no evidence for this label (its scores stay NaN).
    While the document's ``faithfulness_pending`` is True the three scores are NaN, the curve and
    the random baseline empty.
    """

    label_id: int
    name: str
    score: float
    is_true: bool | None
    weights: list[tuple[str, float]]
    token_weights: list[tuple[str, float]]
    comprehensiveness: float
    sufficiency: float
    deletion_auc: float
    deletion_curve: list[tuple[int, float, int]]
    random_baseline: dict[str, float]
    extra: dict = field(default_factory=dict)  # method-specific facts (e.g. LIME's local R^2)
    unit_weights: list[float] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "label": self.name,
            "label_id": self.label_id,
            "score": self.score,
            "is_true": self.is_true,
            "weights": [[w, float(v)] for w, v in self.weights],
            "token_weights": [[w, float(v)] for w, v in self.token_weights],
            "comprehensiveness": self.comprehensiveness,
            "sufficiency": self.sufficiency,
            "deletion_auc": self.deletion_auc,
            "deletion_curve": [[int(a), float(b), int(c)] for a, b, c in self.deletion_curve],
            "random_baseline": dict(self.random_baseline),
            "extra": self.extra,
            "unit_weights": [float(v) for v in self.unit_weights],
        }

    @classmethod
    def from_json(cls, d: dict) -> "LabelExplanation":
        return cls(
            label_id=int(d["label_id"]),
            name=d["label"],
            score=float(d["score"]),
            is_true=d.get("is_true"),
            weights=[(str(w), float(v)) for w, v in d["weights"]],
            token_weights=[(str(w), float(v)) for w, v in d.get("token_weights", [])],
            comprehensiveness=float(d["comprehensiveness"]),
            sufficiency=float(d["sufficiency"]),
            deletion_auc=float(d["deletion_auc"]),
            deletion_curve=[(int(a), float(b), int(c)) for a, b, c in d.get("deletion_curve", [])],
            random_baseline={k: float(v) for k, v in d.get("random_baseline", {}).items()},
            extra=dict(d.get("extra", {})),
            unit_weights=[float(v) for v in d.get("unit_weights", [])],
        )


@dataclass
class DocumentExplanation:
    """Explanations of one document's top-k labels by one method (one shared set of samples).

    faithfulness_pending: the first result (weights, top words, scores) before its faithfulness
    scores are computed; the same cache entry is rewritten complete when they are."""

    dataset: str
    model_id: str
    doc_index: int
    split: str
    method: str
    params: dict
    labels: list[LabelExplanation]
    seconds: float
    faithfulness_pending: bool = False

    def to_json(self) -> dict:
        return {
            "doc": self.doc_index,
            "method": self.method,
            "labels": [lab.to_json() for lab in self.labels],
            "dataset": self.dataset,
            "model_id": self.model_id,
            "split": self.split,
            "params": dict(self.params),
            "seconds": self.seconds,
            "faithfulness_pending": self.faithfulness_pending,
        }

    @classmethod
    def from_json(cls, d: dict) -> "DocumentExplanation":
        return cls(
            dataset=d["dataset"],
            model_id=d["model_id"],
            doc_index=int(d["doc"]),
            split=d.get("split", "test"),
            method=d["method"],
            params=dict(d.get("params", {})),
            labels=[LabelExplanation.from_json(x) for x in d["labels"]],
            seconds=float(d.get("seconds", 0.0)),
            faithfulness_pending=bool(d.get("faithfulness_pending", False)),
        )


@dataclass
class AttentionMap:
    """Label-wise attention for one document.

    tokens: the words the encoder read, in text order (word pieces merged back to words).
    weights: ndarray (n_labels, n_tokens) -- relevance of each word to each label, each row
        scaled to max 1 (all zeros if the label gets no positive evidence).
    raw: ndarray (layers, heads, T, T) -- the encoder's attention over word pieces.
    pieces: the T word pieces (with [CLS]/[SEP]) that ``raw`` is indexed by.
    piece_word: ndarray (T,) int -- the index in ``tokens`` of each piece (-1 for special tokens).
    encoder_share_pct: (n_labels,) -- each label's encoder share of its ranker score in % (the part of
        the decision attention can speak for; engine.explain.score_split).
    """

    tokens: list[str]
    label_names: list[str]
    label_ids: list[int]
    weights: np.ndarray
    raw: np.ndarray
    pieces: list[str]
    piece_word: np.ndarray
    scores: list[float] = field(default_factory=list)
    note: str = ""  # set when some labels get no attention evidence (their rows are all zero)
    encoder_share_pct: list[float] = field(default_factory=list)
