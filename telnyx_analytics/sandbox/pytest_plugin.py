"""pytest fixtures for testing against the sandbox.

Enable it in a ``conftest.py``::

    pytest_plugins = ["telnyx_analytics.sandbox.pytest_plugin"]

Fixtures
--------
sandbox
    One sandbox for the whole session (``serve(seed=1, days=30, report_delay=0.2,
    rate_limit=None)``). It is shared: a test that wants faults or latency should start
    its own with ``sandbox_factory`` rather than change this one.
sandbox_factory
    ``sandbox_factory(**serve_kwargs) -> Sandbox``: a fresh sandbox, stopped when the
    test ends.

Both serve without a rate limit unless told otherwise (``rate_limit=None``, where
``serve()`` itself limits each account to 20 requests a second): tests that share an
account would otherwise wait on each other. A test of pacing passes ``rate_limit=N``.
sandbox_key
    An API key string that the sandboxes accept.

Example
-------
>>> def test_needs_a_key(sandbox):  # doctest: +SKIP
...     import requests
...     assert requests.get(sandbox.base_url + "/reports/mdrs", timeout=10).status_code == 401
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from .server import Sandbox, serve

SANDBOX_KEY = "KEY_test_account_1"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox shared by the whole test session (seed 1, 30 days, reports ready in 0.2 s,
    no rate limit)."""
    with serve(seed=1, days=30, report_delay=0.2, rate_limit=None) as sb:
        yield sb


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    """Start sandboxes with any ``serve()`` arguments; all are stopped after the test.

    >>> def test_rate_limited(sandbox_factory):  # doctest: +SKIP
    ...     sb = sandbox_factory(seed=2, faults="429=1")
    """
    with ExitStack() as stack:

        def start(**kwargs: Any) -> Sandbox:
            kwargs.setdefault("rate_limit", None)
            return stack.enter_context(serve(**kwargs))

        yield start


@pytest.fixture(scope="session")
def sandbox_key() -> str:
    """A fixed API key for tests; any key is accepted unless ``keys=`` restricts them."""
    return SANDBOX_KEY
