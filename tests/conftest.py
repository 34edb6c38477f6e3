"""Shared test setup: the sandbox fixtures (``sandbox``, ``sandbox_factory``, ``sandbox_key``)."""

pytest_plugins = ["telnyx_analytics.sandbox.pytest_plugin"]
