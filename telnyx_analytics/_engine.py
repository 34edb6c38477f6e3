"""The one request engine: it walks a catalog row from arguments to answer.

Every fetcher (``records.py``) and every report verb (``reports.py``) is one call of
this module. For a row of ``_catalog.OPERATIONS`` it

1. checks and translates the arguments (:func:`_catalog.prepare`), splitting a window
   longer than the operation accepts into pieces (:func:`calls`), all before any
   request;
2. sends the request, or walks every page (``_pagination``), handing the transport the
   row's check: an answer that is not what the row's :class:`~_catalog.Answer` documents
   raises ``UnexpectedResponseError`` before the cache sees it, and one describing a
   report still pending is not cached;
3. takes what the row's answer holds (its data selector) and, for rows with a schema,
   types it (``_frames``), a batch at a time as pages arrive.

A row whose API takes one time bound (call events) gets its start sent; the engine
reads pages in time order until one goes past the end, and trims the records after it.

>>> import telnyx_analytics as tx
>>> from telnyx_analytics.sandbox import serve
>>> with serve(seed=1, days=3) as sb:
...     client = tx.Client("KEY_DOC", sb.base_url, cache=False)
...     df, _ = paged_frame("mdrs", {"start": "2000-01-01", "end": "today"}, client, limit=5)
...     report, _ = answer("wdr.create", client, start="2000-01-01", end="today")
>>> len(df), sorted(report)[:2]
(5, ['created_at', 'end_time'])
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import pandas as pd

from . import _catalog, _dates, _frames
from ._catalog import Call, Operation
from ._client import Client, get_client
from ._http import decode_json

__all__ = ["answer", "calls", "frame", "paged_frame", "records", "send", "to_table"]

log = logging.getLogger("telnyx_analytics.engine")


def calls(op: str | Operation, kwargs: dict[str, Any]) -> list[Call]:
    """Checked requests for an operation: one, or one per piece of a window longer than
    the operation accepts. Everything is checked here, before any request.

    >>> [c.params["start_date"][:10] for c in calls("product_usage", {
    ...     "product": "messaging", "dimensions": ["direction"], "metrics": ["cost"],
    ...     "start": "2024-01-01", "end": "2024-02-15"})]
    ['2024-01-01', '2024-02-01']
    """
    op = _catalog.operation(op)
    first = _catalog.prepare(op, **kwargs)
    span = op.window.max_span if op.window else None
    if span is None or first.start is None or first.end is None or first.end - first.start < span:
        return [first]
    pieces = _dates.split(first.start, first.end, span)
    log.info("%s: window of %s split into %d pieces", op.name, first.end - first.start, len(pieces))
    return [_catalog.prepare(op, **{**kwargs, "start": lo, "end": hi}) for lo, hi in pieces]


def send(call: Call, client: Client, *, cache: bool = True) -> tuple[Any, Any]:
    """One request of a row that is not paged: what its answer holds, and the answer.

    The row's :class:`~telnyx_analytics._catalog.Answer` checks the answer (before the
    cache sees it) and takes what the operation returns.
    """
    spec = call.op.answer
    if call.method == "GET":
        body = client.get_json(
            call.path, call.params, cache=cache, check=lambda b: spec.check(b, call.path)
        )
    else:
        response = client.request(call.method, call.path, params=call.params or None,
                                  json=call.json, cache=False)
        body = decode_json(response)[1]
    return spec.take(body, call.path), body


def answer(op: str | Operation, client: Client | None, /, *, cache: bool = True,
           **kwargs: Any) -> tuple[Any, Any]:
    """Check the arguments, send one request, and return what the answer holds (and
    the answer itself): :func:`send` of the prepared call."""
    return send(_catalog.prepare(op, **kwargs), get_client(client), cache=cache)


def _listing(
    call: Call,
    client: Client,
    *,
    size: int | None,
    limit: int | None = None,
    cache: bool = True,
    convert: Callable[[list[dict[str, Any]]], Any] | None = None,
) -> list[Any]:
    """Every record of a paged row's call (or the converted batches)."""
    op = call.op
    assert op.paging is not None, op.name
    spec = op.answer
    return client.paginate(
        call.path, call.params, style=op.paging, page_size=size or op.max_page_size or 1,
        limit=limit, id_field=op.id_field, desc=op.name, cache=cache,
        stop_after=_past_end(call), convert=convert,
        records=lambda body: spec.take(body, call.path), final=spec.final,
    )


