"""One paging engine for the reporting API's three styles (``_catalog.PAGERS``).

- numbered, ``page[number]`` / ``page[size]``, with ``meta.total_pages`` and
  ``meta.total_results`` (detail records, report lists, usage reports);
- legacy, ``page`` / ``per_page``, with the same ``meta`` (legacy usage reports): the
  same paging under other names (a :class:`~telnyx_analytics._catalog.Pager` is the
  names);
- cursor, ``page[limit]`` / ``page[after]`` with ``meta.cursors.after`` (call events).

When the first page announces ``total_pages``, the other pages are fetched in parallel
(bounded by ``concurrency``, lowered for the rest of the call by any 429), records come
back in the API's order without duplicate ids, and their count is checked against
``total_results``. When a ``limit`` already says several pages are wanted, the first
``concurrency`` of them are asked for together (one round trip less). Cursor paging is
sequential by nature. Pages are taken in order as they arrive; a ``convert`` function
turns their records into something smaller a batch at a time, so that a long listing
never holds all its dicts.

A listing never runs unbounded, whatever the server says: pages are scheduled a few at
a time ahead of the one awaited (never a queue of every page); each page's ``meta`` must
agree with the request (page number and size) and with itself (``total_pages`` is
``total_results`` over the page size; no negative counts); a page that repeats only
records already seen, a cursor already followed, or a short page before the last end
the call at once in a typed error; so does the first page to fail, without waiting for
the others in flight.

The engine knows nothing of HTTP: it calls ``fetch(params, on_rate_limit)`` for a page's
decoded JSON. A toy API shows the contract:

>>> rows = [{"id": i} for i in range(7)]
>>> def fetch(params, on_rate_limit=None):
...     n, size = params["page[number]"], params["page[size]"]
...     return {"data": rows[(n - 1) * size: n * size],
...             "meta": {"total_pages": 3, "total_results": 7}}
>>> [r["id"] for r in paginate(fetch, {}, style="number", page_size=3)]
[0, 1, 2, 3, 4, 5, 6]
"""

from __future__ import annotations

import logging
import math
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, Literal, Protocol

from ._catalog import PAGERS, Pager, dig, records_of
from ._progress import progress_bar
from .errors import IncompleteResultError, UnexpectedResponseError

__all__ = [
    "AHEAD",
    "BATCH",
    "MAX_COUNT",
    "STYLES",
    "AdaptiveLimit",
    "PageFetcher",
    "Style",
    "check_page",
    "fetch_each",
    "interactive",
    "paginate",
]

log = logging.getLogger("telnyx_analytics.pagination")

Style = Literal["number", "legacy", "cursor"]
#: Records converted at a time when a listing is converted as it arrives: enough that a
#: conversion's fixed cost does not matter, few enough that their dicts stay small.
BATCH = 50_000
STYLES: tuple[str, ...] = tuple(PAGERS)
#: Pages asked for ahead of the one awaited, per unit of concurrency: enough to keep
#: every worker busy while a page is converted, few enough that memory stays flat.
AHEAD = 2
#: The largest count ``meta`` may state: the description types them int32.
MAX_COUNT = 2**31 - 1

Records = Callable[[Any], list[dict[str, Any]]]


class PageFetcher(Protocol):
    """Fetches one page: its query parameters in, the decoded JSON body out."""

    def __call__(
        self, params: dict[str, Any], /, on_rate_limit: Callable[[], None] | None = None
    ) -> Any: ...


class AdaptiveLimit:
    """A concurrency limit that a rate limit halves, for the rest of one paging call.

    >>> limit = AdaptiveLimit(4)
    >>> limit.lower(); limit.lower(); limit.value
    1
    """

    def __init__(self, value: int) -> None:
        self.value = value
        self._active = 0
        self._cond = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while self._active >= self.value:
                self._cond.wait()
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def lower(self) -> None:
        """Halve the limit (not below 1): the API said we were asking too fast."""
        with self._cond:
            if self.value > 1:
                self.value = max(1, self.value // 2)
                log.info("rate limited: paging concurrency lowered to %d", self.value)


def interactive() -> bool:
    """Whether this is an interactive session or a notebook (where progress bars show).

    >>> isinstance(interactive(), bool)
    True
    """
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        shell = getattr(ipython, "get_ipython", lambda: None)()
        if shell is not None:
            return True
    return hasattr(sys, "ps1") or bool(sys.flags.interactive)


def pager(style: str | Pager) -> Pager:
    """The :class:`~telnyx_analytics._catalog.Pager` of a style name (or the pager given).

    >>> pager("legacy").number
    'page'
    """
    if isinstance(style, Pager):
        return style
    try:
        return PAGERS[style]
    except (KeyError, TypeError):
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}") from None


