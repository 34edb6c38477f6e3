"""Broken and hostile answers end in the right frame or a prompt, typed error (issue #10).

Each case runs against the misbehaving server of ``tests/hostile.py`` over real sockets
on 127.0.0.1: a 200 of the wrong shape, a report without a usable id, listings that
would never end, a failing page while others are slow, a report status nobody documents.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile import Answer, HostileServer, Seen

import telnyx_analytics as tx
from telnyx_analytics import _pagination, records, reports
from telnyx_analytics._http import RetryPolicy
from telnyx_analytics.errors import (
    IncompleteResultError,
    NotFoundError,
    UnexpectedResponseError,
)

KEY = "KEY_hostile_answers"
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.004, max_retry_after=0.004)
DAY = ("2024-05-01", "2024-05-01")


def client(srv: HostileServer, cache: Path | bool = False, **kwargs: Any) -> tx.Client:
    return tx.Client(KEY, srv.base_url, cache=cache, progress=False, retry_policy=FAST,
                     **kwargs)


def mdr(i: int) -> dict[str, Any]:
    return {"id": f"m{i:05d}", "created_at": "2024-05-01T10:00:00Z", "direction": "outbound",
            "cost": "0.0040", "currency": "USD", "record_type": "mdr"}


def numbered(rows: list[dict[str, Any]]) -> Callable[[Seen], Answer]:
    """A faithful numbered listing of ``rows``."""

    def answer(req: Seen) -> Answer:
        number, size = int(req.query["page[number]"]), int(req.query["page[size]"])
        meta = {"page_number": number, "page_size": size, "total_results": len(rows),
                "total_pages": math.ceil(len(rows) / size)}
        return Answer.json({"data": rows[(number - 1) * size: number * size], "meta": meta})

    return answer


ROWS = [mdr(i) for i in range(30)]
GOOD_META = {"page_number": 1, "page_size": 250, "total_pages": 1, "total_results": 3}

# -- #10.1: a 200 whose body is not the documented shape --------------------------------------

BAD_LISTINGS = {
    "an HTML page": (Answer.raw("<html><body>Bad gateway</body></html>", "text/html"),
                     "not JSON"),
    "errors in a 200": (Answer.json({"errors": [{"code": "10007", "title": "Unexpected error",
                                                 "detail": "try later"}]}),
                        "a 200 answer holding errors: Unexpected error: try later"),
    "a bare list": (Answer.json([mdr(1), mdr(2)]), "expected a JSON object, got a list"),
    "data not a list": (Answer.json({"data": {"id": "m1"}, "meta": GOOD_META}),
                        "field 'data': expected a list of records, got an object"),
    "null records": (Answer.json({"data": [mdr(1), None, mdr(2)], "meta": GOOD_META}),
                     "field 'data' of record row 1: expected an object, got null"),
    "no meta": (Answer.json({"data": [mdr(1)]}), "no 'meta', which numbered paging needs"),
}


@pytest.mark.parametrize("case", list(BAD_LISTINGS))
def test_a_listing_of_the_wrong_shape_is_an_error_and_never_cached(
    case: str, hostile: Any, tmp_path: Path
) -> None:
    bad, reason = BAD_LISTINGS[case]
    srv = hostile(lambda req: bad)
    c = client(srv, cache=tmp_path / "http.sqlite")
    with pytest.raises(UnexpectedResponseError) as info:
        records.mdrs(*DAY, client=c)
    assert info.value.endpoint == "/reports/mdrs"
    assert reason in str(info.value)
    assert c.cache_info()["responses"] == 0, "the bad answer was cached"
    # The server mends: the same call now gives the right frame, not a cached bad answer.
    srv.set_handler(numbered(ROWS))
    df = records.mdrs(*DAY, client=c)
    assert list(df["id"]) == [r["id"] for r in ROWS]
    assert c.cache_info()["responses"] == 1


BAD_ANSWERS = {
    # (fetch, bad body, words of the error)
    "cdr_usage without result": (
        lambda c: records.cdr_usage(*DAY, client=c),
        {"data": {"start_time": "2024-05-01T00:00:00Z", "result": None}},
        "/reports/cdr_usage_reports/sync: field 'data.result': expected an object, got null",
    ),
    "mdr_usage with a null record": (
        lambda c: records.mdr_usage(*DAY, client=c),
        {"data": {"start_date": "2024-05-01T00:00:00Z", "result": [None]}},
        "field 'data.result' of record row 0: expected an object, got null",
    ),
    "cdr_report_fields not lists": (
        lambda c: records.cdr_report_fields(client=c),
        {"Billing": "cost"},
        "field 'Billing': expected a list of names, got a string",
    ),
    "session_metadata a bare list": (
        lambda c: records.session_metadata(client=c),
        [{"record_type": "x"}],
        "/session_analysis/metadata: expected a JSON object, got a list",
    ),
    "product_usage_options errors": (
        lambda c: records.product_usage_options(client=c),
        {"errors": [{"title": "Forbidden"}]},
        "/usage_reports/options: a 200 answer holding errors: Forbidden",
    ),
    "a report that is not an object": (
        lambda c: reports.get("wdr", str(uuid.uuid4()), client=c),
        {"data": ["complete"]},
        "field 'data': expected an object, got a list",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
def test_answers_in_one_piece_are_checked_too(case: str, hostile: Any, tmp_path: Path) -> None:
    fetch, body, words = BAD_ANSWERS[case]
    srv = hostile(lambda req: Answer.json(body))
    c = client(srv, cache=tmp_path / "http.sqlite")
    with pytest.raises(UnexpectedResponseError) as info:
        fetch(c)
    assert words in str(info.value)
    assert c.cache_info()["responses"] == 0


def test_the_sync_usage_window_travels_with_the_rows(hostile: Any) -> None:
    body = {"data": {"start_date": "2024-05-01T00:00:00Z", "end_date": "2024-05-01T23:59:59Z",
                     "result": [{"direction": "outbound", "parts": 3, "cost": "0.01",
                                 "currency": "USD"}]}}
    srv = hostile(lambda req: Answer.json(body))
    df = records.mdr_usage(*DAY, client=client(srv))
    assert len(df) == 1 and df["parts"].iloc[0] == 3
    assert str(df["start_date"].iloc[0]) == "2024-05-01 00:00:00+00:00"


# -- #10.4: a created report without a usable id is the server's fault ---------------------------


@pytest.mark.parametrize("report", [
    {"status": "pending"},
    {"id": None, "status": "pending"},
    {"id": "not-a-uuid", "status": "pending"},
    {"id": "../../reports/mdrs", "status": "pending"},
])
def test_a_created_report_without_a_usable_id_is_unexpected(hostile: Any, report: dict) -> None:
    srv = hostile(lambda req: Answer.json({"data": report}))
    with pytest.raises(UnexpectedResponseError) as info:
        reports.create("wdr", start="2024-05-01", end="2024-05-01", client=client(srv))
    err = info.value
    assert not isinstance(err, ValueError), "the caller's arguments were fine"
    assert err.field == "id" and err.endpoint == "/wireless/detail_records_reports"
    assert "report_id must" not in str(err).split("(")[0]


def test_read_stops_at_a_created_report_without_an_id(hostile: Any) -> None:
    srv = hostile(lambda req: Answer.json({"data": [{"status": "pending"}]}))
    with pytest.raises(UnexpectedResponseError, match="field 'id'"):
        reports.read("phone_numbers_csv", client=client(srv), poll=0.01)
    assert [s.method for s in srv.seen] == ["POST"]


# -- #10.5: a listing never runs unbounded ---------------------------------------------------------


def test_pages_that_repeat_the_records_already_seen_end_the_listing(hostile: Any) -> None:
    page = [mdr(i) for i in range(250)]
    meta = {"total_pages": 1000, "total_results": 250_000}
    srv = hostile(lambda req: Answer.json({"data": page, "meta": meta}))
    with pytest.raises(UnexpectedResponseError, match="page 2 repeats 250 records already seen"):
        records.mdrs(*DAY, client=client(srv))
    assert len(srv.seen) <= 1 + _pagination.AHEAD * 4


def test_a_cursor_that_yields_no_new_events_ends_the_listing(hostile: Any) -> None:
    events = [{"call_leg_id": "l1", "call_session_id": "s1", "event_timestamp":
               f"2024-05-01T10:00:0{i}Z", "name": "call.hangup", "type": "webhook",
               "record_type": "call_event", "metadata": {"event_id": f"e{i}"}} for i in range(3)]
    turn = {"n": 0}

    def answer(req: Seen) -> Answer:
        turn["n"] += 1  # a fresh cursor every time, but the same events
        return Answer.json({"data": events, "meta": {"cursors": {"after": f"c{turn['n']}"}}})

    srv = hostile(answer)
    with pytest.raises(UnexpectedResponseError, match="repeats 3 records already seen"):
        records.call_events(client=client(srv), page_size=3)
    assert len(srv.seen) == 2


def test_call_events_are_deduplicated_by_event_id_across_pages(hostile: Any) -> None:
    def event(i: int) -> dict[str, Any]:
        return {"call_leg_id": "l1", "call_session_id": "s1",
                "event_timestamp": f"2024-05-01T10:00:{i:02d}Z", "name": "call.bridged",
                "type": "webhook", "record_type": "call_event",
                "metadata": {"event_id": f"e{i}"}}

    pages = {None: ([event(0), event(1), event(2)], "p2"),
             "p2": ([event(2), event(3), event(4)], None)}  # event 2 slid onto page 2

    def answer(req: Seen) -> Answer:
        data, after = pages[req.query.get("page[after]")]
        return Answer.json({"data": data, "meta": {"cursors": {"after": after}}})

    df = records.call_events(client=client(hostile(answer)), page_size=3)
    assert list(df["metadata.event_id"]) == ["e0", "e1", "e2", "e3", "e4"]


BAD_META = {
    "another page size": ({"page_number": 1, "page_size": 20, "total_pages": 1,
                           "total_results": 3}, "meta.page_size': 20 records per page, but 250"),
    "another page number": ({"page_number": 7, "page_size": 250, "total_pages": 1,
                             "total_results": 3}, "meta.page_number': page 7, but page 1"),
    "pages that cannot hold the results": (
        {"total_pages": 40, "total_results": 3}, "40 pages cannot hold 3 records at 250 a page"),
    "a negative count": ({"total_pages": 1, "total_results": -3}, "meta.total_results': -3"),
    "a count that is no number": ({"total_pages": "many"}, "meta.total_pages': 'many'"),
    "billions of pages, beyond int32": ({"total_pages": 3_000_000_000},
                                        "3000000000 is not a count"),
}


@pytest.mark.parametrize("case", list(BAD_META))
def test_meta_that_contradicts_the_request_is_an_error(case: str, hostile: Any) -> None:
    meta, words = BAD_META[case]
    srv = hostile(lambda req: Answer.json({"data": [mdr(1), mdr(2), mdr(3)], "meta": meta}))
    with pytest.raises(UnexpectedResponseError) as info:
        records.mdrs(*DAY, client=client(srv))
    assert words in str(info.value)
    assert len(srv.seen) == 1


def test_a_billion_pages_that_hold_nothing_end_at_once(hostile: Any) -> None:
    def answer(req: Seen) -> Answer:
        number = int(req.query["page[number]"])
        data = [mdr(i) for i in range(250)] if number == 1 else []
        return Answer.json({"data": data, "meta": {"total_pages": 1_000_000_000}})

    srv = hostile(answer)
    with pytest.raises(UnexpectedResponseError, match="page 2 of 1000000000 holds 0 records"):
        records.mdrs(*DAY, client=client(srv))
    assert len(srv.seen) <= 1 + _pagination.AHEAD * 4


def test_pages_are_scheduled_a_few_ahead_never_all_at_once() -> None:
    pages = 2000
    taken = {"pages": 0}
    furthest = {"ahead": 0}
    lock = threading.Lock()

    def fetch(params: dict, on_rate_limit: Any = None) -> dict:
        number = params["page[number]"]
        with lock:
            furthest["ahead"] = max(furthest["ahead"], number - taken["pages"])
        return {"data": [{"id": number}], "meta": {"total_pages": pages, "total_results": pages}}

    def convert(batch: list[dict]) -> int:
        with lock:
            taken["pages"] += 1  # batch=1: one conversion per page taken
        return len(batch)

    got = _pagination.paginate(fetch, style="number", page_size=1, concurrency=4,
                               convert=convert, batch=1)
    assert sum(got) == pages
    # Old code queued all 2000 pages at once; now a page is asked for only when it is
    # within AHEAD * concurrency of those taken.
    assert furthest["ahead"] <= _pagination.AHEAD * 4 + 1


def test_a_full_page_beyond_the_announced_records_ends_a_walk(hostile: Any) -> None:
    # No page count: the walk goes on to a short page, but never past total_results.
    srv = hostile(lambda req: Answer.json({"data": [mdr(int(req.query["page[number]"]) * 1000
                                                        + i) for i in range(250)],
                                           "meta": {"total_results": 500}}))
    with pytest.raises(UnexpectedResponseError, match=r"page 3 is full.*meta\.total_results"):
        records.mdrs(*DAY, client=client(srv))
    assert len(srv.seen) == 3  # page 3 should have been short


# -- #10.6: a failing page cancels the rest; an unknown status fails at once -------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_failing_page_ends_the_call_without_waiting_for_slow_pages(
    hostile: Any, status: int
) -> None:
    release = threading.Event()
    slow_answered = []

    def answer(req: Seen) -> Answer:
        number = int(req.query["page[number]"])
        if number == 3:
            return Answer.json({"errors": [{"code": "10005", "title": "Nope"}]}, status=status)
        if number > 1:
            release.wait(30)  # the other pages are slow: held until the test lets them go
            slow_answered.append(number)
        return numbered([mdr(i) for i in range(2000)])(req)

    srv = hostile(answer)
    try:
        with pytest.raises(tx.APIStatusError) as info:
            records.mdrs(*DAY, page_size=250, client=client(srv))
        # The error came while the slow pages were still held: nobody waited for them.
        assert slow_answered == []
    finally:
        release.set()
    assert info.value.status == status
    if status == 404:
        assert isinstance(info.value, NotFoundError)


def test_an_unknown_report_status_fails_at_once(hostile: Any) -> None:
    report_id = str(uuid.uuid4())
    srv = hostile(lambda req: Answer.json({"data": {"id": report_id, "status": "warming_up"}}))
    with pytest.raises(UnexpectedResponseError) as info:
        reports.wait("wdr", report_id, client=client(srv), poll=0.01)
    assert "unknown report status 'warming_up'" in str(info.value)
    assert info.value.field == "status" and info.value.record == report_id
    assert len(srv.seen) == 1, "it polled on for a status that never ends"


def test_fewer_records_than_announced_still_says_so(hostile: Any) -> None:
    body = {"data": [mdr(1)], "meta": {"total_pages": 1, "total_results": 2}}
    with pytest.raises(IncompleteResultError):
        records.mdrs(*DAY, client=client(hostile(lambda req: Answer.json(body))))


# -- the transport asks the caller's check; it knows no endpoint and no report status -----------


def test_the_callers_check_decides_what_is_cached(hostile: Any, tmp_path: Path) -> None:
    srv = hostile(lambda req: Answer.json({"data": {"id": "r1", "status": "brewing"}}))
    c = client(srv, cache=tmp_path / "http.sqlite")

    def refuse(payload: Any) -> bool:
        raise UnexpectedResponseError("/things", "not a thing")

    for check, cached in ((lambda p: False, 0), (refuse, 0), (lambda p: True, 1)):
        try:
            c.get_json("/things", check=check)
        except UnexpectedResponseError:
            assert check is refuse
        assert c.cache_info()["responses"] == cached
    # A status the transport never heard of is the check's business alone: cached above,
    # and served from the cache now.
    assert c.get_json("/things") == {"data": {"id": "r1", "status": "brewing"}}
    assert len(srv.seen) == 3


def test_by_default_a_pending_report_is_not_cached(hostile: Any, tmp_path: Path) -> None:
    # Client.get_json's default check is the catalog's rule (legacy code 1 is pending).
    srv = hostile(lambda req: Answer.json({"data": {"id": "r1", "status": 1}}))
    c = client(srv, cache=tmp_path / "http.sqlite")
    c.get_json("/legacy/reporting/usage_reports/voice/r1")
    c.get_json("/legacy/reporting/usage_reports/voice/r1")
    assert len(srv.seen) == 2 and c.cache_info()["responses"] == 0
