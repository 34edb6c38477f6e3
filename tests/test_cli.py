"""``telnyx-analytics export`` and ``cache`` (and the demo's argument checks).

Most cases run ``main([...])`` in this process against the sandbox over real sockets on
127.0.0.1; one case per command family runs the real ``python -m telnyx_analytics.cli``.
Every export passes the sandbox's URL, so nothing can reach the real API, and every test
gets its own ``TELNYX_ANALYTICS_CACHE``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import telnyx_analytics as tx
from telnyx_analytics._money import is_money_name, to_micros
from telnyx_analytics.cli import main

ROOT = Path(__file__).resolve().parents[1]
MAY = ["--start", "2024-05-01", "--end", "2024-05-02"]
PRODUCT_USAGE = ["product_usage", "--product", "messaging", "--dimensions", "date,country_code",
                 "--metrics", "count,cost"]  # fmt: skip


# Every test: a cache of its own, the sandbox's key, no base URL from outside (conftest).
pytestmark = pytest.mark.usefixtures("cli_environment")


@pytest.fixture(scope="module")
def window(sandbox: Any, sandbox_key: str) -> tuple[str, str]:
    """Two whole days of the shared sandbox's account."""
    last = sandbox.ledger(sandbox_key).last_day
    return str(last - pd.Timedelta(days=2)), str(last - pd.Timedelta(days=1))


def _client(sandbox: Any, key: str) -> tx.Client:
    return tx.Client(key, sandbox.base_url, cache=False, progress=False)


def _one_error_line(err: str) -> str:
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert err.startswith("telnyx-analytics")
    return err.strip()


# -- export: the files hold what the fetchers return ---------------------------------------


def _read_parquet_like(path: Path, expected: pd.DataFrame) -> pd.DataFrame:
    """The file as a plain ``pd.read_parquet`` reads it: no column is converted.

    On pandas 2 the file is read as docs/frames.md says: with pandas 3's string inference
    on, without which strings come back as ``string[python]`` or ``object``. Money
    (float64), strings, categories (and their values' dtype), Int64 and UTC timestamps
    must come back as written.
    """
    if int(pd.__version__.split(".")[0]) < 3:
        with pd.option_context("future.infer_string", True):
            got = pd.read_parquet(path)
        # The option makes the column labels strings of that dtype too, where the frames'
        # labels are object on pandas 2: the labels' dtype only, not the data.
        got.columns = got.columns.astype(expected.columns.dtype)
    else:
        got = pd.read_parquet(path)
    return got


@pytest.mark.parametrize(
    ("argv", "fetch"),
    [
        (["mdrs"], lambda c, s, e: tx.mdrs(s, e, client=c)),
        (["wdrs"], lambda c, s, e: tx.wdrs(s, e, client=c)),
        (["cdrs"], lambda c, s, e: tx.cdrs(s, e, client=c)),
        (["mdr_detail"], lambda c, s, e: tx.reports.read("mdr_detail", start=s, end=e, client=c)),
        (
            ["cdr_usage", "--filter", "aggregation=connection"],
            lambda c, s, e: tx.cdr_usage(s, e, aggregation="connection", client=c),
        ),
        (
            PRODUCT_USAGE,
            lambda c, s, e: tx.product_usage(
                "messaging", ["date", "country_code"], ["count", "cost"], s, e, client=c
            ),
        ),
    ],
    ids=["mdrs", "wdrs", "cdrs", "mdr_detail", "cdr_usage", "product_usage"],
)
def test_export_to_parquet_keeps_the_frame_and_its_dtypes(
    sandbox: Any,
    sandbox_key: str,
    window: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    fetch: Any,
) -> None:
    start, end = window
    out = tmp_path / "out" / "export.parquet"
    base = ["--base-url", sandbox.base_url]
    code = main(["export", *argv, "--start", start, "--end", end, "--out", str(out), *base])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    with _client(sandbox, sandbox_key) as client:
        expected = fetch(client, start, end)
    assert len(expected) > 0
    assert f"{len(expected):,} rows" in printed.out and str(out) in printed.out

    schema = pq.read_schema(out)
    money = [n for n in schema.names if is_money_name(n) and not n.endswith("_currency")]
    assert "cost" in money
    assert all(schema.field(n).type == pa.float64() for n in money)
    got = _read_parquet_like(out, expected)
    # Same rows, columns, values and dtypes (categories, Int64, UTC timestamps included).
    pd.testing.assert_frame_equal(got, expected)
    assert not list(out.parent.glob(".*.tmp"))  # written through a temporary file


