"""Label names as people read them. Mulan names carry a shared attribute prefix (``TAG_children``) and
ARFF escapes (``TAG_m\\'usica``); the raw name stays the label's identity (exports, CLI, caches) and
the display name is only what a chart or table shows."""
from __future__ import annotations

import re

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


def common_prefix_note(names: list[str]) -> str:
    prefix = shared_prefix(names)
    return f"label names shown without their shared '{prefix}' prefix" if prefix else ""


__all__ = ["display_names", "shared_prefix", "common_prefix_note"]
