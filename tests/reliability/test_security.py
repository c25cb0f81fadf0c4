"""Security: uploads are size-limited and parsed (never unpickled), no unsafe deserialisation in the
code, user text is escaped in the dashboard's own HTML, XSRF protection stays on, no secrets tracked."""
from __future__ import annotations

import pickle
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from engine import pipeline
from engine.data.user_data import MAX_UPLOAD_BYTES
from engine.errors import DataError

ROOT = Path(__file__).resolve().parents[2]
CODE = [p for d in ("engine", "dashboard", "scripts") for p in (ROOT / d).rglob("*.py")]
EVIL = "<script>alert('xss')</script><img src=x onerror=alert(1)>"


def test_no_unsafe_deserialisation_in_the_code():
    bad = []
    for p in CODE:
        for i, line in enumerate(p.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"\b(pickle|cPickle|dill|joblib|shelve|marshal)\.loads?\(|read_pickle\(|yaml\.load\(|\beval\(|\bexec\(", code) \
                    and ".eval()" not in code:
                bad.append(f"{p.relative_to(ROOT)}:{i}: {line.strip()}")
            if re.search(r"\bnp\.load\(", code) and "allow_pickle=False" not in code:
                bad.append(f"{p.relative_to(ROOT)}:{i}: np.load without allow_pickle=False: {line.strip()}")
            if re.search(r"\btorch\.load\(", code) and "weights_only=True" not in code:
                bad.append(f"{p.relative_to(ROOT)}:{i}: torch.load without weights_only=True: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_the_scanner_itself_catches_unsafe_calls(tmp_path):
    assert re.search(r"\bnp\.load\(", "x = np.load(path)") and "allow_pickle=False" not in "x = np.load(path)"


def test_a_pickle_payload_is_never_unpickled(rel_dirs, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    payload = pickle.dumps(Evil())
    for name in ("evil.csv", "evil.txt", "evil.pkl", "evil.arff"):
        files = {name: payload, **({"l.xml": b"<labels/>"} if name.endswith(".arff") else {})}
        with pytest.raises(DataError):
            pipeline.import_user_dataset("rel-evil", files)
    assert not marker.exists()


def test_upload_size_limit_matches_streamlit_config():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["maxUploadSize"] * 2**20 == MAX_UPLOAD_BYTES
    page = (ROOT / "dashboard" / "pages" / "your_data.py").read_text()
    assert f"MAX_UPLOAD_MB = {cfg['server']['maxUploadSize']}" in page


def test_xsrf_protection_stays_on():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg.get("server", {}).get("enableXsrfProtection", True) is not False
    assert cfg.get("server", {}).get("enableCORS", True) is not False
    for f in ("xtrust.sh", "Dockerfile"):
        text = (ROOT / f).read_text() if (ROOT / f).is_file() else ""
        assert not re.search(r"enableXsrfProtection[= ]+false", text, re.I), f
        assert not re.search(r"enableCORS[= ]+false", text, re.I), f


def test_foreign_html_only_inside_an_iframe():
    """BertViz/LIME HTML goes to st.iframe; st.markdown(unsafe_allow_html) gets only the
    dashboard's own escaped blocks."""
    src = {p.relative_to(ROOT).as_posix(): p.read_text() for p in (ROOT / "dashboard").rglob("*.py")}
    unsafe = [(f, i) for f, t in src.items() for i, ln in enumerate(t.splitlines()) if "unsafe_allow_html=True" in ln]
    assert [f for f, _ in unsafe] == ["dashboard/components/formatting.py"], unsafe  # only html_block
    for f, t in src.items():
        for ln in t.splitlines():
            if "html_block(" in ln and "def html_block" not in ln:
                assert any(k in ln for k in ("highlighted_html(", "word_diff_html(", "coverage_html(", "html.escape(")), (f, ln)
            if "as_html(" in ln:  # LIME's own HTML page
                pytest.fail(f"{f}: LIME HTML outside an iframe: {ln}")
            if "st.html(" in ln:
                assert "css()" in ln, (f, ln)  # st.html is for the app's own stylesheet only
    # BertViz goes through st.iframe (the supported replacement of the deprecated components.v1.html)
    assert "st.iframe(" in src["dashboard/pages/explain.py"]
    assert not any("components.v1" in t or "components.html(" in t for t in src.values())


def test_dashboard_html_blocks_escape_user_text():
    from dashboard import components as C

    # the free-text coverage view wraps ignored words in spans: no tag of the text survives
    cov = C.coverage_html("known " + EVIL + " words", ["script", "alert", "img"])
    assert "<script" not in cov and "<img" not in cov and "&lt;" in cov and "onerror=alert" not in cov.replace(
        '<span class="xt-ignored"', "")
    for markup in (C.highlighted_html([(EVIL, 1.0), ("ok", -0.5)]), C.word_diff_html(EVIL, "safe " + EVIL + " x"),
                   C._table([{"label": EVIL, "score": EVIL}])):
        assert "<script" not in markup and "<img" not in markup and "&lt;script&gt;" in markup


SECRET_PATTERNS = {
    "private key": "-----BEGIN " + r"(RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY-----",
    "AWS key": "AK" + r"IA[0-9A-Z]{16}",
    "GitHub token": r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{40,}",
    "Slack token": "xo" + r"x[baprs]-[A-Za-z0-9-]{10,}",
    "OpenAI key": "s" + r"k-[A-Za-z0-9_-]{32,}",
    "Hugging Face token": "h" + r"f_[A-Za-z]{34}",
    "Google API key": "AI" + r"za[0-9A-Za-z_-]{35}",
    "password assignment": r"(?i)(password|passwd|secret|api_key|token)\s*[:=]\s*['\"][^'\"\s]{12,}['\"]",
}


def scan(text: str) -> list[str]:
    return [k for k, pat in SECRET_PATTERNS.items() if re.search(pat, text)]


def test_secret_scanner_finds_planted_secrets():
    assert scan("-----BEGIN " + "RSA PRIVATE KEY-----\nabc") == ["private key"]
    assert "AWS key" in scan("key = " + "AKIA" + "ABCDEFGHIJKLMNOP")
    assert "GitHub token" in scan("ghp_" + "a" * 36)
    assert scan("nothing to see") == []


def test_no_secrets_in_tracked_files():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    hits = []
    for f in files:
        p = ROOT / f
        if not p.is_file() or p.stat().st_size > 5 * 2**20:
            continue
        data = p.read_bytes()
        if b"\x00" in data[:4096]:
            continue
        found = scan(data.decode("utf-8", "replace"))
        if found:
            hits.append(f"{f}: {found}")
    assert not hits, hits


def test_name_patterns_are_checked_whole():
    """'^...$' lets "name\n" through re.match: every name/id pattern is checked with fullmatch."""
    bad = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in CODE for i, line in enumerate(p.read_text().splitlines(), 1)
           if re.search(r"PATTERN\.(match|search)\(", line.split("#", 1)[0])]
    assert not bad, "\n".join(bad)


def test_names_with_a_trailing_newline_are_refused(rel_dirs):
    from engine.data.user_data import check_name, user_root
    from engine.errors import InputError
    from engine.models.store import ModelStore

    rows = "\n".join(f"some words {i},x;y" for i in range(20))
    for bad in ("name\n", "rel-nl\n"):
        with pytest.raises(InputError):
            check_name(bad)
        with pytest.raises(InputError):
            pipeline.import_user_dataset(bad, {"d.csv": ("text,labels\n" + rows + "\n").encode()})
        with pytest.raises(InputError):
            ModelStore().folder(bad, "xlinear")
        with pytest.raises(InputError):
            ModelStore().folder("bibtex", bad)
    root = user_root()
    assert not root.exists() or not [p for p in root.iterdir() if "\n" in p.name]


def test_a_planted_pickle_beside_a_saved_model_is_refused(rel_dirs, tmp_path):
    import shutil

    from engine.errors import ModelError
    from engine.models.store import ModelStore

    shutil.copytree(rel_dirs["models"] / "bibtex" / "xlinear", tmp_path / "bibtex" / "xlinear")
    store = ModelStore(tmp_path)
    store.load("bibtex", "xlinear")
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "bibtex" / "xlinear" / "xlinear" / "model.pkl").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ModelError, match="did not write.*model.pkl"):
        store.load("bibtex", "xlinear")
    with pytest.raises(ModelError, match="did not write"):
        pipeline.get_model("bibtex", "xlinear", store)
    assert not marker.exists()


def test_a_model_saved_without_checksums_is_refused(rel_dirs, tmp_path):
    import json
    import shutil

    from engine.errors import ModelError
    from engine.models.store import ModelStore

    folder = tmp_path / "bibtex" / "xlinear"
    shutil.copytree(rel_dirs["models"] / "bibtex" / "xlinear", folder)
    m = json.loads((folder / "manifest.json").read_text())
    del m["file_checksums"]  # what XTrust wrote before it recorded checksums
    (folder / "manifest.json").write_text(json.dumps(m))
    store = ModelStore(tmp_path)
    assert store.list("bibtex") == []
    (info,) = store.list("bibtex", include_damaged=True)
    assert "checksums" in info.damaged
    with pytest.raises(ModelError, match="checksums.*Train it with: python -m engine train --dataset bibtex --model xlinear"):
        store.load("bibtex", "xlinear")
