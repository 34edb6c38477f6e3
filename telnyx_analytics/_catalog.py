"""The 44 operations of the Telnyx reporting API, as data.

Each :class:`Operation` row says where an operation lives (method, path), how it pages
(a :class:`Pager`: its parameter names), how the one ``start``/``end`` vocabulary
reaches it (``start_date``, ``start_time``, ``startDate``, ``filter[occurred_at][gte]``),
which arguments it takes under which friendly names (and the wire names and legacy
integer codes they become), what to take from its answer (an :class:`Answer`, the data
selector), and which frame schema (``_frames.SCHEMAS``) its records have. One function,
:func:`prepare`, walks a row's request side: it checks every argument *before* anything
is sent. :meth:`Answer.take` walks its answer side: it checks the answer's shape and
takes what the operation returns. The one engine that sends requests and walks pages is
``_engine.py``; adding an endpoint is adding a row here
(docs/contributing/adding-an-endpoint.md).

The enum values are those of Telnyx's OpenAPI description (``reports.yml``);
``tests/test_catalog.py`` checks them, and the 44 (method, path) pairs, against it.
The meaning of the legacy integer codes is in docs/sandbox.md ("Legacy integer enums").

This module knows no socket: it never imports the transport.

>>> call = prepare("mdrs", start="2024-05-01", end="2024-05-01", direction="inbound")
>>> call.method, call.path, call.params["direction"], call.params["end_date"]
('GET', '/reports/mdrs', 'INBOUND', '2024-05-01T23:59:59.999999Z')
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pandas as pd

from . import _dates, _frames
from .errors import UnexpectedResponseError

Where = Literal["query", "body", "path"]
Shape = Literal["records", "object", "first", "groups"]

# \Z, not $: "$" also matches before a final newline, which would let "id\n" through.
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\Z")
# Path segments we put into a URL must not be able to change the path: no "/", no
# percent-escapes, no control characters, and no "." or ".." (which a server or proxy
# resolves to this or the parent path).
_SEGMENT_RE = re.compile(r"^(?!\.\Z)(?!.*\.\.)[A-Za-z0-9._~:@-]+\Z")
#: Telnyx's named ranges of ``filter[date_range]`` in Detail Record Search (its API
#: reference lists these, "or a dynamic one using this format: last_N_days").
DATE_RANGES = ("yesterday", "today", "tomorrow", "last_week", "this_week", "next_week",
               "last_month", "this_month", "next_month")
_LAST_N_DAYS_RE = re.compile(r"^last_[1-9][0-9]*_days\Z")


# -- the rows' building blocks ------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One argument of an operation and how it reaches the API.

    ``choices`` maps friendly, lower-case names to wire values (``"inbound" -> 1`` for a
    legacy integer enum, ``"inbound" -> "INBOUND"`` for an upper-case one); the wire
    values themselves are accepted too. ``type`` is one of ``str``, ``int``, ``bool``,
    ``uuid``, ``id`` (a path segment), ``number`` (an integer id such as a connection),
    ``moment`` (a date or time), ``date_range`` (one of :data:`DATE_RANGES` or
    ``last_N_days``), ``filters`` (legacy batch report filter objects),
    ``mapping`` (a ``dict`` sent as ``api[key]=value``), ``condition`` (a value sent as
    ``api=value``, or a ``dict`` of operators in ``choices`` sent as ``api[op]=value``).
    """

    name: str
    api: str
    type: str = "str"
    choices: Mapping[str, Any] | None = None
    many: bool = False
    join: str | None = None  # how a list is written in a query string; None: repeated
    lo: int | None = None
    hi: int | None = None
    min_len: int | None = None
    required: bool = False
    where: Where | None = None  # None: query for GET/DELETE, body for POST
    aliases: tuple[str, ...] = ()
    # A condition's field kind (``_frames`` kinds: ``time``, ``money``, ``int`` ...): its
    # values are checked and written as that kind (times as ISO 8601 UTC).
    kind: str | None = None


@dataclass(frozen=True)
class Window:
    """How ``start``/``end`` reach an operation (windows are inclusive at both ends)."""

    start: str
    end: str
    fmt: Literal["time", "day"] = "time"
    required: bool = True
    max_span: pd.Timedelta | None = None  # longer windows are split by the engine
    # The API takes only one bound (call events: "only one filter[occurred_at] can be
    # passed"): the start is sent, and the engine reads the records (in time order) up to
    # the first past the end and trims those after it. ``time_field`` is their time.
    one_bound: bool = False
    time_field: str | None = None


@dataclass(frozen=True)
class Pager:
    """How an operation pages, as data: the names of its paging parameters.

    Numbered paging (``number`` set) asks for page 1, 2, ... of ``size`` records and
    reads ``meta`` (``total_pages``, ``total_results``, ``page_number``, ``page_size``);
    cursor paging (``after`` set) asks for ``size`` records after the cursor that the
    previous page gave in ``meta.cursors.after``.

    >>> NUMBERED.params(3, 250), CURSOR.params(None, 50, after="abc")
    ({'page[number]': 3, 'page[size]': 250}, {'page[limit]': 50, 'page[after]': 'abc'})
    """

    name: str
    size: str
    number: str | None = None
    after: str | None = None

    @property
    def cursor(self) -> bool:
        return self.after is not None

    def params(self, number: int | None, size: int, *, after: str | None = None) -> dict[str, Any]:
        """The paging parameters of one page."""
        out: dict[str, Any] = {}
        if self.number is not None and number is not None:
            out[self.number] = number
        out[self.size] = size
        if self.after is not None and after is not None:
            out[self.after] = after
        return out


#: The API's three ways of paging (docs/concepts/paging.md).
NUMBERED = Pager("number", "page[size]", number="page[number]")
LEGACY = Pager("legacy", "per_page", number="page")
CURSOR = Pager("cursor", "page[limit]", after="page[after]")
PAGERS: dict[str, Pager] = {p.name: p for p in (NUMBERED, LEGACY, CURSOR)}


