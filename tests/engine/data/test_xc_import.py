"""Streaming import of large XC text files (engine/data/xc_import.py) from the CLI path."""
import numpy as np
import pytest

from engine.data import load_dataset
from engine.data.catalog import list_datasets
from engine.data.synthetic import generate_arrays, preset
from engine.data.user_data import MAX_LABELS, parse_xc
from engine.data.xc_import import import_xc_files, stream_xc, write_xc_file
from engine.errors import Cancelled, DataError

ROWS = ["0,2 0:0.5 3:1.25", "", "1 1:2 1:3", "2,2,0 2:-1e-3", "0:4 2:0.5", "1,0"]  # blank line, repeats, no label


def _write(path, text):
    path.write_text(text)
    return path


def test_streaming_equals_the_upload_parser(tmp_path):
    text = "5 4 3\n" + "\r\n".join(ROWS) + "\n"
    X, Y = stream_xc(_write(tmp_path / "a.txt", text))
    X2, Y2, _, _ = parse_xc(text.encode(), "a.txt")
    assert X.shape == X2.shape and Y.shape == Y2.shape
    assert (X != X2).nnz == 0 and (Y != Y2).nnz == 0
    assert X.dtype == X2.dtype == np.float32 and X.has_sorted_indices
    assert X[1, 1] == 5.0 and Y[2].indices.tolist() == [0, 2]  # repeats: features add up, a label counts once


def test_a_generated_dataset_round_trips_through_xc_files(tmp_path):
    Xtr, Ytr, Xte, Yte, _, _ = generate_arrays(preset("eurlex-4k", n_labels=200, n_features=900, n_train=300,
                                                      n_test=60), seed=2)
    write_xc_file(tmp_path / "train.txt", Xtr, Ytr)
    write_xc_file(tmp_path / "test.txt", Xte, Yte)
    X, Y = stream_xc(tmp_path / "train.txt")
    assert (X != Xtr).nnz == 0 and (Y != Ytr).nnz == 0
    X2, Y2, _, _ = parse_xc((tmp_path / "test.txt").read_bytes(), "test.txt")
    assert (X2 != Xte).nnz == 0 and (Y2 != Yte).nnz == 0


@pytest.mark.parametrize("text,match", [
    ("3 4 3\n0 0:1\n1 1:1\n", r"header says 3 rows but only 2 follow \(the file ends at line 3\)"),
    ("1 4 3\n0 0:1\n\n1 1:1\n2 2:1\n", r"header says 1 rows but 3 follow \(line 4 is one too many\)"),
    ("2 4 3\n0 0:1\n7 1:1\n", r"line 3: label 7 outside 0\.\.2"),
    ("2 4 3\n0 0:1\n1 9:1\n", r"line 3: feature 9 outside 0\.\.3"),
    ("2 4 3\n0 0:nan\n1 1:1\n", r"line 2: feature 0 has the value nan"),
    ("2 4 3\n0 0:1\n1 1:\n", r"line 3: could not convert"),
    ("two 4 3\n", "first line must be"),
    ("", "empty"),
])
def test_a_header_that_lies_or_a_bad_line_is_refused_with_its_line(tmp_path, text, match):
    path = _write(tmp_path / "bad.txt", text)
    with pytest.raises(DataError, match=match):
        stream_xc(path)
    if text:  # the upload parser says the same
        with pytest.raises(DataError, match=match):
            parse_xc(text.encode(), "bad.txt")


def _pair(tmp_path, n_labels=3, rows=12):
    tr = "\n".join(f"{i % n_labels},{(i + 1) % n_labels} {i % 4}:1 {(i + 2) % 4}:0.5" for i in range(rows))
    te = "\n".join(f"{i % n_labels} {i % 4}:1" for i in range(4))
    return (_write(tmp_path / "train.txt", f"{rows} 4 {n_labels}\n{tr}\n"),
            _write(tmp_path / "test.txt", f"4 4 {n_labels}\n{te}\n"))


