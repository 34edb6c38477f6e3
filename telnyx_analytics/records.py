"""Records and synchronous reports, each as a typed pandas DataFrame.

Every function here is a thin shell over the one engine (``_engine.py``): it names a row
of the catalog (``_catalog.OPERATIONS``), which checks and translates the arguments
before anything is sent, says what to take from the answer, and how the pages go; the
engine fetches (every page, in parallel where the API allows), and turns the records
into the typed frame of the row's schema (``_frames``). See docs/frames.md for the
columns.

Windows use one vocabulary, ``start`` and ``end``: a ``str``, ``datetime.date``,
``datetime.datetime`` or ``pandas.Timestamp``; a naive value is taken as UTC; a day as
``end`` includes that whole day (windows are inclusive at both ends, as in the API).

>>> import telnyx_analytics as tx
>>> from telnyx_analytics.sandbox import serve
>>> with serve(seed=1, days=3) as sb:
...     client = tx.Client("KEY_DOC", sb.base_url, cache=False)
...     df = mdrs("2000-01-01", "2100-01-01", limit=5, client=client)
>>> len(df), str(df["cost"].dtype)
(5, 'float64')
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from . import _catalog, _dates, _engine, _frames, _money, _pagination, sessions
from ._catalog import CdrAggregation, CdrBreakdown, MdrAggregation, SessionExpand
from ._client import Client, get_client
from ._dates import Moment
from ._docstrings import shared_docs
from .reports import cdrs
from .sessions import SessionTree

__all__ = [
    "call_events",
    "cdr_report_fields",
    "cdr_usage",
    "detail_records",
    "mdr_usage",
    "mdrs",
    "product_usage",
    "product_usage_options",
    "session_analysis",
    "session_metadata",
    "session_totals",
    "wdrs",
]

log = logging.getLogger("telnyx_analytics.records")


# -- detail records -------------------------------------------------------------------------


@shared_docs
def call_events(
    start: Moment | None = None,
    end: Moment | None = None,
    *,
    page_size: int | None = None,
    limit: int | None = None,
    client: Client | None = None,
    **filters: Any,
) -> pd.DataFrame:
    """Call control events (``GET /call_events``), one row per event.

    Without ``leg_id``, ``application_session_id`` or a window the API covers only the
    last 24 hours. The API takes one time bound: with both ``start`` and ``end``, events
    from ``start`` are fetched and those after ``end`` dropped.

    Parameters
    ----------
    start, end : str, date, datetime or Timestamp, optional
        Inclusive window on ``event_timestamp``.
    {paging}
    {client}
    **filters
        ``leg_id``, ``application_session_id`` (UUIDs), ``application_name_contains``
        (3+ characters), ``connection_id``, ``outbound_voice_profile_id``, ``product``
        (``call_control``, ``fax``, ``texml``), ``failed`` (bool), ``from_``, ``to``,
        ``name``, ``type`` (``command``, ``webhook``), ``status`` (``init``,
        ``in_progress``, ``completed``).

    Returns
    -------
    DataFrame
        ``call_leg_id``, ``call_session_id``, ``event_timestamp``, ``name``, ``type``,
        ``record_type`` and ``metadata.<field>`` columns.

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=3) as sb:
    ...     df = call_events(limit=3, client=tx.Client("KEY_DOC", sb.base_url, cache=False))
    >>> list(df.columns[:3])
    ['call_leg_id', 'call_session_id', 'event_timestamp']
    """
    df, _ = _engine.paged_frame("call_events", {"start": start, "end": end, **filters}, client,
                                page_size=page_size, limit=limit)
    return df


@shared_docs
def mdrs(
    start: Moment,
    end: Moment | None = None,
    *,
    page_size: int | None = None,
    limit: int | None = None,
    client: Client | None = None,
    **filters: Any,
) -> pd.DataFrame:
    """Message detail records (``GET /reports/mdrs``), one row per message.

    Parameters
    ----------
    {window}
    {paging}
    {client}
    **filters
        ``id``, ``direction`` (``inbound``/``outbound``), ``profile``, ``cld``, ``cli``,
        ``status`` (``delivered``, ``failed``, ...), ``message_type`` (``sms``/``mms``);
        case does not matter.

    Returns
    -------
    DataFrame
        ``id``, ``created_at``, ``direction``, ``message_type``, ``status``, ``cli``,
        ``cld``, ``profile_name``, ``parts``, ``rate``, ``cost``, ``currency``,
        ``record_type`` (docs/frames.md).

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=3) as sb:
    ...     c = tx.Client("KEY_DOC", sb.base_url, cache=False)
    ...     df = mdrs("2000-01-01", "today", direction="inbound", limit=10, client=c)
    >>> set(df["direction"])
    {'inbound'}
    """
    df, _ = _engine.paged_frame(
        "mdrs", {"start": start, "end": end, **filters}, client, page_size=page_size, limit=limit
    )
    return df


@shared_docs
def wdrs(
    start: Moment,
    end: Moment | None = None,
    *,
    page_size: int | None = None,
    limit: int | None = None,
    client: Client | None = None,
    **filters: Any,
) -> pd.DataFrame:
    """Wireless detail records (``GET /reports/wdrs``), one row per data session.

    Parameters
    ----------
    {window}
    {paging}
    {client}
    **filters
        ``id``, ``mcc``, ``mnc``, ``imsi``, ``sim_group_name``, ``sim_group_id``,
        ``sim_card_id``, ``phone_number``, ``sort`` (fields, ``-`` for descending).

    Returns
    -------
    DataFrame
        Nested amounts flattened: ``uplink_data`` and ``uplink_data_unit``, ``rate`` and
        ``rate_currency``, ``cost`` and ``currency`` (docs/frames.md).

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=3) as sb:
    ...     df = wdrs("2000-01-01", "today", limit=5,
    ...               client=tx.Client("KEY_DOC", sb.base_url, cache=False))
    >>> {"uplink_data", "uplink_data_unit", "cost", "currency"} <= set(df.columns)
    True
    """
    df, _ = _engine.paged_frame(
        "wdrs", {"start": start, "end": end, **filters}, client, page_size=page_size, limit=limit
    )
    return df


@shared_docs
def detail_records(
    record_type: str,
    start: Moment | None = None,
    end: Moment | None = None,
    *,
    page_size: int | None = None,
    limit: int | None = None,
    client: Client | None = None,
    **filters: Any,
) -> pd.DataFrame:
    """Detail records of any product Telnyx bills (``GET /detail_records``), one row each.

    The Detail Record Search API covers 21 record types (``_catalog.DETAIL_TYPES``):
    messages, calls, SIP trunking, WebRTC, conferences and their participants, Verify,
    fax, AMD, recordings, speech, AI assistants, inference, media storage, wireless and
    more. Each type has its own fields and its own time field (``started_at`` for
    ``call-control``, ``sip-trunking`` and ``webrtc``, ``joined_at`` for conference
    participants, ``invoked_at`` for AMD, ``created_at`` for the others): ``start`` and
    ``end`` apply to it, so a window is always said the same way.

    Parameters
    ----------
    record_type : str
        One of ``ai-voice-assistant``, ``amd``, ``call-control``, ``conference``,
        ``conference-participant``, ``embedding``, ``fax``, ``inference``,
        ``inference-speech-to-text``, ``media_storage``, ``media-streaming``,
        ``messaging``, ``noise-suppression``, ``recording``, ``sip-trunking``,
        ``siprec-client``, ``stt``, ``tts``, ``verify``, ``webrtc``, ``wireless``.
    start, end : str, date, datetime or Timestamp, optional
        Inclusive window on the type's time field (naive values are UTC; a day as
        ``end`` includes that day).
    page_size : int, optional
        Records per page (1 to 50; default 50).
    limit : int, optional
        Stop after this many records.
    {client}
    **filters
        A condition on any field of the type: a value (``status="delivered"``) or a dict
        of operators ``eq``, ``gt``, ``gte``, ``lt``, ``lte``, ``starts_with``,
        ``ends_with``, ``contains`` (``cld={"starts_with": "+1"}``,
        ``cost={"gt": "0.01"}``); ``date_range`` (``"last_7_days"``, ...); ``sort``,
        fields with ``-`` for descending (``sort="-cost"``).

    Returns
    -------
    DataFrame
        The type's columns (docs/data/detail-records.md): times UTC, money ``float64``
        exact to the micro-unit, enums as categories, ``record_type`` last. No records:
        an empty frame with those columns.

    Raises
    ------
    ValueError
        An unknown record type, or a filter or sort on a field the type lacks (naming
        the valid choices), before any request.

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=3) as sb:
    ...     c = tx.Client("KEY_DOC", sb.base_url, cache=False)
    ...     df = detail_records("verify", "2000-01-01", "today", verify_channel_type="sms",
    ...                         limit=5, client=c)
    >>> set(df["verify_channel_type"]), str(df["verify_usage_fee"].dtype)
    ({'sms'}, 'float64')
    """
    op = _catalog.detail_operation(record_type)
    # A field the type lacks is a wrong choice of field (a ValueError naming the type's
    # fields), not an unknown argument.
    unknown = sorted(set(filters) - {p.name for p in op.params})
    if unknown:
        raise ValueError(
            f"{record_type} records have no field {unknown[0]!r} to filter on; filter on: "
            f"{', '.join(p.name for p in op.params if p.name != 'record_type')}."
        )
    df, _ = _engine.paged_frame(
        op, {"start": start, "end": end, "record_type": record_type, **filters}, client,
        page_size=page_size, limit=limit,
    )
    return df


# -- synchronous usage reports ------------------------------------------------------------


@shared_docs
def cdr_usage(
    start: Moment,
    end: Moment | None = None,
    *,
    aggregation: CdrAggregation = "none",
    breakdown: CdrBreakdown = "none",
    connections: Iterable[int | str] | None = None,
    client: Client | None = None,
) -> pd.DataFrame:
    """Voice usage totals, generated synchronously (``GET /reports/cdr_usage_reports/sync``).

    Parameters
    ----------
    {window}
    aggregation : {"none", "connection", "tag", "billing_group"}
        Rows per connection, tag or billing group (``"none"``: one total per direction).
    breakdown : {"none", "did_vs_toll_free", "country", "did_vs_toll_free_per_country"}
        Further rows per number type and/or country.
    connections : list of int, optional
        Only these connection ids.
    {client}

    Returns
    -------
    DataFrame
        ``start_time``, ``end_time`` (the window), ``connection_id``, ``tags``,
        ``billing_group_id``, ``tn_type``, ``country_code`` (``All`` where not used),
        ``direction``, ``calls``, ``call_sec``, ``billed_sec``, ``cost``, ``currency``.

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=3) as sb:
    ...     df = cdr_usage("2000-01-01", "today", aggregation="connection",
    ...                    client=tx.Client("KEY_DOC", sb.base_url, cache=False))
    >>> str(df["calls"].dtype)
    'Int64'
    """
    return _engine.frame("cdr_usage", client, start=start, end=end, aggregation=aggregation,
                         breakdown=breakdown, connections=connections)


@shared_docs
def mdr_usage(
    start: Moment,
    end: Moment | None = None,
    *,
    aggregation: MdrAggregation = "none",
    profiles: Iterable[str] | None = None,
    client: Client | None = None,
) -> pd.DataFrame:
    """Messaging usage totals, generated synchronously (``GET /reports/mdr_usage_reports/sync``).

    Parameters
    ----------
    {window}
    aggregation : {"none", "profile", "tags"}
        Rows per messaging profile or tag (``"none"``: totals by direction and type).
    profiles : list of str, optional
        Only these messaging profiles.
    {client}

    Returns
    -------
    DataFrame
        ``start_date``, ``end_date`` (the window), ``profile_id``, ``tags``,
        ``connection``, ``product``, ``direction``, ``message_type``, ``tn_type``,
        ``sent``, ``delivered``, ``received``, ``parts``, ``cost``,
        ``carrier_passthrough_fee``, ``currency``.

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=3) as sb:
    ...     df = mdr_usage("2000-01-01", "today", aggregation="profile",
    ...                    client=tx.Client("KEY_DOC", sb.base_url, cache=False))
    >>> str(df["cost"].dtype)
    'float64'
    """
    return _engine.frame("mdr_usage", client, start=start, end=end, aggregation=aggregation,
                         profiles=profiles)


# -- product usage (/usage_reports) ---------------------------------------------------------

# Options per client, fetched once: product_usage checks its arguments against them
# before sending anything. Weak keys: a closed, dropped client takes its entry along.
_OPTIONS: weakref.WeakKeyDictionary[Client, dict[str, dict[str, list[str]]]] = (
    weakref.WeakKeyDictionary()
)
_OPTIONS_LOCK = threading.Lock()

#: Metric names that count things (``Int64``); money is recognised by name (``cost``,
#: ``*_cost``, ``*_fee``); any other metric is a measure (``float64``).
_COUNT_METRICS = frozenset({
    "count", "sent", "delivered", "received", "parts", "calls", "call_sec", "billed_sec",
    "sessions", "total_dips", "dips", "attempted", "completed", "connected",
})  # fmt: skip


def _metric_kind(name: str) -> str:
    if _money.is_money_name(name):
        return "money"
    if name in _COUNT_METRICS or name.endswith(("_count", "_bytes", "_sec")):
        return "int"
    return "float"


def _dimension_kind(name: str) -> str:
    if name == "date":
        return "day"
    if name.endswith(("_id", "_name")) or name in ("tags", "imsi", "phone_number", "cli", "cld"):
        return "string"
    return "category"


def _options_payload(client: Client, product: str | None = None) -> list[dict[str, Any]]:
    return _engine.records("product_usage_options", client, product=product)


def _index_options(items: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for item in items:
        dims = list(item.get("product_dimensions") or [])
        metrics = list(item.get("product_metrics") or [])
        for rt in item.get("record_types") or []:
            dims += rt.get("product_dimensions") or []
            metrics += rt.get("product_metrics") or []
        out[str(item.get("product"))] = {
            "dimensions": list(dict.fromkeys(dims)), "metrics": list(dict.fromkeys(metrics)),
        }
    return out


def _usage_options(client: Client) -> dict[str, dict[str, list[str]]]:
    with _OPTIONS_LOCK:
        known = _OPTIONS.get(client)
    if known is None:
        known = _index_options(_options_payload(client))
        with _OPTIONS_LOCK:
            _OPTIONS[client] = known
    return known


def _names(argument: str, value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if isinstance(items, Mapping) or not isinstance(items, Iterable):
        raise TypeError(f"{argument} must be a list of str, got {type(value).__name__} {value!r}.")
    items = list(items)
    if not items or not all(isinstance(v, str) and v for v in items):
        raise ValueError(f"{argument} must be a non-empty list of names, got {value!r}.")
    return list(dict.fromkeys(items))


def _check_usage(
    client: Client, product: Any, dimensions: Any, metrics: Any
) -> tuple[str, list[str], list[str]]:
    if not isinstance(product, str):
        raise TypeError(f"product must be a str, got {type(product).__name__} {product!r}.")
    dims = _names("dimensions", dimensions)
    mets = _names("metrics", metrics)
    options = _usage_options(client)
    if product not in options:
        raise ValueError(
            f"product must be one of {', '.join(map(repr, options))} "
            f"(see product_usage_options()); got {product!r}."
        )
    allowed = options[product]
    for argument, given, accepted in (("dimensions", dims, allowed["dimensions"]),
                                      ("metrics", mets, allowed["metrics"])):
        bad = [v for v in given if v not in accepted]
        if bad:
            raise ValueError(
                f"{argument} of {product!r} must be among {', '.join(accepted)}; "
                f"got {', '.join(map(repr, bad))}."
            )
    return product, dims, mets


@shared_docs
def product_usage(
    product: str,
    dimensions: Sequence[str],
    metrics: Sequence[str],
    start: Moment | None = None,
    end: Moment | None = None,
    *,
    page_size: int | None = None,
    limit: int | None = None,
    client: Client | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Product usage (BETA, ``GET /usage_reports``): metrics broken out by dimensions.

    ``product``, ``dimensions`` and ``metrics`` are checked against
    :func:`product_usage_options` (fetched once per client) before the query is sent. The
    API answers at most 31 days per request: a longer window is split into pieces that
    do not overlap, and their rows are added up per dimension (every metric is a sum).
    ``currency`` is always a column: the API breaks money out by currency.

    Parameters
    ----------
    product : str
        A product of :func:`product_usage_options` (``"messaging"``, ``"wireless"``, ...).
    dimensions, metrics : list of str
        What to break out by, and what to measure.
    start, end : str, date, datetime or Timestamp, optional
        Inclusive window; neither: the API's default (the last 30 days), or
        ``date_range=``. ``start`` alone runs to now, or covers its period
        (``"last_month"``).
    page_size : int, optional
        Rows per page (1 to 5000; default 5000).
    limit : int, optional
        Stop after this many rows.
    {client}
    **options
        ``date_range`` (``"last_7_days"``, ``"this_month"``...), ``filter`` (a dict of
        dimension to value), ``managed_accounts`` (bool), ``sort`` (list of names).

    Returns
    -------
    DataFrame
        The dimensions (categories; ids as strings; ``date`` as a timestamp), ``currency``,
        ``product``, then the metrics: money as exact decimals, counts as ``Int64``,
        measures (MB) as ``float64``.

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=3) as sb:
    ...     df = product_usage("messaging", ["direction"], ["cost", "parts"],
    ...                        client=tx.Client("KEY_DOC", sb.base_url, cache=False))
    >>> list(df.columns)
    ['direction', 'currency', 'product', 'cost', 'parts']
    """
    client = get_client(client)
    # Everything but the names is checked before the options are fetched (the names are
    # checked against them): the options request is the only one a bad call may cause,
    # and only once per client.
    if end is not None and start is None:
        raise TypeError("product_usage: give start with end (or neither, or date_range=).")
    _catalog.check_paging(_catalog.OPERATIONS["product_usage"], page_size, limit)
    _catalog.prepare("product_usage", product=product, dimensions=["-"], metrics=["-"],
                     start=start, end=end, **options)
    product, dims, mets = _check_usage(client, product, dimensions, metrics)
    if start is not None and end is None and _dates.window(start, required=False)[1] is None:
        end = "now"  # a start alone runs to now (a named period covers itself)
    keys = list(dict.fromkeys([*dims, "currency", "product"]))
    spec = _frames.Schema(
        "product_usage",
        tuple(
            [_frames.Column(k, "category" if k in ("currency", "product") else _dimension_kind(k))
             for k in keys]
            + [_frames.Column(m, _metric_kind(m)) for m in mets]
        ),
    )
    df, calls = _engine.paged_frame(
        "product_usage",
        {"product": product, "dimensions": dims, "metrics": mets, "start": start, "end": end,
         **options},
        client, page_size=page_size, limit=limit, schema=spec,
    )
    if len(calls) > 1 and len(df):
        # Each piece is aggregated on its own: add the pieces up per dimension (money as
        # exact integer micro-units, as every total of the package).
        money = [m for m in mets if _metric_kind(m) == "money"]
        for m in money:
            df[m] = _money.to_micros(df[m], m)[0]
        summed = df.groupby(keys, observed=True, dropna=False, sort=False)[mets].sum()
        df = summed.reset_index()[[*keys, *mets]]
        for m in money:
            df[m] = _money.money_series(df[m].to_numpy(), df.index)
        for c in spec.columns:
            if c.kind == "category":
                df[c.name] = df[c.name].astype(_frames.STRING_DTYPE).astype("category")
    return df


