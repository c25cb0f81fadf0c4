"""Label names as people read them. Mulan names carry a shared attribute prefix (``TAG_children``) and
ARFF escapes (``TAG_m\\'usica``); the raw name stays the label's identity (exports, CLI, caches) and
the display name is only what a chart or table shows."""
from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

_PREFIX = re.compile(r"^([A-Za-z]+_)")


def shared_prefix(names: list[str]) -> str:
    """A 'WORD_' prefix every name has (and that leaves every name non-empty), else ''."""
    if not names:
        return ""
    m = _PREFIX.match(names[0])
    if not m:
        return ""
    prefix = m.group(1)
    return prefix if all(n.startswith(prefix) and len(n) > len(prefix) for n in names) else ""


def display_names(names: list[str]) -> list[str]:
    """``TAG_m\\'usica`` -> ``m'usica``: the shared prefix dropped and ARFF backslash escapes undone;
    a name that would collide with another's display name keeps its raw form."""
    prefix = shared_prefix(names)
    out = [re.sub(r"\\(.)", r"\1", n[len(prefix):]) for n in names]
    if len(set(out)) != len(out):
        seen: dict[str, int] = {}
        for d in out:
            seen[d] = seen.get(d, 0) + 1
        out = [d if seen[d] == 1 else raw for d, raw in zip(out, names)]
    return out


def prefix_note(prefix: str) -> str:
    return f"label names shown without their shared '{prefix}' prefix" if prefix else ""


def common_prefix_note(names: list[str]) -> str:
    return prefix_note(shared_prefix(names))


class LabelIndex(Mapping):
    """Label names searched by typing, and raw -> display names looked up one at a time, without a
    per-label list or dict of display names (at 670K labels each would be tens of MB, copied on every
    dashboard rerun). Built once per dataset in O(L): one string blob of the display names
    (newline-separated) and the (L + 1,) int64 offsets where each starts.

    As a Mapping it holds only the names whose display differs (``TAG_x`` -> ``x``): ``get(raw, raw)``
    is computed on demand, ``len`` counts them; a dataset whose names need no change is empty."""

    def __init__(self, names: list[str]):
        self.names = names
        self.prefix = shared_prefix(names)
        blob = "\n".join(names)
        self._escaped = "\\" in blob
        if self.prefix or self._escaped:
            shown = display_names(names)  # O(L) once, only for Mulan-style names (small datasets)
            self._differs = {raw: d for raw, d in zip(names, shown) if d != raw}
            blob = "\n".join(shown)
        else:
            self._differs = {}
        if blob.count("\n") != max(len(names) - 1, 0):  # a name holding a newline: searched as a space (same length)
            blob = "\n".join(n.replace("\n", " ") for n in (self._differs.get(n, n) for n in names))
        blob = "\n" + blob + "\n"
        lower = blob.lower()
        # searched lower-cased with str.find (C speed); a name whose lower case changes its length (rare
        # Unicode) would shift the offsets, so then the original blob is searched case-insensitively by regex
        self._blob, self._folded = (lower, True) if len(lower) == len(blob) else (blob, False)
        lengths = np.fromiter(map(len, self._differs and [self._differs.get(n, n) for n in names] or names),
                              dtype=np.int64, count=len(names))
        self._starts = np.concatenate(([1], 1 + np.cumsum(lengths + 1)))  # (L + 1,): start of each name in _blob

    # -- Mapping: raw -> display name, only where they differ --
    def __getitem__(self, raw: str) -> str:
        return self._differs[raw]

    def __iter__(self):
        return iter(self._differs)

    def __len__(self) -> int:
        return len(self._differs)

    def display(self, label_id: int) -> str:
        raw = self.names[int(label_id)]
        return self._differs.get(raw, raw)

    def search(self, query: str, limit: int = 20) -> list[int]:
        """Label ids whose display name contains ``query`` (case-insensitive), best first: an exact
        match, then names starting with it, then the others, each in label-id order; at most ``limit``.
        Stops scanning once ``limit`` are found (a regex over one string: ~20 ms at 670K labels)."""
        q = (query or "").strip()
        if not q or limit < 1 or "\n" in q:
            return []
        out: list[int] = []
        seen: set[int] = set()
        for needle, pad in (("\n" + q + "\n", 1), ("\n" + q, 1), (q, 0)):  # exact, starts with, contains
            for pos in self._positions(needle):
                j = int(np.searchsorted(self._starts, pos + pad, side="right")) - 1
                if 0 <= j < len(self.names) and j not in seen:
                    seen.add(j)
                    out.append(j)
                    if len(out) >= limit:
                        return out
        return out

    def _positions(self, needle: str):
        """Start offsets of ``needle`` in the blob, in order (case-insensitive)."""
        if not self._folded:
            yield from (m.start() for m in re.finditer(re.escape(needle), self._blob, flags=re.IGNORECASE))
            return
        needle, at = needle.lower(), 0
        while (pos := self._blob.find(needle, at)) >= 0:
            yield pos
            at = pos + 1


__all__ = ["display_names", "shared_prefix", "common_prefix_note", "prefix_note", "LabelIndex"]
