"""The sandbox's Detail Record Search API (``GET /detail_records``), over HTTP.

The records must agree with everything else the sandbox serves: the MDRs, the WDRs, the
session trees and the product usage totals of the same window. Expected values come from
those other endpoints or from the ledger, never from detail_records.py itself. The
outside proof is Telnyx's official SDK paging through every record type.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from telnyx_analytics.sandbox.detail_records import DETAIL_TYPES
from telnyx_analytics.sandbox.ledger import DETAIL_TABLES, DETAIL_TIME_COLUMN, Ledger
from telnyx_analytics.sandbox.server import Sandbox, serve
from telnyx_analytics.sandbox.usage import RECORD_TYPE_PRODUCTS

KEY = "KEYdetail1"
SEED, DAYS, UNTIL, SCALE = 21, 3, date(2024, 3, 12), 0.3
RECORD_TYPES = [
    "ai-voice-assistant", "amd", "call-control", "conference", "conference-participant",
    "embedding", "fax", "inference", "inference-speech-to-text", "media_storage",
    "media-streaming", "messaging", "noise-suppression", "recording", "sip-trunking",
    "siprec-client", "stt", "tts", "verify", "webrtc", "wireless",
]  # fmt: skip  (Telnyx's list, as its SDK spells it)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # These tests page through whole record types as fast as they can; the rate limit has
    # its own tests (test_rate_limit.py).
    with serve(seed=SEED, days=DAYS, until=UNTIL, scale=SCALE, rate_limit=None) as sb:
        yield sb


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {KEY}"
        yield session


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    """The sandbox account's ledger, rebuilt here from the same seed and key."""
    return Ledger(SEED, KEY, days=DAYS, until=UNTIL, scale=SCALE)


def get(sb: Sandbox, http: requests.Session, path: str, params: Any = None,
        status: int = 200) -> dict[str, Any]:  # fmt: skip
    resp = http.get(sb.base_url + path, params=params, timeout=30)
    assert resp.status_code == status, (path, params, resp.status_code, resp.text[:400])
    return resp.json()


def every_record(sb: Sandbox, http: requests.Session, params: dict[str, Any]) -> list[dict]:
    """All records of a search, page by page (50 a page, the largest)."""
    out: list[dict] = []
    number = 1
    while True:
        body = get(sb, http, "/detail_records", {**params, "page[number]": number,
                                                 "page[size]": 50})  # fmt: skip
        out.extend(body["data"])
        if number >= body["meta"]["total_pages"]:
            assert len(out) == body["meta"]["total_results"]
            return out
        number += 1


def micro(amount: str | float) -> int:
    return int(Decimal(str(amount)) * 1_000_000)


def iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the 21 record types -------------------------------------------------------------------


def test_the_21_record_types_are_telnyxs() -> None:
    assert sorted(DETAIL_TYPES) == sorted(DETAIL_TABLES) == sorted(RECORD_TYPES)
    for name, kind in DETAIL_TYPES.items():  # a type's time field is what the ledger cuts by
        assert kind.fields[kind.time_field].column == DETAIL_TIME_COLUMN[name]


def test_every_record_type_has_records_in_its_own_time_field(
    sandbox: Sandbox, http: requests.Session
) -> None:
    for name in RECORD_TYPES:
        body = get(sandbox, http, "/detail_records",
                   {"filter[record_type]": name, "page[size]": 50})  # fmt: skip
        assert body["data"], name
        time_field = {"call-control": "started_at", "sip-trunking": "started_at",
                      "webrtc": "started_at", "conference": "started_at",
                      "conference-participant": "joined_at", "amd": "invoked_at"}.get(
            name, "created_at")  # fmt: skip
        for record in body["data"]:
            assert record["record_type"].endswith("_detail_record")
            assert pd.Timestamp(record[time_field]).tzinfo is not None
        times = [pd.Timestamp(r[time_field]) for r in body["data"]]
        assert times == sorted(times), name  # by time unless sorted otherwise
        if name in ("call-control", "sip-trunking"):  # as Telnyx documents: no created_at
            assert all("created_at" not in r for r in body["data"])


# -- the official SDK ----------------------------------------------------------------------