@shared_docs
def product_usage_options(
    product: str | None = None, *, client: Client | None = None
) -> pd.DataFrame:
    """What :func:`product_usage` accepts (``GET /usage_reports/options``), tidy.

    Parameters
    ----------
    product : str, optional
        One product; default: all.
    {client}

    Returns
    -------
    DataFrame
        One row per option: ``product``, ``record_type`` (NA for the product's own
        lists), ``kind`` (``dimension`` or ``metric``), ``name``.

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=3) as sb:
    ...     opts = product_usage_options(client=tx.Client("KEY_DOC", sb.base_url, cache=False))
    >>> "messaging" in set(opts["product"])
    True
    """
    client = get_client(client)
    items = _options_payload(client, product)
    if product is None:
        with _OPTIONS_LOCK:
            _OPTIONS[client] = _index_options(items)
    rows = []
    for item in items:
        name = item.get("product")
        for rt in [None, *(item.get("record_types") or [])]:
            source = item if rt is None else rt
            record_type = None if rt is None else rt.get("record_type")
            for kind, key in (("dimension", "product_dimensions"), ("metric", "product_metrics")):
                rows += [{"product": name, "record_type": record_type, "kind": kind, "name": v}
                         for v in source.get(key) or []]
    return _frames.records_to_frame(rows, "product_usage_option")


