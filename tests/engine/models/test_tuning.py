from engine.data import load_dataset
from engine.models import tuning
from engine.types import Dataset, Split


def test_cross_validation_picks_from_the_grid_without_test_data(monkeypatch, tmp_path):
    full = load_dataset("bibtex")
    sub = Split(full.train.X[:900], full.train.Y[:900], full.train.texts[:900])
    poison = Split(full.test.X[:5], full.test.Y[:5] * 0, full.test.texts[:5])  # test is never read
    ds = Dataset("bibtex", full.feature_names, full.label_names, sub, poison, "text")
    out = tuning.tune_xlinear(ds, folds=2, grid_C=(0.3, 1.0), grid_leaf=(100,))
    assert [t["C"] for t in out["trials"]] == [0.3, 1.0]
    assert out["best"]["C"] in (0.3, 1.0) and all(0 < t["val_P@1"] <= 1 for t in out["trials"])
    monkeypatch.setattr(tuning, "TUNED_FILE", tmp_path / "tuned.json")
    tuning.save_tuned("bibtex", out)
    assert tuning.tuned_defaults("bibtex")["C"] == out["best"]["C"] and tuning.tuned_defaults("delicious") == {}
