"""The local Parquet lake: tx.sync, tx.lake.read and the analysis on Dask (issue #14).

Every test syncs from a real sandbox over a socket; the crash test kills a real sync
process with SIGKILL. Days settle by the real clock, so the tests read which days are
settled from the sync's own answer rather than assuming the hour of the day.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import parse_qs

import duckdb
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from distributed import get_task_stream
from distributed.diagnostics.plugin import SchedulerPlugin

import telnyx_analytics as tx
from telnyx_analytics import _money, lake
from telnyx_analytics.cli import main

ROOT = Path(__file__).resolve().parent.parent
TODAY = pd.Timestamp.now(tz="UTC").floor("D")


def ago(days: int) -> str:
    return str((TODAY - pd.Timedelta(days=days)).date())


@pytest.fixture(scope="module")
def small_sandbox():
    """A small account over 10 days ending today (reports ready at once)."""
    from telnyx_analytics.sandbox import serve

    with serve(seed=5, days=10, scale=0.2, report_delay=0.05) as sb:
        yield sb


def client_of(sb, key: str = "KEY_lake_1") -> tx.Client:
    return tx.Client(key, sb.base_url, cache=False, progress=False)


@pytest.fixture(scope="module")
def synced(small_sandbox, tmp_path_factory):
    """A lake of all three kinds over the last 7 days, and the first sync's answer."""
    path = tmp_path_factory.mktemp("lake")
    done = tx.sync(path, start=ago(6), client=client_of(small_sandbox))
    return path, done


def test_round_trip_equals_the_live_fetch(small_sandbox, synced) -> None:
    path, _ = synced
    client = client_of(small_sandbox)
    live = {"mdrs": tx.mdrs, "wdrs": tx.wdrs, "cdrs": tx.cdrs}
    for kind, fetch in live.items():
        back = tx.lake.read(path, kind, ago(4), ago(2))
        assert len(back), kind
        pd.testing.assert_frame_equal(back, fetch(ago(4), ago(2), client=client), obj=kind)


def test_layout_manifest_and_money_as_micros(small_sandbox, synced) -> None:
    path, done = synced
    assert set(done["kind"]) == {"mdrs", "cdrs", "wdrs"}
    assert (done.groupby("kind").size() == 7).all()  # one row per kind and day
    assert set(done["action"]) == {"written"}
    manifest = tx.lake._load_manifest(path)
    assert manifest["account"] == client_of(small_sandbox).account  # a fingerprint, no key
    day = ago(3)
    entry = manifest["kinds"]["mdrs"][day]
    file = path / "mdrs" / f"date={day}" / "part-0.parquet"
    schema = pq.read_schema(file)
    assert "cost_micros" in schema.names and "cost" not in schema.names
    assert str(schema.field("cost_micros").type) == "int64"
    assert entry["rows"] == pq.read_metadata(file).num_rows
    assert entry["sha256"] == lake._sha256(file)
    # Readable without this package, hive-partitioned: the date column comes from the path.
    table = ds.dataset(path / "mdrs", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == int(done.loc[done["kind"] == "mdrs", "rows"].sum())


def test_pandas_dask_and_duckdb_totals_are_identical(synced) -> None:
    path, _ = synced
    frame = tx.lake.read(path, "mdrs")
    micros, _ = _money.to_micros(frame["cost"], "cost")
    by_pandas = pd.Series(micros).groupby(frame["currency"].astype(str).to_numpy()).sum()
    sql = (f"SELECT currency, SUM(cost_micros)::BIGINT AS m FROM read_parquet("
           f"'{path}/mdrs/*/*.parquet', hive_partitioning = true) GROUP BY currency")
    by_duckdb = {c: m for c, m in duckdb.sql(sql).fetchall()}
    ddf = tx.lake.read(path, "mdrs", engine="dask")
    by_dask = tx.cost_by(ddf)  # the package's exact totals, reduced by Dask
    dask_micros = dict(zip(by_dask["currency"].astype(str),
                           _money.to_micros(by_dask["cost"], "cost")[0], strict=True))
    assert by_pandas.to_dict() == by_duckdb == dask_micros
    assert sum(by_duckdb.values()) > 0


def test_rerun_requests_only_unsettled_days_and_changes_no_byte(small_sandbox, synced) -> None:
    path, done = synced
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in path.rglob("*") if p.is_file()}
    seen = len(small_sandbox.requests)
    again = tx.sync(path, start=ago(6), client=client_of(small_sandbox))
    requests = small_sandbox.requests[seen:]
    settled = done[done["settled"]]
    unsettled = done[~done["settled"]]
    skipped = again[again["action"] == "skipped"]
    pairs = {(k, d) for k, d in skipped[["kind", "date"]].itertuples(index=False)}
    assert pairs == {(k, d) for k, d in settled[["kind", "date"]].itertuples(index=False)}
    assert set(again.loc[again["action"] != "skipped", "action"]) <= {"unchanged"}
    # No request reaches back into a settled day: every MDR/WDR page asks for an
    # unsettled day only, and there is no request at all when everything has settled.
    first_open = {k: str(min(g["date"])) for k, g in unsettled.groupby("kind")}
    for r in requests:
        for kind, route in (("mdrs", "/reports/mdrs"), ("wdrs", "/reports/wdrs")):
            if r.path.endswith(route):
                start = parse_qs(r.query)["start_date"][0][:10]
                assert kind in first_open and start >= first_open[kind], (r.path, r.query)
    if unsettled.empty:
        assert requests == []
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in path.rglob("*") if p.is_file()}
    if (again["settled"].to_numpy() != done["settled"].to_numpy()).any():
        # A day crossed its settle horizon between the two syncs (the real clock): the
        # manifest rightly says so; the day files must still be untouched.
        after.pop(path / "_manifest.json")
        before.pop(path / "_manifest.json")
    assert after == before  # not one byte (nor one modification time) changed