def test_official_sdk_pages_through_every_record_type(
    sandbox: Sandbox, http: requests.Session, ledger: Ledger
) -> None:
    telnyx = pytest.importorskip(
        "telnyx", reason="the official telnyx SDK comes with the bench extra (.[bench])"
    )
    from telnyx.types import detail_record_list_response as shapes

    typed = {
        "messaging": shapes.MessageDetailRecord,
        "conference": shapes.ConferenceDetailRecord,
        "conference-participant": shapes.ConferenceParticipantDetailRecord,
        "amd": shapes.AmdDetailRecord,
        "verify": shapes.VerifyDetailRecord,
        "wireless": shapes.SimCardUsageDetailRecord,
        "media_storage": shapes.MediaStorageDetailRecord,
    }
    client = telnyx.Telnyx(api_key=KEY, base_url=sandbox.base_url, max_retries=0)
    # Messages are thousands: their last six hours keep the test quick; every other type
    # is paged whole.
    since = iso(ledger.now - pd.Timedelta(hours=6))
    paged = 0
    for name in RECORD_TYPES:
        filters: dict[str, Any] = {"record_type": name}
        if name == "messaging":
            filters["created_at"] = {"gte": since}
        items = list(client.detail_records.list(filter=filters, page_size=20))
        ids = [getattr(item, "uuid" if name == "messaging" else "id") for item in items]
        start = since if name == "messaging" else ledger.start
        expected = ledger.detail_records(name, start, ledger.now)
        expected_ids = expected["call_leg_id" if name == "call-control" else "id"]
        assert items, name
        paged += len(items) > 20  # more than one page
        assert sorted(ids) == sorted(expected_ids.astype(str)), name
        if name in typed:
            model = typed[name]
            assert all(type(item) is model for item in items), name
            for item in items:  # and each one validates strictly against its model
                model.model_validate(item.to_dict())
            time_field = {"conference": "started_at", "conference-participant": "joined_at",
                          "amd": "invoked_at"}.get(name, "created_at")  # fmt: skip
            assert all(isinstance(getattr(i, time_field), datetime) for i in items), name
    assert paged >= 8


# -- one ledger: the same event, the same id, time and cost ---------------------------------


def test_messaging_records_are_the_mdrs(
    sandbox: Sandbox, http: requests.Session, ledger: Ledger
) -> None:
    start = ledger.now.floor("D") - pd.Timedelta(hours=3)
    end = start + pd.Timedelta(hours=2)
    details = every_record(sandbox, http, {
        "filter[record_type]": "messaging", "filter[created_at][gte]": iso(start),
        "filter[created_at][lte]": iso(end),
    })  # fmt: skip
    mdrs: list[dict] = []
    number = 1
    while True:
        body = get(sandbox, http, "/reports/mdrs", {
            "start_date": iso(start), "end_date": iso(end), "page[number]": number,
            "page[size]": 250,
        })  # fmt: skip
        mdrs.extend(body["data"])
        if number >= body["meta"]["total_pages"]:
            break
        number += 1
    assert details and len(details) == len(mdrs)
    by_id = {m["id"]: m for m in mdrs}
    for record in details:
        mdr = by_id[record["uuid"]]
        assert pd.Timestamp(record["created_at"]) == pd.Timestamp(mdr["created_at"])
        assert micro(record["cost"]) == micro(mdr["cost"])
        assert record["cli"] == mdr["cli"] and record["parts"] == mdr["parts"]
        assert record["status"] == mdr["status"].lower()


def test_wireless_records_are_the_wdrs(
    sandbox: Sandbox, http: requests.Session, ledger: Ledger
) -> None:
    details = every_record(sandbox, http, {"filter[record_type]": "wireless"})
    wdrs = get(sandbox, http, "/reports/wdrs", {"start_date": iso(ledger.start),
                                                "end_date": iso(ledger.now), "page[size]": 250})
    if wdrs["meta"]["total_pages"] > 1:
        pytest.fail("the test window should fit one page of WDRs")
    by_id = {w["id"]: w for w in wdrs["data"]}
    assert details and set(by_id) == {r["id"] for r in details}
    for record in details:
        wdr = by_id[record["id"]]
        assert micro(record["data_cost"]) == micro(wdr["cost"]["amount"])
        assert record["data_rate"] == f'{Decimal(wdr["rate"]["amount"]):.6f}'
        assert record["uplink_data"] == wdr["uplink_data"]["amount"]
        assert pd.Timestamp(record["created_at"]) == pd.Timestamp(wdr["created_at"])