# -- reference data -------------------------------------------------------------------------


def cdr_report_fields(*, client: Client | None = None) -> pd.DataFrame:
    """The fields a CDR detail report can hold (``GET .../batch_detail_records/voice/fields``).

    Returns
    -------
    DataFrame
        One row per field: ``category`` (``Billing``, ``Interaction Data``, ...),
        ``field``. Pass names of ``field`` as ``fields=`` to ``reports.create("cdr_detail")``.

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=3) as sb:
    ...     f = cdr_report_fields(client=tx.Client("KEY_DOC", sb.base_url, cache=False))
    >>> "cost" in set(f["field"])
    True
    """
    return _engine.frame("cdr_report_fields", client)


@shared_docs
def session_metadata(
    record_type: str | None = None, *, client: Client | None = None
) -> pd.DataFrame:
    """What session analysis knows (``GET /session_analysis/metadata[/{record_type}]``).

    Parameters
    ----------
    record_type : str, optional
        None: one row per record type. A record type: one row per relationship it has.
    {client}

    Returns
    -------
    DataFrame
        Without ``record_type``: ``record_type``, ``product``, ``event``, ``description``,
        ``aliases``, ``children``, ``parents`` (comma-separated record types). With it:
        ``record_type``, ``relation`` (``child``/``parent``), ``relationship_type``,
        ``other_record_type``, ``other_product``, ``other_event``, ``local_field``,
        ``parent_field``, ``cost_rollup``, ``traversal_enabled``, ``description``.
        ``df.attrs["raw"]`` holds the JSON as received.

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=3) as sb:
    ...     md = session_metadata(client=tx.Client("KEY_DOC", sb.base_url, cache=False))
    >>> "record_type" in md.columns and len(md) > 0
    True
    """
    if record_type is None:
        record_types, body = _engine.answer("session_metadata", client)
        rows = []
        for rt in record_types:
            rows.append({
                "record_type": rt.get("record_type"),
                "product": rt.get("product"),
                "event": rt.get("event"),
                "description": rt.get("description"),
                "aliases": ",".join(rt.get("aliases") or []),
                "children": ",".join(r.get("child_record_type", "")
                                     for r in rt.get("child_relationships") or []),
                "parents": ",".join(r.get("parent_record_type", "")
                                    for r in rt.get("parent_relationships") or []),
            })  # fmt: skip
        df = _frames.records_to_frame(rows, "session_record_type")
    else:
        body, _ = _engine.answer("session_metadata.record_type", client, record_type=record_type)
        rows = []
        for relation, key, side in (("child", "child_relationships", "child"),
                                    ("parent", "parent_relationships", "parent")):
            for r in body.get(key) or []:
                via = r.get("via") or {}
                rows.append({
                    "record_type": body.get("record_type"),
                    "relation": relation,
                    "relationship_type": r.get("relationship_type"),
                    "other_record_type": r.get(f"{side}_record_type"),
                    "other_product": r.get(f"{side}_product"),
                    "other_event": r.get(f"{side}_event"),
                    "local_field": via.get("local_field"),
                    "parent_field": via.get("parent_field"),
                    "cost_rollup": r.get("cost_rollup"),
                    "traversal_enabled": r.get("traversal_enabled"),
                    "description": r.get("description"),
                })  # fmt: skip
        df = _frames.records_to_frame(rows, "session_relationship")
    df.attrs["raw"] = body
    return df


