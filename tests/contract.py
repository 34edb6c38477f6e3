"""Where Telnyx's OpenAPI description is, and what a test does when it is absent.

The description is kept outside the repository (``../shared/telnyx-openapi/reports.yml``
from the repo root). In a user's fresh clone the contract tests skip with a reason; with
``TELNYX_ANALYTICS_REQUIRE_CONTRACT=1`` (which ``.ci/run`` sets) a missing description is a
failure, so a CI run can never go green with the contract checks switched off.

>>> SPEC_PATH.name
'reports.yml'
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SPEC_PATH = Path(__file__).resolve().parents[1].parent / "shared" / "telnyx-openapi" / "reports.yml"
REQUIRE_ENV = "TELNYX_ANALYTICS_REQUIRE_CONTRACT"


def required() -> bool:
    """Whether a missing description fails the run instead of skipping."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def require_spec() -> Path:
    """The description's path; skips the test (or fails it, when required) if it is absent."""
    if not SPEC_PATH.is_file():
        reason = f"Telnyx's OpenAPI description is not at {SPEC_PATH} (kept outside the repo)"
        if required():
            pytest.fail(f"{reason}, and {REQUIRE_ENV} is set", pytrace=False)
        pytest.skip(reason)
    return SPEC_PATH
