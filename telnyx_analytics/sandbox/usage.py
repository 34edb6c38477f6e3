"""Usage aggregations over the ledger, shared by the synchronous views and the report jobs.

Every function is pure: a :class:`~telnyx_analytics.sandbox.ledger.Ledger` and a window in,
a DataFrame out. Money stays in integer micro-units (``*_micro``, int64) and ``currency``
is always a group key, so no total ever mixes currencies and every report that is built
from these functions reconciles, digit for digit, with the detail records.

Windows are inclusive at both ends (docs/sandbox.md, "Time"). ``by`` names ledger columns
(``profile_id``, ``tags``, ``direction``, ``connection_id``, ...) or ``date``, the UTC day
of the record as ``YYYY-MM-DD``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, overload

import numpy as np
import pandas as pd

from .generators import METERED
from .ledger import DETAIL_TIME_COLUMN
from .spec import CDR_AGGREGATION_KEYS, CDR_BREAKDOWN_KEYS, MDR_AGGREGATION_KEYS

MICRO = 1_000_000

#: The timestamp column that places each kind of record in time.
TIME_COLUMNS = {
    "messages": "created_at",
    "calls": "start_time",
    "wireless": "created_at",
    "lookups": "created_at",
}

MESSAGING_METRICS = ["sent", "delivered", "received", "parts", "cost_micro", "carrier_fee_micro"]
VOICE_METRICS = ["calls", "call_sec", "billed_sec", "cost_micro"]
WIRELESS_METRICS = ["sessions", "uplink_cmb", "downlink_cmb", "cost_micro"]
LOOKUP_METRICS = ["total_dips", "cost_micro"]

#: What a report writes in a key column its aggregation does not use (like the
#: description's own examples).
ALL = "All"


# -- money ---------------------------------------------------------------------------------


@overload
def format_money(micro: int | np.integer, decimals: int) -> str: ...
@overload
def format_money(micro: pd.Series | np.ndarray, decimals: int) -> pd.Series: ...


def format_money(micro: Any, decimals: int) -> Any:
    """Write integer micro-units as a decimal string, exactly.

    Only integer arithmetic is used. With fewer than six decimals the value is rounded
    half away from zero; a value that rounds to zero is written without a sign.

    Parameters
    ----------
    micro
        An amount in millionths (``int``), or an integer array/Series of them.
    decimals
        Digits after the decimal point (0 or more).

    Returns
    -------
    str or pandas.Series
        ``"12.3450"``-style strings (a Series keeps the input's index).

    Examples
    --------
    >>> format_money(12_345_000, 4)
    '12.3450'
    >>> format_money(-12_345_678, 4)
    '-12.3457'
    >>> list(format_money(pd.Series([1_500_000, 49]), 2))
    ['1.50', '0.00']
    """
    if decimals < 0:
        raise ValueError(f"decimals must be 0 or more, got {decimals}")
    if isinstance(micro, int | np.integer):
        return _format_int(int(micro), decimals)
    index = micro.index if isinstance(micro, pd.Series) else None
    values = np.asarray(micro, dtype=np.int64)
    negative = values < 0
    scaled = _rescale(np.abs(values), decimals)
    scale = 10**decimals
    whole = pd.Series(scaled // scale, index=index).astype(str)
    if decimals:
        frac = pd.Series(scaled % scale, index=index).astype(str).str.zfill(decimals)
        whole = whole + "." + frac
    # No "-0.0000": a value that rounds to zero has no sign.
    sign = pd.Series(np.where(negative & (scaled > 0), "-", ""), index=index)
    return (sign + whole).astype(str)


def _rescale(magnitude: Any, decimals: int) -> Any:
    """Micro-units to units of 10**-decimals (half away from zero), integers only."""
    if decimals >= 6:
        return magnitude * 10 ** (decimals - 6)
    step = 10 ** (6 - decimals)
    return (magnitude + step // 2) // step


def _format_int(micro: int, decimals: int) -> str:
    scaled = _rescale(abs(micro), decimals)
    whole, frac = divmod(scaled, 10**decimals)
    text = f"{whole}.{frac:0{decimals}d}" if decimals else str(whole)
    return ("-" if micro < 0 and scaled else "") + text


# -- helpers -------------------------------------------------------------------------------


def _window(
    ledger: Any, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Clamp a window to what the ledger covers (nothing exists outside it)."""
    return max(_utc(start), _utc(ledger.start)), min(_utc(end), _utc(ledger.now))


def _utc(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _records(ledger: Any, kind: str, start: Any, end: Any) -> pd.DataFrame | None:
    """The ledger's records of ``kind`` in the window, or ``None`` when it is empty."""
    lo, hi = _window(ledger, start, end)
    if lo > hi:
        return None
    df = getattr(ledger, kind)(lo, hi)
    return df if len(df) else None


def key_strings(values: pd.Series) -> pd.Series:
    """A key column as plain strings: lists (tags) joined with commas, missing as ``""``.

    Grouping by the joined string keeps each record in exactly one group, so totals
    over groups equal the grand total.
    """
    if values.dtype == object and len(values):
        values = values.map(
            lambda v: ",".join(map(str, v)) if isinstance(v, list | tuple | np.ndarray) else v
        )
    return values.astype("string").fillna("").astype(str)


def _keys(df: pd.DataFrame, by: Sequence[str], time_column: str) -> pd.DataFrame:
    """The group-key columns of ``by`` (``date`` derived from ``time_column``) + currency."""
    out: dict[str, pd.Series] = {}
    for name in [*by, "currency"]:
        if name in out:
            continue
        if name == "date":
            out[name] = _day_labels(df[time_column])
        elif name not in df.columns:
            raise ValueError(f"unknown group key {name!r}; columns: {', '.join(df.columns)}")
        else:
            out[name] = key_strings(df[name])
    return pd.DataFrame(out, index=df.index)


def _day_labels(values: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` of each UTC timestamp; formats each distinct day once (a window
    has a few days and up to millions of rows)."""
    codes, days = pd.factorize(_utc_series(values).dt.floor("D"))
    labels = np.asarray(pd.DatetimeIndex(days).strftime("%Y-%m-%d"), dtype=object)
    return pd.Series(labels[codes], index=values.index).astype(str)


def _utc_series(values: pd.Series) -> pd.Series:
    values = pd.to_datetime(values)
    return values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")


def _group(keys: pd.DataFrame, metrics: dict[str, Any], names: list[str]) -> pd.DataFrame:
    """Sum ``metrics`` per distinct ``keys`` row; sorted by the keys, int64 sums."""
    frame = keys.copy()
    for name in names:
        frame[name] = np.asarray(metrics[name], dtype=np.int64)
    out = frame.groupby(list(keys.columns), sort=True, dropna=False).sum().reset_index()
    return out.astype({name: "int64" for name in names})


def _empty(by: Sequence[str], names: list[str]) -> pd.DataFrame:
    keys = list(dict.fromkeys([*by, "currency"]))
    frame = {k: pd.Series([], dtype=str) for k in keys}
    frame.update({n: pd.Series([], dtype="int64") for n in names})
    return pd.DataFrame(frame)


def _int(values: pd.Series) -> np.ndarray:
    return np.asarray(pd.to_numeric(values).fillna(0), dtype=np.int64)


# -- aggregations --------------------------------------------------------------------------


def messaging_usage(
    ledger: Any,
    start: Any,
    end: Any,
    by: Sequence[str],
    profiles: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Messaging totals per group.

    ``sent`` counts outbound messages, ``delivered`` the outbound ones with status
    ``DELIVERED``, ``received`` inbound ones. ``profiles`` keeps messages whose profile id
    or profile name is listed.

    Examples
    --------
    >>> from telnyx_analytics.sandbox.ledger import Ledger
    >>> lg = Ledger(1, "KEY", days=3)
    >>> df = messaging_usage(lg, lg.start, lg.now, ["direction"])
    >>> list(df.columns)[:2]
    ['direction', 'currency']
    """
    df = _records(ledger, "messages", start, end)
    if df is not None and profiles is not None:
        wanted = list(profiles)
        df = df[df["profile_id"].isin(wanted) | df["profile_name"].isin(wanted)]
    if df is None or not len(df):
        return _empty(by, MESSAGING_METRICS)
    outbound = df["direction"].astype(str).str.lower().eq("outbound").to_numpy()
    delivered = df["status"].astype(str).str.upper().eq("DELIVERED").to_numpy()
    metrics = {
        "sent": outbound,
        "delivered": outbound & delivered,
        "received": ~outbound,
        "parts": _int(df["parts"]),
        "cost_micro": _int(df["cost_micro"]),
        "carrier_fee_micro": _int(df["carrier_fee_micro"]),
    }
    return _group(_keys(df, by, TIME_COLUMNS["messages"]), metrics, MESSAGING_METRICS)


def voice_usage(
    ledger: Any,
    start: Any,
    end: Any,
    by: Sequence[str],
    connections: Iterable[str | int] | None = None,
) -> pd.DataFrame:
    """Voice totals per group: ``calls``, ``call_sec`` (duration), ``billed_sec``, cost.

    Examples
    --------
    >>> from telnyx_analytics.sandbox.ledger import Ledger
    >>> lg = Ledger(1, "KEY", days=3)
    >>> int(voice_usage(lg, lg.start, lg.now, [])["calls"].sum()) == len(lg.calls(lg.start, lg.now))
    True
    """
    df = _records(ledger, "calls", start, end)
    if df is not None and connections is not None:
        df = df[key_strings(df["connection_id"]).isin([str(c) for c in connections])]
    if df is None or not len(df):
        return _empty(by, VOICE_METRICS)
    metrics = {
        "calls": np.ones(len(df), dtype=np.int64),
        "call_sec": _int(df["duration_sec"]),
        "billed_sec": _int(df["billable_sec"]),
        "cost_micro": _int(df["cost_micro"]),
    }
    return _group(_keys(df, by, TIME_COLUMNS["calls"]), metrics, VOICE_METRICS)


def wireless_usage(ledger: Any, start: Any, end: Any, by: Sequence[str]) -> pd.DataFrame:
    """Wireless totals per group: ``sessions``, ``uplink_cmb``/``downlink_cmb``
    (hundredths of a MB), cost.

    Examples
    --------
    >>> from telnyx_analytics.sandbox.ledger import Ledger
    >>> lg = Ledger(1, "KEY", days=3)
    >>> "uplink_cmb" in wireless_usage(lg, lg.start, lg.now, ["mcc"]).columns
    True
    """
    df = _records(ledger, "wireless", start, end)
    if df is None:
        return _empty(by, WIRELESS_METRICS)
    metrics = {
        "sessions": np.ones(len(df), dtype=np.int64),
        "uplink_cmb": _int(df["uplink_cmb"]),
        "downlink_cmb": _int(df["downlink_cmb"]),
        "cost_micro": _int(df["cost_micro"]),
    }
    return _group(_keys(df, by, TIME_COLUMNS["wireless"]), metrics, WIRELESS_METRICS)


def lookup_usage(ledger: Any, start: Any, end: Any, by: Sequence[str]) -> pd.DataFrame:
    """Number-lookup totals per group: ``total_dips`` and cost.

    Examples
    --------
    >>> from telnyx_analytics.sandbox.ledger import Ledger
    >>> lg = Ledger(1, "KEY", days=3)
    >>> list(lookup_usage(lg, lg.start, lg.now, ["date"]).columns)
    ['date', 'currency', 'total_dips', 'cost_micro']
    """
    df = _records(ledger, "lookups", start, end)
    if df is None:
        return _empty(by, LOOKUP_METRICS)
    metrics = {
        "total_dips": np.ones(len(df), dtype=np.int64),
        "cost_micro": _int(df["cost_micro"]),
    }
    return _group(_keys(df, by, TIME_COLUMNS["lookups"]), metrics, LOOKUP_METRICS)


#: Products of ``/usage_reports`` beyond the four above: one per Detail Record Search
#: record type that has a cost, named like it, with the ledger columns it can be broken
#: out by (besides ``date`` and ``currency``). Conferences are billed per participant.
RECORD_TYPE_PRODUCTS: dict[str, list[str]] = {
    "recording": [], "stt": [], "ai-voice-assistant": [], "inference": ["model"],
    **{m.name: [name for name, _ in m.choices] for m in METERED},
    "amd": ["connection_id", "connection_name", "billing_group_id", "billing_group_name", "tags"],
    "conference-participant": [],
}  # fmt: skip
RECORD_TYPE_METRICS = ["count", "cost_micro"]


def record_type_usage(
    ledger: Any, start: Any, end: Any, by: Sequence[str], *, record_type: str
) -> pd.DataFrame:
    """Totals of one detail record type per group: ``count`` and cost, from the very rows
    ``/detail_records`` serves (:meth:`~.ledger.Ledger.detail_records`).

    Examples
    --------
    >>> from telnyx_analytics.sandbox.ledger import Ledger
    >>> lg = Ledger(1, "KEY", days=3)
    >>> df = record_type_usage(lg, lg.start, lg.now, ["date"], record_type="fax")
    >>> int(df["count"].sum()) == len(lg.detail_records("fax", lg.start, lg.now))
    True
    """
    lo, hi = _window(ledger, start, end)
    df = ledger.detail_records(record_type, lo, hi) if lo <= hi else None
    if df is None or not len(df):
        return _empty(by, RECORD_TYPE_METRICS)
    metrics = {"count": np.ones(len(df), dtype=np.int64), "cost_micro": _int(df["cost_micro"])}
    keys = _keys(df, by, DETAIL_TIME_COLUMN[record_type])
    return _group(keys, metrics, RECORD_TYPE_METRICS)


def month_window(month: int, year: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The inclusive UTC window of a calendar month.

    Examples
    --------
    >>> month_window(2, 2024)[1]
    Timestamp('2024-02-29 23:59:59.999999999+0000', tz='UTC')
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month must be between 1 and 12, got {month}")
    start = pd.Timestamp(year=year, month=month, day=1, tz="UTC")
    return start, start + pd.offsets.MonthBegin(1) - pd.Timedelta(1, "ns")


def billing_group_costs(ledger: Any, month: int, year: int) -> pd.DataFrame:
    """Costs of a calendar month per billing group, product and currency.

    Calls carry the billing group of the number they used; calls without one are kept
    with an empty ``billing_group_id`` so the report's total is the month's voice total.

    Examples
    --------
    >>> from telnyx_analytics.sandbox.ledger import Ledger
    >>> lg = Ledger(1, "KEY", days=3)
    >>> list(billing_group_costs(lg, lg.now.month, lg.now.year).columns)
    ['billing_group_id', 'billing_group_name', 'product', 'currency', 'cost_micro']
    """
    start, end = month_window(month, year)
    by = ["billing_group_id", "billing_group_name", "product"]
    df = _records(ledger, "calls", start, end)
    if df is None:
        return _empty(by, ["cost_micro"])
    metrics = {"cost_micro": _int(df["cost_micro"])}
    return _group(_keys(df, by, TIME_COLUMNS["calls"]), metrics, ["cost_micro"])


# -- the usage reports' rows ---------------------------------------------------------------

#: Key columns of a CDR usage row, in the order they are written.
CDR_USAGE_KEY_COLUMNS = ["connection_id", "tags", "billing_group_id", "tn_type", "country_code"]
#: Key columns of an MDR usage row (``MdrUsageRecord``), in the order they are written.
MDR_USAGE_KEY_COLUMNS = ["profile_id", "tags", "connection", "product"]


def cdr_usage_rows(
    ledger: Any,
    start: Any,
    end: Any,
    aggregation: str,
    breakdown: str,
    connections: Iterable[str | int] | None = None,
) -> pd.DataFrame:
    """Voice usage rows of a CDR usage report (all values but counts are strings).

    Columns: ``connection_id, tags, billing_group_id, tn_type, country_code, direction``
    (``All`` where the aggregation/breakdown does not use the column), ``calls``,
    ``call_sec``, ``billed_sec`` (int64), ``cost`` (4 decimals), ``currency``.

    Examples
    --------
    >>> from telnyx_analytics.sandbox.ledger import Ledger
    >>> lg = Ledger(1, "KEY", days=3)
    >>> rows = cdr_usage_rows(lg, lg.start, lg.now, "CONNECTION", "NO_BREAKDOWN")
    >>> set(rows["country_code"]) <= {"All"}
    True
    """
    used = [*CDR_AGGREGATION_KEYS[aggregation], *CDR_BREAKDOWN_KEYS[breakdown]]
    df = voice_usage(ledger, start, end, [*used, "direction"], connections)
    out = pd.DataFrame(index=df.index)
    for column in CDR_USAGE_KEY_COLUMNS:
        out[column] = df[column] if column in used else ALL
    out["direction"] = df["direction"]
    for column in ["calls", "call_sec", "billed_sec"]:
        out[column] = df[column]
    out["cost"] = format_money(df["cost_micro"], 4)
    out["currency"] = df["currency"]
    return out.reset_index(drop=True)


def mdr_usage_rows(
    ledger: Any,
    start: Any,
    end: Any,
    aggregation: str,
    profiles: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Messaging usage rows of an MDR usage report, every value a string
    (``MdrUsageRecord``).

    Rows are per aggregation key, direction, message type, number type and currency.
    ``connection`` is always ``All`` (messages have no connection) and ``product`` is
    ``messaging``.

    Examples
    --------
    >>> from telnyx_analytics.sandbox.ledger import Ledger
    >>> lg = Ledger(1, "KEY", days=3)
    >>> rows = mdr_usage_rows(lg, lg.start, lg.now, "PROFILE")
    >>> set(rows["tags"])
    {'All'}
    """
    used = MDR_AGGREGATION_KEYS[aggregation]
    by = [*used, "direction", "message_type", "tn_type"]
    df = messaging_usage(ledger, start, end, by, profiles)
    out = pd.DataFrame(index=df.index)
    for column in ["profile_id", "tags"]:
        out[column] = df[column] if column in used else ALL
    out["connection"] = ALL
    out["product"] = "messaging"
    for column in ["direction", "message_type", "tn_type"]:
        out[column] = df[column]
    for column in ["sent", "delivered", "received", "parts"]:
        out[column] = df[column].astype(str)
    out["cost"] = format_money(df["cost_micro"], 4)
    out["carrier_passthrough_fee"] = format_money(df["carrier_fee_micro"], 4)
    out["currency"] = df["currency"]
    return out.reset_index(drop=True).astype(str)