def test_a_rerun_a_day_later_fetches_only_the_unsettled_days_and_one_more(tmp_path,
                                                                         monkeypatch) -> None:
    from telnyx_analytics.sandbox import serve

    now = pd.Timestamp.now(tz="UTC")
    then = now - pd.Timedelta(days=1)
    start = str((then.floor("D") - pd.Timedelta(days=4)).date())

    def days_asked(requests) -> dict[str, set[str]]:
        asked: dict[str, set[str]] = {"mdrs": set(), "wdrs": set()}
        for r in requests:
            for kind in asked:
                if r.path.endswith(f"/reports/{kind}"):
                    asked[kind].add(parse_qs(r.query)["start_date"][0][:10])
        return asked

    # Yesterday at this time: the account as it was then, and a lake whose clock agrees.
    monkeypatch.setattr(lake, "_now", lambda: then)
    with serve(seed=5, days=6, until=then.date(), now=then, scale=0.2) as sb:
        first = tx.sync(tmp_path, "mdrs,wdrs", start=start, client=client_of(sb))
    # A day later: the same account (same seed) started again, and the lake's real clock.
    monkeypatch.setattr(lake, "_now", lambda: now)
    with serve(seed=5, days=7, until=now.date(), now=now, scale=0.2) as sb:
        again = tx.sync(tmp_path, "mdrs,wdrs", start=start, client=client_of(sb))
        asked = days_asked(sb.requests)

    today = str(now.date())
    for kind in ("mdrs", "wdrs"):
        before = first[first["kind"] == kind]
        unsettled = {str(d) for d in before.loc[~before["settled"], "date"]}
        settled = {str(d) for d in before.loc[before["settled"], "date"]}
        assert unsettled and settled, kind  # both kinds of day are in the window
        # The unsettled days, plus the one day that is new: never a settled day.
        assert asked[kind] == unsettled | {today}, kind
        after = again[again["kind"] == kind]
        assert {str(d) for d in after.loc[after["action"] == "skipped", "date"]} == settled
        assert str(max(after["date"])) == today and len(after) == len(before) + 1
    # What was fetched a day later has settled now (all but today's and yesterday's).
    manifest = lake._load_manifest(tmp_path)["kinds"]["mdrs"]
    assert all(e["settled"] for d, e in manifest.items() if d < str(then.date()))


