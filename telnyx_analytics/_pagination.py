"""One paging engine for the reporting API's three styles.

- ``"number"``: ``page[number]`` / ``page[size]``, with ``meta.total_pages`` and
  ``meta.total_results`` (detail records, report lists, usage reports).
- ``"legacy"``: ``page`` / ``per_page``, with the same ``meta`` (legacy usage reports).
- ``"cursor"``: ``page[limit]`` / ``page[after]`` with ``meta.cursors.after`` (call events).

When the first page announces ``total_pages``, the other pages are fetched in parallel
(bounded by ``concurrency``, lowered for the rest of the call by any 429), records come
back in the API's order without duplicate ids, and their count is checked against
``total_results``. When a ``limit`` already says several pages are wanted, the first
``concurrency`` of them are asked for together (one round trip less). Cursor paging is
sequential by nature. Pages are taken in order as they arrive; a ``convert`` function
turns their records into something smaller a batch at a time, so that a long listing
never holds all its dicts.

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

from ._progress import progress_bar
from .errors import IncompleteResultError, TelnyxAnalyticsError

__all__ = [
    "BATCH",
    "STYLES",
    "AdaptiveLimit",
    "PageFetcher",
    "Style",
    "fetch_each",
    "interactive",
    "paginate",
]

log = logging.getLogger("telnyx_analytics.pagination")

Style = Literal["number", "legacy", "cursor"]
#: Records converted at a time when a listing is converted as it arrives: enough that a
#: conversion's fixed cost does not matter, few enough that their dicts stay small.
BATCH = 50_000
STYLES: tuple[str, ...] = ("number", "legacy", "cursor")


class PageFetcher(Protocol):
    """Fetches one page: its query parameters in, the decoded JSON body out."""

    def __call__(
        self, params: dict[str, Any], on_rate_limit: Callable[[], None] | None = None
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


def _page_params(style: str, params: Mapping[str, Any], number: int, size: int) -> dict[str, Any]:
    out = dict(params)
    if style == "number":
        out["page[number]"] = number
        out["page[size]"] = size
    else:
        out["page"] = number
        out["per_page"] = size
    return out


def _records(body: Any, where: str) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, Mapping) else None
    if data is None:
        return []
    if not isinstance(data, list):
        raise TelnyxAnalyticsError(f"{where}: expected a list in 'data', got {type(data).__name__}")
    return data


def _count(body: Any) -> int:
    data = body.get("data") if isinstance(body, Mapping) else None
    return len(data) if isinstance(data, list) else 0


def _meta(body: Any) -> Mapping[str, Any]:
    meta = body.get("meta") if isinstance(body, Mapping) else None
    return meta if isinstance(meta, Mapping) else {}


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


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
            self.bar.set_postfix(records=self.records, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            # Show the final count once: updates are drawn at most every 0.1 s.
            self.bar.set_postfix(records=self.records, refresh=True)
            self.bar.close()


def paginate(
    fetch: PageFetcher,
    params: Mapping[str, Any] | None = None,
    *,
    style: Style,
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
) -> list[Any]:
    """Every record (``data`` item) of a listing, in the API's order.

    Parameters
    ----------
    fetch : callable
        ``fetch(params, on_rate_limit)`` returns one page's decoded JSON body.
    params : mapping, optional
        Query parameters of the listing (filters), without paging parameters.
    style : {"number", "legacy", "cursor"}
        How the endpoint pages.
    page_size : int
        Records per page.
    limit : int, optional
        Stop after this many records, fetching only the pages needed.
    id_field : str or None
        Field identifying a record; repeated ids are dropped (first kept). ``None`` keeps all.
    concurrency : int
        Most pages fetched at once (number and legacy styles).
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

    Returns
    -------
    list
        The records (dicts); with ``convert``, the converted batches instead.

    Raises
    ------
    IncompleteResultError
        Fewer records arrived than the first page's ``meta.total_results`` announced.

    Examples
    --------
    >>> def fetch(params, on_rate_limit=None):
    ...     return {"data": [{"id": 1}, {"id": 1}, {"id": 2}], "meta": {}}
    >>> paginate(fetch, style="cursor", page_size=5)
    [{'id': 1}, {'id': 2}]
    >>> paginate(fetch, style="cursor", page_size=5, convert=len)
    [2]
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise ValueError(f"page_size must be an int >= 1, got {page_size!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be None or an int >= 0, got {limit!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
    batch = BATCH if batch is None else batch
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be None or an int >= 1, got {batch!r}")
    if stop_after is not None and style != "cursor":
        raise ValueError("stop_after applies to cursor paging only")
    kept = _Kept(id_field, limit, convert, batch)
    if limit == 0:
        return kept.result()
    base = dict(params or {})
    bar = _Progress(progress, desc or where)
    try:
        if style == "cursor":
            announced = _cursor_pages(fetch, base, page_size, kept, bar, where, stop_after)
        else:
            announced = _numbered_pages(
                fetch, base, style, page_size, kept, concurrency, bar, where
            )
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


class _Kept:
    """The records kept so far, in the API's order: repeated ids dropped (first kept), up
    to ``limit``; with ``convert``, every ``batch`` of them converted and let go."""

    def __init__(
        self,
        id_field: str | None,
        limit: int | None,
        convert: Callable[[list[dict[str, Any]]], Any] | None,
        batch: int,
    ) -> None:
        self.id_field = id_field
        self.limit = limit
        self.convert = convert
        self.batch = batch
        self.count = 0
        self.dropped = 0
        self.seen: set[Any] = set()
        self.records: list[dict[str, Any]] = []
        self.converted: list[Any] = []

    @property
    def full(self) -> bool:
        return self.limit is not None and self.count >= self.limit

    def add(self, page: list[dict[str, Any]]) -> None:
        """Take the next page (in the API's order)."""
        id_field, seen = self.id_field, self.seen
        for record in page:
            if self.full:
                break
            ident = record.get(id_field) if id_field and isinstance(record, Mapping) else None
            if ident is not None:
                try:
                    if ident in seen:
                        self.dropped += 1
                        continue
                    seen.add(ident)
                except TypeError:  # an unhashable id: keep the record as it is
                    pass
            self.records.append(record)
            self.count += 1
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
    fetch: PageFetcher,
    base: dict[str, Any],
    style: str,
    size: int,
    kept: _Kept,
    concurrency: int,
    bar: _Progress,
    where: str,
) -> int | None:
    """Feed every page to ``kept`` in order; return the announced record count."""
    limit = kept.limit
    wanted = math.ceil(limit / size) if limit is not None else None
    # Page 1 says how many pages there are. When a limit already says several pages are
    # wanted, the first ones are asked for together: one round trip less, at the cost of
    # a few empty answers when the listing turns out shorter than the limit.
    first = 1 if wanted is None else max(1, min(wanted, concurrency))
    with _PagePool(fetch, base, style, size, concurrency, bar) as pool:
        pool.submit(range(1, first + 1))
        body = pool.take(1)
        meta = _meta(body)
        total_pages = _int_or_none(meta.get("total_pages"))
        announced = _int_or_none(meta.get("total_results"))
        if total_pages is None:
            # No page count: walk on until a short page (or the limit).
            pages = [_records(body, where)] + [_records(pool.take(n), where)
                                               for n in range(2, first + 1)]
            _sequential_numbered(fetch, base, style, size, pages, wanted, kept, bar, where)
            return None
        last = total_pages if wanted is None else min(total_pages, wanted)
        bar.set_total(max(last, first))
        pool.submit(range(first + 1, last + 1))
        # Pages are taken in order as they arrive, while later ones are still on the way.
        kept.add(_records(body, where))
        del body
        for number in range(2, last + 1):
            if kept.full:
                break
            kept.add(_records(pool.take(number), where))
    return announced


