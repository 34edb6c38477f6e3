"""Cost and usage analysis: DataFrame in, DataFrame out.

Nothing here touches the network. Every function works on any frame of the documented
schemas (``docs/frames.md``), whether it came from this package or from a CSV on disk.

Money is exact (the policy is in ``_money``: docs/concepts/money-and-time.md). Amounts
are summed as integer micro-units (1e-6, the API's published precision) and come back
as ``float64``, each total the float nearest to its exact value (exact to the micro-unit
below 2**32 units). Money may arrive as float64, as decimal dtypes, as strings or as
``decimal.Decimal`` objects; a value with more than six decimals raises instead of being
rounded. Amounts in different currencies are never added together: a ``currency``
column always stays in the result, unless ``rates`` convert them (:func:`convert`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _dask
from ._columns import as_list, require_column
from ._deprecation import renamed_keyword
from ._money import (
    INT64_MAX,
    MONEY,
    SCALE,
    UNIT,
    Rates,
    convert_micros,
    day_values,
    is_money,
    money_series,
    to_micros,
    to_money,
)
from ._money import currency_column as currency_column_of
from ._periods import floor, period_alias, period_range, to_utc
from .errors import SessionCostError

if TYPE_CHECKING:
    from .sessions import SessionTree

__all__ = [
    "MONEY",
    "SessionCostError",
    "convert",
    "cost_by",
    "explain_anomaly",
    "reconcile",
    "session_costs",
    "spend_anomalies",
    "spend_summary",
    "to_money",
    "usage_breakdown",
]

log = logging.getLogger("telnyx_analytics.analysis")

#: Time columns tried, in this order, when ``time=None``.
TIME_COLUMNS = (
    "created_at",
    "started_at",  # detail records of calls and conferences (tx.detail_records)
    "joined_at",
    "invoked_at",
    "start_timestamp_utc",
    "start_time",
    "event_timestamp",
    "date",
    "start_date",
    "period",  # the output of cost_by and spend_summary, so they can be plotted or re-cut
)


def _to_decimal(value: Any, what: str) -> Decimal:
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{what}: {value!r} is not a number") from None


# -- columns and periods --------------------------------------------------------------------


def summary_freq(df: pd.DataFrame, time: Hashable | None = None) -> str | None:
    """The period of a frame that already holds totals per period, or ``None``.

    The output of :func:`cost_by` and :func:`spend_summary` has its time in ``period``:
    first days of months are ``"MS"``, Mondays at least a week apart ``"W"`` (the weeks
    of ``freq="W"``), other whole days ``"D"``. Any other frame gives ``None``.

    >>> import pandas as pd
    >>> weeks = pd.DataFrame({"period": pd.to_datetime(["2024-04-29", "2024-05-06"], utc=True)})
    >>> summary_freq(weeks), summary_freq(weeks.rename(columns={"period": "created_at"}))
    ('W', None)
    """
    # The time column cost_by would use: ``period`` only when the frame has no other.
    column = time if time is not None else next((c for c in TIME_COLUMNS if c in df.columns),
                                                None)
    if column != "period" or "period" not in df.columns:
        return None
    periods = to_utc(df["period"]).dropna().drop_duplicates().sort_values()
    if periods.empty or (periods != periods.dt.floor("D")).any():
        return None
    gap = periods.diff().min() if len(periods) > 1 else None
    if (periods.dt.day == 1).all() and (gap is None or gap >= pd.Timedelta(days=28)):
        return "MS"
    if (periods.dt.day_of_week == 0).all() and (gap is None or gap >= pd.Timedelta(days=7)):
        return "W"
    return "D"


def _time_column(df: pd.DataFrame, time: Hashable | None) -> Hashable:
    if time is not None:
        require_column(df, time, "time")
        return time
    for name in TIME_COLUMNS:
        if name in df.columns:
            return name
    raise ValueError(f"time=None: the frame has no time column ({', '.join(TIME_COLUMNS)}); "
                     f"pass time=<column>")


def _key_codes(key: pd.Series) -> tuple[np.ndarray, int, Any]:
    """One group key as int64 codes in sorted order (missing last), their count, and a way
    back from codes to values."""
    if isinstance(key.dtype, pd.CategoricalDtype):
        # Categories are grouped in their own order, as pandas does, without hashing.
        codes = key.cat.codes.to_numpy().astype(np.int64)
        n = len(key.cat.categories)
        missing = codes < 0
        if missing.any():
            codes[missing] = n
        return codes, n + 1, key.dtype
    codes, uniques = pd.factorize(key, sort=True, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), max(len(uniques), 1), uniques


def _key_values(codes: np.ndarray, back: Any) -> Any:
    if isinstance(back, pd.CategoricalDtype):
        n = len(back.categories)
        return pd.Categorical.from_codes(np.where(codes == n, -1, codes), dtype=back)
    return back.take(codes)


def _grouped_micros(
    micros: np.ndarray, keys: list[pd.Series], index: pd.Index
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Exact sums of ``micros`` per group of ``keys``: (keys frame, sums, counts).

    Groups come sorted by the keys (categories in their order, missing values last), one
    row per group that has rows. Sums are int64 when no overflow is possible, else Python
    ints (an object array).
    """
    # Each key becomes integer codes, and the keys one mixed-radix code: a plain integer
    # per row that numpy can sum by, which is faster than pandas' general group-by and
    # is what lets exact sums keep up with a float64 group-by (benchmarks/bench_analysis.py).
    parts = [_key_codes(k) for k in keys]
    radix = 1
    for _, size, _ in parts:
        radix *= size
    if radix >= 2**62:  # pragma: no cover - keys with billions of combinations
        grouper = pd.Series(micros, index=index).groupby(keys, observed=True, sort=True,
                                                         dropna=False)
        ids = grouper.ngroup().to_numpy()
        groups = grouper.size().index.to_frame(index=False)
        return (groups, *_sum_by_id(micros, ids, len(groups)))
    code = np.zeros(len(micros), np.int64)
    for codes, size, _ in parts:
        code *= size
        code += codes
    if radix <= max(len(micros), 2**20):
        present = None  # dense: the code is the group id
        ids, n_ids = code, radix
    else:  # sparse combinations: number the ones that occur
        ids, present = pd.factorize(code, sort=True)
        n_ids = len(present)
    sums, counts = _sum_by_id(micros, ids, n_ids)
    if present is None:
        present = np.flatnonzero(counts)
        sums, counts = sums[present], counts[present]
    columns = {}
    rest = np.asarray(present, np.int64)
    for i in range(len(parts) - 1, -1, -1):  # peel the radix digits off, last key first
        _, size, back = parts[i]
        rest, digit = np.divmod(rest, size)
        columns[i] = _key_values(digit, back)
    groups = pd.DataFrame({i: columns[i] for i in range(len(parts))})
    return groups, sums, counts


