"""A sandbox in its own process, as a real API would be elsewhere: for the benchmarks.

>>> with SandboxProcess(seed=1, days=1) as sb:    # doctest: +SKIP
...     sb.base_url, sb.statuses()
('http://127.0.0.1:41234/v2', [])
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _serve(conn: Any, kwargs: dict[str, Any]) -> None:
    sys.path.insert(0, str(ROOT))
    from telnyx_analytics.sandbox import serve

    with serve(**kwargs) as sb:
        conn.send(sb.base_url)
        while (command := conn.recv()) != "stop":
            if command == "statuses":
                conn.send([r.status for r in sb.requests])
            elif command == "clear":
                sb.clear_log()
                conn.send(None)


class SandboxProcess:
    """``serve(**kwargs)`` in a spawned process; ``base_url`` once entered.

    ``statuses()`` lists the status of every API request it answered so far, and
    ``clear_log()`` forgets them.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.base_url = ""

    def __enter__(self) -> SandboxProcess:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, self.kwargs), daemon=True)
        self.proc.start()
        deadline = time.monotonic() + 120
        while not self.conn.poll(0.1):
            if not self.proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox process did not start")
        self.base_url = self.conn.recv()
        return self

    def statuses(self) -> list[int]:
        self.conn.send("statuses")
        return self.conn.recv()

    def clear_log(self) -> None:
        self.conn.send("clear")
        self.conn.recv()

    def __exit__(self, *exc: object) -> None:
        self.conn.send("stop")
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.terminate()
