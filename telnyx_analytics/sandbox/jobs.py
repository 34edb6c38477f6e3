"""The sandbox's asynchronous report requests: nine kinds, 33 operations, one lifecycle.

Every kind is one row of :data:`KINDS` (its path, status words, how a request is read,
how its CSV is built); :class:`ReportService` walks that table to serve create, list, get
and delete, and serves the finished files on the download origin.

Lifecycle (docs/sandbox.md, "Report requests"), computed lazily from timestamps, so no
background thread is needed:

- a new request is *pending*; ``report_delay`` seconds after creation it is *complete*,
  or *failed* with probability ``report_failure_rate`` (decided per report from the seed
  and the report id, so a run is repeatable);
- ``report_ttl`` seconds after completion it is *expired*: its file is gone (404);
- a deleted request is gone from list and get (404); a wireless report's delete answer
  shows it with status ``deleted``.

A complete report carries ``report_url``: ``{download_origin}/reports/{token}/{name}.csv``
with an unguessable token, like a pre-signed storage link. The CSV is built once, under
the report's lock, on first download (usage kinds: when first seen complete, because their
JSON ``result`` holds the same rows), and kept within a memory budget
(``ReportService.file_memory``): past it, the least recently served files are let go and
built again, identical, when asked for. The columns are those of docs/frames.md.

Choices where the description is silent, kept here:

- Validation errors answer 400 with ``source.pointer`` naming the field, except where the
  description lists 422: number-lookup requests (semantic errors such as an end before
  the start), wireless reports (every body error) and phone-number CSV filters whose
  value is well-typed but unusable (a number pattern with fewer than three digits).
- A malformed id is 404 where the description lists no 400 for it, 400 on
  ``/reports/mdr_usage_reports/{id}`` (which lists only 400).
- Wireless and billing-group reports have no ``expired`` status word: an expired one
  reads ``deleted`` (its file is gone).
- The ``result`` object of the legacy usage reports (free-form in the description) is
  ``{"records": [...]}`` with the CSV's rows; ``/reports/mdr_usage_reports`` has the rows
  themselves (``MdrUsageRecord``); number-lookup reports have one
  ``TelcoDataUsageRecord`` per user (all users as one record, without ``user_id``, under
  ``ALL``) with the window's totals per lookup type.
- MDR record types: ``DELIVERED``/``RECEIVED`` are complete, ``FAILED``, ``GW_REJECT``,
  ``GW_TIMEOUT`` are errors, any other status is incomplete. CDR record types are the
  ledger's call statuses (complete, incomplete, error).
- CDR ``source``: ``calls`` is every call, ``call-control`` the Call Control product's,
  ``fax-api`` and ``webrtc`` none (the sandbox has no such traffic).
- Filters (``cli``/``cld`` with ``*_filter``, ``tags_list``, ``billing_group``) combine
  left to right: ``and`` narrows, ``or`` widens. Messages belong to no billing group, so
  a ``billing_group`` filter selects no MDR. MDR ``connections`` and every
  ``managed_accounts`` are only echoed (the sandbox has one account and no managed ones).
- The MDR ``message_body`` column holds placeholder texts: the ledger keeps no bodies.
- Legacy MDR usage requests without a window cover the whole ledger (the schema requires
  only ``aggregation_type``); number-lookup requests need both dates, and
  ``aggregationType`` defaults to ``ALL``.

>>> from telnyx_analytics.sandbox.app import App, SandboxConfig
>>> from telnyx_analytics.sandbox._web import Request
>>> app = App(SandboxConfig(report_delay=0, days=2))
>>> req = Request.from_target("POST", "/wireless/detail_records_reports",
...     {"Authorization": "Bearer KEY"}, b'{"start_time": "2020-01-01T00:00:00Z",'
...     b' "end_time": "2020-01-02T00:00:00Z"}')
>>> app.handle(req).status
201
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from . import report_csv, usage
from ._web import ApiError, Request, Response, Router, bad_field, bad_parameter, not_found
from .paging import Page, legacy_page, number_page
from .spec import (
    CDR_AGGREGATION_KEYS,
    CDR_AGGREGATIONS,
    CDR_BREAKDOWN_KEYS,
    CDR_FIELDS,
    CDR_PRODUCT_BREAKDOWNS,
    MDR_AGGREGATION_KEYS,
    MDR_AGGREGATIONS,
)

log = logging.getLogger("telnyx_analytics.sandbox.jobs")

PENDING, COMPLETE, FAILED, EXPIRED = "pending", "complete", "failed", "expired"

# Status vocabularies, as each schema defines them.
INT_STATUS: Mapping[str, int] = {PENDING: 1, COMPLETE: 2, FAILED: 3, EXPIRED: 4}
UPPER_STATUS: Mapping[str, str] = {s: s.upper() for s in (PENDING, COMPLETE, FAILED, EXPIRED)}
WORD_STATUS: Mapping[str, str] = {s: s for s in (PENDING, COMPLETE, FAILED, EXPIRED)}
NO_EXPIRED_STATUS: Mapping[str, str] = {**WORD_STATUS, EXPIRED: "deleted"}

# Legacy integer enums (docs/sandbox.md, "Report requests").
DIRECTIONS = {1: "INBOUND", 2: "OUTBOUND"}
RECORD_TYPES = {1: "COMPLETED", 2: "INCOMPLETE", 3: "ERRORS"}
MDR_LEGACY_AGGREGATIONS = dict(enumerate(MDR_AGGREGATIONS))  # 0 none, 1 profile, 2 tags
CDR_LEGACY_AGGREGATIONS = dict(enumerate(CDR_AGGREGATIONS))  # 0 all .. 3 billing group
CDR_LEGACY_BREAKDOWNS = dict(enumerate(CDR_PRODUCT_BREAKDOWNS))
LOOKUP_AGGREGATIONS = ("ALL", "BY_ORGANIZATION_MEMBER")
FILTER_KEYS = (
    "billing_group", "cld", "cld_filter", "cli", "cli_filter", "filter_type", "tags_list",
)  # fmt: skip
MATCH_KINDS = ("contains", "starts_with", "ends_with")

# The ledger's call statuses, as legacy record types.
CALL_RECORD_TYPES = {"complete": RECORD_TYPES[1], "incomplete": RECORD_TYPES[2],
                     "error": RECORD_TYPES[3]}  # fmt: skip
# CDR ``source``: which products' calls a report holds (the sandbox has no fax or WebRTC).
SOURCE_PRODUCTS: Mapping[str, frozenset[str] | None] = {
    "calls": None,  # every call
    "call-control": frozenset({"call_control"}),
    "fax-api": frozenset(),
    "webrtc": frozenset(),
}
MDR_COMPLETE_STATUSES = frozenset({"DELIVERED", "RECEIVED"})
MDR_ERROR_STATUSES = frozenset({"FAILED", "GW_REJECT", "GW_TIMEOUT"})

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOWNLOAD = re.compile(r"^/reports/([A-Za-z0-9_-]+)/([A-Za-z0-9._-]+)\.csv$")

Params = dict[str, Any]
Built = tuple[bytes, Any]  # (CSV bytes, JSON result or None)
FILE_MEMORY = 1 << 30  # bytes of built report files a sandbox keeps in memory


# -- the report record ----------------------------------------------------------------------


@dataclass(eq=False)
class Report:
    """One report request. Times are seconds of the service's clock."""

    id: str
    kind: Kind
    account: Any
    created: float
    delay: float
    ttl: float
    failed: bool
    token: str
    name: str
    params: Params  # what building the file needs
    echo: dict[str, Any]  # request fields repeated in every answer
    lock: threading.Lock = field(default_factory=threading.Lock)
    csv: bytes | None = None
    result: Any = None

    def state(self, now: float) -> str:
        finished = self.created + self.delay
        if now < finished:
            return PENDING
        if self.failed:
            return FAILED
        return EXPIRED if now >= finished + self.ttl else COMPLETE

    def updated(self, now: float) -> float:
        """When the status last changed."""
        state = self.state(now)
        if state == PENDING:
            return self.created
        if state == EXPIRED:
            return self.created + self.delay + self.ttl
        return self.created + self.delay


