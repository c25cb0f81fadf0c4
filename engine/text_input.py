"""Validation of free text typed or pasted by users."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from engine.errors import InputError

MAX_TEXT_CHARS = 100_000
# What counts as a word everywhere (TF-IDF vocabulary, LIME units, import checks): lower-cased \w+ runs.
TOKEN_PATTERN = r"(?u)\b\w+\b"


def check_text(text) -> str:
    """Return a cleaned text or raise InputError: not a string, empty, or over 100,000 characters."""
    if not isinstance(text, str):
        raise InputError("text must be a string.")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}. Shorten it.")
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise InputError("the text is empty (or only whitespace / control characters).")
    return cleaned


@dataclass(frozen=True)
class TextCoverage:
    """Which words of a text a model's vocabulary knows. known / ignored: distinct lower-cased words
    (TOKEN_PATTERN) in text order; n_words / n_known: word occurrences, all and known."""

    known: tuple[str, ...]
    ignored: tuple[str, ...]
    n_words: int
    n_known: int

    @property
    def share_known(self) -> float:
        return self.n_known / self.n_words if self.n_words else 0.0


def vocabulary_coverage(text: str, vocabulary) -> TextCoverage:
    """Split a text's words into those in ``vocabulary`` (a set or dict of lower-cased words, e.g. a
    TF-IDF's) and those a model reading only that vocabulary ignores."""
    words = re.findall(TOKEN_PATTERN, check_text(text).lower())
    known = [w for w in words if w in vocabulary]
    return TextCoverage(tuple(dict.fromkeys(known)), tuple(dict.fromkeys(w for w in words if w not in vocabulary)),
                        len(words), len(known))
