"""One vocabulary for time windows: ``start`` and ``end``.

Every fetcher takes ``start`` and ``end`` as ``str``, ``datetime.date``,
``datetime.datetime`` or ``pandas.Timestamp``; this module turns them into UTC
timestamps, checks the window, formats it the way each endpoint wants it and splits a
window longer than an endpoint accepts.

Rules (docs/frames.md, "Time windows"):

- a naive value is taken as UTC; an aware one is converted to UTC;
- a *day* (a ``datetime.date`` or a date-only string such as ``"2024-05-01"``) covers the
  whole day: as ``start`` it means 00:00:00, as ``end`` the last microsecond of that day,
  because the API's windows are inclusive at both ends;
- ``"now"`` and ``"today"`` are read in UTC.

>>> from telnyx_analytics._dates import window
>>> start, end = window("2024-05-01", "2024-05-02")
>>> print(start)
2024-05-01 00:00:00+00:00
>>> print(end)
2024-05-02 23:59:59.999999+00:00
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TypeAlias

import numpy as np
import pandas as pd

Moment: TypeAlias = str | dt.date | dt.datetime | pd.Timestamp
"""What ``start`` and ``end`` accept."""

ACCEPTED = "a str, datetime.date, datetime.datetime or pandas.Timestamp"
_DAY_RE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")
# The API's resolution: its timestamps carry microseconds, so "the end of a day" is the
# last microsecond of it.
_TICK = pd.Timedelta(microseconds=1)
_DAY = pd.Timedelta(days=1)


def to_utc(value: Moment, name: str, *, end: bool = False) -> pd.Timestamp:
    """``value`` as a UTC ``Timestamp`` (microsecond precision).

    Parameters
    ----------
    value
        A ``str`` (ISO 8601, or ``"now"``/``"today"``), ``datetime.date``,
        ``datetime.datetime``, ``pandas.Timestamp`` (or ``numpy.datetime64``).
    name
        The argument's name, used in error messages.
    end
        When true, a day means the *end* of that day (last microsecond).

    Raises
    ------
    TypeError
        For any other type (numbers are refused: an epoch in s, ms or ns is ambiguous).
    ValueError
        For a string that is not a date or time, or a missing value.

    Examples
    --------
    >>> to_utc("2024-05-01T12:00:00+02:00", "start")
    Timestamp('2024-05-01 10:00:00+0000', tz='UTC')
    >>> to_utc(dt.date(2024, 5, 1), "end", end=True)
    Timestamp('2024-05-01 23:59:59.999999+0000', tz='UTC')
    """
    is_day = False
    if isinstance(value, bool) or not isinstance(
        value, (str, dt.date, dt.datetime, pd.Timestamp, np.datetime64)
    ):
        raise TypeError(f"{name} must be {ACCEPTED}, got {type(value).__name__} {value!r}.")
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "now":
            return pd.Timestamp.now(tz="UTC").floor("us")
        if text.lower() == "today":
            value, is_day = pd.Timestamp.now(tz="UTC").normalize(), True
        else:
            is_day = bool(_DAY_RE.match(text))
            try:
                value = pd.Timestamp(text)
            except (ValueError, TypeError):
                raise ValueError(
                    f"{name} must be an ISO 8601 date or time such as '2024-05-01' or "
                    f"'2024-05-01T12:00:00Z', got {text!r}."
                ) from None
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        is_day = True
    ts = pd.Timestamp(value)
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError(f"{name} must be {ACCEPTED}, got a missing value (NaT).")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if is_day:
        ts = ts.normalize()
        if end:
            ts = ts + _DAY - _TICK
    # The API speaks microseconds; nanoseconds would not survive a round trip.
    return ts.floor("us")


def window(
    start: Moment | None, end: Moment | None, *, required: bool = True
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``(start, end)`` as UTC timestamps, checked: ``end`` must not be before ``start``.

    Parameters
    ----------
    start, end
        See :func:`to_utc`. A day as ``end`` includes that whole day.
    required
        When true, both must be given.

    Examples
    --------
    >>> window("2024-05-01T00:00:00Z", "2024-05-01T06:00:00Z")[1]
    Timestamp('2024-05-01 06:00:00+0000', tz='UTC')
    """
    if required:
        for name, value in (("start", start), ("end", end)):
            if value is None:
                raise TypeError(f"{name} is required: give {ACCEPTED}.")
    lo = None if start is None else to_utc(start, "start")
    hi = None if end is None else to_utc(end, "end", end=True)
    if lo is not None and hi is not None and hi < lo:
        raise ValueError(
            f"end ({iso(hi)}) is before start ({iso(lo)}): end must be on or after start."
        )
    return lo, hi


def iso(ts: pd.Timestamp) -> str:
    """ISO 8601 in UTC with ``Z``; microseconds only when there are some.

    >>> iso(pd.Timestamp("2024-05-01 10:00", tz="UTC"))
    '2024-05-01T10:00:00Z'
    >>> iso(pd.Timestamp("2024-05-01 23:59:59.999999", tz="UTC"))
    '2024-05-01T23:59:59.999999Z'
    """
    ts = ts.tz_convert("UTC")
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if ts.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return ts.strftime(fmt)


def iso_day(ts: pd.Timestamp) -> str:
    """The UTC day of ``ts`` as ``YYYY-MM-DD`` (for endpoints that take dates only).

    >>> iso_day(pd.Timestamp("2024-05-01 23:59:59.999999", tz="UTC"))
    '2024-05-01'
    """
    return ts.tz_convert("UTC").strftime("%Y-%m-%d")


def split(
    start: pd.Timestamp, end: pd.Timestamp, max_span: pd.Timedelta
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Cut the inclusive window ``[start, end]`` into inclusive pieces of at most ``max_span``.

    Pieces do not overlap (each ends one microsecond before the next begins) and cover
    the window exactly, so records fetched per piece never repeat.

    Examples
    --------
    >>> s, e = window("2024-01-01", "2024-03-01")
    >>> for a, b in split(s, e, pd.Timedelta(days=31)):
    ...     print(iso(a), iso(b))
    2024-01-01T00:00:00Z 2024-01-31T23:59:59.999999Z
    2024-02-01T00:00:00Z 2024-03-01T23:59:59.999999Z
    """
    if max_span <= pd.Timedelta(0):
        raise ValueError(f"max_span must be positive, got {max_span}.")
    pieces = []
    lo = start
    while lo <= end:
        # An inclusive piece of length max_span ends one tick before lo + max_span.
        hi = min(lo + max_span - _TICK, end)
        pieces.append((lo, hi))
        lo = hi + _TICK
    return pieces
