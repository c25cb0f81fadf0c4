"""Offline WordNet and the synonym-substitution attack (WordNet loads once: slow)."""
import pytest

from engine.errors import DataError, InputError

pytestmark = pytest.mark.slow


def test_synonyms_single_words_same_pos(wordnet_reader):
    from engine.wordnet import synonyms

    assert wordnet_reader.get_version() == "3.0"
    s = synonyms("car", "n")
    assert "auto" in s and "automobile" in s and "car" not in s
    assert all("_" not in w and " " not in w for w in s)
    assert "coefficient" not in synonyms("coefficients")  # its own base form is not a synonym
    assert synonyms("xyzzyq") == []
    with pytest.raises(InputError):
        synonyms("car", "x")


def test_missing_wordnet_says_how_to_install(tmp_path, monkeypatch):
    from engine import wordnet as wn

    monkeypatch.setenv("XTRUST_NLTK_DATA", str(tmp_path))
    with pytest.raises(DataError, match="install_wordnet.sh"):
        wn.wordnet()


def test_wordnet_attack_changes_words(attack_store, attack_cache, wordnet_reader):
    from engine.attacks.api import attack_document

    r = attack_document("bibtex", "xlinear", 2, attack="wordnet", max_words=5, store=attack_store)
    assert r.space == "text" and r.adversarial_text and r.original_text
    assert 1 <= r.words_changed <= 5
    assert r.adversarial_text != r.original_text
    orig, adv = r.original_text.split(), r.adversarial_text.split()
    assert len(orig) == len(adv) and sum(a != b for a, b in zip(orig, adv)) == r.words_changed
    assert r.success == (r.after.label_ids[0] != r.before.label_ids[0])
    assert r.changed and r.l2 > 0


def test_wordnet_max_words_respected(small_xlinear, bibtex, wordnet_reader):
    from engine.attacks.api import run_attack

    r = run_attack(small_xlinear, bibtex.test.texts[1], attack="wordnet", max_words=1)
    assert r.words_changed <= 1


def test_document_without_synonyms(small_xlinear, wordnet_reader):
    from engine.attacks.api import run_attack

    with pytest.raises(InputError, match="no word of this document has a WordNet synonym"):
        run_attack(small_xlinear, "xyzzyq 2003 qwrtzp", attack="wordnet")


def test_warm_up_loads_wordnet_once_in_the_background(wordnet_reader):
    from engine import wordnet as W

    t1 = W.warm_up(("learning",))
    t2 = W.warm_up()
    assert t1 is t2  # one warm-up per process
    t1.join(timeout=120)
    assert not t1.is_alive() and W._READERS  # the reader is cached for the first real call
