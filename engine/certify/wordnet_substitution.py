"""Certified robustness to WordNet synonym substitutions by random word substitution (SAFER,
Ye, Gong & Liu, ACL 2020) of the top-k classifier.

Perturbation set of a word: T(w) = {w} + its substitutes, the synonyms the WordNet attack may use
(engine.attacks.wordnet_synonyms.candidate_synonyms: same part of speech, at most 20); a word
without any has T(w) = {w}. Smoothing: every word is replaced, independently, by a uniformly
random member of its perturbation set (itself included); the smoothed model returns the k labels
the base model names most often. An attacker replaces up to r words, each by one of its
substitutes (exactly the WordNet attack's choices). The certificate (engine/certify/bounds.py):

    rho_j    = min over substitutes w of x_j of |T(x_j) & T(w)| / max(|T(x_j)|, |T(w)|)
    Delta(r) = 1 - product of the r smallest rho_j  (a bound on the total variation between the
               smoothing distributions of x and of any x' with <= r words replaced)
    a label is certified for r words if p_lower - Delta(r) > (k-th largest p_upper of the others) + Delta(r).

This is SAFER's bound (its Theorem 1, the TV shift on both sides of the top-k comparison) with the
exact TV of two uniform sets (|T & T'| / max(|T|, |T'|)); SAFER's sets all have one size K.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from engine.certify.bounds import substitution_shift, substitution_label_words, tv_intersection_size, uniform_overlap
from engine.certify.common import ALPHA, N, N0, SEED, TOP_K, Param, run_certificate
from engine.certify.result import CertifyResult
from engine.errors import InputError
from engine.types import ProgressFn

RADIUS = Param("radius", 1, int, 0, 10_000, "words replaced at which the true labels are counted")
PARAMS = (TOP_K, N0, N, ALPHA, SEED, RADIUS)

Substitutes = Callable[[str], Sequence[str]]  # word -> its substitutes (not the word itself)


@lru_cache(maxsize=100_000)
def wordnet_substitutes(word: str) -> tuple[str, ...]:
    """The WordNet attack's synonyms of one word (lower case), so the certificate covers its moves."""
    from engine.attacks.wordnet_synonyms import candidate_synonyms

    return tuple(candidate_synonyms([word]).get(0, ()))


def perturbation_sets(words: Sequence[str], substitutes: Substitutes) -> tuple[list[list[str]], list[float]]:
    """Per position its perturbation set T(x_j) (the word first), and rho_j for each replaceable position."""
    sets, overlaps = [], []
    for w in words:
        subs = list(dict.fromkeys(s for s in substitutes(w.lower()) if s != w.lower()))
        if not subs:
            sets.append([w])
            continue
        own = {w.lower(), *subs}
        sets.append([w.lower(), *subs])
        overlaps.append(min(uniform_overlap(own, {s, *substitutes(s)}) for s in subs))
    return sets, overlaps


def substituted_top_k(model, sets: list[list[str]], k: int):
    """draw(rng, b) -> (b, k): the base model's top-k for b texts, each word drawn uniformly from its set."""
    from engine.metrics import top_k_indices

    sizes = np.array([len(s) for s in sets])
    varying = np.flatnonzero(sizes > 1)

    def draw(rng: np.random.Generator, b: int) -> np.ndarray:
        picks = rng.integers(0, sizes[varying], size=(b, varying.size))
        texts = []
        for row in picks:
            words = [s[0] for s in sets]
            for j, p in zip(varying, row):
                words[j] = sets[j][p]
            texts.append(" ".join(words))
        return top_k_indices(model.score_matrix(model.check_inputs(texts), k), k)

    return draw


def certify_wordnet(model, text: str, params: dict, truth: Sequence[int] | None = None,
                    progress: ProgressFn | None = None, substitutes: Substitutes | None = None) -> CertifyResult:
    """Certify one text of a text model. substitutes: word -> synonyms (default: WordNet, as the attack)."""
    if model.input_kind != "text" or not isinstance(text, str):
        raise InputError("the WordNet certificate replaces words; this model reads numeric features with no text "
                         "(e.g. MediaMill). Use the gaussian certificate.")
    words = text.split()
    if not words:
        raise InputError("the document has no words, so there is nothing to certify against word substitutions.")
    sets, overlaps = perturbation_sets(words, substitutes or wordnet_substitutes)
    k = params["top_k"]
    guarantee = (f"With probability >= {1 - params['alpha']:g} (simultaneous Clopper-Pearson bounds over all "
                 f"{model.n_labels} labels, Bonferroni), each label stays in the substitution-smoothed top-{k} "
                 f"whatever synonyms replace up to its number of words (SAFER's total-variation bound). "
                 f"{len(overlaps)} of {len(words)} words have synonyms.")
    return run_certificate(
        "wordnet", "text", model, substituted_top_k(model, sets, k), params, truth,
        label_radius=lambda lo, up: substitution_label_words(lo, up, k, overlaps),
        true_certified=lambda lo, up, r: tv_intersection_size(lo, up, k, substitution_shift(overlaps, int(r))),
        radius=int(params["radius"]), guarantee=guarantee, progress=progress,
        extra={"words": len(words), "replaceable_words": len(overlaps)})