def _sum_by_id(micros: np.ndarray, ids: np.ndarray, n_ids: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-id sums of int64 micro-units, and the rows per id."""
    counts = np.bincount(ids, minlength=n_ids)
    bound = int(np.abs(micros).max()) * len(micros) if len(micros) else 0
    if bound <= INT64_MAX:
        sums = np.zeros(n_ids, np.int64)
        np.add.at(sums, ids, micros)
        return sums, counts
    # int64 could overflow: sum the high and low 32 bits apart (neither can overflow below
    # 2**31 rows) and join them as Python ints.
    high, low = np.zeros(n_ids, np.int64), np.zeros(n_ids, np.int64)
    np.add.at(high, ids, micros >> 32)
    np.add.at(low, ids, micros & 0xFFFFFFFF)
    joined = np.zeros(n_ids, dtype=object)
    for i in np.flatnonzero(counts):
        joined[i] = (int(high[i]) << 32) + int(low[i])
    return joined, counts


def _normalize_currency(frame: pd.DataFrame, currency: Hashable) -> None:
    frame[currency] = frame[currency].astype("category")


# -- cost_by --------------------------------------------------------------------------------


@renamed_keyword("currency", "currency_column")
def cost_by(
    df: pd.DataFrame,
    by: Hashable | Sequence[Hashable] | None = None,
    *,
    freq: str | None = None,
    cost: Hashable = "cost",
    time: Hashable | None = None,
    currency_column: Hashable = "currency",
    rates: Mapping[str, Decimal | str | int | float] | pd.DataFrame | None = None,
    to: str | None = None,
    count: Hashable | None = None,
) -> pd.DataFrame:
    """Exact cost totals per group (and period), one currency per row.

    Amounts are summed as integer micro-units, so a total equals the exact decimal sum of
    the rows digit for digit. The ``currency`` column is always a group: amounts in
    different currencies are never added together, unless ``rates`` are given.

    Parameters
    ----------
    df : DataFrame
        Any frame with a money column and a currency column (``docs/frames.md``).
    by : column name or list of names, optional
        Groups besides the period and the currency.
    freq : str, optional
        Period of the totals: ``"D"``, ``"W"`` (weeks start on Monday), ``"MS"`` (months),
        ``"h"`` or any pandas frequency. ``None`` totals over the whole frame.
    cost : column name, default ``"cost"``
        The money column (``float64``, or strings, Decimals or decimal dtypes).
    time : column name, optional
        The timestamp column for ``freq`` (and daily ``rates``); default the first of
        ``created_at``, ``start_timestamp_utc``, ``start_time``, ``event_timestamp``,
        ``date``, ``start_date``, ``period``. Naive timestamps are taken as UTC.
    currency_column : column name, default ``"currency"``
        The column naming the currency of the amounts. (It was ``currency=`` before;
        that name still works, with a ``DeprecationWarning``: elsewhere, as in
        :func:`explain_anomaly` and the plots, ``currency=`` is a currency such as
        ``"USD"``.)
    rates : mapping or DataFrame, optional
        Conversion rates into ``to``, as :func:`convert` takes them: a mapping currency ->
        rate (units of ``to`` per unit of the currency), or a frame of daily rates
        (``date``, ``currency``, ``rate``). Each currency is totalled exactly first (per
        day, with daily rates), each total converted and rounded half-even to the
        micro-unit, then the converted totals are added up.
    to : str, optional
        The target currency of ``rates``; required with it.
    count : column name, optional
        For a frame that is already a summary (a usage report, the output of this
        function): the column saying how many records each row stands for. Default: the
        first of :data:`RECORD_COUNTS` the frame has (``count`` in this package's
        summaries and ``product_usage``, ``calls`` in voice usage, ``total_dips`` in
        number lookup usage); in messaging usage, ``messages``, its ``sent`` plus
        ``received``; else none: each row is one record.

    Returns
    -------
    DataFrame
        Columns ``period`` (with ``freq``), the ``by`` columns, ``currency`` (category),
        ``cost`` (``float64``, each the float nearest to the exact total), then what the
        cost covers, sorted by the groups:

        - records (each row one record): ``count``, the records in the group;
        - a summary: its record count (named as in the frame, e.g. ``calls``, or
          ``messages``) summed over the group, and ``rows``, the summary rows that went
          into it.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "created_at": pd.to_datetime(["2024-05-01 09:00", "2024-05-01 17:30",
    ...                                   "2024-05-02 08:00"], utc=True),
    ...     "product": ["messaging", "messaging", "voice"],
    ...     "cost": to_money(["0.0040", "0.0080", "0.0125"]),
    ...     "currency": ["USD", "USD", "USD"]})
    >>> out = cost_by(df, "product", freq="D")
    >>> out[["product", "cost"]].astype(str).values.tolist()
    [['messaging', '0.012'], ['voice', '0.0125']]
    >>> out["count"].tolist()  # records
    [2, 1]

    Cut again, the daily totals are a summary: ``count`` still counts records, and
    ``rows`` says how many daily rows went into each total.

    >>> cost_by(out)[["cost", "count", "rows"]].astype(str).values.tolist()
    [['0.0245', '3', '2']]
    """
    if _dask.is_dask(df):  # the same totals, reduced on the Dask workers
        return _dask.cost_by(df, by, freq=freq, cost=cost, time=time,
                             currency_column=currency_column,
                             rates=rates, to=to, count=count)
    by_cols = as_list(by)
    require_column(df, cost, "cost")
    require_column(df, currency_column, "currency_column")
    for column in by_cols:
        require_column(df, column, "by")
    if (rates is None) != (to is None):
        raise ValueError("rates and to go together: rates={currency: rate into `to`}, to='USD'")
    counted = _record_counts(df, count)

    table = None if rates is None else Rates.of(rates, str(to))
    micros, _ = to_micros(df[cost], str(cost))
    keys: list[pd.Series] = []
    names: list[Hashable] = []
    if freq is not None:
        keys.append(floor(to_utc(df[_time_column(df, time)]), freq).rename("period"))
        names.append("period")
    for column in [*by_cols, currency_column]:
        if column not in names:  # `by` may repeat the currency; group once
            keys.append(df[column])
            names.append(column)
    if table is not None and table.daily is not None:
        # Daily rates: total per day too, so that each day's total meets its day's rate.
        keys.append(floor(to_utc(df[_time_column(df, time)]), "D").rename("_day"))
        names.append("_day")
    if not len(df):
        return _empty_cost_frame(df, [n for n in names if n != "_day"], currency_column,
                                 None if counted is None else counted[0])
    groups, sums, rows = _grouped_micros(micros, keys, df.index)
    groups.columns = names
    covered: dict[Hashable, np.ndarray] = {"count": rows}
    if counted is not None:
        # The same keys give the same groups in the same order.
        counted_name, counts = counted
        covered = {counted_name: _grouped_micros(_whole_counts(counts, counted_name), keys,
                                                 df.index)[1], "rows": rows}
    if table is not None:
        return _converted_totals(groups, sums, covered, currency_column, table)
    groups["cost"] = money_series(sums)
    for name, values in covered.items():
        groups[name] = values
    _normalize_currency(groups, currency_column)
    return groups


#: Columns saying how many records a summary row stands for, tried in this order when
#: ``count=None``: this package's summaries and ``product_usage`` (``count``), voice
#: usage (``calls``: ``cdr_usage``, ``cdr_usage_legacy``), number lookup usage
#: (``total_dips``). Messaging usage (``mdr_usage``, ``mdr_usage_legacy``) counts its
#: messages as ``sent`` plus ``received``: each message is one or the other.
RECORD_COUNTS = ("count", "calls", "total_dips")


def _record_counts(df: pd.DataFrame, count: Hashable | None) -> tuple[Hashable, pd.Series] | None:
    """The name and values of the records behind each row of a summary, or None when
    each row is one record."""
    if count is None:
        count = next((c for c in RECORD_COUNTS if c in df.columns), None)
        if count is None and {"sent", "received"} <= set(df.columns):
            sent, received = (pd.to_numeric(df[c]).fillna(0) for c in ("sent", "received"))
            return "messages", sent + received
        if count is None:
            return None
    require_column(df, count, "count")
    if not (pd.api.types.is_integer_dtype(df[count].dtype)
            or pd.api.types.is_float_dtype(df[count].dtype)):
        raise TypeError(f"count={count!r}: the column must hold whole numbers (how many "
                        f"records each row stands for), not {df[count].dtype}")
    return count, df[count]


def _whole_counts(values: pd.Series, name: Hashable) -> np.ndarray:
    """A count column as int64, missing counting as 0; fractions are refused."""
    numbers = pd.to_numeric(values).astype("float64").fillna(0).to_numpy()
    if (numbers != np.round(numbers)).any():
        raise ValueError(f"count={name!r}: counts must be whole numbers")
    return numbers.astype(np.int64)


def _empty_cost_frame(df: pd.DataFrame, names: list[Hashable], currency: Hashable,
                      counted: Hashable | None) -> pd.DataFrame:
    columns: dict[Hashable, Any] = {}
    for name in names:
        if name == "period":
            columns[name] = pd.Series([], dtype="datetime64[ns, UTC]")
        else:
            columns[name] = df[name].iloc[:0].reset_index(drop=True)
    out = pd.DataFrame(columns)
    out["cost"] = pd.Series([], dtype=MONEY)
    for name in ["count"] if counted is None else [counted, "rows"]:
        out[name] = pd.Series([], dtype=np.int64)
    _normalize_currency(out, currency)
    return out


def _converted_totals(groups: pd.DataFrame, sums: np.ndarray,
                      covered: dict[Hashable, np.ndarray], currency: Hashable,
                      rates: Rates) -> pd.DataFrame:
    """Exact per-currency (and per-day) totals converted into ``rates.to``, added up."""
    days = (day_values(groups["_day"], "time") if "_day" in groups.columns else None)
    converted = convert_micros(np.asarray(sums), groups[currency].to_numpy(object), rates, days)
    work = groups.drop(columns=[c for c in (currency, "_day") if c in groups.columns])
    keys = list(work.columns)
    work = work.assign(_m=np.asarray(converted, dtype=object))
    for name, values in covered.items():
        work[name] = values
    if keys:
        out = work.groupby(keys, observed=True, sort=True, dropna=False)[
            ["_m", *covered]].sum().reset_index()
    else:
        out = pd.DataFrame({"_m": [sum(int(v) for v in converted)],
                            **{name: [int(v.sum())] for name, v in covered.items()}})
    out.insert(len(keys), currency, pd.Series(pd.Categorical([rates.to] * len(out)),
                                              index=out.index))
    total = np.array([int(v) for v in out["_m"]], dtype=object)
    fits = all(abs(v) <= INT64_MAX for v in total)
    out["_m"] = money_series(total.astype(np.int64) if fits else total)
    out = out.rename(columns={"_m": "cost"})
    return out[[*keys, currency, "cost", *covered]]


@renamed_keyword("currency", "currency_column")
def convert(
    df: pd.DataFrame,
    rates: Mapping[str, Decimal | str | int | float] | pd.DataFrame,
    *,
    to: str,
    columns: Sequence[Hashable] | None = None,
    currency_column: Hashable = "currency",
    time: Hashable | None = None,
    suffix: str | None = None,
) -> pd.DataFrame:
    """Add money columns converted into one currency, exactly.

    Each amount is multiplied by the exact rate of its currency (and of its day, with
    daily rates) and rounded half to even at the micro-unit. The original columns and the
    currency column are left as they are; a converted column is added beside each money
    column, named ``<column>_<to>`` in lower case (``cost_usd``). A rate that is missing
    for a currency (or a currency and a day) an amount needs raises ``ValueError`` naming
    both. :func:`cost_by` and :func:`spend_summary` take the same ``rates``.

    Parameters
    ----------
    df : DataFrame
        Any frame with money columns and their currency.
    rates : mapping or DataFrame
        A mapping currency -> rate, the units of ``to`` one unit of that currency buys
        (``{"EUR": "1.08", "GBP": "1.27"}``; decimal text, Decimals or numbers; ``to``
        itself is 1). Or a frame of daily rates with columns ``date`` (a day, UTC: a date,
        a timestamp or ISO 8601 text), ``currency`` and ``rate``, one row per currency and
        day; each amount then takes the rate of its row's UTC day.
    to : str
        The currency to convert into, such as ``"USD"``.
    columns : list of column names, optional
        The money columns to convert; default every money column (``cost``, ``rate``,
        ``*_cost``, ``*_fee``).
    currency_column : column name, default ``"currency"``
        The currency of the amounts; a column with its own currency column
        (``rate`` beside ``rate_currency`` in wireless records) uses that one.
    time : column name, optional
        The timestamp that picks a daily rate; default as in :func:`cost_by`.
    suffix : str, optional
        Name the converted columns ``<column><suffix>``; default ``"_" + to.lower()``.

    Returns
    -------
    DataFrame
        A copy of ``df`` with the converted columns (``float64``) added.

    Examples
    --------
    Ranking calls across currencies takes one line:

    >>> import pandas as pd
    >>> calls = pd.DataFrame({"call_leg_id": ["a", "b", "c"],
    ...                       "cost": [0.25, 0.2, 0.3], "currency": ["USD", "GBP", "EUR"]})
    >>> rates = {"GBP": "1.27", "EUR": "1.08"}
    >>> convert(calls, rates, to="USD").nlargest(2, "cost_usd")[["call_leg_id", "cost_usd"]]
      call_leg_id  cost_usd
    2           c     0.324
    1           b     0.254
    """
    table = Rates.of(rates, to)
    names = ([c for c in df.columns if is_money(df, c)] if columns is None
             else as_list(columns))
    if not names:
        raise ValueError(f"columns: the frame has no money column to convert; it has "
                         f"{', '.join(map(str, df.columns))}")
    days = None
    if table.daily is not None:
        days = day_values(to_utc(df[_time_column(df, time)]), "time")
    out = df.copy()
    for name in names:
        require_column(df, name, "columns")
        cur = currency_column_of(df, name, currency_column)
        require_column(df, cur, "currency_column")
        micros, valid = to_micros(df[name], str(name))
        converted = convert_micros(micros, df[cur].to_numpy(object), table, days, valid)
        out[f"{name}{suffix if suffix is not None else '_' + to.lower()}"] = money_series(
            converted, df.index, valid)
    return out


# -- usage breakdown ------------------------------------------------------------------------


def check_top(top: Any) -> int:
    """``top`` (how many values to keep) as given, or the error naming it.

    >>> check_top(5)
    5
    """
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)):
        raise TypeError(f"top={top!r}: must be a positive integer")
    if top < 1:
        raise ValueError(f"top={top!r}: must be a positive integer")
    return int(top)


def measure_unit(df: pd.DataFrame, metric: Hashable) -> str | None:
    """The one unit of a measure whose unit travels in a column of its own, or ``None``.

    Wireless records give data volumes as an amount and a unit (``uplink_data`` and
    ``uplink_data_unit`` in :func:`~telnyx_analytics.wdrs`; ``uplink_data`` and
    ``data_unit`` in wireless detail records). Amounts add up only within one unit, so a
    column holding more than one is refused rather than summed.

    Raises
    ------
    ValueError
        The unit column holds more than one unit; the message names them.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"uplink_data": [1.5, 2.0], "uplink_data_unit": ["MB", "MB"]})
    >>> measure_unit(df, "uplink_data"), measure_unit(df, "other") is None
    ('MB', True)
    """
    name = str(metric)
    candidates = [f"{name}_unit"] + (["data_unit"] if name.endswith("_data") else [])
    column = next((c for c in candidates if c in df.columns), None)
    if column is None:
        return None
    units = sorted(set(df[column].dropna().astype(str)))
    if len(units) > 1:
        raise ValueError(f"metric={metric!r} is in more than one unit ({', '.join(units)} in "
                         f"{column!r}); amounts in different units cannot be added: convert "
                         f"them to one unit first")
    return units[0] if units else None


@renamed_keyword("currency", "currency_column")
def usage_breakdown(
    df: pd.DataFrame,
    dimension: Hashable,
    metric: Hashable,
    *,
    top: int = 10,
    other: str = "Other",
    freq: str | None = None,
    time: Hashable | None = None,
    currency_column: Hashable = "currency",
) -> pd.DataFrame:
    """The top ``top`` values of a dimension by a metric, the rest summed into ``other``.

    The ``other`` row keeps totals whole: the rows of the result add up to the total of
    the frame. A money metric (``cost``, ``rate``, ``*_cost``, ``*_fee``) is summed exactly and per
    currency, with the top values chosen within each currency. ``metric="count"`` counts
    rows when the frame has no such column. Missing dimension values are shown as
    ``"(missing)"``.

    Parameters
    ----------
    df : DataFrame
    dimension : column name
        What to break down by (``country_code``, ``direction``, ``product`` ...).
    metric : column name
        What to add up (``cost``, ``parts``, ``billed_sec``, ``count`` ...).
    top : int, default 10
        How many values to keep; the values are ranked by their total over the frame.
    other : str, default ``"Other"``
        Label of the row that sums the rest.
    freq : str, optional
        Also break down per period (same top values in every period).
    time : column name, optional
        The timestamp column for ``freq`` (see :func:`cost_by`).
    currency_column : column name, default ``"currency"``
        The column naming the currency of a money metric (``currency=`` before, still
        accepted with a ``DeprecationWarning``).

    Returns
    -------
    DataFrame
        Columns ``period`` (with ``freq``), ``currency`` (money metrics), the dimension
        (strings), the metric and ``share`` (of the total of its currency and period),
        largest first, ``other`` last.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"country_code": ["US", "US", "CA", "MX", "BR"],
    ...                    "parts": [3, 1, 2, 1, 1]})
    >>> usage_breakdown(df, "country_code", "parts", top=2)[["country_code", "parts"]]
      country_code  parts
    0           US      4
    1           CA      2
    2        Other      2
    """
    if _dask.is_dask(df):  # the same breakdown, reduced on the Dask workers
        return _dask.usage_breakdown(df, dimension, metric, top=top, other=other, freq=freq,
                                     time=time, currency_column=currency_column)
    check_top(top)
    require_column(df, dimension, "dimension")
    counting = metric == "count" and metric not in df.columns
    if not counting:
        require_column(df, metric, "metric")
    money = not counting and is_money(df, metric)
    if money and currency_column not in df.columns:
        raise ValueError(f"metric={metric!r} is money but the frame has no "
                         f"{currency_column!r} column; amounts in different currencies "
                         f"cannot be added (if they share one, add it: df.assign(currency='USD'))")

    if not counting and not money:
        measure_unit(df, metric)  # amounts in two units cannot be added

    labels = df[dimension].astype(object).where(df[dimension].notna(), "(missing)").astype(str)
    keys: list[pd.Series] = []
    if freq is not None:
        keys.append(floor(to_utc(df[_time_column(df, time)]), freq).rename("period"))
    if money:
        keys.append(df[currency_column].astype(str).rename("currency"))
    outer = [str(k.name) for k in keys]  # the groups the top values are chosen within
    labels.name = "_value"  # named `dimension` at the end: any label, even one like ours
    keys.append(labels)

    if money:
        micros, _ = to_micros(df[metric], str(metric))
        groups, sums, _ = _grouped_micros(micros, keys, df.index)
        groups.columns = [k.name for k in keys]
        groups["_v"] = sums
    else:
        values = (pd.Series(np.ones(len(df), np.int64), index=df.index) if counting
                  else df[metric])
        summed = values.groupby(keys, observed=True, sort=True, dropna=False).sum()
        groups = summed.rename("_v").reset_index()
        groups.columns = [*[k.name for k in keys], "_v"]

    # Rank each value by its total over the whole frame (within its currency), so that a
    # breakdown per period keeps the same values in every period.
    within = ["currency"] if money else []
    totals = groups.groupby([*within, "_value"], sort=False)["_v"].sum().reset_index()
    totals["_big"] = [-int(v) if money else -v for v in totals["_v"]]
    totals = totals.sort_values([*within, "_big", "_value"], ignore_index=True)
    totals["_rank"] = (totals.groupby(within, sort=False).cumcount() if within
                       else np.arange(len(totals)))
    groups = groups.merge(totals[[*within, "_value", "_rank"]], on=[*within, "_value"])
    lumped = groups["_rank"] >= top
    groups["_value"] = groups["_value"].where(~lumped, other)
    groups["_rank"] = groups["_rank"].where(~lumped, top)  # `other` comes last
    merged = groups.groupby([*outer, "_value"], sort=False, dropna=False).agg(
        _v=("_v", "sum"), _rank=("_rank", "min")).reset_index()
    merged = merged.sort_values([*outer, "_rank"], ignore_index=True).drop(columns="_rank")

    name = "count" if counting else metric
    if money:
        whole_micros = merged.groupby(outer, sort=False)["_v"].transform(
            lambda s: sum(int(v) for v in s))
        share = np.array([int(v) / int(w) if int(w) else np.nan
                          for v, w in zip(merged["_v"], whole_micros, strict=True)],
                         dtype="float64")
        micros_total = np.array([int(v) for v in merged["_v"]], dtype=object)
        fits = all(abs(v) <= INT64_MAX for v in micros_total)
        merged[name] = money_series(micros_total.astype(np.int64) if fits else micros_total)
        merged["currency"] = merged["currency"].astype("category")
    else:
        whole = (merged.groupby(outer, sort=False)["_v"].transform("sum") if outer
                 else merged["_v"].sum())
        share = (merged["_v"] / whole).to_numpy(dtype="float64")
        merged[name] = merged["_v"]
    merged["share"] = share
    merged["_value"] = merged["_value"].astype("string")
    return merged.drop(columns="_v").rename(columns={"_value": dimension})


# -- spend across products ------------------------------------------------------------------


def spend_summary(
    frames: Mapping[str, pd.DataFrame] | pd.DataFrame,
    *,
    freq: str = "D",
    rates: Mapping[str, Any] | None = None,
    to: str | None = None,
) -> pd.DataFrame:
    """Spend per period, product and currency across products, in one tidy frame.

    Parameters
    ----------
    frames : mapping of product name to DataFrame, or one DataFrame with ``product``
        For example ``{"messaging": mdrs, "voice": cdrs, "wireless": wdrs,
        "number lookups": lookups}``. Each frame may be detail records or a usage report;
        its money column is the first of :data:`COST_COLUMNS` it has (``cost``;
        ``total_cost`` in the number-lookup report; ``verify_usage_fee`` and ``data_cost``
        in Verify and wireless frames of :func:`~telnyx_analytics.detail_records`) and its
        time column the first of :data:`TIME_COLUMNS`. Every product Telnyx bills:
        ``{t: tx.detail_records(t, start, end) for t in types}`` over the record types
        that carry a cost (all but ``conference``, docs/data/detail-records.md).
    freq : str, default ``"D"``
        ``"D"``, ``"W"`` or ``"MS"`` (or any pandas frequency).
    rates, to : optional
        Convert into one currency, as in :func:`cost_by`.

    Returns
    -------
    DataFrame
        Columns ``period``, ``product`` (category, in the order given), ``currency``,
        ``cost`` (exact) and ``count``, sorted by period, product and currency. Periods
        without spend for a product have no row.

    Examples
    --------
    >>> import pandas as pd
    >>> day = pd.Timestamp("2024-05-01", tz="UTC")
    >>> sms = pd.DataFrame({"created_at": [day], "cost": ["0.0040"], "currency": ["USD"]})
    >>> calls = pd.DataFrame({"start_timestamp_utc": [day], "cost": ["0.0125"],
    ...                       "currency": ["USD"]})
    >>> s = spend_summary({"messaging": sms, "voice": calls}, freq="MS")
    >>> s[["product", "cost"]].astype(str).values.tolist()
    [['messaging', '0.004'], ['voice', '0.0125']]
    """
    if not isinstance(frames, Mapping):  # one frame (pandas or Dask) with a product column
        require_column(frames, "product", "frames")
        out = cost_by(frames, "product", freq=freq, cost=_cost_column(frames), rates=rates,
                      to=to)
        out = _records_as_count(frames, out)
        out["product"] = out["product"].astype(str)
        order = list(dict.fromkeys(out["product"]))
    else:
        parts = []
        for product, frame in frames.items():
            part = cost_by(frame, freq=freq, cost=_cost_column(frame), rates=rates, to=to)
            part = _records_as_count(frame, part)
            part.insert(1, "product", str(product))
            part["currency"] = part["currency"].astype(str)
            parts.append(part)
        order = [str(p) for p in frames]
        if not parts:
            raise ValueError("frames: give at least one product's frame")
        out = pd.concat(parts, ignore_index=True)
    out["product"] = pd.Categorical(out["product"], categories=order)
    out["currency"] = out["currency"].astype(str).astype("category")
    # `count` is records whether a frame was records or a summary with a `count` column;
    # the summary rows behind it (`rows`) mean nothing across products.
    columns = ["period", "product", "currency", "cost", "count"]
    return out.sort_values(columns[:3], ignore_index=True)[columns]


def _records_as_count(frame: pd.DataFrame, totals: pd.DataFrame) -> pd.DataFrame:
    """``totals`` (of ``frame``) with its record count named ``count``: a summary counts
    them as ``calls`` or ``messages``, and across products they are all records."""
    counted = None if _dask.is_dask(frame) else _record_counts(frame, None)
    if counted is None or counted[0] == "count":
        return totals
    return totals.rename(columns={counted[0]: "count"})


#: Money columns :func:`spend_summary` takes as a frame's cost, in this order: detail
#: records and reports (``cost``), the number-lookup report (``total_cost``), and the
#: detail records of Verify and wireless (``verify_usage_fee``, ``data_cost``).
COST_COLUMNS = ("cost", "total_cost", "verify_usage_fee", "data_cost")


def _cost_column(df: pd.DataFrame) -> str:
    for name in COST_COLUMNS:
        if name in df.columns:
            return name
    raise ValueError(f"a frame has no cost column ({', '.join(COST_COLUMNS)}); it has "
                     f"{', '.join(map(str, df.columns))}")


# -- reconciliation -------------------------------------------------------------------------


def reconcile(
    detail: pd.DataFrame,
    usage: pd.DataFrame,
    *,
    by: Hashable | Sequence[Hashable] | None = None,
    freq: str | None = "D",
    detail_cost: Hashable | None = None,
    usage_cost: Hashable | None = None,
    detail_time: Hashable | None = None,
    usage_time: Hashable | None = None,
    tolerance: Decimal | str | int = 0,
) -> pd.DataFrame:
    """Compare detail-record totals with usage-report totals for the same window.

    Both sides are totalled exactly per period, ``by`` and currency; a group found on one
    side only counts as zero on the other, so it shows up as a difference.

    Both sides must be at least as fine as ``freq``. A side whose rows are totals over a
    longer span (a usage report over the whole window, with ``start_date``/``end_date``
    or ``start_time``/``end_time`` further apart than one period), or whose times are
    whole days while ``freq`` is finer than a day, is refused with a ``ValueError``: split
    by period it would show a difference on every period, none of them real. Compare
    window totals with ``freq=None`` instead, or fetch the usage per day.

    Parameters
    ----------
    detail : DataFrame
        Detail records (MDRs, CDRs, WDRs).
    usage : DataFrame
        A usage report over the same window (for example ``mdr_usage_legacy`` rows, one
        per day).
    by : column name or list, optional
        Extra groups present in both frames (``direction``, ``country_code`` ...).
    freq : str or None, default ``"D"``
        Period to compare per; ``None`` compares the window totals.
    detail_cost, usage_cost : column name, optional
        Default ``cost`` (or ``total_cost``).
    detail_time, usage_time : column name, optional
        Default: the first time column of each frame (see :func:`cost_by`).
    tolerance : Decimal or str, default 0
        Largest absolute difference still counted as a match.

    Raises
    ------
    ValueError
        A side is coarser than ``freq`` (see above); the message names the side, the
        span of its rows and what to do.

    Returns
    -------
    DataFrame
        Columns ``period`` (with ``freq``), the ``by`` columns, ``currency``,
        ``detail_cost``, ``usage_cost``, ``difference`` (detail minus usage, exact) and
        ``match`` (``|difference| <= tolerance``), one row per group of either side.

    Examples
    --------
    >>> import pandas as pd
    >>> day = pd.Timestamp("2024-05-01", tz="UTC")
    >>> mdrs = pd.DataFrame({"created_at": [day, day], "cost": ["0.0040", "0.0080"],
    ...                      "currency": ["USD", "USD"]})
    >>> usage = pd.DataFrame({"date": [day], "cost": ["0.0110"], "currency": ["USD"]})
    >>> r = reconcile(mdrs, usage)
    >>> str(r.loc[0, "difference"]), bool(r.loc[0, "match"])
    ('0.001', False)
    """
    by_cols = as_list(by)
    keys = (["period"] if freq is not None else []) + [*by_cols, "currency"]
    sides = {}
    for label, frame, cost, time in (("detail", detail, detail_cost, detail_time),
                                     ("usage", usage, usage_cost, usage_time)):
        if freq is not None:
            _check_granularity(frame, time, freq, label)
        total = cost_by(frame, by_cols, freq=freq, cost=cost or _cost_column(frame), time=time)
        for column in [*by_cols, "currency"]:
            # Category sets differ between the two frames; compare by text.
            total[column] = total[column].astype(object).where(total[column].notna(), None)
        sides[label] = total[[*keys, "cost"]].rename(columns={"cost": f"{label}_cost"})
    out = sides["detail"].merge(sides["usage"], on=keys, how="outer", sort=True)
    det, _ = to_micros(out["detail_cost"], "detail_cost")  # missing side -> 0
    use, _ = to_micros(out["usage_cost"], "usage_cost")
    out["detail_cost"] = money_series(det, out.index)
    out["usage_cost"] = money_series(use, out.index)
    diff = det - use
    out["difference"] = money_series(diff, out.index)
    limit = int(_to_decimal(tolerance, "tolerance").scaleb(SCALE))
    out["match"] = np.abs(diff) <= limit
    for column in [*by_cols, "currency"]:
        out[column] = out[column].astype("category")
    return out


#: Usage reports give each row's span as a pair of columns: the time column and its end.
_SPAN_ENDS = {"start_time": "end_time", "start_date": "end_date"}
_DAY = pd.Timedelta(days=1)


def _check_granularity(frame: pd.DataFrame, time: Hashable | None, freq: str, side: str) -> None:
    """Refuse a side whose rows are coarser than ``freq``: split by period, its totals
    would land on one period and leave the others empty (false differences on each)."""
    if frame.empty:
        return
    column = _time_column(frame, time)
    start = to_utc(frame[column])
    end_column = _SPAN_ENDS.get(str(column))
    if end_column is not None and end_column in frame.columns:
        end = to_utc(frame[end_column])
        # An end at a period's start (exclusive) or inside it (inclusive day) both stay
        # within one period when the row covers at most one.
        last = end.where(end <= start, end - pd.Timedelta(1, "ns"))
        coarse = (floor(start, freq) != floor(last, freq)) & end.notna()
        if coarse.any():
            i = int(np.flatnonzero(coarse.to_numpy())[0])
            raise ValueError(
                f"{side}: its rows are totals from {start.iloc[i]:%Y-%m-%d %H:%M} to "
                f"{end.iloc[i]:%Y-%m-%d %H:%M} ({column}..{end_column}), longer than one "
                f"period of freq={freq!r}; split by period they would differ from the "
                f"other side on every period. Compare window totals with freq=None, or "
                f"fetch {side} per period (a daily aggregation).")
        return
    if period_alias(freq) is None and pd.tseries.frequencies.to_offset(freq).nanos < _DAY.value:
        times = start.dropna()
        if len(times) and (times == times.dt.floor("D")).all():
            raise ValueError(
                f"{side}: its times ({column}) are whole days, finer periods "
                f"(freq={freq!r}) would put each day's total at midnight. Use freq='D' or "
                f"coarser.")


# -- anomalies ------------------------------------------------------------------------------


#: Smallest departure reported by default (see :func:`spend_anomalies`): in the series'
#: currency per period, and in percent of the baseline.
MIN_IMPACT = 10.0
MIN_IMPACT_PCT = 20.0


def spend_anomalies(
    df: pd.DataFrame,
    *,
    by: Hashable | Sequence[Hashable] | None = None,
    freq: str = "D",
    threshold: float = 3.5,
    min_impact: float | Mapping[str, float] = MIN_IMPACT,
    min_impact_pct: float = MIN_IMPACT_PCT,
    cost: Hashable = "cost",
    time: Hashable | None = None,
    seasonal: bool | None = None,
) -> pd.DataFrame:
    """Periods whose spend departs from its usual level, by enough to matter.

    How a period is judged, in plain words:

    1. Spend is totalled exactly per period (and ``by``, and currency); each currency
       (and ``by`` group) is its own series, and periods without spend count as zero.
    2. The period's **baseline**, its usual spend, is the median spend of the *other*
       periods on the same weekday (daily data over at least three weeks, so that quiet
       weekends are not anomalies), or else of all other periods.
    3. Its **score** says how unusual the departure is: how many times larger it is than
       a typical period's departure from its own baseline. Spend wobbles in proportion to
       its level, so departures are compared as fractions of the baseline, and the
       typical one is the median of them, scaled by 1.4826 so that for normal noise it
       equals a standard deviation. A score of 5 means five times further from the usual
       level than a normal period strays.
    4. The period is reported when the score exceeds ``threshold`` (3.5, after Iglewicz
       and Hoaglin) **and** the departure matters in money: its impact
       ``|cost - baseline|`` is at least ``min_impact`` and at least ``min_impact_pct``
       percent of the baseline. A period whose baseline is zero passes the percentage
       test (the percentage is not defined there).

    The minimum impact is what AWS and Google Cloud cost anomaly detection offer (AWS
    alerts on a "total impact" in money and in percent of the expected spend): a series
    with little traffic wobbles a lot in proportion, and without a floor a day of
    2.48 AUD against 0.54 stands out as much as a campaign costing 30 USD a day extra.

    Parameters
    ----------
    df : DataFrame
        Any frame with money and time (see :func:`cost_by`).
    by : column name or list, optional
        Look for anomalies per group (``product``, ``country_code`` ...).
    freq : str, default ``"D"``
    threshold : float, default 3.5
        Score above which a period is unusual.
    min_impact : float or mapping, default 10
        Smallest ``|cost - baseline|`` reported, in the series' currency per period; a
        mapping gives one per currency (``{"USD": 25, "EUR": 20, ...}``; every currency of
        the frame must be in it). ``0`` turns the floor off.
    min_impact_pct : float, default 20
        Smallest ``|cost - baseline|`` reported, in percent of the baseline. ``0`` turns
        it off.
    cost, time : column name, optional
        As in :func:`cost_by`.
    seasonal : bool, optional
        Force (or forbid) the same-weekday baseline; default: daily data over 21 days
        or more.

    Returns
    -------
    DataFrame
        One row per anomalous period: ``period``, the ``by`` columns, ``currency``,
        ``cost`` (exact), then as float64 ``baseline``, ``deviation`` (the impact,
        ``cost - baseline``), ``impact_pct`` (``100 x deviation / baseline``, NaN where
        the baseline is zero) and ``score``, and ``kind`` (``"spike"`` or ``"drop"``), by
        period. A series of fewer than 7 periods is not judged. To see what made a
        period, pass a row to :func:`explain_anomaly`.

    Examples
    --------
    >>> import pandas as pd
    >>> days = pd.date_range("2024-05-01", periods=14, freq="D", tz="UTC")
    >>> spend = ["100.00"] * 14
    >>> spend[9] = "550.00"
    >>> df = pd.DataFrame({"created_at": days, "cost": spend, "currency": "USD"})
    >>> a = spend_anomalies(df)
    >>> a["period"].dt.strftime("%Y-%m-%d").tolist(), a["kind"].tolist()
    (['2024-05-10'], ['spike'])
    >>> a[["deviation", "impact_pct"]].values.tolist()
    [[450.0, 450.0]]
    >>> spend_anomalies(df, min_impact=500).empty  # unusual, but less than 500 off
    True
    """
    by_cols = as_list(by)
    _check_threshold("threshold", threshold)
    _check_threshold("min_impact_pct", min_impact_pct)
    floors = _impact_floors(min_impact)
    totals = cost_by(df, by_cols, freq=freq, cost=cost, time=time)
    for present in totals["currency"].dropna().unique():
        floors(str(present))  # a currency missing from a min_impact mapping fails first
    groups = [*by_cols, "currency"]
    columns = ["period", *groups, "cost", "baseline", "deviation", "impact_pct", "score",
               "kind"]
    if totals.empty:
        return _empty_anomalies(totals, columns)
    periods = period_range(totals["period"].min(), totals["period"].max(), freq)
    if seasonal is None:
        seasonal = freq == "D" and len(periods) >= 21
    found = []
    for key, part in totals.groupby(groups, observed=True, sort=True, dropna=False):
        key_values = key if isinstance(key, tuple) else (key,)
        spend = _period_series(part, periods)
        if len(spend) < 7:
            log.info("spend_anomalies: %s has %d periods (< 7); not judged", key, len(spend))
            continue
        values = spend.to_numpy(np.float64) / UNIT
        baseline = _loo_medians(values, _seasons(periods, seasonal))  # spend's periods
        residual = values - baseline
        score = _robust_scores(residual, baseline)
        if score is None:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(baseline > 0, 100 * residual / baseline, np.nan)
        floor = floors(str(key_values[-1]))
        big = (np.abs(residual) >= floor) & ~(np.abs(pct) < min_impact_pct)
        hits = np.flatnonzero((np.abs(score) > threshold) & big)
        if not len(hits):
            continue
        rows = pd.DataFrame({"period": spend.index[hits]}
                            | dict(zip(groups, key_values, strict=True)))
        rows["cost"] = money_series(spend.to_numpy()[hits])
        rows["baseline"] = baseline[hits]
        rows["deviation"] = residual[hits]
        rows["impact_pct"] = pct[hits]
        rows["score"] = score[hits]
        rows["kind"] = np.where(score[hits] > 0, "spike", "drop")
        found.append(rows)
    if not found:
        return _empty_anomalies(totals, columns)
    out = pd.concat(found, ignore_index=True)
    out["currency"] = out["currency"].astype("category")
    # Any label sorts (pandas takes any hashable); pandas-stubs types `by` as str only.
    order: list[Any] = ["period", *groups]
    return out.sort_values(order, ignore_index=True)[columns]


def _check_threshold(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{name}={value!r}: expected a number >= 0")


def _impact_floors(min_impact: float | Mapping[str, float]) -> Callable[[str], float]:
    """``min_impact`` as a function of the currency; a bad amount raises here."""
    if not isinstance(min_impact, Mapping):
        _check_threshold("min_impact", min_impact)
        return lambda currency: float(min_impact)
    table = {}
    for currency, value in min_impact.items():
        _check_threshold(f"min_impact[{currency!r}]", value)
        table[str(currency)] = float(value)

    def floor(currency: str) -> float:
        if currency not in table:
            raise ValueError(f"min_impact: no amount for {currency}; give one per currency "
                             f"of the frame, or one number for all")
        return table[currency]

    return floor


def _period_series(totals: pd.DataFrame, periods: pd.DatetimeIndex) -> pd.Series:
    """One series' exact totals (int64 micro-units) on every period, zero where none."""
    micros, _ = to_micros(totals["cost"], "cost")
    return pd.Series(micros, index=pd.DatetimeIndex(totals["period"])).reindex(
        periods, fill_value=0)


