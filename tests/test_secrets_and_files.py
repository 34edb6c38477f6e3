"""The key and the files: never sent in clear, never printed, billing data kept private.

Errors are provoked deep inside real requests (refused connections, dropped answers,
timeouts, error statuses) against ``tests/hostile.py`` servers and the sandbox, then
rendered as a traceback *with its locals*, as pytest ``--showlocals`` and
``traceback.TracebackException(capture_locals=True)`` do, and searched for the key.
"""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess
import sys
import textwrap
import time
import traceback
from pathlib import Path

import pytest
from hostile import Answer, closed_port, quick_client

import telnyx_analytics as tx
from telnyx_analytics import reports
from telnyx_analytics._client import Client
from telnyx_analytics._files import PART_SUFFIX
from telnyx_analytics.cli import main
from telnyx_analytics.errors import TelnyxAnalyticsError

KEY = "KEY_s3cret_0f_the_account_7a6b5c"


def client(base_url: str, **kwargs) -> Client:
    return quick_client(KEY, base_url, **kwargs)


def rendered_with_locals(exc: BaseException) -> str:
    """The error as a traceback with every frame's locals, from the library's frames down
    (this file's own frames hold the test's inputs, keys included, on purpose)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    exc = exc.with_traceback(tb)
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- the key travels only over TLS, or to this machine ---------------------------------------
# These tests only build clients (the checks run in the constructor): no request is ever sent.
# The hosts are reserved example names (RFC 2606) and private addresses, never the real API.


@pytest.mark.parametrize(
    "base_url",
    ["http://api.example.com/v2", "http://10.0.0.5:8080/v2", "http://example.com",
     "http://127.0.0.1.nip.io/v2"],
)
def test_plain_http_is_refused_except_to_a_loopback_address(base_url: str, monkeypatch) -> None:
    with pytest.raises(ValueError, match=r"base_url .* in clear.*https://"):
        Client(KEY, base_url, cache=False)
    monkeypatch.setenv("TELNYX_BASE_URL", base_url)
    with pytest.raises(ValueError, match="in clear"):
        Client(KEY, cache=False)


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:9/v2", "http://127.8.0.1/v2", "http://localhost:9/v2",
     "http://[::1]:9/v2", "https://api.example.com/v2", "https://10.0.0.5/v2"],
)
def test_loopback_and_https_base_urls_are_accepted(base_url: str) -> None:
    assert Client(KEY, base_url, cache=False).base_url == base_url


# -- the key is checked when the client is built, and never shown ------------------------------


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (KEY + "\r\nX-Injected: 1", "line break"),
        (KEY[:8] + "\n" + KEY[8:], "line break"),
        (KEY[:8] + " " + KEY[8:], "space"),
        (KEY + "\u2019", "outside ASCII"),
        (KEY + "\x00", "control character"),
    ],
)
def test_a_key_that_cannot_be_a_header_is_refused_without_showing_it(
    bad: str, says: str, monkeypatch
) -> None:
    secret_part = "0f_the_account"  # in every bad key above
    with pytest.raises(ValueError, match=f"api_key contains .*{says}") as info:
        Client(bad, "http://127.0.0.1:9/v2", cache=False)
    for text in (str(info.value), repr(info.value), rendered_with_locals(info.value)):
        assert secret_part not in text
    if "\x00" in bad:
        return  # no environment variable can hold it
    monkeypatch.setenv("TELNYX_API_KEY", bad)
    with pytest.raises(ValueError, match=r"\$TELNYX_API_KEY contains") as info:
        Client(base_url="http://127.0.0.1:9/v2", cache=False)
    assert secret_part not in rendered_with_locals(info.value)


def test_a_key_with_surrounding_blanks_is_trimmed(sandbox) -> None:
    c = Client(f"  {KEY}\n", sandbox.base_url, cache=False, progress=False)
    sandbox.clear_log()
    assert c.get_json("/reports/wdrs", {"page[size]": 1})["data"]
    assert sandbox.requests[0].has_authorization


@pytest.mark.parametrize("name", ["timeout", "download_timeout"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0, -1])
def test_non_finite_or_non_positive_timeouts_are_refused(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"{name} must be a finite number"):
        Client(KEY, "http://127.0.0.1:9/v2", cache=False, **{name: value})


USERINFO_URLS = ["https://me:pa55word@127.0.0.1:9/v2", "http://me:pa55word@127.0.0.1:9/v2",
                 "https://me@api.example.com/v2", "me:pa55word@127.0.0.1:9/v2"]


@pytest.mark.parametrize("base_url", USERINFO_URLS)
def test_a_user_or_password_in_the_base_url_is_refused_without_showing_it(
    base_url: str, monkeypatch
) -> None:
    # requests would turn user:password@ into Basic auth in place of the Bearer header: such
    # a client could never work. Client, configure and TELNYX_BASE_URL go through one check.
    builds = [lambda: Client(KEY, base_url, cache=False),
              lambda: tx.configure(api_key=KEY, base_url=base_url, cache=False)]
    for build in builds:
        with pytest.raises(ValueError, match=r"^base_url must not contain a user name") as info:
            build()
        assert "pa55word" not in rendered_with_locals(info.value).replace(base_url, "")
        assert "pa55word" not in str(info.value) and "pa55word" not in repr(info.value)
    monkeypatch.setenv("TELNYX_BASE_URL", base_url)
    with pytest.raises(ValueError, match="must not contain a user name") as info:
        Client(KEY, cache=False)
    assert "pa55word" not in str(info.value)


@pytest.mark.parametrize("command", [["export", "mdrs", "--start", "-1d", "--out", "x.csv"],
                                     ["sync", "lake", "--kinds", "mdrs"]])
@pytest.mark.parametrize("source", ["--base-url", "TELNYX_BASE_URL"])
def test_the_command_line_refuses_a_password_in_the_base_url_before_any_request(
    command: list[str], source: str, hostile, tmp_path: Path, monkeypatch, capsys
) -> None:
    seen: list[object] = []
    srv = hostile(lambda req: seen.append(req) or Answer.json({"data": []}))
    url = srv.base_url.replace("://", "://me:pa55word@")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELNYX_API_KEY", KEY)
    monkeypatch.setenv("TELNYX_ANALYTICS_CACHE", str(tmp_path / "cache.sqlite"))
    if source == "--base-url":
        command = [*command, "--base-url", url]
    else:
        monkeypatch.setenv("TELNYX_BASE_URL", url)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "must not contain a user name or password" in err and "pa55word" not in err
    assert err.count("\n") == 1 and not seen


# -- no traceback with locals shows the key ------------------------------------------------------


def _failures(hostile) -> list[BaseException]:
    """Errors from deep inside real requests: each kind of failure once."""
    refused = f"http://127.0.0.1:{closed_port()}/v2"

    def answer(req) -> Answer:
        if req.path == "/reset":
            return Answer.json({"data": [1, 2, 3]}, reset_after=4)
        if req.path == "/trickle":
            return Answer.raw(b'{"data": []}' + b" " * 400, "application/json", trickle=0.01)
        if req.path == "/cut":
            return Answer.raw(b'{"data": [1, 2', "application/json")
        if req.path == "/echo":  # a server that repeats the key back in its error
            return Answer.json({"errors": [{"detail": req.headers.get("Authorization")}]}, 401)
        return Answer.raw(f"<html>{req.headers.get('Authorization')}</html>", "text/html",
                          status=502)

    srv = hostile(answer)
    caught: list[BaseException] = []
    calls = [
        (refused, "/reports/wdrs"),
        (srv.base_url, "/reset"),
        (srv.base_url, "/trickle"),
        (srv.base_url, "/cut"),
        (srv.base_url, "/echo"),
        (srv.base_url, "/html"),
    ]
    for base_url, path in calls:
        try:
            client(base_url, max_retries=1, timeout=1).get_json(path)
        except TelnyxAnalyticsError as exc:
            caught.append(exc)
    assert len(caught) == len(calls), "every call failed"
    return caught


def test_no_traceback_with_locals_shows_the_key(hostile) -> None:
    failures = _failures(hostile)
    for exc in failures:
        text = rendered_with_locals(exc)
        assert KEY not in text, f"{type(exc).__name__} shows the key"
        assert KEY not in repr(exc) and KEY not in str(exc)
        assert KEY not in repr(vars(exc))
    # The renderings went deep: urllib3's own frames (with their locals) are in them.
    deep = [e for e in failures if "urllib3" in rendered_with_locals(e)]
    assert deep, "no traceback reached urllib3: the test proves nothing"


@pytest.mark.slow  # a subprocess
def test_pytest_showlocals_never_shows_the_key(tmp_path: Path) -> None:
    port = closed_port()
    test = tmp_path / "test_fails.py"
    # The key comes from the environment: pytest prints the test's source lines too.
    test.write_text(textwrap.dedent(f"""
        import os
        import telnyx_analytics as tx
        from telnyx_analytics._http import RetryPolicy

        def test_refused():
            client = tx.Client(os.environ["THE_KEY"], "http://127.0.0.1:{port}/v2",
                               cache=False, max_retries=1,
                               retry_policy=RetryPolicy(initial_delay=0.001))
            client.get_json("/reports/wdrs")

        def test_bad_key():
            tx.Client(os.environ["THE_KEY"] + "\\nX", "http://127.0.0.1:{port}/v2", cache=False)
    """))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--showlocals",
         "--tb=long", "-q", str(test)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "THE_KEY": KEY},
    )
    out = run.stdout + run.stderr
    assert "2 failed" in out, out[-2000:]
    assert "APIConnectionError" in out and "urllib3" in out and "line break" in out
    assert KEY not in out


# -- files: private, whole, and never another window's rows ------------------------------------


def test_cache_and_kept_report_files_are_readable_by_their_owner_only(sandbox, tmp_path) -> None:
    old = os.umask(0o022)  # the usual umask: files 0644, folders 0755 unless asked otherwise
    try:
        cache = tmp_path / "cache" / "http.sqlite"
        with Client(KEY, sandbox.base_url, cache=cache, progress=False) as c:
            c.get_json("/reports/wdrs", {"page[size]": 2})
            day = {"start": "2000-01-01", "end": "today"}
            reports.read("wdr", **day, poll=0.05, client=c)
            files = [cache, Path(f"{cache}-wal"), Path(f"{cache}-shm")]
            assert all(f.exists() for f in files)
            for f in files:
                assert mode(f) == 0o600, f.name
            kept = cache.with_name("http-reports")
            folders = [kept, *[p for p in kept.rglob("*") if p.is_dir()]]
            assert len(folders) == 3  # the folder, the account, the kind
            for folder in folders:
                assert mode(folder) == 0o700, folder
            index = next(kept.rglob("index.json"))
            csv = next(kept.rglob("*.csv"))
            assert mode(index) == 0o600 and mode(csv) == 0o600
    finally:
        os.umask(old)


def test_the_default_cache_folder_is_private_and_old_files_are_tightened(
    monkeypatch, tmp_path
) -> None:
    monkeypatch.delenv("TELNYX_ANALYTICS_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    Client(KEY, "http://127.0.0.1:9/v2").close()
    folder = tmp_path / "xdg" / "telnyx-analytics"
    assert mode(folder) == 0o700 and mode(folder / "http_cache.sqlite") == 0o600
    # A cache file left world-readable by an older version is restricted.
    (folder / "http_cache.sqlite").chmod(0o644)
    Client(KEY, "http://127.0.0.1:9/v2").close()
    assert mode(folder / "http_cache.sqlite") == 0o600


def test_unfinished_downloads_are_counted_and_stale_ones_removed(
    sandbox, tmp_path, monkeypatch, capsys
) -> None:
    cache = tmp_path / "http.sqlite"
    monkeypatch.setenv("TELNYX_ANALYTICS_CACHE", str(cache))
    with Client(KEY, sandbox.base_url, cache=cache, progress=False) as c:
        first = reports.read("wdr", start="2000-01-01", end="today", poll=0.05, client=c)
        folder = next(cache.with_name("http-reports").rglob("index.json")).parent
        stale = folder / f".old.csv.k1l2m3{PART_SUFFIX}"  # a killed process's leftover
        live = folder / f".new.csv.n4o5p6{PART_SUFFIX}"  # a download running elsewhere
        stale.write_bytes(b"x" * 10)
        live.write_bytes(b"y" * 5)
        hour_ago = time.time() - 3600
        os.utime(stale, (hour_ago, hour_ago))
        capsys.readouterr()
        assert main(["cache", "info"]) == 0
        assert "unfinished downloads: 2 (15 bytes)" in capsys.readouterr().out
        # The next download into that folder removes the stale one, not the live one.
        second = reports.read("wdr", start="2000-01-01", end="today", poll=0.05,
                              max_age=0, client=c)
        assert len(second) == len(first)
        assert not stale.exists() and live.exists()
    assert main(["cache", "clear"]) == 0
    assert not live.exists()


FETCHER = """
import sys, time
import telnyx_analytics as tx
from telnyx_analytics._http import RetryPolicy

