"""``GET /detail_records``: the Detail Record Search API, served from the ledger.

Telnyx documents one endpoint for the per-record detail of every product it bills:
``filter[record_type]`` (required) picks one of 21 record types, other ``filter[...]``
parameters (deepObject style) narrow the records, ``sort`` orders them and
``page[number]``/``page[size]`` page them. Each record type is a view of rows the ledger
already holds (:data:`~.ledger.DETAIL_TABLES`), so a ``messaging`` record is the MDR with
the same id, time and cost, a ``call-control`` record the call of the session trees, and
so on. The answer shapes follow Telnyx's OpenAPI description as its official SDK types
them (seven typed shapes; the other types are plain objects written in the same style).

Choices where the description is silent (docs/data/detail-records.md lists the fields):

- Each record type has one time field (``created_at``; ``started_at`` for calls and
  conferences, ``joined_at`` for participants, ``invoked_at`` for AMD). Without a time
  filter every record of the ledger's period is searched.
- ``filter[f]=v`` and ``filter[f][eq]=v`` compare text case-insensitively; ``gt``,
  ``gte``, ``lt``, ``lte`` compare numbers, money and times; ``starts_with``,
  ``ends_with`` and ``contains`` match text fields (only). A date alone as an upper
  bound means the end of that day.
- Records are ordered by the time field, then ``id``, unless ``sort`` says otherwise
  (``id`` always breaks ties, so pages never overlap).
- A filter or sort on a field the record type lacks, an unknown operator or record type,
  or a malformed value is a 400 in Telnyx's error format naming the parameter.
- ``record_type=...&id=...``, the form of a session tree's ``links.records``, is read as
  ``filter[record_type]`` and a filter on the type's id (``uuid`` for messages), so
  following a link finds its record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from ._web import Request, Response, Router, bad_parameter
from .generators import METERED
from .paging import number_page
from .usage import format_money, key_strings
from .views import SESSION_DETAIL_TYPES, FrameCache, date_range_window, parse_time

#: Largest ``page[size]`` (Telnyx documents 1 to 50, default 20).
MAX_PAGE_SIZE = 50
_MICRO = 1_000_000
_NAT = np.iinfo(np.int64).min
_ONE_NS = pd.Timedelta(1, "ns")


# -- fields ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One served field: where its value comes from and how it is written.

    ``kind`` is ``text``, ``lower`` (text written in lower case), ``int``, ``float``,
    ``time`` (ISO 8601 with ``Z``), ``money`` (micro-units written as a 6-decimal string),
    ``money_float`` (micro-units as a number), ``mb`` (hundredths of a MB as a number),
    ``const`` (``value`` on every record) or ``account`` (the ledger attribute ``value``).
    """

    column: str | None
    kind: str
    value: Any = None

    @property
    def is_time(self) -> bool:
        return self.kind == "time"


def _text(column: str) -> Field:
    return Field(column, "text")


def _f(kind: str, column: str) -> Field:
    return Field(column, kind)


def _const(value: Any) -> Field:
    return Field(None, "const", value)


_USER = Field(None, "account", "user_id")
_BILLABLE = _const(True)