def _seasons(periods: pd.DatetimeIndex, seasonal: bool) -> np.ndarray:
    """The season of each period whose other periods make its baseline: its weekday, or
    one season for all."""
    if seasonal:
        return periods.day_of_week.to_numpy()
    return np.zeros(len(periods), np.int64)


def explain_anomaly(
    df: pd.DataFrame,
    anomaly: Mapping[Hashable, Any] | pd.Series | str | pd.Timestamp,
    dimensions: Hashable | Sequence[Hashable],
    *,
    currency: str | None = None,
    freq: str = "D",
    top: int | None = 5,
    cost: Hashable = "cost",
    time: Hashable | None = None,
    seasonal: bool | None = None,
) -> pd.DataFrame:
    """What made a flagged period: the dimension values whose spend left their own usual.

    The period's spend is split by each dimension (profile, country, direction, message
    type ...); each value's spend in the period is set against its own baseline, worked
    out as in :func:`spend_anomalies` (the median of the other periods on the same
    weekday, or of all other periods). The values whose excess is largest in the
    anomaly's direction are the cause: "the Marketing profile spent 74.55 against a usual
    9.86; MMS 38.46 against 2.68".

    Parameters
    ----------
    df : DataFrame
        The records behind the anomaly (``tx.mdrs(...)`` for a messaging spike), with the
        dimension columns.
    anomaly : row of :func:`spend_anomalies`, or a period
        A row (``found.iloc[0]``) gives the period, the currency and the ``by`` values
        (those that are columns of ``df`` select its rows). A period (``"2024-05-10"``,
        a Timestamp) needs ``currency`` when the frame has several.
    dimensions : column name or list of names
        Where to look for the cause.
    currency : str, optional
        The currency of the series (default: the anomaly row's, or the frame's only one).
    freq : str, default ``"D"``
        As in :func:`spend_anomalies`.
    top : int or None, default 5
        Values kept per dimension, largest excess first; ``None`` keeps them all.
    cost, time : column name, optional
        As in :func:`cost_by`.
    seasonal : bool, optional
        As in :func:`spend_anomalies`.

    Returns
    -------
    DataFrame
        Per dimension (in the order given), its values by excess in the anomaly's
        direction (largest rise first for a spike, largest fall first for a drop):
        ``dimension``, ``value`` (text; ``"(missing)"`` for a missing value),
        ``currency``, ``cost`` (exact spend of the value in the period), ``baseline``,
        ``excess`` (``cost - baseline``) and ``share`` (of the whole period's excess over
        its own baseline), the last three float64. Medians do not add up, so the shares
        of a dimension need not sum to exactly 1.

    Examples
    --------
    >>> import pandas as pd
    >>> days = pd.date_range("2024-05-01", periods=14, freq="D", tz="UTC")
    >>> df = pd.DataFrame({"created_at": days.repeat(2), "currency": "USD",
    ...                    "message_type": ["SMS", "MMS"] * 14,
    ...                    "cost": ["10.00", "2.00"] * 14})
    >>> df.loc[19, "cost"] = "40.00"  # the MMS spend of 2024-05-10
    >>> found = spend_anomalies(df)
    >>> why = explain_anomaly(df, found.iloc[0], "message_type")
    >>> why[["value", "cost", "baseline", "excess"]].astype(str).values.tolist()
    [['MMS', '40.0', '2.0', '38.0'], ['SMS', '10.0', '10.0', '0.0']]
    """
    names = as_list(dimensions)
    if not names:
        raise ValueError("dimensions: give at least one column to look for the cause in")
    for name in names:
        require_column(df, name, "dimensions")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ValueError(f"top={top!r}: expected a positive integer or None")
    period, currency, selected = _the_anomaly(df, anomaly, currency, freq, time)
    frame = df[selected]
    if frame.empty:
        raise ValueError(f"anomaly: the frame has no {currency} spend to explain")
    whole = cost_by(frame, freq=freq, cost=cost, time=time)
    # The periods of the whole frame, as spend_anomalies saw them (a series that starts
    # late has zeros before it there too).
    spanned = floor(to_utc(df[_time_column(df, time)]).dropna(), freq)
    periods = period_range(min(spanned.min(), period), max(spanned.max(), period), freq)
    if seasonal is None:
        seasonal = freq == "D" and len(periods) >= 21
    seasons = _seasons(periods, seasonal)
    at = periods.get_loc(period)
    spend = _period_series(whole, periods).to_numpy(np.float64) / UNIT
    excess = spend[at] - _loo_medians(spend, seasons)[at]
    parts = []
    for name in names:
        labelled = frame.copy(deep=False)
        labelled[name] = frame[name].astype(object).where(frame[name].notna(),
                                                          "(missing)").astype(str)
        split = cost_by(labelled, name, freq=freq, cost=cost, time=time)
        rows = []
        for value, part in split.groupby(split[name], sort=True):
            micros = _period_series(part, periods)
            values = micros.to_numpy(np.float64) / UNIT
            baseline = _loo_medians(values, seasons)[at]
            rows.append({"dimension": str(name), "value": str(value), "currency": currency,
                         "_m": int(micros.to_numpy()[at]), "baseline": baseline,
                         "excess": values[at] - baseline})
        ranked = pd.DataFrame(rows)
        ranked = ranked.sort_values("excess", ascending=excess < 0, kind="stable")
        parts.append(ranked.head(top) if top is not None else ranked)
    out = pd.concat(parts, ignore_index=True)
    out.insert(3, "cost", money_series(out.pop("_m").to_numpy(np.int64)))
    out["share"] = out["excess"] / excess if excess else np.nan
    out["currency"] = out["currency"].astype("category")
    return out


