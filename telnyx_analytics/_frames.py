"""Records and CSV bytes into typed, tidy DataFrames: the one place for dtypes.

Every frame of the package is built here, from a :class:`Schema` (the columns of one
record type and the *kind* of each) by one of two roads that meet in one Arrow table:

- :func:`records_to_frame`: JSON records (dicts) as the API sent them (or
  :func:`records_to_table` page by page, stacked by :func:`tables_to_frame`);
- :func:`csv_to_frame`: a report's CSV file or bytes, parsed by ``pyarrow.csv`` with an
  explicit type per column (multi-threaded, no Python per row).

Kinds and their dtypes (docs/frames.md):

============  =====================================  ==========================================
kind          dtype                                  values
============  =====================================  ==========================================
``time``      ``datetime64[ns, UTC]``                ISO 8601 with an offset (naive = UTC)
``day``       ``datetime64[ns, UTC]``                a date (midnight UTC)
``money``     ``float64``                            decimal strings (or JSON numbers), exact
``category``  ``category``                           enums, currencies
``string``    pandas string dtype                    ids, numbers, names
``int``       ``Int64``                              counts, seconds
``float``     ``float64``                            measures (MB, MOS)
``bool``      ``boolean``                            flags
============  =====================================  ==========================================

Nested objects of known fields are flattened as the schema says (``cost.amount`` ->
``cost``); any other nested object is flattened one level as ``<field>.<key>``. Fields the
API adds later are kept as strings (lists and objects as JSON text); missing fields are NA;
an empty input gives every column of the schema with its dtype.

Money follows the one money policy (``_money``): parsed strictly, carried as ``float64``
exact to the micro-unit. A value that does not fit its kind (money such as ``"12,50"``,
a timestamp in epoch milliseconds, a count of 10**30, a CSV that is an HTML page or has
ragged rows) raises :class:`~telnyx_analytics.errors.UnexpectedResponseError` naming where
it came from, the column and the record's id (or row number).

>>> df = records_to_frame([{"id": "a", "created_at": "2024-05-01T10:00:00Z", "cost": "0.0040",
...                         "currency": "USD", "parts": 1}], "mdr")
>>> str(df["cost"].dtype), str(df["created_at"].dtype), float(df["cost"].sum())
('float64', 'datetime64[ns, UTC]', 0.004)
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import _money
from .errors import UnexpectedResponseError

log = logging.getLogger("telnyx_analytics.frames")

#: Money in a frame (the policy is ``_money``'s); a CSV's money is read as exact decimals
#: first (``MONEY_TEXT_TYPE``), so that the policy sees every digit written.
MONEY_TYPE = pa.float64()
MONEY_DTYPE = _money.MONEY
MONEY_TEXT_TYPE = pa.decimal128(38, _money.SCALE)
TIME_TYPE = pa.timestamp("ns", tz="UTC")
TIME_DTYPE = pd.DatetimeTZDtype("ns", "UTC")
_CATEGORY_TYPE = pa.dictionary(pa.int32(), pa.string())


def _string_dtype() -> pd.StringDtype:
    # pandas' default string dtype: ``str`` on pandas 3 (NaN for missing), the same
    # Arrow-backed dtype under its pandas 2 name. pandas 2 reads it back from Parquet only
    # with ``future.infer_string`` on (else ``string[python]``/``object``): docs/frames.md.
    try:
        return pd.StringDtype("pyarrow", na_value=np.nan)
    except TypeError:  # pandas < 2.3
        return pd.StringDtype("pyarrow_numpy")


STRING_DTYPE = _string_dtype()

#: Arrow type of each column kind (what the CSV reader is told to produce).
ARROW_TYPES: dict[str, pa.DataType] = {
    "time": TIME_TYPE,
    "day": pa.timestamp("ns"),  # read naive, then taken as UTC
    "money": MONEY_TYPE,
    "category": _CATEGORY_TYPE,
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
}
KINDS = tuple(ARROW_TYPES)


@dataclass(frozen=True)
class Column:
    """One column: its name in the frame, its kind, and where it is in a JSON record."""

    name: str
    kind: str
    source: tuple[str, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return self.source or (self.name,)


@dataclass(frozen=True)
class Schema:
    """The columns of one record type, in order.

    ``optional`` types columns that only some answers have (a CDR report's extra fields,
    a report request's window); they are typed when present and not added otherwise.
    """

    name: str
    columns: tuple[Column, ...]
    optional: Mapping[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def kind(self, name: str) -> str | None:
        for c in self.columns:
            if c.name == name:
                return c.kind
        return self.optional.get(name)


def _schema(name: str, spec: str, optional: Mapping[str, str] | None = None) -> Schema:
    """Build a schema from lines of ``column kind [source.path]``."""
    columns = []
    for line in spec.strip().splitlines():
        parts = line.split()
        source = tuple(parts[2].split(".")) if len(parts) > 2 else ()
        if parts[1] not in ARROW_TYPES:
            raise ValueError(f"unknown column kind {parts[1]!r} in schema {name}")
        columns.append(Column(parts[0], parts[1], source))
    return Schema(name, tuple(columns), dict(optional or {}))


# -- the schemas: one per record type -------------------------------------------------------

SCHEMAS: dict[str, Schema] = {
    s.name: s
    for s in [
        # GET /reports/mdrs
        _schema("mdr", """
            id string
            created_at time
            direction category
            message_type category
            status category
            cli string
            cld string
            profile_name string
            parts int
            rate money
            cost money
            currency category
            record_type category
        """),
        # GET /reports/wdrs
        _schema("wdr", """
            id string
            created_at time
            sim_card_id string
            sim_group_id string
            sim_group_name string
            imsi string
            mcc string
            mnc string
            phone_number string
            duration_seconds float
            uplink_data float uplink_data.amount
            uplink_data_unit category uplink_data.unit
            downlink_data float downlink_data.amount
            downlink_data_unit category downlink_data.unit
            rate money rate.amount
            rate_currency category rate.currency
            cost money cost.amount
            currency category cost.currency
            record_type category
        """),
        # GET /call_events (metadata is flattened as metadata.<field>)
        _schema("call_event", """
            call_leg_id string
            call_session_id string
            event_timestamp time
            name category
            type category
            record_type category
        """, optional={
            "metadata.event_id": "string", "metadata.connection_id": "string",
            "metadata.application_name": "string", "metadata.product": "category",
            "metadata.from": "string", "metadata.to": "string", "metadata.status": "category",
            "metadata.failed": "bool", "metadata.outbound_voice_profile_id": "string",
        }),
        # GET /reports/cdr_usage_reports/sync (data.result.records; window from data)
        _schema("cdr_usage", """
            start_time time
            end_time time
            connection_id string
            tags string
            billing_group_id string
            tn_type category
            country_code category
            direction category
            calls int
            call_sec int
            billed_sec int
            cost money
            currency category
        """),
        # GET /reports/mdr_usage_reports/sync (data.result; window from data)
        _schema("mdr_usage", """
            start_date time
            end_date time
            profile_id string
            tags string
            connection string
            product category
            direction category
            message_type category
            tn_type category
            sent int
            delivered int
            received int
            parts int
            cost money
            carrier_passthrough_fee money
            currency category
        """),
        # Report CSVs (docs/frames.md, "Report CSVs").
        _schema("cdr_detail", """
            call_leg_id string
            call_session_id string
            start_timestamp_utc time
            answer_timestamp time
            end_timestamp time
            direction category
            origination_number string
            terminating_number string
            origination_country category
            terminating_country category
            terminating_number_type category
            product category
            connection_id string
            connection_name string
            tags string
            billing_group_id string
            billing_group_name string
            status category
            hangup_cause category
            call_duration int
            billable_time int
            rate money
            cost money
            currency category
            sip_call_id string
            mos float
            pdd float
        """, optional={
            # Fields GET .../voice/fields may offer beyond the default set.
            "start_timestamp": "time", "origination_city": "string",
            "origination_state": "category", "origination_lata": "string",
            "terminating_city": "string", "terminating_state": "category", "route": "string",
            "hangup_code": "category",
        }),
        _schema("mdr_detail", """
            id string
            created_at time
            direction category
            message_type category
            status category
            cli string
            cld string
            country_code category
            profile_id string
            profile_name string
            tags string
            tn_type category
            parts int
            rate money
            cost money
            carrier_fee money
            currency category
        """, optional={"message_body": "string"}),
        _schema("wdr_report", """
            id string
            created_at time
            sim_card_id string
            sim_group_id string
            sim_group_name string
            imsi string
            mcc string
            mnc string
            phone_number string
            duration_seconds float
            uplink_data_mb float
            downlink_data_mb float
            rate money
            cost money
            currency category
        """),
        _schema("mdr_usage_legacy", """
            date day
            profile_id string
            tags string
            direction category
            message_type category
            tn_type category
            sent int
            delivered int
            received int
            parts int
            cost money
            currency category
        """),
        _schema("cdr_usage_legacy", """
            date day
            connection_id string
            tags string
            billing_group_id string
            tn_type category
            country_code category
            direction category
            calls int
            call_sec int
            billed_sec int
            cost money
            currency category
        """),
        _schema("number_lookup_usage", """
            date day
            user_id string
            type category
            total_dips int
            total_cost money
            currency category
        """),
        _schema("billing_group", """
            billing_group_id string
            billing_group_name string
            product category
            cost money
            currency category
        """),
        _schema("phone_numbers_csv", """
            phone_number string
            status category
            country_code category
            number_type category
            connection_id string
            connection_name string
            billing_group_id string
            tags string
            customer_reference string
            created_at time
        """, optional={"emergency_address_id": "string", "usage_payment_method": "category"}),
        # One row per report request (tx.reports.list); status in one vocabulary.
        _schema("report_request", """
            id string
            status category
            created_at time
            updated_at time
        """, optional={
            "record_type": "category", "start_time": "time", "end_time": "time",
            "start_date": "time", "end_date": "time", "report_url": "string", "url": "string",
            "report_name": "string", "aggregation_type": "category",
            "product_breakdown": "category", "organization_id": "string", "retry": "int",
            "source": "category", "timezone": "string", "month": "int", "year": "int",
        }),
        # GET /legacy/reporting/batch_detail_records/voice/fields
        _schema("cdr_report_field", """
            category category
            field string
        """),
        # GET /usage_reports/options
        _schema("product_usage_option", """
            product category
            record_type category
            kind category
            name string
        """),
        # GET /session_analysis/metadata
        _schema("session_record_type", """
            record_type string
            product category
            event category
            description string
            aliases string
            children string
            parents string
        """),
        # GET /session_analysis/metadata/{record_type}
        _schema("session_relationship", """
            record_type string
            relation category
            relationship_type category
            other_record_type string
            other_product category
            other_event category
            local_field string
            parent_field string
            cost_rollup bool
            traversal_enabled bool
            description string
        """),
    ]
}


# -- GET /detail_records: 21 record types, one table ----------------------------------------

#: The kind of every field of a detail record (a field has one kind in every type), as
#: lines of ``kind: field field ...``.
_DETAIL_KINDS: dict[str, str] = {
    name: kind
    for kind, names in (line.strip().split(":") for line in """
        string: id uuid call_control_id call_session_id call_leg_id connection_id
        string: connection_name billing_group_id billing_group_name tags cli cld
        string: conference_id originating_number destination_number name user_id org_id
        string: profile_id profile_name recording_id conversation_id sim_card_id sim_group_id
        string: sim_group_name imsi mcc mnc phone_number destination_phone_number asset_id
        string: link_channel_id webhook_id verify_channel_id verify_profile_id ip_address
        string: sim_card_tags carrier errors delivery_status_webhook_url
        string: delivery_status_failover_url
        category: record_type direction message_type status currency rate_measured_in
        category: product tn_type hangup_cause feature country_code source_country_code
        category: region model voice action_type verify_channel_type verification_status
        category: delivery_status data_unit link_channel_type
        time: created_at updated_at started_at answered_at finished_at ended_at expires_at
        time: joined_at left_at invoked_at completed_at sent_at closed_at
        int: duration_sec billed_minutes call_sec billed_sec tokens page_count characters
        int: parts participant_count participant_call_sec
        float: size_mb uplink_data downlink_data
        money: rate cost carrier_fee verify_usage_fee data_rate data_cost
        bool: is_telnyx_billable fteu on_net
    """.strip().splitlines())
    for name in names.split()
}

_METERED = "rate rate_measured_in cost currency user_id"
_PER_MINUTE = f"id created_at duration_sec billed_minutes {_METERED}"
_CALL_LIKE = f"id started_at answered_at finished_at call_sec billed_sec direction cli cld " \
             f"{_METERED}"

#: The fields of each ``filter[record_type]``: those of Telnyx's SDK models for the seven
#: typed shapes (``telnyx/types/detail_record_list_response.py``), the fields the sandbox
#: documents for the others (docs/data/detail-records.md). ``record_type`` ends each.
DETAIL_FIELDS: dict[str, str] = {
    "ai-voice-assistant": "id created_at call_control_id call_session_id duration_sec cost "
                          "currency user_id",
    "amd": "id invoked_at call_leg_id call_session_id connection_id connection_name "
           "billing_group_id billing_group_name tags feature rate rate_measured_in cost "
           "currency is_telnyx_billable",
    "call-control": "id call_leg_id call_session_id started_at answered_at finished_at "
                    "direction cli cld country_code connection_id connection_name product "
                    "tags billing_group_id billing_group_name tn_type status hangup_cause "
                    f"call_sec billed_sec {_METERED}",
    "conference": "id name started_at ended_at expires_at region connection_id call_leg_id "
                  "call_session_id call_sec participant_count participant_call_sec user_id "
                  "is_telnyx_billable",
    "conference-participant": "id conference_id call_leg_id call_session_id joined_at left_at "
                              "originating_number destination_number call_sec billed_sec "
                              f"{_METERED} is_telnyx_billable",
    "embedding": f"id created_at tokens model {_METERED}",
    "fax": f"id created_at page_count direction status cli cld {_METERED}",
    "inference": "id created_at conversation_id call_session_id model tokens cost currency "
                 "user_id",
    "inference-speech-to-text": f"id created_at duration_sec billed_minutes model {_METERED}",
    "media_storage": "id created_at size_mb action_type status asset_id link_channel_id "
                     f"link_channel_type webhook_id {_METERED} org_id",
    "media-streaming": _PER_MINUTE,
    "messaging": "uuid created_at sent_at completed_at updated_at direction message_type "
                 "status delivery_status cli cld country_code source_country_code mcc mnc "
                 "carrier profile_id profile_name tags parts rate cost currency carrier_fee "
                 "fteu on_net errors delivery_status_webhook_url delivery_status_failover_url "
                 "user_id",
    "noise-suppression": _PER_MINUTE,
    "recording": "id created_at call_leg_id call_session_id duration_sec cost currency user_id",
    "sip-trunking": _CALL_LIKE,
    "siprec-client": _PER_MINUTE,
    "stt": "id created_at recording_id call_session_id duration_sec cost currency user_id",
    "tts": f"id created_at characters voice {_METERED}",
    "verify": "id created_at updated_at verify_channel_type verify_channel_id "
              "verify_profile_id verification_status delivery_status "
              "destination_phone_number rate rate_measured_in verify_usage_fee currency "
              "user_id",
    "webrtc": _CALL_LIKE,
    "wireless": "id created_at closed_at sim_card_id sim_card_tags sim_group_id sim_group_name "
                "imsi mcc mnc phone_number ip_address uplink_data downlink_data data_unit "
                "data_rate data_cost currency",
}

SCHEMAS.update({
    f"detail_records.{kind}": Schema(f"detail_records.{kind}", tuple(
        Column(name, _DETAIL_KINDS[name]) for name in [*fields.split(), "record_type"]
    ))
    for kind, fields in DETAIL_FIELDS.items()
})


def schema(name: str | Schema) -> Schema:
    """The schema called ``name`` (a :class:`Schema` passes through)."""
    return name if isinstance(name, Schema) else SCHEMAS[name]


# -- values into Arrow arrays ---------------------------------------------------------------


class _BadValue(ValueError):
    """A value that does not fit its column's kind, at ``position`` in the column."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        self.reason = reason
        self.position = position
        super().__init__(reason)


def _as_text(value: Any) -> str | None:
    """A JSON value as text: strings as they are, everything else as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:  # NaN
        return None
    try:
        return json.dumps(value, separators=(",", ":"))
    except RecursionError:
        raise _BadValue("an object nested too deeply to keep") from None
    except (TypeError, ValueError) as exc:
        raise _BadValue(f"not a JSON value ({exc})") from None


def _strings(values: Sequence[Any] | pa.Array) -> pa.Array:
    if isinstance(values, pa.Array):
        if values.type == pa.string():
            return values
        if pa.types.is_null(values.type):
            return pa.nulls(len(values), pa.string())
        if pa.types.is_nested(values.type):  # lists and objects: as JSON text
            return pa.array(_texts(values.to_pylist()), type=pa.string())
        return values.cast(pa.string())
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array(_texts(values), type=pa.string())


def _texts(values: Sequence[Any]) -> list[str | None]:
    out = []
    for pos, value in enumerate(values):
        try:
            out.append(_as_text(value))
        except _BadValue as exc:
            raise _BadValue(exc.reason, pos) from None
    return out


def _first_failure(arr: pa.Array, convert: Any) -> tuple[int, Any]:
    """The first value that ``convert`` (of a one-value array) refuses: the slow road,
    taken only to name the value after a whole column was refused."""
    for pos in range(len(arr)):
        one = arr.slice(pos, 1)
        if one.null_count:
            continue
        try:
            convert(one)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            return pos, one[0].as_py()
    return 0, None


def _numbers_refused(arr: pa.Array, what: str) -> None:
    """Refuse a column of JSON numbers or booleans where text is documented."""
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_boolean(
            arr.type):
        pos = int(np.flatnonzero(np.asarray(arr.is_valid()))[0]) if arr.null_count < len(arr) \
            else 0
        value = arr[pos].as_py()
        hint = " (epoch milliseconds?)" if isinstance(value, int | float) else ""
        raise _BadValue(f"{value!r} is not {what}{hint}", pos)


def _parse_time(values: Sequence[Any] | pa.Array, *, day: bool = False) -> pa.Array:
    """ISO 8601 strings as ``timestamp[ns, UTC]``; a value without an offset is UTC."""
    arr = values if isinstance(values, pa.Array) else _loose_array(values)
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), TIME_TYPE)
    _numbers_refused(arr, "an ISO 8601 timestamp")
    text = _strings(arr)
    try:
        if day:
            return text.cast(pa.timestamp("ns")).cast(TIME_TYPE)
        return text.cast(TIME_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # The slow road, for values without an offset or in another ISO 8601 spelling.
    try:
        return _pandas_times(text)
    except (ValueError, OverflowError):  # junk, or beyond what nanoseconds hold (year 2262)
        pos, value = _first_failure(text, _pandas_times)
        raise _BadValue(f"{value!r} is not an ISO 8601 timestamp (years 1678 to 2261)",
                        pos) from None


def _pandas_times(text: pa.Array) -> pa.Array:
    parsed = pd.to_datetime(pd.Series(text.to_pylist(), dtype=object), utc=True, format="ISO8601")
    return pa.array(parsed.astype(TIME_DTYPE), type=TIME_TYPE)


def _parse_money(values: Sequence[Any] | pa.Array) -> pa.Array:
    """Amounts as the API sends them, by the money policy, as ``float64`` (``_money``)."""
    try:
        micros, valid = _money.parse(values)
    except _money.MoneyError as exc:
        raise _BadValue(exc.reason, exc.position) from None
    return _money.money_array(micros, valid)


def _parse_int(values: Sequence[Any] | pa.Array) -> pa.Array:
    arr = values if isinstance(values, pa.Array) else _loose_array(values)
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.int64())
    if pa.types.is_boolean(arr.type):
        _numbers_refused(arr, "a whole number")
    try:
        return arr.cast(pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        floats = arr.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pos, value = _first_failure(arr, lambda one: one.cast(pa.float64()))
        raise _BadValue(f"{value!r} is not a whole number", pos) from None
    x = floats.to_numpy(zero_copy_only=False)
    huge = ~(np.abs(x) < 2**53) & ~np.isnan(x) | (np.isnan(x) & np.asarray(floats.is_valid()))
    if huge.any():
        pos = int(np.flatnonzero(huge)[0])
        raise _BadValue(f"{arr[pos].as_py()!r} is not a count int64 holds", pos)
    # Fractional counts would be silently truncated by a cast; keep them and say so.
    log.warning("a count column has fractional values: kept as float64")
    return floats


def _loose_array(values: Sequence[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowTypeError, pa.ArrowInvalid, OverflowError):
        return _strings(values)


def to_arrow(values: Sequence[Any] | pa.Array, kind: str) -> pa.Array:
    """Values of one column (Python values or an Arrow array) as the Arrow type of ``kind``.

    A value that does not fit the kind raises ``ValueError`` (a ``_BadValue`` with its
    position); the callers name the column and the record.

    >>> to_arrow(["1.5", None], "money").type
    DataType(double)
    """
    if kind in ("time", "day"):
        return _parse_time(values, day=kind == "day")
    if kind == "money":
        return _parse_money(values)
    if kind == "category":
        return _strings(values).dictionary_encode()
    if kind == "string":
        return _strings(values)
    if kind == "int":
        return _parse_int(values)
    arr = values if isinstance(values, pa.Array) else _loose_array(values)
    target = pa.float64() if kind == "float" else pa.bool_()
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), target)
    if kind == "float" and pa.types.is_boolean(arr.type):
        _numbers_refused(arr, "a number")
    try:
        return arr.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pos, value = _first_failure(arr, lambda one: one.cast(target))
        raise _BadValue(f"{value!r} is not {'a number' if kind == 'float' else 'true or false'}",
                        pos) from None


#: Fields that name a record in an error message, first found first.
_ID_FIELDS = ("id", "uuid", "call_leg_id", "session_id", "billing_group_id", "phone_number",
              "user_id")


def _typed(values: Sequence[Any] | pa.Array, kind: str, column: str,
           name_record: Any, origin: str) -> pa.Array:
    """:func:`to_arrow` for one column, or an error naming the column and the record."""
    try:
        return to_arrow(values, kind)
    except _BadValue as exc:
        record = None if exc.position is None else name_record(exc.position)
        raise UnexpectedResponseError(origin, exc.reason, field=column, record=record) from None


def _record_namer(records: Sequence[Any]) -> Any:
    def name(pos: int) -> str:
        record = records[pos] if pos < len(records) else None
        if isinstance(record, Mapping):
            for key in _ID_FIELDS:
                if isinstance(record.get(key), str | int) and record.get(key) != "":
                    return str(record[key])
        return f"row {pos + 1}"
    return name


def empty_array(kind: str) -> pa.Array:
    if kind == "category":
        return pa.array([], pa.string()).dictionary_encode()
    if kind == "day":
        return pa.array([], TIME_TYPE)
    return pa.array([], ARROW_TYPES[kind])


# -- Arrow to pandas: the one place dtypes are decided ----------------------------------------


def _types_mapper(t: pa.DataType) -> Any:
    if pa.types.is_decimal(t):
        return pd.ArrowDtype(t)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return STRING_DTYPE
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    return None


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table (built by this module) as the typed pandas frame.

    Strings and decimals stay in Arrow memory (no copy); the table's buffers are released
    column by column as they are converted, which keeps the peak memory of a large report
    close to the size of the final frame.
    """
    df = table.to_pandas(
        types_mapper=_types_mapper, split_blocks=True, self_destruct=True, ignore_metadata=True
    )
    for name in df.columns:
        col = df[name]
        if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.categories.dtype != STRING_DTYPE:
            # Categories as the same string dtype as every other text column.
            df[name] = col.cat.set_categories(col.cat.categories.astype(STRING_DTYPE), rename=True)
        elif isinstance(col.dtype, pd.DatetimeTZDtype) and col.dtype != TIME_DTYPE:
            df[name] = col.dt.tz_convert("UTC").astype(TIME_DTYPE)
    return df


def empty_frame(name: str | Schema) -> pd.DataFrame:
    """A frame with no rows and every column of the schema, typed.

    >>> empty_frame("mdr").dtypes["cost"]
    dtype('float64')
    """
    s = schema(name)
    return table_to_frame(pa.table({c.name: empty_array(c.kind) for c in s.columns}))


# -- JSON records -----------------------------------------------------------------------------


def _pluck(records: Sequence[Mapping[str, Any]], path: tuple[str, ...]) -> list[Any]:
    key = path[0]
    if len(path) == 1:
        return [r.get(key) for r in records]
    sub = path[1]
    out = []
    for pos, r in enumerate(records):
        v = r.get(key)
        if isinstance(v, Mapping):
            out.append(v.get(sub))
        elif v is None:
            out.append(None)
        else:
            raise _BadValue(f"expected an object with {sub!r}, got {v!r:.80}", pos)
    return out


def records_to_frame(
    records: Sequence[Mapping[str, Any]],
    name: str | Schema,
    *,
    constants: Mapping[str, Any] | None = None,
    origin: str | None = None,
) -> pd.DataFrame:
    """JSON records as the typed frame of schema ``name``.

    Parameters
    ----------
    records
        Dicts as the API sent them (one per row).
    name
        A key of :data:`SCHEMAS`, or a :class:`Schema`.
    constants
        Values for every row (for example a usage report's window), by column name.
    origin
        Where the records came from (the request's path), for error messages.

    Returns
    -------
    pandas.DataFrame
        The schema's columns first (NA where a record lacks the field), then any other
        field of the records: nested objects one level deep as ``<field>.<key>``, typed
        by the schema's ``optional`` kinds or else kept as strings.

    Raises
    ------
    UnexpectedResponseError
        A record that is not an object, or a value that does not fit its column (see the
        module's docstring), naming ``origin``, the column and the record.

    Examples
    --------
    >>> df = records_to_frame([{"id": "w1", "cost": {"amount": "0.010000", "currency": "EUR"},
    ...                         "new_field": 3}], "wdr")
    >>> df.loc[0, "currency"], df.loc[0, "new_field"], int(df["duration_seconds"].isna().sum())
    ('EUR', '3', 1)
    """
    return table_to_frame(records_to_table(records, name, constants=constants, origin=origin))


def records_to_table(
    records: Sequence[Mapping[str, Any]],
    name: str | Schema,
    *,
    constants: Mapping[str, Any] | None = None,
    origin: str | None = None,
) -> pa.Table:
    """JSON records as the Arrow table behind :func:`records_to_frame`.

    Tables of one schema stack with :func:`tables_to_frame`: a long listing can be
    converted a batch at a time, as its pages arrive.

    >>> records_to_table([{"id": "m1", "cost": "0.0040"}], "mdr").column("cost").type
    DataType(double)
    """
    s = schema(name)
    records = records if isinstance(records, list) else list(records)
    origin = origin or f"{s.name} records"
    for pos, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise UnexpectedResponseError(origin, f"a record is not an object: {record!r:.80}",
                                          record=f"row {pos + 1}")
    constants = dict(constants or {})
    typed = _Typer(_record_namer(records), origin)
    struct = _struct(records)
    if struct is None:
        arrays = _columns_one_by_one(records, s, constants, typed)
    else:
        arrays = _columns_of_struct(struct, s, constants, typed)
    return pa.table(arrays) if arrays else pa.table({})


@dataclass(frozen=True)
class _Typer:
    """:func:`to_arrow` for the columns of one batch, naming its records in errors."""

    name_record: Any
    origin: str

    def __call__(self, values: Sequence[Any] | pa.Array, kind: str, column: str) -> pa.Array:
        return _typed(values, kind, column, self.name_record, self.origin)

    def fail(self, exc: _BadValue, column: str) -> UnexpectedResponseError:
        record = None if exc.position is None else self.name_record(exc.position)
        return UnexpectedResponseError(self.origin, exc.reason, field=column, record=record)


def tables_to_frame(tables: Sequence[pa.Table], name: str | Schema) -> pd.DataFrame:
    """Tables of :func:`records_to_table` (say, one per batch), stacked as one typed frame.

    A column that only some tables have is NA in the others; categories are unioned.

    >>> pages = [records_to_table([{"id": "m1", "status": "delivered"}], "mdr"),
    ...          records_to_table([{"id": "m2", "status": "failed", "new": 1}], "mdr")]
    >>> df = tables_to_frame(pages, "mdr")
    >>> list(df["status"].cat.categories), list(df["new"].isna())
    (['delivered', 'failed'], [True, False])
    """
    tables = [t for t in tables if t.num_columns]
    if not tables:
        return empty_frame(name)
    table = pa.concat_tables(tables, promote_options="default")
    # An object field that was null on every record of one page became a column of its
    # own there (``x``); other pages flattened it (``x.key``): keep the flattened ones.
    flat = {c.partition(".")[0] for c in table.column_names if "." in c} - set(schema(name).names)
    hollow = [c for c in flat & set(table.column_names)
              if table.column(c).null_count == len(table)]
    # A chunk per table (a batch of records) stays as it is: no copy.
    return table_to_frame(table.drop_columns(hollow))


def _struct(records: list[Any]) -> pa.StructArray | None:
    """All records as one Arrow struct array, converted in C++ (no Python per row).

    The type Arrow infers on a sample is used for all records when it provably holds
    (about twice as fast as inferring over all of them); otherwise Arrow infers over all
    (objects become structs of the union of their keys, ints mixed with floats become
    floats). ``None`` when the values do not fit one type (a field that is a string here
    and a number there): the caller then goes column by column.
    """
    if not records:
        return None
    errors = (TypeError, pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError,
              OverflowError, RecursionError)
    try:
        sample = pa.array(records[:_SAMPLE]).type
        if pa.types.is_struct(sample) and _fits(records, sample):
            arr = pa.array(records, type=sample)
            if _kept_every_key(records, arr):
                return arr
    except errors:
        pass
    try:
        arr = pa.array(records)
    except errors:
        return None
    return arr if pa.types.is_struct(arr.type) else None


_SAMPLE = 1000  # records whose inferred type is tried for all


def _kept_every_key(records: list[Any], arr: pa.StructArray) -> bool:
    """Whether no record had a key the struct type lacks (Arrow would drop it silently).

    Counting is enough when no value was null: every key of every record is then one
    non-null value of a field. Otherwise the keys are compared.
    """
    kept = sum(len(arr) - arr.field(i).null_count for i in range(arr.type.num_fields))
    if sum(map(len, records)) == kept:
        return True
    return set().union(*records) == _field_names(arr.type)


def _field_names(t: pa.StructType) -> set[str]:
    # Not ``t.names``: that attribute is pyarrow 18+, and the package supports pyarrow 15.
    return {f.name for f in t}


def _fits(records: list[Any], t: pa.StructType, depth: int = 0) -> bool:
    """Whether converting ``records`` with type ``t`` keeps every value.

    An explicit type is not checked by Arrow everywhere: a float in an int64 field would
    be truncated, a key missing from a struct type dropped. So: ints must be ints, objects
    must have the sample's keys, and anything deeper than one level goes to inference.
    """
    for f in t:
        if pa.types.is_null(f.type) or pa.types.is_list(f.type) or pa.types.is_large_list(f.type):
            return False
        if not (pa.types.is_integer(f.type) or pa.types.is_struct(f.type)):
            continue  # strings, floats, booleans: Arrow refuses what does not fit
        # dict.get mapped in C: no Python bytecode per record.
        values = list(map(dict.get, records, repeat(f.name)))
        if pa.types.is_integer(f.type) and float in set(map(type, values)):
            return False
        if pa.types.is_struct(f.type):
            if depth:
                return False
            objects = [v for v in values if type(v) is dict]
            if set().union(*objects) != _field_names(f.type) or not _fits(objects, f.type, 1):
                return False
    return True


def _child(struct: pa.StructArray, path: tuple[str, ...]) -> pa.Array | None:
    """The field at ``path`` (parent nulls included), or ``None`` when absent."""
    node: pa.Array = struct
    for part in path:
        if not pa.types.is_struct(node.type) or node.type.get_field_index(part) < 0:
            return None
        node = pc.struct_field(node, [node.type.get_field_index(part)])
    return node


def _columns_of_struct(
    struct: pa.StructArray, s: Schema, constants: dict[str, Any], typed: _Typer
) -> dict[str, pa.Array]:
    n = len(struct)
    arrays: dict[str, pa.Array] = {}
    for c in s.columns:
        if c.name in constants:
            arrays[c.name] = typed([constants.pop(c.name)] * n, c.kind, c.name)
            continue
        if len(c.path) > 1 and struct.type.get_field_index(c.path[0]) >= 0:
            parent = _child(struct, c.path[:1])
            assert parent is not None
            if not (pa.types.is_struct(parent.type) or pa.types.is_null(parent.type)):
                pos = int(np.flatnonzero(np.asarray(parent.is_valid()))[0])
                raise typed.fail(_BadValue(f"expected an object with {c.path[1]!r}, got "
                                           f"{parent[pos].as_py()!r:.80}", pos), c.path[0])
        child = _child(struct, c.path)
        arrays[c.name] = typed(pa.nulls(n) if child is None else child, c.kind, c.name)
    used = {c.path for c in s.columns}
    for member in struct.type:
        if (member.name,) in used:
            continue
        child = _child(struct, (member.name,))
        assert child is not None
        if pa.types.is_struct(member.type):
            # One column per key, but those the schema already took (``cost.amount``).
            for sub in member.type:
                if (member.name, sub.name) in used:
                    continue
                col = f"{member.name}.{sub.name}"
                arrays[col] = typed(_child(child, (sub.name,)), s.optional.get(col, "string"), col)
        elif not any(path[0] == member.name for path in used):
            arrays[member.name] = typed(child, s.optional.get(member.name, "string"), member.name)
    for key, value in constants.items():
        arrays[key] = typed([value] * n, s.optional.get(key, "string"), key)
    return arrays


def _columns_one_by_one(
    records: list[Any], s: Schema, constants: dict[str, Any], typed: _Typer
) -> dict[str, pa.Array]:
    n = len(records)
    arrays: dict[str, pa.Array] = {}
    for c in s.columns:
        if c.name in constants:
            arrays[c.name] = typed([constants.pop(c.name)] * n, c.kind, c.name)
        elif not n:
            arrays[c.name] = empty_array(c.kind)
        else:
            try:
                values = _pluck(records, c.path)
            except _BadValue as exc:
                raise typed.fail(exc, c.path[0]) from None
            arrays[c.name] = typed(values, c.kind, c.name)
    used = {c.path for c in s.columns}
    extra = [k for k in dict.fromkeys(chain.from_iterable(records)) if (k,) not in used]
    for key in extra:
        values = [r.get(key) for r in records]
        if any(isinstance(v, Mapping) for v in values):
            nested = (v for v in values if isinstance(v, Mapping))
            subkeys = dict.fromkeys(chain.from_iterable(nested))
            for sub in subkeys:
                if (key, sub) in used:
                    continue
                col = f"{key}.{sub}"
                sub_values = [v.get(sub) if isinstance(v, Mapping) else None for v in values]
                arrays[col] = typed(sub_values, s.optional.get(col, "string"), col)
        elif not any(path[0] == key for path in used):
            arrays[key] = typed(values, s.optional.get(key, "string"), key)
    for key, value in constants.items():
        arrays[key] = typed([value] * n, s.optional.get(key, "string"), key)
    return arrays


# -- CSV ----------------------------------------------------------------------------------------

Source = str | os.PathLike[str] | bytes


def _header(source: Source, origin: str) -> list[str] | None:
    """The CSV's column names (``None`` for an empty file)."""
    if isinstance(source, bytes):
        first = source.split(b"\n", 1)[0]
    else:
        with open(source, "rb") as fh:
            first = fh.readline()
    try:
        text = first.decode("utf-8-sig").strip("\r\n")
    except UnicodeDecodeError:
        raise UnexpectedResponseError(origin, "not a UTF-8 CSV (a wrong encoding)") from None
    if not text.strip():
        return None
    if text.lstrip().startswith("<"):
        raise UnexpectedResponseError(origin, f"an HTML or XML page, not a CSV: {text.strip():.80}")
    return next(csv.reader([text]))


def _reader_input(source: Source) -> Any:
    return pa.BufferReader(source) if isinstance(source, bytes) else str(source)


def _read_csv(source: Source, column_types: Mapping[str, pa.DataType]) -> pa.Table:
    convert = pacsv.ConvertOptions(
        column_types=dict(column_types),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )
    # Large blocks: fewer, bigger chunks convert to pandas with less overhead.
    read = pacsv.ReadOptions(block_size=8 << 20)
    return pacsv.read_csv(_reader_input(source), read_options=read, convert_options=convert)


#: The Arrow type the CSV reader is told to produce for each kind (money: exact decimals,
#: turned into the frame's float64 by the money policy).
_CSV_TYPES = {**ARROW_TYPES, "money": MONEY_TEXT_TYPE}


def csv_to_frame(source: Source, name: str | Schema, *, origin: str | None = None) -> pd.DataFrame:
    """A report CSV (a path or bytes) as the typed frame of schema ``name``.

    The header decides the columns (a report may hold only the ``fields`` asked for);
    each column gets its schema kind, unknown columns are strings. An empty file gives
    the schema's empty frame.

    Parameters
    ----------
    source
        A path, or the file's bytes.
    name
        A key of :data:`SCHEMAS`, or a :class:`Schema`.
    origin
        What the file is (``"cdr_detail report 42"``), for error messages.

    Raises
    ------
    UnexpectedResponseError
        An HTML page, a file in another encoding than UTF-8, ragged rows, a header with
        none of the kind's columns, or a value that does not fit its column (naming the
        column and the record's id or row number).

    Examples
    --------
    >>> data = b'"billing_group_id","billing_group_name","product","cost","currency"\\n'
    >>> data += b'"b1","Ops","messaging","12.3400","USD"\\n'
    >>> df = csv_to_frame(data, "billing_group")
    >>> float(df["cost"].sum()), str(df["product"].dtype)
    (12.34, 'category')
    """
    s = schema(name)
    origin = origin or f"{s.name} CSV"
    header = _header(source, origin)
    if header is None:
        return empty_frame(s)
    kinds = {col: s.kind(col) or "string" for col in header}
    if not any(s.kind(col) for col in header):
        raise UnexpectedResponseError(origin, f"not a {s.name} CSV: its header "
                                              f"({', '.join(header)[:120]}) has none of the "
                                              f"kind's columns")
    try:
        table = _read_csv(source, {col: _CSV_TYPES[kind] for col, kind in kinds.items()})
    except pa.ArrowInvalid as exc:
        # A value the fast parser refused (a timestamp without offset, a malformed amount):
        # read text and convert each column on the tolerant road, which names the value.
        log.info("CSV fast path refused a value (%s); converting column by column", exc)
        try:
            text = _read_csv(source, dict.fromkeys(kinds, pa.string()))
        except pa.ArrowInvalid as broken:  # ragged rows, bytes that are not UTF-8
            raise UnexpectedResponseError(origin, f"not a well-formed CSV: "
                                                  f"{str(broken).strip()[:200]}") from None
        namer = _row_namer(text)
        table = pa.table({col: _typed(text.column(col).combine_chunks(), kinds[col], col, namer,
                                      origin)
                          for col in text.column_names})
    else:
        namer = None
        for col, kind in kinds.items():
            if kind not in ("day", "money"):
                continue
            i = table.column_names.index(col)
            if kind == "day":  # read naive: midnight of that day, UTC
                table = table.set_column(i, col, table.column(col).cast(TIME_TYPE))
            else:
                namer = namer or _row_namer(table)
                table = table.set_column(i, col, _typed(table.column(col), "money", col, namer,
                                                        origin))
    return table_to_frame(table)


def _row_namer(table: pa.Table) -> Any:
    """Names a CSV row in an error: its id when the file has one, else ``row N``."""
    def name(pos: int) -> str:
        for key in _ID_FIELDS:
            if key in table.column_names:
                value = table.column(key)[pos].as_py()
                if value not in (None, ""):
                    return str(value)
        return f"row {pos + 1}"
    return name


def concat(frames: Iterable[pd.DataFrame], name: str | Schema) -> pd.DataFrame:
    """Stack frames of one schema, keeping dtypes (categories are unioned).

    >>> both = concat([empty_frame("mdr"), empty_frame("mdr")], "mdr")
    >>> list(both.columns) == SCHEMAS["mdr"].names
    True
    """
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return empty_frame(name)
    if len(frames) == 1:
        return frames[0]
    cats = {c for f in frames for c in f.columns if isinstance(f[c].dtype, pd.CategoricalDtype)}
    out = pd.concat(frames, ignore_index=True)
    for c in cats:
        if not isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(STRING_DTYPE).astype("category")
            categories = out[c].cat.categories.astype(STRING_DTYPE)
            out[c] = out[c].cat.set_categories(categories, rename=True)
    return out


__all__ = [
    "MONEY_DTYPE",
    "SCHEMAS",
    "STRING_DTYPE",
    "TIME_DTYPE",
    "Column",
    "Schema",
    "concat",
    "csv_to_frame",
    "empty_frame",
    "records_to_frame",
    "records_to_table",
    "table_to_frame",
    "tables_to_frame",
    "to_arrow",
]
