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

    from tests.helpers import dead_writer_tag

    import_user_dataset("swapme", {"p.csv": _csv()})
    # the state a re-import killed between its two renames leaves: only the old folder, named by its writer
    os.replace(user_root() / "swapme", user_root() / f".old-swapme+{dead_writer_tag()}+abcd1234")
    assert "swapme" in list_user_datasets()
    assert load_dataset("swapme").n_labels == 2
    # an older XTrust's leftover (no writer in its name) may be a swap still running: left alone
    import_user_dataset("swapold", {"p.csv": _csv()})
    os.replace(user_root() / "swapold", user_root() / ".old-swapold")
    assert "swapold" not in list_user_datasets() and (user_root() / ".old-swapold").is_dir()


# -- a train and a test file keep the given split; a single file is split and says so ---------------
def _arff(n, labels_first=False, extra_attr=""):
    """Sparse ARFF of n rows: words apple..kiwi and labels B, A (B first in the file, A where asked)."""
    lab = "@attribute B {0,1}\n@attribute A {0,1}\n"
    words = "".join(f"@attribute {w} {{0,1}}\n" for w in ("apple", "pear", "plum", "grape", "kiwi"))
    head = "@relation r\n" + (lab + words if labels_first else words + lab) + extra_attr + "@data\n"
    a, b = (1, 0) if labels_first else (6, 5)  # column of A and of B
    w0 = 2 if labels_first else 0
    # row i: two words, and label A when i is odd, B when even
    rows = "".join("{%s}\n" % ",".join(f"{j} 1" for j in sorted((w0 + i % 3, w0 + 3 + i % 2, a if i % 2 else b)))
                   for i in range(n))
    return (head + rows).encode()


XML_AB = b'<labels xmlns="http://mulan.sourceforge.net/labels"><label name="A"/><label name="B"/></labels>'


def test_arff_train_and_test_files_keep_their_split_and_names():
    ds = import_user_dataset("pair", {"x-train.arff": _arff(30), "x-test.arff": _arff(12), "x.xml": XML_AB})
    assert (ds.train.n, ds.test.n) == (30, 12) and ds.label_names == ["A", "B"]
    assert "train = x-train.arff (30 rows)" in ds.description and "test = x-test.arff (12 rows)" in ds.description
    # row i has A (column 6) when i is odd, B (column 5) when even: names follow the attributes, not the XML order
    assert ds.train.Y[:4].toarray().tolist() == [[0, 1], [1, 0], [0, 1], [1, 0]]
    again = load_dataset("pair")
    assert (again.train.n, again.test.n) == (30, 12) and again.description == ds.description


def test_single_file_is_split_and_says_so():
    ds = import_user_dataset("single", {"x-train.arff": _arff(30), "x.xml": XML_AB})
    assert (ds.train.n, ds.test.n) == (24, 6) and "split at random 80/20" in ds.description


def test_csv_and_xc_pairs_keep_their_split():
    ds = import_user_dataset("csvpair", {"train.csv": _csv(20), "test.csv": _csv(7)})
    assert (ds.train.n, ds.test.n) == (20, 7) and ds.test.texts[0] == "graph neural network number 0"
    xc = lambda n: (f"{n} 4 3\n" + "\n".join(f"{i % 3},{(i + 1) % 3} 0:{i / 10} 3:1.5" for i in range(n))).encode()
    ds = import_user_dataset("xcpair", {"d_train.txt": xc(15), "d_test.txt": xc(5)})
    assert (ds.train.n, ds.test.n) == (15, 5)


