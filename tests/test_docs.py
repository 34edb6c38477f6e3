"""The documentation site: it builds warning-free, and its examples are true of the code.

- ``mkdocs build --strict`` succeeds (skipped only when MkDocs and its plugins are not
  installed: ``pip install -e '.[docs]'``).
- Every ``tx.<name>`` (and ``tx.<module>.<name>``) in the pages that use
  ``import telnyx_analytics as tx`` exists in the package.
- Every ``python`` block of a page runs, in order, in one namespace, against a sandbox
  (``sb``, with ``tx`` configured for it and ``TELNYX_API_KEY``/``TELNYX_BASE_URL`` set),
  except a block preceded by a ``<!-- docs-test: skip (reason) -->`` line.
- Every ``telnyx-analytics`` command line shown in a ``bash`` block names a real
  subcommand and real options.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import telnyx_analytics as tx
from telnyx_analytics import cli

# Docs, demo, notebook and subprocess tests: `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_griffe" not in p.parts)

# Pages whose python blocks are not run, and why.
NOT_RUN = {
    # Its examples read files of the reader's own (mdrs.csv, session.json) and frames
    # built in earlier prose; test_analysis.py and test_plot.py cover what it shows.
    "analysis.md": "examples on the reader's own files",
}

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.S | re.M,
)
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b")
TX_NAME = re.compile(r"(?<![\w.])tx((?:\.[A-Za-z_]\w*)+)")
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


def _rel(page: Path) -> str:
    return page.relative_to(DOCS).as_posix()


def _blocks(page: Path) -> list[tuple[str, str, int, bool]]:
    """``(language, code, line, skipped)`` of every fenced block of a page."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        body = textwrap.dedent(m.group("body"))
        out.append((m.group("lang").lower(), body, line, bool(SKIP.search(before))))
    return out


# -- the build ---------------------------------------------------------------------------


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    missing = [
        m
        for m in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
        if importlib.util.find_spec(m.split(".")[0]) is None
    ]
    if missing:
        pytest.skip(f"MkDocs is not installed ({', '.join(missing)}): pip install -e '.[docs]'")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-6000:]}"
    # The API reference was generated from the docstrings, not left empty.
    reference = (site / "reference" / "records" / "index.html").read_text(encoding="utf-8")
    assert "Message detail records" in reference and "page_size" in reference
    # The shared docstring pieces are filled in, as help() shows them.
    assert "Default: the module-wide client." in reference
    assert "{client}" not in reference and "{window}" not in reference
    sandbox = (site / "reference" / "sandbox" / "index.html").read_text(encoding="utf-8")
    assert "Choices where the description is silent" in sandbox
    # Sphinx roles of the docstrings are rendered as code, not shown as markup.
    assert ":func:" not in reference and ":class:" not in sandbox
    for page in PAGES:
        stem = _rel(page).removesuffix(".md")
        folder = site / (stem.removesuffix("index") if page.name == "index.md" else stem)
        assert (folder / "index.html").exists(), f"{_rel(page)} was not built"


def test_reference_extension_rewrites_rest() -> None:
    if importlib.util.find_spec("griffe") is None:
        pytest.skip("griffe (installed with mkdocstrings) is not installed")
    spec = importlib.util.spec_from_file_location(
        "sphinx_roles", DOCS / "_griffe" / "sphinx_roles.py"
    )
    assert spec is not None and spec.loader is not None
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    assert ext.strip_roles(":func:`~a.b.read` and :class:`Client`") == "`read` and `Client`"
    text = "Intro.\n\n>>> x = 1\n>>> x\n1\n\nExamples\n--------\n>>> y = 2\n"
    fenced = ext.fence_doctests(text)
    assert fenced.startswith("Intro.\n\n```pycon\n>>> x = 1\n>>> x\n1\n```\n")
    assert fenced.endswith("--------\n>>> y = 2\n")  # numpydoc examples stay as they are
    table = "===== ======\n``a`` first\n``b`` second\n===== ======"
    assert ext.tables_to_lists(table) == "- ``a``: first\n- ``b``: second"


# -- tx.<name> ---------------------------------------------------------------------------


def _uses_tx(page: Path) -> bool:
    return any("import telnyx_analytics as tx" in code for _, code, _, _ in _blocks(page))


def _resolve(dotted: str) -> bool:
    obj: object = tx
    for part in dotted.strip(".").split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
        if not (isinstance(obj, type) or type(obj).__name__ == "module"):
            return True  # a function or value: what follows is its result's business
    return True


