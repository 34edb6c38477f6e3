"""The one money policy: how amounts are parsed, carried, summed and given back.

Amounts are summed as exact integer micro-units (1e-6, the API's published precision)
and never added across currencies. Every module that touches money (frames, analysis,
sessions, plots, the lake) goes through the functions here.

>>> to_micros(to_money(["0.0040", "1.25"]))[0].tolist()
[4000, 1250000]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._frames import MONEY_DTYPE

__all__ = [
    "INT64_MAX",
    "MONEY",
    "MONEY_WIDE",
    "QUANTUM",
    "SCALE",
    "UNIT",
    "from_micros",
    "money_series",
    "to_micros",
    "to_money",
]

#: The money dtype of every frame: exact to the API's six published decimals.
MONEY = MONEY_DTYPE
SCALE = 6
UNIT = 10**SCALE
QUANTUM = Decimal(1).scaleb(-SCALE)  # Decimal("0.000001")
MONEY_WIDE = pa.decimal128(38, 6)  # for totals past decimal128(18, 6)
INT64_MAX = 2**63 - 1
# A float64 carries 15 significant digits faithfully; with 6 decimals that leaves 9 before
# the point. Larger floats cannot be read back exactly, so they are refused.
FLOAT_LIMIT = 1e9


def as_arrow(values: pd.Series) -> pa.Array:
    """The values as one pyarrow array, without copying when they already are Arrow."""
    if hasattr(values.array, "__arrow_array__"):
        arr = values.array.__arrow_array__()
    else:
        raw = values.to_numpy()
        try:
            arr = pa.array(raw, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            # Mixed objects (say Decimals and strings from a hand-made frame): go through
            # their text, which is exact for both.
            arr = pa.array([None if isna(v) else str(v) for v in raw], pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):  # a categorical column of amounts
        arr = arr.dictionary_decode()
    return arr


def isna(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def to_micros(values: pd.Series, name: str = "cost") -> tuple[np.ndarray, np.ndarray]:
    """Amounts as int64 micro-units (0 where missing) and a mask of present values.

    Raises ``ValueError`` naming ``name`` when a value has more than six decimals, is not
    a number, or is too large to be carried exactly.
    """
    arr = as_arrow(values)
    kind = arr.type
    if pa.types.is_null(kind):
        return np.zeros(len(arr), np.int64), np.zeros(len(arr), bool)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(arr)
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
        try:
            arr = text.cast(MONEY_WIDE)
        except pa.ArrowInvalid as exc:
            raise ValueError(f"column {name!r}: not an exact amount with at most 6 decimals "
                             f"({exc})") from None
        kind = arr.type
    if pa.types.is_decimal(kind):
        return _decimal_micros(arr, name)
    if pa.types.is_floating(kind):
        return _float_micros(arr, name)
    if pa.types.is_integer(kind):
        ints = arr.cast(pa.int64()).to_numpy(zero_copy_only=False)
        valid = np.asarray(arr.is_valid())
        ints = np.where(valid, ints, 0)
        if ints.size and np.abs(ints).max() > INT64_MAX // UNIT:
            raise ValueError(f"column {name!r}: an amount is too large to be carried exactly")
        return ints * UNIT, valid
    raise TypeError(f"column {name!r}: money must be decimal, string or numeric, not {kind}")


def _decimal_micros(arr: pa.Array, name: str) -> tuple[np.ndarray, np.ndarray]:
    kind = arr.type
    if kind.scale != SCALE or not isinstance(kind, pa.Decimal128Type):
        try:
            # A safe cast: pyarrow refuses ("would cause data loss") rather than round.
            arr = arr.cast(MONEY_WIDE)
        except pa.ArrowInvalid as exc:
            raise ValueError(f"column {name!r}: an amount has more than 6 decimals or too many "
                             f"digits ({exc})") from None
    n = len(arr)
    valid = np.ones(n, bool) if arr.null_count == 0 else np.asarray(arr.is_valid())
    if sys.byteorder != "little":  # pragma: no cover - every platform we ship on is little
        micros = [0 if v is None else int(v.scaleb(SCALE)) for v in arr.to_pylist()]
        return np.asarray(micros, np.int64), valid
    # A decimal128 value with scale 6 is stored as a 128-bit integer of micro-units; read
    # its two 64-bit words in place. It fits int64 when the high word is the sign of the low.
    words = np.frombuffer(arr.buffers()[1], np.int64, count=2 * (arr.offset + n))[2 * arr.offset:]
    low, high = words[0::2], words[1::2]
    fits = high == (low >> 63)
    if not fits.all() and not fits[valid].all():
        raise ValueError(f"column {name!r}: an amount is too large to be carried exactly")
    if arr.null_count:
        low = np.where(valid, low, 0)  # the slot under a null is unspecified
    return low, valid


def _float_micros(arr: pa.Array, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    valid = ~np.isnan(x)
    x = np.where(valid, x, 0.0)
    if not np.isfinite(x).all() or (x.size and np.abs(x).max() >= FLOAT_LIMIT):
        raise ValueError(f"column {name!r}: a float amount is infinite or too large to be "
                         f"read exactly; load the column as text instead")
    micros = np.rint(x * UNIT)
    # A float parsed from a decimal with at most 6 decimals is the nearest double to it,
    # and micros / 1e6 is correctly rounded: so the round trip is exact iff the float
    # really had at most 6 decimals. Anything else would be rounding, so it is refused.
    bad = micros / UNIT != x
    if bad.any():
        raise ValueError(f"column {name!r}: {x[bad][0]!r} has more than 6 decimals; "
                         f"refusing to round money")
    return micros.astype(np.int64), valid


def from_micros(micros: np.ndarray | Sequence[int], valid: np.ndarray | None = None) -> pa.Array:
    """Integer micro-units (int64, or Python ints of any size) as a decimal128 array."""
    m = np.asarray(micros)
    if m.dtype == object:  # totals past int64: rare, so plain Python is fine
        values = [None if (valid is not None and not ok) else Decimal(int(v)).scaleb(-SCALE)
                  for v, ok in zip(m, valid if valid is not None else np.ones(len(m), bool),
                                   strict=True)]
        wide = any(v is not None and abs(v) >= Decimal(10) ** 12 for v in values)
        return pa.array(values, MONEY_WIDE if wide else MONEY.pyarrow_dtype)
    m = m.astype(np.int64, copy=False)
    n = len(m)
    words = np.empty(2 * n, np.int64)
    words[0::2] = m
    words[1::2] = m >> 63  # sign extension to 128 bits
    wide = bool(n) and int(np.abs(m).max()) >= 10**18
    kind = MONEY_WIDE if wide else MONEY.pyarrow_dtype
    mask = None
    if valid is not None and not valid.all():
        mask = pa.array(valid).buffers()[1]
        if pa.array(valid).offset:  # pragma: no cover - a fresh array has no offset
            mask = pa.array(valid.copy()).buffers()[1]
    return pa.Array.from_buffers(kind, n, [mask, pa.py_buffer(words)])


def money_series(micros: Any, index: pd.Index | None = None,
                  valid: np.ndarray | None = None, name: str | None = None) -> pd.Series:
    arr = from_micros(micros, valid)
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=index, name=name)


def to_money(values: pd.Series | Sequence[Any]) -> pd.Series:
    """Convert amounts to the exact money dtype ``decimal128(18, 6)[pyarrow]``.

    Strings and ``Decimal`` objects convert exactly; floats convert exactly when they carry
    at most six decimals. A value with more decimals raises ``ValueError`` (money is never
    rounded silently). Missing values stay missing.

    Parameters
    ----------
    values : Series or sequence
        Amounts as decimals, strings, floats or integers.

    Returns
    -------
    Series
        The amounts, dtype ``decimal128(18, 6)[pyarrow]``.

    Examples
    --------
    >>> to_money(["0.0040", "1.25"]).tolist()
    [Decimal('0.004000'), Decimal('1.250000')]
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    micros, valid = to_micros(series, str(series.name or "values"))
    return money_series(micros, series.index, valid, series.name)
