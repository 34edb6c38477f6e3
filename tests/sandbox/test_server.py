"""The sandbox server: origins, the /v2 prefix, keep-alive, the request log, latency.

Server mechanics are observed through an echo app (it answers what it was asked, so the
test sees exactly what the server handed over); a few tests use the real ``App``.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator

import pandas as pd
import pytest
import requests

from telnyx_analytics.sandbox import Sandbox, serve
from telnyx_analytics.sandbox._web import Request, Response


class EchoApp:
    """Answers every API request with what the server handed it."""

    def __init__(self) -> None:
        self.download_origin = ""
        self.calls: list[Request] = []

    def handle(self, request: Request) -> Response:
        self.calls.append(request)
        return Response.json(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "body": request.body.decode(),
                "authorization": request.headers.get("authorization"),
            }
        )

    def download(self, path: str) -> Response:
        return Response.csv(f"path\n{path}\n")


@pytest.fixture
def echo() -> Iterator[Sandbox]:
    # No rate limit: these tests are about the sockets (tests/sandbox/test_rate_limit.py
    # is about the limit).
    with serve(app=EchoApp(), seed=3, rate_limit=None) as sb:
        yield sb


def test_origins_are_loopback_urls_and_the_app_learns_the_download_origin(echo: Sandbox) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v2", echo.base_url)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", echo.download_origin)
    assert not echo.base_url.startswith(echo.download_origin + "/")  # two different ports
    assert echo.app.download_origin == echo.download_origin
    r = requests.get(echo.download_origin + "/files/x.csv", timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv"
    assert r.text == "path\n/files/x.csv\n"


def test_the_v2_prefix_is_stripped_and_query_and_body_reach_the_app(echo: Sandbox) -> None:
    r = requests.post(
        echo.base_url + "/reports/mdr_usage_reports?page[size]=5&filter[a][]=x",
        json={"start_date": "2024-01-01"},
        headers={"Authorization": "Bearer K1"},
        timeout=5,
    )
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == len(r.content)
    seen = r.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/reports/mdr_usage_reports"
    assert seen["query"] == {"page[size]": ["5"], "filter[a][]": ["x"]}
    assert json.loads(seen["body"]) == {"start_date": "2024-01-01"}
    assert seen["authorization"] == "Bearer K1"


@pytest.mark.parametrize("path", ["/reports/mdrs", "/v2x/reports/mdrs", "/v1/reports/mdrs", "/"])
def test_paths_outside_v2_are_a_telnyx_404_and_never_reach_the_app(
    echo: Sandbox, path: str
) -> None:
    origin = echo.base_url.removesuffix("/v2")
    r = requests.get(origin + path, headers={"Authorization": "Bearer K1"}, timeout=5)
    assert r.status_code == 404
    error = r.json()["errors"][0]
    assert error["code"] == "10005"
    assert error["title"]
    assert echo.app.calls == []


def test_two_requests_on_one_session_share_one_connection(echo: Sandbox) -> None:
    with requests.Session() as session:
        for _ in range(3):
            assert session.get(echo.base_url + "/a", timeout=5).status_code == 200
    with requests.Session() as other:
        assert other.get(echo.base_url + "/b", timeout=5).status_code == 200
    connections = [r.connection for r in echo.requests]
    assert connections[0] == connections[1] == connections[2]
    assert connections[3] != connections[0]


def test_the_request_log_keeps_a_fingerprint_never_the_key(echo: Sandbox) -> None:
    key = "KEY_super_secret_0123456789"
    requests.get(
        echo.base_url + "/reports/mdrs?page[number]=2",
        headers={"Authorization": f"Bearer {key}"},
        timeout=5,
    )
    requests.delete(echo.base_url + "/reports/mdr_usage_reports/abc", timeout=5)
    with_key, without_key = echo.requests
    assert (with_key.method, with_key.path, with_key.query) == (
        "GET",
        "/v2/reports/mdrs",
        "page%5Bnumber%5D=2",
    )
    assert with_key.status == 200 and with_key.fault is None
    assert with_key.has_authorization
    assert hashlib.sha256(key.encode()).hexdigest().startswith(with_key.key_fingerprint)
    assert len(with_key.key_fingerprint) < 64
    assert key not in repr(echo.requests)
    assert key[4:20] not in repr(echo.requests)
    assert without_key.method == "DELETE"
    assert not without_key.has_authorization and without_key.key_fingerprint is None


def test_clear_log_forgets_both_origins(echo: Sandbox) -> None:
    requests.get(echo.base_url + "/a", timeout=5)
    requests.get(echo.download_origin + "/f", headers={"Authorization": "Bearer K"}, timeout=5)
    assert len(echo.requests) == 1
    assert len(echo.download_requests) == 1
    assert echo.download_authorizations == ["Bearer K"]
    echo.clear_log()
    assert echo.requests == echo.download_requests == echo.download_authorizations == []


def test_latency_delays_every_answer_by_at_least_the_setting(echo: Sandbox) -> None:
    echo.set_latency(150)
    with requests.Session() as session:
        for url in (echo.base_url + "/a", echo.download_origin + "/f"):
            started = time.perf_counter()
            assert session.get(url, timeout=5).status_code == 200
            assert time.perf_counter() - started >= 0.15
    with pytest.raises(ValueError, match="latency_ms"):
        echo.set_latency(-1)


def test_concurrent_clients_are_all_answered_and_logged(echo: Sandbox) -> None:
    failures: list[object] = []

    def client(n: int) -> None:
        with requests.Session() as session:
            for i in range(10):
                r = session.get(f"{echo.base_url}/c?n={n}&i={i}", timeout=10)
                if r.status_code != 200 or r.json()["query"] != {"n": [str(n)], "i": [str(i)]}:
                    failures.append((n, i, r.status_code))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sorted(r.query for r in echo.requests) == sorted(
        f"n={n}&i={i}" for n in range(8) for i in range(10)
    )


def test_a_bad_content_length_is_a_400_in_telnyx_format(echo: Sandbox) -> None:
    port = int(echo.base_url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /v2/x HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        answer = _read_until_closed(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert json.loads(body)["errors"][0]["code"] == "10015"
    assert echo.app.calls == []


def test_stopping_closes_both_origins_and_open_connections() -> None:
    session = requests.Session()
    with serve(app=EchoApp()) as sb:
        assert session.get(sb.base_url + "/a", timeout=5).status_code == 200
        base_url, download_origin = sb.base_url, sb.download_origin
    for url in (base_url + "/a", download_origin + "/f"):
        with pytest.raises(requests.ConnectionError):
            session.get(url, timeout=5)


def test_a_sandbox_cannot_start_twice() -> None:
    with serve(app=EchoApp()) as sb, pytest.raises(RuntimeError, match="already running"):
        sb.start()


def _listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


def test_a_sandbox_serves_on_sockets_it_is_given_and_leaves_them_open() -> None:
    api, download = _listening(), _listening()
    try:
        first, second = EchoApp(), EchoApp()
        urls = []
        for app in (first, second):  # one sandbox after the other, on the same sockets
            with serve(app=app, sockets=(api, download)) as sb:
                urls.append((sb.base_url, sb.download_origin))
                assert requests.get(sb.base_url + "/a", timeout=5).json()["path"] == "/a"
            assert api.fileno() != -1 and download.fileno() != -1  # still open: ours
        assert urls[0] == urls[1] == [(f"http://127.0.0.1:{api.getsockname()[1]}/v2",
                                       f"http://127.0.0.1:{download.getsockname()[1]}")][0]
        assert len(first.calls) == len(second.calls) == 1
    finally:
        api.close()
        download.close()


@pytest.mark.parametrize("sockets", [("a", "b"), ()])
def test_sockets_must_be_two_listening_sockets(sockets: tuple) -> None:
    with pytest.raises(TypeError, match="sockets must be"):
        serve(app=EchoApp(), sockets=sockets)


def test_an_unbound_socket_is_refused() -> None:
    with socket.socket() as loose, _listening() as ready, pytest.raises(
            ValueError, match="not a listening TCP socket"):
        serve(app=EchoApp(), sockets=(loose, ready))


def _read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# -- with the real application -----------------------------------------------------------


def test_real_app_requires_a_key(sandbox: Sandbox) -> None:
    r = requests.get(sandbox.base_url + "/reports/mdrs", timeout=10)
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == "10009"
    assert not sandbox.requests[-1].has_authorization


def test_real_app_serves_mdrs_to_a_key(sandbox: Sandbox, sandbox_key: str) -> None:
    r = requests.get(
        sandbox.base_url + "/reports/mdrs",
        params={"page[size]": 3},
        headers={"Authorization": f"Bearer {sandbox_key}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert len(page["data"]) <= 3
    assert page["meta"]["page_size"] == 3
    logged = sandbox.requests[-1]
    assert logged.status == 200 and logged.path == "/v2/reports/mdrs"
    assert logged.key_fingerprint and sandbox_key not in repr(logged)
    assert sandbox.ledger(sandbox_key) is sandbox.app.account_for_key(sandbox_key).ledger


def test_real_report_links_point_at_the_download_origin(sandbox: Sandbox, sandbox_key: str) -> None:
    headers = {"Authorization": f"Bearer {sandbox_key}"}
    url = sandbox.base_url + "/reports/mdr_usage_reports"
    day = sandbox.ledger(sandbox_key).now.normalize() - pd.Timedelta(days=1)
    body = {
        "aggregation_type": "NO_AGGREGATION",
        "start_date": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": (day + pd.Timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    created = requests.post(url, json=body, headers=headers, timeout=30)
    assert created.status_code == 200, created.text
    report_id = created.json()["data"]["id"]
    deadline = time.monotonic() + 30
    report = created.json()["data"]
    while report["status"] == "PENDING" and time.monotonic() < deadline:
        time.sleep(0.05)
        report = requests.get(f"{url}/{report_id}", headers=headers, timeout=30).json()["data"]
    assert report["status"] == "COMPLETE"
    assert report["report_url"].startswith(sandbox.download_origin + "/")
    before = len(sandbox.download_authorizations)
    csv = requests.get(report["report_url"], timeout=30)  # a link needs no key
    assert csv.status_code == 200
    assert int(csv.headers["Content-Length"]) == len(csv.content) > 0
    assert len(csv.text.splitlines()) >= 2  # a header and at least one row
    assert len(sandbox.download_authorizations) == before
    assert sandbox.download_requests[-1].path == report["report_url"].removeprefix(
        sandbox.download_origin
    )


def test_now_starts_the_same_account_as_it_was_earlier() -> None:
    then = pd.Timestamp("2025-03-10 13:30", tz="UTC")
    key = "KEY_then"
    with serve(seed=4, days=3, until=then.date(), now=then.isoformat()) as earlier:
        got = earlier.ledger(key).messages(then.floor("D"), then + pd.Timedelta(hours=12))
    assert len(got) and got["created_at"].max() <= then  # nothing after the sandbox's now
    # The same account once the day is over: the morning is the same records.
    with serve(seed=4, days=3, until=then.date()) as later:
        full = later.ledger(key).messages(then.floor("D"), then + pd.Timedelta(hours=12))
    assert full["created_at"].max() > then
    morning = full[full["created_at"] <= then - pd.Timedelta(hours=1)].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got[got["created_at"] <= then - pd.Timedelta(hours=1)].reset_index(drop=True), morning)


def test_a_day_later_the_served_past_is_the_same() -> None:
    """The same account served a day later (``now=`` a day on, the window one day on) shows
    the same usage for every past day, campaign days included."""
    then = pd.Timestamp("2025-03-10 13:30", tz="UTC")
    later = then + pd.Timedelta(days=1)
    key = "KEY_past"
    window = {"start_date": "2025-02-08T00:00:00Z", "end_date": "2025-03-09T23:59:59Z",
              "dimensions": "date", "metrics": "cost", "page[size]": 1000}  # fmt: skip
    answers = []
    for now in (then, later):
        with serve(seed=4, days=40, until=now.date(), now=now.isoformat()) as sb:
            assert any(str(d) <= "2025-03-09" for d in sb.ledger(key).spike_days)
            auth = {"Authorization": f"Bearer {key}"}
            answers.append({
                product: requests.get(sb.base_url + "/usage_reports", headers=auth, timeout=30,
                                      params={**window, "product": product}).json()["data"]
                for product in ("messaging", "call-control", "wireless")
            })  # fmt: skip
    assert all(len(rows) >= 30 for rows in answers[0].values()), answers[0]
    assert answers[0] == answers[1]