def data_records(body: Any, where: str) -> list[dict[str, Any]]:
    """The records of a page: its ``data``, a list of objects (or the error saying why not).

    >>> data_records({"data": [{"id": 1}], "meta": {}}, "/x")
    [{'id': 1}]
    """
    return records_of(dig(body, "data", where), where, "data")


def check_page(
    body: Any,
    paging: Pager,
    params: Mapping[str, Any],
    where: str,
    records: Records | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """A page's records and the counts of its ``meta``, checked against the request.

    The counts (``page_number``, ``page_size``, ``total_pages``, ``total_results``) must
    be whole numbers from 0 to :data:`MAX_COUNT`, agree with the page asked for, and
    agree with each other. Numbered paging needs ``meta``; cursor paging reads its
    cursor there when it is present.

    >>> check_page({"data": [], "meta": {"page_size": 5}}, pager("number"),
    ...            {"page[number]": 1, "page[size]": 10}, "/reports/wdrs")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    telnyx_analytics.errors.UnexpectedResponseError: /reports/wdrs: field 'meta.page_size': 5...
    """
    found = records(body) if records is not None else data_records(body, where)
    meta = body.get("meta") if isinstance(body, dict) else None
    if meta is None and not paging.cursor:
        raise UnexpectedResponseError(where, "no 'meta', which numbered paging needs",
                                      field="meta")
    if meta is None:
        return found, {}
    if not isinstance(meta, dict):
        raise UnexpectedResponseError(where, "expected an object", field="meta")
    counts: dict[str, int] = {}
    for name in ("page_number", "page_size", "total_pages", "total_results"):
        value = meta.get(name)
        if value is None:
            continue
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
            raise UnexpectedResponseError(
                where, f"{value!r} is not a count from 0 to {MAX_COUNT}", field=f"meta.{name}"
            )
        counts[name] = value
    size = params.get(paging.size)
    number = params.get(paging.number) if paging.number else None
    if "page_size" in counts and size is not None and counts["page_size"] != size:
        raise UnexpectedResponseError(
            where, f"{counts['page_size']} records per page, but {size} were asked for",
            field="meta.page_size",
        )
    if "page_number" in counts and number is not None and counts["page_number"] != number:
        raise UnexpectedResponseError(
            where, f"page {counts['page_number']}, but page {number} was asked for",
            field="meta.page_number",
        )
    if size and not paging.cursor and {"total_pages", "total_results"} <= set(counts):
        pages, total = counts["total_pages"], counts["total_results"]
        if pages != math.ceil(total / size) and not (total == 0 and pages == 1):
            raise UnexpectedResponseError(
                where, f"{pages} pages cannot hold {total} records at {size} a page",
                field="meta.total_pages",
            )
    if len(found) > (size or len(found)):
        raise UnexpectedResponseError(
            where, f"{len(found)} records in a page of {size}", field="data"
        )
    return found, counts


class _Progress:
    """A tqdm bar over pages, with the record count alongside; silent when disabled."""

    def __init__(self, enabled: bool, desc: str | None, total: int | None = None) -> None:
        self.records = 0
        self.bar = (
            progress_bar(total=total, desc=desc, unit="page", leave=False, dynamic_ncols=True)
            if enabled
            else None
        )

    def set_total(self, total: int) -> None:
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def page(self, records: int) -> None:
        self.records += records
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(self._count(), refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            # Show the final count once: updates are drawn at most every 0.1 s.
            self.bar.set_postfix_str(self._count(), refresh=True)
            self.bar.close()

    def _count(self) -> str:
        # Written out by hand: tqdm's own formatting shows 300000 as "3e+5".
        return f"records={self.records:,}"


def paginate(
    fetch: PageFetcher,
    params: Mapping[str, Any] | None = None,
    *,
    style: Style | Pager,
    page_size: int,
    limit: int | None = None,
    id_field: str | None = "id",
    concurrency: int = 4,
    progress: bool = False,
    desc: str | None = None,
    where: str = "listing",
    stop_after: Callable[[list[dict[str, Any]]], bool] | None = None,
    convert: Callable[[list[dict[str, Any]]], Any] | None = None,
    batch: int | None = None,
    records: Records | None = None,
) -> list[Any]:
    """Every record (``data`` item) of a listing, in the API's order.

    Parameters
    ----------
    fetch : callable
        ``fetch(params, on_rate_limit)`` returns one page's decoded JSON body.
    params : mapping, optional
        Query parameters of the listing (filters), without paging parameters.
    style : {"number", "legacy", "cursor"} or Pager
        How the endpoint pages: a style's name, or a catalog row's pager.
    page_size : int
        Records per page.
    limit : int, optional
        Stop after this many records, fetching only the pages needed.
    id_field : str or None
        Field identifying a record (a dotted path such as ``"metadata.event_id"``);
        repeated ids are dropped (first kept), and a page of nothing but records already
        seen is an error. ``None`` keeps all.
    concurrency : int
        Most pages fetched at once (numbered paging).
    progress : bool
        Show a progress bar over pages, with the record count.
    desc : str, optional
        Label of the progress bar.
    where : str
        Names the listing in errors.
    stop_after : callable, optional
        Cursor style: ``stop_after(page)`` true ends the listing after that page (an
        ordered listing whose rest is not wanted, such as events past a window's end).
    convert : callable, optional
        ``convert(records)`` turns kept records into something smaller (an Arrow table,
        say), in the API's order, as pages arrive: as soon as ``batch`` records are
        waiting after a page, and once for the rest. A long listing's dicts are then
        never all held at once.
    batch : int, optional
        Records that make a ``convert`` call worth it (default :data:`BATCH`).
    records : callable, optional
        ``records(body)``: a page's records, its shape checked (default: ``data``, a
        list of objects; see :func:`data_records`).

    Returns
    -------
    list
        The records (dicts); with ``convert``, the converted batches instead.

    Raises
    ------
    IncompleteResultError
        Fewer records arrived than the first page's ``meta.total_results`` announced.
    UnexpectedResponseError
        A page is not what paging documents: not a list of records in ``data``,
        ``meta`` missing or contradicting the request, a page of records already seen,
        a cursor already followed, a short page before the last.

    Examples
    --------
    >>> def fetch(params, on_rate_limit=None):
    ...     return {"data": [{"id": 1}, {"id": 1}, {"id": 2}], "meta": {}}
    >>> paginate(fetch, style="cursor", page_size=5)
    [{'id': 1}, {'id': 2}]
    >>> paginate(fetch, style="cursor", page_size=5, convert=len)
    [2]
    """
    paging = pager(style)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise ValueError(f"page_size must be an int >= 1, got {page_size!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be None or an int >= 0, got {limit!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
    batch = BATCH if batch is None else batch
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be None or an int >= 1, got {batch!r}")
    if stop_after is not None and not paging.cursor:
        raise ValueError("stop_after applies to cursor paging only")
    kept = _Kept(id_field, limit, convert, batch, where)
    if limit == 0:
        return kept.result()
    listing = _Listing(fetch, dict(params or {}), paging, page_size, where, records)
    bar = _Progress(progress, desc or where)
    try:
        if paging.cursor:
            announced = _cursor_pages(listing, kept, bar, stop_after)
        else:
            announced = _numbered_pages(listing, kept, concurrency, bar)
    finally:
        bar.close()
    if announced is not None:
        expected = announced if limit is None else min(limit, announced)
        if kept.count < expected:
            raise IncompleteResultError(where, expected=expected, received=kept.count)
        if kept.count > expected and limit is None:
            # More than announced: records were added while paging. Nothing is lost, so
            # the frame is returned; the log tells why it is larger.
            log.info("%s: %d records arrived, %d were announced", where, kept.count, expected)
    return kept.result()


class _Listing:
    """One listing's pages: how to ask for page ``n`` (or after a cursor) and check it."""

    def __init__(
        self,
        fetch: PageFetcher,
        base: dict[str, Any],
        paging: Pager,
        size: int,
        where: str,
        records: Records | None,
    ) -> None:
        self.fetch = fetch
        self.base = base
        self.paging = paging
        self.size = size
        self.where = where
        self.records = records

    def params(self, number: int | None, after: str | None = None) -> dict[str, Any]:
        return {**self.base, **self.paging.params(number, self.size, after=after)}

    def get(
        self, params: dict[str, Any], on_rate_limit: Callable[[], None] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, int], Any]:
        """A page's records, ``meta`` counts and body, checked."""
        body = self.fetch(params, on_rate_limit)
        found, counts = check_page(body, self.paging, params, self.where, self.records)
        return found, counts, body


class _Kept:
    """The records kept so far, in the API's order: repeated ids dropped (first kept), up
    to ``limit``; with ``convert``, every ``batch`` of them converted and let go."""

    def __init__(
        self,
        id_field: str | None,
        limit: int | None,
        convert: Callable[[list[dict[str, Any]]], Any] | None,
        batch: int,
        where: str,
    ) -> None:
        self.id_field = id_field
        self.id_path = tuple(id_field.split(".")) if id_field else ()
        self.limit = limit
        self.convert = convert
        self.batch = batch
        self.where = where
        self.count = 0
        self.dropped = 0
        self.seen: set[Any] = set()
        self.records: list[dict[str, Any]] = []
        self.converted: list[Any] = []

    @property
    def full(self) -> bool:
        return self.limit is not None and self.count >= self.limit

    def _ident(self, record: Mapping[str, Any]) -> Any:
        node: Any = record
        for key in self.id_path:
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
        return node

    def add(self, page: list[dict[str, Any]], number: int | str) -> None:
        """Take the next page (in the API's order): page ``number`` (for messages).

        A page whose records all carry ids already seen makes no progress: a server
        serving it again and again would never end the listing, so it is an error.
        """
        seen = self.seen
        repeated = 0
        for record in page:
            if self.full:
                break
            ident = self._ident(record) if self.id_path else None
            if ident is not None:
                try:
                    if ident in seen:
                        self.dropped += 1
                        repeated += 1
                        continue
                    seen.add(ident)
                except TypeError:  # an unhashable id: keep the record as it is
                    pass
            self.records.append(record)
            self.count += 1
        if page and repeated == len(page):
            raise UnexpectedResponseError(
                self.where, f"page {number} repeats {len(page)} records already seen",
                field=self.id_field,
            )
        if self.convert is not None and len(self.records) >= self.batch:
            self.converted.append(self.convert(self.records))
            self.records = []

    def result(self) -> list[Any]:
        if self.dropped:
            log.debug("dropped %d duplicate records (same %s)", self.dropped, self.id_field)
        if self.convert is None:
            return self.records
        if self.records or not self.converted:
            self.converted.append(self.convert(self.records))
            self.records = []
        return self.converted


def _numbered_pages(
    listing: _Listing, kept: _Kept, concurrency: int, bar: _Progress
) -> int | None:
    """Feed every page to ``kept`` in order; return the announced record count."""
    size = listing.size
    limit = kept.limit
    wanted = math.ceil(limit / size) if limit is not None else None
    # Page 1 says how many pages there are. When a limit already says several pages are
    # wanted, the first ones are asked for together: one round trip less, at the cost of
    # a few empty answers when the listing turns out shorter than the limit.
    first = 1 if wanted is None else max(1, min(wanted, concurrency))
    with _PagePool(listing, concurrency, bar) as pool:
        pool.submit(range(1, first + 1))
        page, counts = pool.take(1)
        total_pages = counts.get("total_pages")
        announced = counts.get("total_results")
        if total_pages is None:
            # No page count: walk on until a short page (or the limit).
            pages = [page] + [pool.take(n)[0] for n in range(2, first + 1)]
            _sequential_numbered(listing, pages, wanted, announced, kept, bar)
            return None
        last = total_pages if wanted is None else min(total_pages, wanted)
        bar.set_total(max(last, first))
        ahead = AHEAD * concurrency
        # Pages are taken in order as they arrive, while later ones are still on the way;
        # only a few are asked for ahead of the one awaited.
        for number in range(1, last + 1):
            if number > 1:
                page = pool.take(number)[0]
            pool.submit(range(pool.next, min(last, number + ahead) + 1))
            if number < last and len(page) < size:
                raise UnexpectedResponseError(
                    listing.where,
                    f"page {number} of {total_pages} holds {len(page)} records; every page "
                    f"but the last holds {size}",
                    field="data",
                )
            kept.add(page, number)
            del page
            if kept.full:
                break
    return announced


def _sequential_numbered(
    listing: _Listing,
    pages: list[list[dict[str, Any]]],
    wanted: int | None,
    announced: int | None,
    kept: _Kept,
    bar: _Progress,
) -> None:
    # Keep only the leading full pages: a short (or empty) one is the end. A listing
    # that announced its records cannot have more full pages than they fill.
    def take(number: int, page: list[dict[str, Any]]) -> bool:
        """Keep a page; whether the walk goes on."""
        kept.add(page, number)
        if len(page) < listing.size:
            return False
        if announced is not None and number * listing.size > announced:
            raise UnexpectedResponseError(
                listing.where,
                f"page {number} is full, but meta.total_results says {announced} records",
                field="meta.total_results",
            )
        return True

    for number, page in enumerate(pages, 1):
        if not take(number, page):
            return
    number = len(pages)
    while (wanted is None or number < wanted) and not kept.full:
        number += 1
        page = listing.get(listing.params(number))[0]
        bar.page(len(page))
        if not page or not take(number, page):
            break


class _PagePool:
    """Fetches numbered pages on worker threads, at most ``limit.value`` at a time.

    Pages are asked for a few at a time ahead of the one awaited (:meth:`submit` with
    the next numbers) and taken in order; a page taken is let go. The first page to
    fail ends the whole call, even while an earlier one is still awaited, and leaving
    the ``with`` block on an error neither starts the pages not yet started nor waits
    for those in flight (their answers are dropped when they come).
    """

    def __init__(self, listing: _Listing, concurrency: int, bar: _Progress) -> None:
        self._listing = listing
        self._bar = bar
        self.limit = AdaptiveLimit(concurrency)
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="telnyx-analytics-page"
        )
        self._futures: dict[int, Future[Any]] = {}
        self._changed = threading.Condition()
        self._failed: Future[Any] | None = None
        self._stopped = False
        #: The next page number to submit.
        self.next = 1

    def _one(self, number: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
        with self.limit.slot():
            if self._stopped:
                return [], {}
            found, counts, _ = self._listing.get(self._listing.params(number), self.limit.lower)
        if not self._stopped:
            self._bar.page(len(found))
        return found, counts

    def _done(self, future: Future[Any]) -> None:
        with self._changed:
            if self._failed is None and not future.cancelled() and future.exception():
                self._failed = future
            self._changed.notify_all()

    def submit(self, numbers: range) -> None:
        for number in numbers:
            future = self._pool.submit(self._one, number)
            self._futures[number] = future
            future.add_done_callback(self._done)
            self.next = max(self.next, number + 1)

    def take(self, number: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Page ``number``'s records and counts (or the error of the first page that failed)."""
        future = self._futures[number]
        with self._changed:
            while not future.done() and self._failed is None:
                self._changed.wait()
        if self._failed is not None:
            self._failed.result()  # raises
        del self._futures[number]
        return future.result()

    def __enter__(self) -> _PagePool:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        failed = exc_type is not None
        self._stopped = failed
        # On failure, pages not yet started are dropped and those in flight are not
        # awaited: the caller has its error now, not when the slowest page answers.
        self._pool.shutdown(wait=not failed, cancel_futures=True)


def _cursor_pages(
    listing: _Listing,
    kept: _Kept,
    bar: _Progress,
    stop_after: Callable[[list[dict[str, Any]]], bool] | None = None,
) -> None:
    after: str | None = None
    followed: set[str] = set()
    number = 0
    while not kept.full:
        number += 1
        page, _, body = listing.get(listing.params(None, after))
        bar.page(len(page))
        if not page:
            break
        kept.add(page, f"{number} (after cursor {after!r})" if after else number)
        if stop_after is not None and stop_after(page):
            break
        meta = body.get("meta")
        cursors = meta.get("cursors") if isinstance(meta, dict) else None
        nxt = cursors.get("after") if isinstance(cursors, Mapping) else None
        if not nxt:  # no cursor onwards: this was the last page
            break
        nxt = str(nxt)
        if nxt in followed or nxt == after:
            raise UnexpectedResponseError(
                listing.where, f"cursor {nxt!r} was already followed: the listing would loop",
                field="meta.cursors.after",
            )
        followed.add(nxt)
        after = nxt
    return None


def fetch_each(
    fetch: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    concurrency: int,
    progress: bool = False,
    desc: str | None = None,
    unit: str = "request",
) -> list[Any]:
    """``fetch(item)`` for every item, at most ``concurrency`` at a time, in the items'
    order: the many independent requests of one job (a session analysis per call, say),
    where :func:`paginate` serves the pages of one listing.

    The first failure ends the call: requests not yet started are dropped, running ones
    finish, and the error is raised. A progress bar counts the items done.

    Examples
    --------
    >>> fetch_each(lambda n: n * n, [1, 2, 3], concurrency=2)
    [1, 4, 9]
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
    results: list[Any] = [None] * len(items)
    if not items:
        return results
    with progress_bar(total=len(items), desc=desc, unit=unit, leave=False,
                      dynamic_ncols=True, disable=not progress) as bar, ThreadPoolExecutor(
            max_workers=min(concurrency, len(items)),
            thread_name_prefix="telnyx-analytics-each") as pool:
        futures = {pool.submit(fetch, item): i for i, item in enumerate(items)}
        try:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update(1)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return results
