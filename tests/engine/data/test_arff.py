import pytest

from engine.data.arff import parse_arff
from engine.data.label_xml import read_label_xml
from engine.errors import DataError

SPARSE = """@relation t
@attribute w1 {0,1}
@attribute 'odd name' {0,1}
@attribute L1 {0,1}
@attribute L2 {0,1}
@data
{0 1,2 1}
{1 1,2 1,3 1}
"""
DENSE = """@relation d
@attribute a numeric
@attribute b numeric
@attribute L1 {0,1}
@data
0.5,0.25,1
0.1,0.9,0
"""


def test_sparse_and_dense():
    t = parse_arff(SPARSE, ["L1", "L2"])
    assert t.sparse_format and t.feature_names == ["w1", "odd name"] and t.label_names == ["L1", "L2"]
    assert t.X.toarray().tolist() == [[1, 0], [0, 1]] and t.Y.toarray().tolist() == [[1, 0], [1, 1]]
    d = parse_arff(DENSE, ["L1"])
    assert not d.sparse_format and d.X.toarray()[1, 1] == pytest.approx(0.9) and d.Y.toarray().ravel().tolist() == [1, 0]


@pytest.mark.parametrize("text,match", [
    ("", "not an ARFF"),
    ("hello,world\n1,2\n", "not an ARFF"),
    ("\x00\x01binary", "binary"),
    (SPARSE.replace("{0 1,2 1}", "{0 1,2 1"), "malformed"),
    (DENSE.replace("0.5,0.25,1", "0.5,abc,1"), "malformed|non-numeric"),
    (DENSE.replace("0.5,0.25,1", "0.5,?,1"), "missing values"),
    (DENSE.replace("0.1,0.9,0", "0.1,0.9,7"), "malformed|0/1"),
])
def test_malformed(text, match):
    with pytest.raises(DataError, match=match):
        parse_arff(text, ["L1"])


def test_label_count_must_fit():
    with pytest.raises(DataError, match="labels"):
        parse_arff(DENSE, ["x", "y", "z"])  # unmatched, and no room for them by position
    with pytest.raises(DataError, match="labels"):
        parse_arff(DENSE, [])
    with pytest.raises(DataError, match="feature"):
        parse_arff(DENSE, ["a", "b", "L1"])  # every attribute a label


def test_label_xml(tmp_path):
    p = tmp_path / "l.xml"
    p.write_text('<labels xmlns="http://mulan.sourceforge.net/labels"><label name="a"/><label name="b"><label name="c"/></label></labels>')
    assert read_label_xml(p) == ["a", "b", "c"]
    p.write_text("<labels><label")
    with pytest.raises(DataError, match="not a valid"):
        read_label_xml(p)
    p.write_text("<labels></labels>")
    with pytest.raises(DataError, match="no <label"):
        read_label_xml(p)


# -- labels are matched by name (Mulan's rule), wherever they sit in the file ----------------------
SHUFFLED = """@relation s
@attribute L2 {0,1}
@attribute w1 numeric
@attribute L1 {0,1}
@attribute w2 numeric
@attribute w3 numeric
@data
1,0.5,0,0,0
0,0,1,0.25,0

% a comment line
1,0,1,0,2
"""


def test_labels_matched_by_name_not_position():
    t = parse_arff(SHUFFLED, ["L1", "L2"])  # XML order differs from the ARFF's; labels are not last
    assert t.label_names == ["L1", "L2"] and t.feature_names == ["w1", "w2", "w3"] and not t.warnings
    assert t.Y.toarray().tolist() == [[0, 1], [1, 0], [1, 1]]
    assert t.X.toarray().tolist() == [[0.5, 0, 0], [0, 0.25, 0], [0, 0, 2]]