# -- the kinds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """Everything that differs between two kinds of report request."""

    name: str
    path: str  # relative to /v2
    record_type: str
    statuses: Mapping[str, Any]
    parse: Callable[[Request, Any], tuple[Params, dict[str, Any]]]  # -> (params, echo)
    build: Callable[[Any, Params], Built]
    paging: str  # "none", "legacy", "number" or "wireless"
    bad_id_400: bool = False  # a malformed uuid is 400 (elsewhere: not found, 404)
    can_list: bool = True
    can_delete: bool = True
    create_status: int = 200
    url_field: str = "report_url"
    url_null: bool = False  # the schema allows null: write it while there is no file
    result_in_answer: bool = False  # the JSON carries ``result`` once complete
    data_array: bool = False  # ``data`` is a one-element array (phone-number CSVs)
    delete_status: str | None = None  # the status word a delete answer shows
    error_on_top: bool = False  # 404 body is one Error object (wireless)


class _TopLevelError(ApiError):
    """An error whose schema is a single Error object: the fields also sit on top."""

    def response(self, *, with_message: bool = False) -> Response:
        answer = super().response(with_message=with_message)
        body = json.loads(answer.body)
        answer.body = json.dumps({**body["errors"][0], **body}, separators=(",", ":")).encode()
        return answer


# -- reading request bodies -----------------------------------------------------------------


