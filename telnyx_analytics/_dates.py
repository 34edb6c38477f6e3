"""One vocabulary for time windows: ``start`` and ``end``.

Every fetcher takes ``start`` and ``end``; this module turns them into UTC timestamps,
checks the window, formats it the way each endpoint wants it and splits a window longer
than an endpoint accepts.

What ``start`` and ``end`` accept (docs/concepts/money-and-time.md, "Time"):

- an ISO 8601 date or time as a string: ``"2024-05-01"``, ``"2024-05-01T12:00:00Z"``,
  ``"2024-05-01 12:00:00+02:00"``; any other text (``"11/01/2026"``, ``"Nov 1"``) is a
  ``ValueError``, because a date written another way is ambiguous;
- a ``datetime.date``, ``datetime.datetime`` or ``pandas.Timestamp``;
- a named period, resolved in UTC (:data:`PERIODS`): ``today``, ``yesterday``,
  ``last_7_days``, ``last_30_days``, ``last_90_days``, ``this_month``, ``last_month``,
  ``month_to_date``, ``year_to_date``;
- an offset back from now: ``"-90d"``, ``"-12h"``, ``"-2w"`` (hours, days, weeks), and
  ``"now"``.

Rules:

- a naive value is taken as UTC; an aware one is converted to UTC;
- a *day* (a ``datetime.date`` or a date-only string) and a named period cover the whole
  of it: as ``start`` they mean its first microsecond, as ``end`` its last, because the
  API's windows are inclusive at both ends;
- a named period given as ``start`` alone is the whole period; an offset given alone
  runs to now;
- "now" comes from :func:`now`, which a test or a notebook can fix with
  :func:`frozen_now`; a window with a relative part is logged (INFO) as resolved.

>>> start, end = window("2024-05-01", "2024-05-02")
>>> print(start)
2024-05-01 00:00:00+00:00
>>> print(end)
2024-05-02 23:59:59.999999+00:00
>>> with frozen_now("2026-03-15T10:30:00Z"):
...     print(*window("last_month"), sep="\\n")
2026-02-01 00:00:00+00:00
2026-02-28 23:59:59.999999+00:00
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, NamedTuple, TypeAlias

import numpy as np
import pandas as pd

log = logging.getLogger("telnyx_analytics.dates")

Moment: TypeAlias = str | dt.date | dt.datetime | pd.Timestamp
"""What ``start`` and ``end`` accept."""

#: The named periods, in UTC. Each is a span of whole days (see :func:`period`).
PERIODS: tuple[str, ...] = (
    "today", "yesterday", "last_7_days", "last_30_days", "last_90_days",
    "this_month", "last_month", "month_to_date", "year_to_date",
)  # fmt: skip
#: Units of an offset such as ``"-90d"``.
OFFSET_UNITS = {"h": "hours", "d": "days", "w": "weeks"}

ACCEPTED = (
    "an ISO 8601 date or time such as '2024-05-01' or '2024-05-01T12:00:00Z', "
    f"a named period ({', '.join(PERIODS)}), an offset such as '-90d' (units: h, d, w), "
    "'now', or a datetime.date, datetime.datetime or pandas.Timestamp"
)

# ISO 8601 extended form only: a date, optionally a time (a space instead of the "T" is
# accepted, as RFC 3339 allows and as str() of a Timestamp writes it), optionally a UTC
# offset. Anything else, such as "11/01/2026", is refused rather than guessed at.
_ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$",
    re.IGNORECASE,
)
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OFFSET_RE = re.compile(rf"^-(\d{{1,6}})([{''.join(OFFSET_UNITS)}])$")
# The API's resolution: its timestamps carry microseconds, so "the end of a day" is the
# last microsecond of it.
_TICK = pd.Timedelta(microseconds=1)
_DAY = pd.Timedelta(days=1)

_frozen: contextvars.ContextVar[pd.Timestamp | None] = contextvars.ContextVar(
    "telnyx_analytics_now", default=None
)


# -- the clock --------------------------------------------------------------------------------


def now() -> pd.Timestamp:
    """The current time in UTC (microseconds), or the time :func:`frozen_now` fixed.

    >>> now().tz
    datetime.timezone.utc
    """
    frozen = _frozen.get()
    return frozen if frozen is not None else pd.Timestamp.now(tz="UTC").floor("us")


@contextmanager
def frozen_now(at: Moment) -> Iterator[pd.Timestamp]:
    """Within the ``with`` block, "now" (named periods, offsets, ``"now"``) is ``at``.

    For tests: no wall-clock flakiness at midnight or at the turn of a month. It applies
    to the current thread (or task) only.

    >>> with frozen_now("2026-01-01T00:00:00Z") as t:
    ...     print(window("yesterday")[0])
    2025-12-31 00:00:00+00:00
    """
    fixed = _instant(at, "at")
    token = _frozen.set(fixed)
    try:
        yield fixed
    finally:
        _frozen.reset(token)


# -- one bound ------------------------------------------------------------------------------


class _Span(NamedTuple):
    """What one ``start`` or ``end`` value covers: its first and last instant."""

    first: pd.Timestamp
    last: pd.Timestamp
    kind: Literal["instant", "day", "period", "offset"]


def period(name: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last instant of a named period, read at :func:`now`, in UTC (both
    included).

    ``today`` and ``yesterday`` are those UTC days; ``last_N_days`` runs from 00:00 UTC
    N days before today through the end of today (Telnyx's own ``last_N_days``: the N
    whole days before today and today so far); ``this_month`` and ``last_month`` are
    whole calendar months; ``month_to_date`` and ``year_to_date`` run from the first day
    of the month or year through the end of today.

    Parameters
    ----------
    name : str
        One of :data:`PERIODS`.

    Examples
    --------
    >>> with frozen_now("2026-03-15T10:30:00Z"):
    ...     print([str(t.date()) for t in period("last_7_days")])
    ...     print([str(t.date()) for t in period("year_to_date")])
    ['2026-03-08', '2026-03-15']
    ['2026-01-01', '2026-03-15']
    """
    if name not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}; got {name!r}.")
    today = now().normalize()
    month = today.replace(day=1)
    end_of_today = today + _DAY - _TICK
    if name == "today":
        return today, end_of_today
    if name == "yesterday":
        return today - _DAY, today - _TICK
    if name.startswith("last_") and name.endswith("_days"):
        return today - int(name.split("_")[1]) * _DAY, end_of_today
    if name == "this_month":
        return month, month + pd.offsets.MonthBegin(1) - _TICK
    if name == "last_month":
        return month - pd.offsets.MonthBegin(1), month - _TICK
    if name == "month_to_date":
        return month, end_of_today
    assert name == "year_to_date", name
    return today.replace(month=1, day=1), end_of_today


