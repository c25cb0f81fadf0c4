"""Make BertViz HTML render with no internet: inline require.js 2.3.6, d3 5.7.0 and jQuery 2.2.4.

BertViz's ``html_action="return"`` output loads require.js from cdnjs and its JS asks require.js
for d3 and jQuery from a CDN; offline the view is blank. Here d3 and jQuery are inlined first
(no AMD loader exists yet, so each sets its global), then require.js, then both are registered
as named AMD modules, and BertViz's ``require.config`` (the CDN paths) is dropped, so
``requirejs(['jquery', 'd3'], ...)`` resolves locally. Files: assets/bertviz/ (from npm, see
scripts/fetch_bertviz_js.sh, with their licences).
"""
from __future__ import annotations

import re
from functools import lru_cache

from engine.errors import ModelError
from engine.paths import REPO_ROOT

ASSETS = REPO_ROOT / "assets" / "bertviz"
FILES = {"d3": "d3-5.7.0.min.js", "jquery": "jquery-2.2.4.min.js", "require": "require-2.3.6.js"}
_CDN_REQUIRE = re.compile(r'<script\s+src="https?://[^"]*require[^"]*\.js"\s*>\s*</script>')
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\);", re.DOTALL)
_CDN_URL = re.compile(r"https?://(cdnjs\.cloudflare\.com|ajax\.googleapis\.com|cdn\.jsdelivr\.net|unpkg\.com|code\.jquery\.com)")


@lru_cache(maxsize=1)
def library_scripts() -> str:
    """The three libraries as inline <script> blocks, plus their AMD registration."""
    parts = []
    for key in ("d3", "jquery", "require"):
        path = ASSETS / FILES[key]
        if not path.is_file():
            raise ModelError(f"offline BertViz file {path} is missing; run scripts/fetch_bertviz_js.sh to restore it.")
        js = path.read_text(encoding="utf-8")
        parts.append(f'<script type="text/javascript" data-lib="{key}">\n{js}\n</script>')
    parts.append('<script type="text/javascript">'
                 "define('d3', [], function () { return window.d3; });"
                 "define('jquery', [], function () { return window.jQuery; });</script>")
    return "\n".join(parts)


def inline_offline(html: str) -> str:
    """BertViz HTML with its CDN loads replaced by the inlined libraries."""
    html, n = _CDN_REQUIRE.subn("", html, count=1)
    html = _REQUIRE_CONFIG.sub("", html)
    if n != 1 or _CDN_URL.search(html):
        raise ModelError("this BertViz version loads its scripts differently than expected; cannot serve it offline.")
    return library_scripts() + "\n" + html
