"""certified_curve on a real (small) PECOS XR-Linear: monotone in the radius, below the empirical
attacked P@k at the same budget, the per-document certify cache reused, bad input refused early."""
import pytest

from engine.certify.curve import certified_curve
from engine.errors import Cancelled, InputError

SMALL = {"sigma": 0.02, "n0": 20, "n": 200}  # a sigma that certifies something on the 800-document model
RADII = [0.0, 0.005, 0.01, 0.02, 0.05]


def test_curve_is_monotone_and_never_above_the_attacked_curve(certify_store, certify_cache):
    from engine.attacks.robustness import robustness_curve

    cur = certified_curve("bibtex", "xlinear", RADII, n=4, seed=0, store=certify_store, params=SMALL)
    vals = cur["certified_P@k"]
    assert cur["radii"] == RADII and cur["n"] == 4 and cur["top_k"] == 5
    assert all(a >= b for a, b in zip(vals, vals[1:])), vals  # non-increasing in the radius
    assert vals[0] > 0, "something is certified: the comparison below is not vacuous"
    assert vals[0] <= cur["smoothed_P@k"] <= 1 and 0 < cur["clean_P@k"] <= 1
    emp = robustness_curve("bibtex", "xlinear", "hsj", RADII[1:], n=4, seed=0, store=certify_store, max_iter=2,
                           max_eval=50)
    assert [e["eps"] for e in emp] == RADII[1:]
    for e, cert in zip(emp, vals[1:]):
        assert cert <= e["P@5"] + 1e-12, (e["eps"], cert, e["P@5"])  # same documents, same budget


def test_each_document_is_certified_once_and_reused(certify_store, certify_cache):
    a = certified_curve("bibtex", "xlinear", [0.01], n=3, store=certify_store, params=SMALL)
    files = sorted(certify_cache.rglob("*.json"))
    assert len(files) == 3  # one certificate per document, shared with certify_document (Predict)
    b = certified_curve("bibtex", "xlinear", [0.0, 0.01, 0.1], n=3, store=certify_store, params=SMALL)
    assert sorted(certify_cache.rglob("*.json")) == files  # other radii: no new certification
    assert b["certified_P@k"][1] == a["certified_P@k"][0] and b["docs"] == a["docs"]


def test_cancel_and_bad_input(certify_store, certify_cache):
    with pytest.raises(Cancelled):
        certified_curve("bibtex", "xlinear", [0.1], n=2, store=certify_store, progress=lambda f, m="": False, params=SMALL)
    assert not list(certify_cache.rglob("*.json"))
    for radii, match in (([], "at least one radius"), ([-1], "at least 0"), (["x"], "numbers"),
                         ([float("nan")], "finite")):
        with pytest.raises(InputError, match=match):
            certified_curve("bibtex", "xlinear", radii, n=2, store=certify_store)
    with pytest.raises(InputError, match="sigma"):
        certified_curve("bibtex", "xlinear", [0.1], n=2, store=certify_store, params={"sigma": -1})
    with pytest.raises(InputError, match="whole number"):
        certified_curve("bibtex", "xlinear", [0.1], n=0, store=certify_store)
    with pytest.raises(InputError, match="whole numbers"):
        certified_curve("bibtex", "xlinear", [0.5], n=1, method="wordnet", store=certify_store)
