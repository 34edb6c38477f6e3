"""The catalog against Telnyx's OpenAPI description, and the start/end vocabulary.

The description is read from ``../shared/telnyx-openapi/reports.yml`` (relative to the
repository root); the tests that need it skip with a reason when it is absent.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
import typing
from typing import Any

import numpy as np
import pandas as pd
import pytest
from contract import require_spec

from telnyx_analytics import _catalog, _dates, _frames, _pagination
from telnyx_analytics._catalog import OPERATIONS, REPORT_KINDS, prepare

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    import yaml

    with require_spec().open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _deref(spec: dict[str, Any], node: Any) -> Any:
    """Follow ``$ref`` pointers (``#/components/...``)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _operation(spec: dict[str, Any], op: _catalog.Operation) -> dict[str, Any]:
    return spec["paths"][op.path][op.method.lower()]


def _parameters(spec: dict[str, Any], op: _catalog.Operation) -> dict[str, dict[str, Any]]:
    path_item = spec["paths"][op.path]
    params = [*path_item.get("parameters", []), *_operation(spec, op).get("parameters", [])]
    out = {}
    for p in params:
        p = _deref(spec, p)
        out[p["name"]] = p
    return out


def _body_schema(spec: dict[str, Any], op: _catalog.Operation) -> dict[str, Any]:
    body = _operation(spec, op).get("requestBody")
    if not body:
        return {}
    content = next(iter(body["content"].values()))
    return _deref(spec, content["schema"])


def _wire_schema(spec: dict[str, Any], op: _catalog.Operation, wire: str, where: str) -> Any:
    """The spec's schema of a wire name (``direction``, ``filter[leg_id]``, a body field),
    or ``None`` when the description does not know it."""
    if where == "body":
        return _deref(spec, _body_schema(spec, op).get("properties", {}).get(wire))
    params = _parameters(spec, op)
    if wire in params:
        return _deref(spec, params[wire].get("schema"))
    head, *rest = re.findall(r"[^\[\]]+", wire)
    if head not in params:
        return None
    node = _deref(spec, params[head].get("schema"))
    if rest and node.get("type") == "string":  # usage_reports: filter[<dimension>] is free
        return node
    for part in rest:
        node = _deref(spec, (node or {}).get("properties", {}).get(part))
    return node


# -- the 44 operations ----------------------------------------------------------------------


def test_catalog_has_every_operation_of_the_description(spec: dict[str, Any]) -> None:
    described = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    }
    ours = {(op.method, op.path) for op in OPERATIONS.values()}
    assert len(described) == 44
    assert ours == described, (sorted(described - ours), sorted(ours - described))
    assert len(OPERATIONS) == 44  # one row per operation, no duplicates


def test_every_argument_is_a_name_the_description_knows(spec: dict[str, Any]) -> None:
    for op in OPERATIONS.values():
        default = "body" if op.method == "POST" else "query"
        for p in op.params:
            where = p.where or default
            if where == "path":
                assert "{" + p.api + "}" in op.path, (op.name, p.api)
                continue
            schema = _wire_schema(spec, op, p.api, where)
            assert schema is not None, f"{op.name}: {p.api!r} is not in the description"
        if op.window is not None:
            where = default
            for wire in (op.window.start, op.window.end):
                assert _wire_schema(spec, op, wire, where) is not None, (op.name, wire)


