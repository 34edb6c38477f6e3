"""The demo: its analysis (``demo.run``) and ``telnyx-analytics demo`` as a real process.

The demo's analysis runs once in this process against a sandbox shaped like the command's
own (a month of a synthetic account); the command itself runs once as a new user would,
``python -m telnyx_analytics.cli demo --out DIR``.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import telnyx_analytics as tx
from telnyx_analytics import cli, demo
from telnyx_analytics._money import to_micros

# Docs, demo, notebook and subprocess tests: `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
KEY = "KEY_test_demo"
# Small traffic: the analysis is the same at any scale, and this keeps the test quick.
SCALE = 0.25


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``demo.run`` over the last 30 whole days of a 35-day sandbox; the sandbox stays up."""
    from telnyx_analytics.sandbox import serve

    start, end = cli.demo_window()
    out = tmp_path_factory.mktemp("demo")
    with serve(seed=5, days=35, until=end, scale=SCALE, report_delay=0.1) as sb:
        with tx.Client(KEY, sb.base_url, cache=False, progress=False) as client:
            result = demo.run(out, start, end, client=client)
        yield sb, result


def _embedded_images(page: str) -> list[bytes]:
    return [
        base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    ]


def _check_self_contained(page: str) -> None:
    # Nothing is fetched from elsewhere: no http(s) source or link, no scripts, no styles
    # from outside.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"<(?:script|link|iframe)\b", page, re.I)
    assert not re.search(r"@import|url\(", page, re.I)


def test_the_headline_anomaly_is_the_campaign_day(ran: Any) -> None:
    sb, result = ran
    anomaly = result.anomaly
    assert anomaly is not None
    assert sb.ledger(KEY).is_spike_day(anomaly.day)
    assert (anomaly.product, anomaly.kind) == ("messaging", "spike")
    assert float(anomaly.cost) > 2 * anomaly.baseline
    assert str(anomaly.day) in "\n".join(result.headlines())


def test_every_file_is_written_and_the_parquet_files_read_back(ran: Any) -> None:
    _, result = ran
    assert result.files[0] == result.summary
    names = [p.name for p in result.files]
    assert len(names) == len(set(names))
    assert all(p.parent == result.out_dir and p.is_file() for p in result.files)
    pngs = [p for p in result.files if p.suffix == ".png"]
    assert len(pngs) >= 6
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)

    tables = {p.stem: pd.read_parquet(p) for p in result.files if p.suffix == ".parquet"}
    for stem in ("messages", "calls", "wireless_sessions", "spend_daily", "spend_anomalies",
                 "messaging_by_country", "session_costs"):  # fmt: skip
        assert len(tables[stem]) > 0, stem
    # Money survives the files as float64, exact to the micro-unit.
    for stem in ("messages", "calls", "spend_daily", "session_costs"):
        path = result.out_dir / f"{stem}.parquet"
        assert pq.read_schema(path).field("cost").type == pa.float64(), stem
        assert tables[stem]["cost"].dtype == "float64", stem
        to_micros(tables[stem]["cost"], stem)  # each amount has at most six decimals


def test_the_totals_add_up_to_the_records_exactly(ran: Any) -> None:
    _, result = ran
    messages = pd.read_parquet(result.out_dir / "messages.parquet")
    totals = result.totals.set_index(["product", "currency"])["cost"]
    for currency, part in messages.groupby(messages["currency"].astype(str), observed=True):
        assert to_micros(pd.Series([totals[("messaging", currency)]]))[0][0] == to_micros(
            part["cost"])[0].sum()
    # The headline spend per currency is the sum over products, never across currencies.
    by_currency = dict(result.spend_by_currency())
    for currency, cost in by_currency.items():
        part = result.totals.loc[result.totals["currency"] == currency, "cost"]
        assert cost == Decimal(int(to_micros(part)[0].sum())).scaleb(-6)
    assert len(by_currency) == result.totals["currency"].nunique() > 1


def test_the_html_is_one_self_contained_page_with_every_plot(ran: Any) -> None:
    _, result = ran
    page = result.summary.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    _check_self_contained(page)
    embedded = _embedded_images(page)
    pngs = [p.read_bytes() for p in result.files if p.suffix == ".png"]
    assert sorted(embedded) == sorted(pngs)  # every plot, each once, byte for byte
    # Headline numbers carry their currency; the anomaly is named with its day.
    for currency, cost in result.spend_by_currency():
        assert f"{cost:,.2f} {currency}" in page
    assert f"{result.anomaly.day:%A %d %B %Y}" in page
    for title in ("Spend by product and day", "Spend anomaly", "Messaging by country",
                  "Top destinations", "Wireless data use", "One session"):  # fmt: skip
        assert title in page
    assert page.count("<table>") >= 6


