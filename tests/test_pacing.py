"""Client pacing from Telnyx's rate-limit headers: the pacer alone, then over real sockets.

Telnyx sends ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and ``x-ratelimit-reset`` and,
over the limit, a 429 with code 10011 and no ``Retry-After``. The client must pace itself
from those headers, wait for the reset after a 429, and share that wait across its
parallel workers.
"""

from __future__ import annotations

import threading
import time

import pytest
from hostile import Answer, Seen

from telnyx_analytics._client import Client
from telnyx_analytics._http import RetryPolicy
from telnyx_analytics._ratelimit import (
    MIN_RESET_WAIT,
    Pacer,
    RateLimitHeaders,
    parse_headers,
    requested_wait,
)
from telnyx_analytics.errors import RateLimitError

KEY = "KEY_pacing_account"
UNTIL = "2024-06-30"


def headers(remaining: int, reset: float, limit: int = 20) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(reset),
    }


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- reading the headers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (headers(7, 0.5), RateLimitHeaders(20, 7, 0.5)),
        (headers(0, 12), RateLimitHeaders(20, 0, 12.0)),
        ({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "1"}, RateLimitHeaders(None, 3, 1.0)),
        ({**headers(3, 1), "x-ratelimit-limit": "100, 100;w=60"}, RateLimitHeaders(100, 3, 1.0)),
        ({**headers(3, 1), "x-ratelimit-reset": "-2"}, RateLimitHeaders(20, 3, 0.0)),
        ({"x-ratelimit-limit": "20"}, None),
        ({**headers(3, 1), "x-ratelimit-reset": "nan"}, None),
        ({**headers(3, 1), "x-ratelimit-remaining": "lots"}, None),
        ({}, None),
    ],
)
def test_parse_headers(given: dict[str, str], expected: RateLimitHeaders | None) -> None:
    assert parse_headers(given) == expected


def test_requested_wait_is_retry_after_else_a_429s_reset() -> None:
    assert requested_wait(429, headers(0, 0.4), None) == 0.4
    assert requested_wait(429, headers(0, 0.4), 3.0) == 3.0  # Retry-After wins
    assert requested_wait(429, headers(0, 0), None) == MIN_RESET_WAIT  # never a busy loop
    assert requested_wait(429, {}, None) is None  # nothing said: the backoff decides
    assert requested_wait(200, headers(5, 0.4), None) is None
    assert requested_wait(503, {}, 2.0) == 2.0


# -- the pacer, on a clock of its own ---------------------------------------------------------


def test_an_uninformed_pacer_never_holds_a_request() -> None:
    pacer = Pacer(clock=Clock())
    for _ in range(50):
        with pacer.slot():
            pacer.observe({"Content-Type": "application/json"})
    assert pacer.pause() == 0 and not pacer.informed


def test_a_spent_window_holds_requests_until_its_reset() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    with pacer.slot():
        pacer.observe(headers(1, 0.8, limit=2))
    assert pacer.pause() == 0
    with pacer.slot():  # spends the last one
        pass
    assert pacer.pause() == pytest.approx(0.8)
    clock.now += 0.5
    assert pacer.pause() == pytest.approx(0.3)
    clock.now += 0.3  # the window resets: the whole budget is back
    assert pacer.pause() == 0


def test_the_second_half_of_a_budget_is_spread_over_the_rest_of_the_window() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    with pacer.slot():
        pacer.observe(headers(10, 1.0))  # 10 of 20 left, the window ends in 1 s
    waits = []
    for _ in range(4):
        with pacer.slot():
            pass
        waits.append(pacer.pause())
        clock.now += waits[-1]
    # 9 left over 1 s: the next in 0.1 s; then 8 over 0.9 s, and so on.
    assert waits == pytest.approx([0.1, 0.1, 0.1, 0.1])


def test_a_generous_budget_is_not_spread() -> None:
    pacer = Pacer(clock=Clock())
    with pacer.slot():
        pacer.observe(headers(15, 1.0))
    for _ in range(4):
        with pacer.slot():
            pass
        assert pacer.pause() == 0


def test_answers_in_flight_are_assumed_not_yet_counted() -> None:
    pacer = Pacer(clock=Clock())
    with pacer.slot(), pacer.slot(), pacer.slot():  # three requests out at once
        pacer.observe(headers(2, 0.5))  # after the first was counted: two left, minus two
        assert pacer.pause() == pytest.approx(0.5)


def test_a_stale_answer_cannot_raise_the_budget_within_a_window() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    with pacer.slot():
        pacer.observe(headers(1, 0.5))
    with pacer.slot():
        pacer.observe(headers(5, 0.6))  # an answer overtaken by the one above
    assert pacer.pause() == pytest.approx(0.5)  # the freshest: 0 left, reset in 0.5 s


def test_cached_answers_cost_nothing_and_their_headers_are_old() -> None:
    pacer = Pacer(clock=Clock())
    with pacer.slot():
        pacer.observe(headers(1, 0.5))
    for _ in range(5):
        with pacer.slot():
            pacer.observe(headers(0, 30), from_cache=True)
    assert pacer.pause() == 0  # still one left: nothing reached the server


def test_a_window_longer_than_max_wait_is_not_waited_for() -> None:
    pacer = Pacer(max_wait=60, clock=Clock())
    with pacer.slot():
        pacer.observe(headers(0, 3600))  # a spent hourly quota
    assert pacer.pause() == 0  # send: the server's 429 will say, and the retry policy decide