def _the_anomaly(
    df: pd.DataFrame, anomaly: Any, currency: str | None, freq: str, time: Hashable | None
) -> tuple[pd.Timestamp, str, np.ndarray]:
    """The flagged period, its currency and the rows of ``df`` in its series."""
    row: dict[Hashable, Any] = {}
    if isinstance(anomaly, Mapping | pd.Series):
        row = dict(anomaly.items())
        if "period" not in row:
            raise ValueError("anomaly: a row of spend_anomalies (with a 'period') or a period")
        when = row["period"]
        if currency is None and "currency" in row:
            currency = str(row["currency"])
    else:
        when = anomaly
    try:
        stamp = pd.Timestamp(when)
    except (TypeError, ValueError):
        raise ValueError(f"anomaly={anomaly!r}: not a period (a day such as '2024-05-10', "
                         f"or a row of spend_anomalies)") from None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    period = floor(pd.Series([stamp]), freq).iloc[0]
    require_column(df, "currency", "currency")
    present = sorted({str(c) for c in df["currency"].dropna().unique()})
    if currency is None:
        if len(present) != 1:
            raise ValueError(f"currency: the frame has {', '.join(present)}; say which "
                             f"(currency='USD') or pass a row of spend_anomalies")
        currency = present[0]
    selected = (df["currency"].astype(str) == currency).to_numpy(copy=True)
    standard = {"period", "currency", "cost", "baseline", "deviation", "impact_pct", "score",
                "kind"}
    for name, value in row.items():
        if name in standard:
            continue
        if name in df.columns:
            selected &= (df[name].astype(str) == str(value)).to_numpy()
        else:
            log.debug("explain_anomaly: %s=%s is not a column of the frame; all its rows "
                      "are taken", name, value)
    return period, currency, selected