@shared_docs
def session_analysis(
    record_type: str,
    event_id: str,
    *,
    include_children: bool | None = None,
    max_depth: int | None = None,
    expand: SessionExpand | None = None,
    date_time: Moment | None = None,
    client: Client | None = None,
) -> SessionTree:
    """The cost tree of one session (``GET /session_analysis/{record_type}/{event_id}``).

    Parameters
    ----------
    record_type : str
        The event's record type (see :func:`session_metadata`), e.g. ``"callcontrol-cdrs"``.
    event_id : str
        The event's UUID.
    include_children : bool, optional
        Default (API): True.
    max_depth : int, optional
        1 to 5 (API default 2).
    expand : {"record", "none"}, optional
        Whether each node carries its detail record (API default ``"record"``).
    date_time : str, date, datetime or Timestamp, optional
        When the event happened, for a faster lookup.
    {client}

    Returns
    -------
    SessionTree

    Examples
    --------
    >>> session_analysis("callcontrol-cdrs", "not-a-uuid")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: event_id must be a UUID like '3fa85f64-...', got 'not-a-uuid'.
    """
    call = _catalog.prepare(
        "session_analysis", record_type=record_type, event_id=event_id,
        include_children=include_children, max_depth=max_depth, expand=expand,
        date_time=date_time,
    )
    body, _ = _engine.send(call, get_client(client))
    return SessionTree.from_response(body, origin=call.path)


