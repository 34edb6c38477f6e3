"""Progress bars say what they count in plain numbers, and a report's line says its status."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

import telnyx_analytics as tx


def test_a_listing_bar_shows_its_record_count_with_thousands_separators(
    sandbox: Any, sandbox_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    last = sandbox.ledger(sandbox_key).last_day
    with tx.Client(sandbox_key, sandbox.base_url, cache=False, progress=True) as client:
        df = tx.wdrs(str(last - dt.timedelta(days=10)), str(last), client=client)
    err = capsys.readouterr().err
    counts = re.findall(r"records=([\d,.e+]+)", err)
    assert counts, err
    assert counts[-1] == f"{len(df):,}"  # the final count, written as a count
    assert len(df) >= 1000 and "," in counts[-1]
    assert not any("e+" in c for c in counts)


def test_a_report_line_shows_its_status_while_waiting(
    sandbox_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sb = sandbox_factory(seed=2, days=2, report_delay=1.0)
    with tx.Client("KEY_progress", sb.base_url, cache=False, progress=True) as client:
        report = tx.reports.create("wdr", start="2000-01-01", end="today", client=client)
        tx.reports.wait("wdr", report["id"], poll=0.2, client=client)
    err = capsys.readouterr().err
    shown = re.findall(rf"wdr report {report['id'][:8]}: (\w+) \[", err)
    assert "pending" in shown and shown[-1] == "complete", err
    assert ", pending" not in err  # no stray separator before the status