def _loo_medians(values: np.ndarray, season: np.ndarray) -> np.ndarray:
    """For each period, the median of the *other* periods of its season (same weekday).

    Leaving the period itself out keeps an outlier from pulling its own baseline, and keeps
    the residuals honest: residuals from a median fitted on the same few points are too
    small, which would make ordinary days look anomalous.
    """
    out = np.empty(len(values))
    for key in np.unique(season):
        where = np.flatnonzero(season == key)
        group = values[where]
        for i, pos in enumerate(where):
            others = np.delete(group, i)
            out[pos] = np.median(others) if others.size else group[i]
    return out


def _robust_scores(residual: np.ndarray, baseline: np.ndarray) -> np.ndarray | None:
    """Robust z-scores of residuals whose spread grows with the baseline, or None if flat.

    Spend varies in proportion to its level (a quiet Sunday wobbles less than a busy
    Tuesday), so the spread is measured on relative residuals: 1.4826 x the median of
    |residual / baseline|, the MAD scaled to a standard deviation for normal data.
    """
    positive = baseline > 0
    relative = np.abs(residual[positive] / baseline[positive])
    spread = 1.4826 * np.median(relative) if relative.size else 0.0
    if spread == 0 and relative.size:
        # More than half the periods sit on the baseline; the mean absolute deviation
        # (scaled for normal data) still lets a lone outlier stand out.
        spread = 1.2533 * np.mean(relative)
    scale = spread * baseline
    # Where the usual spend is zero, fall back to the absolute spread of all periods.
    absolute = 1.4826 * np.median(np.abs(residual)) or 1.2533 * np.mean(np.abs(residual))
    scale = np.where(positive, scale, absolute)
    if not (scale > 0).any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(scale > 0, residual / np.where(scale > 0, scale, 1), 0.0)
    return score