base_url, cache, until = sys.argv[1], sys.argv[2], time.monotonic() + float(sys.argv[3])
client = tx.Client("KEY_fetcher", base_url, cache=cache, progress=False,
                   retry_policy=RetryPolicy(initial_delay=0.001, max_delay=0.01))
n = 0
while time.monotonic() < until:
    for size in range(1, 9):  # a few distinct answers, each cached, read, cached again
        client.get_json("/reports/wdrs", {"page[size]": size, "page[number]": n % 5 + 1})
    n += 1
print("fetches", n * 8)
"""


@pytest.mark.slow  # a subprocess
def test_cache_clear_while_another_process_fetches(sandbox, tmp_path, monkeypatch) -> None:
    cache = tmp_path / "shared.sqlite"
    monkeypatch.setenv("TELNYX_ANALYTICS_CACHE", str(cache))
    script = tmp_path / "fetcher.py"
    script.write_text(FETCHER)
    fetcher = subprocess.Popen(
        [sys.executable, str(script), sandbox.base_url, str(cache), "6"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    clears = 0
    try:
        while fetcher.poll() is None:
            if cache.exists():
                assert main(["cache", "clear"]) == 0
                clears += 1
            time.sleep(0.05)
        out, err = fetcher.communicate(timeout=60)
    finally:
        if fetcher.poll() is None:
            fetcher.kill()
    assert fetcher.returncode == 0, err[-3000:]
    assert "sqlite3" not in err and "OperationalError" not in err, err[-3000:]
    assert clears >= 10, "the cache was not cleared while the other process fetched"
    assert int(out.split()[-1]) > 0


def test_an_error_repr_never_shows_the_key_a_server_echoes(hostile) -> None:
    def echo(req) -> Answer:
        return Answer.json({"errors": [{"title": json.dumps(dict(req.headers))}]}, status=400)

    srv = hostile(echo)
    with pytest.raises(tx.BadRequestError) as info:
        client(srv.base_url).get_json("/reports/wdrs")
    assert "Authorization" in str(info.value), "the server did echo the headers"
    for text in (str(info.value), repr(info.value), repr(vars(info.value))):
        assert KEY not in text
