"""Shared test setup: the sandbox fixtures (``sandbox``, ``sandbox_factory``, ``sandbox_key``)."""

pytest_plugins = ["telnyx_analytics.sandbox.pytest_plugin"]

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hostile import Handler, HostileServer  # noqa: E402


@pytest.fixture
def hostile() -> Iterator[Callable[[Handler], HostileServer]]:
    """``hostile(handler) -> HostileServer``: a misbehaving server (``tests/hostile.py``),
    stopped when the test ends."""
    servers: list[HostileServer] = []

    def start(handler: Handler) -> HostileServer:
        server = HostileServer(handler).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def cli_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox_key: str) -> Path:
    """For tests of the command line: a cache file of the test's own (its path is
    returned), the sandboxes' key in ``TELNYX_API_KEY``, and no ``TELNYX_BASE_URL`` from
    outside, which a command run without ``--base-url`` would otherwise use."""
    cache = tmp_path / "cache" / "http.sqlite"
    monkeypatch.setenv("TELNYX_ANALYTICS_CACHE", str(cache))
    monkeypatch.setenv("TELNYX_API_KEY", sandbox_key)
    monkeypatch.delenv("TELNYX_BASE_URL", raising=False)
    return cache
