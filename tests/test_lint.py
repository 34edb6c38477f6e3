"""The code stays as ruff's settings in pyproject.toml say (ruff comes with the test extra)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Docs, demo, notebook and subprocess tests: `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
