"""The one money policy: how amounts are parsed, carried, summed, converted and given back.

- **Carried** as ``float64`` in every frame, so that everyday pandas (``nlargest``,
  ``describe``, ``.plot.hist()``, a plain ``pd.read_parquet``) just works.
- **Exact to the micro-unit** (1e-6, the API's published precision) below :data:`BOUND`
  (2**32 units): an amount with at most six decimals is stored as the float64 nearest to
  it, and ``round(x * 1e6)`` gives its micro-units back exactly.
- **Summed** as exact integer micro-units (:func:`to_micros`), never as floats, and never
  across currencies.
- **Parsed** strictly (:func:`parse`): decimal text (``"0.0040"``, as most endpoints send
  it), JSON numbers (``/usage_reports``) and integers. Anything else (``"12,50"``, ``""``,
  ``true``, ``NaN``, ``Infinity``, an amount of :data:`BOUND` or more) is refused.
- **More than six decimals is refused, never rounded**, whether the amount comes from the
  API or from a frame: a rounded amount is a changed number in somebody's spend report.
- **Converted** between currencies only with rates the caller gives
  (:func:`convert_micros`), rounded half to even at the micro-unit.

Every module that touches money (frames, analysis, sessions, plots, the lake) goes through
the functions here.

>>> to_micros(to_money(["0.0040", "1.25"]))[0].tolist()
[4000, 1250000]
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "BOUND",
    "INT64_MAX",
    "MONEY",
    "MONEY_COLUMNS",
    "SCALE",
    "UNIT",
    "MoneyError",
    "MoneyPrecisionWarning",
    "Rates",
    "convert_micros",
    "currency_column",
    "day_values",
    "from_micros",
    "is_money",
    "is_money_name",
    "money_array",
    "money_series",
    "parse",
    "to_decimal",
    "to_micros",
    "to_money",
]

#: The dtype of every money column.
MONEY = np.dtype("float64")
SCALE = 6
UNIT = 10**SCALE
QUANTUM = Decimal(1).scaleb(-SCALE)  # Decimal("0.000001")
#: Amounts are exact below this many units (checked over millions of random amounts and
#: every micro-unit next to each power of two: tests/test_money.py). From 2**32 to about
#: 4.5e9 the float64 nearest to an amount can sit more than half a micro-unit away once
#: multiplied back, so larger amounts are refused.
BOUND = 2**32
MICROS_BOUND = BOUND * UNIT
INT64_MAX = 2**63 - 1
# Parsing text goes through a decimal wide enough for any amount that could be refused
# with a clear reason (rather than "does not fit").
_WIDE = pa.decimal128(38, SCALE)

#: Money columns of the documented frames; :func:`is_money_name` adds the patterns.
MONEY_COLUMNS = frozenset(
    {"cost", "total_cost", "rate", "carrier_fee", "carrier_passthrough_fee", "event_cost",
     "cumulative_cost"}
)


class MoneyError(ValueError):
    """An amount the money policy refuses.

    ``position`` is the row of the first offending value (``None`` when not known) and
    ``value`` that value; the message names the column.
    """

    def __init__(self, name: str, reason: str, position: int | None = None,
                 value: Any = None) -> None:
        self.name = name
        self.reason = reason
        self.position = position
        self.value = value
        where = "" if position is None else f" (row {position})"
        super().__init__(f"column {name!r}: {reason}{where}")


class MoneyPrecisionWarning(UserWarning):
    """A total of :data:`BOUND` units or more: float64 holds it only to about 1e-16 of it."""


# -- names --------------------------------------------------------------------------------


def is_money_name(name: Hashable) -> bool:
    """Whether a column of this name holds money (``cost``, ``rate``, ``*_cost``, ``*_fee``).

    >>> [is_money_name(n) for n in ("cost", "total_cost", "carrier_fee", "parts", "cost_usd")]
    [True, True, True, False, True]
    """
    if not isinstance(name, str):
        return False
    return (name in MONEY_COLUMNS or name.endswith(("_cost", "_fee"))
            or (name.startswith(("cost_", "rate_")) and not name.endswith("_currency")))


def is_money(df: pd.DataFrame, column: Hashable) -> bool:
    """Whether ``df[column]`` holds money: a money name and a dtype that can hold amounts.

    >>> is_money(pd.DataFrame({"cost": [0.5], "parts": [1]}), "cost")
    True
    """
    dtype = df[column].dtype
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_decimal(dtype.pyarrow_dtype):
        return True
    if (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)):
        return False
    return is_money_name(column)


def currency_column(df: pd.DataFrame, column: Hashable, default: Hashable = "currency") -> Hashable:
    """The column holding the currency of money column ``column``.

    ``<column>_currency`` when the frame has it (a wireless record's ``rate`` is in
    ``rate_currency``), else ``default``.

    >>> currency_column(pd.DataFrame(columns=["rate", "rate_currency", "currency"]), "rate")
    'rate_currency'
    """
    own = f"{column}_currency"
    return own if own in df.columns else default


# -- parsing ------------------------------------------------------------------------------


def _array(values: Any) -> pa.Array:
    """Values as one Arrow array; mixed or oversized Python values as their text."""
    if isinstance(values, pa.ChunkedArray):
        arr = values.combine_chunks()
    elif isinstance(values, pa.Array):
        arr = values
    else:
        try:
            arr = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
            arr = pa.array([None if v is None else _text(v) for v in values], pa.string())
    if pa.types.is_dictionary(arr.type):  # a categorical column of amounts
        arr = arr.dictionary_decode()
    return arr


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON wrote it: refused below
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse(values: Any, name: str = "amount") -> tuple[np.ndarray, np.ndarray]:
    """Amounts as an answer of the API holds them: ``(int64 micro-units, present mask)``.

    Strict: decimal text, JSON numbers and integers with at most six decimals and below
    :data:`BOUND`; ``None`` (JSON ``null``) is missing. Anything else raises
    :class:`MoneyError` with the position of the first offending value.

    >>> parse(["0.0040", 12, 0.5, None])[0].tolist()
    [4000, 12000000, 500000, 0]
    >>> parse(["12,50"], "cost")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    telnyx_analytics._money.MoneyError: column 'cost': '12,50' is not an amount ... (row 0)
    """
    return _micros(_array(values), name, strict=True)


def to_micros(values: pd.Series | Sequence[Any],
              name: str = "cost") -> tuple[np.ndarray, np.ndarray]:
    """Amounts of a frame as ``(int64 micro-units (0 where missing), present mask)``.

    Accepts what a frame may hold: float64 (this package's money dtype, or what a plain
    ``read_csv`` makes of ``0.0040``), decimal dtypes, ``Decimal`` objects, strings and
    integers; ``NaN``/``None``/``""`` are missing. Raises :class:`MoneyError` (a
    ``ValueError``) naming ``name`` for a value with more than six decimals, one of
    :data:`BOUND` units or more, or one that is not a number.

    >>> to_micros(pd.Series([0.004, float("nan"), 1.25]))[0].tolist()
    [4000, 0, 1250000]
    """
    if isinstance(values, pd.Series) and values.dtype.kind == "f":
        x = values.to_numpy(np.float64, copy=False)
        return _float_micros(x, np.isnan(x), name)
    if not isinstance(values, pd.Series):
        values = pd.Series(list(values), dtype=object)
    if hasattr(values.array, "__arrow_array__"):
        arr = _array(values.array.__arrow_array__())
    else:
        raw = values.to_numpy()
        try:
            arr = pa.array(raw, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
            # Mixed objects (Decimals and strings from a hand-made frame): their text is
            # exact for both.
            arr = pa.array([None if _isna(v) else _text(v) for v in raw], pa.string())
    return _micros(_array(arr), name, strict=False)


def _isna(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _micros(arr: pa.Array, name: str, *, strict: bool) -> tuple[np.ndarray, np.ndarray]:
    kind = arr.type
    n = len(arr)
    if pa.types.is_null(kind):
        return np.zeros(n, np.int64), np.zeros(n, bool)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if not strict:  # a CSV's spaces and empty cells
            arr = pc.utf8_trim_whitespace(arr)
            arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
        try:
            arr = arr.cast(_WIDE)
        except pa.ArrowInvalid:
            pos, value = _first_bad_text(arr)
            raise MoneyError(name, f"{value!r} is not an amount with at most {SCALE} decimals"
                             + (" (money is never rounded)" if _decimals(value) > SCALE else ""),
                             pos, value) from None
        kind = arr.type
    valid = np.ones(n, bool) if arr.null_count == 0 else np.asarray(arr.is_valid())
    if pa.types.is_decimal(kind):
        micros = _decimal_micros(arr, name, valid)
    elif pa.types.is_floating(kind):
        x = arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        nan = ~valid | np.isnan(x)
        if strict and (np.isnan(x) & valid).any():
            pos = int(np.flatnonzero(np.isnan(x) & valid)[0])
            raise MoneyError(name, "NaN is not an amount", pos, float("nan"))
        return _float_micros(x, nan, name)
    elif pa.types.is_integer(kind):
        ints = arr.cast(pa.int64()).to_numpy(zero_copy_only=False)
        micros = np.where(valid, ints, 0)
        big = valid & (np.abs(micros) >= BOUND)
        if big.any():
            pos = int(np.flatnonzero(big)[0])
            raise _too_large(name, pos, int(micros[pos]))
        micros = micros * UNIT
    else:
        pos = int(np.flatnonzero(valid)[0]) if valid.any() else 0
        value = arr[pos].as_py() if n else None
        raise MoneyError(name, f"{value!r} ({kind}) is not an amount", pos, value)
    big = np.abs(micros) >= MICROS_BOUND
    if big.any():
        pos = int(np.flatnonzero(big)[0])
        raise _too_large(name, pos, to_decimal(int(micros[pos])))
    return micros, valid


def _decimals(text: Any) -> int:
    try:
        exponent = Decimal(str(text).strip()).as_tuple().exponent
    except (InvalidOperation, ValueError):
        return 0
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _first_bad_text(arr: pa.Array) -> tuple[int, Any]:
    """The first string that does not cast to an amount (the slow road, on error only)."""
    for pos, value in enumerate(arr.to_pylist()):
        if value is None:
            continue
        try:
            pa.array([value]).cast(_WIDE)
        except pa.ArrowInvalid:
            return pos, value
    return 0, None  # pragma: no cover - the vectorised cast failed on some value


def _too_large(name: str, pos: int, value: Any) -> MoneyError:
    return MoneyError(name, f"{value} is beyond what money holds exactly (|amount| < 2**32 = "
                            f"{BOUND:,})", pos, value)


def _decimal_micros(arr: pa.Array, name: str, valid: np.ndarray) -> np.ndarray:
    kind = arr.type
    if kind.scale != SCALE or not isinstance(kind, pa.Decimal128Type):
        try:
            # A safe cast: pyarrow refuses ("would cause data loss") rather than round.
            arr = arr.cast(_WIDE)
        except pa.ArrowInvalid:
            for pos, value in enumerate(arr.to_pylist()):
                if value is not None and value != value.quantize(QUANTUM):
                    raise MoneyError(name, f"{value} has more than {SCALE} decimals; money is "
                                           f"never rounded", pos, value) from None
            raise MoneyError(name, "an amount is too large") from None
    n = len(arr)
    # A decimal128 value with scale 6 is stored as a 128-bit integer of micro-units; read
    # its two 64-bit words in place (little-endian, as every platform we ship on). It fits
    # int64 when the high word is the sign of the low one.
    words = np.frombuffer(arr.buffers()[1], np.int64, count=2 * (arr.offset + n))[2 * arr.offset:]
    low, high = words[0::2], words[1::2]
    fits = (high == (low >> 63)) | ~valid
    if not fits.all():
        pos = int(np.flatnonzero(~fits)[0])
        raise _too_large(name, pos, arr[pos].as_py())
    return np.where(valid, low, 0) if not valid.all() else low.copy()


def _float_micros(x: np.ndarray, missing: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    valid = ~missing
    if missing.any():
        x = np.where(valid, x, 0.0)
    if x.size and not (x.max() < BOUND and x.min() > -BOUND):  # infinities too
        pos = int(np.flatnonzero(~(np.abs(x) < BOUND))[0])  # only on error: find the value
        raise _too_large(name, pos, x[pos])
    micros = x * UNIT
    np.rint(micros, out=micros)  # in place: this runs on every row a total reads
    # Below BOUND, the float nearest to an amount with at most 6 decimals comes back from
    # its micro-units exactly; a float that does not had more decimals (or came out of
    # float arithmetic): rounding it would change the number, so it is refused.
    bad = micros / UNIT != x
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise MoneyError(name, f"{x[pos]!r} has more than {SCALE} decimals; money is never "
                               f"rounded (round it yourself first: .round({SCALE}))",
                         pos, x[pos])
    return micros.astype(np.int64), valid


# -- giving amounts back -------------------------------------------------------------------


def from_micros(micros: np.ndarray | Sequence[int], valid: np.ndarray | None = None) -> np.ndarray:
    """Integer micro-units (int64, or Python ints of any size) as float64 amounts (NaN where
    not ``valid``). Each is the float64 nearest to the exact amount.

    A total of :data:`BOUND` units or more issues a :class:`MoneyPrecisionWarning`: float64
    then holds it to about 1e-16 of its size, not to the micro-unit.

    >>> from_micros([4000, 1250000]).tolist()
    [0.004, 1.25]
    """
    m = np.asarray(micros)
    if m.dtype == object:  # totals past int64: rare, so plain Python is fine
        out = np.array([int(v) / UNIT for v in m], dtype=np.float64)  # correctly rounded
        big = any(abs(int(v)) >= MICROS_BOUND for v in m)
    else:
        m = m.astype(np.int64, copy=False)
        out = m / UNIT  # int64 -> float64 is exact below 2**53; the division correctly rounded
        big = bool(m.size) and (m.max() >= MICROS_BOUND or m.min() <= -MICROS_BOUND)
    if big:
        warnings.warn(f"a money total of {BOUND:,} units or more is held as float64 to about "
                      f"1e-16 of its size, not to the micro-unit", MoneyPrecisionWarning,
                      stacklevel=3)
    if valid is not None and not np.all(valid):
        out[~np.asarray(valid, bool)] = np.nan
    return out


def money_series(micros: Any, index: pd.Index | None = None,
                 valid: np.ndarray | None = None, name: Hashable | None = None) -> pd.Series:
    """Integer micro-units as a money Series (float64)."""
    return pd.Series(from_micros(micros, valid), index=index, name=name)


def money_array(micros: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Integer micro-units as an Arrow float64 array (null where not ``valid``)."""
    out = from_micros(micros)
    return pa.array(out, mask=None if valid.all() else ~valid)


