"""The HTTP cache: what is stored, whose it is, and that the key is never in it."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from clock import ManualClock, report_clock

from telnyx_analytics._client import Client
from telnyx_analytics._files import default_cache_path
from telnyx_analytics._http import RetryPolicy, account_cache_key, account_fingerprint
from telnyx_analytics.errors import APIConnectionError, NotFoundError

KEY_A = "KEY_account_alpha_5f1e2d3c4b5a69788796"
KEY_B = "KEY_account_bravo_9a8b7c6d5e4f30211203"
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.004, max_retry_after=0.004)
WDRS = "/reports/wdrs"


def cached_client(sb, path: Path, key: str = KEY_A, **kwargs) -> Client:
    kwargs.setdefault("retry_policy", FAST)
    kwargs.setdefault("progress", False)
    return Client(key, sb.base_url, cache=path, **kwargs)


def hits(sb, path: str = WDRS) -> int:
    """How many requests for ``path`` reached the sandbox (cache hits never do)."""
    return sum(1 for r in sb.requests if r.path == "/v2" + path)


def cache_files(directory: Path) -> list[Path]:
    # SQLite may keep a journal or WAL file next to the database.
    return [p for p in directory.iterdir() if p.is_file()]


# -- pure: cache keys -------------------------------------------------------------------------


def prepared(key: str | None, url: str = "http://127.0.0.1:1/v2/reports/wdrs?b=2&a=1"):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.Request("GET", url, headers=headers).prepare()


def test_fingerprint_is_a_keyed_hash_never_the_key() -> None:
    fp = account_fingerprint(KEY_A)
    assert fp == account_fingerprint(KEY_A)
    assert fp != account_fingerprint(KEY_B)
    assert KEY_A not in fp and fp not in KEY_A
    # Keyed: not the plain hash of the key (which anyone could compute from a guess).
    assert fp not in hashlib.sha256(KEY_A.encode()).hexdigest()


def test_cache_keys_differ_by_account_and_ignore_parameter_order() -> None:
    a = account_cache_key(prepared(KEY_A))
    assert a == account_cache_key(prepared(KEY_A, "http://127.0.0.1:1/v2/reports/wdrs?a=1&b=2"))
    assert a != account_cache_key(prepared(KEY_B))
    assert a != account_cache_key(prepared(None))
    assert a != account_cache_key(prepared(KEY_A, "http://127.0.0.1:1/v2/reports/mdrs?a=1&b=2"))
    assert KEY_A not in a
    assert a.startswith(account_fingerprint(KEY_A))


def test_default_cache_location(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TELNYX_ANALYTICS_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "telnyx-analytics" / "http_cache.sqlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / ".cache" / "telnyx-analytics" / (
        "http_cache.sqlite"
    )
    monkeypatch.setenv("TELNYX_ANALYTICS_CACHE", str(tmp_path / "mine.sqlite"))
    assert default_cache_path() == tmp_path / "mine.sqlite"
    c = Client(KEY_A, "http://127.0.0.1:1/v2")
    assert c.cache_path == tmp_path / "mine.sqlite"
    c.close()


# -- account isolation ---------------------------------------------------------------------------


def test_two_keys_through_one_cache_file_get_their_own_accounts_data(
    sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "shared.sqlite"
    a, b = cached_client(sandbox, path, KEY_A), cached_client(sandbox, path, KEY_B)
    params = {"page[size]": 20}
    sandbox.clear_log()
    data_a = a.get_json(WDRS, params)["data"]
    data_b = b.get_json(WDRS, params)["data"]
    assert hits(sandbox) == 2, "the second account's request must reach the API"
    fingerprints = {r.key_fingerprint for r in sandbox.requests}
    assert len(fingerprints) == 2
    ids_a, ids_b = {r["id"] for r in data_a}, {r["id"] for r in data_b}
    assert ids_a and ids_b and ids_a.isdisjoint(ids_b), "two accounts, two ledgers"
    # Each equals what that account reads without any cache.
    for key, data in ((KEY_A, data_a), (KEY_B, data_b)):
        direct = Client(key, sandbox.base_url, cache=False).get_json(WDRS, params)["data"]
        assert data == direct
    sandbox.clear_log()
    # Repeats are served from the cache, each account its own answer.
    assert a.get_json(WDRS, params)["data"] == data_a
    assert b.get_json(WDRS, params)["data"] == data_b
    assert hits(sandbox) == 0
    # A third client of account A on the same file reuses A's entry, not B's.
    assert cached_client(sandbox, path, KEY_A).get_json(WDRS, params)["data"] == data_a
    assert hits(sandbox) == 0
    info = a.cache_info()
    assert (info["responses"], info["account_responses"]) == (2, 1)


def test_the_key_is_absent_from_the_cache_file(sandbox, tmp_path: Path) -> None:
    path = tmp_path / "http_cache.sqlite"
    c = cached_client(sandbox, path)
    records = c.paginate(WDRS, style="number", page_size=50, limit=200)
    c.get_json(WDRS, {"page[size]": 3})
    with pytest.raises(NotFoundError):
        c.get_json("/reports/mdr_usage_reports/00000000-0000-0000-0000-000000000000")
    assert c.cache_info()["responses"] == 5
    c.close()
    blob = b"".join(p.read_bytes() for p in cache_files(tmp_path))
    # The grep means something: the cached answers are in these bytes.
    assert records[-1]["id"].encode() in blob
    assert KEY_A.encode() not in blob
    assert KEY_A.encode("utf-16-le") not in blob


def test_debug_logs_never_contain_the_key(sandbox_factory, tmp_path: Path, caplog) -> None:
    sb = sandbox_factory(seed=11, days=1, faults={"503": 0.3, "truncate": 0.2})
    caplog.set_level(logging.DEBUG)
    c = cached_client(sb, tmp_path / "c.sqlite", max_retries=8)
    c.paginate(WDRS, style="number", page_size=20, limit=100)
    c.paginate(WDRS, style="number", page_size=20, limit=100)  # from the cache
    loggers = {r.name.split(".")[0] for r in caplog.records}
    assert {"telnyx_analytics", "requests_cache", "urllib3"} <= loggers, loggers
    assert KEY_A not in caplog.text
    assert all(KEY_A not in r.getMessage() for r in caplog.records)


# -- what is cached ------------------------------------------------------------------------------


def test_successful_gets_are_cached_errors_and_posts_never(sandbox, tmp_path: Path) -> None:
    c = cached_client(sandbox, tmp_path / "c.sqlite")
    missing = "/reports/mdr_usage_reports/00000000-0000-0000-0000-000000000000"
    sandbox.clear_log()
    for _ in range(2):
        c.get_json(WDRS, {"page[size]": 7})
        with pytest.raises(NotFoundError):
            c.get_json(missing)
    assert hits(sandbox) == 1
    assert hits(sandbox, missing) == 2
    before = hits(sandbox, "/phone_numbers/csv_downloads")
    ids = {c.request("POST", "/phone_numbers/csv_downloads").json()["data"][0]["id"]
           for _ in range(2)}
    assert len(ids) == 2, "each POST created its own report"
    assert hits(sandbox, "/phone_numbers/csv_downloads") == before + 2


def test_a_pending_report_is_not_cached_a_final_one_is(sandbox_factory, tmp_path: Path) -> None:
    sb = sandbox_factory(seed=12, days=1, report_delay=0.5)
    c = cached_client(sb, tmp_path / "c.sqlite")
    with report_clock(sb) as clock:  # the report is pending until the clock is moved
        report_id = c.request("POST", "/phone_numbers/csv_downloads").json()["data"][0]["id"]
        path = f"/phone_numbers/csv_downloads/{report_id}"
        sb.clear_log()
        first = c.get_json(path)["data"][0]["status"]
        second = c.get_json(path)["data"][0]["status"]
        assert (first, second) == ("pending", "pending")
        assert hits(sb, path) == 2, "a pending report must be asked again, not cached"
        clock.advance(0.5)
        assert c.get_json(path)["data"][0]["status"] == "complete"
        sb.clear_log()
        for _ in range(3):
            assert c.get_json(path)["data"][0]["status"] == "complete"
    assert hits(sb, path) == 0, "the complete report was cached when it was read"


def test_a_truncated_answer_is_not_cached(sandbox_factory, tmp_path: Path) -> None:
    sb = sandbox_factory(seed=13, days=1, faults={"truncate": 1.0})
    c = cached_client(sb, tmp_path / "c.sqlite", max_retries=1)
    with pytest.raises(APIConnectionError, match="cut short"):
        c.get_json(WDRS)
    assert c.cache_info()["responses"] == 0
    sb.set_faults(None)
    sb.clear_log()
    assert c.get_json(WDRS)["data"]
    assert hits(sb) == 1


def test_cache_false_for_one_call_neither_reads_nor_writes(sandbox, tmp_path: Path) -> None:
    c = cached_client(sandbox, tmp_path / "c.sqlite")
    sandbox.clear_log()
    c.get_json(WDRS, {"page[size]": 4})
    c.get_json(WDRS, {"page[size]": 4}, cache=False)
    assert hits(sandbox) == 2, "cache=False must not read the cache"
    c.get_json(WDRS, {"page[size]": 6}, cache=False)
    c.get_json(WDRS, {"page[size]": 6})
    assert hits(sandbox) == 4, "cache=False must not write the cache"
    assert c.cache_info()["responses"] == 2


def test_a_client_without_cache(sandbox, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TELNYX_ANALYTICS_CACHE", str(tmp_path / "unused.sqlite"))
    c = cached_client(sandbox, path=False)  # type: ignore[arg-type]
    assert c.cache_path is None
    sandbox.clear_log()
    c.get_json(WDRS, {"page[size]": 4})
    c.get_json(WDRS, {"page[size]": 4})
    assert hits(sandbox) == 2
    assert c.cache_info()["enabled"] is False
    c.cache_clear()  # a no-op, not an error
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def cache_clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """requests-cache's idea of now (``utcnow``), moved by the test instead of by sleeping."""
    from requests_cache.models import response
    from requests_cache.policy import actions, expiration

    clock = ManualClock()

    def utcnow() -> datetime:
        return datetime.fromtimestamp(clock(), UTC)

    for module in (expiration, actions, response):
        monkeypatch.setattr(module, "utcnow", utcnow)
    return clock


