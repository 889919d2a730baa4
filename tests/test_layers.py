"""The layers of the code, read from the imports themselves (every import counts: at the top, inside
a function, under TYPE_CHECKING). The README's "Architecture" section says the same in words.

    service                      the wiring: builds everything, the app, the worker, the jobs
    webhooks                     HTTP: parse, call one domain method, answer
    ivr  acd  screenpop  people  workspaces   the domain: use cases; none imports another
    store                        Redis keys and live calls, SQL, settings
    contactcenter  erlang        the model and the maths: import nothing of ours

`twiliosim` is an offline Twilio: it talks to the service over HTTP only and may use `erlang`.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAYER = {"service": 5, "webhooks": 4, "ivr": 3, "acd": 3, "screenpop": 3, "people": 3, "workspaces": 3,
         "store": 2, "contactcenter": 1, "erlang": 1}
TOOLS = {"twiliosim": {"erlang"}}          # tools beside the service: what each may import of ours
OURS = set(LAYER) | set(TOOLS) | {"wsgi", "bench", "tests"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every name of ours `path` imports, relative imports resolved: `from pkg.mod import name` gives
    pkg.mod.name (graph() takes it as the module pkg.mod.name if there is one, else pkg.mod)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t.split(".")[0] in OURS}
    return found


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for top in (*LAYER, *TOOLS) for p in sorted((REPO / top).rglob("*.py"))
            if "migrations" not in p.parts}


def graph() -> dict[str, set[str]]:
    modules = all_modules()
    edges = {}
    for name, path in modules.items():
        targets = set()
        for target in imports_of(path):
            while target and target not in modules:       # pkg.name where name is not a module
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                targets.add(target)      # (a package's own __init__ always runs before its modules)
        edges[name] = targets
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_imports_another_that_imports_it_back():
    assert find_cycle(graph()) is None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_packages_import_only_downward():
    wrong = []
    for source, targets in graph().items():
        top = source.split(".")[0]
        for target in targets:
            dest = target.split(".")[0]
            if top == dest:
                continue
            if top in TOOLS:
                ok = dest in TOOLS[top]
            else:
                ok = dest in LAYER and LAYER[dest] < LAYER[top]
            if not ok:
                wrong.append(f"{source} -> {target}")
    assert wrong == []


@pytest.mark.parametrize("source, target", [("acd.service", "ivr.calls"), ("store.keys", "acd.routing"),
                                            ("contactcenter.model", "store.keys"), ("twiliosim.sim", "acd.erlang")])
def test_an_upward_or_sideways_import_would_be_caught(source, target):
    top, dest = source.split(".")[0], target.split(".")[0]
    assert not (dest in TOOLS.get(top, ()) or (top in LAYER and dest in LAYER and LAYER[dest] < LAYER[top]))


def test_the_import_reader_resolves_relative_and_late_imports(tmp_path, monkeypatch):
    package = tmp_path / "acd"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "x.py").write_text("from . import y\nfrom .z import w\ndef f():\n    from ivr.calls import IvrCalls\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert imports_of(package / "x.py") == {"acd.y", "acd.z.w", "ivr.calls.IvrCalls"}


def test_no_module_is_long_without_saying_why():
    """Modules (Lua scripts, tests and benches too) of at most 350 lines, or a reason at the top."""
    files = [p for top in (*LAYER, *TOOLS, "tests", "bench") for p in (REPO / top).rglob("*")
             if p.suffix in (".py", ".lua") and "migrations" not in p.parts]
    long = []
    for path in sorted(files):
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > 350 and "Long because" not in "\n".join(lines[:40]):
            long.append(f"{path.relative_to(REPO)}: {len(lines)} lines")
    assert long == []