class _Body:
    """A JSON object body; every error names its field by JSON pointer."""

    def __init__(self, req: Request, status: int = 400) -> None:
        self.status = status
        data = req.json()
        if not isinstance(data, dict):
            raise bad_field("/", "The request body must be a JSON object.", status)
        self.data: dict[str, Any] = data

    def error(self, name: str, detail: str, status: int | None = None) -> ApiError:
        return bad_field("/" + name, detail, status or self.status)

    def get(self, name: str, required: bool = False) -> Any:
        value = self.data.get(name)
        if value is None and required:
            raise self.error(name, f"{name} is required.")
        return value

    def timestamp(self, name: str, required: bool = True) -> pd.Timestamp | None:
        value = self.get(name, required)
        if value is None:
            return None
        ts = _parse_time(value)
        if ts is None:
            raise self.error(name, f"{name} must be an ISO 8601 date-time, got {value!r}.")
        return ts

    def day(self, name: str, required: bool = True) -> date | None:
        value = self.get(name, required)
        if value is None:
            return None
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise self.error(name, f"{name} must be a date (YYYY-MM-DD), got {value!r}.") from None

    def string(
        self, name: str, choices: Sequence[str] | None = None, required: bool = False
    ) -> str | None:
        value = self.get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(name, f"{name} must be a string.")
        if choices is not None and value not in choices:
            raise self.error(name, f"{name} must be one of {', '.join(choices)}; got {value!r}.")
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.get(name)
        if value is not None and not isinstance(value, bool):
            raise self.error(name, f"{name} must be true or false.")
        return value

    def integer(
        self, name: str, choices: Iterable[int], *, required: bool = False, default: int = 0
    ) -> int:
        value = self.get(name, required)
        if value is None:
            return default
        allowed = sorted(choices)
        if not _is_int(value) or value not in allowed:
            raise self.error(name, f"{name} must be one of {allowed}; got {value!r}.")
        return int(value)

    def _list(self, name: str) -> list[Any] | None:
        value = self.get(name)
        if value is not None and not isinstance(value, list):
            raise self.error(name, f"{name} must be an array.")
        return value

    def int_list(self, name: str, choices: Iterable[int] | None = None) -> list[int] | None:
        values = self._list(name)
        if values is None:
            return None
        allowed = None if choices is None else sorted(choices)
        for i, value in enumerate(values):
            if not _is_int(value) or (allowed is not None and value not in allowed):
                wanted = "an integer" if allowed is None else f"one of {allowed}"
                raise self.error(f"{name}/{i}", f"{name} items must be {wanted}; got {value!r}.")
        return [int(v) for v in values]

    def str_list(self, name: str, *, uuids: bool = False) -> list[str] | None:
        values = self._list(name)
        if values is None:
            return None
        for i, value in enumerate(values):
            if not isinstance(value, str) or (uuids and not _UUID.match(value)):
                wanted = "UUIDs" if uuids else "strings"
                raise self.error(f"{name}/{i}", f"{name} items must be {wanted}; got {value!r}.")
        return list(values)

    def timezone(self, name: str = "timezone") -> str | None:
        value = self.string(name)
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise self.error(
                    name, f"{name} must be an IANA time zone, got {value!r}."
                ) from None
        return value

    def filters(self, name: str = "filters") -> list[dict[str, str]] | None:
        values = self._list(name)
        if values is None:
            return None
        out: list[dict[str, str]] = []
        seen_or = False
        for i, item in enumerate(values):
            where = f"{name}/{i}"
            if not isinstance(item, dict):
                raise self.error(where, "Each filter must be an object.")
            for key, value in item.items():
                if key not in FILTER_KEYS:
                    raise self.error(f"{where}/{key}", f"Unknown filter field {key!r}.")
                if not isinstance(value, str):
                    raise self.error(f"{where}/{key}", f"{key} must be a string.")
            for key in ("cli_filter", "cld_filter"):
                if key in item and item[key] not in MATCH_KINDS:
                    raise self.error(
                        f"{where}/{key}", f"{key} must be one of {', '.join(MATCH_KINDS)}."
                    )
            kind = item.get("filter_type", "and")
            if kind not in ("and", "or"):
                raise self.error(f"{where}/filter_type", "filter_type must be 'and' or 'or'.")
            if i == 0 and kind != "and":
                raise self.error(
                    f"{where}/filter_type", "The first filter must be an 'and' filter."
                )
            if kind == "and" and seen_or:
                raise self.error(
                    f"{where}/filter_type", "An 'or' filter cannot be followed by 'and'."
                )
            seen_or = seen_or or kind == "or"
            out.append(dict(item))
        return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_time(value: Any) -> pd.Timestamp | None:
    """An ISO 8601 date-time (or date) as a UTC Timestamp; naive values are UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    ts = pd.Timestamp(parsed)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _window(
    body: _Body, start: str, end: str, *, required: bool = True, status: int | None = None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    lo, hi = body.timestamp(start, required), body.timestamp(end, required)
    if lo is not None and hi is not None and hi < lo:
        raise body.error(end, f"{end} must not be before {start}.", status)
    return lo, hi


def _iso(ts: pd.Timestamp | float) -> str:
    """ISO 8601 UTC with microseconds and ``Z``."""
    when = datetime.fromtimestamp(ts, UTC) if isinstance(ts, int | float) else ts.tz_convert("UTC")
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- selecting ledger rows ------------------------------------------------------------------


def _match(values: pd.Series, pattern: str, how: str | None) -> np.ndarray:
    text = usage.key_strings(values)
    if how == "contains":
        hit = text.str.contains(pattern, regex=False)
    elif how == "starts_with":
        hit = text.str.startswith(pattern)
    elif how == "ends_with":
        hit = text.str.endswith(pattern)
    else:
        hit = text.eq(pattern)
    return hit.to_numpy(dtype=bool)


def _has_tag(tags: pd.Series, tag: str) -> np.ndarray:
    padded = "," + usage.key_strings(tags).str.replace(", ", ",", regex=False) + ","
    return padded.str.contains(f",{tag},", regex=False).to_numpy(dtype=bool)


def _filter_mask(df: pd.DataFrame, filters: list[dict[str, str]] | None) -> np.ndarray:
    """Rows kept by Telnyx's filter list: ``and`` narrows, ``or`` widens, left to right."""
    mask = np.ones(len(df), dtype=bool)
    for i, flt in enumerate(filters or []):
        this = np.ones(len(df), dtype=bool)
        for col in ("cli", "cld"):
            if col in flt:
                this &= _match(df[col], flt[col], flt.get(f"{col}_filter"))
        if "tags_list" in flt:
            this &= _has_tag(df["tags"], flt["tags_list"])
        if "billing_group" in flt:
            if "billing_group_id" in df.columns:
                this &= _match(df["billing_group_id"], flt["billing_group"], None)
            else:
                this &= False  # messages belong to no billing group
        if i == 0:
            mask = this
        elif flt.get("filter_type", "and") == "or":
            mask = mask | this
        else:
            mask = mask & this
    return mask


def _mdr_record_type(status: pd.Series) -> np.ndarray:
    upper = status.astype("str").str.upper()
    return np.select(
        [upper.isin(MDR_COMPLETE_STATUSES).to_numpy(), upper.isin(MDR_ERROR_STATUSES).to_numpy()],
        [RECORD_TYPES[1], RECORD_TYPES[3]],
        RECORD_TYPES[2],
    )


