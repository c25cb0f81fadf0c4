import numpy as np
import pytest

from engine.errors import InputError
from engine.explain.units import DenseUnits, TextUnits, split_words
from engine.models.featurize import TfidfText


def test_words_are_the_tfidf_tokenizers_words():
    text = "Deep-learning, DEEP learning! graphs_2 on graphs_2 x"
    feat = TfidfText().fit([text])
    u = TextUnits.of(text)
    assert u.words == feat.tokens(text) == split_words(text.lower())
    assert u.names == ["deep", "learning", "graphs_2", "on", "x"]


def test_removing_a_word_removes_every_occurrence_from_the_features():
    text = "deep learning of deep graphs"
    feat = TfidfText().fit([text, "other words here"])
    u = TextUnits.of(text)
    mask = np.ones(u.n, dtype=bool)
    mask[u.names.index("deep")] = False
    cut = u.keep(mask)
    assert cut == "learning of graphs"
    X = feat.transform([cut]).toarray()[0]
    assert X[feat.vocabulary["deep"]] == 0 and X[feat.vocabulary["graphs"]] > 0


def test_empty_text_is_an_input_error():
    for text in ("", "   ", "!!! ---"):
        with pytest.raises(InputError, match="no words"):
            TextUnits.of(text)
    assert TextUnits.of_or_none("") is None


def test_dense_units_replace_removed_features_with_the_baseline():
    u = DenseUnits(np.array([1.0, 2.0, 3.0], dtype=np.float32), np.zeros(3, dtype=np.float32), ["a", "b", "c"])
    out = u.batch([np.array([True, False, True]), np.zeros(3, dtype=bool)])
    assert out.tolist() == [[1.0, 0.0, 3.0], [0.0, 0.0, 0.0]]
    assert [n for n, _ in u.token_weights(np.ones(3))] == ["a", "b", "c"]
