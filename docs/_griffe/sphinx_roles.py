"""A griffe extension for the API reference: reST habits of the docstrings, in Markdown.

The package's numpydoc docstrings read well as plain text and in ``help()``, but three
reST habits come out wrong when mkdocstrings renders them as Markdown:

- Sphinx roles (``:func:`cost_by```, ``:class:`~telnyx_analytics.Client```) would show
  the role markup: they become code spans (``cost_by``, ``Client``);
- doctest lines outside an ``Examples`` section (``>>> ...`` in a module docstring)
  would become nested block quotes: they become ``pycon`` code blocks;
- a reST simple table (rows between ``====  ====`` borders) would become one paragraph:
  it becomes a bullet list, one item per row.

Before those, the docstring pieces written once in ``telnyx_analytics/_docstrings.py``
are filled in, so the reference reads as ``help()`` does.

Loaded by ``mkdocs.yml`` (``extensions`` of the python handler); excluded from the site.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

from telnyx_analytics._docstrings import fill

# :role:`target`, :role:`~a.b.c` (show only "c") and :role:`title <target>`.
_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|data|attr|mod|exc|obj|const):`([^`]+)`")
_BORDER = re.compile(r"^\s*=+(?:\s+=+)+\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _code_span(match: re.Match[str]) -> str:
    text = match.group(1).strip()
    titled = re.fullmatch(r"(.+?)\s*<[^>]+>", text)
    if titled:
        text = titled.group(1)
    elif text.startswith("~"):
        text = text[1:].rsplit(".", 1)[-1]
    return f"`{text}`"


def strip_roles(text: str) -> str:
    """``text`` with every Sphinx cross-reference role turned into a code span.

    >>> strip_roles("See :func:`cost_by` and :class:`~telnyx_analytics.Client`.")
    'See `cost_by` and `Client`.'
    """
    return _ROLE.sub(_code_span, text)


def _is_header(lines: list[str], i: int) -> bool:
    """Whether ``lines[i]`` is a numpydoc section title (underlined with dashes)."""
    below = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return bool(lines[i].strip()) and len(below) >= 3 and set(below) == {"-"}


def fence_doctests(text: str) -> str:
    """Wrap each run of doctest lines (``>>>`` to the next blank line) in a code fence.

    Runs inside an ``Examples`` section are left alone: mkdocstrings renders those.
    """
    out: list[str] = []
    lines = text.split("\n")
    fenced = examples = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            fenced = not fenced
        if _is_header(lines, i):
            examples = line.strip() in ("Examples", "Example")
        if fenced or examples or not line.lstrip().startswith(">>>"):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


def tables_to_lists(text: str) -> str:
    """Turn reST simple tables into bullet lists: ``- first cell: the rest of the row``.

    >>> print(tables_to_lists("===== ===\\n``a`` one\\n``b`` two\\n===== ==="))
    - ``a``: one
    - ``b``: two
    """
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _BORDER.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        border = lines[i]
        split_at = border.index("=", border.index(" ", len(border) - len(border.lstrip())))
        rows: list[str] = []
        i += 1
        while i < len(lines) and not _BORDER.match(lines[i]):
            rows.append(lines[i])
            i += 1
        i += 1  # the closing border
        indent = border[: len(border) - len(border.lstrip())]
        out += [
            f"{indent}- {r[:split_at].strip()}: {r[split_at:].strip()}" for r in rows if r.strip()
        ]
    return "\n".join(out)


class SphinxRoles(griffe.Extension):
    """Rewrite each docstring once the object tree is complete."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            # griffe reads docstrings from the source: fill the shared pieces ({client},
            # {window} ...) as the package's @shared_docs does when the function is defined.
            text = strip_roles(fill(obj.docstring.value))
            obj.docstring.value = fence_doctests(tables_to_lists(text))