def _sequential_numbered(
    fetch: PageFetcher,
    base: dict[str, Any],
    style: str,
    size: int,
    pages: list[list[dict[str, Any]]],
    wanted: int | None,
    kept: _Kept,
    bar: _Progress,
    where: str,
) -> None:
    # Keep only the leading full pages: a short (or empty) one is the end.
    for page in pages:
        kept.add(page)
        if len(page) < size:
            return
    number = len(pages)
    while (wanted is None or number < wanted) and not kept.full:
        number += 1
        page = _records(fetch(_page_params(style, base, number, size), None), where)
        bar.page(len(page))
        if not page:
            break
        kept.add(page)
        if len(page) < size:
            break


class _PagePool:
    """Fetches numbered pages on worker threads, at most ``limit.value`` at a time.

    Pages can be added while others are in flight (the rest of a listing as soon as
    page 1 tells its length) and are taken in order; a page taken is let go. The first
    page to fail ends the whole call, even while an earlier one is still awaited.
    Leaving the ``with`` block drops pages not yet started.
    """

    def __init__(
        self,
        fetch: PageFetcher,
        base: dict[str, Any],
        style: str,
        size: int,
        concurrency: int,
        bar: _Progress,
    ) -> None:
        self._fetch = fetch
        self._base = base
        self._style = style
        self._size = size
        self._bar = bar
        self.limit = AdaptiveLimit(concurrency)
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="telnyx-analytics-page"
        )
        self._futures: dict[int, Future[Any]] = {}
        self._changed = threading.Condition()
        self._failed: Future[Any] | None = None

    def _one(self, number: int) -> Any:
        with self.limit.slot():
            body = self._fetch(
                _page_params(self._style, self._base, number, self._size), self.limit.lower
            )
        self._bar.page(_count(body))
        return body

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

    def take(self, number: int) -> Any:
        """The body of page ``number`` (or the error of the first page that failed)."""
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

    def __exit__(self, *exc: object) -> None:
        # On failure, pages not yet started are dropped; running ones finish first.
        self._pool.shutdown(wait=True, cancel_futures=True)


def _cursor_pages(
    fetch: PageFetcher,
    base: dict[str, Any],
    size: int,
    kept: _Kept,
    bar: _Progress,
    where: str,
    stop_after: Callable[[list[dict[str, Any]]], bool] | None = None,
) -> None:
    after: str | None = None
    seen_cursors: set[str] = set()
    while not kept.full:
        params = dict(base)
        params["page[limit]"] = size
        if after is not None:
            params["page[after]"] = after
        body = fetch(params, None)
        page = _records(body, where)
        bar.page(len(page))
        if not page:
            break
        kept.add(page)
        if stop_after is not None and stop_after(page):
            break
        cursors = _meta(body).get("cursors")
        nxt = cursors.get("after") if isinstance(cursors, Mapping) else None
        # No cursor, or one we already followed (a server bug would loop forever): done.
        if not nxt or nxt in seen_cursors:
            break
        seen_cursors.add(nxt)
        after = str(nxt)
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
