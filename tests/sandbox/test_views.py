"""The sandbox's synchronous endpoints (views.py), called through ``App.handle``.

Every answer, success or error, is checked against Telnyx's OpenAPI description with
openapi-core (``openapi_check``). Expected values come from the ledger or from another
endpoint, never from the views' own code.
"""

from __future__ import annotations

import csv
import io
import json
import math
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import openapi_check
import pandas as pd
import pytest
from openapi_check import spec_dict, validate_response

from telnyx_analytics.sandbox import spec, views
from telnyx_analytics.sandbox._web import Request
from telnyx_analytics.sandbox.app import App, SandboxConfig

KEY = "KEYviews1"
CONFIG = SandboxConfig(seed=11, days=12, until=date(2024, 3, 12), scale=0.25)


@pytest.fixture(scope="module")
def app() -> App:
    return App(CONFIG)


@pytest.fixture(scope="module")
def ledger(app: App) -> Any:
    return app.account_for_key(KEY).ledger


def target(path: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> str:
    if not params:
        return path
    return path + "?" + urlencode(params, doseq=True, safe="[]:", quote_via=quote)


def get(app: App, path: str, params: Any = None, *, status: int = 200, key: str = KEY) -> Any:
    """GET through the app, check the status and the answer's schema, return the body."""
    req = Request.from_target("GET", target(path, params), {"Authorization": f"Bearer {key}"})
    resp = app.handle(req)
    assert resp.status == status, (path, params, resp.status, resp.body[:400])
    if openapi_check.available():  # else test_answers_are_checked_... shows the skip
        validate_response(req, resp)
    if resp.content_type == "text/csv":
        return resp.body.decode()
    return json.loads(resp.body)


def raw(app: App, path: str, params: Any = None, key: str = KEY) -> bytes:
    req = Request.from_target("GET", target(path, params), {"Authorization": f"Bearer {key}"})
    return app.handle(req).body


def iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day_window(ledger: Any, days_back: int = 3, length_days: int = 2) -> tuple[str, str]:
    """A window of whole UTC days inside the ledger."""
    start = ledger.now.floor("D") - pd.Timedelta(days=days_back)
    end = start + pd.Timedelta(days=length_days) - pd.Timedelta(microseconds=1)
    return iso(start), iso(end)


def error(body: dict) -> dict:
    assert len(body["errors"]) == 1
    return body["errors"][0]


# -- every operation answers schema-valid success ----------------------------------------


def test_answers_are_checked_against_the_description() -> None:
    """Every ``get`` above validates its answer with openapi-core when reports.yml is
    present; this test makes its absence visible as a skip (with the path)."""
    openapi_check.spec()
    assert openapi_check.available()


def test_every_operation_is_routed(app: App) -> None:
    patterns = {(m, p) for m, p in app.router.operations()}
    for path in [
        "/call_events", "/reports/mdrs", "/reports/wdrs", "/reports/cdr_usage_reports/sync",
        "/reports/mdr_usage_reports/sync", "/usage_reports", "/usage_reports/options",
        "/legacy/reporting/batch_detail_records/voice/fields", "/session_analysis/metadata",
    ]:  # fmt: skip
        assert ("GET", f"^{path}$") in patterns


def test_success_answers_are_schema_valid(app: App, ledger: Any) -> None:
    start, end = day_window(ledger)
    mdrs = get(app, "/reports/mdrs", {"start_date": start, "end_date": end, "page[size]": 50})
    assert mdrs["data"] and all(r["record_type"] == "mdr_report" for r in mdrs["data"])
    wdrs = get(app, "/reports/wdrs", {"start_date": start, "end_date": end, "page[size]": 50})
    assert wdrs["data"] and all(r["record_type"] == "wdr" for r in wdrs["data"])
    events = get(app, "/call_events", {"page[limit]": 30})
    assert events["data"] and all(r["record_type"] == "call_event" for r in events["data"])
    get(app, "/call_events", {"page[number]": 2, "page[size]": 10})
    for aggregation in spec.CDR_AGGREGATIONS:
        for breakdown in spec.CDR_PRODUCT_BREAKDOWNS:
            body = get(app, "/reports/cdr_usage_reports/sync", {
                "start_date": start, "end_date": end,
                "aggregation_type": aggregation, "product_breakdown": breakdown,
            })  # fmt: skip
            assert body["data"]["status"] == "COMPLETE" and body["data"]["result"]["records"]
    for aggregation in spec.MDR_AGGREGATIONS:
        body = get(
            app,
            "/reports/mdr_usage_reports/sync",
            {"start_date": start, "end_date": end, "aggregation_type": aggregation},
        )
        assert body["data"]["result"]
    for product, p in views.USAGE_PRODUCTS.items():
        body = get(app, "/usage_reports", {
            "product": product, "dimensions": p.dimensions[:2], "metrics": list(p.metrics),
            "start_date": start, "end_date": end,
        })  # fmt: skip
        assert body["data"] and all(row["product"] == product for row in body["data"])
    text = get(
        app,
        "/usage_reports",
        {
            "product": "messaging",
            "dimensions": "direction",
            "metrics": "cost,parts",
            "format": "csv",
        },
    )
    assert text.splitlines()[0] == "direction,currency,product,cost,parts"
    options = get(app, "/usage_reports/options")
    assert {d["product"] for d in options["data"]} == set(views.USAGE_PRODUCTS)
    assert [
        d["product"] for d in get(app, "/usage_reports/options", {"product": "wireless"})["data"]
    ] == ["wireless"]
    get(app, "/legacy/reporting/batch_detail_records/voice/fields")
    meta = get(app, "/session_analysis/metadata")
    for info in meta["record_types"]:
        for name in [info["record_type"], *info["aliases"]]:
            assert (
                get(app, f"/session_analysis/metadata/{name}")["record_type"] == info["record_type"]
            )


ERRORS = [
    # (path, params, status, parameter named in source, or None)
    ("/reports/mdrs", {"direction": "SIDEWAYS"}, 400, "direction"),
    ("/reports/mdrs", {"status": "LOST"}, 400, "status"),
    ("/reports/mdrs", {"message_type": "FAX"}, 400, "message_type"),
    ("/reports/mdrs", {"start_date": "yesterday"}, 400, "start_date"),
    ("/reports/mdrs", {"start_date": "2024-03-05", "end_date": "2024-03-01"}, 400, "end_date"),
    ("/reports/mdrs", {"page[size]": 251}, 400, "page[size]"),
    ("/reports/mdrs", {"page[number]": 0}, 400, "page[number]"),
    ("/reports/wdrs", {"sort": "colour"}, 400, "sort"),
    ("/reports/wdrs", {"page[size]": "ten"}, 400, "page[size]"),
    ("/reports/wdrs", {"end_date": "2024-13-01"}, 400, "end_date"),
    ("/call_events", {"filter[occurred_at][gte]": "2024-03-01T00:00:00Z",
                      "filter[occurred_at][lt]": "2024-03-02T00:00:00Z"}, 422, None),
    ("/call_events", {"filter[occurred_at][eq]": "soon"}, 422, "filter[occurred_at][eq]"),
    ("/call_events", {"filter[type]": "email"}, 422, "filter[type]"),
    ("/call_events", {"filter[failed]": "maybe"}, 422, "filter[failed]"),
    ("/call_events", {"filter[leg_id]": "not-a-uuid"}, 422, "filter[leg_id]"),
    ("/call_events", {"filter[application_name][contains]": "ab"}, 422,
     "filter[application_name][contains]"),
    ("/call_events", {"filter[colour]": "red"}, 422, "filter[colour]"),
    ("/call_events", {"page[limit]": 251}, 422, "page[limit]"),
    ("/call_events", {"page[after]": "!!!"}, 422, "page[after]"),
    ("/call_events", {"page[size]": 0}, 422, "page[size]"),
    ("/reports/cdr_usage_reports/sync", {"product_breakdown": "NO_BREAKDOWN"}, 400,
     "aggregation_type"),
    ("/reports/cdr_usage_reports/sync", {"aggregation_type": "CONNECTION",
                                         "product_breakdown": "BY_PLANET"}, 400,
     "product_breakdown"),
    ("/reports/cdr_usage_reports/sync", {"aggregation_type": "CONNECTION",
                                         "product_breakdown": "COUNTRY",
                                         "connections": "abc"}, 400, "connections"),
    ("/reports/mdr_usage_reports/sync", {"aggregation_type": "CARRIER"}, 400,
     "aggregation_type"),
    ("/reports/mdr_usage_reports/sync", {"aggregation_type": "PROFILE",
                                         "start_date": "2024-03-05T00:00:00Z",
                                         "end_date": "2024-03-04T00:00:00Z"}, 400, "end_date"),
    ("/usage_reports", {"product": "telegrams", "dimensions": "x", "metrics": "y"}, 400, "product"),
    ("/usage_reports", {"product": "messaging", "dimensions": "direction",
                        "metrics": "cost,colour"}, 400, "metrics"),
    ("/usage_reports", {"product": "messaging", "dimensions": "mcc", "metrics": "cost"}, 400,
     "dimensions"),
    ("/usage_reports", {"product": "messaging", "dimensions": "direction"}, 400, "metrics"),
    ("/usage_reports", {"product": "messaging", "dimensions": "direction", "metrics": "cost",
                        "start_date": "2024-01-01T00:00:00Z",
                        "end_date": "2024-02-15T00:00:00Z"}, 400, "end_date"),
    ("/usage_reports", {"product": "messaging", "dimensions": "direction", "metrics": "cost",
                        "date_range": "last_90_days"}, 400, "date_range"),
    ("/usage_reports", {"product": "messaging", "dimensions": "direction", "metrics": "cost",
                        "date_range": "someday"}, 400, "date_range"),
    ("/usage_reports", {"product": "messaging", "dimensions": "direction", "metrics": "cost",
                        "date_range": "tomorrow"}, 400, "date_range"),  # Detail Search only
    ("/usage_reports", {"product": "messaging", "dimensions": "direction", "metrics": "cost",
                        "format": "xml"}, 400, "format"),
    ("/usage_reports", {"product": "messaging", "dimensions": "direction", "metrics": "cost",
                        "page[size]": 5001}, 400, "page[size]"),
    ("/usage_reports", {"product": "messaging", "dimensions": "direction", "metrics": "cost",
                        "filter[mcc]": "204"}, 400, "filter[mcc]"),
    ("/usage_reports", {"product": "messaging", "dimensions": "direction", "metrics": "cost",
                        "sort": "colour"}, 400, "sort"),
    ("/usage_reports/options", {"product": "telegrams"}, 400, "product"),
    ("/session_analysis/metadata/telegrams", None, 404, None),
    ("/session_analysis/callcontrol-cdrs/not-a-uuid", None, 400, "event_id"),
    ("/session_analysis/telegrams/" + str(uuid.UUID(int=1)), None, 404, None),
    ("/session_analysis/callcontrol-cdrs/" + str(uuid.UUID(int=1)), None, 404, None),
]  # fmt: skip


@pytest.mark.parametrize(("path", "params", "status", "parameter"), ERRORS)
def test_error_answers_are_schema_valid(
    app: App, path: str, params: Any, status: int, parameter: str | None
) -> None:
    err = error(get(app, path, params, status=status))
    assert err["code"] and err["title"] and err["detail"]
    if parameter is not None:
        assert err["source"]["parameter"] == parameter
    if path.startswith("/session_analysis"):
        assert err["message"]


def test_enum_errors_list_the_allowed_values(app: App) -> None:
    detail = error(get(app, "/reports/mdrs", {"status": "LOST"}, status=400))["detail"]
    assert all(value in detail for value in spec.MDR_STATUSES)
    detail = error(
        get(
            app,
            "/usage_reports",
            {"product": "wireless", "dimensions": "mcc", "metrics": "colour"},
            status=400,
        )
    )["detail"]
    assert detail.startswith("Available metrics values for wireless:")
    assert all(m in detail for m in views.USAGE_PRODUCTS["wireless"].metrics)


def test_spec_constants_match_the_description() -> None:
    doc = spec_dict()
    params = {p["name"]: p for p in doc["paths"]["/reports/mdrs"]["get"]["parameters"]}
    assert tuple(params["direction"]["schema"]["enum"]) == spec.MDR_DIRECTIONS
    assert tuple(params["status"]["schema"]["enum"]) == spec.MDR_STATUSES
    assert tuple(params["message_type"]["schema"]["enum"]) == spec.MESSAGE_TYPES
    cdr = {
        p["name"]: p for p in doc["paths"]["/reports/cdr_usage_reports/sync"]["get"]["parameters"]
    }
    assert tuple(cdr["aggregation_type"]["schema"]["enum"]) == spec.CDR_AGGREGATIONS
    assert tuple(cdr["product_breakdown"]["schema"]["enum"]) == spec.CDR_PRODUCT_BREAKDOWNS
    mdr = {
        p["name"]: p for p in doc["paths"]["/reports/mdr_usage_reports/sync"]["get"]["parameters"]
    }
    assert tuple(mdr["aggregation_type"]["schema"]["enum"]) == spec.MDR_AGGREGATIONS
    filt = doc["components"]["parameters"]["call-control_FilterConsolidated"]["schema"][
        "properties"
    ]
    assert tuple(filt["product"]["enum"]) == spec.CALL_EVENT_PRODUCTS
    assert tuple(filt["status"]["enum"]) == spec.CALL_EVENT_STATUSES
    assert tuple(filt["type"]["enum"]) == spec.CALL_EVENT_TYPES
    assert tuple(filt["occurred_at"]["properties"]) == spec.CALL_EVENT_OCCURRED_AT_OPS
    page = doc["components"]["parameters"]["call-control_PageConsolidated"]["schema"]["properties"]
    assert page["limit"]["maximum"] == spec.DETAIL_MAX_PAGE_SIZE
    usage = {p["name"]: p for p in doc["paths"]["/usage_reports"]["get"]["parameters"]}
    assert (
        usage["page"]["schema"]["properties"]["size"]["maximum"] == spec.USAGE_REPORTS_MAX_PAGE_SIZE
    )
    analysis = {
        p["name"]: p
        for p in doc["paths"]["/session_analysis/{record_type}/{event_id}"]["get"]["parameters"]
    }
    depth = analysis["max_depth"]["schema"]
    assert (depth["minimum"], depth["maximum"], depth["default"]) == (
        spec.SESSION_MAX_DEPTH_MIN,
        spec.SESSION_MAX_DEPTH_MAX,
        spec.SESSION_MAX_DEPTH_DEFAULT,
    )
    assert tuple(analysis["expand"]["schema"]["enum"]) == spec.SESSION_EXPAND


def test_cdr_fields_cover_the_report_columns_once(app: App) -> None:
    body = get(app, "/legacy/reporting/batch_detail_records/voice/fields")
    assert set(body) == {"Billing", "Interaction Data", "Number Information", "Telephony Data"}
    listed = [f for group in body.values() for f in group]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(spec.CDR_COLUMNS)
    assert body == spec.CDR_FIELDS


# -- paging edges ---------------------------------------------------------------------------


def _window_total(app: App, path: str, window: dict[str, str]) -> int:
    return get(app, path, {**window, "page[size]": 1})["meta"]["total_results"]


@pytest.mark.parametrize("path", ["/reports/mdrs", "/reports/wdrs"])
def test_number_paging_edges(app: App, ledger: Any, path: str) -> None:
    start, end = day_window(ledger, days_back=2, length_days=1)
    window = {"start_date": start, "end_date": end}
    total = _window_total(app, path, window)
    assert total > 10

    # Empty: a window before the ledger begins.
    before = ledger.start - pd.Timedelta(days=5)
    empty = get(
        app, path, {"start_date": iso(before), "end_date": iso(before + pd.Timedelta(days=1))}
    )
    assert empty["data"] == []
    assert empty["meta"] == {
        "page_number": 1,
        "page_size": 20,
        "total_pages": 0,
        "total_results": 0,
    }

    # Exactly one page.
    one = get(app, path, {**window, "page[size]": total}) if total <= 250 else None
    if one is not None:
        assert len(one["data"]) == total and one["meta"]["total_pages"] == 1

    # Walking pages of an awkward size: the last page is partial, nothing repeats.
    size = 7 if total % 7 else 6
    pages = math.ceil(total / size)
    seen: list[str] = []
    for number in range(1, pages + 1):
        body = get(app, path, {**window, "page[number]": number, "page[size]": size})
        assert body["meta"] == {
            "page_number": number,
            "page_size": size,
            "total_pages": pages,
            "total_results": total,
        }
        seen += [r["id"] for r in body["data"]]
    assert len(body["data"]) == total - size * (pages - 1) < size
    assert len(seen) == total == len(set(seen))

    # The largest size gives the same records in the same order.
    largest: list[str] = []
    for number in range(1, math.ceil(total / 250) + 1):
        largest += [
            r["id"]
            for r in get(app, path, {**window, "page[number]": number, "page[size]": 250})["data"]
        ]
    assert largest == seen

    # Past the end: empty data, true totals.
    past = get(app, path, {**window, "page[number]": pages + 3, "page[size]": size})
    assert past["data"] == [] and past["meta"]["total_results"] == total


def test_call_event_cursors_walk_forward_and_back(app: App, ledger: Any) -> None:
    forward: list[list[str]] = []
    params: dict[str, Any] = {"page[limit]": 37}
    while True:
        body = get(app, "/call_events", params)
        forward.append([_event_key(r) for r in body["data"]])
        after = body["meta"]["cursors"].get("after")
        if after is None:
            break
        assert body["meta"]["next"].endswith("page[after]=" + after)
        params = {"page[limit]": 37, "page[after]": after}
    flat = [k for page in forward for k in page]
    total = body["meta"]["total_results"]
    assert len(flat) == total > 37 and len(set(flat)) == total
    assert all(len(page) == 37 for page in forward[:-1]) and 0 < len(forward[-1]) <= 37

    # The same order as number paging.
    by_number = []
    for number in range(1, math.ceil(total / 250) + 1):
        by_number += [
            _event_key(r)
            for r in get(app, "/call_events", {"page[number]": number, "page[size]": 250})["data"]
        ]
    assert by_number == flat

    # Back from the last page with page[before]: the same pages, in reverse.
    body = get(app, "/call_events", {"page[limit]": 37, "page[after]": params.get("page[after]")})
    backward = [[_event_key(r) for r in body["data"]]]
    while (before := body["meta"]["cursors"].get("before")) is not None:
        body = get(app, "/call_events", {"page[limit]": 37, "page[before]": before})
        backward.append([_event_key(r) for r in body["data"]])
    assert backward[::-1] == forward

    # Events are ordered by time.
    stamps = [
        pd.Timestamp(r["event_timestamp"])
        for r in get(app, "/call_events", {"page[limit]": 250})["data"]
    ]
    assert stamps == sorted(stamps)


def _event_key(record: dict) -> str:
    return record["metadata"]["event_id"]


def test_call_events_default_to_the_last_24_hours(app: App, ledger: Any) -> None:
    body = get(app, "/call_events", {"page[size]": 250})
    now = ledger.now
    stamps = [pd.Timestamp(r["event_timestamp"]) for r in body["data"]]
    assert stamps and all(now - pd.Timedelta(hours=24) <= s <= now for s in stamps)
    expected = ledger.call_events(now - pd.Timedelta(hours=24), now)
    assert body["meta"]["total_results"] == len(expected)


def test_call_event_filters(app: App, ledger: Any) -> None:
    events = ledger.call_events(ledger.now - pd.Timedelta(hours=24), ledger.now)
    row = events.iloc[len(events) // 2]

    # A leg or session filter lifts the 24-hour default: all of that call's events.
    every = ledger.call_events(ledger.start, ledger.now)
    body = get(app, "/call_events", {"filter[leg_id]": row["call_leg_id"], "page[size]": 250})
    assert body["data"] and {r["call_leg_id"] for r in body["data"]} == {row["call_leg_id"]}
    assert body["meta"]["total_results"] == int((every["call_leg_id"] == row["call_leg_id"]).sum())
    session = get(
        app,
        "/call_events",
        {"filter[application_session_id]": row["call_session_id"], "page[size]": 250},
    )
    assert {r["call_session_id"] for r in session["data"]} == {row["call_session_id"]}
    expected = int((every["call_session_id"] == row["call_session_id"]).sum())
    assert session["meta"]["total_results"] == expected
    early = every.iloc[0]  # long before the last 24 hours
    body = get(app, "/call_events", {"filter[leg_id]": early["call_leg_id"]})
    assert (
        body["meta"]["total_results"]
        == int((every["call_leg_id"] == early["call_leg_id"]).sum())
        > 0
    )
    unknown = get(app, "/call_events", {"filter[leg_id]": str(uuid.UUID(int=7))})
    assert unknown["data"] == [] and unknown["meta"]["total_results"] == 0

    for name, column in [
        ("type", "type"),
        ("name", "name"),
        ("connection_id", "connection_id"),
        ("from", "from"),
        ("to", "to"),
        ("product", "product"),
    ]:
        value = str(row[column])
        body = get(app, "/call_events", {f"filter[{name}]": value, "page[size]": 250})
        expected = int((events[column].astype(str) == value).sum())
        assert body["meta"]["total_results"] == expected > 0, name
        assert all(str(r["metadata"].get(column, r.get(column))) == value for r in body["data"])

    failed = get(app, "/call_events", {"filter[failed]": "true", "page[size]": 250})
    assert failed["meta"]["total_results"] == int(events["failed"].astype(bool).sum())
    assert all(r["metadata"]["failed"] is True for r in failed["data"])

    name = str(row["application_name"])
    part = name[1:4].upper()
    body = get(app, "/call_events", {"filter[application_name][contains]": part})
    expected = int(
        events["application_name"]
        .astype(str)
        .str.lower()
        .str.contains(part.lower(), regex=False)
        .sum()
    )
    assert body["meta"]["total_results"] == expected > 0

    # One occurred_at bound replaces the 24-hour default.
    since = ledger.now - pd.Timedelta(hours=30)
    gte = get(app, "/call_events", {"filter[occurred_at][gte]": iso(since), "page[size]": 1})
    assert gte["meta"]["total_results"] == len(ledger.call_events(since, ledger.now))
    at = pd.Timestamp(row["event_timestamp"])
    lt = get(app, "/call_events", {"filter[occurred_at][lt]": iso(at), "page[size]": 1})
    lte = get(app, "/call_events", {"filter[occurred_at][lte]": iso(at), "page[size]": 1})
    eq = get(app, "/call_events", {"filter[occurred_at][eq]": iso(at), "page[size]": 250})
    assert (
        lte["meta"]["total_results"] - lt["meta"]["total_results"]
        == eq["meta"]["total_results"]
        >= 1
    )
    assert all(pd.Timestamp(r["event_timestamp"]) == at for r in eq["data"])


def test_mdr_filters(app: App, ledger: Any) -> None:
    start, end = day_window(ledger, days_back=2, length_days=1)
    window = {"start_date": start, "end_date": end}
    messages = ledger.messages(pd.Timestamp(start), pd.Timestamp(end))
    row = messages.iloc[0]
    for param, value, column in [
        ("direction", "OUTBOUND", "direction"),
        ("direction", "inbound", "direction"),
        ("status", "DELIVERED", "status"),
        ("message_type", "MMS", "message_type"),
        ("profile", row["profile_name"], "profile_name"),
        ("cli", row["cli"], "cli"),
        ("cld", row["cld"], "cld"),
        ("id", row["id"], "id"),
    ]:
        body = get(app, "/reports/mdrs", {**window, param: value, "page[size]": 250})
        expected = int((messages[column].astype(str).str.upper() == str(value).upper()).sum())
        assert body["meta"]["total_results"] == expected > 0, param
        assert all(str(r[column]).upper() == str(value).upper() for r in body["data"])
    assert all(r["direction"] in ("inbound", "outbound") for r in body["data"])


def test_wdr_filters_and_sort(app: App, ledger: Any) -> None:
    start, end = day_window(ledger, days_back=3, length_days=2)
    window = {"start_date": start, "end_date": end}
    sessions = ledger.wireless(pd.Timestamp(start), pd.Timestamp(end))
    row = sessions.iloc[0]
    for name in [
        "mcc",
        "mnc",
        "imsi",
        "sim_group_name",
        "sim_group_id",
        "sim_card_id",
        "phone_number",
        "id",
    ]:
        body = get(app, "/reports/wdrs", {**window, name: row[name], "page[size]": 250})
        expected = int((sessions[name].astype(str) == str(row[name])).sum())
        assert body["meta"]["total_results"] == expected > 0, name
        assert all(r[name] == str(row[name]) for r in body["data"])

    desc = get(app, "/reports/wdrs", {**window, "sort": "-created_at", "page[size]": 250})["data"]
    stamps = [pd.Timestamp(r["created_at"]) for r in desc]
    assert stamps == sorted(stamps, reverse=True)
    by_cost = get(app, "/reports/wdrs", {**window, "sort": "cost", "page[size]": 250})["data"]
    costs = [Decimal(r["cost"]["amount"]) for r in by_cost]
    assert costs == sorted(costs)
    record = by_cost[0]
    assert (
        record["uplink_data"]["unit"] == "MB"
        and record["cost"]["currency"] == record["rate"]["currency"]
    )


def test_a_page_costs_a_slice_not_a_filter(app: App, ledger: Any) -> None:
    start, end = day_window(ledger, days_back=4, length_days=3)
    window = {"start_date": start, "end_date": end}
    before = app.views.cache.misses
    for number in range(1, 6):
        get(app, "/reports/wdrs", {**window, "page[number]": number, "page[size]": 5})
    assert app.views.cache.misses == before + 1

    # Parallel pages of a new window share one computation too.
    start, end = day_window(ledger, days_back=6, length_days=3)
    params = [{"start_date": start, "end_date": end, "page[number]": n} for n in range(1, 9)]
    before = app.views.cache.misses
    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda p: get(app, "/reports/mdrs", p), params))
    assert app.views.cache.misses == before + 1
    ids = [r["id"] for body in bodies for r in body["data"]]
    assert len(ids) == len(set(ids)) == min(8 * 20, bodies[0]["meta"]["total_results"])