def test_enum_choices_are_the_descriptions_values(spec: dict[str, Any]) -> None:
    checked = 0
    for op in OPERATIONS.values():
        default = "body" if op.method == "POST" else "query"
        for p in op.params:
            if p.choices is None or p.type == "mapping":
                continue
            wire_values = set(p.choices.values())
            schema = _wire_schema(spec, op, p.api, p.where or default)
            if schema.get("type") == "array":
                schema = _deref(spec, schema["items"])
            if all(isinstance(v, str) for v in wire_values):
                if "enum" in schema:
                    assert wire_values == set(schema["enum"]), (op.name, p.name)
                else:  # listed in prose ("Valid values: calls (default), call-control, ...")
                    text = schema.get("description", "")
                    assert all(v in text for v in wire_values), (op.name, p.name, text)
            else:
                # Legacy integer enums are spelled out in prose: "Inbound = 1, Outbound = 2".
                text = " ".join(
                    filter(None, [schema.get("description"),
                                  _body_schema(spec, op).get("properties", {}).get(p.api, {})
                                  .get("description")])
                )
                pairs = {int(code): name.strip().lower()
                         for name, code in re.findall(r"([A-Za-z][A-Za-z -]*?)\s*=\s*(\d)", text)}
                assert pairs, (op.name, p.name, text)
                assert set(pairs) == wire_values, (op.name, p.name, pairs)
                for friendly, code in p.choices.items():
                    words = pairs[code].replace("-", " ").split()
                    stem = friendly.split("_")[0][:4]
                    assert any(w.startswith(stem) for w in words) or friendly in ("all", "none"), (
                        op.name, friendly, pairs[code])
            checked += 1
    assert checked >= 20


def test_required_arguments_match_the_description(spec: dict[str, Any]) -> None:
    for op in OPERATIONS.values():
        required_wire = {name for name, p in _parameters(spec, op).items()
                         if p.get("required") and p["in"] == "query"}
        required_wire |= set(_body_schema(spec, op).get("required", []))
        ours = {p.api for p in op.params if p.required and p.where != "path"}
        if op.window is not None and op.window.required:
            ours |= {op.window.start, op.window.end}
        # We may require more than the description (a report needs a window) but never less.
        assert required_wire <= ours, (op.name, required_wire - ours)


def test_id_shapes_follow_the_description(spec: dict[str, Any]) -> None:
    for op in OPERATIONS.values():
        params = _parameters(spec, op)
        for p in op.params:
            if p.where != "path":
                continue
            fmt = _deref(spec, params[p.api]["schema"]).get("format")
            assert (p.type == "uuid") == (fmt == "uuid"), (op.name, p.api, fmt)


def test_page_sizes_stay_within_the_descriptions_limits(spec: dict[str, Any]) -> None:
    checked = 0
    for op in OPERATIONS.values():
        if op.paging is None:
            continue
        params = _parameters(spec, op)
        limit = None
        if "page" in params:
            props = _deref(spec, params["page"]["schema"]).get("properties", {})
            key = "limit" if op.paging.cursor else "size"
            limit = props.get(key, {}).get("maximum")
        for name in ("page[size]", "per_page"):
            if name in params:
                limit = _deref(spec, params[name]["schema"]).get("maximum")
        assert op.max_page_size is not None
        if limit is not None:
            assert op.max_page_size == limit, op.name
            checked += 1
    assert checked >= 5


def test_every_report_kind_has_its_operations_and_a_schema() -> None:
    for kind in REPORT_KINDS.values():
        assert kind.csv_schema in _frames.SCHEMAS
        assert {"create", "get"} <= set(kind.verbs)
        for verb in kind.verbs:
            assert kind.op(verb).path.startswith(kind.path)
    assert set(REPORT_KINDS["billing_group"].verbs) == {"create", "get"}
    assert "delete" not in REPORT_KINDS["phone_numbers_csv"].verbs
    for op in OPERATIONS.values():
        if op.schema:
            assert op.schema in _frames.SCHEMAS, op.name


# -- translation into each endpoint's own names -----------------------------------------------