@dataclass(frozen=True)
class Answer:
    """What an operation's 200 answer holds, and what to take from it (its data selector).

    ``select`` is the dotted path from the body to what the operation returns (``""``:
    the body itself), and ``shape`` what must sit there: ``"records"``, a list of
    objects; ``"object"``, one object; ``"first"``, a list holding one object (CSV
    downloads answer ``{"data": [report]}``); ``"groups"``, an object of lists of
    names (``{"Billing": ["cost", ...]}``), whose rows are ``columns`` (group, name).
    An ``"object"`` whose records sit inside it names them with ``records`` (a dotted
    path), and the fields in ``keep`` (its window) accompany every record. ``reports``
    says the answer describes report requests: one still pending is not final (and so
    never cached). ``empty_ok``: an answer without a body is fine (a DELETE's 204).

    Anything else (an HTML page, ``{"errors": [...]}`` with a 200, a bare list, ``data``
    that is not a list, a ``null`` record) is an :class:`UnexpectedResponseError`
    naming the endpoint and what was wrong.

    >>> Answer("data", "object", records="result").take(
    ...     {"data": {"result": [{"a": 1}]}}, "/x")
    [{'a': 1}]
    >>> Answer().take({"errors": [{"title": "Bad"}]}, "/reports/mdrs")
    Traceback (most recent call last):
    ...
    telnyx_analytics.errors.UnexpectedResponseError: /reports/mdrs: a 200 answer holding errors: Bad
    """

    select: str = "data"
    shape: Shape = "records"
    records: str | None = None
    keep: tuple[str, ...] = ()
    columns: tuple[str, str] = ("group", "name")
    reports: bool = False
    empty_ok: bool = False

    def take(self, body: Any, endpoint: str) -> Any:
        """What the operation returns, its shape checked: records (a list of dicts), an
        object (a dict), or the rows of groups; ``None`` for an allowed empty answer."""
        if body is None and self.empty_ok:
            return None
        found = dig(body, self.select, endpoint)
        field = self.select or None
        if self.shape == "records":
            return records_of(found, endpoint, field)
        if self.shape == "first":
            items = records_of(found, endpoint, field)
            if len(items) != 1:
                raise UnexpectedResponseError(
                    endpoint, f"expected a list of one object, got {len(items)} items", field=field
                )
            return items[0]
        obj = _object(found, endpoint, field)
        if self.shape == "groups":
            group, name = self.columns
            rows = []
            for key, names in obj.items():
                if not isinstance(names, list):
                    raise UnexpectedResponseError(
                        endpoint, f"expected a list of names, got {_kind(names)}", field=key
                    )
                rows += [{group: key, name: n} for n in names]
            return rows
        if self.records is not None:
            inner = ".".join(p for p in (self.select, self.records) if p)
            return records_of(dig(obj, self.records, endpoint, self.select), endpoint, inner)
        return obj

    def kept(self, body: Any) -> dict[str, Any]:
        """The fields (``keep``) that accompany every record (an answer already taken).

        >>> Answer("data", "object", records="result", keep=("start_date",)).kept(
        ...     {"data": {"start_date": "2024-05-01", "result": []}})
        {'start_date': '2024-05-01'}
        """
        if not self.keep:
            return {}
        obj = dig(body, self.select, "answer")
        return {k: obj.get(k) for k in self.keep}

    def final(self, body: Any) -> bool:
        """Whether an answer (of the right shape) is final: no report in it still pending."""
        return settled(body) if self.reports else True

    def check(self, body: Any, endpoint: str) -> bool:
        """Whether an answer is final (may be cached); its shape is checked first.

        >>> Answer("data", "object", reports=True).check({"data": {"status": 1}}, "/r")
        False
        """
        self.take(body, endpoint)
        return self.final(body)


_MISSING = object()


def dig(body: Any, path: str, endpoint: str, within: str = "") -> Any:
    """The value at dotted ``path`` in a JSON answer (``""``: the answer itself), or an
    :class:`UnexpectedResponseError` saying what stood in the way. ``within`` is where
    ``body`` itself sits in the answer (for messages).

    >>> dig({"data": {"result": [1]}}, "data.result", "/x")
    [1]
    >>> dig({"data": {"result": None}}, "data.result.records", "/x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    telnyx_analytics.errors.UnexpectedResponseError: /x: field 'data.result': expected an object...
    >>> dig([1, 2], "data", "/x")
    Traceback (most recent call last):
    ...
    telnyx_analytics.errors.UnexpectedResponseError: /x: expected a JSON object, got a list
    """
    node = body
    keys = [k for k in path.split(".") if k]
    for depth, key in enumerate(keys):
        here = ".".join([p for p in (within,) if p] + keys[:depth])
        if not isinstance(node, dict):
            if not here:
                _not_an_answer(node, endpoint)
            raise UnexpectedResponseError(
                endpoint, f"expected an object, got {_kind(node)}", field=here
            )
        node = node.get(key, _MISSING)
        if node is _MISSING:
            if not here:
                _not_an_answer(body, endpoint)
            raise UnexpectedResponseError(endpoint, "missing", field=f"{here}.{key}")
    if not keys and not within and (not isinstance(body, dict) or _only_errors(body)):
        _not_an_answer(body, endpoint)
    return node


def _only_errors(body: dict[str, Any]) -> bool:
    return isinstance(body.get("errors"), list) and not set(body) - {"errors", "meta"}


def records_of(value: Any, endpoint: str, field: str | None = None) -> list[dict[str, Any]]:
    """``value`` if it is a list of objects (records), else the error saying why not.

    >>> records_of([{"id": "a"}, None], "/reports/mdrs", "data")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    telnyx_analytics.errors.UnexpectedResponseError: /reports/mdrs: field 'data' of record row 1...
    """
    if not isinstance(value, list):
        raise UnexpectedResponseError(
            endpoint, f"expected a list of records, got {_kind(value)}", field=field
        )
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise UnexpectedResponseError(
                endpoint, f"expected an object, got {_kind(item)}", field=field, record=f"row {i}"
            )
    return value