def test_answers_expire(sandbox, tmp_path: Path, cache_clock: ManualClock) -> None:
    c = cached_client(sandbox, tmp_path / "c.sqlite", expire_after=timedelta(seconds=60))
    sandbox.clear_log()
    c.get_json(WDRS, {"page[size]": 3})
    cache_clock.advance(59)
    c.get_json(WDRS, {"page[size]": 3})
    assert hits(sandbox) == 1
    cache_clock.advance(2)  # 61 s after it was stored: the answer has expired
    c.get_json(WDRS, {"page[size]": 3})
    assert hits(sandbox) == 2
    # expire_after=0: nothing is kept.
    c0 = cached_client(sandbox, tmp_path / "c0.sqlite", expire_after=0)
    c0.get_json(WDRS, {"page[size]": 3})
    c0.get_json(WDRS, {"page[size]": 3})
    assert hits(sandbox) == 4


def test_cache_info_and_clear(sandbox, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    c = cached_client(sandbox, path)
    c.paginate(WDRS, style="number", page_size=10, limit=30)
    info = c.cache_info()
    assert info["enabled"] is True
    assert info["path"] == str(path)
    assert info["expire_after"] == 3600
    assert info["responses"] == info["account_responses"] == 3
    assert info["size_bytes"] == path.stat().st_size > 0
    c.cache_clear()
    assert c.cache_info()["responses"] == 0
    sandbox.clear_log()
    c.paginate(WDRS, style="number", page_size=10, limit=30)
    assert hits(sandbox) == 3, "after clear, pages come from the API again"