def to_decimal(micros: int) -> Decimal:
    """Micro-units as an exact ``Decimal`` with six decimals.

    >>> to_decimal(56800)
    Decimal('0.056800')
    """
    return Decimal(int(micros)).scaleb(-SCALE)


def to_money(values: pd.Series | Sequence[Any]) -> pd.Series:
    """Amounts as the money dtype (``float64``), checked against the money policy.

    Strings and ``Decimal`` objects with at most six decimals convert exactly, floats when
    they carry at most six decimals. A value with more decimals, or of 2**32 units or
    more, raises ``ValueError`` (money is never rounded silently). Missing values are NaN.

    Parameters
    ----------
    values : Series or sequence
        Amounts as decimals, strings, floats or integers.

    Returns
    -------
    Series
        The amounts, dtype ``float64``, each the float nearest to the exact amount.

    Examples
    --------
    >>> to_money(["0.0040", "1.25"]).tolist()
    [0.004, 1.25]
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    micros, valid = to_micros(series, str(series.name or "values"))
    return money_series(micros, series.index, valid, series.name)


# -- currency conversion -------------------------------------------------------------------


def _rate(value: Any, where: str) -> tuple[int, int]:
    """A rate as an exact fraction ``(numerator, power-of-ten denominator)``."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise TypeError(f"{where}: a rate is a number or decimal text, not {value!r}")
    try:
        d = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float)
                                                             else str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if not d.is_finite() or d < 0:
        raise ValueError(f"{where}: {value!r} is not a usable rate (a finite number >= 0)")
    _, digits, exponent = d.as_tuple()
    numerator = int("".join(map(str, digits)) or "0")
    assert isinstance(exponent, int)
    if exponent >= 0:
        return numerator * 10**exponent, 1
    return numerator, 10**-exponent