def test_read_opens_only_the_partitions_of_its_window(synced, tmp_path, caplog) -> None:
    path, _ = synced
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(path), str(copy)], check=True)
    inside = {ago(3), ago(2)}
    for file in (copy / "wdrs").glob("date=*/part-0.parquet"):
        if file.parent.name.removeprefix("date=") not in inside:
            file.write_bytes(b"not parquet: reading this file fails")
    with caplog.at_level(logging.DEBUG, logger="telnyx_analytics.lake"):
        window = tx.lake.read(copy, "wdrs", ago(3), ago(2))
    assert "2 day files" in caplog.text
    pd.testing.assert_frame_equal(window, tx.lake.read(path, "wdrs", ago(3), ago(2)))
    with pytest.raises(Exception, match=r"(?i)parquet|magic"):
        tx.lake.read(copy, "wdrs")  # the whole lake does open the damaged files


def test_columns_and_an_empty_window_keep_the_fetchers_dtypes(synced) -> None:
    path, _ = synced
    some = tx.lake.read(path, "cdrs", ago(3), ago(3), columns=["call_leg_id", "cost"])
    assert list(some.columns) == ["call_leg_id", "cost"]
    assert some["cost"].dtype == _money.MONEY
    none = tx.lake.read(path, "cdrs", "2001-01-01", "2001-01-02")
    full = tx.lake.read(path, "cdrs", ago(3), ago(3))
    assert len(none) == 0 and none.dtypes.astype(str).equals(full.dtypes.astype(str))
    with pytest.raises(ValueError, match="columns: no column 'price'"):
        tx.lake.read(path, "cdrs", columns=["price"])


def test_bad_arguments_are_refused_before_any_request(small_sandbox, tmp_path) -> None:
    seen = len(small_sandbox.requests)
    client = client_of(small_sandbox)
    with pytest.raises(ValueError, match="kind must be one of mdrs, cdrs, wdrs"):
        tx.sync(tmp_path, ["vdrs"], client=client)
    with pytest.raises(ValueError, match="start"):
        tx.sync(tmp_path, "mdrs", start="not a date", client=client)
    with pytest.raises(ValueError, match="engine must be 'pandas' or 'dask'"):
        tx.lake.read(tmp_path, "mdrs", engine="spark")
    with pytest.raises(ValueError, match="kind must be one of"):
        tx.lake.read(tmp_path, "calls")
    assert len(small_sandbox.requests) == seen


def test_one_account_per_lake(small_sandbox, tmp_path) -> None:
    tx.sync(tmp_path, "mdrs", start=ago(1), client=client_of(small_sandbox, "KEY_lake_1"))
    with pytest.raises(tx.lake.LakeAccountError, match="one lake holds one account") as err:
        tx.sync(tmp_path, "mdrs", start=ago(1), client=client_of(small_sandbox, "KEY_other"))
    assert "KEY_other" not in str(err.value)
    assert "KEY_other" not in (tmp_path / "_manifest.json").read_text()
    assert isinstance(err.value, tx.TelnyxAnalyticsError)


