"""The one dependency direction, read from the source with ``ast`` (function-local imports and
``importlib.import_module("engine....")`` calls included, so a lazy import cannot hide an edge):

    core (types, errors, paths, atomic, metrics, text_input, wordnet, results_cache, ray_tasks)
      <- data <- models <- explain / attacks / robust / certify <- pipeline <- cli, report, bench, dashboard

Nothing imports a module of a higher layer; no two modules import each other, directly or in a ring;
the engine never imports Streamlit; the dashboard reaches the engine only through ``engine.pipeline``
(plus the error and result types of the core).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = {"types", "errors", "paths", "atomic", "metrics", "text_input", "wordnet", "results_cache", "labels", "ray_tasks", "child_process",
        "plot_text", "background"}
LAYER_OF_PACKAGE = {"data": 1, "models": 2, "explain": 3, "attacks": 3, "robust": 3, "certify": 3,
                    "pipeline": 4, "cli": 5, "report": 5, "bench": 5, "bench_scale": 5, "bench_pages": 5,
                    "__main__": 5}
LAYER_NAMES = {0: "core", 1: "data", 2: "models", 3: "techniques", 4: "pipeline", 5: "clients", 6: "dashboard"}
DASHBOARD_MAY_IMPORT = {"engine.pipeline", "engine.errors", "engine.types"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] == "dashboard":
        return 6
    if parts[0] != "engine":
        return None
    if len(parts) == 1 or parts[1] in CORE:
        return 0
    return LAYER_OF_PACKAGE.get(parts[1], 99)


def source_files() -> list[Path]:
    return sorted(p for d in ("engine", "dashboard") for p in (ROOT / d).rglob("*.py"))


def known_modules() -> set[str]:
    return {module_name(p) for p in source_files()}


def resolve(target: str, known: set[str]) -> str | None:
    """The module an import names: the longest known prefix of ``target``."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in known:
            return cand
    return None


def imports_of(path: Path, known: set[str]) -> list[tuple[str, int]]:
    """Every engine/dashboard module this file imports, anywhere in it: [(module, line)]."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            # "from engine import pipeline" imports the module engine.pipeline
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names = [node.args[0].value]
        for n in names:
            mod = resolve(n, known)
            # a module's own parent packages are imported before it anyway: not an edge
            if mod and mod != me and not me.startswith(mod + "."):
                found.append((mod, node.lineno))
    return found


def graph() -> dict[str, dict[str, int]]:
    known = known_modules()
    out: dict[str, dict[str, int]] = {}
    for p in source_files():
        edges: dict[str, int] = {}
        for mod, line in imports_of(p, known):
            edges.setdefault(mod, line)
        out[module_name(p)] = edges
    return out


def test_the_graph_is_read_from_source():
    g = graph()
    assert "engine.pipeline" in g and "dashboard.app" in g
    # the reader sees function-local imports too
    assert any(g[m] for m in g if m.startswith("engine.explain"))


def test_no_upward_import():
    bad = []
    for mod, edges in graph().items():
        for target, line in edges.items():
            a, b = layer(mod), layer(target)
            if a is None or b is None:
                continue
            if target.count(".") == 0:  # "import engine" / "from engine import x" with x a name
                continue
            if b > a:
                bad.append(f"{mod} (line {line}, {LAYER_NAMES.get(a, a)}) imports {target} ({LAYER_NAMES.get(b, b)})")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_import_cycle():
    g = graph()
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, {}):
            if w.count(".") == 0:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_engine_never_imports_streamlit():
    bad = []
    for p in (ROOT / "engine").rglob("*.py"):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{module_name(p)}:{node.lineno}" for n in names if n.split(".")[0] == "streamlit"]
    assert not bad, bad


def test_dashboard_reaches_the_engine_through_the_facade():
    bad = []
    for mod, edges in graph().items():
        if not mod.startswith("dashboard"):
            continue
        for target, line in edges.items():
            if target.startswith("engine") and target != "engine" and target not in DASHBOARD_MAY_IMPORT:
                bad.append(f"{mod}:{line} imports {target}")
    assert not bad, bad


@pytest.mark.parametrize("src,expected", [
    ("def f():\n    from engine import pipeline\n", "engine.pipeline"),
    ("import importlib\nimportlib.import_module('engine.pipeline')\n", "engine.pipeline"),
    ("from .. import pipeline\n", "engine.pipeline"),
])
def test_reader_sees_hidden_imports(tmp_path, src, expected, monkeypatch):
    """The reader would miss nothing a lazy import can hide (so the tests above can fail)."""
    f = ROOT / "engine" / "data" / "__arch_probe__.py"
    f.write_text(src)
    try:
        known = known_modules()
        assert expected in {m for m, _ in imports_of(f, known)}
    finally:
        f.unlink()
