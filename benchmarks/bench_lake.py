"""Lake benchmark: sync throughput and memory, the rerun a day later, aggregation at scale.

Parts (``--parts``, all by default), each kept with its command in ``--results`` so that
the docs' table (docs/benchmarks.md) can gather parts measured by separate runs:

sync
    (a) records per second syncing ``--sync-days`` days of MDRs from a sandbox at
    ``--scale`` with ``--latency`` ms per answer, against the transport's floor (the same
    pages fetched with ``tx.mdrs`` and thrown away). The sync runs as of yesterday at
    this hour (sandbox ``until=``/``now=``, and the lake's clock); then (b) the sandbox is
    started again a day later with the same seed and the sync rerun: the requests per day
    in its log (the goal: at most the unsettled days plus one, never a settled day).
rss
    The peak RSS of a sync of ``--rss-days`` against ``--rss-long-days`` days at the same
    daily volume, each in a fresh process (the goal: long within 1.25 x short).
year
    The sandbox over a year: every message, call and wireless session of 365 days at
    ``--scale``, generated in a fresh process, and its peak RSS.
aggregation
    (c) A lake of ``--rows`` synthetic MDRs written straight from the sandbox's ledger (no
    HTTP; ``--lake`` keeps it for another run), then ``cost_by`` per day, message type and
    currency on a ``LocalCluster(n_workers=2, memory_limit="2GiB")``, alternating with
    DuckDB's ``GROUP BY`` on the same files in five rounds, both checked equal to a chunked
    exact reference; wall and CPU time, the client's peak RSS and the workers', and pandas
    in one process for context. ``--baseline --columns`` from a checkout of older code
    records the row to compare with.

Run (from the repository root; ``pip install -e '.[bench]'``)::

    .venv/bin/python benchmarks/bench_lake.py                          # everything, full size
    .venv/bin/python benchmarks/bench_lake.py --parts sync,rss          # the issue's sync figures
    .venv/bin/python benchmarks/bench_lake.py --parts aggregation --rows 2000000 --no-write
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from _docs import markers, write_section  # benchmarks/ is on sys.path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import telnyx_analytics as tx  # noqa: E402
from telnyx_analytics import lake  # noqa: E402
from telnyx_analytics.sandbox import serve  # noqa: E402
from telnyx_analytics.sandbox.ledger import Ledger  # noqa: E402

BEGIN, FINISH = markers("lake")
COLUMNS = ["created_at", "message_type", "cost", "currency"]
KEY = "KEY_bench_lake"


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB.

    VmHWM, not ru_maxrss: ru_maxrss survives fork and exec, so a child (a sync process, a
    Dask worker) would report its parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- synthetic lake -------------------------------------------------------------------------------


def write_synthetic_lake(path: Path, rows: int, days: int = 365, seed: int = 7) -> int:
    """Write a lake of about ``rows`` MDRs straight from the sandbox ledger, one file a day.

    The ledger's integer micro-units are the lake's ``*_micros`` columns as they are; the
    layout is the one :func:`telnyx_analytics.sync` writes. Returns the rows written.
    """
    until = dt.date(2025, 12, 31)
    # ~3,000 messages a day at scale 1, plus those sent during calls and a campaign every
    # 29 days (13 % more in all, counted over this year of this account).
    scale = rows / (days * 3_000 * 1.13)
    ledger = Ledger(seed, KEY, days=days, until=until, scale=scale)
    ledger.max_cache_bytes = 64 * 2**20  # one day at a time: memory stays flat
    written = 0
    for i in range(days):
        day = ledger.first_day + dt.timedelta(days=i)
        lo = pd.Timestamp(day, tz="UTC")
        m = ledger.messages(lo, lo + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))
        table = pa.table({
            "id": pa.array(m["id"].astype(str)),
            "created_at": pa.array(m["created_at"]),
            "direction": pa.array(m["direction"].astype(str)).dictionary_encode(),
            "message_type": pa.array(m["message_type"].astype(str)).dictionary_encode(),
            "parts": pa.array(m["parts"], pa.int64()),
            "rate_micros": pa.array(m["rate_micro"], pa.int64()),
            "cost_micros": pa.array(m["cost_micro"], pa.int64()),
            "currency": pa.array(m["currency"].astype(str)).dictionary_encode(),
        })
        target = lake.day_path(path, "mdrs", day)
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target, compression="zstd")
        written += len(m)
    return written


# -- (a) and (b): sync, and the rerun a day later -------------------------------------------------


_RSS_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[5])
import telnyx_analytics as tx
from bench_lake import peak_mb
client = tx.Client(sys.argv[2], sys.argv[3], cache=False, progress=False)
tx.sync(sys.argv[1], "mdrs", start=sys.argv[4], client=client)
print(peak_mb())
"""


