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
    t = parse_arff(SPARSE, 2)
    assert t.sparse_format and t.feature_names == ["w1", "odd name"] and t.label_names == ["L1", "L2"]
    assert t.X.toarray().tolist() == [[1, 0], [0, 1]] and t.Y.toarray().tolist() == [[1, 0], [1, 1]]
    d = parse_arff(DENSE, 1)
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
        parse_arff(text, 1)


def test_label_count_must_fit():
    with pytest.raises(DataError, match="labels"):
        parse_arff(DENSE, 3)
    with pytest.raises(DataError, match="labels"):
        parse_arff(DENSE, 0)


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
