"""The transport against servers that misbehave: bounded in time, whole files, named hosts.

Each test starts a small misbehaving server (``tests/hostile.py``) on 127.0.0.1, or uses
the sandbox for realistic report files, and checks that the client ends in the right
result or in one typed error, never a short frame. Retry waits are shortened with a fast
``RetryPolicy``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests
from hostile import Answer, HostileServer, Seen, closed_port, quick_client

from telnyx_analytics import reports
from telnyx_analytics._client import Client
from telnyx_analytics._http import remove_orphan_parts
from telnyx_analytics.errors import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    UnexpectedResponseError,
)

KEY = "KEY_limits_5ecret_9f8e7d6c5b4a"


def client(base_url: str, **kwargs) -> Client:
    return quick_client(KEY, base_url, **kwargs)


def wait_for(condition, what: str, seconds: float = 10.0) -> None:
    """Wait for the server's threads to record what the client already did."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


# -- a whole-request deadline ------------------------------------------------------------------


def test_an_answer_trickling_one_byte_at_a_time_ends_at_the_timeout(hostile) -> None:
    # 3,000 bytes at one byte every 10 ms: each read gets a byte long before the 1 s
    # timeout, so only a deadline on the whole request ends it (else ~30 s per attempt).
    body = b'{"data": [' + b" " * 2980 + b"]}"
    srv = hostile(lambda req: Answer.raw(body, "application/json", trickle=0.01))
    c = client(srv.base_url, timeout=1, max_retries=1)
    with pytest.raises(APITimeoutError) as info:
        c.get_json("/reports/wdrs")
    err = info.value
    assert err.attempts == 2
    assert "within 1 s" in str(err)
    assert srv.origin.removeprefix("http://") in str(err), "the host is named"
    wait_for(lambda: len(srv.sent) == 2, "both attempts ended on the server")
    for sent in srv.sent:
        assert not sent.whole and sent.body_bytes < len(body) // 2


def test_headers_trickling_one_byte_at_a_time_end_at_the_timeout(hostile) -> None:
    # The deadline covers the whole answer: its status line and headers as well.
    answer = Answer.json({"data": []}, headers={"X-Padding": "p" * 300}, trickle=0.01,
                         trickle_head=True)
    srv = hostile(lambda req: answer)
    with pytest.raises(APITimeoutError, match="within 1 s"):
        client(srv.base_url, timeout=1, max_retries=0).get_json("/reports/wdrs")
    wait_for(lambda: len(srv.sent) == 1, "the attempt ended on the server")
    assert srv.sent[0].body_bytes == 0


def test_a_report_download_has_its_own_deadline(hostile, tmp_path: Path) -> None:
    csv = b'"id","cost"\n' + b'"x","1.0"\n' * 300
    srv = hostile(lambda req: Answer.raw(csv, "text/csv", trickle=0.005))
    c = client(srv.base_url, timeout=5, download_timeout=0.5, max_retries=0)
    assert c.download_timeout == 0.5
    with pytest.raises(APITimeoutError, match=r"wdr report r1: .* within 0.5 s"):
        c.download(srv.origin + "/files/r.csv", tmp_path / "r.csv", label="wdr report r1")
    assert list(tmp_path.iterdir()) == [], "no file, no part file left"
    wait_for(lambda: len(srv.sent) == 1, "the attempt ended on the server")
    assert not srv.sent[0].whole


# -- report files cut short ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def mdr_usage_report(sandbox) -> tuple[dict, bytes]:
    """A complete ``mdr_usage`` report of the sandbox (with its JSON ``result``) and its CSV."""
    with Client(KEY, sandbox.base_url, cache=False, progress=False) as c:
        created = reports.create(
            "mdr_usage", start="2000-01-01", end="today", aggregation="profile", client=c
        )
        done = reports.wait("mdr_usage", created["id"], poll=0.05, client=c)
    csv = requests.get(done["report_url"], timeout=10).content
    assert len(done["result"]) > 2 and csv.count(b"\n") == len(done["result"]) + 1
    return done, csv


def serve_report(hostile, report: dict, csv_answer) -> tuple[HostileServer, dict]:
    """A server whose one report file is answered by ``csv_answer(attempt)``."""
    attempts: list[Seen] = []

    def answer(req: Seen) -> Answer:
        attempts.append(req)
        return csv_answer(len(attempts))

    srv = hostile(answer)
    return srv, {**report, "report_url": srv.origin + "/files/report.csv"}


