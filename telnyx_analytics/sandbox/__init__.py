"""A local, stateful stand-in for the Telnyx reporting API.

Start it from Python with :func:`serve` (a ``with`` block) or :func:`start` (running
until ``sb.stop()``), both on background threads, or from the shell with
``telnyx-analytics sandbox``; point a client at ``sb.base_url``. See docs/sandbox.md.

>>> from telnyx_analytics.sandbox import serve
>>> with serve(seed=1) as sb:
...     sb.base_url.startswith("http://127.0.0.1:")
True

This package never imports the client, and the client never imports it.
"""

from .server import Sandbox, serve, start

__all__ = ["Sandbox", "serve", "start"]
