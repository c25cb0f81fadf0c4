import pytest

from engine.data import load_dataset
from engine.data.user_data import import_user_dataset, list_user_datasets
from engine.errors import DataError, InputError


def _csv(n=20):
    rows = ["id,text,labels"]
    for i in range(n):
        rows.append(f"{i},\"graph neural network number {i}\",{'ml;graphs' if i % 2 else 'ml'}")
    return "\n".join(rows).encode()


def test_csv_roundtrip():
    ds = import_user_dataset("mycsv", {"papers.csv": _csv()})
    assert ds.has_text and ds.label_names == ["graphs", "ml"] and ds.train.n == 16 and ds.test.n == 4
    assert "mycsv" in list_user_datasets()
    again = load_dataset("mycsv")
    assert again.train.texts == ds.train.texts and (again.test.Y != ds.test.Y).nnz == 0


def test_csv_trains_xlinear(tmp_path):
    from engine import pipeline
    from engine.models.store import ModelStore

    import_user_dataset("trainme", {"p.csv": _csv(40)})
    info = pipeline.train_model("trainme", "xlinear", store=ModelStore(tmp_path))
    assert 0 <= info.manifest["metrics"]["P@1"] <= 1


@pytest.mark.parametrize("files,match", [
    ({"a.csv": b""}, "empty"),
    ({"a.csv": b"\x00\x01\x02"}, "binary"),
    ({"a.csv": b"text,labels\n\"unclosed,x\n"}, "malformed|rows"),
    ({"a.csv": b"body,tags\nx,y\n"}, "no text column 'text'"),
    ({"a.csv": b"text,labels\n" + b"a,x\n" * 3}, "at least 10"),
    ({"a.csv": b"text,labels\n" + b"a,x\n" * 12}, "fewer than 2"),
    ({"a.csv": b"id,text,labels\n1,a,x\n1,b,y\n"}, "duplicate id"),
    ({"a.csv": b"text,labels\n,x\n" + b"a,y\n" * 12}, "empty text"),
    ({"a.exe": b"MZ"}, "unsupported file type"),
    ({"a.arff": b"@relation x\n@attribute a numeric\n@data\n1\n"}, "label XML"),
    ({"a.txt": b"2 3 2\n0 0:1\n"}, "header says 2 rows"),
    ({"a.txt": b"1 3 2\n5 0:1\n"}, "label 5 outside"),
    ({"a.txt": b"one two\n"}, "first line"),
])
def test_bad_uploads(files, match):
    with pytest.raises(DataError, match=match):
        import_user_dataset("bad", files)


def test_bad_names_and_size():
    with pytest.raises(InputError):
        import_user_dataset("../etc", {"a.csv": _csv()})
    with pytest.raises(InputError, match="built-in"):
        import_user_dataset("bibtex", {"a.csv": _csv()})
    with pytest.raises(DataError, match="upload limit"):
        import_user_dataset("big", {"a.csv": b"x" * (51 * 1024 * 1024)})


def test_arff_with_xml_and_xc_format():
    rows = "\n".join("{%d 1,%d 1,%d 1}" % (i % 3, 3 + i % 2, 5 + (i % 2)) for i in range(20))
    arff = f"@relation r\n@attribute apple {{0,1}}\n@attribute pear {{0,1}}\n@attribute plum {{0,1}}\n" \
           f"@attribute grape {{0,1}}\n@attribute kiwi {{0,1}}\n@attribute A {{0,1}}\n@attribute B {{0,1}}\n@data\n{rows}\n"
    xml = b'<labels xmlns="http://mulan.sourceforge.net/labels"><label name="A"/><label name="B"/></labels>'
    ds = import_user_dataset("fruit", {"f.arff": arff.encode(), "f.xml": xml})
    assert ds.kind == "text" and ds.n_labels == 2 and ds.train.texts[0]
    xc = "12 4 3\n" + "\n".join(f"{i % 3},{(i + 1) % 3} 0:{i / 10} 3:1.5" for i in range(12))
    ds = import_user_dataset("xcdemo", {"d.txt": xc.encode()})
    assert ds.kind == "dense" and ds.n_features == 4 and ds.n_labels == 3


def test_reimport_killed_between_renames_is_recovered():
    import os

    from engine.data.user_data import user_root

    import_user_dataset("swapme", {"p.csv": _csv()})
    os.replace(user_root() / "swapme", user_root() / ".old-swapme")  # the state a kill mid-swap leaves
    assert "swapme" in list_user_datasets()
    assert load_dataset("swapme").n_labels == 2
