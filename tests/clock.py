"""Clocks that move only when a test says so, instead of sleeping through a wall-clock window.

``ManualClock`` stands in for ``time.time``. ``report_clock(sandbox)`` installs one as the
clock of a sandbox's report requests (``ReportService.clock``): a report then stays
*pending* until the test moves the clock past the sandbox's ``report_delay``, and expires
only when it moves past ``report_ttl`` too, however slow the machine.

>>> clock = ManualClock(100.0)
>>> clock.advance(2.5)
>>> clock()
102.5
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class ManualClock:
    """Seconds since the epoch, as ``time.time`` gives them, but standing still."""

    def __init__(self, now: float = 1_782_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def report_clock(sandbox: Any) -> Iterator[ManualClock]:
    """The sandbox's report requests follow a ``ManualClock`` inside the block."""
    service = sandbox.app.reports
    clock, before = ManualClock(), service.clock
    service.clock = clock
    try:
        yield clock
    finally:
        service.clock = before
