"""The loaders return exactly the statistics verified in ../shared/datasets/README.md."""
import numpy as np
import pytest

from engine.data import load_dataset
from engine.data.dataset import pick_source
from engine.data.download import download_file, ensure_files
from engine.data.sources import DatasetSource, SourceFile
from engine.errors import DataError, InputError

# name: (train rows, test rows, features, labels, avg labels train, avg labels test, avg active features train)
STATS = {
    "bibtex": (4880, 2515, 1836, 159, 2.3803, 2.4437, 68.49),
    "delicious": (12920, 3185, 500, 983, 19.0471, 18.9102, 18.54),
}


@pytest.mark.parametrize("name", sorted(STATS))
def test_statistics_match_readme(name):
    ds = load_dataset(name)
    n_tr, n_te, n_f, n_l, card_tr, card_te, feat_tr = STATS[name]
    assert (ds.train.n, ds.test.n, ds.n_features, ds.n_labels) == (n_tr, n_te, n_f, n_l)
    assert ds.train.Y.sum() / ds.train.n == pytest.approx(card_tr, abs=1e-4)
    assert ds.test.Y.sum() / ds.test.n == pytest.approx(card_te, abs=1e-4)
    assert ds.train.X.getnnz() / ds.train.n == pytest.approx(feat_tr, abs=0.01)
    assert not ds.is_sample and ds.kind == "text"
    assert set(np.unique(ds.train.X.data)) == {1.0}


def test_delicious_quirks():
    ds = load_dataset("delicious")
    assert ds.label_names[0] == "TAG_.imported" or ds.label_names[0].startswith("TAG_")
    assert "TAG_c++" in ds.label_names and "TAG_john/rodney" in ds.label_names
    rows_without_label = int((np.diff(ds.train.Y.indptr) == 0).sum()), int((np.diff(ds.test.Y.indptr) == 0).sum())
    assert rows_without_label == (10, 4)
    never_in_test = [ds.label_names[j] for j in np.where(np.asarray(ds.test.Y.sum(axis=0)).ravel() == 0)[0]]
    assert never_in_test == ["TAG_addons"]


def test_mediamill_sample_is_labelled_and_split():
    ds = load_dataset("mediamill")
    assert ds.is_sample and ds.display_name == "mediamill (sample)"
    assert (ds.train.n + ds.test.n, ds.n_features, ds.n_labels) == (2500, 120, 101)
    assert ds.kind == "dense" and not ds.has_text
    card = (ds.train.Y.sum() + ds.test.Y.sum()) / 2500
    assert card == pytest.approx(4.3528, abs=1e-4)
    assert ds.train.X.max() <= 0.78 and ds.train.X.min() >= 0
    assert pick_source("mediamill").is_sample


def test_pseudo_text_is_the_active_words_rarest_first(bibtex):
    doc = bibtex.document(0, "train")
    words = doc.text.split()
    active = {bibtex.feature_names[j] for j in np.nonzero(doc.features)[0]}
    assert set(words) == active and len(words) == len(active)
    df = np.asarray((bibtex.train.X != 0).sum(axis=0)).ravel()
    index = {w: i for i, w in enumerate(bibtex.feature_names)}
    dfs = [df[index[w]] for w in words]
    assert dfs == sorted(dfs)
    assert load_dataset("bibtex").train.texts[:50] == bibtex.train.texts[:50]  # deterministic


def test_document_ids_are_checked(bibtex):
    with pytest.raises(InputError, match="ids 0..2514"):
        bibtex.document(2515)
    with pytest.raises(InputError):
        bibtex.document(-1)
    with pytest.raises(InputError):
        bibtex.document("3")
    with pytest.raises(InputError):
        load_dataset("imagenet")


def test_missing_files_message_names_each_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XTRUST_DATA_DIR", str(tmp_path))
    src = DatasetSource("demo", 2, "demo/a.arff", None, "demo/a.xml",
                        (SourceFile("demo/a.arff", "http://127.0.0.1:9/a.arff", None),), "text")
    with pytest.raises(DataError) as exc:
        ensure_files(src, download=True)
    assert str(tmp_path / "demo/a.arff") in str(exc.value) and "http://127.0.0.1:9/a.arff" in str(exc.value)


def test_download_verifies_checksum(tmp_path):
    payload = tmp_path / "src.txt"
    payload.write_bytes(b"hello")
    good = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    out = download_file(SourceFile("x/hello.txt", payload.as_uri(), good), tmp_path / "data", progress=lambda f, m: None)
    assert out.read_bytes() == b"hello"
    with pytest.raises(DataError, match="checksum mismatch"):
        download_file(SourceFile("x/bad.txt", payload.as_uri(), "0" * 64), tmp_path / "data", progress=lambda f, m: None)
    assert not (tmp_path / "data/x/bad.txt").exists()
    assert not [p for p in (tmp_path / "data/x").iterdir() if p.name.startswith(".part")]
