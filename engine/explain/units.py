"""The interpretable units of one input and how to remove them.

Text: the words exactly as the models' TF-IDF tokenizer sees them (``(?u)\\b\\w+\\b`` on the
lower-cased text, engine.models.featurize.TOKEN_PATTERN), so a removed word really disappears
from what the model reads. A word type is one unit: removing it removes every occurrence (LIME's
bag-of-words mode does the same). Dense: each feature is a unit; removing it sets it to its
training mean (the uninformative value LIME's tabular sampler is centred on).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import InputError
from engine.models.featurize import TOKEN_PATTERN

_WORD = re.compile(TOKEN_PATTERN)


def split_words(text: str) -> list[str]:
    """The tokenizer's words, in text order (repeats kept). Used as LIME's split_expression."""
    return _WORD.findall(text)


@dataclass
class TextUnits:
    """A lower-cased text as word types. names: unique words in first-occurrence order."""

    text: str
    names: list[str]
    spans: list[list[tuple[int, int]]]  # char spans of every occurrence of each unit
    words: list[str]  # every word occurrence in text order
    word_unit: np.ndarray  # (len(words),) unit index of each occurrence

    kind = "text"

    @classmethod
    def of(cls, text: str) -> "TextUnits":
        text = text.lower()  # the models lower-case too: "The" and "the" are one word to them
        names, spans, index, words, word_unit = [], [], {}, [], []
        for m in _WORD.finditer(text):
            w = m.group(0)
            if w not in index:
                index[w] = len(names)
                names.append(w)
                spans.append([])
            spans[index[w]].append(m.span())
            words.append(w)
            word_unit.append(index[w])
        if not names:
            raise InputError("the document has no words left to explain (its text is empty after tokenisation).")
        return cls(text, names, spans, words, np.asarray(word_unit, dtype=np.int64))

    @classmethod
    def of_or_none(cls, text: str) -> "TextUnits | None":
        try:
            return cls.of(text)
        except InputError:
            return None

    @property
    def n(self) -> int:
        return len(self.names)

    def keep(self, mask: np.ndarray) -> str:
        """The text with the units where mask is False cut out. mask: (n,) bool."""
        cut = sorted(s for u in np.flatnonzero(~np.asarray(mask, dtype=bool)) for s in self.spans[u])
        out, pos = [], 0
        for a, b in cut:
            out.append(self.text[pos:a])
            pos = b
        out.append(self.text[pos:])
        return " ".join("".join(out).split())

    def batch(self, masks: list[np.ndarray]) -> list[str]:
        return [self.keep(m) for m in masks]

    def token_weights(self, unit_weights: np.ndarray) -> list[tuple[str, float]]:
        """(word, weight) for every word occurrence in text order."""
        return [(w, float(unit_weights[u])) for w, u in zip(self.words, self.word_unit)]


@dataclass
class DenseUnits:
    """A dense feature row. x: (d,) float32; baseline: (d,) value of a removed feature."""

    x: np.ndarray
    baseline: np.ndarray
    names: list[str]

    kind = "dense"

    @property
    def n(self) -> int:
        return len(self.names)

    def keep(self, mask: np.ndarray) -> np.ndarray:
        return np.where(np.asarray(mask, dtype=bool), self.x, self.baseline).astype(np.float32)

    def batch(self, masks: list[np.ndarray]) -> np.ndarray:
        m = np.asarray(masks, dtype=bool).reshape(len(masks), self.n)
        return np.where(m, self.x[None, :], self.baseline[None, :]).astype(np.float32)

    def token_weights(self, unit_weights: np.ndarray) -> list[tuple[str, float]]:
        return [(n, float(w)) for n, w in zip(self.names, unit_weights)]


def units_of(model_input: Any, baseline: np.ndarray | None = None, feature_names: list[str] | None = None):
    """TextUnits for a string, DenseUnits for a feature row (baseline and names required)."""
    if isinstance(model_input, str):
        return TextUnits.of(model_input)
    x = np.asarray(model_input, dtype=np.float32).ravel()
    return DenseUnits(x, np.asarray(baseline, dtype=np.float32).ravel(), list(feature_names))

