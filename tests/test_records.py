"""The synchronous fetchers against the sandbox, over real sockets on 127.0.0.1.

Expected values come from the sandbox's ledger (its own integer micro-unit money), never
from this package: row counts and exact totals per currency must match for the window.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pandas as pd
import pytest

from telnyx_analytics import _frames, records
from telnyx_analytics._client import Client
from telnyx_analytics._money import to_micros
from telnyx_analytics.sessions import SessionTree

KEY = "KEY_test_records"


@pytest.fixture(scope="module")
def client(sandbox: Any) -> Iterator[Client]:
    with Client(KEY, sandbox.base_url, cache=False, progress=False) as c:
        yield c


@pytest.fixture(scope="module")
def ledger(sandbox: Any) -> Any:
    return sandbox.ledger(KEY)


@pytest.fixture(scope="module")
def day(ledger: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The ledger's second whole day, inclusive at both ends (microseconds)."""
    start = pd.Timestamp(ledger.start) + pd.Timedelta(days=1)
    return start, start + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


def _ledger_totals(frame: pd.DataFrame, money: str = "cost_micro") -> dict[str, decimal.Decimal]:
    sums = frame.groupby(frame["currency"].astype(str), observed=True)[money].sum()
    return {cur: decimal.Decimal(int(v)) / 10**6 for cur, v in sums.items() if v}


def _totals(df: pd.DataFrame, money: str = "cost") -> dict[str, decimal.Decimal]:
    """Exact totals per currency: the frame's float64 money as integer micro-units."""
    micros = pd.Series(to_micros(df[money], money)[0], index=df.index)
    sums = micros.groupby(df["currency"].astype(str), observed=True).sum()
    return {cur: decimal.Decimal(int(v)) / 10**6 for cur, v in sums.items() if v}


def _logged(sandbox: Any, path: str) -> list[Any]:
    return [r for r in sandbox.requests if r.path.endswith(path)]


def test_mdrs_match_the_ledger_row_for_row(client: Client, ledger: Any, day: Any) -> None:
    start, end = day
    df = records.mdrs(start, end, client=client)
    expected = ledger.messages(start, end)
    assert len(df) == len(expected) > 1000
    assert set(df["id"]) == set(expected["id"].astype(str))
    assert _totals(df) == _ledger_totals(expected)
    assert df["parts"].sum() == expected["parts"].sum()
    assert df["created_at"].between(start, end).all()
    assert str(df["created_at"].dtype) == "datetime64[ns, UTC]"


def test_mdrs_filters_and_friendly_enum_names(client: Client, ledger: Any, day: Any) -> None:
    start, end = day
    df = records.mdrs(start, end, direction="inbound", message_type="mms", client=client)
    msgs = ledger.messages(start, end)
    wanted = msgs[(msgs["direction"].astype(str) == "inbound")
                  & (msgs["message_type"].astype(str) == "MMS")]
    assert len(df) == len(wanted) > 0
    assert set(df["direction"]) == {"inbound"} and set(df["message_type"]) == {"MMS"}


def test_a_date_as_end_includes_that_whole_day(client: Client, ledger: Any, day: Any) -> None:
    start, _ = day
    whole = records.mdrs(start.date(), start.date(), client=client)
    assert len(whole) == len(ledger.messages(start, start + pd.Timedelta(days=1, microseconds=-1)))


def test_page_size_and_limit(client: Client, sandbox: Any, day: Any) -> None:
    start, end = day
    before = len(_logged(sandbox, "/reports/mdrs"))
    df = records.mdrs(start, end, page_size=7, limit=30, client=client)
    sent = _logged(sandbox, "/reports/mdrs")[before:]
    assert len(df) == 30 and df["id"].is_unique
    assert len(sent) == math.ceil(30 / 7)
    assert {parse_qs(r.query)["page[size]"][0] for r in sent} == {"7"}


def test_wdrs_match_the_ledger(client: Client, ledger: Any, day: Any) -> None:
    start, end = day
    df = records.wdrs(start, end, client=client)
    expected = ledger.wireless(start, end)
    assert len(df) == len(expected) > 50
    assert _totals(df) == _ledger_totals(expected)
    assert (df["currency"].astype(str) == df["rate_currency"].astype(str)).all()
    up = df["uplink_data"].to_numpy() * 100
    assert (abs(up - expected.set_index("id").loc[df["id"].astype(str), "uplink_cmb"].to_numpy())
            < 1e-6).all()


def test_call_events_window_is_trimmed_to_both_ends(
    client: Client, ledger: Any, day: Any
) -> None:
    start, _ = day
    end = start + pd.Timedelta(hours=3)
    df = records.call_events(start, end, client=client)
    expected = ledger.call_events(start, end)
    assert len(df) == len(expected) > 0
    assert df["event_timestamp"].between(start, end).all()
    assert set(df["call_leg_id"]) == set(expected["call_leg_id"].astype(str))
    assert "metadata.connection_id" in df.columns


def test_call_events_by_leg(client: Client, ledger: Any, day: Any) -> None:
    start, end = day
    leg = str(ledger.call_events(start, end)["call_leg_id"].iloc[0])
    df = records.call_events(leg_id=leg, client=client)
    assert len(df) > 0 and set(df["call_leg_id"]) == {leg}