def _empty_anomalies(totals: pd.DataFrame, columns: list[Hashable]) -> pd.DataFrame:
    labels = list(totals.columns)
    out = totals[labels[: labels.index("cost") + 1]].iloc[:0].copy()
    for name in ("baseline", "deviation", "impact_pct", "score"):
        out[name] = pd.Series([], dtype="float64")
    out["kind"] = pd.Series([], dtype=object)
    return out[columns].reset_index(drop=True)


# -- sessions -------------------------------------------------------------------------------


def session_costs(tree: SessionTree, *, strict: bool = True) -> pd.DataFrame:
    """Cost roll-up of a session by product and event, after checking the tree's invariant.

    Every node's cumulative cost must equal its own cost plus its children's cumulative
    costs, and the root's must equal the session total. A violation raises
    :class:`SessionCostError` naming the nodes (``strict=False`` warns instead). When the
    API returned a truncated tree (``max_depth``), the cost below the deepest nodes is
    reported on a ``"(not expanded)"`` row, so the rows always add up to the total.

    Parameters
    ----------
    tree : SessionTree
        From :func:`telnyx_analytics.session_analysis` or
        :meth:`SessionTree.from_response`.
    strict : bool, default True
        Raise on a broken invariant; ``False`` issues a warning and rolls up anyway.

    Returns
    -------
    DataFrame
        Columns ``product``, ``event_name``, ``currency``, ``events`` (count), ``cost``
        (exact sum of the events' own costs) and ``share`` (of the session total),
        largest cost first.

    Examples
    --------
    >>> from telnyx_analytics.sessions import SessionTree
    >>> def node(i, product, own, cum, children=()):
    ...     return {"id": i, "product": product, "event_name": product, "record": {},
    ...             "links": {"self": "", "records": ""}, "children": list(children),
    ...             "cost": {"event_cost": own, "cumulative_cost": cum, "currency": "USD"}}
    >>> tree = SessionTree.from_response({
    ...     "session_id": "c1", "cost": {"total": "0.030000", "currency": "USD"},
    ...     "meta": {"event_count": 2, "products": ["callcontrol-cdrs", "recordings"]},
    ...     "root": node("c1", "callcontrol-cdrs", "0.020000", "0.030000",
    ...                  [node("r1", "recordings", "0.010000", "0.010000")])})
    >>> session_costs(tree)[["product", "cost"]].astype(str).values.tolist()
    [['callcontrol-cdrs', '0.02'], ['recordings', '0.01']]
    """
    violations = tree.check()
    if len(violations):
        error = SessionCostError(violations)
        if strict:
            raise error
        warnings.warn(str(error), stacklevel=2)
    nodes = tree.nodes
    micros, _ = to_micros(nodes["event_cost"], "event_cost")
    keys = [nodes["product"].astype(str), nodes["event_name"].astype(str),
            nodes["currency"].astype(str)]
    groups, sums, counts = _grouped_micros(micros, keys, nodes.index)
    groups.columns = ["product", "event_name", "currency"]
    groups["events"] = counts
    groups["_m"] = sums
    hidden = tree.hidden_cost()
    if hidden:
        extra = {"product": "(not expanded)", "event_name": "(not expanded)",
                 "currency": tree.currency, "events": tree.event_count - len(nodes),
                 "_m": int(hidden.scaleb(SCALE))}
        groups = pd.concat([groups, pd.DataFrame([extra])], ignore_index=True)
    total = sum(int(v) for v in groups["_m"])
    groups["share"] = [int(v) / total if total else np.nan for v in groups["_m"]]
    groups = groups.sort_values(["_m", "product", "event_name"], ascending=[False, True, True],
                                ignore_index=True)
    groups["cost"] = money_series(np.array([int(v) for v in groups["_m"]], dtype=np.int64))
    groups["currency"] = groups["currency"].astype("category")
    groups["events"] = groups["events"].astype(np.int64)
    return groups[["product", "event_name", "currency", "events", "cost", "share"]]