def test_call_session_records_are_the_nodes_of_the_session_trees(
    sandbox: Sandbox, http: requests.Session
) -> None:
    calls = {r["id"]: r for r in every_record(sandbox, http,
                                               {"filter[record_type]": "call-control"})}
    recordings = every_record(sandbox, http, {"filter[record_type]": "recording"})
    inferences = every_record(sandbox, http, {"filter[record_type]": "inference"})
    checked = 0
    for recording in recordings[:5]:
        tree = get(sandbox, http, f"/session_analysis/recordings/{recording['id']}",
                   {"max_depth": 1})  # fmt: skip
        assert micro(tree["root"]["cost"]["event_cost"]) == micro(recording["cost"])
        call = calls[recording["call_leg_id"]]  # the recording's call is a call record
        root = get(sandbox, http, f"/session_analysis/callcontrol-cdrs/{call['id']}",
                   {"max_depth": 5})  # fmt: skip
        assert micro(root["root"]["cost"]["event_cost"]) == micro(call["cost"])
        assert root["root"]["record"]["call_session_id"] == call["call_session_id"]
        assert call["call_session_id"] == recording["call_session_id"]
        children = {c["id"] for c in root["root"]["children"]}
        assert recording["id"] in children
        checked += 1
    for inference in inferences[:5]:
        tree = get(sandbox, http, f"/session_analysis/inference/{inference['id']}")
        assert micro(tree["root"]["cost"]["event_cost"]) == micro(inference["cost"])
        checked += 1
    assert checked == 10


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node["children"]:
        yield from _nodes(child)


def test_a_session_trees_records_links_find_their_records(
    sandbox: Sandbox, http: requests.Session, ledger: Ledger
) -> None:
    origin = sandbox.base_url.removesuffix("/v2")
    wanted = {"callcontrol-cdrs", "recordings", "transcriptions", "ai-voice-assistant",
              "inference", "messaging"}  # every record type a session tree holds
    followed: dict[str, str] = {}
    calls = ledger.calls(ledger.start, ledger.now)
    for leg in calls["call_leg_id"].astype(str):
        nodes = ledger.session(leg)
        if nodes is None or not set(nodes["record_type"]) - set(followed):
            continue
        tree = get(sandbox, http, f"/session_analysis/callcontrol-cdrs/{leg}", {"max_depth": 5})
        for node in _nodes(tree["root"]):
            kind = node["event_name"]
            if kind in followed:
                continue
            link = node["links"]["records"]
            resp = http.get(origin + link, timeout=30)  # the link as given, over the socket
            assert resp.status_code == 200, (link, resp.text[:300])
            records = resp.json()["data"]
            assert len(records) == 1, (link, len(records))
            record = records[0]
            assert record.get("id", record.get("uuid")) == node["id"], link
            assert micro(record["cost"]) == micro(node["cost"]["event_cost"]), link
            followed[kind] = link
        if set(followed) >= wanted:
            break
    assert set(followed) == wanted, sorted(wanted - set(followed))
    # The link names the Detail Record Search type, as Telnyx's session analysis guide
    # writes it; the OpenAPI example's session analysis name finds the same record.
    call_link = followed["callcontrol-cdrs"]
    assert call_link.startswith("/v2/detail_records?record_type=call-control&id=")
    as_in_the_example = call_link.replace("=call-control&", "=callcontrol-cdrs&")
    assert http.get(origin + as_in_the_example, timeout=30).json()["data"] == \
        http.get(origin + call_link, timeout=30).json()["data"]


def test_the_short_record_type_must_agree_with_the_filter(
    sandbox: Sandbox, http: requests.Session
) -> None:
    body = get(sandbox, http, "/detail_records", {"record_type": "call-control",
                                                  "filter[record_type]": "fax"}, status=400)
    assert body["errors"][0]["source"]["parameter"] == "record_type"
    body = get(sandbox, http, "/detail_records", {"record_type": "telegrams"}, status=400)
    assert body["errors"][0]["source"]["parameter"] == "record_type"


def test_amd_records_belong_to_answered_outbound_calls(
    sandbox: Sandbox, http: requests.Session
) -> None:
    calls = {r["id"]: r for r in every_record(sandbox, http,
                                               {"filter[record_type]": "call-control"})}
    amd = every_record(sandbox, http, {"filter[record_type]": "amd"})
    assert amd
    for record in amd:
        call = calls[record["call_leg_id"]]
        assert call["direction"] == "outbound"
        assert pd.Timestamp(record["invoked_at"]) == pd.Timestamp(call["answered_at"])
        assert record["connection_id"] == call["connection_id"]


