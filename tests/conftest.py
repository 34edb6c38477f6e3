"""Shared test setup: the sandbox fixtures (``sandbox``, ``sandbox_factory``, ``sandbox_key``)."""

pytest_plugins = ["telnyx_analytics.sandbox.pytest_plugin"]

from collections.abc import Callable, Iterator  # noqa: E402

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