def _cdr_record_type(calls: pd.DataFrame) -> np.ndarray:
    status = calls["status"].astype("str").str.lower()
    return status.map(CALL_RECORD_TYPES).fillna(RECORD_TYPES[2]).to_numpy(dtype=object)


def _direction_mask(direction: pd.Series, wanted: list[int] | None) -> np.ndarray:
    if not wanted:
        return np.ones(len(direction), dtype=bool)
    names = {DIRECTIONS[w] for w in wanted}
    return direction.astype("str").str.upper().isin(names).to_numpy(dtype=bool)


# -- the kinds, one parse and one build each ------------------------------------------------


def _parse_billing_group(req: Request, ledger: Any) -> tuple[Params, dict[str, Any]]:
    body = _Body(req)
    month = body.integer("month", range(1, 13), required=True)
    year = body.integer("year", range(2000, 2101), required=True)
    return {"month": month, "year": year}, {"organization_id": ledger.organization_id}


def _build_billing_group(ledger: Any, p: Params) -> Built:
    costs = usage.billing_group_costs(ledger, p["month"], p["year"])
    return report_csv.to_csv({
        "billing_group_id": report_csv.text(costs["billing_group_id"]),
        "billing_group_name": report_csv.text(costs["billing_group_name"]),
        "product": report_csv.text(costs["product"]),
        "cost": report_csv.money(costs["cost_micro"], report_csv.PRICE_DECIMALS),
        "currency": report_csv.text(costs["currency"]),
    }), None  # fmt: skip


def _parse_mdr_detail(req: Request, ledger: Any) -> tuple[Params, dict[str, Any]]:
    body = _Body(req)
    start, end = _window(body, "start_time", "end_time")
    directions = body.int_list("directions", DIRECTIONS)
    record_types = body.int_list("record_types", RECORD_TYPES)
    connections = body.int_list("connections")
    profiles = body.str_list("profiles", uuids=True)
    filters = body.filters()
    include_body = body.boolean("include_message_body")
    body.str_list("managed_accounts", uuids=True)
    body.boolean("select_all_managed_accounts")
    name = body.string("report_name")
    body.timezone()
    params = {
        "start": start, "end": end, "directions": directions, "record_types": record_types,
        "profiles": profiles, "filters": filters, "include_body": bool(include_body),
    }  # fmt: skip
    echo: dict[str, Any] = {
        "start_date": _iso(start),
        "end_date": _iso(end),
        "directions": [DIRECTIONS[d] for d in directions or []],
        "record_types": [RECORD_TYPES[r] for r in record_types or []],
        "connections": connections or [],
        "profiles": profiles or [],
        "filters": filters or [],
        "report_name": name,
    }
    return params, echo


def _build_mdr_detail(ledger: Any, p: Params) -> Built:
    df = ledger.messages(p["start"], p["end"])
    keep = _direction_mask(df["direction"], p["directions"]) & _filter_mask(df, p["filters"])
    if p["record_types"]:
        wanted = [RECORD_TYPES[r] for r in p["record_types"]]
        keep &= np.isin(_mdr_record_type(df["status"]), wanted)
    if p["profiles"]:
        keep &= df["profile_id"].astype("str").isin(p["profiles"]).to_numpy(dtype=bool)
    return report_csv.mdr_detail(df[keep], include_body=p["include_body"]), None


def _cdr_field_names() -> list[str]:
    return [name for names in CDR_FIELDS.values() for name in names]


def _parse_cdr_detail(req: Request, ledger: Any) -> tuple[Params, dict[str, Any]]:
    body = _Body(req)
    start, end = _window(body, "start_time", "end_time")
    call_types = body.int_list("call_types", DIRECTIONS)
    record_types = body.int_list("record_types", RECORD_TYPES)
    connections = body.int_list("connections")
    fields = body.str_list("fields")
    known = _cdr_field_names()
    for i, name in enumerate(fields or []):
        if name not in known:
            raise body.error(
                f"fields/{i}",
                f"Unknown CDR field {name!r}; see GET "
                "/legacy/reporting/batch_detail_records/voice/fields.",
            )
    filters = body.filters()
    body.boolean("include_all_metadata")
    managed = body.str_list("managed_accounts", uuids=True)
    body.boolean("select_all_managed_accounts")
    name = body.string("report_name")
    source = body.string("source", list(SOURCE_PRODUCTS)) or "calls"
    zone = body.timezone() or "UTC"
    params = {
        "start": start, "end": end, "call_types": call_types, "record_types": record_types,
        "connections": connections, "fields": fields, "filters": filters, "source": source,
    }  # fmt: skip
    echo: dict[str, Any] = {
        "start_time": _iso(start),
        "end_time": _iso(end),
        "call_types": call_types or [],
        "record_types": record_types or [],
        "connections": connections or [],
        "filters": filters or [],
        "managed_accounts": managed or [],
        "report_name": name,
        "retry": 0,
        "source": source,
        "timezone": zone,
    }
    return params, echo


def _build_cdr_detail(ledger: Any, p: Params) -> Built:
    df = ledger.calls(p["start"], p["end"])
    keep = _direction_mask(df["direction"], p["call_types"]) & _filter_mask(df, p["filters"])
    if p["record_types"]:
        wanted = [RECORD_TYPES[r] for r in p["record_types"]]
        keep &= np.isin(_cdr_record_type(df), wanted)
    products = SOURCE_PRODUCTS[p["source"]]
    if products is not None:
        keep &= df["product"].astype("str").isin(products).to_numpy(dtype=bool)
    if p["connections"]:
        ids = [str(c) for c in p["connections"]]
        keep &= usage.key_strings(df["connection_id"]).isin(ids).to_numpy(dtype=bool)
    numbers = ledger.phone_numbers
    countries = dict(
        zip(
            numbers["phone_number"].astype("str"),
            numbers["country_code"].astype("str"),
            strict=True,
        )
    )
    fields = p["fields"]
    return report_csv.cdr_detail(df[keep], fields=fields, number_countries=countries), None