def _days_requested(requests: list) -> dict[str, int]:
    """MDR page requests per day asked for (the day of each request's ``start_date``)."""
    per_day: dict[str, int] = {}
    for r in requests:
        if r.path.endswith("/reports/mdrs"):
            day = parse_qs(r.query)["start_date"][0][:10]
            per_day[day] = per_day.get(day, 0) + 1
    return per_day


def bench_sync(args: argparse.Namespace) -> dict[str, float]:
    """(a) a sync of ``--sync-days`` days against the transport floor, run as of a day ago;
    (b) the sandbox started again a day later (same seed) and the sync rerun then."""
    out: dict[str, float] = {}
    real_now = pd.Timestamp.now(tz="UTC")
    day = pd.Timedelta(days=1)
    then = real_now - day  # the first sync runs "yesterday", at this time of day
    start = str((then.floor("D") - pd.Timedelta(days=args.sync_days - 1)).date())
    with tempfile.TemporaryDirectory() as d:
        with serve(seed=3, days=args.sync_days + 1, until=then.date(), now=then,
                   scale=args.scale, latency_ms=args.latency, report_delay=0.1) as sb:
            client = tx.Client(KEY, sb.base_url, cache=False, progress=False)
            lake._now = lambda: pd.Timestamp.now(tz="UTC") - day  # the lake's clock agrees
            try:
                began = time.perf_counter()
                done = tx.sync(d, "mdrs", start=start, client=client)
                took = time.perf_counter() - began
            finally:
                lake._now = lambda: pd.Timestamp.now(tz="UTC")
            out["sync_rows"] = float(done["rows"].sum())
            out["sync_rps"] = out["sync_rows"] / took
            out["sync_requests"] = float(len(sb.requests))
            began = time.perf_counter()
            floor_rows = sum(len(tx.mdrs(day, day, client=client))
                             for day in done["date"].astype(str))  # fmt: skip
            out["floor_rps"] = floor_rows / (time.perf_counter() - began)
        unsettled = sorted(str(x) for x in done.loc[~done["settled"], "date"])
        # A day later: the same account (same seed), its ledger one day longer.
        with serve(seed=3, days=args.sync_days + 2, until=real_now.date(), now=real_now,
                   scale=args.scale, latency_ms=args.latency, report_delay=0.1) as sb:
            client = tx.Client(KEY, sb.base_url, cache=False, progress=False)
            again = tx.sync(d, "mdrs", start=start, client=client)
            per_day = _days_requested(sb.requests)
        out["rerun_requests"] = float(len(sb.requests))
        out["unsettled_days"] = float(len(unsettled))
        out["rerun_days"] = float(len(per_day))
        settled = {str(x) for x in done.loc[done["settled"], "date"]}
        out["rerun_settled_days_fetched"] = float(len(settled & set(per_day)))
        out["rerun_skipped"] = float((again["action"] == "skipped").sum())
        out["rerun_per_day"] = per_day  # type: ignore[assignment]
    return out


def bench_rss(args: argparse.Namespace) -> dict[str, float]:
    """Peak RSS of a sync of ``--rss-days`` against ``--rss-long-days``, each in a fresh
    process, at the same daily volume (``--scale``)."""
    out: dict[str, float] = {}
    today = pd.Timestamp.now(tz="UTC").floor("D")
    with serve(seed=3, days=args.rss_long_days, scale=args.scale, latency_ms=args.latency,
               report_delay=0.1) as sb:  # fmt: skip
        for name, days in (("rss_short", args.rss_days), ("rss_long", args.rss_long_days)):
            first = str((today - pd.Timedelta(days=days - 1)).date())
            with tempfile.TemporaryDirectory() as d:
                began = time.perf_counter()
                res = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, d, KEY, sb.base_url,
                                      first, str(HERE)], capture_output=True, text=True,
                                     check=True, cwd=ROOT)  # fmt: skip
                out[name] = float(res.stdout.strip().splitlines()[-1])
                out[f"{name}_s"] = time.perf_counter() - began
                out[f"{name}_rows"] = float(sum(
                    pq.read_metadata(f).num_rows for f in Path(d).glob("mdrs/*/*.parquet")))
    return out