def test_the_pacer_holds_other_threads_until_the_reset() -> None:
    pacer = Pacer()
    with pacer.slot():
        pacer.observe(headers(0, 0.3))
    released = []

    def worker() -> None:
        with pacer.slot():
            released.append(time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(released) == 3
    assert min(released) - started >= 0.25


# -- against servers, over sockets ------------------------------------------------------------


def test_paging_against_a_low_limit_meets_almost_no_429_and_loses_nothing(
    sandbox_factory,
) -> None:
    clean = sandbox_factory(seed=8, days=2, until=UNTIL)
    limited = sandbox_factory(seed=8, days=2, until=UNTIL, rate_limit=8)

    def fetch(sb) -> list[dict]:
        with Client(KEY, sb.base_url, cache=False, progress=False, concurrency=4) as c:
            return c.paginate("/reports/wdrs", {}, style="number", page_size=12)

    want = fetch(clean)
    got = fetch(limited)
    pages = len(limited.requests)
    assert pages >= 25  # several windows' worth at 8 a second
    assert got == want  # complete, in order
    refused = [r for r in limited.requests if r.status == 429]
    assert len(refused) <= 1, f"{len(refused)} of {pages} requests were refused"


def test_injected_429s_under_a_limit_are_ridden_out_without_tripping_the_limit(
    sandbox_factory,
) -> None:
    clean = sandbox_factory(seed=9, days=1, until=UNTIL)
    limited = sandbox_factory(seed=9, days=1, until=UNTIL, rate_limit=20, faults="429=0.15")

    def fetch(sb) -> list[dict]:
        with Client(KEY, sb.base_url, cache=False, progress=False, concurrency=4) as c:
            return c.paginate("/reports/mdrs", {}, style="number", page_size=200)

    assert fetch(limited) == fetch(clean)
    injected = [r for r in limited.requests if r.fault == "429"]
    refused_by_the_limit = [r for r in limited.requests if r.status == 429 and not r.fault]
    assert injected, "the fault was exercised"
    assert len(refused_by_the_limit) <= 1


def test_short_retry_waits_do_not_turn_pacing_off(sandbox_factory) -> None:
    # A policy that will not sleep 0.1 s for a server still waits for the window itself,
    # so that it never meets the 429 it would have to give up on.
    sb = sandbox_factory(seed=8, days=1, until=UNTIL, rate_limit=5)
    fast = RetryPolicy(initial_delay=0.001, max_delay=0.004, max_retry_after=0.004)
    with Client(KEY, sb.base_url, cache=False, progress=False, retry_policy=fast) as c:
        records = c.paginate("/reports/wdrs", {}, style="number", page_size=20)
    assert len(records) > 100 and len(sb.requests) >= 8
    assert not [r for r in sb.requests if r.status == 429]


def test_after_a_429_every_worker_waits_for_the_reset(hostile) -> None:
    # A server with fixed one-second windows from its first request, which refuses page 2
    # once (as if other clients of the account had spent the window).
    arrivals: list[tuple[int, float]] = []
    first: list[float] = []
    refusal_sent = threading.Event()
    lock = threading.Lock()

    def window_headers(now: float, remaining: int) -> dict[str, str]:
        ends = first[0] + (int(now - first[0]) + 1)
        return headers(remaining, round(ends - now, 3) + 0.001)

    def handler(seen: Seen) -> Answer:
        number = int(seen.query.get("page[number]", "1"))
        now = time.monotonic()
        with lock:
            first[:] = first or [now]
            arrivals.append((number, now))
            refuse = number == 2 and not refusal_sent.is_set()
            if refuse:
                refusal_sent.set()
        if refuse:
            return Answer.json({"errors": [{"code": "10011", "title": "Too many requests"}]},
                               429, headers=window_headers(now, 0))
        if number == 3:  # in flight beside page 2: answered once the 429 has gone out
            refusal_sent.wait(5)
            time.sleep(0.1)
        body = {"data": [{"id": f"r{number}"}],
                "meta": {"total_pages": 6, "total_results": 6, "page_number": number}}
        return Answer.json(body, headers=window_headers(time.monotonic(), 15))

    server = hostile(handler)
    with Client(KEY, server.base_url, cache=False, progress=False, concurrency=2,
                retry_policy=RetryPolicy()) as c:
        records = c.paginate("/reports/wdrs", {}, style="number", page_size=1)
    assert [r["id"] for r in records] == [f"r{n}" for n in range(1, 7)]
    reset = first[0] + 1.0  # the end of the window in which page 2 was refused
    later = [(n, round(t - reset, 3)) for n, t in arrivals[3:]]  # after pages 1, 2 and 3
    assert {n for n, _ in later} == {2, 4, 5, 6}
    # Page 3's worker had its answer 0.1 s after the 429 and more pages to fetch, yet no
    # request went out before the window reset.
    assert all(after >= 0 for _, after in later), later


def test_a_429_reset_above_the_cap_fails_at_once(hostile) -> None:
    body = {"errors": [{"code": "10011", "title": "Too many requests"}]}
    server = hostile(lambda seen: Answer.json(body, 429, headers=headers(0, 7200)))
    with pytest.raises(RateLimitError) as info:
        Client(KEY, server.base_url, cache=False, progress=False).get_json("/reports/wdrs")
    assert info.value.retry_after == 7200 and info.value.code == "10011"
    assert info.value.attempts == 1 and len(server.seen) == 1
