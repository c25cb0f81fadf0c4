"""Word-substitution certificate: exact smoothed probabilities on a bag-of-words fake (every
perturbed text enumerated), and one run with real WordNet on a real XR-Linear."""
import itertools

import numpy as np
import pytest

from engine.certify.api import certify_input
from engine.certify.bounds import substitution_shift
from engine.certify.wordnet_substitution import certify_wordnet, perturbation_sets
from engine.errors import InputError

from .fakes import BagOfWordsXMC

SUBS = {"good": ["fine", "nice"], "fine": ["good", "okay"], "nice": ["good"], "okay": ["fine"],
        "bad": ["poor"], "poor": ["bad"], "great": ["super"], "super": ["great", "grand"], "grand": ["super"]}
VOCAB = ["alpha", "good", "fine", "nice", "okay", "bad", "poor", "great", "super", "grand"]
TEXT = "alpha good bad great"


def substitutes(word):
    return SUBS.get(word, [])


def _model(alpha_weight: float) -> BagOfWordsXMC:
    W = np.zeros((3, len(VOCAB)))
    W[0, [0, 1, 7]] = [alpha_weight, 0.6, 0.6]  # label 0: alpha, good, great
    W[1, [2, 3, 4, 8, 9]] = 0.8  # label 1: their substitutes
    W[2, [5, 6]] = 0.3
    return BagOfWordsXMC(VOCAB, W)


def exact_probabilities(model, text, k):
    """p_l for the substitution-smoothed model, from all perturbed texts (uniform product)."""
    sets, _ = perturbation_sets(text.split(), substitutes)
    texts = [" ".join(c) for c in itertools.product(*sets)]
    top = np.argsort(-model.scores(model.features(texts)), axis=1, kind="stable")[:, :k]
    return np.bincount(top.ravel(), minlength=model.n_labels) / len(texts)


def attacks(text, r):
    """Every text with at most r words replaced by their substitutes."""
    words = text.split()
    out = []
    for size in range(1, r + 1):
        for J in itertools.combinations(range(len(words)), size):
            for repl in itertools.product(*[substitutes(words[j]) for j in J]):
                w = list(words)
                for j, s in zip(J, repl):
                    w[j] = s
                out.append(" ".join(w))
    return out


def test_perturbation_sets_and_overlaps():
    sets, overlaps = perturbation_sets(TEXT.split(), substitutes)
    assert sets == [["alpha"], ["good", "fine", "nice"], ["bad", "poor"], ["great", "super"]]
    # good: T(fine) = {fine, good, okay} shares 2 of 3; bad/poor are one class; great: T(super) has 3
    assert overlaps == pytest.approx([2 / 3, 1.0, 2 / 3])


def test_total_variation_bound_holds_for_every_attack():
    model = _model(1.5)
    _, overlaps = perturbation_sets(TEXT.split(), substitutes)
    p = exact_probabilities(model, TEXT, 1)
    for r in (1, 2, 3):
        worst = max(np.abs(exact_probabilities(model, t, 1) - p).max() for t in attacks(TEXT, r))
        assert worst <= substitution_shift(overlaps, r) + 1e-12
    assert worst > 0  # the attacks do move the smoothed probabilities


@pytest.mark.parametrize("alpha_weight, words", [(1.5, 0), (1.7, 1)])
def test_certified_words_are_right_and_hold(alpha_weight, words):
    model = _model(alpha_weight)
    res = certify_wordnet(model, TEXT, {"top_k": 1, "n0": 100, "n": 4000, "alpha": 0.001, "seed": 0, "radius": 1},
                          truth=[0], substitutes=substitutes)
    lab = res.labels[0]
    p = exact_probabilities(model, TEXT, 1)
    assert lab.label_id == 0 and lab.p_lower <= p[0] <= lab.p_upper
    # p = 2/3 (1.5): D(1) = 1/3 leaves 1/3 vs 1/3 -> only 0 words; p = 1 (1.7): D(1) = 1/3 ok, D(2) = 5/9 not
    assert lab.radius == words
    for t in attacks(TEXT, words):
        assert np.argmax(exact_probabilities(model, t, 1)) == 0
    assert res.true_certified == (1 if words >= 1 else 0) and res.space == "text"
    assert res.params["replaceable_words"] == 3


def test_refused_without_text():
    with pytest.raises(InputError, match="no words"):
        certify_wordnet(_model(1.5), "   ", {"top_k": 1, "n0": 10, "n": 10, "alpha": 0.01, "seed": 0, "radius": 1})
    with pytest.raises(InputError, match="radius"):
        certify_input(_model(1.5), TEXT, "wordnet", radius=0.5)  # words: a whole number


@pytest.mark.slow
def test_real_wordnet_on_xlinear(small_xlinear, bibtex):
    res = certify_input(small_xlinear, bibtex.test.texts[0], "wordnet", n0=20, n=200, radius=0,
                        truth=[int(j) for j in bibtex.test.Y[0].indices])
    assert len(res.labels) == 5 and res.params["replaceable_words"] > 0
    for lab in res.labels:
        assert 0 <= lab.p_lower <= lab.count / 200 <= lab.p_upper <= 1
        assert lab.radius is None or 0 <= lab.radius <= res.params["replaceable_words"]
    assert 0 <= res.true_certified <= res.n_true