def test_run_checks_its_window_before_fetching(tmp_path: Path) -> None:
    client = tx.Client("KEY_unused", "http://127.0.0.1:9/v2", cache=False)
    with pytest.raises(ValueError, match="before start"):
        demo.run(tmp_path, "2024-05-10", "2024-05-01", client=client)
    with pytest.raises(ValueError, match="31 days"):
        demo.run(tmp_path, "2024-01-01", "2024-03-01", client=client)
    with pytest.raises(ValueError, match="start must be a day"):
        demo.run(tmp_path, "May 1st", "2024-05-02", client=client)
    assert list(tmp_path.iterdir()) == []


def test_the_command_as_a_new_user_runs_it(
    sandbox_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "telnyx-demo"
    # No key, no base URL, and a cache location that must stay untouched.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELNYX_")}
    env["TELNYX_ANALYTICS_CACHE"] = str(tmp_path / "cache" / "http.sqlite")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "telnyx_analytics.cli", "demo", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"sandbox: http://127\.0\.0\.1:\d+/v2 .*", lines[0])

    listed = [Path(line.strip()) for line in lines if line.startswith("  ")]
    assert listed and all(p.is_file() and p.parent == out for p in listed)
    assert sorted(listed) == sorted(out.iterdir())  # everything written is listed
    summary = out / demo.SUMMARY
    assert summary in listed
    page = summary.read_text(encoding="utf-8")
    _check_self_contained(page)
    assert sorted(_embedded_images(page)) == sorted(
        p.read_bytes() for p in listed if p.suffix == ".png"
    )
    for p in listed:
        if p.suffix == ".parquet":
            assert pq.read_metadata(p).num_columns > 0
    assert not (tmp_path / "cache").exists()  # the demo keeps no cache

    # The printed anomaly is the sandbox account's campaign day.
    window = re.search(r"^window: (\S+) \.\. (\S+) ", done.stdout, re.M)
    assert window, done.stdout
    first, last = (dt.date.fromisoformat(d) for d in window.groups())
    assert (last - first).days + 1 == cli.DEMO_WINDOW_DAYS
    anomaly = re.search(r"^anomaly: (\d{4}-\d{2}-\d{2}) messaging ", done.stdout, re.M)
    assert anomaly, done.stdout
    sb = sandbox_factory(seed=0, days=cli.DEMO_DAYS, until=last, scale=cli.DEMO_SCALE)
    assert sb.ledger(cli.DEMO_KEY).is_spike_day(dt.date.fromisoformat(anomaly[1]))
    # The spend it prints carries currencies.
    spend = re.search(r"^spend: (.+)$", done.stdout, re.M)
    assert spend and re.fullmatch(r"([\d,]+\.\d{2} [A-Z]{3})(, [\d,]+\.\d{2} [A-Z]{3})*", spend[1])


# -- values from the API are text in the page, never markup --------------------------------

SCRIPT = '<script>alert("x")</script>'
IMG = "<img src=x onerror=alert(1)>"


def _poisoned(seen: Any, body: Any) -> Any:
    """Every name and currency the demo shows, with markup appended."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: poison(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    # Names the answers' own checks do not depend on (usage options stay as they are).
    names = ("sim_group_name", "profile_name", "event_name")
    if "/session_analysis/" in seen.path:
        names += ("product",)
    if seen.path.endswith("/options"):
        names = ()

    def poison(key: str, value: Any) -> Any:
        if isinstance(value, str) and key in names:
            return value + SCRIPT
        if isinstance(value, str) and key in ("country_code", "currency") and names:
            return value + IMG
        return walk(value)

    return walk(body)


def test_the_html_escapes_every_value_from_the_api(tmp_path: Path, hostile: Any) -> None:
    from hostile import forward

    from telnyx_analytics.sandbox import serve

    start, end = cli.demo_window()
    with serve(seed=7, days=35, until=end, scale=0.1, report_delay=0.1) as sb:
        proxy = hostile(forward(sb.base_url, _poisoned))
        with tx.Client(KEY, proxy.base_url, cache=False, progress=False) as client:
            result = demo.run(tmp_path, start, end, client=client)
    page = result.summary.read_text(encoding="utf-8")
    # The values reached the page, as text.
    assert html_escape(SCRIPT) in page and html_escape(IMG) in page
    # As a browser parses it: no script, no event handler, only the page's own images.
    tags = _tags(page)
    assert "script" not in {name for name, _ in tags}
    assert not [a for _, attrs in tags for a, _ in attrs if a.lower().startswith("on")]
    images = [dict(attrs)["src"] for name, attrs in tags if name == "img"]
    assert len(images) >= 6 and all(src.startswith("data:image/png;base64,") for src in images)
    _check_self_contained(page)


def html_escape(text: str) -> str:
    import html

    return html.escape(text)


def _tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Tags().feed(page)
    return found
