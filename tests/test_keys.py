"""Every Redis key name is built by store/keys.py: the Python never glues one together by hand,
and every name the routing scripts spell after the workspace prefix is one that a `Keys` method
builds (the scripts get the prefix as an argument and cannot call Python)."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

from store.keys import Keys

REPO = Path(__file__).resolve().parent.parent
SERVICE_PACKAGES = ("acd", "contactcenter", "ivr", "screenpop", "service", "store", "webhooks")
# K('call:' .. sid), P .. 'reqheads:', prefix .. 'agent:', ARGV[2] .. 'skill:' — the name after the prefix
LUA_KEY = re.compile(r"""(?:\bK\(\s*|\b(?:P|prefix|ARGV\[\d+\])\s*\.\.\s*)'([^']*)'""")
HAND_BUILT = re.compile(r"""\.prefix\s*\+|\{[^{}]*\.prefix\}|["']cr:\{""")


def names_keys_builds() -> tuple[set[str], set[str]]:
    """(whole names of the keys without an argument, heads of the names of those with one), after
    the prefix: `timers` is whole, `call:` is the head of `call:<sid>`."""
    keys = Keys("ws")
    whole, heads = set(), set()
    for name, method in inspect.getmembers(keys, inspect.ismethod):
        if name.startswith("_") or name.endswith("_pattern"):
            continue
        params = [p for p in inspect.signature(method).parameters.values()]
        built = method(*["\x00"] * len(params))[len(keys.prefix):]
        (heads if params else whole).add(built.split("\x00")[0])
        if name == "reqheads":
            whole.add(method(None)[len(keys.prefix):])     # reqheads:* (sets that need no skill)
    return whole, heads


def lua_key_names() -> list[tuple[str, str]]:
    found = []
    scripts = sorted((REPO / "acd" / "lua").glob("*.lua")) + sorted((REPO / "store" / "lua").glob("*.lua"))
    for path in scripts + [REPO / "bench" / "routing.py"]:       # the bench's own undo script too
        for line in path.read_text().splitlines():
            if not line.lstrip().startswith("--"):
                found += [(path.name, name) for name in LUA_KEY.findall(line)]
    return found


def test_every_key_name_the_routing_scripts_spell_is_built_by_a_keys_method():
    whole, heads = names_keys_builds()
    found = lua_key_names()
    assert len(found) > 80          # the scripts name keys in many places: the pattern still finds them
    strays = sorted({(f, name) for f, name in found if name not in whole and name not in heads})
    assert strays == [], f"Lua key names with no Keys method: {strays}"


def test_no_key_name_is_glued_together_outside_store_keys():
    strays = []
    for package in SERVICE_PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")) if (REPO / package).is_dir() else []:
            if path.relative_to(REPO).as_posix() == "store/keys.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if HAND_BUILT.search(line):
                    strays.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert strays == []


def test_every_key_of_a_workspace_carries_its_hash_tag():
    keys = Keys("acme")
    for name, method in inspect.getmembers(keys, inspect.ismethod):
        if name.startswith("_"):
            continue
        key = method(*["x"] * len(inspect.signature(method).parameters))
        assert "{acme}" in key, name