def _object(value: Any, endpoint: str, field: str | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        if field is None:
            _not_an_answer(value, endpoint)
        raise UnexpectedResponseError(endpoint, f"expected an object, got {_kind(value)}",
                                      field=field)
    return value


def _not_an_answer(body: Any, endpoint: str) -> None:
    """Raise the error that says what a body that is not the documented object is."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        first = body["errors"][0] if body["errors"] else {}
        said = first if isinstance(first, dict) else {}
        words = ": ".join(str(said[k]) for k in ("title", "detail") if said.get(k))
        raise UnexpectedResponseError(endpoint, f"a 200 answer holding errors: {words or body}")
    if body is None:
        raise UnexpectedResponseError(
            endpoint, "expected a JSON object; the answer is empty or not JSON (an HTML page?)"
        )
    if isinstance(body, dict):
        keys = list(body)[:5]
        raise UnexpectedResponseError(
            endpoint, f"expected a JSON object with the documented fields, got keys {keys}"
        )
    raise UnexpectedResponseError(endpoint, f"expected a JSON object, got {_kind(body)}")


def _kind(value: Any) -> str:
    """A JSON value's type, in JSON's words."""
    if value is None:
        return "null"
    for types, name in ((bool, "a boolean"), ((int, float), "a number"), (str, "a string"),
                        (list, "a list"), (dict, "an object")):
        if isinstance(value, types):
            return name
    return type(value).__name__


@dataclass(frozen=True)
class Operation:
    """One operation of the API: a row of the catalog."""

    name: str
    method: Literal["GET", "POST", "DELETE"]
    path: str
    params: tuple[Param, ...] = ()
    window: Window | None = None
    paging: Pager | None = None
    max_page_size: int | None = None
    answer: Answer = Answer()  # what to take from a 200 answer
    schema: str | None = None  # _frames.SCHEMAS key of its records
    id_field: str | None = "id"  # how pages are de-duplicated (a dotted path)
    summary: str = ""

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if name == p.name or name in p.aliases or (name == p.api and p.api.isidentifier()):
                return p
        return None

    @property
    def accepted(self) -> list[str]:
        """The keyword names this operation accepts (for error messages)."""
        names = ["start", "end"] if self.window else []
        return names + [p.name for p in self.params if p.where != "path"]


@dataclass(frozen=True)
class Call:
    """A checked, translated request, ready for the transport."""

    op: Operation
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    #: The checked window, in UTC (``None`` for an open end).
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None


def _upper(*values: str) -> dict[str, str]:
    """Friendly lower-case names for an API enum (the values themselves also pass)."""
    return {v.lower(): v for v in values}


def _codes(**codes: int) -> dict[str, int]:
    """Friendly names for a legacy integer enum."""
    return dict(codes)


# -- enums (values from reports.yml; legacy codes from its descriptions) --------------------

MDR_DIRECTIONS = _upper("INBOUND", "OUTBOUND")
MDR_STATUSES = _upper(
    "GW_TIMEOUT", "DELIVERED", "DLR_UNCONFIRMED", "DLR_TIMEOUT", "RECEIVED", "GW_REJECT", "FAILED"
)
MESSAGE_TYPES = _upper("SMS", "MMS")

# The friendly names of the enum-like arguments, as types an IDE and a type checker show.
# A Literal must be written out; tests/test_catalog.py checks each against its table here.
CdrAggregation = Literal["none", "connection", "tag", "billing_group"]
CdrBreakdown = Literal["none", "did_vs_toll_free", "country", "did_vs_toll_free_per_country"]
MdrAggregation = Literal["none", "profile", "tags"]
SessionExpand = Literal["record", "none"]
ReportKindName = Literal[
    "billing_group", "mdr_detail", "cdr_detail", "mdr_usage_legacy", "cdr_usage_legacy",
    "number_lookup_usage", "mdr_usage", "phone_numbers_csv", "wdr",
]

CDR_AGGREGATIONS = {
    "none": "NO_AGGREGATION",
    "connection": "CONNECTION",
    "tag": "TAG",
    "billing_group": "BILLING_GROUP",
}
CDR_BREAKDOWNS = {
    "none": "NO_BREAKDOWN",
    "did_vs_toll_free": "DID_VS_TOLL_FREE",
    "country": "COUNTRY",
    "did_vs_toll_free_per_country": "DID_VS_TOLL_FREE_PER_COUNTRY",
}
MDR_AGGREGATIONS = {"none": "NO_AGGREGATION", "profile": "PROFILE", "tags": "TAGS"}
CALL_EVENT_PRODUCTS = _upper("call_control", "fax", "texml")
CALL_EVENT_STATUSES = _upper("init", "in_progress", "completed")
CALL_EVENT_TYPES = _upper("command", "webhook")
SESSION_EXPAND = _upper("record", "none")
CSV_FORMATS = _upper("V1", "V2")
NUMBER_STATUSES = _upper(
    "purchase-pending", "purchase-failed", "port-pending", "active", "deleted", "port-failed",
    "emergency-only", "ported-out", "port-out-pending",
)
USAGE_PAYMENT_METHODS = _upper("pay-per-minute", "channel")
TELCO_AGGREGATIONS = {"all": "ALL", "by_organization_member": "BY_ORGANIZATION_MEMBER"}
CDR_SOURCES = _upper("calls", "call-control", "fax-api", "webrtc")
# Legacy integer enums (docs/sandbox.md): the descriptions spell them out in prose.
LEGACY_DIRECTIONS = _codes(inbound=1, outbound=2)
LEGACY_RECORD_TYPES = _codes(complete=1, incomplete=2, errors=3)
LEGACY_CDR_AGGREGATIONS = _codes(all=0, connection=1, tag=2, billing_group=3)
LEGACY_MDR_AGGREGATIONS = _codes(none=0, profile=1, tags=2)
LEGACY_BREAKDOWNS = _codes(none=0, did_vs_toll_free=1, country=2, did_vs_toll_free_per_country=3)
#: Legacy report statuses (``1`` pending ... ``4`` expired).
LEGACY_STATUSES = {1: "pending", 2: "complete", 3: "failed", 4: "expired"}
FILTER_KEYS = (
    "billing_group", "cld", "cld_filter", "cli", "cli_filter", "filter_type", "tags_list",
)
FILTER_MATCH = ("contains", "starts_with", "ends_with")
FILTER_TYPES = ("and", "or")

#: Largest page sizes (docs/sandbox.md, "Paging"; the description's maxima).
MAX_PAGE = 250
MAX_PAGE_USAGE = 5000

# -- shared parameter sets ---------------------------------------------------------------

_ID = Param("report_id", "id", type="uuid", where="path", required=True)
_TEXT_ID = Param("report_id", "id", type="id", where="path", required=True)
_MANAGED = Param("managed_accounts", "managed_accounts", type="uuid", many=True)
_SELECT_ALL = Param("select_all_managed_accounts", "select_all_managed_accounts", type="bool")
_CONNECTIONS = Param("connections", "connections", type="number", many=True)
_FILTERS = Param("filters", "filters", type="filters", many=True)
_TIME = Window("start_time", "end_time")


_REPORT = Answer("data", "object", reports=True)
_REPORTS = Answer("data", "records", reports=True)


def _report_ops(
    kind: str, path: str, *, create: tuple[Param, ...], window: Window | None,
    list_paging: Pager | None, verbs: Iterable[str] = ("list", "create", "get", "delete"),
    id_param: Param = _ID, create_where: Where | None = None, report: Answer = _REPORT,
) -> list[Operation]:
    """The list/create/get/delete rows of one asynchronous report kind.

    ``report`` is where an answer holds the one report request (``data``).
    """
    rows: list[Operation] = []
    verbs = set(verbs)
    if "list" in verbs:
        rows.append(Operation(
            f"{kind}.list", "GET", path, paging=list_paging,
            max_page_size=MAX_PAGE if list_paging else None, answer=_REPORTS,
            schema="report_request",
        ))
    if "create" in verbs:
        if create_where:
            create = tuple(replace(p, where=create_where) if p.where is None else p for p in create)
        rows.append(Operation(f"{kind}.create", "POST", path, params=create, window=window,
                              answer=report))
    if "get" in verbs:
        rows.append(Operation(f"{kind}.get", "GET", path + "/{id}", params=(id_param,),
                              answer=report))
    if "delete" in verbs:
        rows.append(Operation(f"{kind}.delete", "DELETE", path + "/{id}", params=(id_param,),
                              answer=replace(report, empty_ok=True)))
    return rows


# -- the catalog --------------------------------------------------------------------------

_ROWS: list[Operation] = [
    # Records and synchronous reports (records.py).
    Operation(
        "call_events", "GET", "/call_events",
        window=Window(
            "filter[occurred_at][gte]", "filter[occurred_at][lte]", required=False, one_bound=True,
            time_field="event_timestamp",
        ),
        paging=CURSOR, max_page_size=MAX_PAGE, schema="call_event", id_field="metadata.event_id",
        params=(
            Param("leg_id", "filter[leg_id]", type="uuid"),
            Param("application_session_id", "filter[application_session_id]", type="uuid"),
            Param("application_name_contains", "filter[application_name][contains]", min_len=3),
            Param("connection_id", "filter[connection_id]"),
            Param("outbound_voice_profile_id", "filter[outbound.outbound_voice_profile_id]"),
            Param("product", "filter[product]", choices=CALL_EVENT_PRODUCTS),
            Param("failed", "filter[failed]", type="bool"),
            Param("from_", "filter[from]", aliases=("from", "from_number")),
            Param("to", "filter[to]", aliases=("to_number",)),
            Param("name", "filter[name]"),
            Param("type", "filter[type]", choices=CALL_EVENT_TYPES),
            Param("status", "filter[status]", choices=CALL_EVENT_STATUSES),
        ),
        summary="Call control events (last 24 h unless a leg, session or window is given).",
    ),
    Operation(
        "mdrs", "GET", "/reports/mdrs", window=Window("start_date", "end_date"),
        paging=NUMBERED, max_page_size=MAX_PAGE, schema="mdr",
        params=(
            Param("id", "id"),
            Param("direction", "direction", choices=MDR_DIRECTIONS),
            Param("profile", "profile"),
            Param("cld", "cld"),
            Param("cli", "cli"),
            Param("status", "status", choices=MDR_STATUSES),
            Param("message_type", "message_type", choices=MESSAGE_TYPES),
        ),
        summary="Message detail records.",
    ),
    Operation(
        "wdrs", "GET", "/reports/wdrs", window=Window("start_date", "end_date"),
        paging=NUMBERED, max_page_size=MAX_PAGE, schema="wdr",
        params=(
            Param("id", "id"),
            Param("mcc", "mcc"),
            Param("mnc", "mnc"),
            Param("imsi", "imsi"),
            Param("sim_group_name", "sim_group_name"),
            Param("sim_group_id", "sim_group_id"),
            Param("sim_card_id", "sim_card_id"),
            Param("phone_number", "phone_number"),
            Param("sort", "sort", many=True),
        ),
        summary="Wireless detail records.",
    ),
    Operation(
        "cdr_usage", "GET", "/reports/cdr_usage_reports/sync",
        window=Window("start_date", "end_date"), schema="cdr_usage", id_field=None,
        answer=Answer("data", "object", records="result.records", keep=("start_time", "end_time")),
        params=(
            Param("aggregation", "aggregation_type", choices=CDR_AGGREGATIONS, required=True),
            Param("breakdown", "product_breakdown", choices=CDR_BREAKDOWNS, required=True),
            _CONNECTIONS,
        ),
        summary="Voice usage, aggregated, generated synchronously.",
    ),
    Operation(
        "mdr_usage", "GET", "/reports/mdr_usage_reports/sync",
        window=Window("start_date", "end_date"), schema="mdr_usage", id_field=None,
        answer=Answer("data", "object", records="result", keep=("start_date", "end_date")),
        params=(
            Param("aggregation", "aggregation_type", choices=MDR_AGGREGATIONS, required=True),
            Param("profiles", "profiles", many=True),
        ),
        summary="Messaging usage, aggregated, generated synchronously.",
    ),
    Operation(
        "product_usage", "GET", "/usage_reports",
        window=Window("start_date", "end_date", required=False, max_span=pd.Timedelta(days=31)),
        paging=NUMBERED, max_page_size=MAX_PAGE_USAGE, id_field=None,
        params=(
            Param("product", "product", required=True),
            Param("dimensions", "dimensions", many=True, join=",", required=True),
            Param("metrics", "metrics", many=True, join=",", required=True),
            Param("date_range", "date_range"),
            Param("filter", "filter", type="mapping"),
            Param("managed_accounts", "managed_accounts", type="bool"),
            Param("sort", "sort", many=True),
        ),
        summary="Product usage (BETA): metrics by dimensions, at most 31 days per request.",
    ),
    Operation(
        "product_usage_options", "GET", "/usage_reports/options", id_field=None,
        params=(Param("product", "product"),),
        summary="Products, dimensions and metrics that product_usage accepts.",
    ),
    Operation("cdr_report_fields", "GET", "/legacy/reporting/batch_detail_records/voice/fields",
              answer=Answer("", "groups", columns=("category", "field")),
              schema="cdr_report_field", id_field=None,
              summary="Fields a CDR detail report can contain."),
    Operation("session_metadata", "GET", "/session_analysis/metadata", id_field=None,
              answer=Answer("record_types", "records"),
              summary="Record types and query parameters of session analysis."),
    Operation(
        "session_metadata.record_type", "GET", "/session_analysis/metadata/{record_type}",
        id_field=None, answer=Answer("", "object"),
        params=(Param("record_type", "record_type", type="id", where="path", required=True),),
        summary="Relationships and examples of one record type.",
    ),
    Operation(
        "session_analysis", "GET", "/session_analysis/{record_type}/{event_id}", id_field=None,
        answer=Answer("", "object"),
        params=(
            Param("record_type", "record_type", type="id", where="path", required=True),
            Param("event_id", "event_id", type="uuid", where="path", required=True),
            Param("include_children", "include_children", type="bool"),
            Param("max_depth", "max_depth", type="int", lo=1, hi=5),
            Param("expand", "expand", choices=SESSION_EXPAND),
            Param("date_time", "date_time", type="moment"),
        ),
        summary="The cost tree of one session.",
    ),
    # Asynchronous reports (reports.py): nine kinds.
    *_report_ops(
        "billing_group", "/ledger_billing_group_reports", verbs=("create", "get"), window=None,
        list_paging=None,
        create=(
            Param("month", "month", type="int", lo=1, hi=12, required=True),
            Param("year", "year", type="int", lo=2000, hi=2100, required=True),
        ),
    ),
    *_report_ops(
        "mdr_detail", "/legacy/reporting/batch_detail_records/messaging", window=_TIME,
        list_paging=None,
        create=(
            Param("directions", "directions", choices=LEGACY_DIRECTIONS, many=True),
            Param("record_types", "record_types", choices=LEGACY_RECORD_TYPES, many=True),
            _CONNECTIONS,
            Param("profiles", "profiles", type="uuid", many=True),
            _FILTERS,
            Param("include_message_body", "include_message_body", type="bool"),
            _MANAGED,
            _SELECT_ALL,
            Param("report_name", "report_name"),
            Param("timezone", "timezone"),
        ),
    ),
    *_report_ops(
        "cdr_detail", "/legacy/reporting/batch_detail_records/voice", window=_TIME,
        list_paging=None,
        create=(
            Param("directions", "call_types", choices=LEGACY_DIRECTIONS, many=True),
            Param("record_types", "record_types", choices=LEGACY_RECORD_TYPES, many=True),
            _CONNECTIONS,
            Param("fields", "fields", many=True),
            _FILTERS,
            Param("include_all_metadata", "include_all_metadata", type="bool"),
            _MANAGED,
            _SELECT_ALL,
            Param("report_name", "report_name"),
            Param("source", "source", choices=CDR_SOURCES),
            Param("timezone", "timezone"),
        ),
    ),
    *_report_ops(
        "mdr_usage_legacy", "/legacy/reporting/usage_reports/messaging",
        window=Window("start_time", "end_time", required=False),
        list_paging=LEGACY,
        create=(
            Param("aggregation", "aggregation_type", choices=LEGACY_MDR_AGGREGATIONS,
                  required=True),
            Param("profiles", "profiles", type="uuid", many=True),
            _MANAGED,
            _SELECT_ALL,
        ),
    ),
    *_report_ops(
        "cdr_usage_legacy", "/legacy/reporting/usage_reports/voice", window=_TIME,
        list_paging=LEGACY,
        create=(
            Param("aggregation", "aggregation_type", choices=LEGACY_CDR_AGGREGATIONS),
            Param("breakdown", "product_breakdown", choices=LEGACY_BREAKDOWNS),
            _CONNECTIONS,
            _MANAGED,
            _SELECT_ALL,
        ),
    ),
    *_report_ops(
        "number_lookup_usage", "/legacy/reporting/usage_reports/number_lookup",
        window=Window("startDate", "endDate", fmt="day"), list_paging=None, id_param=_TEXT_ID,
        create=(
            Param("aggregation", "aggregationType", choices=TELCO_AGGREGATIONS),
            Param("managed_accounts", "managedAccounts", many=True),
        ),
    ),
    *_report_ops(
        "mdr_usage", "/reports/mdr_usage_reports", window=Window("start_date", "end_date"),
        list_paging=NUMBERED,
        create=(
            Param("aggregation", "aggregation_type", choices=MDR_AGGREGATIONS, required=True),
            Param("profiles", "profiles", many=True, join=","),
        ),
    ),
    *_report_ops(
        "phone_numbers_csv", "/phone_numbers/csv_downloads", verbs=("list", "create", "get"),
        window=None, list_paging=NUMBERED, id_param=_TEXT_ID, create_where="query",
        report=Answer("data", "first", reports=True),
        create=(
            Param("csv_format", "csv_format", choices=CSV_FORMATS),
            Param("billing_group_id", "filter[billing_group_id]"),
            Param("connection_id", "filter[connection_id]"),
            Param("customer_reference", "filter[customer_reference]"),
            Param("emergency_address_id", "filter[emergency_address_id]"),
            Param("has_bundle", "filter[has_bundle]", type="bool"),
            Param("phone_number", "filter[phone_number]", min_len=3),
            Param("status", "filter[status]", choices=NUMBER_STATUSES),
            Param("tag", "filter[tag]"),
            Param("connection_name", "filter[voice.connection_name]", type="mapping",
                  choices=_upper("contains", "ends_with", "eq", "starts_with")),
            Param("usage_payment_method", "filter[voice.usage_payment_method]",
                  choices=USAGE_PAYMENT_METHODS),
        ),
    ),
    *_report_ops(
        "wdr", "/wireless/detail_records_reports", window=_TIME, list_paging=NUMBERED, create=(),
    ),
]

#: Every operation by name (``"mdrs"``, ``"cdr_detail.create"``, ...).
OPERATIONS: dict[str, Operation] = {op.name: op for op in _ROWS}


# -- the Detail Record Search API (outside the 44: its own description) --------------------


@dataclass(frozen=True)
class DetailType:
    """One ``filter[record_type]`` of ``GET /detail_records``: the field its window applies
    to, the field holding its cost (``None``: it carries none) and the field that
    identifies a record. Its columns are the schema ``detail_records.<name>``."""

    name: str
    time_field: str = "created_at"
    cost_field: str | None = "cost"
    id_field: str = "id"

    @property
    def schema(self) -> str:
        return f"detail_records.{self.name}"


#: The 21 record types, as Telnyx's description and SDK name them (``detail_record_list_
#: params.py``); each type's fields are its schema's columns (``_frames.SCHEMAS``).
DETAIL_TYPES: dict[str, DetailType] = {
    t.name: t
    for t in (
        DetailType("ai-voice-assistant"),
        DetailType("amd", time_field="invoked_at"),
        DetailType("call-control", time_field="started_at"),
        DetailType("conference", time_field="started_at", cost_field=None),
        DetailType("conference-participant", time_field="joined_at"),
        DetailType("embedding"),
        DetailType("fax"),
        DetailType("inference"),
        DetailType("inference-speech-to-text"),
        DetailType("media_storage"),
        DetailType("media-streaming"),
        DetailType("messaging", id_field="uuid"),
        DetailType("noise-suppression"),
        DetailType("recording"),
        DetailType("sip-trunking", time_field="started_at"),
        DetailType("siprec-client"),
        DetailType("stt"),
        DetailType("tts"),
        DetailType("verify", cost_field="verify_usage_fee"),
        DetailType("webrtc", time_field="started_at"),
        DetailType("wireless", cost_field="data_cost"),
    )
}
#: Operators of a detail record filter (``filter[cld][starts_with]=+1``).
DETAIL_OPERATORS = ("eq", "gt", "gte", "lt", "lte", "starts_with", "ends_with", "contains")
#: Largest ``page[size]`` of ``GET /detail_records``.
MAX_PAGE_DETAIL = 50


def _detail_row(kind: DetailType, fields: Iterable[str]) -> Operation:
    """The row of one record type: its window on its own time field, a filter per field
    (``filter[<field>]``, with operators) and ``sort`` on its fields."""
    fields = [f for f in fields if f != "record_type"]
    order = {f: f for f in fields} | {f"-{f}": f"-{f}" for f in fields}
    operators = {op: op for op in DETAIL_OPERATORS}
    t = kind.time_field
    return Operation(
        kind.schema, "GET", "/detail_records",
        window=Window(f"filter[{t}][gte]", f"filter[{t}][lte]", required=False),
        paging=NUMBERED, max_page_size=MAX_PAGE_DETAIL, schema=kind.schema,
        id_field=kind.id_field,
        params=(
            Param("record_type", "filter[record_type]", choices={kind.name: kind.name},
                  required=True),
            Param("date_range", "filter[date_range]", type="date_range"),
            Param("sort", "sort", choices=order, many=True),
            *(Param(f, f"filter[{f}]", type="condition", choices=operators,
                    kind=_frames.SCHEMAS[kind.schema].kind(f)) for f in fields),
        ),
        summary=f"Detail records of type {kind.name!r} (Detail Record Search).",
    )


def detail_operation(record_type: Any) -> Operation:
    """The row of one detail record type, or a ``ValueError`` naming the 21 types.

    >>> detail_operation("call-control").window.start
    'filter[started_at][gte]'
    """
    kind = DETAIL_TYPES.get(record_type) if isinstance(record_type, str) else None
    if kind is None:
        raise ValueError(f"record_type must be one of: {', '.join(DETAIL_TYPES)}; "
                         f"got {record_type!r}.")
    return DETAIL_OPERATIONS[kind.name]


#: The row of each detail record type, by ``filter[record_type]``.
DETAIL_OPERATIONS: dict[str, Operation] = {
    k: _detail_row(t, _frames.SCHEMAS[t.schema].names) for k, t in DETAIL_TYPES.items()
}


def fetchers() -> list[Operation]:
    """The synchronous operations that read records or usage over a window, in catalog
    order: each is a fetcher of the same name (``tx.mdrs``, ``tx.cdr_usage``, ...).

    >>> [op.name for op in fetchers()][:3]
    ['call_events', 'mdrs', 'wdrs']
    """
    return [op for op in _ROWS if "." not in op.name and op.window is not None]


# -- report kinds -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportKind:
    """One asynchronous report kind: its operations and how to read its answers."""

    name: ReportKindName
    path: str
    csv_schema: str
    url_field: str = "report_url"
    summary: str = ""

    def op(self, verb: str) -> Operation:
        """The kind's operation for ``verb``, or a ``ValueError`` naming the kind."""
        op = OPERATIONS.get(f"{self.name}.{verb}")
        if op is None:
            raise ValueError(
                f"Report kind {self.name!r} has no {verb!r} operation in the Telnyx API; "
                f"it supports: {', '.join(self.verbs)}."
            )
        return op

    @property
    def verbs(self) -> list[str]:
        return [v for v in ("list", "create", "get", "delete") if f"{self.name}.{v}" in OPERATIONS]


REPORT_KINDS: dict[str, ReportKind] = {
    k.name: k
    for k in (
        ReportKind("billing_group", "/ledger_billing_group_reports", "billing_group",
                   summary="Costs per billing group for one month (month, year)."),
        ReportKind("mdr_detail", "/legacy/reporting/batch_detail_records/messaging", "mdr_detail",
                   summary="Message detail records (CSV)."),
        ReportKind("cdr_detail", "/legacy/reporting/batch_detail_records/voice", "cdr_detail",
                   summary="Call detail records (CSV)."),
        ReportKind("mdr_usage_legacy", "/legacy/reporting/usage_reports/messaging",
                   "mdr_usage_legacy", summary="Messaging usage per day (legacy)."),
        ReportKind("cdr_usage_legacy", "/legacy/reporting/usage_reports/voice", "cdr_usage_legacy",
                   summary="Voice usage per day (legacy)."),
        ReportKind("number_lookup_usage", "/legacy/reporting/usage_reports/number_lookup",
                   "number_lookup_usage", summary="Number lookup (telco data) usage per day."),
        ReportKind("mdr_usage", "/reports/mdr_usage_reports", "mdr_usage",
                   summary="Messaging usage for a window."),
        ReportKind("phone_numbers_csv", "/phone_numbers/csv_downloads", "phone_numbers_csv",
                   url_field="url", summary="The account's phone numbers."),
        ReportKind("wdr", "/wireless/detail_records_reports", "wdr_report",
                   summary="Wireless detail records (CSV)."),
    )
}

#: Final report statuses, in the normalised vocabulary of :func:`report_status`.
FINAL_STATUSES = frozenset({"complete", "failed", "expired", "deleted"})
#: Every report status the API documents (normalised): anything else is unexpected.
REPORT_STATUSES = FINAL_STATUSES | {"pending"}


def report_kind(kind: Any) -> ReportKind:
    """The :class:`ReportKind` called ``kind``, or an error listing the kinds.

    >>> report_kind("cdr_detail").path
    '/legacy/reporting/batch_detail_records/voice'
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a str, one of: {', '.join(REPORT_KINDS)}; got {kind!r}.")
    try:
        return REPORT_KINDS[kind]
    except KeyError:
        raise ValueError(
            f"Unknown report kind {kind!r}; kind must be one of: {', '.join(REPORT_KINDS)}."
        ) from None


def report_status(value: Any) -> str:
    """One vocabulary for the kinds' statuses: ``pending``, ``complete``, ``failed``,
    ``expired``, ``deleted`` (legacy integer codes and upper-case words translated).

    >>> [report_status(v) for v in (1, 2, "COMPLETE", "failed", "4")]
    ['pending', 'complete', 'complete', 'failed', 'expired']
    """
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return LEGACY_STATUSES.get(value, str(value))
    return str(value).strip().lower() if value is not None else "pending"


def settled(payload: Any) -> bool:
    """Whether an answer describes no report request still pending (so it may be cached).

    >>> settled({"data": {"id": "r1", "status": "PENDING"}}), settled({"data": [{"status": 2}]})
    (False, True)
    >>> settled(None)   # not JSON: nothing to keep
    False
    """
    if payload is None:
        return False
    data = payload.get("data") if isinstance(payload, dict) else None
    for item in data if isinstance(data, list) else (data,):
        status = item.get("status") if isinstance(item, dict) else None
        # Only a status that is a report's (True == 1 would be a "pending" legacy code).
        if isinstance(status, int | str) and not isinstance(status, bool) and (
            report_status(status) == "pending"
        ):
            return False
    return True


# -- checking and translating arguments ----------------------------------------------------


def _type_name(value: Any) -> str:
    return type(value).__name__


def _choice(p: Param, value: Any) -> Any:
    assert p.choices is not None
    if isinstance(value, str) and value.strip().lower() in p.choices:
        return p.choices[value.strip().lower()]
    wire = {v for v in p.choices.values()}
    if not isinstance(value, bool) and value in wire:
        return value
    allowed = ", ".join(repr(k) for k in p.choices)
    raise ValueError(f"{p.name} must be one of {allowed}; got {value!r}.")


def _scalar(p: Param, value: Any) -> Any:
    """Check and translate one value of ``p`` to its wire form."""
    if p.choices is not None and p.type == "str":
        return _choice(p, value)
    if p.type == "bool":
        if not isinstance(value, bool):
            raise TypeError(f"{p.name} must be True or False, got {_type_name(value)} {value!r}.")
        return value
    if p.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{p.name} must be an int, got {_type_name(value)} {value!r}.")
        if (p.lo is not None and value < p.lo) or (p.hi is not None and value > p.hi):
            raise ValueError(f"{p.name} must be an int from {p.lo} to {p.hi}, got {value}.")
        return value
    if p.type == "number":
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TypeError(
                f"{p.name} must be integer ids (int or a string of digits), "
                f"got {_type_name(value)} {value!r}."
            )
        return value
    if p.type == "moment":
        return _dates.iso(_dates.to_utc(value, p.name))
    if not isinstance(value, str):
        raise TypeError(f"{p.name} must be a str, got {_type_name(value)} {value!r}.")
    if p.type == "date_range" and not (value in DATE_RANGES or _LAST_N_DAYS_RE.match(value)):
        raise ValueError(f"{p.name} must be one of {', '.join(DATE_RANGES)} or last_N_days "
                         f"(N from 1, such as 'last_7_days'); got {value!r}.")
    if p.type == "uuid" and not _UUID_RE.match(value):
        raise ValueError(
            f"{p.name} must be a UUID like '3fa85f64-5717-4562-b3fc-2c963f66afa6', got {value!r}."
        )
    if p.type == "id" and not _SEGMENT_RE.match(value):
        raise ValueError(
            f"{p.name} must be a non-empty id of letters, digits and '-', '_', '.' "
            f"(not '.' or '..'), got {value!r}."
        )
    if p.min_len is not None and len(value) < p.min_len:
        raise ValueError(f"{p.name} needs at least {p.min_len} characters, got {value!r}.")
    return value


def _filters(p: Param, value: Any) -> list[dict[str, str]]:
    """Legacy batch report filters: a list of dicts with the description's keys and rules."""
    items = [value] if isinstance(value, Mapping) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(f, Mapping) for f in items):
        raise TypeError(
            f"{p.name} must be a list of dicts with keys {', '.join(FILTER_KEYS)}; got {value!r}."
        )
    out = []
    previous = None
    for i, f in enumerate(items):
        unknown = sorted(set(f) - set(FILTER_KEYS))
        if unknown:
            raise ValueError(
                f"{p.name}[{i}] has unknown keys {unknown}; allowed keys: {', '.join(FILTER_KEYS)}."
            )
        for key, allowed in (("cld_filter", FILTER_MATCH), ("cli_filter", FILTER_MATCH),
                             ("filter_type", FILTER_TYPES)):
            if key in f and f[key] not in allowed:
                raise ValueError(
                    f"{p.name}[{i}]['{key}'] must be one of {', '.join(allowed)}; got {f[key]!r}."
                )
        kind = f.get("filter_type")
        # The description's rules: the first filter is an 'and'; an 'or' is never followed
        # by an 'and'.
        if i == 0 and kind not in (None, "and"):
            raise ValueError(f"{p.name}[0]['filter_type'] must be 'and' (the first filter).")
        if previous == "or" and kind == "and":
            raise ValueError(f"{p.name}[{i}]: an 'or' filter cannot be followed by an 'and'.")
        previous = kind or previous
        out.append({k: str(v) for k, v in f.items()})
    return out


