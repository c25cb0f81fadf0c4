"""The certificate of one input, JSON round-trippable (used for the disk cache)."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class CertifiedLabel:
    """One top-k label of the smoothed model.

    selection_count: samples (of n0) whose base top-k held the label -- how it was chosen.
    count: samples (of n) whose base top-k held it; p_lower / p_upper: its simultaneous bounds.
    radius: "features" certificates: the certified l2 radius in the feature view; "text"
    certificates: how many words may be replaced by synonyms. None: not certified (abstain).
    """

    label_id: int
    name: str
    selection_count: int
    count: int
    p_lower: float
    p_upper: float
    radius: float | int | None
    is_true: bool | None = None


@dataclass(frozen=True)
class CertifyResult:
    """method: a name in engine.certify.CERTIFICATES; space: "features" (radius = l2 in the feature
    view) or "text" (radius = words replaced).

    radius: the radius the counts below were asked for.
    true_certified: MultiGuard's certified intersection size -- how many true labels provably stay
        in the smoothed top-k at ``radius`` (None without ground truth).
    certified_true_in_top_k: of the k labels shown, those that are true and certified at ``radius``
        (certified P@k = this / k).
    All certificates of one result hold together with probability >= 1 - alpha (params["alpha"]).
    """

    method: str
    space: str
    top_k: int
    labels: tuple[CertifiedLabel, ...]
    radius: float
    true_certified: int | None
    n_true: int | None
    certified_true_in_top_k: int | None
    seconds: float
    queries: int
    guarantee: str
    params: dict = field(default_factory=dict)

    def to_json(self) -> str:
        d = asdict(self)
        for lab in d["labels"]:  # JSON has no infinity: a label that can never leave the top-k
            if isinstance(lab["radius"], float) and math.isinf(lab["radius"]):
                lab["radius"] = "inf"
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> "CertifyResult":
        d = json.loads(text)
        labels = []
        for lab in d["labels"]:
            if lab["radius"] == "inf":
                lab["radius"] = math.inf
            labels.append(CertifiedLabel(**lab))
        d["labels"] = tuple(labels)
        return cls(**d)
