"""``start`` and ``end``: strict ISO 8601, named periods and offsets, on a clock the test fixes.

Every case goes through the public functions against a real server on 127.0.0.1 (the
sandbox, or the misbehaving server where a request body must be read), and checks what
reached the wire. "Now" is fixed with ``_dates.frozen_now``: no case depends on the time
of day it runs at.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from typing import Any
from urllib.parse import parse_qs

import pandas as pd
import pytest
from hostile import Answer, Seen

import telnyx_analytics as tx
from telnyx_analytics import _dates

UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
# A Sunday in March, mid-morning UTC.
NOW = "2026-03-15T10:30:00Z"


@pytest.fixture
def client(sandbox: Any, sandbox_key: str) -> Any:
    with tx.Client(sandbox_key, sandbox.base_url, cache=False, progress=False) as c:
        yield c


def _sent_window(sandbox: Any) -> tuple[str, str]:
    """The ``start_date``/``end_date`` of the last ``/reports/mdrs`` request."""
    sent = [r for r in sandbox.requests if r.path.endswith("/reports/mdrs")][-1]
    query = parse_qs(sent.query)
    return query["start_date"][0], query["end_date"][0]


# -- only ISO 8601 text -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["11/01/2026", "01/11/2026", "Nov 1", "1 November 2026", "2026-11-1", "20261101",
     "2026-W44-1", "2026-11-01T10", "last week", "last_8_days", "lastmonth", "-90",
     "-90m", "+5d", "90d", "tomorrow", ""],
)  # fmt: skip
def test_text_that_is_not_iso_8601_nor_a_period_is_refused_before_any_request(
    sandbox: Any, client: Any, text: str
) -> None:
    before = len(sandbox.requests)
    with pytest.raises(ValueError, match=r"^start must be an ISO 8601 date") as err:
        tx.mdrs(text, "2026-11-02", client=client)
    message = str(err.value)
    # The message lists the accepted forms.
    for form in ("'2024-05-01'", "last_month", "'-90d'", "datetime.date", "pandas.Timestamp"):
        assert form in message
    with pytest.raises(ValueError, match=r"^end must be"):
        tx.wdrs("2026-11-01", text, client=client)
    assert len(sandbox.requests) == before


def test_a_day_written_the_american_way_is_no_longer_november_first(client: Any) -> None:
    # Today "11/01/2026" was silently November 1, and as an end it meant midnight.
    with pytest.raises(ValueError, match="'11/01/2026'"):
        tx.cdr_usage("2026-10-01", "11/01/2026", client=client)


@pytest.mark.parametrize(
    ("value", "first", "last"),
    [
        ("2026-03-01", "2026-03-01T00:00:00Z", "2026-03-01T23:59:59.999999Z"),
        ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"),
        ("2026-03-01t10:00:00z", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"),
        ("2026-03-01 10:00", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"),
        ("2026-03-01T10:00:00,5+01:00", "2026-03-01T09:00:00.500000Z",
         "2026-03-01T09:00:00.500000Z"),
        ("2026-03-01T10:00:00-0600", "2026-03-01T16:00:00Z", "2026-03-01T16:00:00Z"),
        (str(pd.Timestamp("2026-03-01 10:00", tz="UTC")), "2026-03-01T10:00:00Z",
         "2026-03-01T10:00:00Z"),
        (dt.date(2026, 3, 1), "2026-03-01T00:00:00Z", "2026-03-01T23:59:59.999999Z"),
        (dt.datetime(2026, 3, 1, 10), "2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"),
        (pd.Timestamp("2026-03-01 05:00", tz="America/New_York"), "2026-03-01T10:00:00Z",
         "2026-03-01T10:00:00Z"),
    ],
)  # fmt: skip
def test_iso_8601_and_date_objects_are_accepted(
    sandbox: Any, client: Any, value: Any, first: str, last: str
) -> None:
    tx.mdrs(value, value, limit=1, client=client)
    assert _sent_window(sandbox) == (first, last)


@pytest.mark.parametrize("value", [1767225600, 1.5, True, ["2026-01-01"], dt.time(10)])
def test_other_types_are_a_type_error_naming_the_argument(client: Any, value: Any) -> None:
    with pytest.raises(TypeError, match=r"^end must be a str, datetime\.date"):
        tx.mdrs("2026-01-01", value, client=client)


# -- named periods and offsets --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("today", "2026-03-15T00:00:00Z", "2026-03-15T23:59:59.999999Z"),
        ("yesterday", "2026-03-14T00:00:00Z", "2026-03-14T23:59:59.999999Z"),
        ("last_7_days", "2026-03-08T00:00:00Z", "2026-03-15T23:59:59.999999Z"),
        ("last_30_days", "2026-02-13T00:00:00Z", "2026-03-15T23:59:59.999999Z"),
        ("last_90_days", "2025-12-15T00:00:00Z", "2026-03-15T23:59:59.999999Z"),
        ("this_month", "2026-03-01T00:00:00Z", "2026-03-31T23:59:59.999999Z"),
        ("last_month", "2026-02-01T00:00:00Z", "2026-02-28T23:59:59.999999Z"),
        ("month_to_date", "2026-03-01T00:00:00Z", "2026-03-15T23:59:59.999999Z"),
        ("year_to_date", "2026-01-01T00:00:00Z", "2026-03-15T23:59:59.999999Z"),
        (" Last_Month ", "2026-02-01T00:00:00Z", "2026-02-28T23:59:59.999999Z"),
    ],
)
def test_a_named_period_alone_covers_the_whole_period(
    sandbox: Any, client: Any, name: str, first: str, last: str
) -> None:
    with _dates.frozen_now(NOW):
        tx.mdrs(name, limit=1, client=client)
    assert _sent_window(sandbox) == (first, last)


@pytest.mark.parametrize(
    ("offset", "first"),
    [("-90d", "2025-12-15T10:30:00Z"), ("-12h", "2026-03-14T22:30:00Z"),
     ("-2w", "2026-03-01T10:30:00Z"), ("-0d", "2026-03-15T10:30:00Z"),
     ("now", "2026-03-15T10:30:00Z")],
)  # fmt: skip
def test_an_offset_alone_runs_to_now(sandbox: Any, client: Any, offset: str, first: str) -> None:
    with _dates.frozen_now(NOW):
        tx.mdrs(offset, limit=1, client=client)
    assert _sent_window(sandbox) == (first, "2026-03-15T10:30:00Z")


def test_periods_and_offsets_combine_with_dates_as_either_end(
    sandbox: Any, client: Any
) -> None:
    with _dates.frozen_now(NOW):
        # Seven whole days, without today's partial day.
        tx.mdrs("last_7_days", "yesterday", limit=1, client=client)
        assert _sent_window(sandbox) == ("2026-03-08T00:00:00Z", "2026-03-14T23:59:59.999999Z")
        tx.mdrs("2026-01-10", "last_month", limit=1, client=client)
        assert _sent_window(sandbox) == ("2026-01-10T00:00:00Z", "2026-02-28T23:59:59.999999Z")
        tx.mdrs("-30d", "-1d", limit=1, client=client)
        assert _sent_window(sandbox) == ("2026-02-13T10:30:00Z", "2026-03-14T10:30:00Z")
        with pytest.raises(ValueError, match="before start"):
            tx.mdrs("today", "last_month", client=client)


def test_a_date_alone_is_still_not_a_window(client: Any) -> None:
    with pytest.raises(TypeError, match="end is required unless start is a named period"):
        tx.mdrs("2026-03-01", client=client)


@pytest.mark.parametrize(
    ("now", "yesterday"),
    [("2026-03-01T00:00:00Z", "2026-02-28"), ("2026-02-28T23:59:59.999999Z", "2026-02-27"),
     ("2024-03-01T00:00:00.000001Z", "2024-02-29")],
)  # fmt: skip
def test_periods_at_midnight_and_month_ends(now: str, yesterday: str) -> None:
    with _dates.frozen_now(now):
        lo, hi = _dates.window("yesterday")
        assert str(lo.date()) == str(hi.date()) == yesterday
        lo, hi = _dates.window("last_month")
        assert lo.day == 1 and (hi + pd.Timedelta(microseconds=1)).day == 1
        assert hi < _dates.window("this_month")[0] <= _dates.now()


def test_the_resolved_window_is_logged(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="telnyx_analytics"), _dates.frozen_now(NOW):
        tx.mdrs("last_month", limit=1, client=client)
    lines = [r.getMessage() for r in caplog.records if r.name == "telnyx_analytics.dates"]
    assert any(
        "'last_month'" in m and "2026-02-01T00:00:00Z .. 2026-02-28T23:59:59.999999Z" in m
        for m in lines
    ), lines


def test_the_frozen_clock_is_restored_and_per_thread() -> None:
    seen_elsewhere: list[pd.Timestamp] = []
    with _dates.frozen_now("2020-01-01"):
        assert _dates.now() == pd.Timestamp("2020-01-01", tz="UTC")
        other = threading.Thread(target=lambda: seen_elsewhere.append(_dates.now()))
        other.start()
        other.join()
    assert seen_elsewhere[0] > pd.Timestamp("2025-01-01", tz="UTC")
    assert _dates.now() > pd.Timestamp("2025-01-01", tz="UTC")


def test_report_requests_take_periods_too(hostile: Any) -> None:
    def answer(req: Seen) -> Answer:
        return Answer.json({"data": {"id": UUID, "status": "pending"}}, status=201)

    srv = hostile(answer)
    with tx.Client("KEY_dates", srv.base_url, cache=False) as c, _dates.frozen_now(NOW):
        tx.reports.create("wdr", start="yesterday", client=c)
        tx.reports.create("number_lookup_usage", start="last_month", client=c)
    wdr, lookup = (json.loads(s.body) for s in srv.seen)
    assert (wdr["start_time"], wdr["end_time"]) == (
        "2026-03-14T00:00:00Z", "2026-03-14T23:59:59.999999Z")  # fmt: skip
    assert (lookup["startDate"], lookup["endDate"]) == ("2026-02-01", "2026-02-28")


def test_product_usage_with_a_period_alone_is_not_stretched_to_now(
    sandbox: Any, client: Any
) -> None:
    with _dates.frozen_now(NOW):
        tx.product_usage("messaging", ["direction"], ["cost"], "yesterday", client=client)
    sent = [r for r in sandbox.requests if r.path.endswith("/usage_reports")][-1]
    query = parse_qs(sent.query)
    assert query["start_date"][0].startswith("2026-03-14T00:00:00")
    assert query["end_date"][0].startswith("2026-03-14T23:59:59")


# -- ids in a URL path ------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["..", ".", "a..b", "../reports", "a/b", "x\n", "x\x00y",
                                 "%2e%2e", "a b", ""])  # fmt: skip
def test_ids_in_a_url_path_cannot_change_the_path(sandbox: Any, client: Any, bad: str) -> None:
    before = len(sandbox.requests)
    with pytest.raises(ValueError, match="report_id must be"):
        tx.reports.get("phone_numbers_csv", bad, client=client)
    with pytest.raises(ValueError, match="report_id must be"):
        tx.reports.delete("number_lookup_usage", bad, client=client)
    with pytest.raises(ValueError, match="record_type must be"):
        tx.session_metadata(bad, client=client)
    with pytest.raises(ValueError, match="event_id must be a UUID"):
        tx.session_analysis("callcontrol-cdrs", UUID + bad if bad else bad, client=client)
    assert len(sandbox.requests) == before


def test_ordinary_ids_with_dots_still_pass(sandbox: Any, client: Any) -> None:
    with pytest.raises(tx.NotFoundError):
        tx.reports.get("phone_numbers_csv", "report.v2-1", client=client)
    assert sandbox.requests[-1].path.endswith("/phone_numbers/csv_downloads/report.v2-1")
