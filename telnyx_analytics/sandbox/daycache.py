"""A bounded, thread-safe cache of day tables, each built once however many threads ask.

The :class:`~.ledger.Ledger` generates its records one ``(table, day)`` at a time; a
generator makes several tables of a day at once (the calls of a day also give their
session bookkeeping). :class:`DayCache` keeps those tables under a byte budget, drops the
least recently used first, and lets only one thread run a given generator for a given day
while the others wait for its result.

>>> import pandas as pd
>>> cache = DayCache(max_bytes=2**20)
>>> build = lambda day: {"t": pd.DataFrame({"x": [1, 2]})}
>>> len(cache.get("t", "2025-01-01", "gen", build)), cache.generated
(2, 1)
>>> _ = cache.get("t", "2025-01-01", "gen", build); cache.generated  # from the cache
1
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd

log = logging.getLogger("telnyx_analytics.sandbox.daycache")

#: A generator: the day (``None``: only the empty schema) -> its tables by name.
Build = Callable[[Any], dict[str, pd.DataFrame]]


class DayCache:
    """Day tables by ``(name, day)``, least recently used dropped past ``max_bytes``.

    Parameters
    ----------
    max_bytes : int
        Bytes of tables kept (the tables of the build in progress are always kept).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self.generated = 0  # day builds run so far (an observable for tests and logs)
        self._lock = threading.Lock()
        self._frames: OrderedDict[tuple[str, Any], pd.DataFrame] = OrderedDict()
        self._sizes: dict[tuple[str, Any], int] = {}
        self._bytes = 0
        self._building: dict[tuple[Hashable, Any], threading.Lock] = {}
        self._empties: dict[str, pd.DataFrame] = {}

    def get(self, name: str, day: Any, builder: Hashable, build: Build) -> pd.DataFrame:
        """The table ``name`` of ``day``, from the cache or by running ``build(day)``.

        ``builder`` names the generator: two tables made by one generator share its build.
        ``day=None`` asks for the empty schema, kept apart and never evicted.
        """
        if day is None:
            with self._lock:
                if name in self._empties:
                    return self._empties[name]
            built = build(None)
            with self._lock:
                self._empties.update(built)
            return built[name]
        key = (name, day)
        with self._lock:
            if key in self._frames:
                self._frames.move_to_end(key)
                return self._frames[key]
            build_key = (builder, day)
            build_lock = self._building.setdefault(build_key, threading.Lock())
        # One build per (builder, day) at a time; others wait and then read the cache.
        with build_lock:
            with self._lock:
                if key in self._frames:
                    self._frames.move_to_end(key)
                    return self._frames[key]
            built = build(day)
            with self._lock:
                self.generated += 1
                seen: set[int] = set()
                for table, frame in built.items():
                    # A table stored under two names (calls is _calls_all on whole days)
                    # is counted once.
                    self._store((table, day), frame, counted=id(frame) in seen)
                    seen.add(id(frame))
                self._evict(keep={(table, day) for table in built})
                self._building.pop(build_key, None)
        log.debug("generated %s of %s (%d rows)", builder, day, len(built[name]))
        return built[name]

    def _store(self, key: tuple[str, Any], frame: pd.DataFrame, counted: bool) -> None:
        if key in self._frames:
            del self._frames[key]
            self._bytes -= self._sizes.pop(key)
        nbytes = 0 if counted else int(frame.memory_usage(index=False, deep=False).sum())
        self._frames[key] = frame
        self._sizes[key] = nbytes
        self._bytes += nbytes

    def _evict(self, keep: set[tuple[str, Any]]) -> None:
        while self._bytes > self.max_bytes:
            oldest = next((k for k in self._frames if k not in keep), None)
            if oldest is None:
                break
            del self._frames[oldest]
            self._bytes -= self._sizes.pop(oldest)

    def info(self) -> dict[str, int]:
        """Occupancy: ``{"tables": ..., "bytes": ..., "generated": ...}``.

        Examples
        --------
        >>> DayCache(10).info()
        {'tables': 0, 'bytes': 0, 'generated': 0}
        """
        with self._lock:
            return {"tables": len(self._frames), "bytes": self._bytes,
                    "generated": self.generated}  # fmt: skip