def _instant(value: object, name: str) -> pd.Timestamp:
    """``value`` (a Timestamp-like object or an ISO string) as a UTC Timestamp."""
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{name} must be {ACCEPTED}; got {value!r}.") from None
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError(f"{name} must be {ACCEPTED}; got a missing value (NaT).")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    # The API speaks microseconds; nanoseconds would not survive a round trip.
    return ts.floor("us")


def _span(value: Moment, name: str) -> _Span:
    """What ``value`` covers, checked; the error names the argument ``name``."""
    if isinstance(value, bool) or not isinstance(
        value, (str, dt.date, dt.datetime, pd.Timestamp, np.datetime64)
    ):
        raise TypeError(
            f"{name} must be a str, datetime.date, datetime.datetime or pandas.Timestamp "
            f"({ACCEPTED}); got {type(value).__name__} {value!r}."
        )
    if isinstance(value, str):
        text = value.strip()
        word = text.lower()
        if word in PERIODS:
            return _Span(*period(word), "period")
        if word == "now":
            t = now()
            return _Span(t, t, "offset")
        offset = _OFFSET_RE.match(word)
        if offset:
            try:
                t = now() - pd.Timedelta(**{OFFSET_UNITS[offset[2]]: int(offset[1])})
            except (ValueError, OverflowError):
                raise ValueError(f"{name}: the offset {text!r} reaches too far back.") from None
            return _Span(t, t, "offset")
        if not _ISO_RE.match(text):
            raise ValueError(f"{name} must be {ACCEPTED}; got {value!r}.")
        ts = _instant(text.upper().replace(",", "."), name)
        if _DAY_RE.match(text):
            return _Span(ts, ts + _DAY - _TICK, "day")
        return _Span(ts, ts, "instant")
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        first = _instant(value, name)
        return _Span(first, first + _DAY - _TICK, "day")
    ts = _instant(value, name)
    return _Span(ts, ts, "instant")


