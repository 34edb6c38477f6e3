"""Periods of time for totals and plots: flooring timestamps, and every period in a range.

Shared by :mod:`telnyx_analytics.analysis` and :mod:`telnyx_analytics.plot`, so that a
plot's periods are always the periods its totals were computed for. Everything is UTC.

>>> times = pd.Series(pd.to_datetime(["2024-05-15 10:00", "2024-06-02 00:00"], utc=True))
>>> floor(times, "MS").dt.strftime("%Y-%m-%d").tolist()
['2024-05-01', '2024-06-01']
"""

from __future__ import annotations

import pandas as pd

__all__ = ["floor", "period_alias", "period_range", "to_utc"]

_PERIOD_ALIASES = {"MS": "M", "ME": "M", "QS": "Q", "QE": "Q", "YS": "Y", "YE": "Y",
                   "AS": "Y", "A": "Y"}


def to_utc(values: pd.Series) -> pd.Series:
    """Timestamps as ``datetime64[ns, UTC]``; naive values are taken as UTC (as documented).

    >>> to_utc(pd.Series(pd.to_datetime(["2024-05-01 10:00"]))).dt.tz
    datetime.timezone.utc
    """
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(dtype):
        return values.dt.tz_localize("UTC")
    return pd.to_datetime(values, utc=True, format="ISO8601")


def period_alias(freq: str) -> str | None:
    """The Period alias of a calendar frequency ("W", "M", ...), or None for a fixed one.

    >>> period_alias("MS"), period_alias("h")
    ('M', None)
    """
    try:
        pd.tseries.frequencies.to_offset(freq).nanos  # noqa: B018 - raises for calendar offsets
        return None
    except ValueError:
        pass
    return _PERIOD_ALIASES.get(freq, freq)


def floor(times: pd.Series, freq: str) -> pd.Series:
    """Each timestamp's period start, in UTC ("D", "h": floor; "W", "M", "Q", "Y": calendar)."""
    alias = period_alias(freq)
    if alias is None or freq == "D":
        return times.dt.floor(freq)
    try:
        start = times.dt.tz_convert(None).dt.to_period(alias).dt.start_time
    except ValueError:
        raise ValueError(f"freq={freq!r}: not a frequency pandas understands "
                         f"(try 'D', 'W', 'MS')") from None
    return start.dt.tz_localize("UTC").astype(times.dtype)


def period_range(first: pd.Timestamp, last: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    """Every period start from ``first`` to ``last`` (both period starts), in UTC.

    >>> len(period_range(pd.Timestamp("2024-01-01", tz="UTC"),
    ...                  pd.Timestamp("2024-03-01", tz="UTC"), "MS"))
    3
    """
    alias = period_alias(freq)
    if alias is None or freq == "D":
        return pd.date_range(first, last, freq=freq)
    periods = pd.period_range(first.tz_convert(None), last.tz_convert(None), freq=alias)
    return periods.start_time.tz_localize("UTC")