def test_cdr_usage_totals_equal_the_calls(client: Client, ledger: Any, day: Any) -> None:
    start, end = day
    calls = ledger.calls(start, end)
    df = records.cdr_usage(start, end, client=client)
    assert df["calls"].sum() == len(calls)
    assert df["billed_sec"].sum() == calls["billable_sec"].sum()
    assert _totals(df) == _ledger_totals(calls)
    by_connection = records.cdr_usage(start, end, aggregation="connection", client=client)
    assert set(by_connection["connection_id"]) == set(calls["connection_id"].astype(str))
    assert _totals(by_connection) == _ledger_totals(calls)
    assert (df["start_time"] == start).all()


def test_mdr_usage_totals_equal_the_messages(client: Client, ledger: Any, day: Any) -> None:
    start, end = day
    msgs = ledger.messages(start, end)
    df = records.mdr_usage(start, end, aggregation="profile", client=client)
    assert df["parts"].sum() == msgs["parts"].sum()
    assert _totals(df) == _ledger_totals(msgs)
    assert set(df["profile_id"]) == set(msgs["profile_id"].astype(str))
    assert str(df["carrier_passthrough_fee"].dtype) == "float64"


def test_product_usage_checks_options_and_matches_the_ledger(
    client: Client, ledger: Any, day: Any
) -> None:
    start, end = day
    df = records.product_usage("messaging", ["direction", "message_type"], ["count", "cost"],
                               start, end, client=client)
    msgs = ledger.messages(start, end)
    assert list(df.columns) == ["direction", "message_type", "currency", "product", "count", "cost"]
    assert df["count"].sum() == len(msgs)
    assert _totals(df) == _ledger_totals(msgs)
    assert df["direction"].dtype == "category" and df["count"].dtype == "Int64"


def test_product_usage_splits_a_long_window_and_adds_the_pieces(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=5, days=45)
    key = "KEY_test_split"
    lg = sb.ledger(key)
    start = pd.Timestamp(lg.start)
    end = start + pd.Timedelta(days=40) - pd.Timedelta(microseconds=1)
    with Client(key, sb.base_url, cache=False, progress=False) as c:
        df = records.product_usage("wireless", ["sim_group_name"], ["sessions", "cost"],
                                   start, end, client=c)
    sessions = lg.wireless(start, end)
    assert df["sessions"].sum() == len(sessions)
    assert _totals(df) == _ledger_totals(sessions)
    assert not df.duplicated(["sim_group_name", "currency"]).any()  # pieces were added up
    queries = [parse_qs(r.query) for r in sb.requests if r.path.endswith("/usage_reports")]
    windows = {(q["start_date"][0], q["end_date"][0]) for q in queries}
    assert len(windows) == 2
    for lo, hi in windows:
        assert pd.Timestamp(hi) - pd.Timestamp(lo) <= pd.Timedelta(days=31)


def test_product_usage_options_are_tidy(client: Client) -> None:
    raw = client.get_json("/usage_reports/options")["data"]
    df = records.product_usage_options(client=client)
    assert set(df.columns) == {"product", "record_type", "kind", "name"}
    for item in raw:
        mine = df[(df["product"] == item["product"]) & df["record_type"].isna()]
        assert set(mine.loc[mine["kind"] == "metric", "name"]) == set(item["product_metrics"])
        assert set(mine.loc[mine["kind"] == "dimension", "name"]) == set(item["product_dimensions"])
    one = records.product_usage_options("wireless", client=client)
    assert set(one["product"]) == {"wireless"}


def test_cdr_report_fields(client: Client) -> None:
    raw = client.get_json("/legacy/reporting/batch_detail_records/voice/fields")
    df = records.cdr_report_fields(client=client)
    assert len(df) == sum(len(v) for v in raw.values())
    assert set(zip(df["category"], df["field"], strict=True)) == {
        (k, f) for k, fields in raw.items() for f in fields}


def test_session_metadata_and_analysis(client: Client, ledger: Any, day: Any) -> None:
    overview = records.session_metadata(client=client)
    assert "callcontrol-cdrs" in set(overview["record_type"])
    relations = records.session_metadata("callcontrol-cdrs", client=client)
    assert set(relations["relation"]) <= {"child", "parent"} and len(relations) > 0
    assert relations.attrs["raw"]["record_type"] == "callcontrol-cdrs"
    start, end = day
    leg = str(ledger.calls(start, end)["call_leg_id"].iloc[0])
    tree = records.session_analysis("callcontrol-cdrs", leg, max_depth=5, client=client)
    assert isinstance(tree, SessionTree)
    assert tree.nodes["id"].iloc[0] == leg
    assert tree.total_cost == decimal.Decimal(repr(float(tree.nodes["cumulative_cost"].iloc[0])))


@pytest.mark.parametrize(
    ("fetch", "schema"),
    [
        (lambda c: records.mdrs("1990-01-01", "1990-01-02", client=c), "mdr"),
        (lambda c: records.wdrs("1990-01-01", "1990-01-02", client=c), "wdr"),
        (lambda c: records.call_events("1990-01-01", "1990-01-02", client=c), "call_event"),
        (lambda c: records.mdr_usage("1990-01-01", "1990-01-02", client=c), "mdr_usage"),
        (lambda c: records.cdr_usage("1990-01-01", "1990-01-02", client=c), "cdr_usage"),
    ],
)
def test_empty_results_keep_the_full_schema(client: Client, fetch: Any, schema: str) -> None:
    df = fetch(client)
    assert len(df) == 0
    expected = _frames.empty_frame(schema)
    assert list(df.columns) == list(expected.columns)
    assert df.dtypes.astype(str).tolist() == expected.dtypes.astype(str).tolist()
