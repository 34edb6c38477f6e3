"""Malformed values in answers end in ``UnexpectedResponseError``, never in a wrong frame.

Each case is served by the misbehaving server (``tests/hostile.py``) and fetched through a
public function, as a user would meet it: the error names the endpoint, the column and
the record's id (or row number), and no raw ``ArrowInvalid``, pandas ``ValueError``,
``AttributeError``, ``OverflowError`` or ``RecursionError`` escapes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hostile import Answer, Seen

import telnyx_analytics as tx
from telnyx_analytics import _frames
from telnyx_analytics.sessions import SessionTree

KEY = "KEY_malformed"


def _mdr(i: int, **extra: Any) -> dict[str, Any]:
    record = {"id": f"m-{i}", "created_at": "2024-05-01T10:00:00Z", "direction": "outbound",
              "message_type": "SMS", "status": "DELIVERED", "cli": "+1555", "cld": "+1556",
              "profile_name": "P", "parts": 1, "rate": "0.0040", "cost": "0.0040",
              "currency": "USD", "record_type": "mdr_report"}
    record.update(extra)
    return record


def _page(records: list[Any]) -> Any:
    """A one-page ``/reports/mdrs`` answer holding ``records``."""
    def answer(req: Seen) -> Answer:
        size = int(req.query.get("page[size]", 20))
        meta = {"page_number": 1, "page_size": size, "total_pages": 1,
                "total_results": len(records)}
        return Answer.json({"data": records, "meta": meta})
    return answer


def _client(srv: Any) -> tx.Client:
    return tx.Client(KEY, srv.base_url, cache=False, progress=False, max_retries=0)


def _mdrs(srv: Any) -> Any:
    with _client(srv) as client:
        return tx.mdrs("2024-05-01", "2024-05-01", client=client)


MALFORMED = [
    ("cost", "12,50"),
    ("cost", "1e400"),
    ("cost", ""),
    ("cost", True),
    ("cost", float("nan")),
    ("cost", float("inf")),
    ("cost", "1234567890123"),  # 13 digits
    ("cost", 5_000_000_000),  # past the 2**32 bound
    ("cost", "0.1234567"),  # more than six decimals: refused, never rounded
    ("cost", {"amount": "1"}),
    ("rate", "NaN"),
    ("created_at", 1714557600000),  # epoch milliseconds
    ("created_at", "yesterday-ish"),
    ("created_at", "9999-12-31T00:00:00Z"),  # past what nanoseconds hold
    ("parts", 10**30),
    ("parts", "many"),
    ("parts", True),
]


@pytest.mark.parametrize(("field", "value"), MALFORMED,
                         ids=[f"{f}={v!r}"[:40] for f, v in MALFORMED])
def test_a_malformed_value_names_the_column_and_the_record(hostile, field, value) -> None:
    records = [_mdr(0), _mdr(1), _mdr(2, **{field: value}), _mdr(3)]
    srv = hostile(_page(records))
    with pytest.raises(tx.UnexpectedResponseError) as caught:
        _mdrs(srv)
    err = caught.value
    assert err.endpoint == "/reports/mdrs"
    assert err.field == field
    assert err.record == "m-2"
    assert "m-2" in str(err) and field in str(err)


def test_the_same_values_well_formed_give_the_frame(hostile) -> None:
    records = [_mdr(0), _mdr(1, cost=0.5, parts="2", created_at="2024-05-01T10:00:00+02:00")]
    df = _mdrs(hostile(_page(records)))
    assert df["cost"].tolist() == [0.004, 0.5] and df["parts"].tolist() == [1, 2]


def test_a_record_without_an_id_is_named_by_its_row(hostile) -> None:
    records = [_mdr(0), {**_mdr(1, cost="12,50"), "id": None}]
    with pytest.raises(tx.UnexpectedResponseError, match="row 2") as caught:
        _mdrs(hostile(_page(records)))
    assert caught.value.record == "row 2"


def test_a_message_detail_record_is_named_by_its_uuid(hostile) -> None:
    """Message detail records (tx.detail_records("messaging")) carry their id as ``uuid``,
    as Telnyx's SDK types them: an error names it, not a row number."""
    record = {"uuid": "83395bca-866a-4883-86e0-3492ed179c56", "cost": "12,50",
              "currency": "USD", "created_at": "2024-05-01T10:00:00Z"}
    srv = hostile(_page([record]))
    with _client(srv) as client, pytest.raises(tx.UnexpectedResponseError) as caught:
        tx.detail_records("messaging", "2024-05-01", "2024-05-01", client=client)
    assert (caught.value.field, caught.value.record) == ("cost", record["uuid"])