@dataclass(frozen=True)
class Rates:
    """Conversion rates into one currency, exact, by currency (and day, for daily rates).

    Built by :meth:`of` from what a user passes as ``rates=``: a mapping currency -> rate
    (units of ``to`` per unit of the currency), or a frame of daily rates with columns
    ``date`` (a day, UTC), ``currency`` and ``rate``. ``to`` itself has rate 1.
    """

    to: str
    fixed: Mapping[str, tuple[int, int]]
    daily: Mapping[tuple[str, str], tuple[int, int]] | None = None  # (currency, "YYYY-MM-DD")

    @classmethod
    def of(cls, rates: Any, to: str) -> Rates:
        if not isinstance(to, str) or not to:
            raise TypeError(f"to={to!r}: the currency to convert into, such as 'USD'")
        if isinstance(rates, Rates):
            return rates
        if isinstance(rates, pd.DataFrame):
            missing = [c for c in ("date", "currency", "rate") if c not in rates.columns]
            if missing:
                raise ValueError(f"rates: a frame of daily rates needs the columns date, "
                                 f"currency and rate; it lacks {', '.join(missing)}")
            days = day_values(rates["date"], "rates['date']").astype(str)
            daily = {}
            for day, cur, value in zip(days, rates["currency"], rates["rate"], strict=True):
                daily[(str(cur), day)] = _rate(value, f"rates: {cur} on {day}")
            return cls(to, {to: (1, 1)}, daily)
        if isinstance(rates, Mapping):
            table = {str(k): _rate(v, f"rates[{k!r}]") for k, v in rates.items()}
            table.setdefault(to, (1, 1))
            return cls(to, table)
        raise TypeError(f"rates: a mapping currency -> rate, or a frame with columns date, "
                        f"currency and rate; not {type(rates).__name__}")

    def lookup(self, currency: str, day: str | None) -> tuple[int, int]:
        """The exact rate of ``currency`` (on ``day``, ``"YYYY-MM-DD"``, for daily rates)."""
        if currency in self.fixed:
            return self.fixed[currency]
        if self.daily is not None and (currency, day) in self.daily:
            return self.daily[(currency, str(day))]
        when = "" if self.daily is None else (" on an unknown day (no time)" if day == "NaT"
                                              else f" on {day}")
        raise ValueError(f"rates: no rate for {currency}{when} (into {self.to})")


