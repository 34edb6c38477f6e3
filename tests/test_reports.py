"""The asynchronous report lifecycle against the sandbox, over real sockets on 127.0.0.1."""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from clock import report_clock

from telnyx_analytics import _catalog, _frames, records, reports
from telnyx_analytics._client import Client
from telnyx_analytics._money import to_micros
from telnyx_analytics.errors import NotFoundError, ReportFailedError, ReportTimeoutError

KEY = "KEY_test_reports"
FAST = {"poll": 0.05}


@pytest.fixture(scope="module")
def ledger(sandbox: Any) -> Any:
    return sandbox.ledger(KEY)


@pytest.fixture(scope="module")
def day(ledger: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(ledger.start) + pd.Timedelta(days=2)
    return start, start + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


@pytest.fixture
def client(sandbox: Any, tmp_path: Path) -> Iterator[Client]:
    """A client with its own cache directory (report files are kept next to it)."""
    with Client(KEY, sandbox.base_url, cache=tmp_path / "http.sqlite", progress=False) as c:
        yield c


@pytest.fixture
def nocache(sandbox: Any) -> Iterator[Client]:
    with Client(KEY, sandbox.base_url, cache=False, progress=False) as c:
        yield c


def _totals(df: pd.DataFrame, money: str = "cost") -> dict[str, decimal.Decimal]:
    """Exact totals per currency: the frame's float64 money as integer micro-units."""
    micros = pd.Series(to_micros(df[money], money)[0], index=df.index)
    sums = micros.groupby(df["currency"].astype(str), observed=True).sum()
    return {cur: decimal.Decimal(int(v)) / 10**6 for cur, v in sums.items() if v}


def _ledger_totals(frame: pd.DataFrame) -> dict[str, decimal.Decimal]:
    sums = frame.groupby(frame["currency"].astype(str), observed=True)["cost_micro"].sum()
    return {cur: decimal.Decimal(int(v)) / 10**6 for cur, v in sums.items() if v}


def _check_typed(df: pd.DataFrame, schema: str) -> None:
    s = _frames.SCHEMAS[schema]
    for name in df.columns:
        kind = s.kind(name)
        if kind == "money":
            assert str(df[name].dtype) == "float64", name
        elif kind in ("time", "day"):
            assert str(df[name].dtype) == "datetime64[ns, UTC]", name
        elif kind == "category":
            assert df[name].dtype == "category", name


# -- every kind, reconciled with the ledger or the synchronous endpoints -----------------------


def test_cdr_report_has_the_ledgers_calls(client: Client, ledger: Any, day: Any) -> None:
    start, end = day
    df = reports.cdrs(start, end, client=client, **FAST)
    calls = ledger.calls(start, end)
    assert len(df) == len(calls) > 100
    assert set(df["call_leg_id"]) == set(calls["call_leg_id"].astype(str))
    assert _totals(df) == _ledger_totals(calls)
    assert df["billable_time"].sum() == calls["billable_sec"].sum()
    _check_typed(df, "cdr_detail")
    assert list(df.columns) == _frames.SCHEMAS["cdr_detail"].names


def test_cdr_report_reconciles_with_the_synchronous_usage(
    client: Client, nocache: Client, day: Any
) -> None:
    start, end = day
    detail = reports.read("cdr_detail", start=start, end=end, client=client, **FAST)
    usage = records.cdr_usage(start, end, client=nocache)
    assert usage["calls"].sum() == len(detail)
    assert _totals(usage) == _totals(detail)
    legacy = reports.read("cdr_usage_legacy", start=start, end=end, aggregation="connection",
                          client=client, **FAST)
    assert legacy["calls"].sum() == len(detail)
    assert _totals(legacy) == _totals(detail)


def test_mdr_report_reconciles_with_mdrs(client: Client, nocache: Client, day: Any) -> None:
    start, end = day
    detail = reports.read("mdr_detail", start=start, end=end, client=client, **FAST)
    sync = records.mdrs(start, end, client=nocache)
    assert set(detail["id"]) == set(sync["id"])
    assert _totals(detail) == _totals(sync)
    merged = detail.set_index("id")["cost"].sort_index()
    assert (merged == sync.set_index("id")["cost"].sort_index()).all()
    _check_typed(detail, "mdr_detail")


def test_messaging_usage_reports_reconcile(client: Client, nocache: Client, day: Any) -> None:
    start, end = day
    sync = records.mdr_usage(start, end, aggregation="profile", client=nocache)
    report = reports.read("mdr_usage", start=start, end=end, aggregation="profile",
                          client=client, **FAST)
    legacy = reports.read("mdr_usage_legacy", start=start, end=end, aggregation="profile",
                          client=client, **FAST)
    for df in (report, legacy):
        assert _totals(df) == _totals(sync)
        assert df["parts"].sum() == sync["parts"].sum()
    _check_typed(report, "mdr_usage")
    _check_typed(legacy, "mdr_usage_legacy")
    assert legacy["date"].dt.normalize().eq(start.normalize()).all()


def test_wdr_report_reconciles_with_wdrs(client: Client, nocache: Client, day: Any) -> None:
    start, end = day
    report = reports.read("wdr", start=start, end=end, client=client, **FAST)
    sync = records.wdrs(start, end, client=nocache)
    assert set(report["id"]) == set(sync["id"])
    assert _totals(report) == _totals(sync)
    _check_typed(report, "wdr_report")


def test_other_kinds(client: Client, ledger: Any, day: Any) -> None:
    start, end = day
    lookups = reports.read("number_lookup_usage", start=start.date(), end=end.date(),
                           client=client, **FAST)
    assert lookups["total_dips"].sum() == len(ledger.lookups(start, end))
    _check_typed(lookups, "number_lookup_usage")
    numbers = reports.read("phone_numbers_csv", csv_format="V2", client=client, **FAST)
    assert len(numbers) == len(ledger.phone_numbers)
    assert {"emergency_address_id", "usage_payment_method"} <= set(numbers.columns)
    _check_typed(numbers, "phone_numbers_csv")
    month = start.month
    billing = reports.read("billing_group", month=month, year=start.year, client=client, **FAST)
    assert len(billing) > 0
    _check_typed(billing, "billing_group")


# -- the lifecycle -------------------------------------------------------------------------------


def test_create_list_get_wait_download_delete(client: Client, sandbox: Any, day: Any) -> None:
    start, end = day
    created = reports.create("mdr_usage", start=start, end=end, aggregation="none", client=client)
    report_id = created["id"]
    assert _catalog.report_status(created["status"]) == "pending"
    listed = reports.list("mdr_usage", client=client)
    assert report_id in set(listed["id"])
    assert listed["status"].dtype == "category"
    assert set(listed["status"]) <= {"pending", "complete", "failed", "expired", "deleted"}
    assert "result" not in listed.columns
    done = reports.wait("mdr_usage", report_id, client=client, **FAST)
    assert _catalog.report_status(done["status"]) == "complete" and done["report_url"]
    assert reports.get("mdr_usage", report_id, client=client)["id"] == report_id
    df = reports.download("mdr_usage", done, client=client)
    assert len(df) > 0
    reports.delete("mdr_usage", report_id, client=client)
    with pytest.raises(NotFoundError):
        reports.get("mdr_usage", report_id, client=client)
    assert report_id not in set(reports.list("mdr_usage", client=client)["id"])


CREATE_PARAMS: dict[str, dict[str, Any]] = {
    "billing_group": {"month": 1, "year": 2024},
    "mdr_detail": {"directions": ["outbound"], "record_types": ["complete"]},
    "cdr_detail": {"directions": ["inbound"], "fields": ["call_leg_id", "cost", "currency"]},
    "mdr_usage_legacy": {"aggregation": "tags"},
    "cdr_usage_legacy": {"aggregation": "billing_group", "breakdown": "country"},
    "number_lookup_usage": {"aggregation": "by_organization_member"},
    "mdr_usage": {"aggregation": "tags"},
    "phone_numbers_csv": {"csv_format": "v1", "status": "active"},
    "wdr": {},
}


@pytest.mark.parametrize("kind", reports.KINDS)
def test_every_verb_of_every_kind(kind: str, client: Client, sandbox: Any, day: Any) -> None:
    """All 33 report operations: create, get, list and delete where the kind has them."""
    start, end = day
    params = dict(CREATE_PARAMS[kind])
    verbs = _catalog.REPORT_KINDS[kind].verbs
    if _catalog.OPERATIONS[f"{kind}.create"].window is not None:
        params.update(start=start.date(), end=end.date())
    created = reports.create(kind, client=client, **params)
    report_id = created["id"]
    assert reports.get(kind, report_id, client=client)["id"] == report_id
    if "list" in verbs:
        listed = reports.list(kind, client=client)
        assert report_id in set(listed["id"])
        assert str(listed["created_at"].dtype) == "datetime64[ns, UTC]"
    done = reports.wait(kind, report_id, client=client, **FAST)
    df = reports.download(kind, done, client=client)
    schema = _frames.SCHEMAS[_catalog.REPORT_KINDS[kind].csv_schema]
    assert set(df.columns) <= set(schema.names) | set(schema.optional)
    _check_typed(df, schema.name)
    if kind == "cdr_detail":
        assert list(df.columns) == ["call_leg_id", "cost", "currency"]  # the fields asked for
    if "delete" in verbs:
        reports.delete(kind, report_id, client=client)
        with pytest.raises(NotFoundError):
            reports.get(kind, report_id, client=client)


def test_a_second_read_costs_no_download_and_no_request(
    client: Client, sandbox: Any, day: Any
) -> None:
    start, end = day
    first = reports.read("wdr", start=start, end=end, client=client, **FAST)
    downloads, api = len(sandbox.download_requests), len(sandbox.requests)
    again = reports.read("wdr", start=start, end=end, client=client, **FAST)
    assert len(sandbox.download_requests) == downloads
    assert len(sandbox.requests) == api
    pd.testing.assert_frame_equal(first, again)
    # A different window is another report: it is requested and downloaded.
    reports.read("wdr", start=start, end=end - pd.Timedelta(hours=1), client=client, **FAST)
    assert len(sandbox.download_requests) == downloads + 1


def test_downloading_a_finished_report_again_reads_the_kept_file(
    client: Client, sandbox: Any, day: Any, tmp_path: Path
) -> None:
    start, end = day
    report = reports.create("cdr_detail", start=start, end=end, client=client)
    done = reports.wait("cdr_detail", report["id"], client=client, **FAST)
    first = reports.download("cdr_detail", done, client=client)
    downloads, api = len(sandbox.download_requests), len(sandbox.requests)
    copy = tmp_path / "out"
    copy.mkdir()
    again = reports.download("cdr_detail", report["id"], path=copy, client=client)
    # A bare id costs one look-up (the kept file is chosen by what the report asked
    # for), and no download.
    assert len(sandbox.download_requests) == downloads and len(sandbox.requests) == api + 1
    # The report as returned by wait() needs no look-up at all.
    assert_frame_equal = pd.testing.assert_frame_equal
    assert_frame_equal(first, reports.download("cdr_detail", done, client=client))
    assert len(sandbox.download_requests) == downloads and len(sandbox.requests) == api + 1
    pd.testing.assert_frame_equal(first, again)
    assert (copy / f"{report['id']}.csv").stat().st_size > 0


def test_a_damaged_kept_file_is_downloaded_again(client: Client, sandbox: Any, day: Any) -> None:
    start, end = day
    report = reports.create("wdr", start=start, end=end - pd.Timedelta(hours=2), client=client)
    done = reports.wait("wdr", report["id"], client=client, **FAST)
    first = reports.download("wdr", done, client=client)
    kept = reports._Store.of(client).file("wdr", done)
    assert kept is not None and kept.exists()
    kept.write_bytes(b'"id","cost"\n"x","not money"\n')
    downloads = len(sandbox.download_requests)
    again = reports.download("wdr", report["id"], client=client)
    assert len(sandbox.download_requests) == downloads + 1
    pd.testing.assert_frame_equal(first, again)


def test_without_a_cache_every_read_downloads(nocache: Client, sandbox: Any, day: Any,
                                              tmp_path: Path) -> None:
    start, end = day
    downloads = len(sandbox.download_requests)
    target = tmp_path / "wdr.csv"
    reports.read("wdr", start=start, end=end, path=target, client=nocache, **FAST)
    reports.read("wdr", start=start, end=end, client=nocache, **FAST)
    assert len(sandbox.download_requests) == downloads + 2
    assert target.exists() and target.read_bytes().startswith(b'"id"')


def test_downloads_never_carry_the_api_key(client: Client, sandbox: Any, day: Any) -> None:
    start, end = day
    reports.read("mdr_detail", start=start, end=end - pd.Timedelta(hours=5), client=client,
                 **FAST)
    assert sandbox.download_requests
    assert sandbox.download_authorizations == []
    assert not any(r.has_authorization for r in sandbox.download_requests)


def test_a_broken_download_is_retried(sandbox_factory: Any, tmp_path: Path) -> None:
    sb = sandbox_factory(seed=4, days=3, report_delay=0.05)
    key = "KEY_test_faults"
    with Client(key, sb.base_url, cache=False, progress=False, max_retries=8) as c:
        clean = reports.read("wdr", start="2000-01-01", end="today", client=c, **FAST)
        sb.set_download_faults({"reset": 0.4, "short": 0.4})
        before = len(sb.download_requests)
        faulty = reports.read("wdr", start="2000-01-01", end="today", client=c, **FAST)
    assert len(sb.download_requests) - before > 1  # at least one attempt failed and was retried
    pd.testing.assert_frame_equal(clean, faulty)


def test_a_failed_report_raises_with_kind_and_id(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=2, days=3, report_delay=0.05, report_failure_rate=1.0)
    with Client("KEY_test_fail", sb.base_url, cache=False, progress=False) as c:
        report = reports.create("cdr_detail", start="2000-01-01", end="today", client=c)
        with pytest.raises(ReportFailedError) as info:
            reports.wait("cdr_detail", report["id"], client=c, **FAST)
        with pytest.raises(ReportFailedError):
            reports.read("wdr", start="2000-01-01", end="today", client=c, **FAST)
    assert info.value.kind == "cdr_detail" and info.value.report_id == report["id"]
    assert info.value.status == "failed"


def test_a_slow_report_times_out_and_wait_resumes(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=2, days=3, report_delay=1.5)
    with Client("KEY_test_slow", sb.base_url, cache=False, progress=True) as c, \
            report_clock(sb) as clock:
        report = reports.create("mdr_detail", start="2000-01-01", end="today", client=c)
        # The sandbox's clock stands still: the report stays pending however long we wait.
        with pytest.raises(ReportTimeoutError) as info:
            reports.wait("mdr_detail", report["id"], timeout=0.3, client=c, **FAST)
        err = info.value
        assert (err.kind, err.report_id, err.status) == ("mdr_detail", report["id"], "pending")
        assert f"wait('mdr_detail', '{report['id']}')" in str(err)
        clock.advance(1.5)
        done = reports.wait(err.kind, err.report_id, client=c, **FAST)
        assert _catalog.report_status(done["status"]) == "complete"
        assert len(reports.download(err.kind, done, client=c)) > 0


def test_an_expired_report_says_so(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=2, days=3, report_delay=0.05, report_ttl=0.2)
    with Client("KEY_test_ttl", sb.base_url, cache=False, progress=False) as c, \
            report_clock(sb) as clock:
        report = reports.create("wdr", start="2000-01-01", end="today", client=c)
        clock.advance(0.05 + 0.2)  # complete, then past its time to live
        with pytest.raises(ReportFailedError) as info:
            reports.download("wdr", report["id"], client=c)
    assert info.value.status in ("expired", "deleted")


def test_kinds_without_an_operation_say_which(client: Client) -> None:
    with pytest.raises(ValueError, match=r"'billing_group' has no 'list'"):
        reports.list("billing_group", client=client)
    with pytest.raises(ValueError, match=r"'billing_group' has no 'delete'"):
        reports.delete("billing_group", "6a09cdc3-8948-47f0-aa62-74ac943d6c58", client=client)
    with pytest.raises(ValueError, match=r"'phone_numbers_csv' has no 'delete'"):
        reports.delete("phone_numbers_csv", "abc", client=client)