@pytest.mark.parametrize("depth", [400, 100_000])
def test_deeply_nested_json_is_an_error_not_a_crash(hostile, depth) -> None:
    record = json.dumps(_mdr(0))[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
    body = '{"data": [' + record + '], "meta": {"page_number": 1, "page_size": 20, ' \
           '"total_pages": 1, "total_results": 1}}'
    srv = hostile(lambda req: Answer.raw(body, "application/json"))
    try:
        df = _mdrs(srv)
    except tx.TelnyxAnalyticsError as exc:  # the answer refused, naming the endpoint
        assert "/reports/mdrs" in str(exc)
    else:  # or kept whole, as JSON text of the field
        assert json.loads(df.loc[0, "extra"]) is not None


def test_a_record_that_is_not_an_object(hostile) -> None:
    with pytest.raises(tx.UnexpectedResponseError, match="an object"):
        _mdrs(hostile(_page([_mdr(0), "m-1"])))


# -- wireless: a nested amount --------------------------------------------------------------


def _wdr(i: int, cost: Any) -> dict[str, Any]:
    return {"id": f"w-{i}", "created_at": "2024-05-01T10:00:00Z",
            "cost": cost, "rate": {"amount": "0.01", "currency": "USD"}}


@pytest.mark.parametrize("cost", [{"amount": "12,50", "currency": "USD"}, "0.25",
                                  {"amount": False, "currency": "USD"}])
def test_wireless_costs_are_checked_too(hostile, cost) -> None:
    srv = hostile(lambda req: _page([_wdr(0, {"amount": "0.1", "currency": "USD"}),
                                     _wdr(1, cost)])(req))
    with _client(srv) as client, pytest.raises(tx.UnexpectedResponseError) as caught:
        tx.wdrs("2024-05-01", "2024-05-01", client=client)
    assert caught.value.record == "w-1" and caught.value.field == "cost"


# -- session trees ---------------------------------------------------------------------------

SESSION_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def _session(**changes: Any) -> dict[str, Any]:
    root = {"id": SESSION_ID, "product": "callcontrol-cdrs", "event_name": "callcontrol-cdrs",
            "record": {"duration": 42}, "children": [],
            "cost": {"event_cost": "0.0100", "cumulative_cost": "0.0100", "currency": "USD"}}
    payload = {"session_id": SESSION_ID, "cost": {"total": "0.0100", "currency": "USD"},
               "meta": {"event_count": 1, "products": ["callcontrol-cdrs"]}, "root": root}
    for path, value in changes.items():
        node: Any = payload
        *parents, last = path.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return payload


SESSION_CASES = {
    "cost_not_an_object": {"cost": "0.01"},
    "total_malformed": {"cost__total": "0,01"},
    "total_missing": {"cost__total": None},
    "currency_a_number": {"cost__currency": 840},
    "root_a_list": {"root": []},
    "children_an_object": {"root__children": {"a": 1}},
    "child_a_string": {"root__children": ["x"]},
    "product_a_number": {"root__product": 7},
    "event_cost_bool": {"root__cost__event_cost": True},
    "record_a_string": {"root__record": "r"},
    "event_count_text": {"meta__event_count": "one"},
    "event_count_negative": {"meta__event_count": -3},
    "event_count_huge": {"meta__event_count": 10**30},
    "products_a_number": {"meta__products": 12},
    "meta_a_list": {"meta": [1, 2]},
    "id_an_object": {"root__id": {"x": 1}},
}


@pytest.mark.parametrize("changes", list(SESSION_CASES.values()), ids=list(SESSION_CASES))
def test_session_trees_of_the_wrong_shape(hostile, changes) -> None:
    body = _session(**changes)
    srv = hostile(lambda req: Answer.json(body))
    with _client(srv) as client, pytest.raises(tx.UnexpectedResponseError) as caught:
        tx.session_analysis("callcontrol-cdrs", SESSION_ID, client=client)
    assert caught.value.endpoint.startswith("/session_analysis/")


def test_a_well_formed_session_still_parses(hostile) -> None:
    srv = hostile(lambda req: Answer.json(_session()))
    with _client(srv) as client:
        tree = tx.session_analysis("callcontrol-cdrs", SESSION_ID, client=client)
    assert str(tree.total_cost) == "0.010000" and tree.nodes["event_cost"].tolist() == [0.01]


def test_huge_integers_in_a_session_record_are_kept_not_crashed() -> None:
    tree = SessionTree.from_response(_session(root__record={"n": 10**30, "m": 1}))
    assert str(tree.nodes.loc[0, "n"]) == str(10**30) and tree.nodes.loc[0, "m"] == 1


# -- report files ----------------------------------------------------------------------------

REPORT_ID = "6a09cdc3-8948-47f0-aa62-74ac943d6c58"

GOOD_CSV = (b'"billing_group_id","billing_group_name","product","cost","currency"\n'
            b'"b1","Ops","messaging","12.3400","USD"\n')
BAD_FILES = {
    "html": (b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>\n", "HTML"),
    "ragged": (GOOD_CSV + b'"b2","Ops","voice"\n', "well-formed"),
    "latin-1": (GOOD_CSV + '"b3","Opérations","voice","1.0","EUR"\n'.encode("latin-1"),
                "well-formed|UTF-8"),
    "utf-16": (GOOD_CSV.decode().encode("utf-16"), "UTF-8|none of"),
    "other columns": (b"a,b\n1,2\n", "none of"),
    "money": (GOOD_CSV + b'"b4","Ops","voice","1,5","USD"\n', "not an amount"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_report_file_that_is_not_the_csv_names_the_kind_and_id(hostile, case) -> None:
    body, reason = BAD_FILES[case]
    srv = hostile(lambda req: Answer.raw(body, "text/csv"))
    report = {"id": REPORT_ID, "status": "complete", "report_url": srv.origin + "/files/r.csv"}
    with _client(srv) as client, pytest.raises(tx.UnexpectedResponseError,
                                               match=reason) as caught:
        tx.reports.download("billing_group", report, client=client)
    assert caught.value.endpoint == f"billing_group report {REPORT_ID}"
    if case == "money":
        assert caught.value.field == "cost" and caught.value.record == "b4"


@pytest.mark.parametrize("status", [403, 500])
def test_a_report_file_answered_with_an_error_names_the_kind_and_id(hostile, status) -> None:
    srv = hostile(lambda req: Answer.raw(b"<html>no</html>", "text/html", status=status))
    report = {"id": REPORT_ID, "status": "complete", "report_url": srv.origin + "/files/r.csv"}
    with _client(srv) as client, pytest.raises(tx.APIStatusError) as caught:
        tx.reports.download("billing_group", report, client=client)
    assert caught.value.status == status and caught.value.label == (
        f"billing_group report {REPORT_ID}")
    assert str(caught.value).startswith(f"billing_group report {REPORT_ID}: {status} ")


def test_the_good_report_file_parses(hostile) -> None:
    srv = hostile(lambda req: Answer.raw(GOOD_CSV, "text/csv"))
    report = {"id": REPORT_ID, "status": "complete", "report_url": srv.origin + "/files/r.csv"}
    with _client(srv) as client:
        df = tx.reports.download("billing_group", report, client=client)
    assert df["cost"].tolist() == [12.34]


def test_csv_errors_name_the_row_without_an_id() -> None:
    data = (b'"date","user_id","type","total_dips","total_cost","currency"\n'
            b'"2024-05-01",,"CNAM","3","0.0030","USD"\n'
            b'"2024-05-02",,"LRN","4","0.0000005","USD"\n')
    with pytest.raises(tx.UnexpectedResponseError, match="never rounded") as caught:
        _frames.csv_to_frame(data, "number_lookup_usage", origin="number_lookup_usage report 9")
    assert caught.value.record == "row 2" and caught.value.field == "total_cost"