@pytest.mark.parametrize(
    ("op", "kwargs", "where", "expected"),
    [
        ("mdrs", {"start": "2024-05-01", "end": "2024-05-01", "direction": "Inbound"}, "params",
         {"start_date": "2024-05-01T00:00:00Z", "end_date": "2024-05-01T23:59:59.999999Z",
          "direction": "INBOUND"}),
        ("mdrs", {"start": "2024-05-01T10:00:00+02:00", "end": "2024-05-01T12:00",
                  "message_type": "mms", "status": "gw_reject"}, "params",
         {"start_date": "2024-05-01T08:00:00Z", "end_date": "2024-05-01T12:00:00Z",
          "message_type": "MMS", "status": "GW_REJECT"}),
        ("cdr_detail.create", {"start": dt.date(2024, 5, 1), "end": dt.date(2024, 5, 2),
                               "directions": ["inbound"], "record_types": ["complete", "errors"]},
         "json", {"start_time": "2024-05-01T00:00:00Z", "end_time": "2024-05-02T23:59:59.999999Z",
                  "call_types": [1], "record_types": [1, 3]}),
        ("mdr_detail.create", {"start": "2024-05-01", "end": "2024-05-01", "directions": "outbound",
                               "record_types": ["incomplete"], "connections": ["123", 456]},
         "json", {"start_time": "2024-05-01T00:00:00Z", "end_time": "2024-05-01T23:59:59.999999Z",
                  "directions": [2], "record_types": [2], "connections": [123, 456]}),
        ("cdr_usage_legacy.create", {"start": "2024-05-01", "end": "2024-05-01",
                                     "aggregation": "connection", "breakdown": "country"},
         "json", {"start_time": "2024-05-01T00:00:00Z", "end_time": "2024-05-01T23:59:59.999999Z",
                  "aggregation_type": 1, "product_breakdown": 2}),
        ("mdr_usage_legacy.create", {"aggregation": "tags"}, "json", {"aggregation_type": 2}),
        ("cdr_usage", {"start": "2024-05-01", "end": "2024-05-01", "aggregation": "billing_group",
                       "breakdown": "did_vs_toll_free", "connections": [7, 8]}, "params",
         {"start_date": "2024-05-01T00:00:00Z", "end_date": "2024-05-01T23:59:59.999999Z",
          "aggregation_type": "BILLING_GROUP", "product_breakdown": "DID_VS_TOLL_FREE",
          "connections": ["7", "8"]}),
        ("mdr_usage.create", {"start": "2024-05-01", "end": "2024-05-02", "aggregation": "profile",
                              "profiles": ["a", "b"]}, "json",
         {"start_date": "2024-05-01T00:00:00Z", "end_date": "2024-05-02T23:59:59.999999Z",
          "aggregation_type": "PROFILE", "profiles": "a,b"}),
        ("number_lookup_usage.create", {"start": "2024-05-01T22:00:00-05:00", "end": "2024-05-03",
                                        "aggregation": "by_organization_member"}, "json",
         {"startDate": "2024-05-02", "endDate": "2024-05-03",
          "aggregationType": "BY_ORGANIZATION_MEMBER"}),
        ("billing_group.create", {"month": 2, "year": 2024}, "json", {"month": 2, "year": 2024}),
        ("phone_numbers_csv.create", {"csv_format": "v2", "status": "active", "has_bundle": False,
                                      "connection_name": {"contains": "main"}}, "params",
         {"csv_format": "V2", "filter[status]": "active", "filter[has_bundle]": "false",
          "filter[voice.connection_name][contains]": "main"}),
        ("call_events", {"start": "2024-05-01", "leg_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                         "failed": True, "from_": "+15550001111"}, "params",
         {"filter[occurred_at][gte]": "2024-05-01T00:00:00Z",
          "filter[leg_id]": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "filter[failed]": "true",
          "filter[from]": "+15550001111"}),
        ("call_events", {"end": "2024-05-01"}, "params",
         {"filter[occurred_at][lte]": "2024-05-01T23:59:59.999999Z"}),
        ("product_usage", {"product": "messaging", "dimensions": ["direction", "currency"],
                           "metrics": ["cost"], "filter": {"direction": "inbound"}}, "params",
         {"product": "messaging", "dimensions": "direction,currency", "metrics": "cost",
          "filter[direction]": "inbound"}),
        ("session_analysis", {"record_type": "callcontrol-cdrs",
                              "event_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "max_depth": 3,
                              "include_children": False, "expand": "None"}, "params",
         {"max_depth": 3, "include_children": "false", "expand": "none"}),
        ("wdr.create", {"start": pd.Timestamp("2024-05-01 06:30", tz="Europe/Paris"),
                        "end": np.datetime64("2024-05-02T00:00:00")}, "json",
         {"start_time": "2024-05-01T04:30:00Z", "end_time": "2024-05-02T00:00:00Z"}),
    ],
)
def test_arguments_are_translated_to_each_endpoints_names(
    op: str, kwargs: dict[str, Any], where: str, expected: dict[str, Any]
) -> None:
    call = prepare(op, **kwargs)
    assert getattr(call, where) == expected
    other = call.json if where == "params" else call.params
    assert not other  # nothing leaks to the other side of the request


def test_paths_are_filled_and_csv_downloads_send_no_body() -> None:
    call = prepare("session_analysis", record_type="callcontrol-cdrs",
                   event_id="3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert call.path == "/session_analysis/callcontrol-cdrs/3fa85f64-5717-4562-b3fc-2c963f66afa6"
    assert prepare("phone_numbers_csv.create").json is None
    assert prepare("wdr.create", start="2024-01-01", end="2024-01-02").json is not None
    assert prepare("number_lookup_usage.get", report_id="abc_123").path.endswith("/abc_123")


def test_report_statuses_share_one_vocabulary() -> None:
    table = {1: "pending", 2: "complete", 3: "failed", 4: "expired", "2": "complete",
             "PENDING": "pending", "COMPLETE": "complete", "FAILED": "failed",
             "EXPIRED": "expired", "deleted": "deleted", "complete": "complete", None: "pending"}
    for raw, word in table.items():
        assert _catalog.report_status(raw) == word, raw
    assert {"complete", "failed", "expired", "deleted"} == set(_catalog.FINAL_STATUSES)


# -- the start/end vocabulary ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("2024-05-01", False, "2024-05-01 00:00:00"),
        ("2024-05-01", True, "2024-05-01 23:59:59.999999"),
        (" 2024-05-01 ", True, "2024-05-01 23:59:59.999999"),
        (dt.date(2024, 2, 29), True, "2024-02-29 23:59:59.999999"),
        (dt.date(2024, 2, 29), False, "2024-02-29 00:00:00"),
        ("2024-05-01T10:00:00", True, "2024-05-01 10:00:00"),  # a time is taken as it is
        ("2024-05-01T10:00:00Z", False, "2024-05-01 10:00:00"),
        ("2024-05-01T10:00:00-06:00", False, "2024-05-01 16:00:00"),
        ("2024-05-01 10:00:00.123456+01:00", False, "2024-05-01 09:00:00.123456"),
        (dt.datetime(2024, 5, 1, 10), False, "2024-05-01 10:00:00"),  # naive: UTC
        (dt.datetime(2024, 5, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=9))), False,
         "2024-05-01 01:00:00"),
        (pd.Timestamp("2024-05-01 10:00"), True, "2024-05-01 10:00:00"),
        (pd.Timestamp("2024-05-01 10:00", tz="America/New_York"), False, "2024-05-01 14:00:00"),
        (pd.Timestamp("2024-05-01 10:00:00.123456789", tz="UTC"), False,
         "2024-05-01 10:00:00.123456"),  # the API speaks microseconds
        (np.datetime64("2024-05-01T10:00:00"), False, "2024-05-01 10:00:00"),
    ],
)
def test_moments_become_utc_timestamps(value: Any, end: bool, expected: str) -> None:
    got = _dates.to_utc(value, "start", end=end)
    assert got == pd.Timestamp(expected, tz="UTC")
    assert str(got.tz) == "UTC"