@pytest.mark.parametrize("page", [p for p in PAGES if _uses_tx(p)], ids=_rel)
def test_tx_names_exist(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    snippets = [code for lang, code, _, _ in _blocks(page) if lang in ("python", "py", "")]
    snippets += INLINE_CODE.findall(FENCE.sub("", text))
    names = {m.group(1) for s in snippets for m in TX_NAME.finditer(s)}
    assert names, f"{_rel(page)} imports telnyx_analytics as tx but uses no tx.<name>"
    missing = sorted(f"tx{n}" for n in names if not _resolve(n))
    assert not missing, f"{_rel(page)} uses names that do not exist: {', '.join(missing)}"


def test_tx_check_catches_a_wrong_name() -> None:
    assert _resolve(".reports.read") and _resolve(".SessionTree.from_response")
    assert not _resolve(".reports.fetch") and not _resolve(".mdr")


# -- the examples run ----------------------------------------------------------------------

RUNNER = """\
import logging, os, sys, traceback
from contextlib import ExitStack

import matplotlib.pyplot as plt

import telnyx_analytics as tx
from telnyx_analytics.sandbox import serve

failed = []
with ExitStack() as stack:
    # The sandbox the pages' examples assume: May 2024, a fifth of the default traffic.
    sandbox = stack.enter_context(
        serve(seed=1, days=31, until="2024-05-31", scale=0.2, report_delay=0.1)
    )
    os.environ["TELNYX_BASE_URL"] = sandbox.base_url
    for page, blocks in PAGES:
        # Each page starts afresh: its own namespace, a new default client, quiet logs.
        tx.configure(progress=False)
        logging.getLogger("telnyx_analytics").setLevel(logging.NOTSET)
        namespace = {"__name__": "__main__", "sb": sandbox}
        for where, code in blocks:
            try:
                exec(compile(code, where, "exec"), namespace)
            except Exception:
                traceback.print_exc()
                failed.append(where)
                break
        plt.close("all")
print("FAILED:", ", ".join(failed) if failed else "none", file=sys.stderr)
sys.exit(1 if failed else 0)
"""


def _runnable(page: Path) -> list[tuple[str, str]]:
    return [
        (f"{_rel(page)}:{line}", code)
        for lang, code, line, skipped in _blocks(page)
        if lang == "python" and not skipped
    ]


RUN_PAGES = [p for p in PAGES if _rel(p) not in NOT_RUN and _runnable(p)]


def test_examples_run(tmp_path: Path) -> None:
    assert len(RUN_PAGES) >= 10, [_rel(p) for p in RUN_PAGES]
    # One interpreter for every page (imports are paid once), one namespace per page.
    pages = [(_rel(p), _runnable(p)) for p in RUN_PAGES]
    script = tmp_path / "run_examples.py"
    script.write_text(f"PAGES = {pages!r}\n{RUNNER}", encoding="utf-8")
    env = {
        **os.environ,
        "TELNYX_API_KEY": "KEY_docs",
        "TELNYX_ANALYTICS_CACHE": str(tmp_path / "cache" / "http_cache.sqlite"),
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, f"examples failed:\n{result.stderr[-6000:]}"


# -- the command lines ---------------------------------------------------------------------


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def _command_lines() -> list[tuple[str, int, list[str]]]:
    out = []
    for page in PAGES:
        for lang, code, line, _ in _blocks(page):
            if lang not in ("bash", "sh", "console", "shell"):
                continue
            for i, text in enumerate(code.splitlines()):
                words = text.split("#", 1)[0].split()
                if words and words[0] == "$":
                    words = words[1:]
                for j, word in enumerate(words):
                    if word.endswith("telnyx-analytics") and not word.startswith("-"):
                        out.append((_rel(page), line + 1 + i, words[j + 1 :]))
                        break
    return out


def test_command_lines_exist() -> None:
    commands = _subcommands()
    lines = _command_lines()
    assert lines, "the docs show no telnyx-analytics command"
    wrong = []
    for where, line, words in lines:
        args = [w for w in words if w not in ("&&", "|")]
        if not args or args[0].startswith("-"):
            continue
        name = args[0]
        if name not in commands:
            wrong.append(f"{where}:{line}: no subcommand {name!r}")
            continue
        sub = commands[name]
        options = {s for a in sub._actions for s in a.option_strings}
        positional_choices = {
            c for a in sub._actions if not a.option_strings and a.choices for c in a.choices
        }
        for word in args[1:]:
            flag = word.split("=", 1)[0]
            if flag.startswith("--") and flag not in options:
                wrong.append(f"{where}:{line}: {name} has no option {flag}")
        nested = [w for w in args[1:2] if not w.startswith("-")]
        if positional_choices and nested and nested[0] not in positional_choices:
            wrong.append(f"{where}:{line}: {name} has no {nested[0]!r}")
    assert not wrong, "\n".join(wrong)


def test_the_readme_commands_are_the_ones_ci_and_the_docs_use() -> None:
    """.ci/run must run exactly the README's test command; the docs' home page shows both."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv")]
    demo, tests = commands  # the two commands for a fresh machine, in that order
    assert demo.endswith("telnyx-analytics demo") and tests.endswith("-m pytest")
    assert tests in (root / ".ci" / "run").read_text().splitlines()
    home = (root / "docs" / "index.md").read_text().splitlines()
    assert demo in home and tests in home


# -- #12.8: docstring pieces written once ------------------------------------------------------


def test_shared_docstring_pieces_are_filled_everywhere() -> None:
    from telnyx_analytics import _docstrings, records, reports

    placeholder = re.compile(r"^\s*\{\w+\}\s*$", re.MULTILINE)
    filled = 0
    for module in (records, reports):
        for name in dir(module):
            obj = getattr(module, name)
            doc = getattr(obj, "__doc__", None) or ""
            if callable(obj) and getattr(obj, "__module__", None) == module.__name__:
                assert not placeholder.search(doc), f"{module.__name__}.{name}"
                filled += "Default: the module-wide client." in doc
    assert filled >= 14  # the piece the issue counted 14 copies of, now written once
    client_lines = _docstrings.PIECES["client"].splitlines()
    mdrs_doc = records.mdrs.__doc__ or ""
    assert all(line in mdrs_doc for line in client_lines)
    assert "page_size : int, optional" in mdrs_doc and "limit : int, optional" in mdrs_doc
