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
OFFLINE = ("analysis", "plot", "_money", "_periods", "sessions", "_frames", "_columns")
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
def tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(encoding="utf-8"))


def import_target(name: str, node: ast.ImportFrom) -> str | None:
    """The package module a ``from ... import`` of module ``name`` reads from (``""``:
    the package itself), or ``None`` for one outside the package."""
    package = name.rsplit(".", 1)[0] if "." in name else ""
    if MODULES[name].name == "__init__.py":
        package = name
    if node.level:
        base = package.split(".") if package else []
        base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
        return ".".join([*base, *(node.module.split(".") if node.module else [])])
    if node.module and node.module.startswith("telnyx_analytics"):
        return node.module.removeprefix("telnyx_analytics").lstrip(".")
    return None


def _private(attr: str) -> bool:
    return attr.startswith("_") and not attr.startswith("__")


@cache
def imports(name: str) -> frozenset[str]:
    """The package modules ``name`` imports directly (at any depth of its code)."""
    found: set[str] = set()
    for node in ast.walk(tree(name)):
        if isinstance(node, ast.ImportFrom):
            target = import_target(name, node)
            if target is None:
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


def private_names_used(name: str) -> list[str]:
    """The ``_underscore`` names of other package modules that ``name`` uses: imported
    (``from .analysis import _x``) or read off an imported module (``analysis._x``).
    Private modules themselves (``from . import _catalog``) may be imported: their public
    names are their interface."""
    used, modules = [], {}
    for node in ast.walk(tree(name)):
        if isinstance(node, ast.ImportFrom):
            target = import_target(name, node)
            if target is None:
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}" if target else alias.name
                if full in MODULES:
                    modules[alias.asname or alias.name] = full
                elif _private(alias.name):
                    used.append(f"{target or 'telnyx_analytics'}.{alias.name} "
                                f"(line {node.lineno})")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("telnyx_analytics"):
                    modules[alias.asname or alias.name] = (
                        alias.name.removeprefix("telnyx_analytics").lstrip("."))
    for node in ast.walk(tree(name)):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in modules and _private(node.attr)
                and modules[node.value.id] != name):
            used.append(f"{modules[node.value.id] or 'telnyx_analytics'}.{node.attr} "
                        f"(line {node.lineno})")
    return used


def test_the_private_name_check_sees_both_spellings(tmp_path) -> None:
    MODULES["_probe"] = tmp_path / "_probe.py"
    try:
        MODULES["_probe"].write_text("from . import analysis\nfrom .plot import _x\n"
                                     "analysis._y(1)\n")
        tree.cache_clear()
        assert private_names_used("_probe") == ["plot._x (line 2)", "analysis._y (line 3)"]
    finally:
        del MODULES["_probe"]
        tree.cache_clear()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_uses_another_modules_private_names(name: str) -> None:
    # A helper a second module needs gets a public name in a home both import (such as
    # _columns for analysis and plot, _files for the transport and the command line).
    used = private_names_used(name)
    assert not used, f"{name} uses private names of other modules: {used}"
