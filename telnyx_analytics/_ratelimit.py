"""Client pacing from the rate-limit headers Telnyx sends with its answers.

Telnyx documents ("API rate limiting", developers.telnyx.com) three headers on its
answers: ``x-ratelimit-limit`` (the limit that applies), ``x-ratelimit-remaining``
(requests left in the current window) and ``x-ratelimit-reset`` (seconds until the window
resets), and a 429 with error code ``10011`` once a window is spent. It sends no
``Retry-After``.

One :class:`Pacer` per account and client (the transport's) holds what the answers said,
and every request of every worker thread goes through it:

- it spends the window's budget: once the requests sent would use up ``remaining``, the
  next ones wait until the window resets;
- once less than half of the window's budget is left, it spreads what remains evenly over
  what remains of the window, so that parallel workers slow down before ``remaining``
  reaches 0 rather than run into a 429;
- after a 429, its ``x-ratelimit-reset`` is the wait (:func:`requested_wait`), and the
  pacer holds every worker until then, not just the one that was refused.

A server that sends none of these headers is not paced: the retry policy's backoff (and
``Retry-After``, where a server or proxy sends one) handles its 429s.

>>> pacer = Pacer()
>>> pacer.observe({"x-ratelimit-limit": "20", "x-ratelimit-remaining": "0",
...                "x-ratelimit-reset": "0.25"})
>>> 0.2 < pacer.pause() <= 0.25     # the window is spent: wait for its reset
True
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["MIN_RESET_WAIT", "Pacer", "RateLimitHeaders", "parse_headers", "requested_wait"]

#: The least a 429 is waited for when its ``x-ratelimit-reset`` says 0 (rounded down, or
#: a clock a little ahead of the server's): an immediate retry would only be refused again.
MIN_RESET_WAIT = 0.05
# How often a held request looks again while it waits for an answer in flight (an answer
# also wakes it at once).
_ANSWER_POLL = 0.1


@dataclass(frozen=True)
class RateLimitHeaders:
    """What one answer said about its account's window.

    ``limit`` is ``None`` when ``x-ratelimit-limit`` is absent or not a number.
    """

    limit: int | None
    remaining: int
    reset: float


def parse_headers(headers: Mapping[str, str]) -> RateLimitHeaders | None:
    """The ``x-ratelimit-*`` headers of an answer, or ``None`` without a usable
    ``remaining`` and ``reset``.

    ``reset`` may be whole or decimal seconds; a negative one counts as 0. A limit such
    as ``"20, 20;w=1"`` is read as its first number.

    >>> parse_headers({"x-ratelimit-limit": "20", "x-ratelimit-remaining": "7",
    ...                "x-ratelimit-reset": "0.5"})
    RateLimitHeaders(limit=20, remaining=7, reset=0.5)
    >>> parse_headers({"x-ratelimit-remaining": "soon"}) is None
    True
    """
    remaining = _integer(_header(headers, "x-ratelimit-remaining"))
    reset = _seconds(_header(headers, "x-ratelimit-reset"))
    if remaining is None or reset is None:
        return None
    limit = _integer(_header(headers, "x-ratelimit-limit"))
    return RateLimitHeaders(limit if limit and limit > 0 else None, max(remaining, 0), reset)


def requested_wait(
    status: int, headers: Mapping[str, str], retry_after: float | None
) -> float | None:
    """Seconds a server asked the client to wait before trying again.

    Its ``Retry-After`` (``retry_after``, already parsed) when it sent one; otherwise, on a
    429, the ``x-ratelimit-reset`` of the spent window (at least :data:`MIN_RESET_WAIT`);
    otherwise ``None``.

    >>> requested_wait(429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2"}, None)
    2.0
    >>> requested_wait(429, {}, 30.0), requested_wait(503, {}, None)
    (30.0, None)
    """
    if retry_after is not None:
        return retry_after
    if status != 429:
        return None
    window = parse_headers(headers)
    return None if window is None else max(window.reset, MIN_RESET_WAIT)


class Pacer:
    """Spends one account's request budget as the server reports it, across threads.

    Parameters
    ----------
    max_wait : float
        The longest a request is held before it is sent. A window that resets later
        than this (a daily quota, say) is not waited for: the request goes, and the
        server's 429 says how long, which the retry policy may refuse to sleep.
    clock : callable
        Monotonic seconds.

    Examples
    --------
    >>> pacer = Pacer()
    >>> with pacer.slot():           # nothing known yet: sent at once
    ...     pacer.observe({"x-ratelimit-limit": "20", "x-ratelimit-remaining": "19",
    ...                    "x-ratelimit-reset": "0.8"})
    >>> pacer.informed, pacer.pause()
    (True, 0.0)
    """

    def __init__(self, *, max_wait: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.max_wait = max_wait
        self._clock = clock
        self._cond = threading.Condition()
        self._limit: int | None = None  # the window's whole budget, once a server said it
        self._remaining: int | None = None  # what is left of it, as far as we know
        self._reset_at: float | None = None  # when the current window ends
        self._next_at = 0.0  # earliest next send while spreading
        self._in_flight = 0
        #: Whether any answer carried the rate-limit headers (this server paces us).
        self.informed = False

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait until a request may be sent, and count it as in flight until it is over."""
        with self._cond:
            while (wait := self._wait(self._clock())) > 0:
                self._cond.wait(wait)
            self._spend(self._clock())
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def observe(self, headers: Mapping[str, str], *, from_cache: bool = False) -> None:
        """Take in an answer's headers (call it inside :meth:`slot`).

        An answer served from the HTTP cache cost the server nothing: its request is given
        back to the budget, and its (old) headers are ignored.
        """
        with self._cond:
            if from_cache:
                if self._remaining is not None:
                    self._remaining += 1
                return
            window = parse_headers(headers)
            if window is None:
                return
            self.informed = True
            now = self._clock()
            if window.limit is not None:
                self._limit = window.limit
            # Requests still in flight may not have been counted by the server yet:
            # assume they were not, so that the estimate errs on the side of fewer.
            others = self._in_flight - 1
            remaining = window.remaining - max(others, 0)
            ends = now + window.reset
            if self._reset_at is None:
                self._reset_at = ends
                self._remaining = remaining
            else:
                # Answers arrive out of order: the lowest budget and the earliest end
                # seen in this window are the freshest. (An answer from the next window
                # shows a later end and a larger budget; both are left until this one
                # ends.) But a server saying the budget is spent is believed about when
                # it comes back, however late: it will refuse us until then.
                spent = window.remaining == 0
                self._reset_at = (max if spent else min)(self._reset_at, ends)
                self._remaining = remaining if self._remaining is None else min(
                    self._remaining, remaining
                )
            self._cond.notify_all()

    def pause(self) -> float:
        """Seconds until the next request could be sent (0: now)."""
        with self._cond:
            return max(0.0, self._wait(self._clock()))

    # -- under the lock ---------------------------------------------------------------------

    def _roll(self, now: float) -> None:
        # The window is over: the server refills the whole budget, less what is in flight.
        if self._reset_at is not None and now >= self._reset_at:
            self._reset_at = None
            self._next_at = 0.0
            self._remaining = None if self._limit is None else self._limit - self._in_flight

    def _wait(self, now: float) -> float:
        self._roll(now)
        if self._remaining is None or self._remaining > 0:
            wait = self._next_at - now
        elif self._reset_at is not None:
            wait = self._reset_at - now
        elif self._in_flight:
            # Spent, and the new window's end not yet known: the next answer will say.
            wait = _ANSWER_POLL
        else:
            wait = 0.0  # nothing in flight to tell us: ask, and let the server say
        return wait if wait <= self.max_wait else 0.0

    def _spend(self, now: float) -> None:
        if self._remaining is None:
            return
        self._remaining -= 1
        limit, ends = self._limit, self._reset_at
        if limit is not None and ends is not None and 0 < self._remaining < limit / 2:
            # Spread the rest of the budget over the rest of the window.
            self._next_at = now + (ends - now) / (self._remaining + 1)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict is case-sensitive; requests' headers are not
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def _integer(value: str | None) -> int | None:
    if value is None:
        return None
    head = value.strip().split(",")[0].split(";")[0].strip()
    return int(head) if head.isdigit() else None


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN, infinities
        return None
    return max(0.0, seconds)