def day_values(values: pd.Series, what: str) -> np.ndarray:
    """Each value's UTC day as ``datetime64[D]`` (naive values are UTC)."""
    try:
        # Text only as ISO 8601: "11/01/2026" is no day this package guesses at.
        text = values.dtype == object or pd.api.types.is_string_dtype(values.dtype)
        times = pd.to_datetime(values, utc=True, format="ISO8601" if text else None)
    except (ValueError, TypeError):
        raise ValueError(f"{what}: days as dates, timestamps or ISO 8601 text") from None
    return times.dt.tz_convert(None).to_numpy("datetime64[D]")


def convert_micros(
    micros: np.ndarray,
    currencies: np.ndarray | pd.Series,
    rates: Rates,
    days: np.ndarray | None = None,
    valid: np.ndarray | None = None,
) -> np.ndarray:
    """Micro-units in ``currencies`` as micro-units of ``rates.to``, exactly.

    Each amount is multiplied by its exact rate (for its currency, and its day with daily
    rates) and rounded half to even at the micro-unit. A missing rate raises ``ValueError``
    naming the currency and the day. Amounts not ``valid`` are left at 0 and need no rate.

    >>> r = Rates.of({"EUR": "1.08"}, "USD")
    >>> convert_micros(np.array([1_000_000, 5]), np.array(["EUR", "USD"]), r).tolist()
    [1080000, 5]
    """
    n = len(micros)
    if valid is None:
        valid = np.ones(n, bool)
    cur = pd.Series(np.asarray(currencies, dtype=object)).astype(str).to_numpy()
    if rates.daily is not None and days is None:
        raise ValueError("rates: daily rates need each amount's day (a time column)")
    use_days = rates.daily is not None
    day_text = np.asarray(days).astype("datetime64[D]").astype(str) if use_days else None
    codes, uniques = pd.factorize(
        pd.MultiIndex.from_arrays([cur, day_text]) if use_days else pd.Index(cur))
    num = np.zeros(len(uniques), object)
    den = np.ones(len(uniques), object)
    for i in np.unique(codes[valid]):  # only the rates some amount needs
        currency, day = uniques[i] if use_days else (uniques[i], None)
        num[i], den[i] = rates.lookup(str(currency), day)
    p, q = num[codes], den[codes]
    largest = int(np.abs(micros[valid]).max()) if valid.any() else 0
    if (max(num, default=0) * largest < 2**62) and max(den, default=1) < 2**62:
        p, q = p.astype(np.int64), q.astype(np.int64)
        m = np.where(valid, micros, 0).astype(np.int64)
        quotient, remainder = np.divmod(m * p, q)
    else:  # rates with very many digits: Python integers, exact at any size
        m = np.where(valid, micros, 0).astype(object)
        product = m * p
        quotient, remainder = product // q, product % q
    # Half to even: up when the remainder is more than half, or exactly half and odd.
    up = (2 * remainder > q) | ((2 * remainder == q) & (quotient % 2 == 1))
    out = quotient + up.astype(np.int64)
    if out.dtype == object:
        values = [int(v) for v in out]
        return (np.array(values, np.int64) if all(abs(v) <= INT64_MAX for v in values)
                else np.array(values, dtype=object))
    return out.astype(np.int64)