# -- (d) the sandbox over a year -------------------------------------------------------------------


_YEAR_SCRIPT = """
import sys, time, datetime as dt
sys.path.insert(0, sys.argv[2])
import pandas as pd
from bench_lake import peak_mb
from telnyx_analytics.sandbox.ledger import Ledger
led = Ledger(1, "KEY_year", days=365, until=dt.date(2025, 12, 31), scale=float(sys.argv[1]))
t, rows = time.perf_counter(), 0
for i in range(365):
    lo = pd.Timestamp(led.first_day + dt.timedelta(days=i), tz="UTC")
    hi = lo + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    rows += len(led.messages(lo, hi)) + len(led.calls(lo, hi)) + len(led.wireless(lo, hi))
print(rows, time.perf_counter() - t, peak_mb())
"""


def sandbox_year(scale: float) -> dict[str, float]:
    """Every message, call and wireless session of a year at ``scale``, in a fresh process:
    the ledger's day cache is bounded, so the peak stays flat however long the year."""
    res = subprocess.run([sys.executable, "-c", _YEAR_SCRIPT, str(scale), str(HERE)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    rows, seconds, peak = res.stdout.split()
    return {"year_rows": float(rows), "year_s": float(seconds), "year_rss_mb": float(peak)}


# -- (c) aggregation ------------------------------------------------------------------------------


def chunked_reference(path: Path) -> dict[tuple, int]:
    """Exact totals per (day, message type, currency), one file at a time in plain Python."""
    totals: dict[tuple, int] = {}
    for file in sorted((path / "mdrs").glob("date=*/part-0.parquet")):
        day = file.parent.name.removeprefix("date=")
        t = pq.read_table(file, columns=["message_type", "currency", "cost_micros"])
        g = t.group_by(["message_type", "currency"]).aggregate([("cost_micros", "sum")])
        for mt, cur, s in zip(*(g.column(i).to_pylist() for i in range(3)), strict=True):
            totals[(day, str(mt), str(cur))] = totals.get((day, str(mt), str(cur)), 0) + s
    return totals


def bench_aggregation(path: Path, workers_limit: str, columns: bool,
                      repeat: int = 5) -> dict[str, float]:  # fmt: skip
    """Dask's ``cost_by`` against DuckDB's ``GROUP BY`` on the same files, in ``repeat``
    rounds that alternate the two (on a shared machine the load moves: both see it).

    The first round is cold (each worker imports the package and first opens the files);
    the warm figures are the medians of the other rounds, and the warm ratio the median
    of the rounds' own ratios.
    """
    import duckdb
    from dask.distributed import Client, LocalCluster

    out: dict[str, float] = {}
    reference = chunked_reference(path)
    sql = (f"SELECT CAST(date AS VARCHAR) AS d, CAST(message_type AS VARCHAR) AS t, "
           f"CAST(currency AS VARCHAR) AS c, SUM(cost_micros)::HUGEINT AS m FROM read_parquet("
           f"'{path}/mdrs/*/*.parquet', hive_partitioning = true) GROUP BY ALL")
    # The same totals with the day taken from each record's time, as cost_by takes it
    # (the query above takes it from the partition's path and never reads a timestamp).
    sql_time = (f"SELECT epoch_us(created_at::TIMESTAMPTZ) // 86400000000 AS d, "
                f"CAST(message_type AS VARCHAR) AS t, CAST(currency AS VARCHAR) AS c, "
                f"SUM(cost_micros)::HUGEINT AS m FROM read_parquet('{path}/mdrs/*/*.parquet') "
                f"GROUP BY ALL")
    duck, dask, duck_cpu, dask_cpu, duck_time = [], [], [], [], []
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=workers_limit,
                      dashboard_address=":0") as cluster, Client(cluster) as client:  # fmt: skip

        def cpu() -> float:
            """CPU seconds used so far by this process (all its threads, the scheduler's
            too) and the workers: the work done, whatever else the machine is doing."""
            return time.process_time() + sum(client.run(time.process_time).values())

        for _ in range(repeat):
            began, used = time.perf_counter(), time.process_time()
            rows = duckdb.sql(sql).fetchall()
            duck.append(time.perf_counter() - began)
            duck_cpu.append(time.process_time() - used)
            began = time.perf_counter()
            by_time = duckdb.sql(sql_time).fetchall()
            duck_time.append(time.perf_counter() - began)
            used = cpu()
            began = time.perf_counter()
            # As a user would call it: every column, and cost_by's own projection tells
            # the reads which ones to decode (--columns: name them, as older code needed).
            ddf = tx.lake.read(path, "mdrs", columns=COLUMNS if columns else None,
                               engine="dask")  # fmt: skip
            result = tx.cost_by(ddf, "message_type", freq="D")
            dask.append(time.perf_counter() - began)
            dask_cpu.append(cpu() - used)
        peaks = client.run(peak_mb)
        out["worker_rss_mb"] = max(peaks.values())
    out["duckdb_cold_s"], out["duckdb_s"] = duck[0], statistics.median(duck[1:])
    out["dask_cold_s"], out["dask_s"] = dask[0], statistics.median(dask[1:])
    out["ratio"] = statistics.median(a / b for a, b in zip(dask[1:], duck[1:], strict=True))
    out["ratio_best"] = min(a / b for a, b in zip(dask[1:], duck[1:], strict=True))
    out["duckdb_cpu_s"], out["dask_cpu_s"] = statistics.median(duck_cpu[1:]), statistics.median(
        dask_cpu[1:])
    out["duckdb_exact"] = float({(d, t, c): int(m) for d, t, c, m in rows} == reference)
    out["duckdb_time_s"] = statistics.median(duck_time[1:])
    out["duckdb_time_exact"] = float({
        (str(dt.date(1970, 1, 1) + dt.timedelta(days=d)), t, c): int(m)
        for d, t, c, m in by_time} == reference)  # fmt: skip
    got = {(str(p.date()), str(t), str(c)): int(m) for p, t, c, m in zip(
        result["period"], result["message_type"], result["currency"],
        tx._money.to_micros(result["cost"], "cost")[0], strict=True)}  # fmt: skip
    out["dask_exact"] = float(got == reference)
    out["client_rss_mb"] = peak_mb()
    out["groups"] = float(len(result))
    out["rounds"] = float(repeat)
    return out


def pandas_context(path: Path) -> dict[str, float]:
    """pandas in one process: read the whole lake and total it (peak RSS in a fresh process)."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[2])\n"
        "import telnyx_analytics as tx; from bench_lake import COLUMNS, peak_mb\n"
        "t = time.perf_counter(); df = tx.lake.read(sys.argv[1], 'mdrs', columns=COLUMNS)\n"
        "tx.cost_by(df, 'message_type', freq='D')\n"
        "print(time.perf_counter() - t, peak_mb())"
    )
    res = subprocess.run([sys.executable, "-c", code, str(path), str(HERE)],
                         capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
    seconds, peak = res.stdout.split()
    return {"pandas_s": float(seconds), "pandas_rss_mb": float(peak)}


PARTS = ("aggregation", "sync", "rss", "year")


def run_parts(args: argparse.Namespace) -> dict[str, dict]:
    """Run the parts asked for; each part's figures, with the command that measured them."""
    shown, skip = [], False
    for arg in sys.argv[1:]:  # where the figures are kept is no part of what was measured
        if not skip and arg != "--no-write" and not arg.startswith("--results"):
            shown.append(shlex.quote(arg))
        skip = arg == "--results"
    command = " ".join(["benchmarks/bench_lake.py", *shown])
    done: dict[str, dict] = {}
    if "aggregation" in args.parts:
        # First: the client's peak RSS must not include the sandbox of the sync.
        with contextlib.ExitStack() as stack:
            lake_dir = args.lake or Path(stack.enter_context(tempfile.TemporaryDirectory()))
            began = time.perf_counter()
            reused = bool(args.lake) and (lake_dir / "mdrs").is_dir()
            if reused:
                rows = sum(pq.read_metadata(f).num_rows
                           for f in (lake_dir / "mdrs").glob("date=*/part-0.parquet"))
                print(f"synthetic lake kept in {lake_dir}: {rows:,} rows", flush=True)
            else:
                # In a child process: this one's peak RSS must be the aggregation's alone.
                res = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, "
                                      "sys.argv[3]); from bench_lake import "
                                      "write_synthetic_lake; from pathlib import Path; print("
                                      "write_synthetic_lake(Path(sys.argv[1]), int(sys.argv[2])))",
                                      str(lake_dir), str(args.rows), str(HERE)],
                                     capture_output=True, text=True, check=True,
                                     cwd=ROOT)  # fmt: skip
                rows = int(res.stdout.split()[-1])
                print(f"synthetic lake: {rows:,} rows in {time.perf_counter() - began:.1f} s",
                      flush=True)
            fig = {"rows": rows, "generate_s": time.perf_counter() - began,
                   "generated": not reused, "memory_limit": args.memory_limit}
            fig |= bench_aggregation(lake_dir, args.memory_limit, args.columns)
            print(fig, flush=True)
            if args.pandas:
                fig |= pandas_context(lake_dir)
        done["baseline" if args.baseline else "aggregation"] = fig
    if "sync" in args.parts:
        done["sync"] = bench_sync(args) | {"days": args.sync_days, "scale": args.scale,
                                           "latency": args.latency}
    if "rss" in args.parts:
        done["rss"] = bench_rss(args) | {"days": args.rss_days, "long_days": args.rss_long_days,
                                         "scale": args.scale}
    if "year" in args.parts:
        done["year"] = sandbox_year(args.scale) | {"scale": args.scale}
    for name, fig in done.items():
        fig["command"] = command
        fig["measured"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(name, fig, flush=True)
    return done


def table(results: dict[str, dict]) -> str:
    """The docs' lake section: one block of rows per part that has figures."""
    lines = [
        BEGIN, "## Lake", "",
        f"Measured on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, **on a busy shared machine** (three engineers' jobs "
        f"and their test suites were running at the same time): ratios measured in one run "
        f"are meaningful, absolute times are not. Each part was measured by the command "
        f"under the table.", "",
        "| measure | figure |", "|---|---|",
    ]
    commands: list[str] = []

    def cite(part: dict) -> str:
        if part["command"] not in commands:
            commands.append(part["command"])
        return f"[{commands.index(part['command']) + 1}]"

    if s := results.get("sync"):
        lines += [
            f"| sync, MDRs over {s['days']} days at scale {s['scale']:g}, {s['latency']:g} ms "
            f"latency {cite(s)} | {s['sync_rps']:,.0f} records/s ({s['sync_rows']:,.0f} "
            f"records, {s['sync_requests']:,.0f} requests) |",
            f"| transport floor (the same days fetched, nothing written) {cite(s)} | "
            f"{s['floor_rps']:,.0f} records/s (sync at {s['sync_rps'] / s['floor_rps']:.2f} x "
            f"the floor) |",
            f"| rerun **a day later** (sandbox started again with the same seed, one day on) "
            f"{cite(s)} | {s['rerun_requests']:.0f} requests over {s['rerun_days']:.0f} day(s); "
            f"{s['unsettled_days']:.0f} day(s) were unsettled (goal: at most "
            f"{s['unsettled_days'] + 1:.0f} days); settled days fetched: "
            f"{s['rerun_settled_days_fetched']:.0f}; {s['rerun_skipped']:.0f} days skipped; "
            f"requests per day: "
            f"{', '.join(f'{d} {n}' for d, n in sorted(s['rerun_per_day'].items()))} |",
        ]
    if r := results.get("rss"):
        lines.append(
            f"| peak RSS, sync of {r['days']} days / {r['long_days']} days at scale "
            f"{r['scale']:g} {cite(r)} | {r['rss_short']:,.0f} MB / {r['rss_long']:,.0f} MB "
            f"({r['rss_long'] / r['rss_short']:.2f} x; goal <= 1.25 x); "
            f"{r['rss_short_rows']:,.0f} / {r['rss_long_rows']:,.0f} records in "
            f"{r['rss_short_s']:,.0f} s / {r['rss_long_s']:,.0f} s |")
    if y := results.get("year"):
        lines.append(
            f"| sandbox ledger, a year at scale {y['scale']:g} (messages, calls, wireless) "
            f"{cite(y)} | {y['year_rows']:,.0f} records in {y['year_s']:.0f} s, peak RSS "
            f"{y['year_rss_mb']:,.0f} MB (the day cache is bounded at 768 MB) |")
    if a := results.get("aggregation"):
        lines += [
            f"| synthetic lake written from the ledger {cite(a)} | {a['rows']:,} rows"
            + (f" in {a['generate_s']:.1f} s |" if a.get("generated", True)
               else " (written by an earlier run) |"),
            f"| `cost_by` per day, message type, currency on Dask (2 workers, "
            f"{a['memory_limit']} each; `tx.lake.read` included) {cite(a)} | "
            f"{a['dask_s']:.2f} s warm (median of the calls after the first), "
            f"{a['dask_cold_s']:.2f} s the first call; exact: "
            f"{'yes' if a['dask_exact'] else 'NO'} ({a['groups']:,.0f} groups) |",
            f"| DuckDB `GROUP BY` on the same files {cite(a)} | {a['duckdb_s']:.2f} s warm, "
            f"{a['duckdb_cold_s']:.2f} s the first call; exact: "
            f"{'yes' if a['duckdb_exact'] else 'NO'} |",
            f"| **Dask / DuckDB** (goal <= 4 x) {cite(a)} | "
            f"**{a['ratio']:.1f} x** warm (median of {a['rounds'] - 1:.0f} alternating "
            f"rounds; best {a['ratio_best']:.1f} x), "
            f"{a['dask_cold_s'] / a['duckdb_cold_s']:.1f} x first calls |",
            f"| DuckDB with the day from each record's `created_at` (as `cost_by` takes it; "
            f"the query above takes it from the path) {cite(a)} | {a['duckdb_time_s']:.2f} s "
            f"warm; exact: {'yes' if a['duckdb_time_exact'] else 'NO'}; Dask / this: "
            f"**{a['dask_s'] / a['duckdb_time_s']:.1f} x** |",
            f"| CPU time of one warm call, all processes (Dask: client, scheduler and both "
            f"workers) {cite(a)} | Dask {a['dask_cpu_s']:.2f} s / DuckDB "
            f"{a['duckdb_cpu_s']:.2f} s = **{a['dask_cpu_s'] / a['duckdb_cpu_s']:.1f} x** |",
        ]
        if b := results.get("baseline"):
            lines.append(
                f"| the same before this change (`main` before the column projection, "
                f"columns named) {cite(b)} | Dask {b['dask_s']:.2f} s / DuckDB "
                f"{b['duckdb_s']:.2f} s, **{b['ratio']:.1f} x** warm (best "
                f"{b['ratio_best']:.1f} x); CPU {b['dask_cpu_s'] / b['duckdb_cpu_s']:.1f} x; "
                f"{b['dask_cold_s'] / b['duckdb_cold_s']:.1f} x first calls |")
        lines += [
            f"| peak RSS: client process / largest worker {cite(a)} | "
            f"{a['client_rss_mb']:,.0f} MB / {a['worker_rss_mb']:,.0f} MB |",
        ]
        if "pandas_s" in a:
            lines.append(f"| pandas in one process (context) {cite(a)} | {a['pandas_s']:.2f} s, "
                         f"peak RSS {a['pandas_rss_mb']:,.0f} MB |")
    lines.append("")
    for i, command in enumerate(commands, 1):
        when = {p["measured"][:10] for p in results.values() if p["command"] == command}
        lines.append(f"{i}. `{command}` ({', '.join(sorted(when))})")
    lines += ["", FINISH, ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default=",".join(PARTS),
                    help=f"which parts to measure, comma-separated (of {', '.join(PARTS)})")
    ap.add_argument("--rows", type=int, default=100_000_000, help="rows of the synthetic lake")
    ap.add_argument("--sync-days", type=int, default=90)
    ap.add_argument("--scale", type=float, default=10.0)
    ap.add_argument("--latency", type=float, default=50.0, help="ms per sandbox answer")
    ap.add_argument("--rss-days", type=int, default=30)
    ap.add_argument("--rss-long-days", type=int, default=365)
    ap.add_argument("--memory-limit", default="2GiB", help="per Dask worker")
    ap.add_argument("--lake", type=Path, help="keep the synthetic lake in this directory "
                    "(written if it has none yet, reused if it has): two runs on the same files")
    ap.add_argument("--baseline", action="store_true",
                    help="keep the aggregation's figures as the baseline (older code) row")
    ap.add_argument("--columns", action="store_true",
                    help="name the columns in tx.lake.read (code without column projection "
                         "needed that); default: every column, cost_by projects")
    ap.add_argument("--pandas", action=argparse.BooleanOptionalAction, default=True,
                    help="also total the lake with pandas in one process (needs the memory)")
    ap.add_argument("--results", type=Path,
                    default=Path(tempfile.gettempdir()) / "bench_lake.json",
                    help="figures kept across runs: each run replaces the parts it measured, "
                         "and the docs' table shows every part kept")
    ap.add_argument("--no-write", action="store_true", help="print only; leave the docs alone")
    args = ap.parse_args()
    args.parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if unknown := args.parts - set(PARTS):
        ap.error(f"--parts: unknown {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")

    done = run_parts(args)
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    results |= done
    args.results.write_text(json.dumps(results, indent=1))
    section = table(results)
    print(section)
    if not args.no_write:
        write_section("lake", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
