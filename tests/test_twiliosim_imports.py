"""twiliosim's import graph: no cycles between its files, and none of the
service's packages imported (it talks to the service over HTTP only).

Every import counts: module level, inside functions and under
`if TYPE_CHECKING:` alike, since each one ties the two files together even when
it runs late or never. The graph is read with `ast`, not by importing, so an
import that never runs is seen too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "twiliosim"
# The service's packages: twiliosim stands in for Twilio and must reach them only through HTTP.
SERVICE = {"acd", "ivr", "screenpop", "store", "webhooks", "service", "contactcenter", "wsgi"}
# The one project package twiliosim may use: Erlang C arithmetic for its load reports.
ALLOWED_PROJECT = {"erlang", "twiliosim"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def package_of(name: str, path: Path) -> str:
    """The package a module's relative imports start from."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imports_in(source: str, package: str) -> list[str]:
    """Every module `source` imports (absolute names); relative ones resolved from `package`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from pkg import mod` imports the submodule; `from mod import name` only the module.
            subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
            found.extend(subs if subs else [base])
            if subs and len(subs) < len(node.names) and base in MODULES:
                found.append(base)
    return found


def imported(name: str) -> list[str]:
    path = MODULES[name]
    return imports_in(path.read_text(), package_of(name, path))


def graph() -> dict[str, set[str]]:
    """Edges between twiliosim's own files only."""
    edges = {}
    for name in MODULES:
        edges[name] = {target for target in imported(name) if target in MODULES and target != name}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path [a, b, ..., a], or None (depth-first search with colours)."""
    colour = dict.fromkeys(edges, 0)        # 0 unseen, 1 on the current path, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            if colour[target] == 1:
                return stack[stack.index(target):] + [target]
            if colour[target] == 0 and (cycle := visit(target)):
                return cycle
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(edges):
        if colour[node] == 0 and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_every_kind_of_import():
    # The reader itself: relative, nested-in-function and TYPE_CHECKING imports are all edges.
    source = ("from typing import TYPE_CHECKING\nfrom . import twiml\nfrom .call import SimCall\n"
              "if TYPE_CHECKING:\n    from .sim import Simulator\n"
              "def f():\n    from .rest import RestServer\n    import store\n")
    found = set(imports_in(source, "twiliosim"))
    assert {"twiliosim.twiml", "twiliosim.call", "twiliosim.sim", "twiliosim.rest", "store"} <= found
    # Two dots from a subpackage climb to twiliosim itself.
    assert imports_in("from ..outcomes import END", "twiliosim.rest") == ["twiliosim.outcomes"]


def test_a_cycle_is_found():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_inside_twiliosim():
    assert len(MODULES) > 10, "the package was not found"
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_service_package_is_imported(name):
    projects = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} | {"wsgi"}
    wrong = sorted({target for target in imported(name)
                    if target.split(".")[0] in SERVICE
                    or (target.split(".")[0] in projects and target.split(".")[0] not in ALLOWED_PROJECT)})
    assert not wrong, f"{MODULES[name].relative_to(ROOT)} imports the service's {wrong}"