def test_conference_records_add_up_their_participants(
    sandbox: Sandbox, http: requests.Session
) -> None:
    conferences = every_record(sandbox, http, {"filter[record_type]": "conference"})
    participants = every_record(sandbox, http, {"filter[record_type]": "conference-participant"})
    assert conferences
    for conf in conferences:
        mine = [p for p in participants if p["conference_id"] == conf["id"]]
        assert len(mine) == conf["participant_count"]
        assert sum(p["call_sec"] for p in mine) == conf["participant_call_sec"]
        assert max(pd.Timestamp(p["left_at"]) for p in mine) == pd.Timestamp(conf["ended_at"])
        for p in mine:
            assert micro(p["cost"]) == micro(p["rate"]) * p["billed_sec"] // 60


def _cost_field(name: str) -> str | None:
    return {"wireless": "data_cost", "verify": "verify_usage_fee", "conference": None}.get(
        name, "cost")


def test_product_usage_totals_agree_with_the_detail_records(
    sandbox: Sandbox, http: requests.Session, ledger: Ledger
) -> None:
    """Every product's spend reconciles: the sum of its detail records' costs per currency
    is the /usage_reports total for the same window."""
    start = ledger.now.floor("D") - pd.Timedelta(days=1)
    end = ledger.now
    products = {**{name: name for name in RECORD_TYPE_PRODUCTS},
                "messaging": "messaging", "call-control": "call-control",
                "wireless": "wireless"}  # fmt: skip
    assert set(products) == set(RECORD_TYPES) - {"conference"}  # its cost is per participant
    for name, product in products.items():
        time_field = {"call-control": "started_at", "sip-trunking": "started_at",
                      "webrtc": "started_at", "conference-participant": "joined_at",
                      "amd": "invoked_at"}.get(name, "created_at")  # fmt: skip
        records = every_record(sandbox, http, {
            "filter[record_type]": name, f"filter[{time_field}][gte]": iso(start),
            f"filter[{time_field}][lte]": iso(end),
        })  # fmt: skip
        mine: dict[str, int] = {}
        for record in records:
            mine[record["currency"]] = mine.get(record["currency"], 0) + micro(
                record[_cost_field(name)])
        rows = get(sandbox, http, "/usage_reports", {
            "product": product, "dimensions": "date", "metrics": "cost",
            "start_date": iso(start), "end_date": iso(end), "page[size]": 5000,
        })["data"]  # fmt: skip
        theirs: dict[str, int] = {}
        for row in rows:
            theirs[row["currency"]] = theirs.get(row["currency"], 0) + micro(row["cost"])
        assert mine == theirs, name
        assert mine, name


# -- filters, sort, paging -----------------------------------------------------------------


def test_filters_select_what_the_ledger_says(
    sandbox: Sandbox, http: requests.Session, ledger: Ledger
) -> None:
    msgs = ledger.messages(ledger.now - pd.Timedelta(hours=4), ledger.now)
    base = {"filter[record_type]": "messaging",
            "filter[created_at][gte]": iso(ledger.now - pd.Timedelta(hours=4))}  # fmt: skip
    cases = [
        ({"filter[status]": "delivered"}, msgs["status"] == "DELIVERED"),
        ({"filter[status]": "DELIVERED"}, msgs["status"] == "DELIVERED"),  # any case
        ({"filter[direction][eq]": "inbound"}, msgs["direction"] == "inbound"),
        ({"filter[cld][starts_with]": "+44"}, msgs["cld"].str.startswith("+44")),
        ({"filter[cli][ends_with]": "7"}, msgs["cli"].str.endswith("7")),
        ({"filter[cld][contains]": "555"}, msgs["cld"].str.contains("555", regex=False)),
        ({"filter[cost][gte]": "0.02"}, msgs["cost_micro"] >= 20_000),
        ({"filter[parts][gt]": "1", "filter[country_code]": "US"},
         (msgs["parts"] > 1) & (msgs["country_code"] == "US")),
    ]  # fmt: skip
    for params, expected in cases:
        got = every_record(sandbox, http, {**base, **params})
        want = set(msgs.loc[expected.to_numpy(dtype=bool), "id"].astype(str))
        assert {r["uuid"] for r in got} == want, params
        assert want or params == {"filter[cld][starts_with]": "+44"}, params