def test_now_and_today_are_read_in_utc() -> None:
    before = pd.Timestamp.now(tz="UTC").floor("us")
    assert before <= _dates.to_utc("now", "end") <= pd.Timestamp.now(tz="UTC")
    # On a fixed clock (the last microsecond of a day in New York's evening): no race
    # with midnight, and "today" is the UTC day.
    with _dates.frozen_now(pd.Timestamp("2024-05-01 19:59:59.999999", tz="America/New_York")):
        today = _dates.to_utc("today", "start")
        assert today == pd.Timestamp("2024-05-01", tz="UTC") and today.tz is not None
        assert _dates.to_utc("today", "end", end=True) == pd.Timestamp(
            "2024-05-01 23:59:59.999999", tz="UTC")  # fmt: skip


@pytest.mark.parametrize(
    ("value", "error"),
    [(20240501, TypeError), (1.5, TypeError), (True, TypeError), (["2024-05-01"], TypeError),
     ("yesterday-ish", ValueError), ("2024-13-01", ValueError), ("", ValueError),
     (pd.NaT, ValueError)],
)
def test_bad_moments_name_the_argument(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="start"):
        _dates.to_utc(value, "start")


def test_formats_for_each_endpoint() -> None:
    ts = pd.Timestamp("2024-05-01 23:59:59.999999", tz="UTC")
    assert _dates.iso(ts) == "2024-05-01T23:59:59.999999Z"
    assert _dates.iso(ts.floor("s")) == "2024-05-01T23:59:59Z"
    assert _dates.iso_day(ts) == "2024-05-01"
    assert _dates.iso(pd.Timestamp("2024-05-01 10:00", tz="Asia/Tokyo")) == "2024-05-01T01:00:00Z"


