"""Text drawn inside plotly figures, made inert.

plotly.js renders a subset of HTML in every string it draws (tick labels, hover texts, titles,
annotations, legend names): ``<a href>`` becomes a live link, ``<b>`` bold, ``<br>`` a line break.
Label names, words and dataset names can come from an upload, so each one is HTML-escaped before it
reaches a figure; plotly decodes the entities again and shows the text exactly as written.
"""
from __future__ import annotations

import html
from typing import Iterable


def plot_text(value) -> str:
    """One string for a plotly figure: ``<``, ``>`` and ``&`` as entities (shown literally)."""
    return html.escape(str(value), quote=False)


def plot_texts(values: Iterable) -> list[str]:
    """plot_text of each value (axis categories, hover texts)."""
    return [plot_text(v) for v in values]
