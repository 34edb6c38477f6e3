"""``telnyx-analytics sandbox`` and the command line's skeleton.

The server runs as a real subprocess (``python -m telnyx_analytics.cli``): the test reads
its first line, talks to it over HTTP on 127.0.0.1, then stops it with a signal.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests

from telnyx_analytics import __version__
from telnyx_analytics.cli import main

# Docs, demo, notebook and subprocess tests: `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


class Server:
    """A ``telnyx-analytics sandbox`` subprocess and the lines it printed."""

    def __init__(self, *args: str) -> None:
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "telnyx_analytics.cli", "sandbox", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # A thread reads stdout so that a test can wait for a line with a deadline.
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def readline(self, timeout: float = 30) -> str:
        """The next line of stdout; fails the test instead of hanging."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no output from the sandbox within {timeout} s")

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.put(line)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            _, stderr = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, stderr = self.proc.communicate()
        return self.proc.returncode, stderr


@pytest.fixture
def launch() -> Iterator[type[Server]]:
    started: list[Server] = []

    class Tracked(Server):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.communicate()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sandbox_prints_its_url_first_serves_and_stops_cleanly(
    launch: type[Server], signum: int
) -> None:
    server = launch("--port", "0", "--days", "3", "--seed", "4")
    first = server.readline()
    match = re.fullmatch(r"base_url: (http://127\.0\.0\.1:\d+/v2)\n", first)
    assert match, first
    base_url = match.group(1)
    second = server.readline()
    assert re.fullmatch(r"download_origin: http://127\.0\.0\.1:\d+\n", second), second

    assert requests.get(base_url + "/reports/mdrs", timeout=10).status_code == 401
    r = requests.get(
        base_url + "/reports/mdrs",
        params={"page[size]": 2},
        headers={"Authorization": "Bearer KEY_cli_test"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["page_size"] == 2

    code, stderr = server.stop(signum)
    assert code == 0, stderr
    assert "Traceback" not in stderr


def test_keys_faults_and_latency_flags_take_effect(launch: type[Server]) -> None:
    server = launch(
        "--keys", "KEY_one,KEY_two", "--faults", "429=1", "--latency", "100", "--days", "2"
    )
    base_url = server.readline().removeprefix("base_url: ").strip()
    started = time.perf_counter()
    r = requests.get(
        base_url + "/reports/mdrs", headers={"Authorization": "Bearer KEY_one"}, timeout=10
    )
    assert time.perf_counter() - started >= 0.1
    assert r.status_code == 429 and r.json()["errors"][0]["code"] == "10011"
    assert "Retry-After" not in r.headers
    code, _ = server.stop()
    assert code == 0

    server = launch("--keys", "KEY_one,KEY_two", "--days", "2")
    base_url = server.readline().removeprefix("base_url: ").strip()
    url = base_url + "/reports/mdrs"
    assert requests.get(url, headers={"Authorization": "Bearer KEY_two"}, timeout=30).ok
    other = requests.get(url, headers={"Authorization": "Bearer KEY_three"}, timeout=10)
    assert other.status_code == 401
    assert server.stop()[0] == 0


def _get(base_url: str, key: str = "KEY_cli_limit") -> requests.Response:
    return requests.get(
        base_url + "/reports/mdrs", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def test_rate_limit_flag_and_its_default(launch: type[Server]) -> None:
    limited = launch("--rate-limit", "2", "--days", "1")
    default = launch("--days", "1")
    unlimited = launch("--rate-limit", "0", "--days", "1")
    urls = [s.readline().removeprefix("base_url: ").strip() for s in (limited, default, unlimited)]
    _get(urls[0])  # the first request builds the account's ledger: not part of the burst
    # Five requests in well under a second touch at most two one-second windows of two
    # requests each, wherever the windows fall: at least one is refused.
    burst = [_get(urls[0]) for _ in range(5)]
    refused = [r for r in burst if r.status_code == 429]
    assert refused, [r.status_code for r in burst]
    assert burst[0].headers["x-ratelimit-limit"] == "2"
    assert refused[0].json()["errors"][0]["code"] == "10011"
    assert _get(urls[1]).headers["x-ratelimit-limit"] == "20"
    assert "x-ratelimit-limit" not in _get(urls[2]).headers
    for server in (limited, default, unlimited):
        assert server.stop()[0] == 0


def test_now_flag_sets_the_sandboxs_clock(launch: type[Server]) -> None:
    import telnyx_analytics as tx

    server = launch("--until", "2024-05-31", "--now", "2024-05-31T12:00:00Z", "--days", "2",
                    "--rate-limit", "0")
    base_url = server.readline().removeprefix("base_url: ").strip()
    with tx.Client("KEY_cli_now", base_url, cache=False, progress=False) as client:
        last_day = tx.mdrs("2024-05-31", "2024-05-31", client=client)["created_at"]
    # Half of the last day has happened: records in its morning, none after noon.
    assert len(last_day) > 10
    noon = pd.Timestamp("2024-05-31T12:00:00Z")
    assert last_day.max() < noon <= last_day.min() + pd.Timedelta(hours=12)
    assert server.stop()[0] == 0


def test_download_faults_flag_takes_effect(launch: type[Server]) -> None:
    server = launch("--download-faults", "html_200=1", "--days", "1", "--report-delay", "0")
    base_url = server.readline().removeprefix("base_url: ").strip()
    auth = {"Authorization": "Bearer KEY_cli_download"}
    created = requests.post(base_url + "/phone_numbers/csv_downloads", headers=auth, timeout=30)
    report_id = created.json()["data"][0]["id"]
    got = requests.get(f"{base_url}/phone_numbers/csv_downloads/{report_id}", headers=auth,
                       timeout=30).json()["data"][0]
    page = requests.get(got["url"], timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert server.stop()[0] == 0


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["sandbox", "--faults", "bogus=0.1"], "bogus"),
        (["sandbox", "--faults", "429=2"], "between 0 and 1"),
        (["sandbox", "--port", "70000"], "--port"),
        (["sandbox", "--until", "31/12/2024"], "YYYY-MM-DD"),
        (["sandbox", "--now", "yesterday noon"], "ISO 8601"),
        (["sandbox", "--days", "0"], "--days"),
        (["sandbox", "--latency", "-5"], "--latency"),
        (["sandbox", "--report-failure-rate", "1.5"], "--report-failure-rate"),
        (["sandbox", "--keys", ","], "--keys"),
        (["sandbox", "--rate-limit", "-1"], "--rate-limit"),
        (["sandbox", "--rate-limit", "2.5"], "--rate-limit"),
        (["sandbox", "--download-faults", "truncate=0.1"], "unknown fault kind 'truncate'"),
        (["sandbox", "--faults", "gzip_cut=0.1"], "unknown fault kind 'gzip_cut'"),
        (["sandbox", "--nope"], "--nope"),
        (["frobnicate"], "frobnicate"),
        ([], "COMMAND"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("telnyx-analytics") and named in err


def test_a_busy_port_exits_1_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["sandbox", "--port", str(port), "--days", "1"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "cannot listen on 127.0.0.1" in err and "in use" in err.lower()
    assert "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"telnyx-analytics {__version__}"


def test_help_lists_the_sandbox_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in (
        "--host",
        "--port",
        "--seed",
        "--days",
        "--until",
        "--now",
        "--scale",
        "--latency",
        "--faults",
        "--keys",
        "--report-delay",
        "--report-failure-rate",
    ):
        assert flag in out
