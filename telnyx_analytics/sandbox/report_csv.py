"""Report CSVs of the sandbox: ledger frames in, CSV bytes out, fast.

Every column is turned into an Arrow array with vectorised compute (no Python loop over
rows), then ``pyarrow.csv`` writes the table: a million CDRs take a few seconds. The
columns of each kind are those of docs/frames.md ("Report CSVs").

Formats, shared by every report:

- money: integer micro-units (1e-6) written as exact decimal strings with a fixed number
  of decimals (``usage.format_money``: integer arithmetic only);
- timestamps: ISO 8601 UTC with microseconds and ``Z``;
- a missing value is an empty field.

>>> import pandas as pd
>>> to_csv({"cost": money(pd.Series([12_345, -500]), 4)}).decode()
'"cost"\\n"0.0123"\\n"-0.0005"\\n'
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from . import usage
from .spec import CDR_COLUMNS

PRICE_DECIMALS = 4  # message, call and lookup rates and costs (docs/sandbox.md, "Money")
WIRELESS_COST_DECIMALS = 6
WIRELESS_RATE_DECIMALS = 4


MDR_COLUMNS: tuple[str, ...] = (
    "id", "created_at", "direction", "message_type", "status", "cli", "cld", "country_code",
    "profile_id", "profile_name", "tags", "tn_type", "parts", "rate", "cost", "carrier_fee",
    "currency",
)  # fmt: skip

WDR_COLUMNS: tuple[str, ...] = (
    "id", "created_at", "sim_card_id", "sim_group_id", "sim_group_name", "imsi", "mcc", "mnc",
    "phone_number", "duration_seconds", "uplink_data_mb", "downlink_data_mb", "rate", "cost",
    "currency",
)  # fmt: skip

PHONE_NUMBER_COLUMNS: dict[str, tuple[str, ...]] = {
    "V1": (
        "phone_number", "status", "country_code", "number_type", "connection_id",
        "connection_name", "billing_group_id", "tags", "customer_reference", "created_at",
    ),
}  # fmt: skip
PHONE_NUMBER_COLUMNS["V2"] = (
    *PHONE_NUMBER_COLUMNS["V1"],
    "emergency_address_id",
    "usage_payment_method",
)

# Placeholder texts for ``include_message_body``: the ledger keeps no message text.
_BODIES = (
    "Your verification code is 482913",
    "Your order has shipped and arrives tomorrow.",
    "Reminder: your appointment is at 3 pm.",
    "Thanks for your reply!",
    "Reply STOP to unsubscribe.",
)


# -- column formatters ---------------------------------------------------------------------


def _ints(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """int64 values and a missing-value mask, from any integer-like column."""
    series = pd.Series(values)
    missing = series.isna().to_numpy()
    return series.to_numpy(dtype=np.int64, na_value=0), missing


def money(micro: Any, decimals: int) -> pa.Array:
    """Integer micro-units as exact decimal strings with ``decimals`` decimals.

    The digits are ``usage.format_money``'s (one writer of money for every answer);
    missing values stay missing.

    >>> money([1_234_500, 7], 4).to_pylist()
    ['1.2345', '0.0000']
    """
    values, missing = _ints(micro)
    return _with_nulls(text(usage.format_money(values, decimals)), missing)


def hundredths(centi: Any) -> pa.Array:
    """Integer hundredths (``uplink_cmb``: centi-megabytes) as ``"12.34"``."""
    return money(pd.Series(centi).astype("Int64") * 10_000, 2)


def timestamps(values: Any) -> pa.Array:
    """Timestamps as ``2024-05-01T13:45:10.123456Z`` (naive values are taken as UTC)."""
    stamps = pd.to_datetime(pd.Series(values), utc=True)
    # Casting naive microsecond timestamps to text is several times faster than strftime.
    naive = pa.array(stamps.dt.tz_localize(None)).cast(pa.timestamp("us"), safe=False)
    iso = pc.replace_substring(naive.cast(pa.string()), " ", "T")
    return pc.binary_join_element_wise(iso, "Z", "")


def text(values: Any) -> pa.Array:
    """Any column as strings; lists (tags) are joined with commas, missing stays empty."""
    series = pd.Series(values)
    if series.dtype == object and series.map(lambda v: isinstance(v, list | tuple)).any():
        series = series.map(lambda v: ",".join(map(str, v)) if isinstance(v, list | tuple) else v)
    arr = pa.array(series, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr if arr.type == pa.string() else arr.cast(pa.string())


def integers(values: Any) -> pa.Array:
    values_, missing = _ints(values)
    return pa.array(values_, mask=missing)


def floats(values: Any, decimals: int = 2) -> pa.Array:
    """Measures (MOS) as fixed-point strings, so the bytes do not depend on float printing."""
    series = pd.Series(values, dtype="float64")
    scaled = (series * 10**decimals).round()
    return money(scaled.astype("Int64") * 10 ** (6 - decimals), decimals)


def _with_nulls(arr: pa.Array, missing: np.ndarray) -> pa.Array:
    if not missing.any():
        return arr
    return pc.if_else(pa.array(missing), pa.scalar(None, arr.type), arr)


def to_csv(columns: Mapping[str, Any]) -> bytes:
    """Write named columns (Arrow arrays or anything ``pa.array`` takes) as CSV bytes."""
    table = pa.table(
        {
            name: col if isinstance(col, pa.Array | pa.ChunkedArray) else pa.array(col)
            for name, col in columns.items()
        }
    )
    sink = io.BytesIO()
    # "needed" quotes every string value: tags may contain commas, numbers stay bare.
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(quoting_style="needed"))
    return sink.getvalue()


def frame_to_csv(frame: pd.DataFrame) -> bytes:
    """A frame whose columns are already formatted (strings and integers) as CSV bytes."""
    columns: dict[str, pa.Array] = {}
    for name in frame.columns:
        col = frame[name]
        columns[str(name)] = integers(col) if pd.api.types.is_integer_dtype(col) else text(col)
    return to_csv(columns)


# -- report kinds --------------------------------------------------------------------------


def mdr_detail(messages: pd.DataFrame, *, include_body: bool = False) -> bytes:
    """The MDR detail report of ``ledger.messages(...)`` rows (already filtered)."""
    m = messages
    columns: dict[str, Any] = {
        "id": text(m["id"]),
        "created_at": timestamps(m["created_at"]),
        "direction": text(m["direction"]),
        "message_type": text(m["message_type"]),
        "status": text(m["status"]),
        "cli": text(m["cli"]),
        "cld": text(m["cld"]),
        "country_code": text(m["country_code"]),
        "profile_id": text(m["profile_id"]),
        "profile_name": text(m["profile_name"]),
        "tags": text(m["tags"]),
        "tn_type": text(m["tn_type"]),
        "parts": integers(m["parts"]),
        "rate": money(m["rate_micro"], PRICE_DECIMALS),
        "cost": money(m["cost_micro"], PRICE_DECIMALS),
        "carrier_fee": money(m["carrier_fee_micro"], PRICE_DECIMALS),
        "currency": text(m["currency"]),
    }
    if include_body:
        # A stable pick per message id, so the bytes are the same on every run.
        pick = pd.util.hash_pandas_object(m["id"].astype("str"), index=False).to_numpy()
        columns["message_body"] = pa.array(np.asarray(_BODIES, dtype=object)[pick % len(_BODIES)])
    return to_csv(columns)


def cdr_detail(
    calls: pd.DataFrame,
    *,
    fields: Sequence[str] | None = None,
    number_countries: Mapping[str, str] | None = None,
) -> bytes:
    """The CDR detail report of ``ledger.calls(...)`` rows (already filtered).

    ``fields`` picks columns (kept in the order of :data:`CDR_COLUMNS`); ``number_countries``
    maps the account's own numbers to their country, for the local end of each call.
    """
    c = calls

    @functools.cache
    def countries() -> tuple[pa.Array, pa.Array]:
        # The ledger's country is the far end's; our own number's country is the near end's.
        inbound = pa.array(c["direction"].astype("str").str.lower().eq("inbound").to_numpy())
        remote = text(c["country_code"])
        local = remote
        if number_countries:
            own = pc.if_else(inbound, text(c["cld"]), text(c["cli"]))
            where = pc.index_in(own, value_set=pa.array(list(number_countries), pa.string()))
            known = pa.array(list(number_countries.values()), pa.string())
            local = pc.coalesce(pc.take(known, where), remote)
        return pc.if_else(inbound, remote, local), pc.if_else(inbound, local, remote)

    makers = {
        "call_leg_id": lambda: text(c["call_leg_id"]),
        "call_session_id": lambda: text(c["call_session_id"]),
        "start_timestamp_utc": lambda: timestamps(c["start_time"]),
        "answer_timestamp": lambda: timestamps(c["answer_time"]),
        "end_timestamp": lambda: timestamps(c["end_time"]),
        "direction": lambda: text(c["direction"]),
        "origination_number": lambda: text(c["cli"]),
        "terminating_number": lambda: text(c["cld"]),
        "origination_country": lambda: countries()[0],
        "terminating_country": lambda: countries()[1],
        "terminating_number_type": lambda: text(c["tn_type"]),
        "product": lambda: text(c["product"]),
        "connection_id": lambda: text(c["connection_id"]),
        "connection_name": lambda: text(c["connection_name"]),
        "tags": lambda: text(c["tags"]),
        "billing_group_id": lambda: text(c["billing_group_id"]),
        "billing_group_name": lambda: text(c["billing_group_name"]),
        "status": lambda: text(c["status"]),
        "hangup_cause": lambda: text(c["hangup_cause"]),
        "call_duration": lambda: integers(c["duration_sec"]),
        "billable_time": lambda: integers(c["billable_sec"]),
        "rate": lambda: money(c["rate_micro"], PRICE_DECIMALS),
        "cost": lambda: money(c["cost_micro"], PRICE_DECIMALS),
        "currency": lambda: text(c["currency"]),
        "sip_call_id": lambda: text(c["sip_call_id"]),
        "mos": lambda: floats(c["mos"], 2),
        "pdd": lambda: integers(c["pdd_ms"]),
    }
    wanted = set(fields) if fields else set(CDR_COLUMNS)
    return to_csv({name: makers[name]() for name in CDR_COLUMNS if name in wanted})


def wdr(sessions: pd.DataFrame) -> bytes:
    """The wireless detail report of ``ledger.wireless(...)`` rows."""
    w = sessions
    return to_csv({
        "id": text(w["id"]),
        "created_at": timestamps(w["created_at"]),
        "sim_card_id": text(w["sim_card_id"]),
        "sim_group_id": text(w["sim_group_id"]),
        "sim_group_name": text(w["sim_group_name"]),
        "imsi": text(w["imsi"]),
        "mcc": text(w["mcc"]),
        "mnc": text(w["mnc"]),
        "phone_number": text(w["phone_number"]),
        "duration_seconds": integers(w["duration_sec"]),
        "uplink_data_mb": hundredths(w["uplink_cmb"]),
        "downlink_data_mb": hundredths(w["downlink_cmb"]),
        "rate": money(w["rate_micro"], WIRELESS_RATE_DECIMALS),
        "cost": money(w["cost_micro"], WIRELESS_COST_DECIMALS),
        "currency": text(w["currency"]),
    })  # fmt: skip


def phone_numbers(numbers: pd.DataFrame, csv_format: str = "V1") -> bytes:
    """The phone-number CSV download (``V2`` adds two columns)."""
    columns: dict[str, Any] = {}
    for name in PHONE_NUMBER_COLUMNS[csv_format]:
        col = numbers[name]
        columns[name] = timestamps(col) if name == "created_at" else text(col)
    return to_csv(columns)
