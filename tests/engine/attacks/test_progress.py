"""Attack progress is the fraction of the attack's real budget: it starts low, never goes back, fills
with the attack's own steps (not a query counter against a guessed total) and reaches 1.0 only at the end."""
import pytest


def _run(small_xlinear, bibtex, attack, monkeypatch=None, **params):
    from engine.attacks.api import run_attack

    seen = []
    doc = bibtex.document(3, "test")
    run_attack(small_xlinear, doc.text, attack=attack, seed=0, truth=list(doc.labels),
               progress=lambda f, msg: seen.append((f, msg)), **params)
    return seen


def _check_fills(seen):
    fractions = [f for f, _ in seen]
    assert fractions[0] < 0.1 and fractions[-1] == 1.0
    assert all(a <= b for a, b in zip(fractions, fractions[1:])), fractions
    assert 1.0 not in fractions[:-1]
    # the bar fills on the way, not only at the end: a report in each quarter of the attack
    assert all(any(lo <= f < lo + 0.25 for f in fractions) for lo in (0.0, 0.25, 0.5, 0.75)), fractions


@pytest.mark.parametrize("attack,params", [("hsj", {"max_iter": 4, "max_eval": 30}),
                                           ("zoo", {"max_iter": 8, "nb_parallel": 16}),
                                           ("boundary", {"max_iter": 8, "max_eval": 20})])
def test_feature_attacks_fill_with_their_iterations(small_xlinear, bibtex, attack, params):
    seen = _run(small_xlinear, bibtex, attack, **params)
    _check_fills(seen)
    assert any("step" in msg for _, msg in seen)


def test_hsj_reports_before_its_first_art_iteration(small_xlinear, bibtex, monkeypatch):
    from art.attacks.evasion import HopSkipJump

    events = []
    real = HopSkipJump._compute_update

    def first_iteration(self, *a, **k):
        events.append("iteration")
        return real(self, *a, **k)
    monkeypatch.setattr(HopSkipJump, "_compute_update", first_iteration)
    from engine.attacks.api import run_attack

    doc = bibtex.document(3, "test")
    run_attack(small_xlinear, doc.text, attack="hsj", seed=0, max_iter=3, max_eval=20,
               progress=lambda f, msg: events.append(msg))
    first = events.index("iteration")
    before = events[:first]
    assert any("starting point" in m for m in before) and any("try" in m for m in before)
    # the iterations themselves move the bar: step 1 of 3 is reported before ART's second iteration
    assert any("step 1/3" in m for m in before)


@pytest.mark.slow
def test_wordnet_fills_with_the_words_tried(small_xlinear, bibtex, wordnet_reader):
    seen = _run(small_xlinear, bibtex, "wordnet", max_words=50, goal="topk")
    fractions = [f for f, _ in seen]
    assert fractions[0] < 0.1 and fractions[-1] == 1.0
    assert all(a <= b for a, b in zip(fractions, fractions[1:]))
    assert len({round(f, 3) for f in fractions if 0.1 < f < 1.0}) >= 3  # moves word by word
