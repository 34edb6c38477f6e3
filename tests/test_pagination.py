"""The paging engine: a toy API for its rules, then the sandbox's three paging styles."""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

import pandas as pd
import pytest
from clock import report_clock

from telnyx_analytics._client import Client
from telnyx_analytics._http import RetryPolicy
from telnyx_analytics._pagination import AdaptiveLimit, paginate
from telnyx_analytics.errors import (
    IncompleteResultError,
    InternalServerError,
    UnexpectedResponseError,
    error_from_response,
)

KEY = "KEY_paging_account_42"
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.004, max_retry_after=0.004)
UNTIL = "2024-06-30"
WINDOW = {"start_date": "2024-06-29T00:00:00Z", "end_date": "2024-06-30T23:59:59Z"}


class ToyAPI:
    """``page[number]`` paging over ``rows`` with ``meta``; records every call."""

    def __init__(self, rows: list[dict], *, announce: int | None = None, pages: bool = True,
                 delay: float = 0.0) -> None:
        self.rows = rows
        self.announce = len(rows) if announce is None else announce
        self.pages = pages
        self.delay = delay
        self.calls: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, params: dict[str, Any], on_rate_limit=None) -> dict:
        with self.lock:
            self.calls.append(dict(params))
        if self.delay:
            time.sleep(random.uniform(0, self.delay))  # pages finish out of order
        number = params.get("page[number]", params.get("page"))
        size = params.get("page[size]", params.get("per_page"))
        data = self.rows[(number - 1) * size : number * size]
        meta = {"page_number": number, "page_size": size, "total_results": self.announce}
        if self.pages:
            meta["total_pages"] = -(-self.announce // size)
        return {"data": data, "meta": meta}


def rows(n: int) -> list[dict]:
    return [{"id": f"r{i:04d}", "value": i} for i in range(n)]


# -- the rules, on a toy API -----------------------------------------------------------------------


def test_parallel_pages_keep_the_api_order() -> None:
    api = ToyAPI(rows(503), delay=0.01)
    got = paginate(api, {"filter": "x"}, style="number", page_size=10, concurrency=4)
    assert got == rows(503)
    assert len(api.calls) == 51
    assert all(call["filter"] == "x" for call in api.calls)
    assert sorted(call["page[number]"] for call in api.calls) == list(range(1, 52))


def test_legacy_style_uses_page_and_per_page() -> None:
    api = ToyAPI(rows(45))
    assert paginate(api, style="legacy", page_size=20) == rows(45)
    assert all(set(call) == {"page", "per_page"} for call in api.calls)


def test_paging_names_are_data_any_pager_walks_the_same_way() -> None:
    # Numbered and legacy paging differ only in names: a pager with other names is walked
    # by the same code, with no branch for it.
    from telnyx_analytics._catalog import Pager

    data = rows(23)
    seen = []

    def fetch(params: dict, on_rate_limit=None) -> dict:
        seen.append(sorted(params))
        n, size = params["pg"], params["n"]
        return {"data": data[(n - 1) * size: n * size],
                "meta": {"total_pages": 3, "total_results": 23}}

    assert paginate(fetch, style=Pager("custom", "n", number="pg"), page_size=10) == data
    assert seen == [["n", "pg"]] * 3


def test_duplicate_ids_are_dropped_keeping_the_first() -> None:
    data = rows(25)
    # A record slid onto the next page while paging: it comes twice.
    shifted = data[:20] + data[19:25]
    got = paginate(ToyAPI(shifted, announce=25), style="number", page_size=10, concurrency=2)
    assert got == data
    keep_all = paginate(ToyAPI(shifted, announce=25), style="number", page_size=10, id_field=None)
    assert len(keep_all) == 26 and keep_all[19] == keep_all[20]


def test_fewer_records_than_announced_is_an_error_with_the_numbers() -> None:
    api = ToyAPI(rows(95), announce=100)
    with pytest.raises(IncompleteResultError) as info:
        paginate(api, style="number", page_size=10, where="/reports/wdrs")
    assert (info.value.expected, info.value.received) == (100, 95)
    assert "100" in str(info.value) and "95" in str(info.value)
    assert "/reports/wdrs" in str(info.value)


def test_more_records_than_announced_are_kept() -> None:
    api = ToyAPI(rows(30), announce=25)
    api.pages = True
    got = paginate(api, style="number", page_size=10)
    assert len(got) == 30  # total_pages says 3 pages; nothing is lost


def test_limit_fetches_only_the_pages_needed() -> None:
    api = ToyAPI(rows(1000))
    got = paginate(api, style="number", page_size=10, limit=35)
    assert got == rows(35)
    assert sorted(c["page[number]"] for c in api.calls) == [1, 2, 3, 4]
    assert paginate(ToyAPI(rows(5)), style="number", page_size=10, limit=35) == rows(5)
    empty = ToyAPI(rows(5))
    assert paginate(empty, style="number", page_size=10, limit=0) == []
    assert empty.calls == []


def test_without_a_page_count_pages_are_walked_to_a_short_page() -> None:
    api = ToyAPI(rows(42), pages=False)
    assert paginate(api, style="number", page_size=10) == rows(42)
    assert len(api.calls) == 5
    exact = ToyAPI(rows(40), pages=False)
    assert paginate(exact, style="number", page_size=10) == rows(40)
    assert len(exact.calls) == 5  # the fifth, empty page says it is over


def test_an_empty_listing() -> None:
    api = ToyAPI([])
    assert paginate(api, style="number", page_size=10) == []
    assert len(api.calls) == 1


def test_convert_takes_the_kept_records_in_order_a_batch_at_a_time() -> None:
    data = rows(95)
    shifted = data[:50] + data[49:]  # a record slid onto page 6: it comes twice
    batches: list[list[dict]] = []

    def convert(records: list[dict]) -> int:
        batches.append(list(records))
        return len(records)

    api = ToyAPI(shifted, announce=95, delay=0.01)
    got = paginate(api, style="number", page_size=10, concurrency=4, convert=convert, batch=25)
    # After each page, 25 or more waiting records make a batch; the rest is the last one.
    assert got == [30, 29, 30, 6]
    assert [r for b in batches for r in b] == data
    batches.clear()
    assert paginate(ToyAPI(rows(95)), style="number", page_size=10, limit=42,
                    convert=convert, batch=25) == [30, 12]
    assert [r for b in batches for r in b] == rows(42)
    assert paginate(ToyAPI([]), style="number", page_size=10, convert=len) == [0]


def test_a_failing_page_fails_the_call_while_earlier_pages_are_awaited() -> None:
    api = ToyAPI(rows(200))
    release = threading.Event()
    answered: list[int] = []

    def fetch(params: dict, on_rate_limit=None) -> dict:
        if params["page[number]"] == 2:
            release.wait(30)  # held on its way until the test lets it go
            answered.append(2)
        if params["page[number]"] == 7:
            raise error_from_response(500, b"boom")
        return api(params)

    try:
        with pytest.raises(InternalServerError):
            paginate(fetch, style="number", page_size=10, concurrency=8)
        # The failure of page 7 ended the call while page 2 was still awaited.
        assert answered == [], "the call waited for page 2 before failing"
    finally:
        release.set()


def test_a_failing_page_fails_the_call() -> None:
    api = ToyAPI(rows(200))

    def fetch(params: dict, on_rate_limit=None) -> dict:
        if params["page[number]"] == 7:
            raise error_from_response(500, b"boom")
        return api(params)

    with pytest.raises(InternalServerError):
        paginate(fetch, style="number", page_size=10, concurrency=3)


def test_a_rate_limit_lowers_the_concurrency_for_the_rest_of_the_call() -> None:
    api = ToyAPI(rows(400))
    lock = threading.Lock()
    state = {"active": 0, "lowered": False, "after": []}

    def fetch(params: dict, on_rate_limit=None) -> dict:
        with lock:
            state["active"] += 1
            if state["lowered"]:
                state["after"].append(state["active"])
        try:
            if params["page[number]"] == 2:
                on_rate_limit()  # as the transport does before retrying a 429
                on_rate_limit()
                with lock:
                    state["lowered"] = True
            time.sleep(0.01)
            return api(params)
        finally:
            with lock:
                state["active"] -= 1

    got = paginate(fetch, style="number", page_size=10, concurrency=4)
    assert got == rows(400)
    # Pages started once the limit fell to 1 ran alone (those already running could finish).
    late = state["after"][8:]
    assert late and max(late) == 1


def test_adaptive_limit_halves_down_to_one() -> None:
    limit = AdaptiveLimit(8)
    values = []
    for _ in range(5):
        limit.lower()
        values.append(limit.value)
    assert values == [4, 2, 1, 1, 1]


def test_cursor_paging_follows_cursors_until_there_is_none() -> None:
    data = rows(23)

    def fetch(params: dict, on_rate_limit=None) -> dict:
        start = int(params.get("page[after]", 0))
        end = start + params["page[limit]"]
        more = end < len(data)
        return {"data": data[start:end], "meta": {"cursors": {"after": str(end) if more else None}}}

    assert paginate(fetch, style="cursor", page_size=5) == data
    assert paginate(fetch, style="cursor", page_size=5, limit=7) == data[:7]


def test_a_repeated_cursor_is_an_error_not_a_silent_end() -> None:
    # It used to end the listing quietly with what had arrived: a short frame.
    calls = []

    def fetch(params: dict, on_rate_limit=None) -> dict:
        calls.append(params.get("page[after]"))
        return {"data": [{"id": len(calls)}], "meta": {"cursors": {"after": "same"}}}

    with pytest.raises(UnexpectedResponseError, match="cursor 'same' was already followed"):
        paginate(fetch, style="cursor", page_size=1, where="/call_events")
    assert calls == [None, "same"]


def test_cursor_paging_stops_after_the_page_the_caller_says_is_enough() -> None:
    data = rows(23)
    asked = []

    def fetch(params: dict, on_rate_limit=None) -> dict:
        start = int(params.get("page[after]", 0))
        asked.append(start)
        end = start + params["page[limit]"]
        return {"data": data[start:end], "meta": {"cursors": {"after": str(end)}}}

    # Records are ordered: the page holding value 7 is the last one wanted.
    got = paginate(fetch, style="cursor", page_size=5,
                   stop_after=lambda page: page[-1]["value"] >= 7)  # fmt: skip
    assert got == data[:10] and asked == [0, 5]
    with pytest.raises(ValueError, match="stop_after"):
        paginate(fetch, style="number", page_size=5, stop_after=lambda page: True)


def test_progress_bar_counts_pages_and_records(capsys) -> None:
    paginate(ToyAPI(rows(30)), style="number", page_size=10, progress=True, desc="wdrs")
    err = capsys.readouterr().err
    assert "wdrs" in err and "records=30" in err
    paginate(ToyAPI(rows(30)), style="number", page_size=10, progress=False)
    assert capsys.readouterr().err == ""


# -- the sandbox's three styles -----------------------------------------------------------------


def client(sb, **kwargs) -> Client:
    kwargs.setdefault("cache", False)
    kwargs.setdefault("retry_policy", FAST)
    kwargs.setdefault("progress", False)
    return Client(KEY, sb.base_url, **kwargs)


@pytest.fixture(scope="module")
def fixed_sandbox():
    from telnyx_analytics.sandbox import serve

    with serve(seed=21, days=2, until=UNTIL, report_delay=0.05, rate_limit=None) as sb:
        yield sb


def test_parallel_paging_returns_the_same_frame_as_sequential_paging(fixed_sandbox) -> None:
    sb = fixed_sandbox
    frames, connections = [], []
    for concurrency in (1, 4):
        sb.clear_log()
        records = client(sb, concurrency=concurrency).paginate(
            "/reports/mdrs", WINDOW, style="number", page_size=100
        )
        frames.append(pd.json_normalize(records))
        connections.append(len({r.connection for r in sb.requests}))
    sequential, parallel = frames
    assert len(sequential) > 1000
    pd.testing.assert_frame_equal(parallel, sequential)
    assert sequential["id"].is_unique
    assert connections[0] == 1 and connections[1] > 1, "the parallel run really overlapped"


def test_a_long_listing_converted_in_batches_gives_the_same_frame(fixed_sandbox,
                                                                   monkeypatch) -> None:
    import telnyx_analytics as tx
    from telnyx_analytics import _pagination

    c = client(fixed_sandbox)
    whole = tx.mdrs(WINDOW["start_date"], WINDOW["end_date"], client=c)
    monkeypatch.setattr(_pagination, "BATCH", 300)  # many batches instead of one
    batched = tx.mdrs(WINDOW["start_date"], WINDOW["end_date"], page_size=100, client=c)
    assert len(whole) > 1000
    pd.testing.assert_frame_equal(batched, whole)
    assert batched["id"].array._pa_array.num_chunks > 3  # really stacked from batches


def test_limit_asks_only_for_the_pages_needed(fixed_sandbox) -> None:
    sb = fixed_sandbox
    sb.clear_log()
    records = client(sb).paginate("/reports/mdrs", WINDOW, style="number", page_size=100,
                                  limit=250)
    assert len(records) == 250
    numbers = sorted(r.query for r in sb.requests)
    assert len(numbers) == 3


def test_legacy_paging(fixed_sandbox) -> None:
    sb = fixed_sandbox
    c = client(sb)
    path = "/legacy/reporting/usage_reports/voice"
    body = {"start_time": "2024-06-29T00:00:00Z", "end_time": "2024-06-30T00:00:00Z"}
    # The reports' clock stands still: none of them turns from pending to complete between
    # the paged walk and the one-page read it is compared with.
    with report_clock(sb):
        created = [c.request("POST", path, json=body).json()["data"]["id"] for _ in range(5)]
        sb.clear_log()
        paged = c.paginate(path, style="legacy", page_size=2)
        assert len(sb.requests) >= 3
        assert all("per_page=2" in r.query for r in sb.requests)
        whole = c.get_json(path, {"page": 1, "per_page": 250})["data"]
    assert paged == whole
    assert set(created) <= {r["id"] for r in paged}


def test_cursor_paging_matches_numbered_paging(fixed_sandbox) -> None:
    sb = fixed_sandbox
    c = client(sb)
    sb.clear_log()
    by_cursor = c.paginate("/call_events", style="cursor", page_size=50, id_field=None)
    assert len(sb.requests) > 3
    assert any("page%5Bafter%5D" in r.query for r in sb.requests)
    by_number = c.paginate("/call_events", style="number", page_size=250, id_field=None)
    assert by_cursor == by_number
    assert len(by_cursor) > 150


def test_parallel_paging_under_rate_limits(sandbox_factory, caplog) -> None:
    clean = sandbox_factory(seed=22, days=2, until=UNTIL)
    limited = sandbox_factory(seed=22, days=2, until=UNTIL, faults={"429": 0.2})
    caplog.set_level(logging.INFO, logger="telnyx_analytics")
    want = client(clean).paginate("/reports/mdrs", WINDOW, style="number", page_size=100)
    got = client(limited, concurrency=4, max_retries=10).paginate(
        "/reports/mdrs", WINDOW, style="number", page_size=100
    )
    assert got == want
    assert any(r.status == 429 for r in limited.requests)
    assert "paging concurrency lowered to 2" in caplog.text