def test_export_to_csv_holds_the_same_records_exactly(
    sandbox: Any, sandbox_key: str, window: tuple[str, str], tmp_path: Path
) -> None:
    start, end = window
    out = tmp_path / "calls.csv"
    assert main(["export", "cdrs", "--start", start, "--end", end, "--out", str(out),
                 "--base-url", sandbox.base_url]) == 0  # fmt: skip
    with _client(sandbox, sandbox_key) as client:
        expected = tx.cdrs(start, end, client=client)
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(got.columns) == list(expected.columns)
    assert got["call_leg_id"].tolist() == expected["call_leg_id"].astype(str).tolist()
    # Money is written as exact decimals: read back, it is the same amount to the micro-unit.
    cost = tx.analysis.to_money(got["cost"])
    assert cost.tolist() == expected["cost"].tolist()
    assert to_micros(cost)[0].sum() == to_micros(expected["cost"])[0].sum()
    times = pd.to_datetime(got["start_timestamp_utc"], utc=True, format="ISO8601")
    assert (times.to_numpy() == expected["start_timestamp_utc"].to_numpy()).all()


def test_export_kinds_without_a_window(
    sandbox: Any, sandbox_key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "numbers.csv"
    assert main(["export", "phone_numbers_csv", "--out", str(out),
                 "--base-url", sandbox.base_url]) == 0  # fmt: skip
    numbers = pd.read_csv(out, dtype=str)
    with _client(sandbox, sandbox_key) as client:
        expected = tx.reports.read("phone_numbers_csv", client=client)
    assert sorted(numbers["phone_number"]) == sorted(expected["phone_number"].astype(str))

    # A billing-group report covers the month of --start.
    ledger = sandbox.ledger(sandbox_key)
    out = tmp_path / "groups.parquet"
    assert main(["export", "billing_group", "--start", str(ledger.last_day), "--out", str(out),
                 "--base-url", sandbox.base_url]) == 0  # fmt: skip
    groups = pd.read_parquet(out)
    with _client(sandbox, sandbox_key) as client:
        expected = tx.reports.read(
            "billing_group", month=ledger.last_day.month, year=ledger.last_day.year, client=client
        )
    assert len(groups) == len(expected) > 0
    assert to_micros(groups["cost"])[0].sum() == to_micros(expected["cost"])[0].sum()
    assert groups["cost"].dtype == "float64"  # a plain read_parquet: money as written
    assert capsys.readouterr().err == ""


def test_export_filters_and_limit_reach_the_fetcher(
    sandbox: Any, window: tuple[str, str], tmp_path: Path
) -> None:
    start, end = window
    out = tmp_path / "inbound.csv"
    assert main(["export", "mdrs", "--start", start, "--end", end, "--out", str(out),
                 "--filter", "direction=inbound", "--limit", "7",
                 "--base-url", sandbox.base_url]) == 0  # fmt: skip
    got = pd.read_csv(out, dtype=str)
    assert len(got) == 7
    assert set(got["direction"]) == {"inbound"}


def test_export_progress_bar_on_request(
    sandbox: Any, window: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start, end = window
    base = ["export", "wdrs", "--start", start, "--end", end, "--base-url", sandbox.base_url]
    assert main([*base, "--out", str(tmp_path / "a.csv"), "--progress", "--no-cache"]) == 0
    assert "wdrs" in capsys.readouterr().err  # the bar is labelled with the operation
    assert main([*base, "--out", str(tmp_path / "b.csv"), "--no-progress", "--no-cache"]) == 0
    assert capsys.readouterr().err == ""


# -- export: errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["nope", *MAY], "nope"),
        (["mdrs", "--start", "2024-13-01", "--end", "2024-05-02"], "2024-13-01"),
        (["mdrs", "--start", "2024-05-01", "--end", "last week"], "last week"),
        (["mdrs", "--start", "2024-05-03", "--end", "2024-05-02"], "before start"),
        (["mdrs", *MAY, "--out", "x.xlsx"], ".parquet"),
        (["mdrs", "--start", "2024-05-01"], "--end"),
        (["wdrs"], "--start and --end"),
        (["mdrs", *MAY, "--filter", "bogus=1"], "bogus"),
        (["mdrs", *MAY, "--filter", "nothing"], "NAME"),
        (
            ["mdrs", *MAY, "--filter", "direction=up"],
            "direction",
        ),
        (["cdrs", *MAY, "--limit", "3"], "--limit"),
        (["product_usage", *MAY], "--product"),
        (["wdrs", *MAY, "--metrics", "cost"], "--metrics applies only to product_usage"),
        (["wdrs", *MAY, "--product", "x", "--metrics", "cost"], "--product and --metrics apply"),
        (["billing_group", "--start", "2024-05-01", "--end", "2024-05-31"], "--end"),
        (["billing_group"], "--start"),
    ],
)
def test_usage_errors_exit_2_with_one_line_before_any_request(
    sandbox_factory: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    named: str,
) -> None:
    sb = sandbox_factory(seed=3, days=2)
    out = [] if "--out" in argv else ["--out", str(tmp_path / "x.csv")]
    assert main(["export", *argv, *out, "--base-url", sb.base_url]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert named in _one_error_line(printed.err)
    assert sb.requests == []  # refused before anything was sent
    assert not (tmp_path / "x.csv").exists()


def test_missing_key_exits_1_naming_the_variable(
    sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("TELNYX_API_KEY")
    argv = ["export", "mdrs", *MAY,
            "--out", str(tmp_path / "x.csv"), "--base-url", sandbox.base_url]  # fmt: skip
    assert main(argv) == 1
    printed = capsys.readouterr()
    assert printed.out == ""
    assert "TELNYX_API_KEY" in _one_error_line(printed.err)

    monkeypatch.setenv("TELNYX_API_KEY", "KEY_not_this_one")
    assert main([*argv, "--api-key-env", "MY_TELNYX_KEY"]) == 1
    assert "MY_TELNYX_KEY" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "x.csv").exists()


def test_a_refused_key_exits_1_with_one_line_and_no_key(
    sandbox_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sb = sandbox_factory(seed=4, days=2, keys="KEY_the_right_one")
    monkeypatch.setenv("TELNYX_API_KEY", "KEY_a_wrong_one_1234")
    out = tmp_path / "x.parquet"
    argv = ["export", "mdrs", "--start", "2000-01-01", "--end", "today", "--out", str(out),
            "--base-url", sb.base_url]  # fmt: skip
    assert main(argv) == 1
    printed = capsys.readouterr()
    line = _one_error_line(printed.err)
    assert "401" in line
    assert "KEY_a_wrong_one_1234" not in printed.err + printed.out
    assert not out.exists()
    assert [r.status for r in sb.requests] == [401]  # an auth error is not retried

    # The same command with the right key works.
    monkeypatch.setenv("TELNYX_API_KEY", "KEY_the_right_one")
    assert main(argv) == 0
    assert len(pd.read_parquet(out)) > 0


# -- cache ----------------------------------------------------------------------------------


def _info(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert main(["cache", "info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    return dict(line.split(": ", 1) for line in lines)


def test_cache_info_and_clear(
    sandbox: Any,
    window: tuple[str, str],
    cli_environment: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cache = cli_environment
    monkeypatch.delenv("TELNYX_API_KEY")  # cache commands need no key
    info = _info(capsys)
    assert info["path"] == str(cache)
    assert info["entries"] == "0"
    assert not cache.exists()  # looking does not create it
    assert main(["cache", "clear"]) == 0
    assert "nothing to clear" in capsys.readouterr().out

    monkeypatch.setenv("TELNYX_API_KEY", "KEY_cache_test")
    start, end = window
    assert main(["export", "wdrs", "--start", start, "--end", end, "--out",
                 str(tmp_path / "w.csv"), "--base-url", sandbox.base_url]) == 0  # fmt: skip
    # A report's CSV is kept beside the cache file, in a folder named after it.
    assert main(["export", "cdrs", "--start", start, "--end", end, "--out",
                 str(tmp_path / "c.csv"), "--base-url", sandbox.base_url]) == 0  # fmt: skip
    capsys.readouterr()
    monkeypatch.delenv("TELNYX_API_KEY")
    info = _info(capsys)
    with tx.Client("KEY_cache_test", sandbox.base_url, cache=cache) as client:
        stored = client.cache_info()
    assert int(info["entries"].replace(",", "")) == stored["responses"] > 0
    assert info["size"].endswith(f"({stored['size_bytes']:,} bytes)")
    kept = cache.with_name(cache.stem + "-reports")
    assert len(list(kept.rglob("*.csv"))) == 1
    assert info["report files"].startswith("1 (")

    assert main(["cache", "clear"]) == 0
    printed = capsys.readouterr().out
    assert f"cleared {stored['responses']:,} entries" in printed
    assert "removed 1 kept report files" in printed and not kept.exists()
    assert _info(capsys)["entries"] == "0"
    with tx.Client("KEY_cache_test", sandbox.base_url, cache=cache) as client:
        assert client.cache_info()["responses"] == 0


def test_cache_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache"]) == 2
    assert "ACTION" in _one_error_line(capsys.readouterr().err)


# -- help, and the demo's own checks --------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        ([], ["demo", "sandbox", "export", "cache"]),
        (["demo"], ["--out"]),
        (["export"], ["--start", "--end", "--out", "--base-url", "mdrs", "call_events", "wdr",
                      "--force", "--raw-csv", "last_month"]),
        (["sync"], ["--kinds", "detail:<record type>", "--start"]),
        (["cache"], ["info", "clear"]),
        (["cache", "info"], ["usage"]),
        (["cache", "clear"], ["usage"]),
    ],
)
def test_every_command_has_help(
    capsys: pytest.CaptureFixture[str], argv: list[str], shown: list[str]
) -> None:
    assert main([*argv, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: telnyx-analytics {' '.join(argv)}".rstrip())
    for word in shown:
        assert word in out


def test_export_lists_every_kind_once_in_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--help"]) == 0
    out = capsys.readouterr().out
    listed = re.findall(r"^  ([a-z_]+)\s", out, re.MULTILINE)
    assert len(listed) == len(set(listed))
    # Every fetcher with a window, and every report kind: voice records under their one
    # name, cdrs (the cdr_detail report); mdr_usage once, fetched synchronously.
    expected = {"mdrs", "wdrs", "cdrs", "call_events", "cdr_usage", "mdr_usage", "product_usage",
                *tx.reports.KINDS} - {"cdr_detail"}  # fmt: skip
    assert set(listed) == expected
    assert "cdr_detail" in out  # named as what cdrs reads


def test_demo_refuses_a_file_as_its_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "taken"
    target.write_text("not a directory")
    assert main(["demo", "--out", str(target)]) == 1
    assert "not a directory" in _one_error_line(capsys.readouterr().err)
    assert main(["demo", "--scale", "-1"]) == 2
    assert "--scale" in _one_error_line(capsys.readouterr().err)


# -- real processes ----------------------------------------------------------------------------


def _run(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, **env, "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-m", "telnyx_analytics.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_export_and_cache_as_real_processes(
    sandbox: Any, sandbox_key: str, window: tuple[str, str], cli_environment: Path, tmp_path: Path
) -> None:
    start, end = window
    out = tmp_path / "messages.parquet"
    env = {"TELNYX_API_KEY": sandbox_key, "TELNYX_ANALYTICS_CACHE": str(cli_environment)}
    done = _run("export", "mdrs", "--start", start, "--end", end, "--out", str(out),
                "--base-url", sandbox.base_url, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Not a terminal: no progress bar unless asked for.
    assert done.stderr == ""
    with _client(sandbox, sandbox_key) as client:
        expected = tx.mdrs(start, end, client=client)
    pd.testing.assert_frame_equal(_read_parquet_like(out, expected), expected)

    done = _run("cache", "info", env={"TELNYX_ANALYTICS_CACHE": str(cli_environment)})
    assert done.returncode == 0, done.stderr
    assert f"path: {cli_environment}" in done.stdout
    assert int(re.search(r"entries: ([\d,]+)", done.stdout)[1].replace(",", "")) > 0

    done = _run("export", "mdrs", "--start", "2024-05-02", "--end", "2024-05-01", "--out",
                str(out), "--base-url", sandbox.base_url, env=env)  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert "before start" in _one_error_line(done.stderr)
