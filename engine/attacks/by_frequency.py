"""Robustness by label frequency: how an attack hurts head, torso and tail labels (issue 13, item 5).

Qaraei & Babbar (2022, "Adversarial examples for extreme multilabel text classification", Machine
Learning 111) found tail labels the most vulnerable to adversarial attacks on XMC models; this module
measures the same split for any saved model and attack.

Bins, defined once (``frequency_bins``): labels sorted by training frequency (the number of training
documents carrying them), most frequent first, ties broken by label id, then cut into three parts of
equal label count (tertiles; sizes differ by at most one): head = the most frequent third, torso =
the middle third, tail = the least frequent third. Every label is in exactly one bin.

The attacks are the per-document ones of engine/attacks/api.attack_document (its disk cache is
reused: a document attacked before with the same settings is not attacked again), on the seeded
document sample of evaluate_robustness (same documents, same seed per document, top-5), so the
by-bin numbers add up to evaluate_robustness's P@k for the same settings.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from engine.attacks.robustness import sample_documents
from engine.errors import InputError
from engine.types import ProgressFn, report, scaled_progress

BINS = ("head", "torso", "tail")
TOP_K = 5  # as evaluate_robustness


def frequency_bins(Y_train: sp.spmatrix) -> np.ndarray:
    """Y_train (n, L) binary -> ndarray (L,) int: 0 head, 1 torso, 2 tail (see the module docstring)."""
    freq = np.asarray((sp.csr_matrix(Y_train) != 0).sum(axis=0)).ravel()
    order = np.lexsort((np.arange(freq.size), -freq))  # most frequent first, then by id
    out = np.empty(freq.size, dtype=np.int64)
    out[order] = np.arange(freq.size) * len(BINS) // max(freq.size, 1)
    return out


@dataclass(frozen=True)
class BinRobustness:
    """One frequency bin, over the n attacked documents (k = top_k; a "pair" is (document, label)).

    n_labels: labels in the bin; train_frequency_min / _max: their training document counts.
    true_pairs: pairs with a true label of the bin.
    clean_hits / attacked_hits: true pairs whose label is in the clean / attacked top-k.
    kept_hits: true pairs in both the clean and the attacked top-k.
    kept_share: kept_hits / clean_hits -- the share of the bin's correctly predicted (top-k) true labels
        that survive the attack (None when clean_hits is 0).
    clean_P@k_part / attacked_P@k_part: clean_hits / (n k) and attacked_hits / (n k): this bin's part
        of P@k (the three parts add up to P@k).
    predicted: pairs with a label of the bin in the clean top-k, true or not; removed_share: the share of
        them not in the attacked top-k (None when predicted is 0).
    top1_documents: documents whose clean top-1 label is in the bin; success_rate: the share of them on
        which the attack met its goal (None when top1_documents is 0).
    """

    name: str
    n_labels: int
    train_frequency_min: int
    train_frequency_max: int
    true_pairs: int
    clean_hits: int
    attacked_hits: int
    kept_hits: int
    kept_share: float | None
    clean_p_at_k_part: float
    attacked_p_at_k_part: float
    predicted: int
    removed_share: float | None
    top1_documents: int
    success_rate: float | None


@dataclass(frozen=True)
class FrequencyRobustness:
    """robustness_by_frequency's result: settings, overall numbers, one BinRobustness per bin (head first)."""

    dataset: str
    model_id: str
    attack: str
    goal: str
    eps: float | None
    n: int
    seed: int
    split: str
    top_k: int
    docs: tuple[int, ...]
    success_rate: float
    clean_p_at_k: float
    attacked_p_at_k: float
    bins: tuple[BinRobustness, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "FrequencyRobustness":
        d = json.loads(text)
        d["docs"] = tuple(d["docs"])
        d["bins"] = tuple(BinRobustness(**b) for b in d["bins"])
        return cls(**d)


def by_frequency_table(Y: sp.spmatrix, Y_train: sp.spmatrix, clean_tops, attacked_tops, success,
                       k: int = TOP_K) -> tuple[BinRobustness, ...]:
    """The per-bin numbers from n documents' truth Y (n, L), the clean and attacked top-k label ids
    (n lists, best first) and attack success (n,) bool. Pure: no model, no attack."""
    Y = sp.csr_matrix(Y)
    bins = frequency_bins(Y_train)
    freq = np.asarray((sp.csr_matrix(Y_train) != 0).sum(axis=0)).ravel()
    n = Y.shape[0]
    counts = {key: np.zeros(len(BINS), dtype=np.int64) for key in
              ("true", "clean", "attacked", "kept", "predicted", "removed", "top1", "success")}
    for i in range(n):
        truth = set(Y.indices[Y.indptr[i]:Y.indptr[i + 1]].tolist())
        clean = [int(j) for j in clean_tops[i][:k] if j >= 0]
        adv = set(int(j) for j in attacked_tops[i][:k] if j >= 0)
        for j in truth:
            counts["true"][bins[j]] += 1
        for j in clean:
            counts["predicted"][bins[j]] += 1
            counts["removed"][bins[j]] += j not in adv
            if j in truth:
                counts["clean"][bins[j]] += 1
                counts["kept"][bins[j]] += j in adv
        for j in adv & truth:
            counts["attacked"][bins[j]] += 1
        if clean:
            counts["top1"][bins[clean[0]]] += 1
            counts["success"][bins[clean[0]]] += bool(success[i])

    def share(a, b):
        return float(a / b) if b else None

    out = []
    for b, name in enumerate(BINS):
        f = freq[bins == b]
        c = {key: int(v[b]) for key, v in counts.items()}
        out.append(BinRobustness(
            name=name, n_labels=int(f.size), train_frequency_min=int(f.min()) if f.size else 0,
            train_frequency_max=int(f.max()) if f.size else 0, true_pairs=c["true"], clean_hits=c["clean"],
            attacked_hits=c["attacked"], kept_hits=c["kept"], kept_share=share(c["kept"], c["clean"]),
            clean_p_at_k_part=c["clean"] / (n * k) if n else 0.0, attacked_p_at_k_part=c["attacked"] / (n * k) if n else 0.0,
            predicted=c["predicted"], removed_share=share(c["removed"], c["predicted"]),
            top1_documents=c["top1"], success_rate=share(c["success"], c["top1"])))
    return tuple(out)


def robustness_by_frequency(dataset: str, model_id: str, attack: str = "hsj", n: int = 50, eps: float | None = None,
                            goal: str = "topk", seed: int = 0, split: str = "test", store=None,
                            progress: ProgressFn | None = None, **attack_params) -> FrequencyRobustness:
    """Attack a seeded sample of n documents (as evaluate_robustness does) and split the damage by the
    training frequency of the labels (head / torso / tail, see frequency_bins and BinRobustness).

    attack_params: max_iter, max_eval, norm, learning_rate, nb_parallel, max_words (see attack_document).
    goal: "top1" or "topk" (a goal with a target label needs a label per document)."""
    from engine.attacks.api import attack_document, check_attack_params
    from engine.attacks.goals import GOAL_CLASSES
    from engine.data import load_dataset
    from engine.models.store import ModelStore

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n (documents to attack) must be a whole number of at least 1, got {n!r}.")
    known = {"max_iter", "max_eval", "norm", "learning_rate", "nb_parallel", "max_words"}
    bad = set(attack_params) - known
    if bad:
        raise InputError(f"unknown attack parameter(s) {', '.join(sorted(bad))}: use {', '.join(sorted(known))}.")
    batch_goals = [name for name, g in GOAL_CLASSES.items() if not g.needs_target]
    if goal not in batch_goals:
        raise InputError(f"robustness by frequency uses the {' or '.join(map(repr, batch_goals))} goal, not {goal!r} "
                         "(a goal with a target label needs a label per document).")
    check_attack_params(attack, goal, eps, attack_params.get("max_iter"), attack_params.get("max_eval"),
                        attack_params.get("norm", "2"), attack_params.get("learning_rate"),
                        attack_params.get("nb_parallel"), attack_params.get("max_words"))
    store = store or ModelStore()
    ds = load_dataset(dataset)
    if attack == "wordnet" and not ds.has_text:
        raise InputError(f"the WordNet attack replaces words; {ds.display_name} has only numeric features.")
    store.info(ds.name, model_id)  # a missing model is a clear error before any attack
    docs = sample_documents(ds.split(split).n, int(n), seed)
    clean, adv, success = [], [], []
    for j, i in enumerate(docs):
        sub = scaled_progress(progress, j / len(docs), (j + 1) / len(docs))
        try:
            res = attack_document(ds.name, model_id, i, attack=attack, goal=goal, top_k=TOP_K, eps=eps, seed=seed,
                                  split=split, store=store, progress=sub, **attack_params)
            clean.append(res.before.label_ids)
            adv.append(res.after.label_ids)
            success.append(bool(res.success))
        except InputError as exc:  # a document with no replaceable word: a failed attack (as evaluate_robustness)
            if attack != "wordnet" or "synonym" not in str(exc):
                raise
            from engine.models.runtime import get_model

            model = get_model(ds.name, model_id, store)
            top = model.predict(model.check_inputs([ds.input_of(ds.document(i, split))]), TOP_K)[0].label_ids
            clean.append(top)
            adv.append(top)
            success.append(False)
        report(progress, (j + 1) / len(docs), f"attacked {j + 1}/{len(docs)} documents")
    Y = ds.split(split).Y[docs]
    bins = by_frequency_table(Y, ds.train.Y, clean, adv, success, TOP_K)
    return FrequencyRobustness(
        dataset=ds.name, model_id=model_id, attack=attack, goal=goal, eps=eps, n=len(docs), seed=seed, split=split,
        top_k=TOP_K, docs=tuple(docs), success_rate=float(np.mean(success)),
        clean_p_at_k=sum(b.clean_p_at_k_part for b in bins), attacked_p_at_k=sum(b.attacked_p_at_k_part for b in bins),
        bins=bins)
