"""The sandbox's per-account rate limit, as Telnyx documents its own.

Telnyx's "API rate limiting" page promises three headers on its answers,
``x-ratelimit-limit`` (the limit that applies), ``x-ratelimit-remaining`` (requests left in
the current window) and ``x-ratelimit-reset`` (seconds until the window resets), and a
429 with error code ``10011`` ("Too many requests") once the window's requests are spent.
It sends no ``Retry-After`` and publishes no figures: the limits are "typically static"
and per account.

The sandbox counts requests per account (per API key) in fixed one-second windows, aligned
on whole seconds of its clock. A request over the limit is answered 429 without reaching
the application and is not counted. ``x-ratelimit-reset`` is written in seconds with
millisecond precision (``0.734``), rounded up, so that a client waiting that long lands in
the next window. See docs/sandbox.md, "Rate limit".

>>> limiter = RateLimiter(2, clock=lambda: 10.25)
>>> [q.allowed for q in (limiter.take("acct"), limiter.take("acct"), limiter.take("acct"))]
[True, True, False]
>>> limiter.take("acct").headers()
{'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '0.75'}
>>> limiter.take("another").remaining
1
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._web import ApiError, Response

#: Requests per second per account when none is given. Telnyx publishes no figure; 20 a
#: second is a limit that a client fetching four pages at a time really meets, as a real
#: account's would.
DEFAULT_RATE_LIMIT = 20
WINDOW_SECONDS = 1.0


@dataclass(frozen=True)
class Quota:
    """An account's window after one request: what the headers say.

    ``reset`` is in seconds; ``allowed`` is False when the request was over the limit.
    """

    limit: int
    remaining: int
    reset: float
    allowed: bool

    def headers(self, *, exhausted: bool = False) -> dict[str, str]:
        """The three ``x-ratelimit-*`` headers (``exhausted``: remaining said to be 0).

        >>> Quota(20, 7, 0.1234, True).headers()["x-ratelimit-reset"]
        '0.124'
        """
        millis = math.ceil(self.reset * 1000)  # rounded up: never earlier than the reset
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": "0" if exhausted else str(self.remaining),
            "x-ratelimit-reset": f"{millis / 1000:.3f}".rstrip("0").rstrip("."),
        }


class RateLimiter:
    """Counts each account's requests in fixed windows of one second.

    Parameters
    ----------
    per_second : int
        Requests each account may make per window (``x-ratelimit-limit``).
    clock : callable
        Seconds, monotonic; windows are aligned on its whole seconds.

    Examples
    --------
    >>> RateLimiter(20).take("acct").remaining
    19
    """

    def __init__(self, per_second: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = check_rate_limit(per_second)
        if self.limit is None:
            raise ValueError("rate_limit must be an int >= 1 for a RateLimiter")
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}  # account -> (window, requests)

    def take(self, account: str) -> Quota:
        """Count one request of ``account`` if its window allows it; return the quota."""
        now = self._clock()
        window = math.floor(now / WINDOW_SECONDS)
        reset = (window + 1) * WINDOW_SECONDS - now
        with self._lock:
            current, used = self._windows.get(account, (window, 0))
            if current != window:
                used = 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[account] = (window, used)
        return Quota(self.limit, self.limit - used, reset, allowed)


def check_rate_limit(value: int | None) -> int | None:
    """``value`` checked as a rate limit: an int >= 1, or ``None``/0 for no limit.

    >>> check_rate_limit(20), check_rate_limit(0), check_rate_limit(None)
    (20, None, None)
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"rate_limit must be an int >= 1 (requests per second), or 0 or None for no "
            f"limit; got {value!r}"
        )
    return value or None


def too_many_requests() -> Response:
    """The 429 Telnyx answers when an account's window is spent (no ``Retry-After``).

    >>> r = too_many_requests()
    >>> r.status, "Retry-After" in r.headers
    (429, False)
    """
    return ApiError(
        429,
        "10011",
        "Too many requests",
        "You have exceeded the maximum number of allowed requests.",
    ).response()