def _value(p: Param, value: Any) -> Any:
    """Check and translate a whole argument (scalar or list)."""
    if p.type == "filters":
        return _filters(p, value)
    if p.type == "condition":
        # A plain value means "equal to", written as the API's example is
        # (``filter[status]=delivered``); a dict names operators.
        if isinstance(value, bool):  # a flag (is_telnyx_billable), as the API writes it
            value = "true" if value else "false"
        if not isinstance(value, Mapping):
            value = {"": value}
        elif not value:
            raise TypeError(f"{p.name} must be a value or a non-empty dict of operator to "
                            f"value, got {value!r}.")
        value = {k: _condition_value(p, k, v) for k, v in value.items()}
    if p.type in ("mapping", "condition"):
        if isinstance(value, str) and p.choices is not None:
            value = {"eq": value}  # a plain name means "equal to"
        if not isinstance(value, Mapping) or not value:
            raise TypeError(f"{p.name} must be a non-empty dict of str to str, got {value!r}.")
        out = {}
        for k, v in value.items():
            # Scalars only: each value becomes one query parameter.
            scalar = isinstance(v, (str, int, float)) and not isinstance(v, bool)
            if not isinstance(k, str) or not scalar:
                if p.type == "condition":
                    raise TypeError(f"{p.name} takes one value, or a dict of operator to one "
                                    f"value, got {value.get('', value)!r}.")
                raise TypeError(f"{p.name} must be a dict of str to str, got {k!r}: {v!r}.")
            if p.choices is not None and k.lower() not in p.choices and k != "":
                raise ValueError(f"{p.name} keys must be among {', '.join(p.choices)}; got {k!r}.")
            out[k] = str(v)
        return out
    if p.many:
        items = [value] if isinstance(value, (str, int)) else value
        if isinstance(items, Mapping) or not isinstance(items, Iterable):
            raise TypeError(f"{p.name} must be a list, got {_type_name(value)} {value!r}.")
        items = list(items)
        if not items:
            raise ValueError(f"{p.name} must not be empty (leave it out to mean 'all').")
        return [_scalar(p, v) for v in items]
    return _scalar(p, value)


