"""The walls of docs/contributing (and shared/ARCHITECTURE.md), checked on the source.

Imports are read from the syntax tree, function-level imports included, and followed
transitively inside the package, so a wall cannot be crossed through a third module.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "telnyx_analytics"

# What never touches the network: a frame (or a tree) in, a frame or an Axes out.
OFFLINE = ("analysis", "plot", "_money", "_periods", "sessions", "_frames")
NETWORK = {"_http", "_client", "_engine", "_pagination", "_ratelimit", "records", "reports",
           "lake"}
# The transport knows no endpoint: neither the catalog nor any fetcher.
TRANSPORT = ("_http", "_ratelimit")
ENDPOINTS = {"_catalog", "_engine", "records", "reports", "lake"}
# The only modules that may start the sandbox (a user-facing command, and its demo).
SANDBOX_USERS = {"cli", "demo"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


MODULES = {_module(p): p for p in PACKAGE.rglob("*.py")}


@cache
def imports(name: str) -> frozenset[str]:
    """The package modules ``name`` imports directly (at any depth of its code)."""
    path = MODULES[name]
    package = name.rsplit(".", 1)[0] if "." in name else ""
    if path.name == "__init__.py":
        package = name
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.startswith("telnyx_analytics"):
                target = node.module.removeprefix("telnyx_analytics").lstrip(".")
            else:
                continue
            candidates = [target] + [f"{target}.{a.name}" if target else a.name
                                     for a in node.names]
            found.update(c for c in candidates if c in MODULES and c != name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name.removeprefix("telnyx_analytics").lstrip(".")
                if alias.name.startswith("telnyx_analytics") and target in MODULES:
                    found.add(target)
    found.discard("")  # the package's __init__: importing a submodule runs it anyway
    return frozenset(found)


def reach(name: str) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        for dep in imports(todo.pop()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_the_module_map_is_read() -> None:
    assert {"analysis", "plot", "_http", "_catalog", "sandbox.server"} <= set(MODULES)
    assert "_money" in imports("analysis")


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("sandbox")))
def test_the_sandbox_imports_nothing_of_the_client(name: str) -> None:
    outside = {m for m in reach(name) if not m.startswith("sandbox")}
    assert not outside, f"{name} reaches client modules {sorted(outside)}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not n.startswith("sandbox")))
def test_the_client_never_imports_the_sandbox(name: str) -> None:
    if name in SANDBOX_USERS or name == "":
        return
    inside = {m for m in reach(name) - {"cli", "demo"} if m.startswith("sandbox")}
    assert not inside, f"{name} reaches the sandbox: {sorted(inside)}"


@pytest.mark.parametrize("name", OFFLINE)
def test_analysis_and_plots_never_touch_the_network(name: str) -> None:
    crossed = reach(name) & NETWORK
    assert not crossed, f"{name} reaches network modules {sorted(crossed)}"


@pytest.mark.parametrize("name", TRANSPORT)
def test_the_transport_knows_no_endpoint(name: str) -> None:
    crossed = reach(name) & ENDPOINTS
    assert not crossed, f"{name} reaches {sorted(crossed)}"