def _trimmed(call: Call) -> bool:
    """Whether the API got only the start of this call's window (the end is ours to
    apply)."""
    window = call.op.window
    return bool(window and window.one_bound and call.start is not None and call.end is not None)


def _past_end(call: Call) -> Callable[[list[dict[str, Any]]], bool] | None:
    if not _trimmed(call):
        return None
    window, end = call.op.window, call.end
    assert window is not None and window.time_field is not None and end is not None
    field = window.time_field

    def past_end(page: list[dict[str, Any]]) -> bool:
        # Records come in time order: stop at the page that goes past the window's end
        # instead of reading on to now.
        last = page[-1].get(field) if page else None
        try:
            return bool(last) and pd.Timestamp(last) > end
        except (TypeError, ValueError):
            return False  # not a time: the frame will say which record, field and why

    return past_end


def records(op: str | Operation, client: Client | None, /, *, cache: bool = True,
            **kwargs: Any) -> list[dict[str, Any]]:
    """Every record of a row (all pages of a paged one), as dicts."""
    call = _catalog.prepare(op, **kwargs)
    client = get_client(client)
    if call.op.paging is None:
        return send(call, client, cache=cache)[0]
    return _listing(call, client, size=None, cache=cache)


def paged_frame(
    op: str | Operation,
    kwargs: dict[str, Any],
    client: Client | None,
    *,
    page_size: int | None = None,
    limit: int | None = None,
    schema: _frames.Schema | None = None,
) -> tuple[pd.DataFrame, list[Call]]:
    """Check, fetch and type the records of a paginated operation (and say which calls).

    Records become Arrow tables of the schema (the row's, or ``schema``) a batch at a
    time as pages arrive, so a long listing never holds all its dicts at once; the
    tables are stacked at the end.
    """
    op = _catalog.operation(op)
    spec = schema or op.schema
    assert spec is not None, op.name
    size = _catalog.check_paging(op, page_size, limit)
    pieces = calls(op, kwargs)
    client = get_client(client)
    convert = to_table(spec, op.path)
    tables: list[Any] = []
    count = 0
    for call in pieces:
        left = None if limit is None else limit - count
        if left == 0:
            break
        batches = _listing(call, client, size=size, limit=left, convert=convert)
        tables.extend(batches)
        count += sum(t.num_rows for t in batches)
    df = _frames.tables_to_frame(tables, spec)
    if len(pieces) > 1 and op.id_field in df.columns:
        # Pieces do not overlap, but a record the API timestamps on a boundary must still
        # appear once.
        ids = df[op.id_field]
        df = df[~(ids.duplicated() & ids.notna())].reset_index(drop=True)
    if _trimmed(pieces[0]):
        assert op.window is not None and op.window.time_field is not None
        ts = df[op.window.time_field]
        df = df[(ts >= pieces[0].start) & (ts <= pieces[0].end)].reset_index(drop=True)
        if not len(df):  # columns seen only in trimmed records must not linger
            df = _frames.empty_frame(spec)
    return df, pieces


def frame(op: str | Operation, client: Client | None, /, **kwargs: Any) -> pd.DataFrame:
    """The typed frame of a row that answers in one piece (its ``schema``): the records
    its answer holds, with the fields its answer keeps (a window) on every row."""
    call = _catalog.prepare(op, **kwargs)
    schema = call.op.schema
    assert schema is not None, call.op.name
    rows, body = send(call, get_client(client))
    return _frames.records_to_frame(rows, schema, constants=call.op.answer.kept(body) or None,
                                    origin=call.path)


def to_table(schema: str | _frames.Schema,
             origin: str | None = None) -> Callable[[list[dict[str, Any]]], Any]:
    """What a listing's batches of records become: Arrow tables of ``schema`` (a bad value
    named as coming from ``origin``, the request's path)."""
    return functools.partial(_frames.records_to_table, name=schema, origin=origin)
