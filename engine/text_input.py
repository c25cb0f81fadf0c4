"""Validation of free text typed or pasted by users."""
from __future__ import annotations

import unicodedata

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