_TEXT_OPERATORS = ("starts_with", "ends_with", "contains")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)\Z")


def _condition_value(p: Param, operator: Any, value: Any) -> Any:
    """One value of a condition, checked against its field's kind: a time in the shared
    vocabulary (a day as an upper bound means its end), a number for money and counts."""
    if not isinstance(operator, str) or operator in _TEXT_OPERATORS:
        return value
    if p.kind in ("time", "day"):
        as_end = operator in ("lte", "gt")  # "up to May 1" and "after May 1": the whole day
        return _dates.iso(_dates.to_utc(value, f"{p.name}[{operator or 'eq'}]", end=as_end))
    if p.kind in ("money", "int", "float"):
        number = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value))
        if not (number or (isinstance(value, str) and _NUMBER_RE.match(value.strip()))):
            raise ValueError(f"{p.name}[{operator or 'eq'}] must be a number, got {value!r}.")
    return value


def _wire(p: Param, value: Any, where: Where) -> dict[str, Any]:
    """The (name, value) pairs ``p`` writes into the query string or the JSON body."""
    if p.type in ("mapping", "condition"):
        if where == "body":
            return {p.api: value}
        return {f"{p.api}[{k}]" if k else p.api: v for k, v in value.items()}
    if where == "body":
        if p.join and isinstance(value, list):
            return {p.api: p.join.join(map(str, value))}
        return {p.api: value}
    if isinstance(value, bool):
        return {p.api: "true" if value else "false"}
    if isinstance(value, list):
        if p.join:
            return {p.api: p.join.join(map(str, value))}
        return {p.api: [str(v) for v in value]}
    return {p.api: value}


