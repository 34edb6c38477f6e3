"""The transport against the sandbox over real sockets: errors, retries, faults, downloads.

Retry waits are shortened with a fast ``RetryPolicy`` except in the ``Retry-After`` tests,
which really wait and measure.
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from hostile import Answer, Seen

from telnyx_analytics._client import DEFAULT_BASE_URL, Client
from telnyx_analytics._http import (
    MAX_RETRY_AFTER,
    RetryPolicy,
    is_retryable,
    parse_retry_after,
)
from telnyx_analytics.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    InternalServerError,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    error_from_response,
)

KEY = "KEY_transport_secret_0123456789"
# Shortens every wait (backoff and Retry-After) to milliseconds.
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.004, max_retry_after=0.004)
UNTIL = "2024-06-30"


def client(sb, key: str = KEY, **kwargs) -> Client:
    kwargs.setdefault("cache", False)
    kwargs.setdefault("retry_policy", FAST)
    kwargs.setdefault("progress", False)
    return Client(key, sb.base_url, **kwargs)


def api_requests(sb, path: str | None = None) -> list:
    return [r for r in sb.requests if path is None or r.path == "/v2" + path]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- pure: Retry-After, backoff, what is retried --------------------------------------------


def test_retry_after_seconds_and_dates() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("-3") == 0.0
    later = (now + timedelta(seconds=42)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(later, now=now) == 42.0
    earlier = (now - timedelta(seconds=42)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(earlier, now=now) == 0.0
    for unreadable in (None, "", "soon", "nan", "Mon, 99 Foo 2024"):
        assert parse_retry_after(unreadable, now=now) is None


def test_backoff_doubles_from_half_a_second_to_the_cap() -> None:
    no_jitter = RetryPolicy(jitter=0)
    delays = [no_jitter.delay(n) for n in range(1, 8)]
    assert delays[0] == 0.5
    assert all(b == min(2 * a, 8.0) for a, b in itertools.pairwise(delays))
    assert max(delays) == 8.0


def test_jitter_only_shortens_by_up_to_a_quarter() -> None:
    policy = RetryPolicy()
    for retry in (1, 3, 9):
        base = RetryPolicy(jitter=0).backoff(retry)
        assert policy.backoff(retry, rand=lambda: 0.0) == base
        assert policy.backoff(retry, rand=lambda: 0.999999) == pytest.approx(base * 0.75, rel=1e-5)
        samples = {policy.delay(retry) for _ in range(50)}
        assert len(samples) > 1  # jittered
        assert all(base * 0.75 <= s <= base for s in samples)


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    policy = RetryPolicy()
    assert policy.delay(1, retry_after=3.0) == 3.0
    assert policy.delay(5, retry_after=0.0) == 0.0
    assert policy.delay(1, retry_after=10_000) == MAX_RETRY_AFTER
    assert RetryPolicy(max_retry_after=2).delay(1, retry_after=30) == 2


@pytest.mark.parametrize("bad", [{"initial_delay": -1}, {"max_delay": "8"}, {"jitter": 2}])
def test_retry_policy_rejects_bad_values(bad: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)


@pytest.mark.parametrize(
    ("exc", "get", "post"),
    [
        (error_from_response(429, b""), True, True),
        (error_from_response(408, b""), True, False),
        (error_from_response(409, b""), True, False),
        (error_from_response(500, b""), True, False),
        (error_from_response(503, b""), True, False),
        (error_from_response(400, b""), False, False),
        (error_from_response(401, b""), False, False),
        (error_from_response(404, b""), False, False),
        (error_from_response(422, b""), False, False),
        (APIConnectionError("dropped"), True, False),
        (APIConnectionError("refused", unsent=True), True, True),
        (APITimeoutError("read timeout"), True, False),
        (APITimeoutError("connect timeout", unsent=True), True, True),
        (ValueError("not ours"), False, False),
    ],
)
def test_what_is_retried(exc: BaseException, get: bool, post: bool) -> None:
    assert is_retryable(exc, "GET") is get
    assert is_retryable(exc, "POST") is post
    assert is_retryable(exc, "DELETE") is post


# -- arguments and configuration ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "names"),
    [
        ({"api_key": 123}, TypeError, "api_key"),
        ({"base_url": "ftp://x"}, ValueError, "base_url"),
        ({"base_url": 5}, TypeError, "base_url"),
        ({"cache": 3}, TypeError, "cache"),
        ({"cache": ""}, ValueError, "cache"),
        ({"expire_after": -1}, ValueError, "expire_after"),
        ({"expire_after": "1h"}, TypeError, "expire_after"),
        ({"max_retries": -1}, ValueError, "max_retries"),
        ({"max_retries": 2.5}, ValueError, "max_retries"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": True}, ValueError, "timeout"),
        ({"concurrency": 0}, ValueError, "concurrency"),
        ({"progress": "yes"}, TypeError, "progress"),
        ({"retry_policy": {"initial_delay": 1}}, TypeError, "retry_policy"),
    ],
)
def test_bad_arguments_fail_before_any_request(sandbox, kwargs, exc, names) -> None:
    sandbox.clear_log()
    kwargs = {"api_key": KEY, "base_url": sandbox.base_url, "cache": False, **kwargs}
    with pytest.raises(exc, match=names):
        Client(**kwargs)
    assert sandbox.requests == []


def test_bad_call_arguments_fail_before_any_request(sandbox) -> None:
    sandbox.clear_log()
    c = client(sandbox)
    with pytest.raises(TypeError, match="path"):
        c.request("GET", "")
    with pytest.raises(ValueError, match="style"):
        c.paginate("/reports/wdrs", style="offset", page_size=10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="page_size"):
        c.paginate("/reports/wdrs", style="number", page_size=0)
    with pytest.raises(ValueError, match="limit"):
        c.paginate("/reports/wdrs", style="number", page_size=10, limit=-1)
    with pytest.raises(ValueError, match="url"):
        c.download("file:///etc/passwd", Path("x"))
    assert sandbox.requests == []


def test_key_and_base_url_come_from_the_environment(sandbox, monkeypatch) -> None:
    monkeypatch.setenv("TELNYX_API_KEY", KEY)
    monkeypatch.setenv("TELNYX_BASE_URL", sandbox.base_url + "/")
    c = Client(cache=False, progress=False)
    assert c.base_url == sandbox.base_url
    assert c.get_json("/reports/wdrs", {"page[size]": 1})["data"]
    monkeypatch.delenv("TELNYX_BASE_URL")
    assert Client(cache=False).base_url == DEFAULT_BASE_URL  # constructing sends nothing


def test_a_missing_key_is_a_clear_error_at_the_first_request(sandbox, monkeypatch) -> None:
    monkeypatch.delenv("TELNYX_API_KEY", raising=False)
    c = Client(base_url=sandbox.base_url, cache=False)  # creating it is fine
    sandbox.clear_log()
    with pytest.raises(MissingAPIKeyError, match="TELNYX_API_KEY"):
        c.get_json("/reports/wdrs")
    assert sandbox.requests == []


# -- error answers --------------------------------------------------------------------------


def test_401_403_404_422_map_to_their_classes_with_telnyx_fields(sandbox_factory) -> None:
    sb = sandbox_factory(seed=2, days=1, keys=f"{KEY},KEYREADONLY_reader")
    cases = [
        (client(sb, key="KEY_not_accepted"), "GET", "/reports/wdrs", {}, AuthenticationError),
        (client(sb, key="KEYREADONLY_reader"), "POST", "/phone_numbers/csv_downloads", {},
         PermissionDeniedError),
        (client(sb), "GET", "/reports/mdr_usage_reports/00000000-0000-0000-0000-000000000000", {},
         NotFoundError),
        (client(sb), "GET", "/call_events", {"filter[type]": "bogus"}, UnprocessableEntityError),
    ]
    for c, method, path, params, cls in cases:
        sb.clear_log()
        with pytest.raises(cls) as info:
            c.request(method, path, params=params)
        err = info.value
        assert err.status == {AuthenticationError: 401, PermissionDeniedError: 403,
                              NotFoundError: 404, UnprocessableEntityError: 422}[cls]
        assert err.code and err.code.isdigit()
        assert err.title
        assert err.detail
        assert err.attempts == 1
        assert len(sb.requests) == 1, "a client error is not retried"
        assert "\n" not in str(err)
        assert err.code in str(err) and method in str(err)
        if cls is UnprocessableEntityError:
            assert err.parameter == "filter[type]"


@pytest.mark.parametrize("kind", ["500", "502", "503", "html", "429"])
def test_persistent_error_statuses_give_the_typed_error_after_all_attempts(
    sandbox_factory, kind: str
) -> None:
    sb = sandbox_factory(seed=3, days=1, faults={kind: 1.0})
    c = client(sb, max_retries=3)
    with pytest.raises(APIStatusError) as info:
        c.get_json("/reports/wdrs")
    err = info.value
    assert isinstance(err, RateLimitError if kind == "429" else InternalServerError)
    assert err.attempts == 4
    assert "after 4 attempts" in str(err)
    assert len(api_requests(sb, "/reports/wdrs")) == 4
    if kind == "html":
        assert err.body_excerpt and "502 Bad Gateway" in err.body_excerpt
    else:
        assert err.code


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_persistent_broken_answers_give_a_connection_error_after_all_attempts(
    sandbox_factory, kind: str
) -> None:
    sb = sandbox_factory(seed=3, days=1, faults={kind: 1.0})
    c = client(sb, max_retries=2)
    with pytest.raises(APIConnectionError) as info:
        c.get_json("/reports/wdrs")
    assert info.value.attempts == 3
    assert "after 3 attempts" in str(info.value)
    assert len(api_requests(sb, "/reports/wdrs")) == 3


def test_a_slow_answer_times_out_and_is_retried(sandbox_factory) -> None:
    sb = sandbox_factory(seed=3, days=1, faults={"slow": 1.0}, slow_seconds=3)
    c = client(sb, max_retries=1, timeout=0.3)
    with pytest.raises(APITimeoutError) as info:
        c.get_json("/reports/wdrs")
    assert info.value.attempts == 2
    assert "0.3 s" in str(info.value)


def test_with_30_percent_mixed_faults_every_record_arrives_exactly_once(sandbox_factory) -> None:
    faults = {k: 0.3 / 7 for k in ("429", "500", "502", "503", "reset", "truncate", "html")}
    clean = sandbox_factory(seed=4, days=2, until=UNTIL)
    faulty = sandbox_factory(seed=4, days=2, until=UNTIL, faults=faults)
    window = {"start_date": "2024-06-29T00:00:00Z", "end_date": "2024-06-30T23:59:59Z"}

    def fetch(sb) -> tuple[list[dict], list[dict]]:
        c = client(sb, max_retries=12, concurrency=4)
        mdrs = c.paginate("/reports/mdrs", window, style="number", page_size=100)
        # Call events have no id: nothing is deduplicated, so a repeat would show.
        events = c.paginate("/call_events", {}, style="cursor", page_size=100, id_field=None)
        return mdrs, events

    want_mdrs, want_events = fetch(clean)
    got_mdrs, got_events = fetch(faulty)
    assert len(want_mdrs) > 1000 and len(want_events) > 300  # many pages each
    for want, got in ((want_mdrs, got_mdrs), (want_events, got_events)):
        keys = [json.dumps(r, sort_keys=True) for r in got]
        assert len(keys) == len(set(keys)), "a record arrived twice"
        assert got == want, "records missing, changed or out of order"
    seen = {r.fault for r in faulty.requests if r.fault}
    assert seen == set(faults), f"every kind of fault was exercised, saw {seen}"
    share = sum(1 for r in faulty.requests if r.fault) / len(faulty.requests)
    assert 0.15 < share < 0.45


# -- what is retried, by method -------------------------------------------------------------


def test_a_post_that_reached_the_server_is_not_retried(sandbox_factory) -> None:
    sb = sandbox_factory(seed=5, days=1, faults={"500": 1.0})
    with pytest.raises(InternalServerError) as info:
        client(sb, max_retries=4).request("POST", "/phone_numbers/csv_downloads")
    assert info.value.attempts == 1
    assert len(api_requests(sb)) == 1
    sb.set_faults({"reset": 1.0})
    sb.clear_log()
    with pytest.raises(APIConnectionError) as broken:
        client(sb, max_retries=4).request("POST", "/phone_numbers/csv_downloads")
    assert broken.value.attempts == 1 and not broken.value.unsent
    assert len(api_requests(sb)) == 1


def test_a_post_is_retried_on_429(sandbox_factory) -> None:
    sb = sandbox_factory(seed=5, days=1, faults={"429": 1.0})
    with pytest.raises(RateLimitError) as info:
        client(sb, max_retries=2).request("POST", "/phone_numbers/csv_downloads")
    assert info.value.attempts == 3
    assert len(api_requests(sb)) == 3
    sb.set_faults(None)
    created = client(sb, max_retries=2).request("POST", "/phone_numbers/csv_downloads")
    assert created.json()["data"][0]["status"] == "pending"


def test_a_post_that_never_connected_is_retried() -> None:
    c = Client(KEY, f"http://127.0.0.1:{closed_port()}/v2", cache=False, max_retries=2,
               retry_policy=FAST)
    with pytest.raises(APIConnectionError) as info:
        c.request("POST", "/phone_numbers/csv_downloads")
    assert info.value.unsent
    assert info.value.attempts == 3
    assert KEY not in str(info.value) and KEY not in repr(info.value)


# -- Retry-After: really waited for, and capped -----------------------------------------------


def _too_many(retry_after: str) -> Callable[[Seen], Answer]:
    # A server or proxy that, unlike Telnyx, says Retry-After on its 429s.
    body = {"errors": [{"code": "10011", "title": "Too many requests"}]}
    return lambda seen: Answer.json(body, 429, headers={"Retry-After": retry_after})


def test_retry_after_is_waited_for(hostile) -> None:
    server = hostile(_too_many("1"))
    waits: list[float] = []  # the policy's sleep records the waits instead of spending them
    c = client(server, max_retries=2, retry_policy=RetryPolicy(sleep=waits.append))
    with pytest.raises(RateLimitError) as info:
        c.get_json("/reports/wdrs")
    assert info.value.retry_after == 1.0
    assert info.value.attempts == 3 and len(server.seen) == 3
    assert waits == [1.0, 1.0], "each retry waits what Retry-After asked, not its backoff"


def test_retry_after_above_the_cap_fails_at_once_with_the_wait(hostile) -> None:
    server = hostile(_too_many("3600"))
    with pytest.raises(RateLimitError) as info:
        client(server, max_retries=5, retry_policy=RetryPolicy()).get_json("/reports/wdrs")
    assert info.value.retry_after == 3600.0
    assert info.value.attempts == 1 and len(server.seen) == 1  # no sleep, no retry
    assert "retry after 3600 s" in str(info.value)
    assert MAX_RETRY_AFTER < 3600
    # The cap is the policy's: 1 s is too long for a policy that waits at most 0.25 s.
    server.set_handler(_too_many("1"))
    with pytest.raises(RateLimitError) as capped:
        client(server, max_retries=5, retry_policy=RetryPolicy(max_retry_after=0.25)).get_json(
            "/reports/wdrs"
        )
    assert capped.value.attempts == 1 and capped.value.retry_after == 1.0


# -- the key goes nowhere else ---------------------------------------------------------------


def test_the_key_is_never_shown(sandbox_factory, caplog) -> None:
    sb = sandbox_factory(seed=7, days=1, keys=KEY, faults={"500": 0.3, "reset": 0.2})
    caplog.set_level(logging.DEBUG)
    c = client(sb, max_retries=1)
    assert KEY not in repr(c) and KEY not in str(c)
    assert KEY not in repr(vars(c)) and KEY not in repr(vars(c._transport))
    shown: list[str] = []
    for _ in range(6):
        try:
            c.get_json("/reports/wdrs", {"page[size]": 5})
        except Exception as exc:  # the faults make some fail: their texts are checked
            shown += [str(exc), repr(exc), repr(vars(exc))]
    assert shown, "no failure happened, the test proves nothing"
    sb.set_faults(None)
    # A rejected key (it starts with KEY, so showing it would show KEY too).
    with pytest.raises(AuthenticationError) as rejected:
        client(sb, key=KEY + "_unknown").get_json("/reports/wdrs")
    shown += [str(rejected.value), repr(rejected.value), repr(vars(rejected.value))]
    for text in shown:
        assert KEY not in text
    assert caplog.records, "nothing was logged, the test proves nothing"
    assert KEY not in caplog.text
    for record in caplog.records:
        assert KEY not in record.getMessage()


def test_the_key_is_never_sent_off_the_base_url(sandbox) -> None:
    c = client(sandbox)
    sandbox.clear_log()
    with pytest.raises(ValueError, match="refusing"):
        c.request("GET", sandbox.download_origin + "/reports/anything.csv")
    with pytest.raises(ValueError, match="refusing"):
        c.request("GET", "http://127.0.0.1:1/v2/reports/wdrs")
    assert sandbox.requests == [] and sandbox.download_authorizations == []
    # An absolute URL under the base URL is an API request like any path.
    assert c.get_json(sandbox.base_url + "/reports/wdrs", {"page[size]": 1})["data"]
    assert [r.has_authorization for r in sandbox.requests] == [True]


# -- downloads --------------------------------------------------------------------------------


def completed_report_url(c: Client) -> str:
    created = c.request("POST", "/phone_numbers/csv_downloads").json()["data"][0]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        report = c.get_json(f"/phone_numbers/csv_downloads/{created['id']}", cache=False)
        item = report["data"][0]
        if item["status"] == "complete":
            return item["url"]
        time.sleep(0.05)
    raise AssertionError("the sandbox report never completed")


def test_download_is_whole_atomic_and_without_the_key(sandbox, tmp_path: Path) -> None:
    c = client(sandbox)
    url = completed_report_url(c)
    direct = requests.get(url, timeout=10)
    dest = tmp_path / "sub" / "numbers.csv"
    assert c.download(url, dest, expected_length=len(direct.content)) == dest
    assert dest.read_bytes() == direct.content
    assert direct.content.startswith(b'"phone_number"')
    assert sandbox.download_authorizations == []
    assert list(dest.parent.iterdir()) == [dest], "no temporary file left behind"


def test_a_short_download_is_retried(sandbox_factory, tmp_path: Path) -> None:
    sb = sandbox_factory(seed=8, days=1, report_delay=0.05, download_faults={"short": 0.5})
    c = client(sb, max_retries=8)
    url = completed_report_url(c)
    dest = tmp_path / "numbers.csv"
    c.download(url, dest)
    shorts = [r for r in sb.download_requests if r.fault == "short"]
    assert shorts, "no short download happened, the test proves nothing"
    sb.set_download_faults(None)
    assert dest.read_bytes() == requests.get(url, timeout=10).content
    assert sb.download_authorizations == []


def test_a_download_that_stays_short_fails_and_leaves_no_file(
    sandbox_factory, tmp_path: Path
) -> None:
    sb = sandbox_factory(seed=8, days=1, report_delay=0.05, download_faults={"short": 1.0})
    c = client(sb, max_retries=2)
    url = completed_report_url(c)
    dest = tmp_path / "numbers.csv"
    with pytest.raises(APIConnectionError) as info:
        c.download(url, dest)
    assert info.value.attempts == 3
    assert len(sb.download_requests) == 3
    assert list(tmp_path.iterdir()) == []
    assert urlsplit(url).path in str(info.value)


def test_a_download_of_unexpected_length_is_refused(sandbox, tmp_path: Path) -> None:
    c = client(sandbox, max_retries=1)
    url = completed_report_url(c)
    size = len(requests.get(url, timeout=10).content)
    with pytest.raises(APIConnectionError, match=f"{size} of the {size + 10} bytes"):
        c.download(url, tmp_path / "x.csv", expected_length=size + 10)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_download_is_not_found(sandbox, tmp_path: Path) -> None:
    c = client(sandbox)
    with pytest.raises(NotFoundError):
        c.download(sandbox.download_origin + "/reports/nope/missing.csv", tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_proxy_settings_of_the_environment_are_honoured(sandbox, monkeypatch) -> None:
    # The transport reads the environment once instead of on every request; it must
    # still route through a configured proxy, and not for hosts in no_proxy.
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    dead_proxy = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    monkeypatch.setenv("http_proxy", dead_proxy)
    sandbox.clear_log()
    with pytest.raises(APIConnectionError):
        client(sandbox, max_retries=0).get_json("/reports/wdrs", {"page[size]": 1})
    assert sandbox.requests == [], "the request went to the proxy, not to the API"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert client(sandbox).get_json("/reports/wdrs", {"page[size]": 1})["data"]
    assert len(sandbox.requests) == 1