def test_quoted_and_escaped_names_match():
    # liac-arff keeps the backslash of an unquoted name and drops the quotes of a quoted one; the XML
    # may spell either way (Delicious' XML says TAG_m\'usica, as its ARFF does, unquoted).
    text = ("@relation q\n@attribute w1 {0,1}\n@attribute 'TAG_m\\'usica' {0,1}\n@attribute w2 {0,1}\n"
            "@attribute TAG_caf\\'e {0,1}\n@attribute 'odd name' {0,1}\n@attribute w3 {0,1}\n@data\n"
            "{0 1,1 1}\n{2 1,3 1}\n{4 1,5 1}\n")
    t = parse_arff(text, ["odd name", "TAG_caf\\'e", "TAG_m'usica"])
    assert t.feature_names == ["w1", "w2", "w3"] and not t.warnings
    assert t.Y.toarray().tolist() == [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
    t = parse_arff(text, ["TAG_m\\'usica", "TAG_caf'e", "'odd name'"])
    assert t.Y.toarray().tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_xml_naming_a_label_the_arff_lacks_is_refused():
    # the old positional rule took the last 3 attributes, silently turning feature w3 into a label
    with pytest.raises(DataError, match="'L3'"):
        parse_arff(SHUFFLED.replace("1,0,1,0,2", "1,0,1,0,1"), ["L1", "L2", "L3"], name="d.arff", labels_file="d.xml")


def test_unmatched_names_fall_back_to_position_with_a_warning():
    t = parse_arff(SPARSE, ["x", "y"], name="d.arff", labels_file="d.xml")
    assert t.label_names == ["x", "y"] and t.feature_names == ["w1", "odd name"]
    assert t.Y.toarray().tolist() == [[1, 0], [1, 1]]
    assert len(t.warnings) == 1 and "position" in t.warnings[0] and "d.xml" in t.warnings[0]


def test_label_declared_other_than_0_1_is_refused():
    with pytest.raises(DataError, match="'L1'.*declared"):
        parse_arff(DENSE.replace("L1 {0,1}", "L1 {1,0}"), ["L1"])


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e39"])
def test_non_finite_values_refused_with_their_line(value):
    dense = DENSE.replace("0.1,0.9,0", f"0.1,{value},0")  # the second data row: line 7
    with pytest.raises(DataError, match=r"line 7\b.*'b'"):
        parse_arff(dense, ["L1"])
    sparse = SPARSE.replace("'odd name' {0,1}", "'odd name' numeric").replace("{1 1,2 1,3 1}", f"{{1 {value},2 1}}")
    with pytest.raises(DataError, match=r"line 8\b.*'odd name'"):
        parse_arff(sparse, ["L1", "L2"])


def test_missing_value_names_its_line():
    with pytest.raises(DataError, match=r"line 6\b.*missing"):
        parse_arff(DENSE.replace("0.5,0.25,1", "0.5,?,1"), ["L1"])


def test_trailing_empty_sparse_rows_are_rows():
    t = parse_arff(SPARSE + "{}\n{}\n", ["L1", "L2"])
    assert t.X.shape == (4, 2) and t.Y.shape == (4, 2) and t.Y[2:].nnz == 0


def test_truncated_data_line_names_file_and_line():
    with pytest.raises(DataError, match=r"d\.arff.*line 7"):
        parse_arff(DENSE.replace("0.1,0.9,0", "0.1,0.9"), ["L1"], name="d.arff")
    with pytest.raises(DataError, match=r"d\.arff.*line 8"):
        parse_arff(SPARSE.replace("{1 1,2 1,3 1}", "{1 1,2"), ["L1", "L2"], name="d.arff")


def test_label_xml_cut_short_or_with_a_repeated_label(tmp_path):
    p = tmp_path / "cut.xml"
    p.write_text('<labels xmlns="http://mulan.sourceforge.net/labels">\n<label name="a"/>\n<label name="b"/>\n')
    with pytest.raises(DataError, match=r"cut\.xml.*line 4.*cut short"):
        read_label_xml(p)
    p.write_text('<labels><label name="a"/><label name="b"/><label name="a"/></labels>')
    with pytest.raises(DataError, match="'a' is named twice"):
        read_label_xml(p)


def test_real_bibtex_labels_follow_the_xml_order(bibtex_files):
    """The real BibTeX train file with its label XML shuffled: each label keeps its own column."""
    import random

    text, labels = bibtex_files
    base = parse_arff(text, labels)
    shuffled = labels[:]
    random.Random(0).shuffle(shuffled)
    t = parse_arff(text, shuffled)
    assert t.label_names == shuffled and not t.warnings
    for j in (0, 1, 57, 158):
        k = labels.index(shuffled[j])
        assert (t.Y[:, j] != base.Y[:, k]).nnz == 0
    assert (t.X != base.X).nnz == 0


@pytest.fixture(scope="module")
def bibtex_files():
    from tests.conftest import SHARED

    return (SHARED / "bibtex" / "bibtex-train.arff").read_text(encoding="utf-8"), \
        read_label_xml(SHARED / "bibtex" / "bibtex.xml")
