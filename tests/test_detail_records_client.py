"""``tx.detail_records``: the Detail Record Search API as typed frames, against the sandbox.

(The sandbox's own tests of ``GET /detail_records`` are tests/sandbox/test_detail_records.py.)
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import telnyx_analytics as tx
from telnyx_analytics import _catalog, _frames, _money, lake
from telnyx_analytics._client import Client
from telnyx_analytics.sandbox import serve
from telnyx_analytics.sandbox.server import key_fingerprint

KEY = "KEY_detail_client"
TYPES = list(_catalog.DETAIL_TYPES)
DTYPES = {
    "time": _frames.TIME_DTYPE, "money": _money.MONEY, "string": _frames.STRING_DTYPE,
    "int": pd.Int64Dtype(), "float": "float64", "bool": pd.BooleanDtype(),
}  # fmt: skip


@pytest.fixture(scope="module")
def sb() -> Iterator[Any]:
    # One sandbox for the module. Whole record types are paged at full speed: no rate
    # limit (it has its own tests).
    with serve(seed=3, days=4, rate_limit=None) as server:
        yield server


@pytest.fixture(scope="module")
def client(sb: Any) -> Iterator[Client]:
    with Client(KEY, sb.base_url, cache=False, progress=False) as c:
        yield c


def _queries(sb: Any) -> list[dict[str, list[str]]]:
    mine = key_fingerprint(KEY)
    return [urllib.parse.parse_qs(r.query) for r in sb.requests
            if r.key_fingerprint == mine and r.path.endswith("/detail_records")]


# -- every type, typed -----------------------------------------------------------------------


@pytest.mark.parametrize("record_type", TYPES)
def test_every_type_comes_back_typed_and_within_its_window(
    client: Client, record_type: str
) -> None:
    kind = _catalog.DETAIL_TYPES[record_type]
    whole = tx.detail_records(record_type, "2000-01-01", "today", client=client)
    assert len(whole) > 0
    schema = _frames.SCHEMAS[kind.schema]
    assert list(whole.columns[: len(schema.names)]) == schema.names
    for column in schema.columns:
        if column.kind == "category":
            assert isinstance(whole[column.name].dtype, pd.CategoricalDtype), column.name
        else:
            assert whole[column.name].dtype == DTYPES[column.kind], column.name
    assert set(whole["record_type"].astype(str)) == {f"{record_type}_detail_record".replace(
        "-", "_")} or record_type in ("messaging", "wireless")
    # A window in the middle: only records whose own time field is inside, and all of them.
    times = whole[kind.time_field].sort_values()
    lo, hi = times.iloc[len(times) // 4], times.iloc[3 * len(times) // 4]
    part = tx.detail_records(record_type, lo, hi, client=client)
    assert part[kind.time_field].between(lo, hi).all()
    inside = whole[whole[kind.time_field].between(lo, hi)]
    assert sorted(part[kind.id_field]) == sorted(inside[kind.id_field])
    assert 0 < len(part) < len(whole)


def test_the_window_is_sent_on_the_types_own_time_field(sb: Any, client: Client) -> None:
    before = len(_queries(sb))
    tx.detail_records("call-control", "2024-05-01", "2024-05-01", client=client)
    query = _queries(sb)[before]
    assert query["filter[record_type]"] == ["call-control"]
    assert query["filter[started_at][gte]"] == ["2024-05-01T00:00:00Z"]
    assert query["filter[started_at][lte]"] == ["2024-05-01T23:59:59.999999Z"]
    assert not any("created_at" in k for k in query)


def test_a_condition_on_the_time_field_takes_the_window_vocabulary(sb: Any,
                                                                   client: Client) -> None:
    """A time condition without start/end reads dates and times as start/end do (a day
    as an upper bound is the whole day) and is sent as ISO 8601 UTC."""
    before = len(_queries(sb))
    tx.detail_records("call-control", started_at={"gte": dt.datetime(2024, 5, 1, 9),
                                                  "lte": dt.date(2024, 5, 1)}, client=client)
    query = _queries(sb)[before]
    assert query["filter[started_at][gte]"] == ["2024-05-01T09:00:00Z"]
    assert query["filter[started_at][lte]"] == ["2024-05-01T23:59:59.999999Z"]


def test_an_empty_result_has_the_types_columns(client: Client) -> None:
    df = tx.detail_records("amd", "2001-01-01", "2001-01-02", client=client)
    assert len(df) == 0
    assert list(df.columns) == _frames.SCHEMAS["detail_records.amd"].names
    assert df["cost"].dtype == _money.MONEY and df["invoked_at"].dtype == _frames.TIME_DTYPE


def test_money_is_exact_to_the_micro_unit(client: Client) -> None:
    df = tx.detail_records("wireless", "2000-01-01", "today", client=client, limit=200)
    micros, valid = _money.to_micros(df["data_cost"], "data_cost")
    assert valid.all()
    assert (micros == (df["data_cost"] * 1_000_000).round().astype("int64")).all()


# -- filters and sort ------------------------------------------------------------------------


def test_a_plain_filter_is_written_as_the_documented_example(sb: Any, client: Client) -> None:
    before = len(_queries(sb))
    df = tx.detail_records("messaging", "2000-01-01", "today", status="delivered",
                           cld={"starts_with": "+1"}, limit=60, client=client)
    assert len(df) > 0
    assert set(df["status"].astype(str)) == {"delivered"}
    assert df["cld"].str.startswith("+1").all()
    query = _queries(sb)[before]
    assert query["filter[status]"] == ["delivered"]
    assert query["filter[cld][starts_with]"] == ["+1"]


def test_operators_on_numbers_and_sort(client: Client) -> None:
    df = tx.detail_records("sip-trunking", "2000-01-01", "today", billed_sec={"gte": 60},
                           sort="-cost", limit=80, client=client)
    assert len(df) > 0
    assert (df["billed_sec"] >= 60).all()
    assert df["cost"].is_monotonic_decreasing
    ascending = tx.detail_records("verify", sort=["verification_status", "created_at"],
                                  limit=80, client=client)
    assert ascending["verification_status"].astype(str).is_monotonic_increasing


def test_date_range_passes_through(client: Client) -> None:
    df = tx.detail_records("tts", date_range="last_2_days", client=client)
    today = pd.Timestamp.now(tz="UTC").floor("D")
    assert len(df) > 0
    assert (df["created_at"] >= today - pd.Timedelta(days=2)).all()


# -- bad input: refused before any request ----------------------------------------------------


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda c: tx.detail_records("voice", client=c), ValueError,
     "record_type must be one of: ai-voice-assistant, amd, call-control"),
    (lambda c: tx.detail_records(None, client=c), ValueError, "record_type must be one of"),
    (lambda c: tx.detail_records("call-control", created_at={"gte": "2024-05-01"}, client=c),
     ValueError, "call-control records have no field 'created_at' to filter on; filter on: "
                 "date_range, sort, id, call_leg_id"),
    (lambda c: tx.detail_records("verify", cost="1", client=c), ValueError,
     "verify records have no field 'cost'"),
    (lambda c: tx.detail_records("verify", record_type="fax", client=c), TypeError,
     "multiple values"),
    (lambda c: tx.detail_records("call-control", sort="-created_at", client=c), ValueError,
     "sort must be one of 'id', 'call_leg_id'"),
    (lambda c: tx.detail_records("fax", cli={"near": "+1"}, client=c), ValueError,
     "cli keys must be among eq, gt, gte, lt, lte, starts_with, ends_with, contains"),
    (lambda c: tx.detail_records("fax", "2024-05-02", "2024-05-01", client=c), ValueError,
     "end"),
    (lambda c: tx.detail_records("fax", "not a date", client=c), ValueError, "start"),
    (lambda c: tx.detail_records("fax", page_size=51, client=c), ValueError,
     "page_size must be from 1 to 50"),
    (lambda c: tx.detail_records("fax", date_range="last_fortnight", client=c), ValueError,
     "date_range must be one of yesterday, today, tomorrow, last_week, this_week, "
     "next_week, last_month, this_month, next_month or last_N_days"),
    (lambda c: tx.detail_records("fax", date_range="last_0_days", client=c), ValueError,
     "date_range must be one of"),
    (lambda c: tx.detail_records("fax", date_range=7, client=c), TypeError,
     "date_range must be a str"),
    (lambda c: tx.detail_records("fax", "yesterday", date_range="last_3_days", client=c),
     ValueError, "give either date_range or start/end, not both"),
    (lambda c: tx.detail_records("fax", "2024-05-02", "2024-05-03",
                                 created_at={"gte": "2024-04-01T00:00:00Z"}, client=c),
     ValueError, "created_at: filter.created_at..gte. is set by the window"),
    (lambda c: tx.detail_records("fax", created_at={"gte": "05/01/2024"}, client=c),
     ValueError, "created_at.gte. must be an ISO 8601 date or time"),
    (lambda c: tx.detail_records("sip-trunking", billed_sec={"gte": "a minute"}, client=c),
     ValueError, "billed_sec.gte. must be a number, got 'a minute'"),
    (lambda c: tx.detail_records("sip-trunking", cost=float("nan"), client=c),
     ValueError, "cost.eq. must be a number"),
    (lambda c: tx.detail_records("fax", status=["delivered", "failed"], client=c),
     TypeError, "status takes one value, or a dict of operator to one value, got .'delivered'"),
], ids=["unknown-type", "type-none", "field-the-type-lacks", "cost-of-verify", "type-twice",
        "sort-on-a-missing-field", "unknown-operator", "end-before-start", "bad-date",
        "page-size", "unknown-date-range", "last-0-days", "date-range-type",
        "date-range-and-window", "time-condition-and-window", "time-condition-not-iso",
        "number-condition-not-a-number", "number-condition-nan", "condition-list"])
def test_bad_input_is_refused_before_any_request(
    sb: Any, client: Client, call: Any, error: type[Exception], words: str
) -> None:
    before = len(_queries(sb))
    with pytest.raises(error, match=words.replace("(", r"\(").replace("+", r"\+")):
        call(client)
    assert len(_queries(sb)) == before


# -- use: spend across every product, and the lake ---------------------------------------------


def test_spend_summary_over_every_product_reconciles_with_product_usage(client: Client) -> None:
    start, end = "2000-01-01", "today"
    costly = [t for t, k in _catalog.DETAIL_TYPES.items() if k.cost_field]
    frames = {t: tx.detail_records(t, start, end, client=client) for t in costly}
    spend = tx.spend_summary(frames, freq="MS")
    assert set(spend["product"].astype(str)) == set(costly)
    for record_type in costly:
        usage = tx.product_usage(record_type, ["currency"], ["cost"], "2000-01-01", "today",
                                 client=client)
        mine = spend[spend["product"] == record_type]
        ours = mine.groupby("currency", observed=True)["cost"].sum()
        theirs = usage.groupby("currency", observed=True)["cost"].sum()
        assert len(theirs) > 0, record_type
        for currency, total in theirs.items():
            got = _money.to_micros(pd.Series([ours[currency]]), "cost")[0][0]
            want = _money.to_micros(pd.Series([total]), "cost")[0][0]
            assert got == want, (record_type, currency)


def test_sync_keeps_a_detail_record_type(tmp_path: Any, client: Client) -> None:
    yesterday = pd.Timestamp.now(tz="UTC").floor("D") - pd.Timedelta(days=1)
    done = tx.sync(tmp_path, ["detail:call-control"], start=yesterday, end=yesterday,
                   client=client, progress=False)
    assert list(done["kind"]) == ["detail:call-control"] and done["rows"].sum() > 0
    back = lake.read(tmp_path, "detail:call-control")
    day = yesterday.date()
    fetched = tx.detail_records("call-control", day, day, client=client)
    assert len(back) == len(fetched) == int(done["rows"].sum())
    assert sorted(back["id"]) == sorted(fetched["id"])
    assert back["cost"].sum() == fetched["cost"].sum()
    assert back.dtypes["started_at"] == _frames.TIME_DTYPE
    again = tx.sync(tmp_path, ["detail:call-control"], start=yesterday, end=yesterday,
                    client=client, progress=False)
    assert set(again["action"]) <= {"unchanged", "skipped"}


def test_sync_names_the_detail_kinds() -> None:
    with pytest.raises(ValueError, match=r"detail:<record type> \(ai-voice-assistant"):
        tx.sync("/nonexistent-lake", ["detail:voice"])
    assert lake._kinds(None) == [lake.KINDS[k] for k in ("mdrs", "cdrs", "wdrs")]


def test_the_docs_list_each_types_columns_by_kind() -> None:
    """docs/data/detail-records.md's table of the client's columns is the schemas'."""
    page = Path(__file__).resolve().parents[1] / "docs" / "data" / "detail-records.md"
    rows = {}
    for line in page.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1:]
    assert sorted(rows) == sorted(TYPES)
    for record_type, cells in rows.items():
        columns = _frames.SCHEMAS[f"detail_records.{record_type}"].columns
        for cell, kinds in zip(cells, [("time",), ("money",), ("category",), ("int",),
                                       ("float", "bool")], strict=True):
            listed = [] if cell == "-" else [c.strip(" `") for c in cell.split(",")]
            assert listed == [c.name for c in columns if c.kind in kinds], record_type


def test_a_flag_filter_is_sent_as_true_or_false(sb: Any, client: Client) -> None:
    before = len(_queries(sb))
    df = tx.detail_records("amd", is_telnyx_billable=True, limit=5, client=client)
    assert df["is_telnyx_billable"].all()
    assert _queries(sb)[before]["filter[is_telnyx_billable]"] == ["true"]
