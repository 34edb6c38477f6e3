"""Where the benchmarks write their figures: one marked section each in docs/benchmarks.md."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def markers(name: str) -> tuple[str, str]:
    """The comments that open and close a benchmark's section (``name``: transport, ...)."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def write_section(name: str, section: str) -> None:
    """Replace the ``name`` section of docs/benchmarks.md (or append it); the rest stays."""
    begin, finish = markers(name)
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    if begin in text and finish in text:
        pattern = re.escape(begin) + ".*?" + re.escape(finish) + "\n?"
        text = re.sub(pattern, lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text)
