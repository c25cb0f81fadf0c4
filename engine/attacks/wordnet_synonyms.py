"""WordNet synonym substitution (PWWS-style, Ren et al. 2019), a black-box attack on text.

1. Word importance: the goal margin's drop when the word is removed (all words in one batch).
2. Greedy: in order of importance, try every WordNet synonym of the word (same part of speech,
   at most ``MAX_SYNONYMS``) in one batch; keep the synonym that lowers the margin most, if any.
3. Stop when the goal is met or ``max_words`` words have been replaced.

The output is readable text. Deterministic; ``seed`` only breaks ties between equally important
words. Queries = texts scored.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from engine.attacks.common import AttackProgress, changed_features, count_changed, perturbation_norms
from engine.attacks.goals import Goal, GoalClassifier
from engine.attacks.result import AttackResult
from engine.attacks.spec import AttackParam, AttackSpec
from engine.errors import InputError
from engine.types import Prediction, ProgressFn, report

MAX_SYNONYMS = 20  # synonyms tried per word (WordNet order: most frequent senses first)


def candidate_synonyms(words: Sequence[str], vocabulary=None) -> dict[int, list[str]]:
    """Position -> synonyms (same POS as the word's most frequent sense), for words WordNet knows."""
    from engine.wordnet import pos_of, synonyms

    out: dict[int, list[str]] = {}
    for i, w in enumerate(words):
        lw = w.lower()
        if not lw.isalpha():
            continue
        pos = pos_of(lw)
        if pos is None:
            continue
        syns = [s for s in synonyms(lw, pos) if s != lw][:MAX_SYNONYMS]
        if syns:
            out[i] = syns
    return out


def wordnet_attack(model, text: str, goal: Goal, before: Prediction, *, max_words: int = 5, seed: int = 0,
                   top_k: int = 5, truth: Sequence[int] | None = None, progress: ProgressFn | None = None) -> AttackResult:
    """Substitute up to max_words words of ``text`` by WordNet synonyms to reach ``goal`` on ``model``."""
    from engine.metrics import top_k_indices

    t0 = time.perf_counter()
    words = text.split()
    if not words:
        raise InputError("the document has no words to replace.")
    report(progress, 0.0, "WordNet: looking up synonyms")
    cands = candidate_synonyms(words)
    if not cands:
        raise InputError("no word of this document has a WordNet synonym, so the WordNet attack cannot change it; "
                         "try HopSkipJump or ZOO.")

    def score(T, ids):
        return model.score_labels(T, ids)

    def rank(T, k):
        return top_k_indices(model.score_matrix(T, k), k)

    # the bar: 10% for the words' importance (one batch), then words tried / words with synonyms (the
    # greedy pass stops early when the goal is met or max_words words are replaced: then done)
    track = AttackProgress(progress, "WordNet", len(cands), step_queries=MAX_SYNONYMS, start_share=0.1)
    clf = GoalClassifier(goal, score, rank, track.on_query)
    track.phase("ranking the words by importance")
    met0, m0 = clf.evaluate([" ".join(words)])
    # importance: margin after removing each candidate word (only words we could replace matter)
    pos = sorted(cands)
    removed = [" ".join(words[:i] + words[i + 1:]) for i in pos]
    _, m_removed = clf.evaluate(removed)
    drop = m0[0] - m_removed
    tie = np.random.default_rng(seed).random(len(pos))
    order = [pos[j] for j in np.lexsort((tie, -drop))]
    track.begin_steps()

    current = list(words)
    margin = float(m0[0])
    met = bool(met0[0])
    swaps: list[tuple[str, str]] = []
    for step, i in enumerate(order):
        if met or len(swaps) >= max_words:
            break
        trials = [" ".join(current[:i] + [s] + current[i + 1:]) for s in cands[i]]
        t_met, t_margin = clf.evaluate(trials)
        best = int(np.argmin(t_margin))
        if t_margin[best] < margin or t_met[best]:
            swaps.append((current[i], cands[i][best]))
            current[i] = cands[i][best]
            margin, met = float(t_margin[best]), bool(t_met[best])
        track.step_done()
    adv_text = " ".join(current)
    after = model.predict([adv_text], top_k, truth=None if truth is None else [truth])[0]
    view0, view1 = model.feature_view(text), model.feature_view(adv_text)
    # the feature views of two texts share one space (same vocabulary), so the change is comparable
    l2, linf = perturbation_norms(view0.x0, view1.x0)
    res = AttackResult(
        attack="wordnet", space="text", goal=goal.kind, target_label=goal.target_label,
        success=met, queries=int(clf.queries), seconds=round(time.perf_counter() - t0, 4), before=before, after=after,
        l2=l2, linf=linf, words_changed=len(swaps), changed=changed_features(view0.feature_names, view0.x0, view1.x0),
        original_text=text, adversarial_text=adv_text, adversarial_vector=None,
        params={"max_words": int(max_words), "seed": int(seed), "max_synonyms": MAX_SYNONYMS,
                "swaps": [list(s) for s in swaps], "words_with_synonyms": len(cands)},
        features_changed=count_changed(view0.x0, view1.x0))
    track.done()
    return res


def _run(model, inp, goal, before, params, ctx) -> AttackResult:
    return wordnet_attack(model, inp, goal, before, max_words=params["max_words"], seed=ctx.seed, top_k=ctx.top_k,
                          truth=ctx.truth, progress=ctx.progress)


SPEC = AttackSpec(
    name="wordnet", title="WordNet synonyms", space="text", needs="text",
    help="PWWS-style: replaces the most important words by same-part-of-speech WordNet synonyms; readable text",
    run=_run, params=(
        AttackParam("max_words", "Words to change", "int", 5, 1, 100_000, "the most words the attack may replace"),
    ))