def _parse_mdr_usage_legacy(req: Request, ledger: Any) -> tuple[Params, dict[str, Any]]:
    body = _Body(req)
    aggregation = body.integer("aggregation_type", MDR_LEGACY_AGGREGATIONS, required=True)
    start, end = _window(body, "start_time", "end_time", required=False)
    profiles = body.str_list("profiles", uuids=True)
    body.str_list("managed_accounts", uuids=True)
    body.boolean("select_all_managed_accounts")
    # Optional in the schema: without a window, the report covers the whole ledger.
    start = start if start is not None else pd.Timestamp(ledger.start)
    end = end if end is not None else pd.Timestamp(ledger.now)
    if end < start:
        raise body.error(
            "end_time" if "end_time" in body.data else "start_time",
            "The window ends before it starts.",
        )
    params = {"start": start, "end": end, "aggregation": aggregation, "profiles": profiles}
    echo: dict[str, Any] = {
        "aggregation_type": aggregation,
        "start_time": _iso(start),
        "end_time": _iso(end),
        "profiles": profiles or [],
        "connections": [],
    }
    return params, echo


def _legacy_result(rows: pd.DataFrame) -> Built:
    return report_csv.frame_to_csv(rows), {"records": _records(rows)}


def _build_mdr_usage_legacy(ledger: Any, p: Params) -> Built:
    used = MDR_AGGREGATION_KEYS[MDR_LEGACY_AGGREGATIONS[p["aggregation"]]]
    by = ["date", *used, "direction", "message_type", "tn_type"]
    df = usage.messaging_usage(ledger, p["start"], p["end"], by, p["profiles"])
    rows = pd.DataFrame({"date": df["date"]})
    for column in ("profile_id", "tags"):
        rows[column] = df[column] if column in used else usage.ALL
    for column in (
        "direction",
        "message_type",
        "tn_type",
        "sent",
        "delivered",
        "received",
        "parts",
    ):
        rows[column] = df[column]
    rows["cost"] = usage.format_money(df["cost_micro"], report_csv.PRICE_DECIMALS)
    rows["currency"] = df["currency"]
    return _legacy_result(rows)


def _parse_cdr_usage_legacy(req: Request, ledger: Any) -> tuple[Params, dict[str, Any]]:
    body = _Body(req)
    start, end = _window(body, "start_time", "end_time")
    aggregation = body.integer("aggregation_type", CDR_LEGACY_AGGREGATIONS)
    breakdown = body.integer("product_breakdown", CDR_LEGACY_BREAKDOWNS)
    connections = body.int_list("connections")
    body.str_list("managed_accounts", uuids=True)
    body.boolean("select_all_managed_accounts")
    params = {
        "start": start, "end": end, "aggregation": aggregation, "breakdown": breakdown,
        "connections": connections,
    }  # fmt: skip
    echo: dict[str, Any] = {
        "aggregation_type": aggregation,
        "product_breakdown": breakdown,
        "connections": list(dict.fromkeys(str(c) for c in connections or [])),
        "start_time": _iso(start),
        "end_time": _iso(end),
    }
    return params, echo


def _build_cdr_usage_legacy(ledger: Any, p: Params) -> Built:
    used = [
        *CDR_AGGREGATION_KEYS[CDR_LEGACY_AGGREGATIONS[p["aggregation"]]],
        *CDR_BREAKDOWN_KEYS[CDR_LEGACY_BREAKDOWNS[p["breakdown"]]],
    ]
    df = usage.voice_usage(
        ledger, p["start"], p["end"], ["date", *used, "direction"], p["connections"] or None
    )
    rows = pd.DataFrame({"date": df["date"]})
    for column in usage.CDR_USAGE_KEY_COLUMNS:
        rows[column] = df[column] if column in used else usage.ALL
    for column in ("direction", "calls", "call_sec", "billed_sec"):
        rows[column] = df[column]
    rows["cost"] = usage.format_money(df["cost_micro"], report_csv.PRICE_DECIMALS)
    rows["currency"] = df["currency"]
    return _legacy_result(rows)


def _parse_number_lookup(req: Request, ledger: Any) -> tuple[Params, dict[str, Any]]:
    body = _Body(req)
    aggregation = body.string("aggregationType", LOOKUP_AGGREGATIONS) or "ALL"
    start, end = body.day("startDate"), body.day("endDate")
    managed = body.str_list("managedAccounts")
    assert start is not None and end is not None  # required above
    if end < start:
        raise body.error("endDate", "endDate must not be before startDate.", 422)
    if start > pd.Timestamp(ledger.now).date():
        raise body.error("startDate", "startDate must not be in the future.", 422)
    params = {
        "start": pd.Timestamp(start, tz="UTC"),
        "end": pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(1, "ns"),
        "aggregation": aggregation,
    }
    echo: dict[str, Any] = {
        "aggregation_type": aggregation,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "managed_accounts": managed or [],
    }
    return params, echo