def check_paging(op: Operation, page_size: Any, limit: Any) -> int | None:
    """Check ``page_size`` and ``limit``; the page size to use (default: the largest)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}.")
    if op.paging is None:
        if page_size is not None:
            raise TypeError(f"{op.name} is not paginated: page_size does not apply.")
        return None
    if page_size is None:
        return op.max_page_size
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise TypeError(
            f"page_size must be an int from 1 to {op.max_page_size}, got {page_size!r}."
        )
    if not 1 <= page_size <= (op.max_page_size or page_size):
        raise ValueError(
            f"page_size must be from 1 to {op.max_page_size} (the most {op.path} allows), "
            f"got {page_size}."
        )
    return page_size


def operation(name: str | Operation) -> Operation:
    """The catalog row called ``name``."""
    return name if isinstance(name, Operation) else OPERATIONS[name]


def prepare(op: str | Operation, /, **kwargs: Any) -> Call:
    """Check ``kwargs`` against an operation and translate them into a request.

    Every check happens here, before anything is sent: unknown arguments, enum values
    (listing the allowed ones), id shapes, ranges, types, and the window (``end`` not
    before ``start``). ``None`` means "not given".

    Parameters
    ----------
    op
        An :class:`Operation` or its name in :data:`OPERATIONS`.
    **kwargs
        ``start``, ``end`` (when the operation has a window), path arguments such as
        ``report_id``, and the operation's filters under their friendly names.

    Returns
    -------
    Call
        Method, path (with path arguments filled in), query parameters, JSON body.

    Raises
    ------
    TypeError, ValueError
        Naming the argument and what it accepts.

    Examples
    --------
    >>> body = prepare("cdr_detail.create", start="2024-05-01", end="2024-05-02",
    ...                directions=["inbound"], record_types=["complete"]).json
    >>> body["start_time"], body["end_time"], body["call_types"], body["record_types"]
    ('2024-05-01T00:00:00Z', '2024-05-02T23:59:59.999999Z', [1], [1])
    """
    op = operation(op)
    where_default: Where = "body" if op.method == "POST" else "query"
    query: dict[str, Any] = {}
    body: dict[str, Any] = {}
    path_args: dict[str, str] = {}

    start = kwargs.pop("start", None)
    end = kwargs.pop("end", None)
    lo = hi = None
    if op.window is not None:
        lo, hi = _dates.window(start, end, required=op.window.required)
        fmt = _dates.iso_day if op.window.fmt == "day" else _dates.iso
        target = body if where_default == "body" else query
        if lo is not None:
            target[op.window.start] = fmt(lo)
        if hi is not None and not (op.window.one_bound and lo is not None):
            target[op.window.end] = fmt(hi)
    elif start is not None or end is not None:
        accepted = ", ".join(op.accepted) or "nothing"
        raise TypeError(f"{op.name} takes no start/end window; it accepts: {accepted}.")

    given: dict[str, tuple[Param, Any]] = {}
    for key, value in kwargs.items():
        p = op.param(key)
        if p is None:
            accepted = ", ".join(op.accepted) or "no arguments"
            raise TypeError(
                f"{op.name} got an unexpected argument {key!r}; it accepts: {accepted}."
            )
        if p.name in given:
            raise TypeError(f"{op.name} got {p.name!r} twice (as {key!r} too).")
        if value is not None:
            given[p.name] = (p, value)
    if "date_range" in given and (start is not None or end is not None):
        # Two windows for one listing: the API would take one of them, or their overlap.
        raise ValueError(f"{op.name}: give either date_range or start/end, not both.")
    for p in op.params:
        if p.required and p.name not in given:
            what = f" one of {', '.join(map(repr, p.choices))}" if p.choices else ""
            raise TypeError(f"{op.name} needs {p.name}{what}.")

    for p, value in given.values():
        wire = _value(p, value)
        where = p.where or where_default
        if where == "path":
            path_args[p.api] = str(wire)
        else:
            target = body if where == "body" else query
            pairs = _wire(p, wire, where)
            taken = sorted(set(pairs) & set(target))
            if taken:
                # The window wrote these already: one would silently replace the other.
                raise ValueError(
                    f"{p.name}: {', '.join(taken)} is set by the window (start/end) too; "
                    f"give the time once, as start/end or as {p.name}=...")
            target.update(pairs)

    path = op.path.format(**path_args)
    # A POST whose arguments all travel in the query string (CSV downloads) has no body.
    has_body = op.method == "POST" and (
        op.window is not None or any((p.where or where_default) == "body" for p in op.params)
    )
    return Call(op, op.method, path, query, body if has_body else None, lo, hi)