@dataclass(frozen=True)
class DetailType:
    """One ``filter[record_type]``: the record's ``record_type``, its time field, its fields
    and which of them is its cost (``None``: the type carries no cost)."""

    name: str
    record_type: str
    time_field: str
    fields: dict[str, Field]
    cost_field: str | None = "cost"

    @property
    def id_field(self) -> str:
        """The field that identifies a record (message records call it ``uuid``)."""
        return "uuid" if "uuid" in self.fields else "id"

    def fetch(self, ledger: Any, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """The ledger's records of this type whose time field is in ``[start, end]``."""
        return ledger.detail_records(self.name, start, end)


def _money_fields(unit: str | None = None, cost: str = "cost") -> dict[str, Field]:
    fields = {"rate": _f("money", "rate_micro")}
    if unit is not None:
        fields["rate_measured_in"] = _const(unit)
    return {**fields, cost: _f("money", "cost_micro"), "currency": _text("currency")}


def _session_type(name: str, parent: str, extra: dict[str, Field]) -> DetailType:
    """A record of a call session's child event; ``parent`` names its parent's id the way
    the session analysis relationships do."""
    return DetailType(name, _record_type(name), "created_at", {
        "id": _text("id"), "created_at": _f("time", "created_at"),
        parent: _text("parent_id"), "call_session_id": _text("call_session_id"), **extra,
        "cost": _f("money", "cost_micro"), "currency": _text("currency"), "user_id": _USER,
    })  # fmt: skip


#: The served name of a metered product's billed quantity (per-minute products: minutes).
_QUANTITY_NAME = {"fax": "page_count", "media_storage": "size_mb", "embedding": "tokens",
                  "tts": "characters"}  # fmt: skip


def _metered_type(index: int) -> DetailType:
    product = METERED[index]
    fields: dict[str, Field] = {"id": _text("id")}
    if product.calls:
        fields.update({"started_at": _f("time", "started_at"),
                       "answered_at": _f("time", "answered_at"),
                       "finished_at": _f("time", "finished_at"),
                       "call_sec": _f("int", "call_sec"),
                       "billed_sec": _f("int", "billed_sec")})  # fmt: skip
    else:
        fields["created_at"] = _f("time", "created_at")
        if product.per_minute:
            fields["duration_sec"] = _f("int", "duration_sec")
            fields["billed_minutes"] = _f("int", "quantity")
    if product.name in _QUANTITY_NAME:
        fields[_QUANTITY_NAME[product.name]] = _f("int", "quantity")
    fields.update({name: _text(name) for name, _ in product.choices})
    fields.update({name: _text(name) for name in product.numbers})
    cost = "verify_usage_fee" if product.name == "verify" else "cost"
    fields.update(_money_fields(product.unit, cost))
    if product.name == "verify":
        fields["updated_at"] = _f("time", "created_at")  # a verification is final at once
    if product.name == "media_storage":
        fields["org_id"] = Field(None, "account", "organization_id")
    fields["user_id"] = _USER
    return DetailType(product.name, _record_type(product.name), product.time_column, fields,
                      cost)  # fmt: skip


def _record_type(name: str) -> str:
    """The record's own ``record_type`` (``message_detail_record`` style)."""
    return {"messaging": "message", "wireless": "sim_card_usage"}.get(
        name, name.replace("-", "_")
    ) + "_detail_record"


_CALL_FIELDS = {
    "id": _text("call_leg_id"), "call_leg_id": _text("call_leg_id"),
    "call_session_id": _text("call_session_id"), "started_at": _f("time", "start_time"),
    "answered_at": _f("time", "answer_time"), "finished_at": _f("time", "end_time"),
    "direction": _text("direction"), "cli": _text("cli"), "cld": _text("cld"),
    "country_code": _text("country_code"), "connection_id": _text("connection_id"),
    "connection_name": _text("connection_name"), "product": _text("product"),
    "tags": _text("tags"), "billing_group_id": _text("billing_group_id"),
    "billing_group_name": _text("billing_group_name"), "tn_type": _text("tn_type"),
    "status": _text("status"), "hangup_cause": _text("hangup_cause"),
    "call_sec": _f("int", "duration_sec"), "billed_sec": _f("int", "billable_sec"),
    **_money_fields("minute"), "user_id": _USER,
}  # fmt: skip

DETAIL_TYPES: dict[str, DetailType] = {t.name: t for t in [
    DetailType("messaging", _record_type("messaging"), "created_at", {
        "uuid": _text("id"), "created_at": _f("time", "created_at"),
        "direction": _f("lower", "direction"), "message_type": _text("message_type"),
        "status": _f("lower", "status"), "cli": _text("cli"), "cld": _text("cld"),
        "country_code": _text("country_code"), "profile_id": _text("profile_id"),
        "profile_name": _text("profile_name"), "tags": _text("tags"), "parts": _f("int", "parts"),
        **_money_fields(), "carrier_fee": _f("money", "carrier_fee_micro"), "user_id": _USER,
    }),
    DetailType("wireless", _record_type("wireless"), "created_at", {
        "id": _text("id"), "created_at": _f("time", "created_at"),
        "sim_card_id": _text("sim_card_id"), "sim_group_id": _text("sim_group_id"),
        "sim_group_name": _text("sim_group_name"), "imsi": _text("imsi"), "mcc": _text("mcc"),
        "mnc": _text("mnc"), "phone_number": _text("phone_number"),
        "uplink_data": _f("mb", "uplink_cmb"), "downlink_data": _f("mb", "downlink_cmb"),
        "data_unit": _const("MB"), "data_rate": _f("money", "rate_micro"),
        "data_cost": _f("money_float", "cost_micro"), "currency": _text("currency"),
    }, "data_cost"),
    DetailType("call-control", _record_type("call-control"), "started_at", _CALL_FIELDS),
    _session_type("recording", "call_leg_id", {"duration_sec": _f("int", "duration_sec")}),
    _session_type("stt", "recording_id", {"duration_sec": _f("int", "duration_sec")}),
    _session_type("ai-voice-assistant", "call_control_id",
                  {"duration_sec": _f("int", "duration_sec")}),
    _session_type("inference", "conversation_id",
                  {"model": _text("model"), "tokens": _f("int", "tokens")}),
    *[_metered_type(i) for i in range(len(METERED))],
    DetailType("amd", _record_type("amd"), "invoked_at", {
        "id": _text("id"), "invoked_at": _f("time", "invoked_at"),
        "call_leg_id": _text("call_leg_id"), "call_session_id": _text("call_session_id"),
        "connection_id": _text("connection_id"), "connection_name": _text("connection_name"),
        "billing_group_id": _text("billing_group_id"),
        "billing_group_name": _text("billing_group_name"), "tags": _text("tags"),
        "feature": _text("feature"), **_money_fields("invocation"),
        "is_telnyx_billable": _BILLABLE,
    }),
    DetailType("conference", _record_type("conference"), "started_at", {
        "id": _text("id"), "name": _text("name"), "started_at": _f("time", "started_at"),
        "ended_at": _f("time", "ended_at"), "expires_at": _f("time", "expires_at"),
        "region": _text("region"), "connection_id": _text("connection_id"),
        "call_sec": _f("int", "call_sec"), "participant_count": _f("int", "participant_count"),
        "participant_call_sec": _f("int", "participant_call_sec"), "user_id": _USER,
        "is_telnyx_billable": _BILLABLE,
    }, None),
    DetailType("conference-participant", _record_type("conference-participant"), "joined_at", {
        "id": _text("id"), "conference_id": _text("conference_id"),
        "call_leg_id": _text("call_leg_id"), "call_session_id": _text("call_session_id"),
        "joined_at": _f("time", "joined_at"), "left_at": _f("time", "left_at"),
        "originating_number": _text("originating_number"),
        "destination_number": _text("destination_number"), "call_sec": _f("int", "call_sec"),
        "billed_sec": _f("int", "billed_sec"), **_money_fields("minute"), "user_id": _USER,
        "is_telnyx_billable": _BILLABLE,
    }),
]}  # fmt: skip


# -- writing values --------------------------------------------------------------------------


def _times_us(values: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 microseconds (``_NAT`` where missing)."""
    micros = pd.to_datetime(values, utc=True).dt.as_unit("us").array.asi8
    return np.asarray(micros, dtype=np.int64)


def _write(field: Field, values: pd.Series | None, ledger: Any, n: int) -> list[Any]:
    """A column of a page as JSON-able values."""
    if field.kind == "const":
        return [field.value] * n
    if field.kind == "account":
        return [getattr(ledger, field.value)] * n
    assert values is not None
    missing = values.isna().to_numpy()
    if field.kind == "time":
        micros = _times_us(values)
        text = np.datetime_as_string(micros.view("datetime64[us]"), unit="us").tolist()
        out: list[Any] = [t + "Z" for t in text]
    elif field.kind in ("int", "money", "money_float", "mb"):
        ints = values.to_numpy(dtype=np.float64, na_value=0).astype(np.int64)
        if field.kind == "int":
            out = ints.tolist()
        elif field.kind == "money":
            out = format_money(ints, 6).tolist()
        else:  # a number: exact in its shortest repr at these scales
            out = (ints / (_MICRO if field.kind == "money_float" else 100)).tolist()
    elif field.kind == "float":
        out = values.to_numpy(dtype=np.float64, na_value=np.nan).tolist()
    else:
        out = key_strings(values).tolist()
        if field.kind == "lower":
            out = [v.lower() for v in out]
    return [None if m else v for v, m in zip(out, missing.tolist(), strict=True)]


def _records(kind: DetailType, rows: pd.DataFrame, ledger: Any) -> list[dict[str, Any]]:
    n = len(rows)
    columns = {
        name: _write(f, rows[f.column] if f.column else None, ledger, n)
        for name, f in kind.fields.items()
    }
    names = list(columns)
    out = []
    for values in zip(*columns.values(), strict=True):
        record = dict(zip(names, values, strict=True))
        record["record_type"] = kind.record_type
        out.append(record)
    return out


# -- the query -------------------------------------------------------------------------------

_FILTER = re.compile(r"^filter\[([^\]]+)\](?:\[([^\]]+)\])?$")
OPERATORS = ("eq", "gt", "gte", "lt", "lte", "starts_with", "ends_with", "contains")
_ORDERING = ("gt", "gte", "lt", "lte")
_TEXT_OPS = ("starts_with", "ends_with", "contains")  # on text fields only
_NUMBERS = ("int", "float", "money", "money_float", "mb")
#: The named values of ``filter[date_range]`` Telnyx documents (with ``last_N_days``).
DATE_RANGES = ("yesterday", "today", "tomorrow", "last_week", "this_week", "next_week",
               "last_month", "this_month", "next_month")  # fmt: skip


@dataclass(frozen=True)
class Query:
    """A checked query: the record type, its time window, the other conditions
    ``(field, operator, value)`` and the sort (fields, ``-`` for descending)."""

    kind: DetailType
    start: pd.Timestamp
    end: pd.Timestamp
    conditions: tuple[tuple[str, str, str], ...]
    sort: tuple[str, ...]


def record_type_of(req: Request) -> DetailType:
    """The required ``filter[record_type]``, or a 400 listing the 21 values.

    ``record_type`` is its short form, the one a session tree's ``links.records`` uses
    (``?record_type=call-control&id=...``); it also takes the session analysis name of
    the same records (``callcontrol-cdrs``), as Telnyx's OpenAPI example writes it.
    """
    name, raw = "filter[record_type]", req.arg("filter[record_type]")
    short = req.arg("record_type")
    if short not in (None, ""):
        short = SESSION_DETAIL_TYPES.get(short, short)
        if raw not in (None, "", short):
            raise bad_parameter("record_type", "record_type and filter[record_type] name "
                                               "different record types; give one of them.")
        name, raw = "record_type", short
    allowed = ", ".join(DETAIL_TYPES)
    if raw in (None, ""):
        raise bad_parameter(name, f"filter[record_type] is required; one of: {allowed}.")
    if raw not in DETAIL_TYPES:
        raise bad_parameter(name, f"{name} must be one of: {allowed}; got {raw!r}.")
    return DETAIL_TYPES[raw]


def parse_query(req: Request, ledger: Any) -> Query:
    """Read and check the query; every mistake is a 400 naming its parameter."""
    kind = record_type_of(req)
    start, end = ledger.start, ledger.now
    conditions: list[tuple[str, str, str]] = []
    for key in req.query:
        match = _FILTER.match(key)
        if not match:
            if key.startswith("filter"):
                raise bad_parameter(key, "Filters are written filter[field]=value or "
                                         "filter[field][operator]=value.")  # fmt: skip
            continue
        name, op = match.group(1), match.group(2) or "eq"
        value = req.arg(key) or ""
        if name == "record_type" and match.group(2) is None:
            continue
        if name == "date_range" and match.group(2) is None:
            named = date_range_window(value, ledger.now, DATE_RANGES)
            if named is None:
                raise bad_parameter(
                    "filter[date_range]",
                    f"filter[date_range] must be one of: {', '.join(DATE_RANGES)}, or "
                    f"last_N_days; got {value!r}.",
                )
            start, end = max(start, named[0]), min(end, named[1])
            continue
        field = kind.fields.get(name)
        if field is None:
            raise bad_parameter(key, f"{kind.name} records have no field {name!r}; "
                                     f"filter on: {', '.join(kind.fields)}.")  # fmt: skip
        text = field.kind not in _NUMBERS and not field.is_time
        if op not in OPERATORS or (op in _TEXT_OPS and not text):
            usable = [o for o in OPERATORS if text or o not in _TEXT_OPS]
            raise bad_parameter(key, f"The operator of {name} must be one of: "
                                     f"{', '.join(usable)}; got {op!r}.")  # fmt: skip
        if field.is_time and op != "eq":
            # A time bound narrows the window the ledger is read for.
            bound = parse_time(key, value, end=op == "lte")
            if op in ("gt", "gte"):
                start = max(start, bound + _ONE_NS if op == "gt" else bound)
            else:
                end = min(end, bound - _ONE_NS if op == "lt" else bound)
            continue
        _check_value(key, field, op, value)
        conditions.append((name, op, value))
    if req.arg("id") not in (None, ""):  # a records link's short form of filter[<id>]
        conditions.append((kind.id_field, "eq", req.arg("id") or ""))
    return Query(kind, start, end, tuple(sorted(conditions)), _sort(req, kind))


def _check_value(key: str, field: Field, op: str, value: str) -> None:
    if field.is_time:
        parse_time(key, value)
    elif op in _ORDERING and field.kind in _NUMBERS:
        try:
            Decimal(value)
        except InvalidOperation:
            raise bad_parameter(key, f"{key} must be a number, got {value!r}.") from None


def _sort(req: Request, kind: DetailType) -> tuple[str, ...]:
    fields = tuple(req.args("sort")) or (kind.time_field,)
    for item in fields:
        if item.lstrip("-") not in kind.fields:
            raise bad_parameter("sort", f"{kind.name} records cannot be sorted by {item!r}; "
                                        f"sort by: {', '.join(kind.fields)} "
                                        f"(prefix '-' for descending).")  # fmt: skip
    return fields


# -- searching -------------------------------------------------------------------------------


def _comparable(field: Field, values: pd.Series | None, ledger: Any, n: int) -> pd.Series:
    """A field's values in a form that compares like the served value: integers for
    times (microseconds) and money (micro-units), numbers, or lower-case text."""
    if values is None:
        return pd.Series(_write(field, None, ledger, n), dtype=object).astype(str).str.lower()
    if field.is_time:
        return pd.Series(_times_us(values))
    if field.kind in _NUMBERS:
        return pd.Series(pd.to_numeric(values).to_numpy(dtype=np.float64, na_value=np.nan))
    text = key_strings(values).str.lower()
    return pd.Series(text.to_numpy())


def _operand(field: Field, value: str) -> Any:
    if field.is_time:
        return pd.Timestamp(parse_time("filter", value)).as_unit("us").value // 1000
    if field.kind in ("money", "money_float"):
        return float(Decimal(value) * _MICRO)
    if field.kind == "mb":
        return float(Decimal(value) * 100)
    if field.kind in ("int", "float"):
        return float(Decimal(value))
    return value.lower()


def _mask(field: Field, values: pd.Series, op: str, raw: str) -> np.ndarray:
    """Which records meet one condition (``values`` from :func:`_comparable`)."""
    if op in _TEXT_OPS:
        method = {"starts_with": "startswith", "ends_with": "endswith"}.get(op)
        if method is None:
            return values.str.contains(raw.lower(), regex=False).to_numpy(dtype=bool)
        return getattr(values.str, method)(raw.lower()).to_numpy(dtype=bool)
    try:
        operand = _operand(field, raw)
    except (InvalidOperation, ValueError):  # ``eq`` a non-number (ordering was checked)
        return np.zeros(len(values), dtype=bool)
    return np.asarray(_COMPARE[op](values.to_numpy(), operand), dtype=bool)


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": np.equal, "gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal,
}  # fmt: skip


def search(ledger: Any, query: Query) -> pd.DataFrame:
    """The records a query selects, in its order (a new frame)."""
    kind = query.kind
    lo, hi = max(query.start, ledger.start), min(query.end, ledger.now)
    df = kind.fetch(ledger, lo, hi) if lo <= hi else kind.fetch(ledger, hi, lo).iloc[0:0]
    n = len(df)
    mask = np.ones(n, dtype=bool)
    for name, op, raw in query.conditions:
        field = kind.fields[name]
        values = _comparable(field, df[field.column] if field.column else None, ledger, n)
        mask &= _mask(field, values, op, raw)
    df = df[mask].reset_index(drop=True)
    keys = {}
    sort = [*query.sort, kind.id_field]
    for i, item in enumerate(sort):
        field = kind.fields[item.lstrip("-")]
        keys[f"_{i}"] = _comparable(field, df[field.column] if field.column else None,
                                    ledger, len(df)).to_numpy()  # fmt: skip
    order = pd.DataFrame(keys).sort_values(
        list(keys), ascending=[not s.startswith("-") for s in sort],
        kind="stable", na_position="last",
    ).index.to_numpy()  # fmt: skip
    return df.take(order).reset_index(drop=True)


# -- the route -------------------------------------------------------------------------------


class DetailRecordsView:
    """The ``GET /detail_records`` handler; one per app, with its own cache of searches."""

    def __init__(self) -> None:
        self.cache = FrameCache()

    def __call__(self, req: Request) -> Response:
        ledger = req.account.ledger
        query = parse_query(req, ledger)
        page = number_page(req, max_size=MAX_PAGE_SIZE)
        key = (req.account.fingerprint, query.kind.name, query.start, query.end,
               query.conditions, query.sort)  # fmt: skip
        frame = self.cache.get(key, lambda: search(ledger, query))
        rows = frame.iloc[page.cut(len(frame))]
        return Response.json({"data": _records(query.kind, rows, ledger),
                              "meta": page.meta(len(frame))})  # fmt: skip


def register(router: Router) -> None:
    """Add ``GET /detail_records`` to ``router``."""
    router.route("GET", "/detail_records")(DetailRecordsView())