def test_time_filters_and_date_ranges(
    sandbox: Sandbox, http: requests.Session, ledger: Ledger
) -> None:
    today = ledger.now.floor("D")
    calls = ledger.calls(ledger.start, ledger.now)
    got = every_record(sandbox, http, {"filter[record_type]": "call-control",
                                       "filter[date_range]": "today"})  # fmt: skip
    want = calls.loc[(calls["start_time"] >= today).to_numpy(), "call_leg_id"].astype(str)
    assert got and {r["id"] for r in got} == set(want)
    yesterday = every_record(sandbox, http, {"filter[record_type]": "call-control",
                                             "filter[date_range]": "yesterday"})  # fmt: skip
    by_date = every_record(sandbox, http, {
        "filter[record_type]": "call-control",
        "filter[started_at][gte]": str((today - pd.Timedelta(days=1)).date()),
        "filter[started_at][lte]": str((today - pd.Timedelta(days=1)).date()),  # a whole day
    })  # fmt: skip
    assert yesterday and [r["id"] for r in yesterday] == [r["id"] for r in by_date]
    last_2 = get(sandbox, http, "/detail_records", {"filter[record_type]": "call-control",
                                                    "filter[date_range]": "last_2_days"})
    assert last_2["meta"]["total_results"] == len(calls)  # the ledger's 3 days are all in it
    tomorrow = get(sandbox, http, "/detail_records",
                   {"filter[record_type]": "fax", "filter[date_range]": "tomorrow"})
    assert tomorrow["data"] == [] and tomorrow["meta"]["total_results"] == 0
    lt = every_record(sandbox, http, {"filter[record_type]": "call-control",
                                      "filter[started_at][lt]": iso(today)})  # fmt: skip
    assert len(lt) + len(got) == len(calls)


def test_usage_reports_and_detail_records_read_a_date_range_alike(
    sandbox: Sandbox, http: requests.Session, ledger: Ledger
) -> None:
    # One vocabulary (views.date_range_window) behind both parameters: a range both accept
    # covers the same records, counted by each endpoint its own way.
    counted = []
    for name in ("yesterday", "today", "this_week", "last_2_days"):
        records = get(sandbox, http, "/detail_records", {
            "filter[record_type]": "fax", "filter[date_range]": name, "page[size]": 1})
        usage = get(sandbox, http, "/usage_reports", {
            "product": "fax", "dimensions": "date", "metrics": "count", "date_range": name})
        total = sum(int(r["count"]) for r in usage["data"])
        assert records["meta"]["total_results"] == total, name
        counted.append(total)
    assert counted[0] and counted[-1], "the windows hold records: the test proves something"


def test_sort_orders_by_any_field_of_the_type(sandbox: Sandbox, http: requests.Session) -> None:
    by_cost = every_record(sandbox, http, {"filter[record_type]": "sip-trunking",
                                           "sort": "-cost"})  # fmt: skip
    costs = [micro(r["cost"]) for r in by_cost]
    assert costs == sorted(costs, reverse=True) and costs[0] > costs[-1]
    newest = get(sandbox, http, "/detail_records",
                 {"filter[record_type]": "sip-trunking", "sort": "-started_at"})["data"]
    times = [pd.Timestamp(r["started_at"]) for r in newest]
    assert times == sorted(times, reverse=True)
    assert times[0] == max(pd.Timestamp(r["started_at"]) for r in by_cost)
    two = every_record(sandbox, http, {"filter[record_type]": "verify",
                                       "sort": ["verify_channel_type", "-created_at"]})
    keys = [(r["verify_channel_type"], -pd.Timestamp(r["created_at"]).value) for r in two]
    assert keys == sorted(keys)


def test_pages_are_disjoint_and_cover_everything(
    sandbox: Sandbox, http: requests.Session
) -> None:
    params = {"filter[record_type]": "sip-trunking", "sort": "billed_sec"}  # many ties
    whole = every_record(sandbox, http, params)
    pieces = []
    for number in range(1, 100):
        body = get(sandbox, http, "/detail_records", {**params, "page[number]": number,
                                                      "page[size]": 7})  # fmt: skip
        assert body["meta"]["page_size"] == 7 and body["meta"]["page_number"] == number
        if not body["data"]:
            assert number == body["meta"]["total_pages"] + 1  # past the end: empty, true totals
            assert body["meta"]["total_results"] == len(whole)
            break
        pieces.extend(body["data"])
    assert [r["id"] for r in pieces] == [r["id"] for r in whole]
    assert len({r["id"] for r in whole}) == len(whole)


# -- deterministic from the seed -------------------------------------------------------------