def _build_number_lookup(ledger: Any, p: Params) -> Built:
    by_user = p["aggregation"] == "BY_ORGANIZATION_MEMBER"
    keys = ["user_id"] if by_user else []
    daily = usage.lookup_usage(ledger, p["start"], p["end"], ["date", *keys, "lookup_type"])
    rows = pd.DataFrame({
        "date": daily["date"],
        "user_id": daily["user_id"] if by_user else usage.ALL,
        "type": daily["lookup_type"],
        "total_dips": daily["total_dips"],
        "total_cost": usage.format_money(daily["cost_micro"], report_csv.PRICE_DECIMALS),
        "currency": daily["currency"],
    })  # fmt: skip
    totals = usage.lookup_usage(ledger, p["start"], p["end"], [*keys, "lookup_type"])
    result = []
    groups = totals.groupby("user_id", sort=True) if by_user else [(None, totals)]
    for user, part in groups:
        record: dict[str, Any] = {"record_type": "TelcoDataUsageRecord"}
        if user is not None:
            record["user_id"] = str(user)
        record["aggregations"] = [
            {
                "type": str(row.lookup_type),
                "total_dips": int(row.total_dips),
                # A JSON number, as the schema says; exact to the micro-unit.
                "total_cost": float(usage.format_money(int(row.cost_micro), 6)),
                "currency": str(row.currency),
            }
            for row in part.itertuples(index=False)
        ]
        result.append(record)
    return report_csv.frame_to_csv(rows), result


def _parse_mdr_usage(req: Request, ledger: Any) -> tuple[Params, dict[str, Any]]:
    body = _Body(req)
    aggregation = body.string("aggregation_type", MDR_AGGREGATIONS, required=True)
    start, end = _window(body, "start_date", "end_date")
    profiles = body.string("profiles")
    wanted = [p.strip() for p in profiles.split(",") if p.strip()] if profiles else None
    params = {"start": start, "end": end, "aggregation": aggregation, "profiles": wanted}
    echo: dict[str, Any] = {
        "aggregation_type": aggregation,
        "start_date": _iso(start),
        "end_date": _iso(end),
        "connections": [],
    }
    if profiles is not None:
        echo["profiles"] = profiles
    return params, echo


def _build_mdr_usage(ledger: Any, p: Params) -> Built:
    rows = usage.mdr_usage_rows(ledger, p["start"], p["end"], p["aggregation"], p["profiles"])
    result = _records(rows)
    window = pd.DataFrame(
        {"start_date": [_iso(p["start"])] * len(rows), "end_date": [_iso(p["end"])] * len(rows)},
        dtype=str,
    )
    return report_csv.frame_to_csv(pd.concat([window, rows], axis=1)), result


PHONE_FILTERS = (
    "has_bundle", "tag", "connection_id", "phone_number", "status", "voice.connection_name",
    "voice.usage_payment_method", "billing_group_id", "emergency_address_id",
    "customer_reference",
)  # fmt: skip
PHONE_STATUSES = (
    "purchase-pending", "purchase-failed", "port-pending", "active", "deleted", "port-failed",
    "emergency-only", "ported-out", "port-out-pending",
)  # fmt: skip
PAYMENT_METHODS = ("pay-per-minute", "channel")
NAME_MATCHES = ("eq", "contains", "starts_with", "ends_with")


def _parse_phone_numbers(req: Request, ledger: Any) -> tuple[Params, dict[str, Any]]:
    csv_format = req.arg("csv_format") or "V1"
    if csv_format not in ("V1", "V2"):
        raise bad_parameter("csv_format", f"csv_format must be V1 or V2, got {csv_format!r}.")
    filters: dict[str, str] = {}
    for key in req.query:
        if not key.startswith("filter["):
            continue
        m = re.fullmatch(r"filter\[([\w.]+)\](?:\[(\w+)\])?", key)
        if not m or m.group(1) not in PHONE_FILTERS:
            raise bad_parameter(key, f"Unknown filter {key!r}.")
        name, op = m.group(1), m.group(2)
        value = req.arg(key) or ""
        if name == "voice.connection_name":
            op = op or "eq"
            if op not in NAME_MATCHES:
                raise bad_parameter(key, f"{key}: use one of {', '.join(NAME_MATCHES)}.")
            if op != "eq" and len(value) < 3:
                raise bad_parameter(key, f"{key} needs at least three characters.", 422)
            filters[f"{name}.{op}"] = value
            continue
        if op is not None:
            raise bad_parameter(key, f"Unknown filter {key!r}.")
        if name == "status" and value not in PHONE_STATUSES:
            raise bad_parameter(key, f"{key} must be one of {', '.join(PHONE_STATUSES)}.")
        if name == "voice.usage_payment_method" and value not in PAYMENT_METHODS:
            raise bad_parameter(key, f"{key} must be one of {', '.join(PAYMENT_METHODS)}.")
        if name == "has_bundle" and value not in ("true", "false"):
            raise bad_parameter(key, f"{key} must be true or false.")
        if name == "phone_number" and sum(ch.isdigit() for ch in value) < 3:
            raise bad_parameter(key, f"{key} needs at least three digits.", 422)
        filters[name] = value
    return {"csv_format": csv_format, "filters": filters}, {}


def _build_phone_numbers(ledger: Any, p: Params) -> Built:
    df = ledger.phone_numbers
    keep = np.ones(len(df), dtype=bool)
    for name, value in p["filters"].items():
        if name == "has_bundle":
            keep &= value == "false"  # sandbox numbers carry no bundles
        elif name == "tag":
            keep &= _has_tag(df["tags"], value)
        elif name == "phone_number":
            if not value.lstrip("+").isdigit():  # as documented: no values returned
                keep &= False
            else:
                keep &= _match(df["phone_number"], value, "contains")
        elif name.startswith("voice.connection_name."):
            how = name.rsplit(".", 1)[1]
            keep &= _match(df["connection_name"], value, None if how == "eq" else how)
        elif name in ("billing_group_id", "emergency_address_id") and value == "null":
            keep &= df[name].isna().to_numpy() | usage.key_strings(df[name]).eq("").to_numpy()
        else:
            column = "usage_payment_method" if name == "voice.usage_payment_method" else name
            keep &= _match(df[column], value, None)
    return report_csv.phone_numbers(df[keep], p["csv_format"]), None


