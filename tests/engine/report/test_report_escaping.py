"""The offline HTML report's plotly charts draw uploaded label names and words as text, never as HTML."""
import json
import re

from engine.report.build import render_html

LINK, BOLD = '<a href="http://x">evil</a>', "<b>x</b>"


def _figure_strings(page: str) -> list[str]:
    """Every string in the plotly figures of a report page (their JSON is the Plotly.newPlot arguments)."""
    out = []
    for call in re.findall(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{", page, flags=re.S):
        for part in call:
            stack = [json.loads(part)]
            while stack:
                v = stack.pop()
                if isinstance(v, str):
                    out.append(v)
                elif isinstance(v, dict):
                    stack.extend(v.values())
                elif isinstance(v, list):
                    stack.extend(v)
    return out


def test_report_charts_escape_uploaded_names():
    per = {"baseline": {"clean": {f"P@{k}": 0.5 for k in range(1, 6)}, "attacked": {f"P@{k}": 0.2 for k in range(1, 6)}}}
    example = {"doc": 0, "model": "xlinear",
               "lime": {"labels": [{"label": LINK, "weights": [[BOLD, 0.4], [LINK, -0.1]]}]},
               "attention": {"tokens": [BOLD, "w", LINK], "labels": [LINK], "weights": [[0.1, 0.2, 0.3]]}}
    results = {"datasets": {"mine": {"display_name": f"upload {BOLD}", "attacked": {"hsj": per}, "example": example}}}
    strings = _figure_strings(render_html(results, {}, ""))
    assert len(strings) > 5
    assert not [s for s in strings if "<a" in s or "<b>" in s], strings
    joined = "\n".join(strings)
    assert "&lt;a href=\"http://x\"&gt;evil&lt;/a&gt;" in joined and "&lt;b&gt;x&lt;/b&gt;" in joined