def test_products_are_the_same_for_the_same_seed_and_key() -> None:
    one = Ledger(4, "KEYa", days=2, until=UNTIL)
    again = Ledger(4, "KEYa", days=2, until=UNTIL)
    other = Ledger(4, "KEYb", days=2, until=UNTIL)
    for name in ("verify", "amd", "conference-participant", "sip-trunking"):
        a = one.detail_records(name, one.start, one.now)
        pd.testing.assert_frame_equal(a, again.detail_records(name, again.start, again.now))
        b = other.detail_records(name, other.start, other.now)
        assert not set(a["id"]) & set(b["id"])


def test_product_records_stay_in_their_day_and_cost_rate_times_quantity() -> None:
    led = Ledger(9, "KEYday", days=2, until=UNTIL, now=pd.Timestamp("2024-03-12 13:00", tz="UTC"))
    for name in DETAIL_TABLES:
        table, _ = DETAIL_TABLES[name]
        if table != name:
            continue
        for day in (led.first_day, led.last_day):
            frame = led.table(name, day)
            times = frame.select_dtypes("datetimetz")
            for column in times:
                if column == "expires_at":
                    continue
                values = times[column].dropna()
                assert (values.dt.date == day).all() and (values <= led.now).all(), (name, column)
            if "quantity" in frame:
                assert (frame["cost_micro"] == frame["rate_micro"] * frame["quantity"]).all()


# -- the documented 400s ---------------------------------------------------------------------

ERRORS = [
    ({}, "filter[record_type]"),
    ({"filter[record_type]": "calls"}, "filter[record_type]"),
    ({"filter[record_type]": "call-control", "filter[created_at][gte]": "2024-03-11"},
     "filter[created_at][gte]"),
    ({"filter[record_type]": "sip-trunking", "sort": "-created_at"}, "sort"),
    ({"filter[record_type]": "messaging", "filter[colour]": "red"}, "filter[colour]"),
    ({"filter[record_type]": "messaging", "filter[cld][like]": "1"}, "filter[cld][like]"),
    ({"filter[record_type]": "messaging", "filter[created_at][contains]": "1"},
     "filter[created_at][contains]"),
    ({"filter[record_type]": "messaging", "filter[parts][starts_with]": "1"},
     "filter[parts][starts_with]"),
    ({"filter[record_type]": "messaging", "filter[cost][gte]": "cheap"}, "filter[cost][gte]"),
    ({"filter[record_type]": "messaging", "filter[created_at][gte]": "yesterday"},
     "filter[created_at][gte]"),
    ({"filter[record_type]": "messaging", "filter[date_range]": "last_fortnight"},
     "filter[date_range]"),
    ({"filter[record_type]": "messaging", "filter": "x"}, "filter"),
    ({"filter[record_type]": "messaging", "page[size]": 51}, "page[size]"),
    ({"filter[record_type]": "messaging", "page[number]": 0}, "page[number]"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "parameter"), ERRORS)
def test_bad_queries_are_400s_in_telnyxs_format(
    sandbox: Sandbox, http: requests.Session, params: dict[str, Any], parameter: str
) -> None:
    body = get(sandbox, http, "/detail_records", params, status=400)
    (error,) = body["errors"]
    assert error["code"] == "10011" and error["title"] and error["detail"]
    assert error["source"] == {"parameter": parameter}


def test_a_refusal_names_the_choices(sandbox: Sandbox, http: requests.Session) -> None:
    detail = get(sandbox, http, "/detail_records", {"filter[record_type]": "calls"},
                 status=400)["errors"][0]["detail"]  # fmt: skip
    assert all(name in detail for name in RECORD_TYPES)
    detail = get(sandbox, http, "/detail_records", {"filter[record_type]": "call-control",
                                                    "filter[created_at]": "2024-03-11"},
                 status=400)["errors"][0]["detail"]  # fmt: skip
    assert "started_at" in detail and "finished_at" in detail and "answered_at" in detail


def test_the_docs_list_every_record_type_with_its_fields() -> None:
    """docs/data/detail-records.md shows what the sandbox serves, type by type."""
    page = Path(__file__).resolve().parents[2] / "docs" / "data" / "detail-records.md"
    rows = {}
    for line in page.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`") and cells[2].startswith("`"):
            rows[cells[0].strip("`")] = cells
    assert sorted(rows) == sorted(RECORD_TYPES)
    for name, (_, record_type, time_field, _, fields) in rows.items():
        kind = DETAIL_TYPES[name]
        assert record_type.strip("`") == kind.record_type
        assert time_field.strip("`") == kind.time_field
        assert [f.strip(" `") for f in fields.split(",")] == list(kind.fields), name
