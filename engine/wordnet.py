"""Offline WordNet 3.0 through NLTK (installed by scripts/install_wordnet.sh), loaded once."""
from __future__ import annotations

import threading
from functools import lru_cache

from engine.errors import DataError
from engine.paths import nltk_data_dir

_LOCK = threading.Lock()
_READERS: dict[str, object] = {}
POS = {"n": "n", "v": "v", "a": "a", "s": "a", "r": "r"}  # satellite adjectives count as adjectives
REQUIRED = ("lexnames", "data.noun", "index.noun", "data.verb", "index.verb", "data.adj", "index.adj",
            "data.adv", "index.adv", "noun.exc", "verb.exc", "adj.exc", "adv.exc")


def wordnet():
    """NLTK's WordNetCorpusReader over <nltk_data_dir>/corpora/wordnet (cached; ~6 s the first time)."""
    root = nltk_data_dir() / "corpora" / "wordnet"
    key = str(root)
    with _LOCK:
        if key in _READERS:
            return _READERS[key]
        missing = [f for f in REQUIRED if not (root / f).is_file()]
        if missing:
            raise DataError(f"WordNet is not installed in {root} (missing {', '.join(missing[:3])}"
                            f"{'...' if len(missing) > 3 else ''}). Run: scripts/install_wordnet.sh")
        import nltk
        from nltk.corpus.reader.wordnet import WordNetCorpusReader

        # NLTK 3.10 reads corpora only from folders on nltk.data.path ("Security Violation" otherwise)
        data = str(nltk_data_dir())
        if data not in nltk.data.path:
            nltk.data.path.insert(0, data)
        import warnings

        try:
            with warnings.catch_warnings():  # "multilingual functions are not available": we want only English
                warnings.simplefilter("ignore")
                reader = WordNetCorpusReader(nltk.data.find("corpora/wordnet"), None)
        except Exception as exc:  # a damaged install: tell the user how to repair it
            raise DataError(f"WordNet in {root} could not be read ({type(exc).__name__}: {exc}). "
                            "Delete that folder and run: scripts/install_wordnet.sh") from None
        _READERS[key] = reader
        return reader


@lru_cache(maxsize=200_000)
def _synonyms(word: str, pos: str | None) -> tuple[str, ...]:
    wn = wordnet()
    out: list[str] = []
    # the word's own base form ("coefficients" -> "coefficient") is not a synonym
    seen = {word} | {wn.morphy(word, p) or word for p in ("n", "v", "a", "r")}
    for syn in wn.synsets(word, pos=pos):
        for lemma in syn.lemma_names():
            w = lemma.lower()
            # single words only: a multi-word lemma ("data_processor") would add tokens to the text
            if "_" in w or "-" in w or not w.isalpha() or w in seen:
                continue
            seen.add(w)
            out.append(w)
    return tuple(out)


def synonyms(word: str, pos: str | None = None) -> list[str]:
    """Single-word WordNet lemmas sharing a synset with ``word`` (same POS when given), not the word itself.

    pos: None (any), or one of "n", "v", "a" ("s" is treated as "a"), "r".
    """
    if not isinstance(word, str) or not word.strip():
        return []
    if pos is not None and pos not in POS:
        from engine.errors import InputError

        raise InputError(f"unknown part of speech {pos!r}: use one of n, v, a, r.")
    return list(_synonyms(word.strip().lower(), POS.get(pos) if pos else None))


def pos_of(word: str) -> str | None:
    """The most frequent WordNet POS of a word (first synset's), or None when WordNet lacks it."""
    syns = wordnet().synsets(word)
    return POS[syns[0].pos()] if syns else None


def warm_up(words: tuple[str, ...] = ()) -> threading.Thread:
    """Load WordNet (and the synonyms of ``words``) in a daemon thread, once per process, so the first
    WordNet attack or certificate does not pay the ~6-13 s cold start. Errors are left for the real
    call to report (a missing install then gets its clear message there)."""
    from engine.background import start_once

    def run() -> None:
        wordnet()
        for w in words:
            synonyms(w)

    return start_once(("wordnet", str(nltk_data_dir())), run, "wordnet")
