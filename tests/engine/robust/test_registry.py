import pytest

from engine.errors import InputError
from engine.models import families
from engine.models.store import ModelStore
from engine.robust.registry import DEFENCES, defence_for_model_id, train_defended


def test_every_defence_is_a_model_variant_with_a_train_command():
    for variant, spec in DEFENCES.items():
        assert variant in families.VARIANTS
        for fam in spec.families:
            mid = families.format_model_id(fam, variant)
            assert families.parse_model_id(mid) == (fam, variant)
            assert defence_for_model_id(mid)[1] is spec


def test_baseline_ids_are_no_defence_and_unknown_families_refused(tmp_path):
    assert defence_for_model_id("xlinear") == ("xlinear", None)
    with pytest.raises(InputError, match="baseline"):
        train_defended("mediamill", "xlinear")
    from engine.errors import ModelError

    # the X-Transformer trains on attack examples too, keeping its saved encoder: none saved -> a clear error
    with pytest.raises(ModelError, match="train the X-Transformer first"):
        train_defended("bibtex", "xtransformer-advhsj", store=ModelStore(tmp_path))


def test_train_defended_makes_the_smoothed_model_from_its_saved_baseline(tmp_path):
    from engine.models.runtime import train_model

    store = ModelStore(tmp_path)
    train_model("mediamill", "xlinear", store=store)
    info = train_defended("mediamill", "xlinear-smoothed", store=store)
    assert info.model_id == "xlinear-smoothed" and info.manifest["baseline"] == "xlinear"