# -- reconciliation -------------------------------------------------------------------------


def _sum_by_currency(pairs: list[tuple[str, Decimal]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in pairs:
        out[currency] += amount
    return dict(out)


def test_messaging_costs_reconcile_across_endpoints(app: App, ledger: Any) -> None:
    start, end = day_window(ledger, days_back=5, length_days=4)
    window = {"start_date": start, "end_date": end}

    detail: list[tuple[str, Decimal]] = []
    parts = 0
    first = get(app, "/reports/mdrs", {**window, "page[size]": 250})
    for number in range(1, first["meta"]["total_pages"] + 1):
        for r in get(app, "/reports/mdrs", {**window, "page[number]": number, "page[size]": 250})[
            "data"
        ]:
            detail.append((r["currency"], Decimal(r["cost"])))
            parts += r["parts"]
    by_detail = _sum_by_currency(detail)
    assert len(detail) == first["meta"]["total_results"] > 250

    sync = get(app, "/reports/mdr_usage_reports/sync", {**window, "aggregation_type": "PROFILE"})
    rows = sync["data"]["result"]
    assert _sum_by_currency([(r["currency"], Decimal(r["cost"])) for r in rows]) == by_detail
    assert sum(int(r["parts"]) for r in rows) == parts

    usage = get(
        app,
        "/usage_reports",
        {
            **window,
            "product": "messaging",
            "dimensions": "direction",
            "metrics": "cost,parts,count",
            "page[size]": 5000,
        },
    )
    # JSON numbers of at most 6 decimals: their shortest repr is the exact decimal.
    assert (
        _sum_by_currency([(r["currency"], Decimal(repr(r["cost"]))) for r in usage["data"]])
        == by_detail
    )
    assert sum(r["parts"] for r in usage["data"]) == parts
    assert sum(r["count"] for r in usage["data"]) == len(detail)

    text = get(
        app,
        "/usage_reports",
        {
            **window,
            "product": "messaging",
            "dimensions": "date",
            "metrics": "cost",
            "format": "csv",
        },
    )
    csv_rows = list(csv.DictReader(io.StringIO(text)))
    assert _sum_by_currency([(r["currency"], Decimal(r["cost"])) for r in csv_rows]) == by_detail


def test_voice_costs_reconcile_between_usage_endpoints(app: App, ledger: Any) -> None:
    start, end = day_window(ledger, days_back=6, length_days=5)
    window = {"start_date": start, "end_date": end}
    cdr = get(
        app,
        "/reports/cdr_usage_reports/sync",
        {**window, "aggregation_type": "CONNECTION", "product_breakdown": "COUNTRY"},
    )
    records = cdr["data"]["result"]["records"]
    by_cdr = _sum_by_currency([(r["currency"], Decimal(r["cost"])) for r in records])
    usage = get(
        app,
        "/usage_reports",
        {
            **window,
            "product": "call-control",
            "dimensions": "connection_id,country_code",
            "metrics": "cost,calls,billed_sec",
            "page[size]": 5000,
        },
    )
    assert (
        _sum_by_currency([(r["currency"], Decimal(repr(r["cost"]))) for r in usage["data"]])
        == by_cdr
    )
    calls = ledger.calls(pd.Timestamp(start), pd.Timestamp(end))
    assert sum(r["calls"] for r in records) == sum(r["calls"] for r in usage["data"]) == len(calls)
    assert sum(r["billed_sec"] for r in records) == int(calls["billable_sec"].sum())
    assert all(r["tags"] == "All" and r["tn_type"] == "All" for r in records)

    connection = records[0]["connection_id"]
    only = get(
        app,
        "/reports/cdr_usage_reports/sync",
        {
            **window,
            "aggregation_type": "CONNECTION",
            "product_breakdown": "NO_BREAKDOWN",
            "connections": connection,
        },
    )
    assert {r["connection_id"] for r in only["data"]["result"]["records"]} == {connection}
    assert only["data"]["connections"] == [int(connection)]


def test_usage_reports_filters_fold_into_the_dimensions(app: App, ledger: Any) -> None:
    params = {
        "product": "messaging",
        "metrics": "count,cost",
        "date_range": "last_7_days",
        "page[size]": 5000,
    }
    by_both = get(app, "/usage_reports", {**params, "dimensions": "direction,message_type"})["data"]
    sms = get(
        app, "/usage_reports", {**params, "dimensions": "direction", "filter[message_type]": "SMS"}
    )["data"]
    expected = Counter()
    for r in by_both:
        if r["message_type"] == "SMS":
            expected[(r["direction"], r["currency"])] += r["count"]
    assert {(r["direction"], r["currency"]): r["count"] for r in sms} == dict(expected)

    ordered = get(app, "/usage_reports", {**params, "dimensions": "date", "sort": "-count"})["data"]
    counts = [r["count"] for r in ordered]
    assert counts == sorted(counts, reverse=True)


def test_usage_reports_date_ranges(app: App, ledger: Any) -> None:
    params = {"product": "number-lookup", "dimensions": "date", "metrics": "total_dips"}
    today = ledger.now.floor("D")
    days = {
        r["date"]
        for r in get(app, "/usage_reports", {**params, "date_range": "last_3_days"})["data"]
    }
    assert days == {(today - pd.Timedelta(days=n)).strftime("%Y-%m-%d") for n in range(4)}
    yesterday = get(app, "/usage_reports", {**params, "date_range": "yesterday"})["data"]
    assert {r["date"] for r in yesterday} == {(today - pd.Timedelta(days=1)).strftime("%Y-%m-%d")}
    lookups = ledger.lookups(today - pd.Timedelta(days=1), today - pd.Timedelta(microseconds=1))
    assert sum(r["total_dips"] for r in yesterday) == len(lookups)


# -- session analysis -----------------------------------------------------------------------


def _session_root(ledger: Any) -> tuple[str, str]:
    """A call leg with a multi-level session tree: (record_type, id)."""
    calls = ledger.calls(ledger.now - pd.Timedelta(days=2), ledger.now)
    best = None
    for leg in calls["call_leg_id"].tolist()[:400]:
        nodes = ledger.session(leg)
        if nodes is None:
            continue
        depth = _depth(nodes, leg)
        if best is None or depth > best[0]:
            best = (depth, str(nodes.loc[nodes["id"] == leg, "record_type"].iloc[0]), leg)
        if depth >= 2:
            break
    assert best is not None and best[0] >= 1
    return best[1], best[2]


def _depth(nodes: pd.DataFrame, root: str) -> int:
    parents = dict(zip(nodes["id"], nodes["parent_id"], strict=True))

    def depth(i: str) -> int:
        return 0 if i == root else 1 + depth(parents[i])

    return max(depth(i) for i in nodes["id"])


def _walk(node: dict, depth: int = 0) -> list[tuple[dict, int]]:
    out = [(node, depth)]
    for child in node["children"]:
        out += _walk(child, depth + 1)
    return out


def test_session_tree_costs_roll_up(app: App, ledger: Any) -> None:
    record_type, leg = _session_root(ledger)
    body = get(app, f"/session_analysis/{record_type}/{leg}", {"max_depth": 5})
    nodes = ledger.session(leg)
    tree = _walk(body["root"])
    assert len(tree) == body["meta"]["event_count"] == len(nodes)
    for node, _ in tree:
        children = sum(Decimal(c["cost"]["cumulative_cost"]) for c in node["children"])
        assert (
            Decimal(node["cost"]["cumulative_cost"])
            == Decimal(node["cost"]["event_cost"]) + children
        )
        for child in node["children"]:
            assert child["relationship"]["parent_id"] == node["id"]
        assert node["record"]  # expand=record by default
    root = body["root"]
    assert root["relationship"] is None and root["id"] == body["session_id"] == leg
    total = sum(Decimal(n["cost"]["event_cost"]) for n, _ in tree)
    assert Decimal(body["cost"]["total"]) == Decimal(root["cost"]["cumulative_cost"]) == total
    own = Decimal(int(nodes["cost_micro"].sum())) / 1_000_000
    assert total == own
    assert body["meta"]["products"] == sorted(set(nodes["product"]))

    # A shallow or childless view shows less, but costs the same.
    shallow = get(app, f"/session_analysis/{record_type}/{leg}", {"max_depth": 1, "expand": "none"})
    assert max(d for _, d in _walk(shallow["root"])) == 1
    assert all(n["record"] == {} for n, _ in _walk(shallow["root"]))
    assert shallow["cost"] == body["cost"]
    alone = get(app, f"/session_analysis/{record_type}/{leg}", {"include_children": "false"})
    assert alone["root"]["children"] == [] and alone["cost"] == body["cost"]

    # Aliases resolve; a valid event of another record type is not found.
    alias = views.SESSION_RECORD_TYPES[record_type].aliases[0]
    assert get(app, f"/session_analysis/{alias}/{leg}", {"max_depth": 5})["root"] == body["root"]
    other = next(rt for rt in views.SESSION_RECORD_TYPES if rt != record_type)
    get(app, f"/session_analysis/{other}/{leg}", status=404)
    for bad in ("0", "6", "two"):
        get(app, f"/session_analysis/{record_type}/{leg}", {"max_depth": bad}, status=400)


def test_session_ids_of_another_account_are_not_found(app: App, ledger: Any) -> None:
    record_type, leg = _session_root(ledger)
    get(app, f"/session_analysis/{record_type}/{leg}", status=404, key="KEYsomeoneelse")


# -- determinism ----------------------------------------------------------------------------


def test_same_seed_and_key_give_identical_bodies(app: App, ledger: Any) -> None:
    other = App(CONFIG)
    start, end = day_window(ledger)
    record_type, leg = _session_root(ledger)
    targets = [
        ("/reports/mdrs", {"start_date": start, "end_date": end, "page[size]": 100}),
        ("/reports/wdrs", {"start_date": start, "end_date": end, "page[number]": 2}),
        ("/call_events", {"page[limit]": 50}),
        (
            "/usage_reports",
            {
                "product": "wireless",
                "dimensions": "mcc,mnc",
                "metrics": "cost,uplink_data",
                "date_range": "last_5_days",
            },
        ),
        (f"/session_analysis/{record_type}/{leg}", None),
        ("/session_analysis/metadata", None),
    ]
    for path, params in targets:
        assert raw(app, path, params) == raw(other, path, params), path
    # The synchronous usage reports differ only by their fresh id and times.
    params = {"start_date": start, "end_date": end, "aggregation_type": "TAGS"}
    one = json.loads(raw(app, "/reports/mdr_usage_reports/sync", params))["data"]
    two = json.loads(raw(other, "/reports/mdr_usage_reports/sync", params))["data"]
    assert one["id"] != two["id"] and one["result"] == two["result"]
    # Another key is another account.
    assert raw(app, *targets[0]) != raw(app, *targets[0], key="KEYviews2")


@pytest.mark.parametrize(
    ("path", "build", "encode"),
    [
        ("/reports/mdrs", views._mdr_records, views._mdr_json),
        ("/reports/wdrs", views._wdr_records, views._wdr_json),
    ],
)
def test_detail_pages_written_as_text_equal_the_dict_path(path, build, encode):
    """The fast JSON writer of detail pages says exactly what the dict path says."""
    app = App(SandboxConfig(seed=3, days=3))
    body = get(app, path, {"page[size]": 250})
    (frame,) = [entry.frame for entry in app.views.cache._entries.values()]
    rows = frame.iloc[:250]
    assert body["data"] == build(rows)
    assert [json.loads(text) for text in encode(rows)] == build(rows)
    # A page with a missing value falls back to the dict path, which omits the field.
    gappy = rows.copy()
    gappy[gappy.columns[2]] = gappy[gappy.columns[2]].astype(object)
    gappy.iloc[0, 2] = None
    assert encode(gappy) is None
