"""The public modules type-check strictly (mypy, settings in pyproject.toml's [tool.mypy]).

mypy, pandas-stubs and types-requests come with the test extra. The check covers the
Literal choices of the enum-like arguments too: passing ``aggregation="conection"`` to
``cdr_usage`` is a type error, as the second test shows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Docs, demo, notebook and subprocess tests: `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", *args],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )


def test_the_public_modules_type_check_strictly() -> None:
    result = _mypy()
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_choice_outside_the_literal_is_a_type_error(tmp_path: Path) -> None:
    user = tmp_path / "user_code.py"
    user.write_text(
        "import telnyx_analytics as tx\n"
        "tx.cdr_usage('2024-05-01', '2024-05-02', aggregation='conection')\n"
        "tx.reports.read('cdr_details')\n"
    )
    result = _mypy("--strict", "--follow-imports=silent", str(user))
    assert result.returncode == 1, result.stdout + result.stderr
    assert '"aggregation" to "cdr_usage" has incompatible type "Literal[\'conection\']"' in (
        result.stdout), result.stdout
    assert 'Argument 1 to "read" has incompatible type "Literal[\'cdr_details\']"' in (
        result.stdout), result.stdout