def test_split_windows_cover_exactly_without_overlap() -> None:
    rng = random.Random(7)
    tick = pd.Timedelta(microseconds=1)
    for _ in range(200):
        start = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(seconds=rng.randrange(10**7))
        end = start + pd.Timedelta(seconds=rng.randrange(200 * 86400))
        span = pd.Timedelta(days=rng.choice([1, 7, 31]))
        pieces = _dates.split(start, end, span)
        assert pieces[0][0] == start and pieces[-1][1] == end
        for (_, b), (c, _) in itertools.pairwise(pieces):
            assert c == b + tick  # touching, never overlapping
        for a, b in pieces:
            assert a <= b and b - a < span
        assert len(pieces) == -(-((end - start) + tick) // span)


def test_window_checks_its_ends() -> None:
    lo, hi = _dates.window("2024-05-01", "2024-05-01")
    assert hi - lo == pd.Timedelta(days=1, microseconds=-1)
    with pytest.raises(ValueError, match=r"end \(.*\) is before start"):
        _dates.window("2024-05-02", "2024-05-01")
    with pytest.raises(TypeError, match="end is required"):
        _dates.window("2024-05-02", None)
    assert _dates.window(None, None, required=False) == (None, None)


# -- the answer side: data selectors and pagers, against the description ----------------------


def _answer_schema(spec: dict[str, Any], op: _catalog.Operation) -> dict[str, Any] | None:
    responses = _operation(spec, op).get("responses", {})
    ok = _deref(spec, responses.get("200") or responses.get("201") or responses.get("202"))
    if not ok or "content" not in ok:
        return None
    content = ok["content"].get("application/json") or next(iter(ok["content"].values()))
    return _deref(spec, content.get("schema"))


def test_every_data_selector_finds_the_described_shape(spec: dict[str, Any]) -> None:
    """Each row's answer selector walks the description's response schema to what the
    row says sits there (a list of objects, an object, a list of one, lists of names)."""
    checked = 0
    for op in OPERATIONS.values():
        node = _answer_schema(spec, op)
        if node is None:
            assert op.answer.empty_ok or op.method == "DELETE", op.name
            continue
        for key in [k for k in op.answer.select.split(".") if k]:
            node = _deref(spec, node["properties"][key])
        kind = node.get("type")
        shape = op.answer.shape
        if shape in ("records", "first"):
            assert kind == "array", (op.name, kind)
            assert _deref(spec, node["items"]).get("type", "object") == "object", op.name
        elif shape == "groups":
            groups = [_deref(spec, g) for g in node.get("properties", {}).values()]
            groups += [_deref(spec, node["additionalProperties"])] if (
                "additionalProperties" in node) else []
            assert kind == "object" and groups, op.name
            assert all(g["type"] == "array" for g in groups), op.name
        else:
            assert kind == "object" or "properties" in node, (op.name, kind)
            if op.answer.records:
                inner = node
                for key in op.answer.records.split("."):
                    if inner.get("additionalProperties") and not inner.get("properties"):
                        break  # free-form from here ("result" of the CDR usage report)
                    assert key in inner.get("properties", {}), (op.name, key)
                    inner = _deref(spec, inner["properties"][key])
                assert inner.get("type") == "array" or inner.get("additionalProperties"), op.name
            for key in op.answer.keep:
                assert key in node["properties"], (op.name, key)
        checked += 1
    assert checked >= 35


def test_paging_parameter_names_follow_the_description(spec: dict[str, Any]) -> None:
    """A row's pager names parameters the operation really has (``page[size]`` may be
    described as the deepObject ``page`` with a ``size`` property)."""
    checked = 0
    for op in OPERATIONS.values():
        if op.paging is None:
            continue
        params = _parameters(spec, op)
        if not {"page", "per_page"} & set(params):
            continue  # the description is silent on paging (/reports/mdrs): docs/sandbox.md
        inner = set(_deref(spec, params["page"]["schema"]).get("properties", {})) if (
            "page" in params and "page" not in (op.paging.number, op.paging.size)) else set()
        for name in filter(None, (op.paging.number, op.paging.size, op.paging.after)):
            deep = re.fullmatch(r"page\[(\w+)\]", name)
            assert name in params or (deep and deep.group(1) in inner), (op.name, name)
        checked += 1
    assert checked >= 6
    assert {op.paging.name for op in OPERATIONS.values() if op.paging} == set(_catalog.PAGERS)


# -- #12.7: the Literal types show the catalog's choices, no more and no fewer ----------------


@pytest.mark.parametrize(
    ("choices", "table"),
    [
        (_catalog.CdrAggregation, _catalog.CDR_AGGREGATIONS),
        (_catalog.CdrBreakdown, _catalog.CDR_BREAKDOWNS),
        (_catalog.MdrAggregation, _catalog.MDR_AGGREGATIONS),
        (_catalog.SessionExpand, _catalog.SESSION_EXPAND),
        (_catalog.ReportKindName, _catalog.REPORT_KINDS),
        (_pagination.Style, _catalog.PAGERS),
    ],
)
def test_each_literal_type_lists_its_catalog_table(choices: Any, table: dict) -> None:
    assert list(typing.get_args(choices)) == list(table)


def test_the_public_functions_take_the_literal_types() -> None:
    from telnyx_analytics import records, reports

    def hints(func: Any) -> dict[str, Any]:
        return typing.get_type_hints(func)

    assert hints(records.cdr_usage)["aggregation"] is _catalog.CdrAggregation
    assert hints(records.cdr_usage)["breakdown"] is _catalog.CdrBreakdown
    assert hints(records.mdr_usage)["aggregation"] is _catalog.MdrAggregation
    assert hints(records.session_analysis)["expand"] == _catalog.SessionExpand | None
    for verb in (reports.create, reports.list, reports.get, reports.delete, reports.wait,
                 reports.download, reports.read):
        assert hints(verb)["kind"] is _catalog.ReportKindName, verb.__name__


def test_the_plot_kind_literal_is_what_usage_breakdown_accepts() -> None:
    from telnyx_analytics import plot

    assert plot.usage_breakdown.__annotations__["kind"] == "UsageKind"
    assert typing.get_args(plot.UsageKind) == ("bar", "area")
    frame = pd.DataFrame({"country_code": ["US"], "parts": [1]})
    with pytest.raises(ValueError, match=r"kind='pie': use one of 'bar', 'area'"):
        plot.usage_breakdown(frame, "country_code", "parts", kind="pie")
