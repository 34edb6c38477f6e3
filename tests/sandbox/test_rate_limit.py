"""The sandbox's per-account rate limit: Telnyx's three headers and its 429, over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import requests

from telnyx_analytics.sandbox import Sandbox, serve
from telnyx_analytics.sandbox._web import Request, Response
from telnyx_analytics.sandbox.ratelimit import DEFAULT_RATE_LIMIT, RateLimiter

HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


class CountingApp:
    def __init__(self) -> None:
        self.download_origin = ""
        self.handled = 0

    def handle(self, request: Request) -> Response:
        self.handled += 1
        if request.path == "/missing":
            return Response.json({"errors": [{"code": "10005"}]}, status=404)
        return Response.json({"data": []})

    def download(self, path: str) -> Response:
        return Response.csv("id\n1\n")


@pytest.fixture
def start() -> Iterator[Callable[..., Sandbox]]:
    started: list[Sandbox] = []

    def _start(**kwargs: object) -> Sandbox:
        sb = Sandbox(CountingApp(), **kwargs).start()  # type: ignore[arg-type]
        started.append(sb)
        return sb

    yield _start
    for sb in started:
        sb.stop()


def _at_window_start() -> None:
    # The windows are whole seconds of the sandbox's clock: start a burst early in one, so
    # that it does not straddle two.
    time.sleep(1.02 - time.monotonic() % 1.0)


def test_the_limiter_counts_fixed_one_second_windows_per_account() -> None:
    now = [100.4]
    limiter = RateLimiter(3, clock=lambda: now[0])
    taken = [limiter.take("a") for _ in range(5)]
    assert [q.allowed for q in taken] == [True, True, True, False, False]
    assert [q.remaining for q in taken] == [2, 1, 0, 0, 0]
    assert taken[0].reset == pytest.approx(0.6)
    assert limiter.take("b").remaining == 2  # another account, another budget
    now[0] = 100.999
    assert not limiter.take("a").allowed
    now[0] = 101.0  # the next window
    fresh = limiter.take("a")
    assert fresh.allowed and fresh.remaining == 2 and fresh.reset == pytest.approx(1.0)


def test_reset_is_rounded_up_to_the_millisecond() -> None:
    limiter = RateLimiter(5, clock=lambda: 7.0001)
    assert limiter.take("a").headers()["x-ratelimit-reset"] == "1"
    limiter = RateLimiter(5, clock=lambda: 7.3334)
    assert limiter.take("a").headers()["x-ratelimit-reset"] == "0.667"


def test_every_api_answer_carries_the_three_headers(start: Callable[..., Sandbox]) -> None:
    sb = start(rate_limit=50)
    auth = {"Authorization": "Bearer KEY_headers"}
    _at_window_start()
    with requests.Session() as session:
        ok = session.get(sb.base_url + "/reports/mdrs", headers=auth, timeout=5)
        missing = session.get(sb.base_url + "/missing", headers=auth, timeout=5)
        sb.set_faults("503=1")
        failed = session.get(sb.base_url + "/reports/mdrs", headers=auth, timeout=5)
        sb.set_faults(None)
        outside = session.get(sb.base_url.removesuffix("/v2") + "/elsewhere", timeout=5)
    for r in (ok, missing, failed):
        assert all(name in r.headers for name in HEADERS), r.headers
        assert r.headers["x-ratelimit-limit"] == "50"
        assert 0 < float(r.headers["x-ratelimit-reset"]) <= 1
    assert [r.headers["x-ratelimit-remaining"] for r in (ok, missing, failed)] == ["49", "48", "47"]
    assert (ok.status_code, missing.status_code, failed.status_code) == (200, 404, 503)
    assert not any(name in outside.headers for name in HEADERS)  # not the API


def test_over_the_limit_is_telnyx_429_10011_without_retry_after(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(rate_limit=4)
    auth = {"Authorization": "Bearer KEY_burst"}
    _at_window_start()
    with requests.Session() as session:
        answers = [session.get(sb.base_url + "/r", headers=auth, timeout=5) for _ in range(7)]
    assert [r.status_code for r in answers] == [200] * 4 + [429] * 3
    assert [r.headers["x-ratelimit-remaining"] for r in answers] == ["3", "2", "1", "0"] + ["0"] * 3
    limited = answers[-1]
    assert "Retry-After" not in limited.headers
    assert limited.json() == {"errors": [{
        "code": "10011",
        "title": "Too many requests",
        "detail": "You have exceeded the maximum number of allowed requests.",
    }]}
    assert sb.app.handled == 4  # a limited request never reaches the application
    assert [x.status for x in sb.requests] == [200] * 4 + [429] * 3
    assert all(x.fault is None for x in sb.requests)


def test_the_budget_comes_back_when_the_window_resets(start: Callable[..., Sandbox]) -> None:
    sb = start(rate_limit=2)
    auth = {"Authorization": "Bearer KEY_reset"}
    _at_window_start()
    with requests.Session() as session:
        for _ in range(2):
            session.get(sb.base_url + "/r", headers=auth, timeout=5)
        limited = session.get(sb.base_url + "/r", headers=auth, timeout=5)
        assert limited.status_code == 429
        time.sleep(float(limited.headers["x-ratelimit-reset"]))
        again = session.get(sb.base_url + "/r", headers=auth, timeout=5)
    assert again.status_code == 200
    assert again.headers["x-ratelimit-remaining"] == "1"


def test_each_key_is_its_own_account(start: Callable[..., Sandbox]) -> None:
    sb = start(rate_limit=2)
    _at_window_start()
    with requests.Session() as session:
        spent = [
            session.get(sb.base_url + "/r", headers={"Authorization": "Bearer KEY_a"}, timeout=5)
            for _ in range(3)
        ]
        other = session.get(
            sb.base_url + "/r", headers={"Authorization": "Bearer KEY_b"}, timeout=5
        )
    assert spent[-1].status_code == 429
    assert other.status_code == 200 and other.headers["x-ratelimit-remaining"] == "1"


def test_no_limit_no_headers(start: Callable[..., Sandbox]) -> None:
    sb = start()  # a bare Sandbox has no limit unless given one
    with requests.Session() as session:
        answers = [session.get(sb.base_url + "/r", timeout=5) for _ in range(30)]
    assert {r.status_code for r in answers} == {200}
    assert not any(name in answers[0].headers for name in HEADERS)
    assert sb.rate_limit is None


def test_serve_limits_each_account_by_default() -> None:
    sb = serve(seed=1, days=1)
    assert sb.rate_limit == DEFAULT_RATE_LIMIT == 20
    assert serve(seed=1, days=1, rate_limit=None).rate_limit is None
    assert serve(seed=1, days=1, rate_limit=0).rate_limit is None


@pytest.mark.parametrize("bad", [-1, 2.5, "20", True])
def test_a_bad_rate_limit_is_refused_naming_it(bad: object) -> None:
    with pytest.raises(ValueError, match="rate_limit must be an int >= 1"):
        serve(seed=1, days=1, rate_limit=bad)  # type: ignore[arg-type]