def _parse_wdr(req: Request, ledger: Any) -> tuple[Params, dict[str, Any]]:
    body = _Body(req, status=422)
    start, end = _window(body, "start_time", "end_time")
    return {"start": start, "end": end}, {"start_time": _iso(start), "end_time": _iso(end)}


def _build_wdr(ledger: Any, p: Params) -> Built:
    return report_csv.wdr(ledger.wireless(p["start"], p["end"])), None


def _records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as JSON-ready dicts (Python ints and strings, not numpy scalars)."""
    columns = {name: rows[name].tolist() for name in rows.columns}
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("billing_group", "/ledger_billing_group_reports", "ledger_billing_group_report",
             NO_EXPIRED_STATUS, _parse_billing_group, _build_billing_group, "none",
             can_list=False, can_delete=False, url_null=True),
        Kind("mdr_detail", "/legacy/reporting/batch_detail_records/messaging", "mdr_report",
             UPPER_STATUS, _parse_mdr_detail, _build_mdr_detail, "none"),
        Kind("cdr_detail", "/legacy/reporting/batch_detail_records/voice", "cdr_detailed_report",
             INT_STATUS, _parse_cdr_detail, _build_cdr_detail, "none"),
        Kind("mdr_usage_legacy", "/legacy/reporting/usage_reports/messaging",
             "mdr_usage_report_v2_legacy", INT_STATUS, _parse_mdr_usage_legacy,
             _build_mdr_usage_legacy, "legacy", result_in_answer=True),
        Kind("cdr_usage_legacy", "/legacy/reporting/usage_reports/voice", "cdr_usage_report",
             INT_STATUS, _parse_cdr_usage_legacy, _build_cdr_usage_legacy, "legacy",
             result_in_answer=True),
        Kind("number_lookup_usage", "/legacy/reporting/usage_reports/number_lookup",
             "TelcoDataUsageReport", UPPER_STATUS, _parse_number_lookup, _build_number_lookup,
             "none", result_in_answer=True),
        Kind("mdr_usage", "/reports/mdr_usage_reports", "mdr_usage_report", UPPER_STATUS,
             _parse_mdr_usage, _build_mdr_usage, "number", bad_id_400=True,
             result_in_answer=True),
        Kind("phone_numbers_csv", "/phone_numbers/csv_downloads", "csv_download", WORD_STATUS,
             _parse_phone_numbers, _build_phone_numbers, "number",
             can_delete=False, url_field="url", data_array=True),
        Kind("wdr", "/wireless/detail_records_reports", "detail_records_report",
             NO_EXPIRED_STATUS, _parse_wdr, _build_wdr, "wireless", create_status=201,
             delete_status="deleted", error_on_top=True),
    )
}  # fmt: skip


# -- the service ----------------------------------------------------------------------------


class ReportService:
    """Serves the report requests of every account and their files.

    ``clock`` (seconds, ``time.time`` by default) may be replaced, e.g. by a test that
    moves time forward instead of sleeping.

    >>> from telnyx_analytics.sandbox.app import App
    >>> service = App().reports
    >>> service.download("/reports/nope/x.csv").status
    404
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.clock: Callable[[], float] = time.time
        #: Bytes of built files kept in memory. Past it, the least recently served files
        #: are let go and built again when asked for (building is deterministic), so a
        #: sandbox serving large reports for hours does not grow without end.
        self.file_memory = FILE_MEMORY
        self._lock = threading.Lock()  # guards the dicts below and the byte count
        self._by_token: dict[str, Report] = {}
        self._created: dict[str, int] = {}  # account fingerprint -> requests made
        self._files: OrderedDict[str, tuple[Report, int]] = OrderedDict()  # oldest first
        self._file_bytes = 0

    def register(self, router: Router) -> None:
        """Add the 33 report operations to ``router``."""
        for kind in KINDS.values():
            item = kind.path + "/{id}"
            if kind.can_list:
                router.route("GET", kind.path)(functools.partial(self._list, kind))
            router.route("POST", kind.path)(functools.partial(self._create, kind))
            router.route("GET", item)(functools.partial(self._get, kind))
            if kind.can_delete:
                router.route("DELETE", item)(functools.partial(self._delete, kind))

    # -- operations --------------------------------------------------------------------------

    def _create(self, kind: Kind, req: Request) -> Response:
        account = req.account
        params, echo = kind.parse(req, account.ledger)
        config = self.app.config
        with self._lock:
            number = self._created.get(account.fingerprint, 0)
            self._created[account.fingerprint] = number + 1
        report_id = _report_id(config.seed, account.fingerprint, number)
        name = _slug(echo.get("report_name") or "") or f"{kind.name}_{report_id[:8]}"
        if "report_name" in echo and not echo["report_name"]:
            echo["report_name"] = name
        report = Report(
            id=report_id,
            kind=kind,
            account=account,
            created=self.clock(),
            delay=float(config.report_delay),
            ttl=float(config.report_ttl),
            failed=_fails(config.seed, report_id, config.report_failure_rate),
            token=secrets.token_urlsafe(24),
            name=name,
            params=params,
            echo=echo,
        )
        with account.lock:
            account.reports[report.id] = report
        with self._lock:
            self._by_token[report.token] = report
        log.info("report %s %s created", kind.name, report.id)
        return self._answer(kind, report, kind.create_status)

    def _get(self, kind: Kind, req: Request) -> Response:
        return self._answer(kind, self._find(kind, req), 200)

    def _delete(self, kind: Kind, req: Request) -> Response:
        report = self._find(kind, req)
        with req.account.lock:
            req.account.reports.pop(report.id, None)
        with self._lock:
            self._by_token.pop(report.token, None)
        answer = self._view(kind, report, self.clock())
        if kind.delete_status:
            answer["status"] = kind.delete_status
            answer.pop(kind.url_field, None)
        self._let_go(report)  # the file goes with the request
        log.info("report %s %s deleted", kind.name, report.id)
        return Response.json({"data": [answer] if kind.data_array else answer})

    def _list(self, kind: Kind, req: Request) -> Response:
        if kind.paging == "legacy":
            page: Page | None = legacy_page(req)
        elif kind.paging in ("number", "wireless"):
            page = number_page(req, status=422 if kind.paging == "wireless" else 400)
        else:
            page = None
        with req.account.lock:
            reports = [r for r in req.account.reports.values() if r.kind is kind]
        if page is None:  # not paged: one page holds everything
            page = Page(1, max(len(reports), 1))
        now = self.clock()
        shown = [self._view(kind, r, now) for r in reports[page.cut(len(reports))]]
        return Response.json({"data": shown, "meta": page.meta(len(reports))})

    def _find(self, kind: Kind, req: Request) -> Report:
        report_id = req.path_params["id"]
        if kind.bad_id_400 and not _UUID.match(report_id):
            raise ApiError(
                400, "10015", "Invalid value", f"{report_id!r} is not a UUID.", parameter="id"
            )
        with req.account.lock:
            report = req.account.reports.get(report_id)
        if report is None or report.kind is not kind:
            err = not_found(f"The report {report_id}")
            if kind.error_on_top:
                err = _TopLevelError(err.status, err.code, err.title, err.detail)
            raise err
        return report

    # -- answers -----------------------------------------------------------------------------

    def _answer(self, kind: Kind, report: Report, status: int) -> Response:
        view = self._view(kind, report, self.clock())
        return Response.json({"data": [view] if kind.data_array else view}, status=status)

    def _view(self, kind: Kind, report: Report, now: float) -> dict[str, Any]:
        """The report request as its schema shows it, at time ``now``."""
        state = report.state(now)
        out: dict[str, Any] = {"id": report.id, "record_type": kind.record_type}
        if not kind.data_array:
            out.update(report.echo)
            out["created_at"] = _iso(report.created)
            out["updated_at"] = _iso(report.updated(now))
        out["status"] = kind.statuses[state]
        if state == COMPLETE:
            out[kind.url_field] = self._url(report)
            if kind.result_in_answer:
                out["result"] = self._build(report)[1]
        elif kind.url_null:
            out[kind.url_field] = None
        if state == EXPIRED and report.csv is not None:
            self._let_go(report)  # the file is gone; so is its memory
        return out

    def _url(self, report: Report) -> str:
        return f"{self.app.download_origin}/reports/{report.token}/{report.name}.csv"

    def _build(self, report: Report) -> Built:
        """The report's file and result, built once while kept (other callers wait)."""
        with report.lock:
            csv, result = report.csv, report.result
            if csv is None:
                started = time.perf_counter()
                csv, result = report.kind.build(report.account.ledger, report.params)
                report.csv, report.result = csv, result
                log.info(
                    "report %s %s built: %d bytes in %.2f s",
                    report.kind.name,
                    report.id,
                    len(csv),
                    time.perf_counter() - started,
                )
        self._keep(report, len(csv))
        return csv, result

    def _keep(self, report: Report, size: int) -> None:
        """Count a served file as the most recent; let the oldest go past the budget."""
        with self._lock:
            if report.id in self._files:
                self._files.move_to_end(report.id)
            else:
                self._files[report.id] = (report, size)
                self._file_bytes += size
            while self._file_bytes > self.file_memory and len(self._files) > 1:
                _, (old, old_size) = self._files.popitem(last=False)
                self._file_bytes -= old_size
                old.csv = None  # a reader holding the bytes keeps them; the report does not
                log.info("report %s %s: file let go (memory budget)", old.kind.name, old.id)

    def _let_go(self, report: Report) -> None:
        with report.lock:
            report.csv = None
        with self._lock:
            kept = self._files.pop(report.id, None)
            if kept is not None:
                self._file_bytes -= kept[1]

    # -- the download origin -----------------------------------------------------------------

    def download(self, path: str) -> Response:
        """Serve ``/reports/{token}/{name}.csv`` (a query string is ignored).

        Anything but a complete report's file is a 404 in Telnyx's error format.
        """
        m = _DOWNLOAD.match(path.partition("?")[0])
        with self._lock:
            report = self._by_token.get(m.group(1)) if m else None
        if report is None or m is None or m.group(2) != report.name:
            return not_found("The report file").response()
        state = report.state(self.clock())
        if state != COMPLETE:
            detail = "has expired" if state == EXPIRED else "is not available"
            return ApiError(
                404, "10005", "Resource not found", f"The report file {detail}."
            ).response()
        try:
            body, _ = self._build(report)
        except Exception:  # a bug here: answer like storage would, and keep serving
            log.exception("could not build report %s %s", report.kind.name, report.id)
            return ApiError(
                500, "10007", "Unexpected error", "An unexpected error occured."
            ).response()
        return Response.csv(body)


def _report_id(seed: int, fingerprint: str, number: int) -> str:
    """A report id that is the same on every run with the same seed and key."""
    digest = hashlib.sha256(f"report:{seed}:{fingerprint}:{number}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _fails(seed: int, report_id: str, rate: float) -> bool:
    """Whether a report fails: a fixed draw per (seed, report id), below ``rate``."""
    digest = hashlib.sha256(f"fail:{seed}:{report_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def _slug(name: str) -> str:
    """A report name made safe for a URL path segment."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:80]