def test_import_keeps_the_split_and_loads_by_name(tmp_path):
    tr, te = _pair(tmp_path)
    s = import_xc_files("xcbig", tr, te)
    ds = load_dataset("xcbig")
    assert (s.n_train, s.n_test, s.kind) == (12, 4, "dense") and ds.train.n == 12 and ds.test.n == 4
    assert "kept as it is" in ds.description and ds.n_labels == 3


def test_labels_past_the_upload_cap_and_sparse_features_become_words(tmp_path):
    L = MAX_LABELS + 5
    tr = "\n".join(f"{i},{L - 1 - i} {i}:1 {3000 + i}:2" for i in range(12))
    te = "\n".join(f"{i} {i}:1" for i in range(3))
    a = _write(tmp_path / "train.txt", f"12 5000 {L}\n{tr}\n")
    b = _write(tmp_path / "test.txt", f"3 5000 {L}\n{te}\n")
    with pytest.raises(DataError, match="at most 100,000 labels in an upload"):
        parse_xc(a.read_bytes(), "train.txt")
    s = import_xc_files("xcwide", a, b)
    ds = load_dataset("xcwide")
    assert ds.n_labels == L and ds.kind == "text" and set(ds.train.texts[0].split()) == {"f0", "f3000"}
    assert s.n_labels == L and any("never appear" in w for w in ds.warnings)


def test_names_files_are_used_and_checked(tmp_path):
    tr, te = _pair(tmp_path)
    feats = _write(tmp_path / "features.txt", "apple\npear\nplum\nkiwi\n")
    labels = _write(tmp_path / "labels.txt", "fruit\ngreen\nsweet\n")
    import_xc_files("xcnamed", tr, te, feature_names_path=feats, label_names_path=labels)
    ds = load_dataset("xcnamed")
    assert ds.kind == "text" and ds.label_names == ["fruit", "green", "sweet"] and "apple" in ds.train.texts[0]
    for text, match in (("apple\npear\n", "2 feature names, but the XC header says 4"),
                        ("apple\npear\nApple\nkiwi\n", "line 3: feature name 'Apple' repeats line 1"),
                        ("apple\npear tree\nplum\nkiwi\n", "line 2: feature name 'pear tree' is not one word")):
        with pytest.raises(DataError, match=match):
            import_xc_files("xcnamed2", tr, te, feature_names_path=_write(tmp_path / "f2.txt", text))


def test_refused_before_parsing(tmp_path):
    tr, te = _pair(tmp_path)
    other = _write(tmp_path / "test2.txt", "4 4 5\n" + "0 0:1\n" * 4)
    with pytest.raises(DataError, match="train and test must agree"):
        import_xc_files("xcx", tr, other)
    with pytest.raises(DataError, match=r"can need up to .* of memory"):
        import_xc_files("xcx", tr, te, budget_bytes=100)
    with pytest.raises(DataError, match="no such file"):
        import_xc_files("xcx", tmp_path / "missing.txt", te)


def test_progress_is_reported_and_cancel_stops_it(tmp_path, monkeypatch):
    import engine.data.xc_import as xi

    monkeypatch.setattr(xi, "PROGRESS_EVERY", 2)
    tr, te = _pair(tmp_path, rows=20)
    seen = []
    import_xc_files("xcprog", tr, te, progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 5
    with pytest.raises(Cancelled):
        import_xc_files("xccancel", tr, te, progress=lambda f, m: f < 0.3)
    assert "xccancel" not in list_datasets()  # nothing half-imported is left


def test_unsorted_features_come_back_sorted_as_the_upload_parser_gives_them(tmp_path):
    text = "2 4 3\n0 3:1 0:2\n1,0 2:1 1:1\n"
    X, Y = stream_xc(_write(tmp_path / "u.txt", text))
    X2, Y2, _, _ = parse_xc(text.encode(), "u.txt")
    assert X.has_sorted_indices and X.indices.tolist() == [0, 3, 1, 2] and (X != X2).nnz == 0 and (Y != Y2).nnz == 0