@pytest.mark.parametrize("files,match", [
    ({"a-train.arff": _arff(20), "a-test.arff": _arff(8, extra_attr="@attribute fig {0,1}\n"), "a.xml": XML_AB},
     "a-train.arff has 7 attributes but a-test.arff has 8"),
    ({"a-train.arff": _arff(20), "a-test.arff": _arff(8, labels_first=True), "a.xml": XML_AB},
     "attribute 1 differs: 'apple'.*'B'"),
    ({"train.csv": _csv(20), "test.csv": _csv(8).replace(b"ml;graphs", b"ml;trees")}, "test.csv uses 1 label.*'trees'"),
    ({"a_train.txt": b"12 4 3\n" + b"0,1 0:1\n" * 12, "a_test.txt": b"3 5 3\n" + b"0 0:1\n" * 3}, "4 features.*5 features"),
    ({"one.csv": _csv(20), "two.csv": _csv(8)}, "which split is which"),
    ({"a.csv": _csv(20), "b.txt": b"1 1 1\n0 0:1\n"}, "one kind"),
    ({"a.arff": _arff(20), "a.xml": XML_AB, "b.xml": XML_AB}, "only one label XML"),
])
def test_train_test_mismatch_is_refused(files, match):
    with pytest.raises(DataError, match=match):
        import_user_dataset("mismatch", files)
    assert "mismatch" not in list_user_datasets()


def test_arff_upload_refuses_an_extra_xml_label_and_warns_on_position():
    extra = XML_AB.replace(b"</labels>", b'<label name="C"/></labels>')
    with pytest.raises(DataError, match=r"x\.xml names 1 label.*'C'"):
        import_user_dataset("extra", {"x.arff": _arff(20), "x.xml": extra})
    other = b'<labels><label name="P"/><label name="Q"/></labels>'
    ds = import_user_dataset("bypos", {"x.arff": _arff(20), "x.xml": other})
    assert ds.label_names == ["P", "Q"] and len(ds.warnings) == 1 and "position" in ds.warnings[0]
    assert load_dataset("bypos").warnings == ds.warnings  # stored with the dataset, shown with it


def test_cut_short_label_xml_names_the_uploaded_file():
    with pytest.raises(DataError, match=r"mine\.xml.*line 1.*cut short"):
        import_user_dataset("cut", {"x.arff": _arff(20), "mine.xml": XML_AB[:60]})


# -- CSV labels and texts ------------------------------------------------------------------------
def test_default_separator_is_the_engine_constant():
    from engine.data.user_data import DEFAULT_LABEL_SEPARATOR

    assert DEFAULT_LABEL_SEPARATOR == ";"
    ds = import_user_dataset("semi", {"p.csv": b"text,labels\n" + b"some words here,a;b\n" * 12})
    assert ds.label_names == ["a", "b"] and ds.train.Y.sum() == 2 * ds.train.n


def test_texts_with_no_usable_word_are_refused_with_their_rows():
    rows = [f"words {i},a;b" for i in range(12)]
    rows[2], rows[6] = "!!! ???,a", "\u2014 \u2026,b"
    with pytest.raises(DataError, match=r"p\.csv: 2 row\(s\) have no word.*data row\(s\) 3, 7\b"):
        import_user_dataset("nowords", {"p.csv": ("text,labels\n" + "\n".join(rows)).encode()})


# -- XC: line numbers are the file's, non-finite values, files cut short --------------------------
def test_xc_errors_name_the_real_line():
    lines = ["12 3 3", "", "0 0:1"] + ["0,1 1:nan"] + ["1 0:1"] * 10
    with pytest.raises(DataError, match=r"d\.txt: line 4: feature 1 has the value nan"):
        import_user_dataset("xcline", {"d.txt": "\n".join(lines).encode()})
    with pytest.raises(DataError, match=r"d\.txt: line 3: .*1e\+39"):
        import_user_dataset("xcbig", {"d.txt": b"12 3 3\n0,1 0:1\n0 0:1e39\n" + b"1 0:1\n" * 10})
    with pytest.raises(DataError, match=r"d\.txt: header says 12 rows but only 3 follow \(the file ends at line 4\)"):
        import_user_dataset("xccut", {"d.txt": b"12 3 3\n0 0:1\n1 0:1\n2 0:1\n"})