def to_utc(value: Moment, name: str, *, end: bool = False) -> pd.Timestamp:
    """``value`` as a UTC ``Timestamp`` (microsecond precision).

    Parameters
    ----------
    value
        An ISO 8601 string, a named period, an offset, ``"now"``, a ``datetime.date``,
        ``datetime.datetime`` or ``pandas.Timestamp`` (module docstring).
    name
        The argument's name, used in error messages.
    end
        When true, a day or a period means its *end* (last microsecond).

    Raises
    ------
    TypeError
        For any other type (numbers are refused: an epoch in s, ms or ns is ambiguous).
    ValueError
        For a string that is none of the accepted forms, or a missing value.

    Examples
    --------
    >>> to_utc("2024-05-01T12:00:00+02:00", "start")
    Timestamp('2024-05-01 10:00:00+0000', tz='UTC')
    >>> to_utc(dt.date(2024, 5, 1), "end", end=True)
    Timestamp('2024-05-01 23:59:59.999999+0000', tz='UTC')
    >>> to_utc("11/01/2026", "start")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: start must be an ISO 8601 date or time such as '2024-05-01' or ...
    """
    span = _span(value, name)
    return span.last if end else span.first


def window(
    start: Moment | None, end: Moment | None = None, *, required: bool = True
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The UTC window that ``start`` and ``end`` stand for, as every fetcher reads them.

    ``end`` must not be before ``start``. Nothing is fetched: use it to see what a named
    period means now, or to check a window before a long fetch.

    Parameters
    ----------
    start, end : str, date, datetime or Timestamp, optional
        An ISO 8601 date (the whole UTC day) or time, a named period (``"today"``,
        ``"yesterday"``, ``"last_7_days"``, ``"last_30_days"``, ``"last_90_days"``,
        ``"this_month"``, ``"last_month"``, ``"month_to_date"``, ``"year_to_date"``; whole
        UTC days), an offset back from now (``"-90d"``, ``"-12h"``, ``"-2w"``), ``"now"``,
        or a ``datetime.date``, ``datetime.datetime`` or ``pandas.Timestamp`` (naive: UTC).
        A day or a period as ``end`` includes all of it. A named period as ``start``
        alone is the whole period; an offset alone runs to now.
    required : bool
        When true (the default), the window must be closed: both ends, or a period or
        an offset alone.

    Returns
    -------
    tuple of Timestamp
        ``(first instant, last instant)``, both included, in UTC (``None`` for an open
        end when ``required`` is false).

    Raises
    ------
    ValueError
        Text that is none of the forms above (``"11/01/2026"``), or ``end`` before
        ``start``; the message names the argument and lists the accepted forms.
    TypeError
        Another type (a number), or a missing end when ``required``.

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> print(*tx.window("2024-05-01", "2024-05-31"), sep="\\n")
    2024-05-01 00:00:00+00:00
    2024-05-31 23:59:59.999999+00:00
    >>> window("2024-05-01T00:00:00Z", "2024-05-01T06:00:00Z")[1]
    Timestamp('2024-05-01 06:00:00+0000', tz='UTC')
    >>> with frozen_now("2024-05-10T08:00:00Z"):
    ...     print(*window("-2d"))
    2024-05-08 08:00:00+00:00 2024-05-10 08:00:00+00:00
    """
    lo_span = None if start is None else _span(start, "start")
    hi_span = None if end is None else _span(end, "end")
    lo = None if lo_span is None else lo_span.first
    hi = None if hi_span is None else hi_span.last
    if lo_span is not None and hi_span is None:
        if lo_span.kind == "period":
            hi = lo_span.last
        elif lo_span.kind == "offset":
            hi = now()
    if required:
        if lo is None:
            raise TypeError(f"start is required: give {ACCEPTED}.")
        if hi is None:
            raise TypeError(
                "end is required unless start is a named period or an offset: "
                f"give {ACCEPTED}."
            )
    if lo is not None and hi is not None and hi < lo:
        raise ValueError(
            f"end ({iso(hi)}) is before start ({iso(lo)}): end must be on or after start."
        )
    relative = [s for s in (lo_span, hi_span) if s is not None and s.kind in ("period", "offset")]
    if relative:
        log.info(
            "window start=%r end=%r resolved to %s .. %s (UTC)",
            start, end, "open" if lo is None else iso(lo), "open" if hi is None else iso(hi),
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
