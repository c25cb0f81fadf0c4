"""Deleting an imported dataset (engine/data/user_data.py, engine.pipeline.delete_user_dataset) and
which words of a free text a vocabulary knows (engine/text_input.py)."""
import pytest

from engine import pipeline
from engine.atomic import TMP_PREFIX, writer_tag
from engine.data import load_dataset
from engine.data.user_data import delete_user_dataset, import_user_dataset, list_user_datasets, user_root
from engine.errors import InputError
from engine.text_input import vocabulary_coverage
from tests.helpers import dead_writer_tag


def _csv(n=20):
    rows = ["text,labels"] + [f"\"graph neural network number {i}\",{'ml;graphs' if i % 2 else 'ml'}" for i in range(n)]
    return "\n".join(rows).encode()


def test_delete_removes_the_dataset_and_load_then_refuses_it():
    import_user_dataset("gone", {"p.csv": _csv()})
    assert delete_user_dataset("gone") == "gone"
    assert "gone" not in list_user_datasets()
    assert not [p for p in user_root().iterdir() if "gone" in p.name]  # nothing left aside
    with pytest.raises(InputError, match="unknown dataset 'gone'"):
        load_dataset("gone")


@pytest.mark.parametrize("name,match", [("bibtex", "built-in"), ("mediamill", "built-in"),
                                        ("never-imported", "no imported dataset 'never-imported'"),
                                        ("../etc", "not the name of an imported dataset"), (3, "not the name")])
def test_delete_refuses_builtins_and_unknown_names(name, match):
    import_user_dataset("keepme", {"p.csv": _csv()})
    with pytest.raises(InputError, match=match):
        delete_user_dataset(name)
    assert "keepme" in list_user_datasets()


def test_delete_refuses_a_dataset_being_imported_now_but_not_a_dead_writers_leftover():
    import_user_dataset("busy", {"p.csv": _csv()})
    live = user_root() / f"{TMP_PREFIX}busy+{writer_tag()}+abcd1234"  # this process is writing it
    live.mkdir()
    with pytest.raises(InputError, match="being imported right now"):
        delete_user_dataset("busy")
    assert "busy" in list_user_datasets() and load_dataset("busy").train.n == 16
    live.rename(user_root() / f"{TMP_PREFIX}busy+{dead_writer_tag()}+abcd1234")  # its writer died
    delete_user_dataset("busy")
    assert "busy" not in list_user_datasets()


def test_pipeline_delete_also_removes_saved_models_and_cached_results(tmp_path):
    from engine.models.store import ModelStore
    from engine.paths import cache_dir

    store = ModelStore(tmp_path / "models")
    import_user_dataset("withmodel", {"p.csv": _csv(40)})
    pipeline.train_model("withmodel", "xlinear", store=store)
    pipeline.train_model("bibtex", "xlinear", store=store)
    res = pipeline.attack_text("withmodel", "xlinear", "graph neural network", attack="hsj", max_iter=2,
                               max_eval=50, top_k=1, store=store)
    assert (cache_dir() / "attacks" / "withmodel").is_dir() and res.before.labels
    out = pipeline.delete_user_dataset("withmodel", store=store)
    assert out == {"dataset": "withmodel", "models": ["xlinear"], "result_folders": 1}
    assert [i.model_id for i in store.list("withmodel")] == []
    assert not (cache_dir() / "attacks" / "withmodel").exists()
    assert [i.model_id for i in store.list("bibtex")] == ["xlinear"]  # another dataset's model stays
    with pytest.raises(InputError, match="built-in"):
        pipeline.delete_user_dataset("bibtex", store=store)
    assert [i.model_id for i in store.list("bibtex")] == ["xlinear"]


def test_vocabulary_coverage_splits_known_and_ignored_words_in_text_order():
    cov = vocabulary_coverage("Graph networks, GRAPH zzqx and qwerty!", {"graph": 0, "networks": 1, "and": 2})
    assert cov.known == ("graph", "networks", "and") and cov.ignored == ("zzqx", "qwerty")
    assert (cov.n_words, cov.n_known) == (6, 4) and cov.share_known == pytest.approx(4 / 6)
    with pytest.raises(InputError, match="empty"):
        vocabulary_coverage("   ", {})


@pytest.mark.parametrize("then", ["deleted", "replaced"])
def test_a_model_trained_while_its_dataset_is_deleted_or_replaced_is_not_saved(tmp_path, monkeypatch, then):
    """The training loaded the dataset, then another session deleted (or re-imported) it: the model, trained
    on data that is no longer there, must not appear under that name."""
    from engine.errors import DataError
    from engine.models import families
    from engine.models.store import ModelStore

    store = ModelStore(tmp_path / "models")
    import_user_dataset("moving", {"p.csv": _csv(40)})
    real_train = families.ModelFamily.train

    def train_then_change(self, ds, params, progress=None):
        model = real_train(self, ds, params, progress=progress)
        if then == "deleted":
            delete_user_dataset("moving")
        else:
            import_user_dataset("moving", {"p.csv": _csv(60)})
        return model

    monkeypatch.setattr(families.ModelFamily, "train", train_then_change)
    with pytest.raises(DataError, match=f"'moving' was {then}"):
        pipeline.train_model("moving", "xlinear", store=store)
    assert store.list("moving") == [] and not list((tmp_path / "models").rglob("manifest.json"))
    monkeypatch.setattr(families.ModelFamily, "train", real_train)
    if then == "replaced":  # trained again on what is there now: saved
        assert pipeline.train_model("moving", "xlinear", store=store).model_id == "xlinear"