#: The columns of :func:`session_totals`.
SESSION_TOTAL_COLUMNS = ("event_id", "session_id", "currency", "total_cost", "root_cost",
                         "events", "products")


@shared_docs
def session_totals(
    calls: pd.DataFrame | Iterable[str] | None = None,
    *,
    start: Moment | None = None,
    end: Moment | None = None,
    record_type: str = "callcontrol-cdrs",
    top: int | None = None,
    client: Client | None = None,
) -> pd.DataFrame:
    """The total cost of many sessions at once, one row per session.

    Each session costs one ``GET /session_analysis/{record_type}/{event_id}``, asked for
    without children or records (``include_children=false``, ``expand=none``): the total
    of the whole session comes back all the same, in the smallest answer. From a frame of
    call records, each call's ``start_timestamp_utc`` goes along as ``date_time``, which
    the API uses to find the event faster. The requests
    run in parallel, at most the client's ``concurrency`` at a time, with a progress bar
    (the client's ``progress``), through the client's cache: costing the same calls again
    sends nothing.

    Parameters
    ----------
    calls : DataFrame or iterable of str, optional
        The sessions' events: a frame of call records (``tx.cdrs``: its ``call_leg_id``,
        or an ``id`` column) or their ids. Repeated ids are asked for once.
    start, end : str, date, datetime or Timestamp, optional
        Instead of ``calls``: the calls of this window, fetched first with
        :func:`telnyx_analytics.cdrs`.
    record_type : str, default ``"callcontrol-cdrs"``
        The record type of the events (see :func:`session_metadata`).
    top : int, optional
        Keep only the ``top`` costliest sessions of each currency.
    {client}

    Returns
    -------
    DataFrame
        ``event_id`` (the id asked for), ``session_id``, ``currency`` (category),
        ``total_cost`` (money, the whole session), ``root_cost`` (money, the root event's
        own cost: the call itself), ``events`` (events in the session) and ``products``
        (text, comma-separated), costliest first within each currency. Two events of one
        session give one row (the first asked for).

    Raises
    ------
    ValueError
        Bad arguments (an id that is not a UUID, neither or both of ``calls`` and
        ``start``), before any request.
    NotFoundError
        The API knows no session for an id; the message names it.
    UnexpectedResponseError
        An answer that is not a session analysis (naming the request's path).

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=2, scale=0.05, report_delay=0.1) as sb:
    ...     client = tx.Client("KEY_DOC", sb.base_url, cache=False, progress=False)
    ...     calls = tx.cdrs("2000-01-01", "today", client=client)
    ...     costly = session_totals(calls, top=3, client=client)
    >>> len(costly) <= 3 * costly["currency"].nunique(), bool(costly["events"].min() >= 1)
    (True, True)
    """
    one_of = ("session_totals: give calls (a frame of call records or their ids) "
              "or start (and end) for the calls of a window, not both")
    if calls is not None and start is not None:
        raise ValueError(one_of)
    if end is not None and start is None:
        raise ValueError("end: goes with start (the window whose calls are costed)")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ValueError(f"top={top!r}: expected a positive integer or None")
    client = get_client(client)
    if calls is None:
        if start is None:
            raise ValueError(one_of)
        calls = cdrs(start, end if end is not None else start, client=client)
    events = _events(calls)
    ids = list(events)
    requests = [
        _catalog.prepare("session_analysis", record_type=record_type, event_id=event_id,
                         include_children=False, expand="none", date_time=when)
        for event_id, when in events.items()
    ]  # every id checked before the first request

    def total(call: _catalog.Call) -> dict[str, Any]:
        # No tree: one root, no records; a malformed answer names the request's path.
        head = sessions.summary(_engine.send(call, client)[0], origin=call.path)
        return {**head, "products": ", ".join(head["products"])}

    rows = _pagination.fetch_each(total, requests, concurrency=client.concurrency,
                                  progress=client.progress, desc="session totals",
                                  unit="session")
    out = pd.DataFrame(rows, columns=list(SESSION_TOTAL_COLUMNS[1:]))
    out.insert(0, "event_id", pd.Series(ids, dtype="string"))
    out = out.drop_duplicates("session_id", ignore_index=True)
    for name in ("total_cost", "root_cost"):
        out[name] = _money.to_money(out[name].astype(object))
    out["session_id"] = out["session_id"].astype("string")
    out["currency"] = out["currency"].astype("category")
    out["events"] = out["events"].astype("int64")
    out["products"] = out["products"].astype("string")
    out = out.sort_values(["currency", "total_cost", "event_id"],
                          ascending=[True, False, True], ignore_index=True)
    if top is not None:
        out = out.groupby("currency", observed=True, sort=False).head(top).reset_index(
            drop=True)
    log.info("session_totals: %d sessions costed", len(out))
    return out


def _events(calls: pd.DataFrame | Iterable[str]) -> dict[str, pd.Timestamp | None]:
    """Each distinct event id (first kept) and, from a frame of call records, when its call
    started: the API's ``date_time`` hint, which narrows its lookup."""
    if isinstance(calls, pd.DataFrame):
        column = next((c for c in ("call_leg_id", "id") if c in calls.columns), None)
        if column is None:
            raise ValueError(f"calls: a frame of call records needs a call_leg_id (or id) "
                             f"column; it has {', '.join(map(str, calls.columns))}")
        rows = calls[calls[column].notna()]
        starts = (rows["start_timestamp_utc"] if "start_timestamp_utc" in rows.columns
                  else pd.Series(pd.NaT, index=rows.index))
        events: dict[str, pd.Timestamp | None] = {}
        for event_id, start in zip(rows[column], starts, strict=True):
            events.setdefault(str(event_id), None if pd.isna(start) else start)
        return events
    if isinstance(calls, str) or not isinstance(calls, Iterable):
        raise TypeError(f"calls: expected a frame of call records or a list of event ids, "
                        f"got {type(calls).__name__}")
    return dict.fromkeys(str(v) for v in calls)