@pytest.mark.parametrize(
    ("cut", "says"),
    [
        # No Content-Length, the connection closes inside the last row.
        (lambda csv: Answer.raw(csv[:-7], "text/csv", length=-1), "does not end with"),
        # A gzip stream whose last bytes never come (the length announced is the cut one).
        (lambda csv: Answer.raw(csv, "text/csv", gzip=True, gzip_cut=12),
         "gzip stream ended early"),
        # Fewer bytes than Content-Length announced, then the connection drops.
        (lambda csv: Answer.raw(csv, "text/csv", reset_after=len(csv) // 2), "dropped"),
    ],
    ids=["no-length-partial-row", "gzip-ends-early", "shorter-than-announced"],
)
def test_a_report_file_cut_short_is_retried_then_a_typed_error(
    hostile, mdr_usage_report, cut, says, tmp_path: Path
) -> None:
    report, csv = mdr_usage_report
    srv, served = serve_report(hostile, report, lambda attempt: cut(csv))
    c = client(srv.base_url, max_retries=2, cache=tmp_path / "cache.sqlite")
    with pytest.raises(APIConnectionError, match=says) as info:
        reports.download("mdr_usage", served, client=c)
    err = info.value
    assert err.attempts == 3 and len(srv.seen) == 3
    assert f"mdr_usage report {report['id']}" in str(err)
    kept = list((tmp_path / "cache-reports").rglob("*.csv"))
    assert kept == [], "nothing cut short is kept"


def test_a_report_file_cut_once_arrives_whole_on_the_next_attempt(
    hostile, mdr_usage_report, tmp_path: Path
) -> None:
    report, csv = mdr_usage_report

    def answer(attempt: int) -> Answer:
        if attempt == 1:
            return Answer.raw(csv, "text/csv", gzip=True, gzip_cut=40)
        return Answer.raw(csv, "text/csv", gzip=True)

    srv, served = serve_report(hostile, report, answer)
    c = client(srv.base_url, max_retries=2)
    df = reports.download("mdr_usage", served, client=c)
    assert len(df) == len(report["result"])
    assert len(srv.seen) == 2


def test_whole_files_without_a_length_or_gzipped_are_accepted(
    hostile, mdr_usage_report
) -> None:
    report, csv = mdr_usage_report
    for answer in (
        Answer.raw(csv, "text/csv", length=-1),  # ends with its line break: whole
        Answer.raw(csv, "text/csv", gzip=True),
    ):
        srv, served = serve_report(hostile, report, lambda attempt, a=answer: a)
        df = reports.download("mdr_usage", served, client=client(srv.base_url, max_retries=0))
        assert len(df) == len(report["result"])


def test_a_file_with_fewer_rows_than_the_report_announces_is_refused(
    hostile, mdr_usage_report, tmp_path: Path
) -> None:
    report, csv = mdr_usage_report
    # Cut at a line break, with a true Content-Length: whole as far as HTTP can tell.
    short = csv[: csv.rindex(b"\n", 0, len(csv) - 1) + 1]
    srv, served = serve_report(hostile, report, lambda attempt: Answer.raw(short, "text/csv"))
    c = client(srv.base_url, cache=tmp_path / "cache.sqlite")
    with pytest.raises(UnexpectedResponseError, match=r"holds \d+ records but its file") as info:
        reports.download("mdr_usage", served, client=c)
    assert info.value.endpoint == f"mdr_usage report {report['id']}"
    assert list((tmp_path / "cache-reports").rglob("*.csv")) == []


def test_an_unasked_content_encoding_is_refused(hostile, tmp_path: Path) -> None:
    srv = hostile(lambda req: Answer.raw(b"x\n", "text/csv", headers={"Content-Encoding": "br"}))
    c = client(srv.base_url, max_retries=0)
    with pytest.raises(APIConnectionError, match="encoding that was not asked for"):
        c.download(srv.origin + "/r.csv", tmp_path / "r.csv")
    assert srv.seen[0].headers.get("Accept-Encoding") == "gzip"


def test_orphan_part_files_are_removed_only_when_stale(tmp_path: Path) -> None:
    stale = tmp_path / ".r1.csv.abc123.part"
    fresh = tmp_path / ".r2.csv.def456.part"
    other = tmp_path / "r1.csv"
    for path in (stale, fresh, other):
        path.write_bytes(b"x")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert remove_orphan_parts(tmp_path, older_than=600) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh.name, other.name])


# -- the host is named ---------------------------------------------------------------------------


def test_a_connection_error_names_the_host_it_could_not_reach() -> None:
    port = closed_port()
    c = client(f"http://127.0.0.1:{port}/v2", max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        c.get_json("/reports/wdrs")
    text = str(info.value)
    assert f"could not connect to 127.0.0.1:{port}" in text
    assert "refused" in text


def test_a_dropped_answer_names_the_host(hostile) -> None:
    srv = hostile(lambda req: Answer.json({"data": [1, 2, 3]}, reset_after=5))
    with pytest.raises(APIConnectionError, match=r"connection to 127\.0\.0\.1:\d+ dropped"):
        client(srv.base_url, max_retries=0).get_json("/reports/wdrs")


def test_a_server_error_still_says_what_the_server_said(hostile) -> None:
    srv = hostile(lambda req: Answer.json({"errors": [{"title": "Down"}]}, status=503))
    with pytest.raises(InternalServerError, match="Down"):
        client(srv.base_url, max_retries=0).get_json("/reports/wdrs")


@contextlib.contextmanager
def listening_socket() -> Iterator[socket.socket]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        yield sock


def test_kept_report_files_never_answer_for_another_window(sandbox_factory, tmp_path) -> None:
    # A sandbox restarted on the same ports hands out the same report ids again. The two
    # sandboxes serve on sockets this test holds open throughout, so the ports are never
    # free in between for another process to take.
    with listening_socket() as api, listening_socket() as download:
        cache = tmp_path / "cache.sqlite"
        base_url = f"http://127.0.0.1:{api.getsockname()[1]}/v2"
        frames = []
        for until in ("2024-05-31", "2024-06-30"):
            with Client(KEY, base_url, cache=cache, progress=False) as c:
                sb = sandbox_factory(seed=3, days=5, until=until, report_delay=0.05,
                                     sockets=(api, download))
                assert c.base_url == sb.base_url
                window = {"start": pd.Timestamp(until) - pd.Timedelta(days=2), "end": until}
                df = reports.read("wdr", **window, poll=0.05, client=c)
                frames.append((len(sb.download_requests), df))
                sb.stop()
    (_, first), (second_downloads, second) = frames
    assert second_downloads == 1, "the second window was downloaded, not taken from disk"
    assert first["created_at"].max() < pd.Timestamp("2024-06-01", tz="UTC")
    assert second["created_at"].min() >= pd.Timestamp("2024-06-01", tz="UTC")
