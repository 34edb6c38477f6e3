"""The example notebooks run top to bottom against the sandbox, as a reader would run them.

Every notebook in ``notebooks/`` is executed (a copy: the committed file is not touched)
with nbclient in a fresh ``python3`` kernel, in a temporary working directory, with
``TELNYX_API_KEY`` and ``TELNYX_BASE_URL`` removed, so that it starts its own sandbox. The
kernel's HTTP(S) proxy is a closed port on 127.0.0.1 (with 127.0.0.1 exempt), so a request
that tried to leave the machine, to api.telnyx.com say, fails its cell instead of going out.

The cells whose printed values are checked carry a ``check-...`` tag in their metadata
(invisible when the notebook is read). The committed files are checked too: run top to
bottom with their outputs, and free of machine-specific text.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

# Docs, demo, notebook and subprocess tests: `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CLOSED_PORT = "http://127.0.0.1:9"  # the discard port: nothing listens there
# What must never appear in a saved output: sandbox addresses and ports, local paths, keys.
NOISE = re.compile(r"127\.0\.0\.1|localhost:\d|/tmp/|/home/|/work/|/root/|/Users/|KEY_\w")


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _code_cells(nb: Any) -> list[Any]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _text(output: Any) -> str:
    """The text a reader sees of one output (stream text, or the plain-text rendering)."""
    if output.output_type == "stream":
        return output.text
    data = output.get("data", {})
    return data.get("text/plain", "") if output.output_type != "error" else output.evalue


def _all_text(cell: Any, *, stderr: bool = True) -> str:
    return "".join(_text(o) for o in cell.get("outputs", [])
                   if stderr or o.get("name") != "stderr")


def _tagged(nb: Any, tag: str) -> str:
    """The printed output of the one cell tagged ``tag``."""
    cells = [c for c in _code_cells(nb) if tag in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    text = _all_text(cells[0])
    assert text.strip(), f"the cell tagged {tag!r} printed nothing"
    return text


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _errors(nb: Any) -> list[str]:
    return [f"cell {i}: {o.ename}: {o.evalue}"
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for o in cell.get("outputs", []) if o.output_type == "error"]  # fmt: skip


def _plot_cells(nb: Any) -> list[Any]:
    return [c for c in _code_cells(nb) if "tx.plot." in c.source]


def _has_image(cell: Any) -> bool:
    return any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


# -- the checks on printed values, one per notebook -----------------------------------------------


def _check_quickstart(nb: Any) -> None:
    text = _tagged(nb, "check-rows")
    m = re.search(r"([\d,]+) messages from (\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)", text)
    assert m, text
    assert _number(m[1]) > 0
    first, last = dt.date.fromisoformat(m[2]), dt.date.fromisoformat(m[3])
    assert (last - first).days == 6, f"not a week of 7 whole days: {text}"


def _check_cost(nb: Any) -> None:
    text = _tagged(nb, "check-reconcile")
    m = re.search(r"(\d+) of (\d+) day x direction x currency rows match", text)
    assert m, text
    matched, rows = int(m[1]), int(m[2])
    assert rows > 0
    assert matched == rows, f"the detail records do not add up to the usage report: {text}"


def _check_usage(nb: Any) -> None:
    text = _tagged(nb, "check-total")
    m = re.search(r"parts in the breakdown: ([\d,]+); parts in the usage report: ([\d,]+)", text)
    assert m, text
    assert _number(m[2]) > 0
    assert _number(m[1]) == _number(m[2]), f"top values plus Other lose parts: {text}"


def _check_session(nb: Any) -> None:
    text = _tagged(nb, "check-session")
    total = re.search(r"session total: ([\d.]+) ([A-Z]{3})", text)
    own = re.search(r"sum of its (\d+) events' own costs: ([\d.]+) ([A-Z]{3})", text)
    call = re.search(r"of which the call itself: ([\d.]+) ([A-Z]{3})", text)
    assert total and own and call, text
    assert int(own[1]) >= 1
    assert Decimal(total[1]) > 0
    assert Decimal(total[1]) == Decimal(own[2]), f"the total is not the sum of the events: {text}"
    assert total[2] == own[3] == call[2]
    assert Decimal(call[1]) <= Decimal(total[1])


def _check_export(nb: Any) -> None:
    text = _tagged(nb, "check-parquet")
    m = re.search(r"rows: ([\d,]+); dtypes intact: (\w+); identical after the round trip: (\w+)",
                  text)
    assert m, text
    assert _number(m[1]) > 0
    assert (m[2], m[3]) == ("True", "True"), text


def _check_lake(nb: Any) -> None:
    text = _tagged(nb, "check-engines")
    m = re.search(r"rows: ([\d,]+); currencies: (\d+); pandas = Dask: (\w+); "
                  r"pandas = DuckDB: (\w+)", text)
    assert m, text
    assert _number(m[1]) > 0 and int(m[2]) >= 1
    assert (m[3], m[4]) == ("True", "True"), f"the engines disagree: {text}"


CHECKS = {
    "01_quickstart": _check_quickstart,
    "02_cost_analysis": _check_cost,
    "03_usage_breakdown": _check_usage,
    "04_session_analysis": _check_session,
    "05_large_exports": _check_export,
    "06_a_year_of_data": _check_lake,
}


# -- running them -----------------------------------------------------------------------------


def _kernel_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TELNYX_API_KEY", "TELNYX_BASE_URL")}  # fmt: skip
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY",
                 "all_proxy"):
        env[name] = CLOSED_PORT
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    # Inline figures even if the suite runs under a headless backend (MPLBACKEND=Agg).
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env["TELNYX_ANALYTICS_CACHE"] = str(tmp_path / "cache.sqlite")  # never the user's cache
    return env


def test_every_notebook_is_checked() -> None:
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"
    assert sorted(CHECKS) == _ids(NOTEBOOKS), "add a check of a printed value for each notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_against_the_sandbox(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in _code_cells(nb):  # run from scratch, not on the committed outputs
        cell.outputs = []
        cell.execution_count = None
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            record_timing=False, resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=_kernel_env(tmp_path), cwd=str(tmp_path))

    assert not _errors(nb), "\n".join(_errors(nb))
    for cell in _code_cells(nb):
        assert cell.execution_count is not None, f"cell not run: {cell.source[:60]!r}"
    for cell in _plot_cells(nb):
        assert _has_image(cell), f"no figure drawn by {cell.source[:60]!r}"
    CHECKS[path.stem](nb)
    # What the notebook shows (stderr carries the environment's own warnings, with paths).
    noisy = [m.group(0) for c in _code_cells(nb)
             if (m := NOISE.search(_all_text(c, stderr=False)))]  # fmt: skip
    assert not noisy, f"outputs show machine-specific text: {noisy}"


# -- the committed files ----------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_has_its_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cells = _code_cells(nb)
    counts = [c.execution_count for c in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"not saved from one top-to-bottom run: execution counts {counts}")
    assert not _errors(nb), "\n".join(_errors(nb))
    for cell in _plot_cells(nb):
        assert _has_image(cell), f"saved without its figure: {cell.source[:60]!r}"
    CHECKS[path.stem](nb)  # the saved outputs tell the same story as a fresh run
    noisy = [m.group(0) for c in cells if (m := NOISE.search(_all_text(c)))]
    assert not noisy, f"saved outputs show machine-specific text: {noisy}"
    stderr = [o.text[:120] for c in cells for o in c.get("outputs", [])
              if o.output_type == "stream" and o.name == "stderr"]  # fmt: skip
    assert not stderr, f"saved outputs carry warnings: {stderr}"


def test_readme_lists_every_notebook() -> None:
    readme = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert path.name in readme, f"{path.name} is missing from notebooks/README.md"
