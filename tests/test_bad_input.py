"""Bad arguments are refused before any request is sent.

Each case must raise ``ValueError`` or ``TypeError`` whose message names the argument
(and, for enums, lists what it accepts); the sandbox's request log proves that nothing
reached it. ``product_usage`` checks its product, dimensions and metrics against the
options, which are fetched once (that one request is made before the log is read).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest

from telnyx_analytics import records, reports
from telnyx_analytics._client import Client
from telnyx_analytics.sandbox.server import key_fingerprint

KEY = "KEY_test_bad_input"
UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

Case = tuple[str, Callable[[Client], Any], type[Exception], str]

W = {"start": "2024-05-01", "end": "2024-05-02"}  # a good window

CASES: list[Case] = [
    # enum values, checked against the description's values and listed in the message
    ("mdrs direction", lambda c: records.mdrs(**W, direction="up", client=c),
     ValueError, "direction must be one of 'inbound', 'outbound'"),
    ("mdrs status", lambda c: records.mdrs(**W, status="lost", client=c),
     ValueError, "status must be one of 'gw_timeout', 'delivered'"),
    ("mdrs message_type", lambda c: records.mdrs(**W, message_type="fax", client=c),
     ValueError, "message_type must be one of 'sms', 'mms'"),
    ("cdr_usage aggregation", lambda c: records.cdr_usage(**W, aggregation="profile", client=c),
     ValueError, "aggregation must be one of 'none', 'connection', 'tag', 'billing_group'"),
    ("cdr_usage breakdown", lambda c: records.cdr_usage(**W, breakdown="city", client=c),
     ValueError, "breakdown must be one of 'none', 'did_vs_toll_free'"),
    ("mdr_usage aggregation", lambda c: records.mdr_usage(**W, aggregation="tag", client=c),
     ValueError, "aggregation must be one of 'none', 'profile', 'tags'"),
    ("call_events type", lambda c: records.call_events(type="sms", client=c),
     ValueError, "type must be one of 'command', 'webhook'"),
    ("call_events product", lambda c: records.call_events(product="voice", client=c),
     ValueError, "product must be one of 'call_control', 'fax', 'texml'"),
    ("cdr report directions",
     lambda c: reports.create("cdr_detail", **W, directions=["both"], client=c),
     ValueError, "directions must be one of 'inbound', 'outbound'"),
    ("mdr report record_types",
     lambda c: reports.create("mdr_detail", **W, record_types=["done"], client=c),
     ValueError, "record_types must be one of 'complete', 'incomplete', 'errors'"),
    ("legacy usage aggregation",
     lambda c: reports.create("cdr_usage_legacy", **W, aggregation=7, client=c),
     ValueError, "aggregation must be one of 'all', 'connection'"),
    ("csv format", lambda c: reports.create("phone_numbers_csv", csv_format="V3", client=c),
     ValueError, "csv_format must be one of 'v1', 'v2'"),
    ("number status", lambda c: reports.create("phone_numbers_csv", status="sold", client=c),
     ValueError, "status must be one of 'purchase-pending'"),
    ("session expand",
     lambda c: records.session_analysis("callcontrol-cdrs", UUID, expand="all", client=c),
     ValueError, "expand must be one of 'record', 'none'"),
    ("cdr source", lambda c: reports.create("cdr_detail", **W, source="sip", client=c),
     ValueError, "source must be one of 'calls', 'call-control', 'fax-api', 'webrtc'"),
    ("filter type",
     lambda c: reports.create("mdr_detail", **W, filters=[{"cli": "+1", "filter_type": "xor"}],
                              client=c),
     ValueError, "filters[0]['filter_type'] must be one of and, or"),
    ("filter key",
     lambda c: reports.create("cdr_detail", **W, filters=[{"caller": "+1"}], client=c),
     ValueError, "filters[0] has unknown keys"),
    ("filter first is or",
     lambda c: reports.create("cdr_detail", **W, filters=[{"cli": "+1", "filter_type": "or"}],
                              client=c),
     ValueError, "filters[0]['filter_type'] must be 'and'"),
    # product usage against the options
    ("usage product", lambda c: records.product_usage("sms", ["direction"], ["cost"], client=c),
     ValueError, "product must be one of 'messaging'"),
    ("usage dimension",
     lambda c: records.product_usage("messaging", ["planet"], ["cost"], client=c),
     ValueError, "dimensions of 'messaging' must be among date, direction"),
    ("usage metric", lambda c: records.product_usage("wireless", ["mcc"], ["parts"], client=c),
     ValueError, "metrics of 'wireless' must be among"),
    ("usage no metrics", lambda c: records.product_usage("messaging", ["direction"], [], client=c),
     ValueError, "metrics must be a non-empty list"),
    ("usage dimensions type", lambda c: records.product_usage("messaging", 5, ["cost"], client=c),
     TypeError, "dimensions must be a list of str"),
    # id shapes
    ("report id", lambda c: reports.get("cdr_detail", "12345", client=c),
     ValueError, "report_id must be a UUID"),
    ("download id", lambda c: reports.download("wdr", {"id": "not-a-uuid"}, client=c),
     ValueError, "report_id must be a UUID"),
    ("path segment", lambda c: reports.get("phone_numbers_csv", "../../etc", client=c),
     ValueError, "report_id must be a non-empty id"),
    ("event id", lambda c: records.session_analysis("callcontrol-cdrs", "call-123", client=c),
     ValueError, "event_id must be a UUID"),
    ("leg id", lambda c: records.call_events(leg_id="leg-1", client=c),
     ValueError, "leg_id must be a UUID"),
    ("record type segment", lambda c: records.session_metadata("a/b", client=c),
     ValueError, "record_type must be a non-empty id"),
    ("profiles uuid", lambda c: reports.create("mdr_detail", **W, profiles=["Support"], client=c),
     ValueError, "profiles must be a UUID"),
    ("connections ids", lambda c: records.cdr_usage(**W, connections=["main"], client=c),
     TypeError, "connections must be integer ids"),
    # page sizes and limits within the description's limits
    ("page size too big", lambda c: records.mdrs(**W, page_size=251, client=c),
     ValueError, "page_size must be from 1 to 250"),
    ("page size zero", lambda c: records.wdrs(**W, page_size=0, client=c),
     ValueError, "page_size must be from 1 to 250"),
    ("usage page size",
     lambda c: records.product_usage("messaging", ["direction"], ["cost"], page_size=5001,
                                     client=c),
     ValueError, "page_size must be from 1 to 5000"),
    ("call events page size", lambda c: records.call_events(page_size=1000, client=c),
     ValueError, "page_size must be from 1 to 250"),
    ("page size type", lambda c: records.mdrs(**W, page_size="10", client=c),
     TypeError, "page_size must be an int"),
    ("limit", lambda c: records.mdrs(**W, limit=-1, client=c),
     ValueError, "limit must be a positive int"),
    ("max depth",
     lambda c: records.session_analysis("callcontrol-cdrs", UUID, max_depth=9, client=c),
     ValueError, "max_depth must be an int from 1 to 5"),
    # month, year
    ("month 13", lambda c: reports.create("billing_group", month=13, year=2024, client=c),
     ValueError, "month must be an int from 1 to 12"),
    ("month 0", lambda c: reports.read("billing_group", month=0, year=2024, client=c),
     ValueError, "month must be an int from 1 to 12"),
    ("month str", lambda c: reports.create("billing_group", month="May", year=2024, client=c),
     TypeError, "month must be an int"),
    ("year missing", lambda c: reports.create("billing_group", month=5, client=c),
     TypeError, "needs year"),
    # windows
    ("end before start", lambda c: records.mdrs("2024-05-02", "2024-05-01", client=c),
     ValueError, "end .* is before start"),
    ("end before start (report)",
     lambda c: reports.read("cdr_detail", start=dt.date(2024, 5, 2), end=dt.date(2024, 5, 1),
                            client=c),
     ValueError, "end .* is before start"),
    ("start not a date", lambda c: records.wdrs("last week", "2024-05-01", client=c),
     ValueError, "start must be an ISO 8601 date"),
    ("start a number", lambda c: records.mdrs(1714521600, "2024-05-01", client=c),
     TypeError, "start must be a str, datetime.date"),
    ("report without window", lambda c: reports.create("wdr", client=c),
     TypeError, "start is required"),
    ("window on a kind without one",
     lambda c: reports.create("phone_numbers_csv", start="2024-05-01", client=c),
     TypeError, "takes no start/end window"),
    ("end before start (usage)",
     lambda c: records.product_usage("messaging", ["direction"], ["cost"],
                                     pd.Timestamp("2024-05-02", tz="UTC"), "2024-05-01", client=c),
     ValueError, "end .* is before start"),
    ("usage date_range with a window",
     lambda c: records.product_usage("messaging", ["direction"], ["cost"], **W,
                                     date_range="last_3_days", client=c),
     ValueError, "product_usage: give either date_range or start/end, not both"),
    # kinds, names and types of everything else
    ("unknown kind", lambda c: reports.read("cdr", **W, client=c),
     ValueError, "Unknown report kind 'cdr'; kind must be one of: billing_group"),
    ("kind type", lambda c: reports.list(3, client=c),
     TypeError, "kind must be a str"),
    ("unknown filter", lambda c: records.mdrs(**W, colour="red", client=c),
     TypeError, "unexpected argument 'colour'; it accepts: start, end, id, direction"),
    ("failed flag", lambda c: records.call_events(failed="yes", client=c),
     TypeError, "failed must be True or False"),
    ("name too short", lambda c: records.call_events(application_name_contains="ab", client=c),
     ValueError, "application_name_contains needs at least 3 characters"),
    ("wait timeout", lambda c: reports.wait("wdr", UUID, timeout=-1, client=c),
     ValueError, "timeout must be a positive number"),
    ("read max_age", lambda c: reports.read("wdr", **W, max_age=-5, client=c),
     ValueError, "max_age must be a number"),
    ("empty list", lambda c: reports.create("cdr_detail", **W, directions=[], client=c),
     ValueError, "directions must not be empty"),
]


@pytest.fixture(scope="module")
def client(sandbox: Any) -> Iterator[Client]:
    with Client(KEY, sandbox.base_url, cache=False, progress=False) as c:
        # product_usage checks against the options, fetched once per client: fetch them
        # now, so that the request log below holds only what the bad calls sent.
        records.product_usage_options(client=c)
        yield c


def _sent(sandbox: Any) -> int:
    mine = key_fingerprint(KEY)
    return sum(1 for r in sandbox.requests if r.key_fingerprint == mine)


def test_the_table_is_large() -> None:
    assert len(CASES) >= 30
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "call", "error", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_any_request(
    sandbox: Any, client: Client, name: str, call: Callable[[Client], Any],
    error: type[Exception], message: str
) -> None:
    before = _sent(sandbox)
    assert before > 0  # the options request is in the log: the log does see this key
    # Messages are literal text, except where they say ".*" (around an echoed value).
    pattern = message if ".*" in message else re.escape(message)
    with pytest.raises(error, match=pattern):
        call(client)
    assert _sent(sandbox) == before, f"{name}: a request reached the sandbox"


def test_good_input_does_reach_the_sandbox(sandbox: Any, client: Client) -> None:
    """The control: the same calls with good values are sent (so the log would notice)."""
    before = _sent(sandbox)
    records.mdrs("2024-05-01", "2024-05-02", direction="inbound", client=client)
    records.product_usage("messaging", ["direction"], ["cost"], client=client)
    assert _sent(sandbox) == before + 2