@pytest.mark.slow  # a subprocess or a cluster of worker processes
def test_a_second_sync_is_refused_while_the_first_holds_the_lock(small_sandbox,
                                                                 tmp_path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import fcntl, os, sys, time
            fd = os.open({str(tmp_path / ".lock")!r}, os.O_RDWR | os.O_CREAT)
            fcntl.flock(fd, fcntl.LOCK_EX)
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        seen = len(small_sandbox.requests)
        with pytest.raises(tx.lake.LakeLockedError, match="another sync is running"):
            tx.sync(tmp_path, "mdrs", start=ago(1), client=client_of(small_sandbox))
        assert len(small_sandbox.requests) == seen
    finally:
        holder.kill()
        holder.wait()
    # The holder died: the OS dropped its lock, and the next sync goes ahead.
    tx.sync(tmp_path, "mdrs", start=ago(1), client=client_of(small_sandbox))
    fd = os.open(tmp_path / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released after the sync, too
    finally:
        os.close(fd)


def test_a_damaged_manifest_is_a_clear_error_and_can_be_rebuilt(small_sandbox,
                                                                 tmp_path) -> None:
    client = client_of(small_sandbox)
    first = tx.sync(tmp_path, "wdrs", start=ago(3), client=client)
    (tmp_path / "_manifest.json").write_text('{"format": 1, "kinds": {"wdrs": {"2024-13')
    with pytest.raises(tx.lake.ManifestError, match=r"damaged.*rebuild_manifest"):
        tx.sync(tmp_path, "wdrs", start=ago(3), client=client)
    (tmp_path / "_manifest.json").unlink()
    with pytest.raises(tx.lake.ManifestError, match="missing"):
        tx.sync(tmp_path, "wdrs", start=ago(3), client=client)
    rebuilt = tx.lake.rebuild_manifest(tmp_path, client=client)
    assert {d: e["rows"] for d, e in rebuilt["kinds"]["wdrs"].items()} == {
        str(d): r for d, r in zip(first["date"], first["rows"], strict=True)}
    again = tx.sync(tmp_path, "wdrs", start=ago(3), client=client)
    assert set(again["action"]) == {"unchanged"}  # fetched again (not settled), same bytes
    assert again["rows"].tolist() == first["rows"].tolist()


_SYNC_SCRIPT = """
import sys
import telnyx_analytics as tx
client = tx.Client("KEY_lake_crash", sys.argv[2], cache=False, progress=False)
tx.sync(sys.argv[1], start=sys.argv[3], client=client)
"""


@pytest.mark.slow  # a subprocess or a cluster of worker processes
def test_a_sync_killed_anywhere_then_rerun_ends_with_exactly_the_rows(small_sandbox,
                                                                      tmp_path) -> None:
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    client = tx.Client("KEY_lake_crash", small_sandbox.base_url, cache=False, progress=False)
    tx.sync(reference, start=ago(5), client=client)
    argv = [sys.executable, "-c", _SYNC_SCRIPT, str(crashed), small_sandbox.base_url, ago(5)]
    began = time.monotonic()
    subprocess.run(argv, check=True, timeout=120)  # how long a whole sync takes, start-up in
    whole = time.monotonic() - began
    rng = random.Random(14)
    kills = attempts = 0
    while kills < 10 and attempts < 40:
        attempts += 1
        proc = subprocess.Popen(argv)
        time.sleep(rng.uniform(0.1, whole))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        elif proc.wait() == 0:
            shutil.rmtree(crashed)  # it finished: start over, so kills land mid-work again
        proc.wait()
    assert kills >= 10
    tx.sync(crashed, start=ago(5), client=client)
    assert not [p for p in crashed.rglob(".tmp-*")]  # no leftover temporary file
    for kind in lake.DEFAULT_KINDS:  # those a sync without kinds keeps
        pd.testing.assert_frame_equal(tx.lake.read(crashed, kind), tx.lake.read(reference, kind),
                                      obj=kind)
        # Read without this package too: exactly the rows, no temporary file read as data.
        rows = ds.dataset(crashed / kind, format="parquet", partitioning="hive").count_rows()
        assert rows == len(tx.lake.read(reference, kind))


def test_cli_sync_ends_with_a_one_line_summary(small_sandbox, tmp_path, monkeypatch,
                                               capsys) -> None:
    monkeypatch.setenv("TELNYX_API_KEY", "KEY_lake_1")
    code = main(["sync", str(tmp_path), "--kinds", "mdrs,wdrs", "--start", ago(2),
                 "--base-url", small_sandbox.base_url, "--no-progress"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(out) == 1
    assert out[0].startswith(f"synced {tmp_path}: ") and "6 kind-days" in out[0]


@pytest.mark.parametrize(("args", "says"), [
    (["--kinds", "vdrs"], "kind must be one of"),
    (["--start", "11/01/2026"], "start"),
    (["--start", ago(1), "--end", ago(3)], "before"),
    (["--into-a-file"], "is a file"),
])  # fmt: skip
def test_cli_sync_refuses_bad_arguments_before_any_request(
    sandbox_factory, tmp_path, monkeypatch, capsys, args, says
) -> None:
    sb = sandbox_factory(seed=5, days=3, scale=0.1)  # its own: its request log is this test's
    monkeypatch.setenv("TELNYX_API_KEY", "KEY_lake_1")
    path = tmp_path / "lake"
    if args == ["--into-a-file"]:
        path.write_text("not a lake")
        args = []
    assert main(["sync", str(path), *args, "--base-url", sb.base_url, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and "Traceback" not in err
    assert sb.requests == []


def test_cli_sync_failing_after_its_requests_exits_1(small_sandbox, tmp_path, monkeypatch,
                                                     capsys) -> None:
    # A ValueError once the lake's requests went out is a failure, not bad input: the
    # command line must not blame the arguments it already accepted.
    sent: list[int] = []

    def fetch_then_fail(start, end, client):
        sent.append(len(lake.KINDS["wdrs"].fetch(start, end, client)))
        raise ValueError("a WDR answer the lake cannot store")

    monkeypatch.setitem(lake.KINDS, "wdrs_broken",
                        lake.LakeKind("wdrs_broken", "wdr", "created_at", "id",
                                      pd.Timedelta(hours=24), 1, fetch_then_fail))
    monkeypatch.setenv("TELNYX_API_KEY", "KEY_lake_1")
    code = main(["sync", str(tmp_path), "--kinds", "wdrs_broken", "--start", ago(1),
                 "--base-url", small_sandbox.base_url, "--no-progress"])
    err = capsys.readouterr().err
    assert sent, "the sync sent its requests before failing"
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("telnyx-analytics: error: a WDR answer the lake cannot store")


def test_cli_sync_into_an_unwritable_place_exits_1(small_sandbox, tmp_path, monkeypatch,
                                                   capsys) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("TELNYX_API_KEY", "KEY_lake_1")
    code = main(["sync", str(tmp_path / "file" / "lake"), "--kinds", "wdrs", "--start", ago(1),
                 "--base-url", small_sandbox.base_url, "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "cannot write the lake" in err


def test_cli_reports_a_damaged_manifest_and_rebuilds_it(small_sandbox, tmp_path, monkeypatch,
                                                        capsys) -> None:
    monkeypatch.setenv("TELNYX_API_KEY", "KEY_lake_1")
    base = ["sync", str(tmp_path), "--kinds", "wdrs", "--start", ago(1), "--base-url",
            small_sandbox.base_url, "--no-progress"]
    assert main(base) == 0
    (tmp_path / "_manifest.json").write_text("{not json")
    capsys.readouterr()
    assert main(base) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and "--rebuild-manifest" in err and len(err.splitlines()) == 1
    assert main([*base, "--rebuild-manifest"]) == 0
    assert "2 kind-days (0 written, 2 unchanged, 0 skipped" in capsys.readouterr().out


# -- Dask ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        yield client


@pytest.mark.slow  # a subprocess or a cluster of worker processes
def test_analysis_on_dask_equals_pandas(synced, dask_client) -> None:
    path, _ = synced
    mdrs = tx.lake.read(path, "mdrs", engine="dask")
    cdrs = tx.lake.read(path, "cdrs", engine="dask")
    assert mdrs.npartitions == 1  # whole days, up to a million rows a partition
    local_m, local_c = tx.lake.read(path, "mdrs"), tx.lake.read(path, "cdrs")
    pd.testing.assert_frame_equal(mdrs.compute().reset_index(drop=True), local_m)

    cases = [
        (lambda df: tx.cost_by(df, "direction", freq="D"), mdrs, local_m),
        (lambda df: tx.cost_by(df, ["direction", "message_type"]), mdrs, local_m),
        (lambda df: tx.cost_by(df, freq="W", rates={"EUR": "1.1", "GBP": "1.3", "CAD": "0.7",
                                                    "AUD": "0.6"}, to="USD"), mdrs, local_m),
        (lambda df: tx.usage_breakdown(df, "terminating_country", "cost", top=3), cdrs, local_c),
        (lambda df: tx.usage_breakdown(df, "status", "count", freq="D"), cdrs, local_c),
        (lambda df: tx.usage_breakdown(df, "status", "parts", top=2), mdrs, local_m),
        (lambda df: tx.spend_anomalies(df, by="direction", threshold=0.5), mdrs, local_m),
    ]
    for i, (run, on_dask, on_pandas) in enumerate(cases):
        pd.testing.assert_frame_equal(run(on_dask), run(on_pandas), obj=f"case {i}")
    # A summary (daily totals with their counts) cut again: counts and rows add up too.
    import dask.dataframe as dd

    daily = tx.cost_by(local_m, "direction", freq="D")
    pd.testing.assert_frame_equal(tx.cost_by(dd.from_pandas(daily, npartitions=3), freq="W"),
                                  tx.cost_by(daily, freq="W"))
    pd.testing.assert_frame_equal(
        tx.spend_summary({"messaging": mdrs, "voice": cdrs}),
        tx.spend_summary({"messaging": local_m, "voice": local_c}))
    assert len(dask_client.scheduler_info()["workers"]) == 2


def test_dask_reads_only_the_columns_the_analysis_uses(synced, caplog) -> None:
    import dask

    path, _ = synced
    ddf = tx.lake.read(path, "mdrs", engine="dask")  # every column
    # The synchronous scheduler runs the reads here, where their log can be read.
    with dask.config.set(scheduler="sync"), caplog.at_level(logging.DEBUG,
                                                            logger="telnyx_analytics.lake"):
        by_day = tx.cost_by(ddf, "direction", freq="D")
        parts = tx.usage_breakdown(ddf, "message_type", "parts")
    reads = [record.args[1] for record in caplog.records
             if record.msg.startswith("lake: reading")]  # fmt: skip
    # Never the id, the numbers, the status...: only what each total uses.
    assert reads == ([["created_at", "direction", "cost_micros", "currency"]] * ddf.npartitions
                     + [["message_type", "parts", "currency"]] * ddf.npartitions)
    frame = tx.lake.read(path, "mdrs")
    pd.testing.assert_frame_equal(by_day, tx.cost_by(frame, "direction", freq="D"))
    pd.testing.assert_frame_equal(parts, tx.usage_breakdown(frame, "message_type", "parts"))


def test_a_window_within_a_day_trims_even_without_the_time_column(synced) -> None:
    path, _ = synced
    start, end = f"{ago(3)}T06:00:00Z", f"{ago(2)}T18:00:00Z"
    whole = tx.lake.read(path, "mdrs", start, end)
    assert len(whole) < len(tx.lake.read(path, "mdrs", ago(3), ago(2)))  # a real trim
    some = tx.lake.read(path, "mdrs", start, end, columns=["cost", "id"])
    pd.testing.assert_frame_equal(some, whole[["cost", "id"]])
    on_dask = tx.lake.read(path, "mdrs", start, end, columns=["cost"], engine="dask")
    pd.testing.assert_frame_equal(on_dask.compute(scheduler="sync").reset_index(drop=True),
                                  whole[["cost"]])


class ClientResults(SchedulerPlugin):
    """A scheduler plugin: the type and size of every result a client asked for.

    It sees what the scheduler hands to a client (the keys of each graph the client
    submits that it wants back), whatever Dask code asked for it.
    """

    name = "client-results"

    def __init__(self) -> None:
        self.wanted: set = set()
        self.results: list[tuple[str, int]] = []

    async def start(self, scheduler) -> None:
        self.scheduler = scheduler

    def update_graph(self, scheduler, *, keys, **kwargs) -> None:
        self.wanted |= set(keys)

    def transition(self, key, start, finish, *args, **kwargs) -> None:
        if finish == "memory" and key in self.wanted:
            task = self.scheduler.tasks[key]
            self.results.append((str(task.type), int(task.nbytes)))


@pytest.mark.slow  # a subprocess or a cluster of worker processes
def test_the_work_runs_on_the_workers_and_only_partials_reach_the_client(
        synced, dask_client, monkeypatch) -> None:  # fmt: skip
    path, _ = synced
    monkeypatch.setattr(lake, "PARTITION_ROWS", 1_000)  # several partitions of this small lake
    ddf = tx.lake.read(path, "mdrs", engine="dask")
    rows = tx.lake.read(path, "mdrs")
    assert ddf.npartitions >= 3
    rows_bytes = int(rows.memory_usage(deep=True).sum())
    workers = set(dask_client.scheduler_info()["workers"])
    assert os.getpid() not in set(dask_client.run(os.getpid).values())  # other processes

    def received(compute):
        """What ``compute()`` computed where, and the results the client was handed."""
        dask_client.register_plugin(ClientResults())
        try:
            with get_task_stream(dask_client) as stream:
                result = compute()
            got = dask_client.run_on_scheduler(
                lambda dask_scheduler: dask_scheduler.plugins[ClientResults.name].results)
        finally:
            dask_client.unregister_scheduler_plugin(ClientResults.name)
        ran = {}
        for task in stream.data:
            prefix = str(task["key"][0] if isinstance(task["key"], tuple) else task["key"])
            ran.setdefault(prefix.rsplit("-", 1)[0], []).append(task["worker"])
        return result, ran, got

    out, ran, got = received(lambda: tx.cost_by(ddf, "direction", freq="D"))
    pd.testing.assert_frame_equal(out, tx.cost_by(rows, "direction", freq="D"))
    # Every partition was read, and reduced, by a worker process: one task each.
    assert len(ran["telnyx-lake"]) == len(ran["reduce"]) == ddf.npartitions
    assert set(ran["telnyx-lake"]) | set(ran["reduce"]) <= workers
    # The client was handed the partial totals (a few rows per day, direction and
    # currency of each partition), never the rows.
    assert got and all("DataFrame" in kind for kind, _ in got)
    assert sum(size for _, size in got) * 10 < rows_bytes

    # The same recorder catches the rows coming back: ``ddf.compute()`` then a pandas
    # total would fail both checks above.
    back, ran, got = received(ddf.compute)
    assert "reduce" not in ran
    assert len(back) == len(rows) and sum(size for _, size in got) >= rows_bytes // 2


@pytest.mark.slow  # a subprocess or a cluster of worker processes
def test_engine_dask_without_dask_says_what_to_install(synced) -> None:
    path, _ = synced
    code = textwrap.dedent(f"""
        import sys
        sys.modules["dask"] = sys.modules["dask.dataframe"] = None  # as if not installed
        import telnyx_analytics as tx
        try:
            tx.lake.read({str(path)!r}, "mdrs", engine="dask")
        except ImportError as exc:
            assert isinstance(exc, tx.TelnyxAnalyticsError)
            print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert "pip install 'telnyx-analytics[dask]'" in out


def test_money_stays_exact_in_micro_units(tmp_path) -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c"],
                          "cost": _money.to_money(["0.000001", None, "123456.789012"])})
    table = lake._to_table(frame, "mdr")  # id and cost, as an MDR has them
    assert table.column("cost_micros").to_pylist() == [1, None, 123_456_789_012]
    back = lake._from_table(table)
    pd.testing.assert_frame_equal(back[["cost"]], frame[["cost"]])
    assert np.array_equal(_money.to_micros(back["cost"])[0], [1, 0, 123_456_789_012])


@pytest.mark.parametrize(("top", "error"), [("5", TypeError), (2.5, TypeError), (None, TypeError),
                                            (0, ValueError)])
def test_a_bad_top_on_dask_names_top_before_any_work(synced, top, error) -> None:
    path, _ = synced
    ddf = tx.lake.read(path, "mdrs", engine="dask")
    with pytest.raises(error, match=r"top=.*: must be a positive integer"):
        tx.usage_breakdown(ddf, "message_type", "parts", top=top)
