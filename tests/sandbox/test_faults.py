"""Injected faults: the spec parser, the seeded picker, and each fault as seen on the wire.

Wire behaviour is observed with plain ``requests`` (and a raw socket where ``requests``
would hide the bytes) against a sandbox whose app counts its calls.
"""

from __future__ import annotations

import gzip
import json
import math
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import requests

from telnyx_analytics.sandbox import Sandbox
from telnyx_analytics.sandbox._web import Request, Response
from telnyx_analytics.sandbox.faults import DOWNLOAD_KINDS, FaultPicker, parse_faults

PAYLOAD = {"data": [{"id": i, "cost": "0.0040", "currency": "USD"} for i in range(20)]}
CSV = "id,cost\n" + "".join(f"{i},0.0040\n" for i in range(200))


class CountingApp:
    """Answers every API request with ``PAYLOAD`` and counts the calls."""

    def __init__(self) -> None:
        self.download_origin = ""
        self.handled = 0
        self.downloaded = 0

    def handle(self, request: Request) -> Response:
        self.handled += 1
        return Response.json(PAYLOAD)

    def download(self, path: str) -> Response:
        self.downloaded += 1
        return Response.csv(CSV)


@pytest.fixture
def start() -> Iterator[Callable[..., Sandbox]]:
    """Start a sandbox over a fresh CountingApp with the given ``serve()`` arguments."""
    with_stops: list[Sandbox] = []

    def _start(**kwargs: object) -> Sandbox:
        sb = Sandbox(CountingApp(), **kwargs).start()  # type: ignore[arg-type]
        with_stops.append(sb)
        return sb

    yield _start
    for sb in with_stops:
        sb.stop()


# -- the spec parser --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("429=0.1,500=0.05,reset=0.02", {"429": 0.1, "500": 0.05, "reset": 0.02}),
        (" 429 = 0.5 , html=0.25,", {"429": 0.5, "html": 0.25}),
        ("slow=1", {"slow": 1.0}),
        ("429=0.7,500=0.2,503=0.1", {"429": 0.7, "500": 0.2, "503": 0.1}),  # sums to 1
        ("500=0,502=0.3", {"502": 0.3}),  # zero rates dropped
        ({"truncate": 0.2, "502": "0.1"}, {"truncate": 0.2, "502": 0.1}),
        ("", {}),
        (None, {}),
    ],
)
def test_valid_specs_parse(spec: object, expected: dict[str, float]) -> None:
    assert parse_faults(spec) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bogus=0.1", "unknown fault kind 'bogus'"),
        ("404=0.1", "unknown fault kind '404'"),
        ("short=0.1", "unknown fault kind 'short'"),  # a download kind, not an API one
        ("429", "kind=rate"),
        ("429=lots", "rate for '429' must be a number"),
        ("429=1.5", "rate for '429' must be between 0 and 1"),
        ("reset=-0.1", "rate for 'reset' must be between 0 and 1"),
        ("slow=nan", "rate for 'slow' must be between 0 and 1"),
        ("429=0.6,500=0.6", "add up to 1.2"),
        ("429=0.1,429=0.2", "'429' is given twice"),
        ({"html": None}, "rate for 'html' must be a number"),
    ],
)
def test_invalid_specs_name_the_problem(spec: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_faults(spec)  # type: ignore[arg-type]


def test_download_kinds_are_checked_against_their_own_list() -> None:
    assert parse_faults("short=0.5,reset=0.1", DOWNLOAD_KINDS) == {"short": 0.5, "reset": 0.1}
    with pytest.raises(ValueError, match="'429'"):
        parse_faults("429=0.1", DOWNLOAD_KINDS)
    with pytest.raises(ValueError, match="'truncate'"):
        Sandbox(CountingApp(), download_faults="truncate=0.1")  # type: ignore[arg-type]


def test_a_spec_that_is_neither_text_nor_mapping_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="list"):
        parse_faults(["429=0.1"])  # type: ignore[arg-type]


# -- the picker ---------------------------------------------------------------------------


def test_same_seed_same_sequence_and_another_seed_another() -> None:
    spec = "429=0.2,500=0.1,reset=0.1"
    first = [FaultPicker(spec, seed=5).pick(n) for n in range(200)]
    again = [FaultPicker(spec, seed=5).pick(n) for n in range(200)]
    other = [FaultPicker(spec, seed=6).pick(n) for n in range(200)]
    assert first == again
    assert first != other
    assert {"429", "500", "reset", None} <= set(first)


def test_the_order_of_kinds_in_a_spec_does_not_change_the_sequence() -> None:
    a = FaultPicker("429=0.2,html=0.3", seed=1)
    b = FaultPicker("html=0.3,429=0.2", seed=1)
    assert [a.pick(n) for n in range(300)] == [b.pick(n) for n in range(300)]


def test_shares_follow_the_rates() -> None:
    rates = {"429": 0.1, "500": 0.05, "truncate": 0.25, "slow": 0.01}
    n = 20_000
    picker = FaultPicker(rates, seed=2)
    counts = Counter(picker.pick(i) for i in range(n))
    for kind, rate in rates.items():
        tolerance = 5 * math.sqrt(n * rate * (1 - rate))
        assert abs(counts[kind] - n * rate) < tolerance, (kind, counts[kind])
    assert set(counts) == {*rates, None}


def test_next_counts_across_threads_and_rate_changes() -> None:
    picker = FaultPicker("500=0.3", seed=9)
    drawn: list[str | None] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [picker.next() for _ in range(500)]
        with lock:
            drawn.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Every request number 0..3999 was handed out exactly once.
    assert Counter(drawn) == Counter(picker.pick(i) for i in range(4000))
    picker.set_rates("503=1")
    assert picker.next() == "503"
    assert picker.rates == {"503": 1.0}
    picker.set_rates(None)
    assert picker.next() is None


# -- on the wire: the API origin -------------------------------------------------------------


def test_429_is_telnyx_rate_limit_answer_without_retry_after(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(faults="429=1")
    r = requests.post(sb.base_url + "/reports/mdr_usage_reports", json={}, timeout=5)
    assert r.status_code == 429
    assert "Retry-After" not in r.headers  # Telnyx never sends one
    assert r.json()["errors"] == [{
        "code": "10011",
        "title": "Too many requests",
        "detail": "You have exceeded the maximum number of allowed requests.",
    }]
    assert sb.app.handled == 0  # a faulted POST creates nothing
    assert [x.fault for x in sb.requests] == ["429"]


def test_429_fault_under_a_rate_limit_looks_like_the_limit_itself(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(rate_limit=3)
    headers = {"Authorization": "Bearer KEY_one"}
    with requests.Session() as session:
        session.headers.update(headers)
        sb.set_faults("429=1")
        faulted = session.get(sb.base_url + "/r", timeout=5)
        sb.set_faults(None)
        while (limited := session.get(sb.base_url + "/r", timeout=5)).status_code != 429:
            pass
    assert faulted.json() == limited.json()
    for r in (faulted, limited):
        assert "Retry-After" not in r.headers
        assert r.headers["x-ratelimit-limit"] == "3"
        assert r.headers["x-ratelimit-remaining"] == "0"
        assert 0 < float(r.headers["x-ratelimit-reset"]) <= 1
    assert limited.headers.keys() == faulted.headers.keys()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_telnyx_json(start: Callable[..., Sandbox], status: int) -> None:
    sb = start(faults=f"{status}=1")
    r = requests.get(sb.base_url + "/reports/mdrs", timeout=5)
    assert r.status_code == status
    assert r.headers["Content-Type"] == "application/json"
    error = r.json()["errors"][0]
    assert error["code"].isdigit() and error["title"] and error["detail"]
    assert sb.app.handled == 0
    assert sb.requests[0].status == status


def test_html_is_a_502_page_from_a_proxy(start: Callable[..., Sandbox]) -> None:
    sb = start(faults="html=1")
    r = requests.get(sb.base_url + "/reports/mdrs", timeout=5)
    assert r.status_code == 502
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<html" in r.text
    with pytest.raises(ValueError):
        r.json()
    assert sb.app.handled == 0


def test_truncate_cuts_the_json_and_sends_a_matching_length(start: Callable[..., Sandbox]) -> None:
    sb = start(faults="truncate=1")
    r = requests.get(sb.base_url + "/reports/mdrs", timeout=5)
    whole = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == len(r.content) < len(whole)
    assert whole.startswith(r.content)
    with pytest.raises(ValueError):
        json.loads(r.content)
    assert sb.app.handled == 1


def test_reset_drops_the_connection_mid_body(start: Callable[..., Sandbox]) -> None:
    sb = start(faults="reset=1")
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        requests.get(sb.base_url + "/reports/mdrs", timeout=5)
    assert sb.app.handled == 1
    assert sb.requests[0].fault == "reset"
    sb.set_faults(None)  # the server itself survives
    assert requests.get(sb.base_url + "/reports/mdrs", timeout=5).json() == PAYLOAD


def test_slow_outlasts_a_client_timeout(start: Callable[..., Sandbox]) -> None:
    sb = start(faults="slow=1", slow_seconds=1.5)
    with pytest.raises(requests.Timeout):
        requests.get(sb.base_url + "/reports/mdrs", timeout=0.3)
    sb.set_faults(None)
    assert requests.get(sb.base_url + "/reports/mdrs", timeout=5).json() == PAYLOAD


def test_slow_then_answers_normally(start: Callable[..., Sandbox]) -> None:
    sb = start(faults="slow=1", slow_seconds=0.3)
    started = time.perf_counter()
    r = requests.get(sb.base_url + "/reports/mdrs", timeout=10)
    assert time.perf_counter() - started >= 0.3
    assert r.status_code == 200 and r.json() == PAYLOAD


def test_observed_share_of_one_fault_matches_its_rate(start: Callable[..., Sandbox]) -> None:
    n, rate = 300, 0.3
    sb = start(faults={"500": rate}, seed=4)
    with requests.Session() as session:
        statuses = [session.get(sb.base_url + "/r", timeout=5).status_code for _ in range(n)]
    tolerance = 4 * math.sqrt(n * rate * (1 - rate))  # about 32 around 90
    assert abs(statuses.count(500) - n * rate) < tolerance
    assert statuses.count(500) + statuses.count(200) == n
    assert [x.fault == "500" for x in sb.requests] == [s == 500 for s in statuses]


def test_same_seed_gives_the_same_faults_over_http(start: Callable[..., Sandbox]) -> None:
    spec = "429=0.2,500=0.1,truncate=0.1,html=0.1"

    def run(seed: int) -> list[str | None]:
        sb = start(faults=spec, seed=seed)
        with requests.Session() as session:
            for _ in range(60):
                session.get(sb.base_url + "/r", timeout=5)
        return [x.fault for x in sb.requests]

    first, again, other = run(11), run(11), run(12)
    assert first == again
    assert first != other
    assert len(set(first)) >= 3


def test_faults_spare_paths_outside_the_api(start: Callable[..., Sandbox]) -> None:
    sb = start(faults="500=1")
    r = requests.get(sb.base_url.removesuffix("/v2") + "/elsewhere", timeout=5)
    assert r.status_code == 404
    assert sb.requests[0].fault is None


# -- on the wire: the download origin ---------------------------------------------------------


def test_download_origin_records_authorization_headers(start: Callable[..., Sandbox]) -> None:
    sb = start()
    url = sb.download_origin + "/reports/r1.csv"
    assert requests.get(url, timeout=5).text == CSV
    requests.get(url, headers={"Authorization": "Bearer KEY_leaky"}, timeout=5)
    assert sb.download_authorizations == ["Bearer KEY_leaky"]
    assert [x.has_authorization for x in sb.download_requests] == [False, True]
    assert "KEY_leaky" not in repr(sb.download_requests)


def test_short_sends_fewer_bytes_than_announced_then_closes(start: Callable[..., Sandbox]) -> None:
    sb = start(download_faults="short=1")
    host, port = sb.download_origin.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /reports/r1.csv HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):  # ends only because the server closes
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    assert head.startswith(b"HTTP/1.1 200")
    assert int(headers["Content-Length"]) == len(CSV)
    assert 0 < len(body) < len(CSV)
    assert CSV.encode().startswith(body)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(sb.download_origin + "/reports/r1.csv", timeout=5)


@pytest.mark.parametrize("status", [500, 503])
def test_download_server_errors(start: Callable[..., Sandbox], status: int) -> None:
    sb = start(download_faults={str(status): 1})
    r = requests.get(sb.download_origin + "/reports/r1.csv", timeout=5)
    assert r.status_code == status
    assert sb.app.downloaded == 0
    assert sb.download_requests[0].fault == str(status)


def test_download_reset(start: Callable[..., Sandbox]) -> None:
    sb = start(download_faults="reset=1")
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        requests.get(sb.download_origin + "/reports/r1.csv", timeout=5)
    assert sb.app.downloaded == 1


def test_api_and_download_faults_are_independent(start: Callable[..., Sandbox]) -> None:
    sb = start(faults="500=1")
    assert requests.get(sb.download_origin + "/reports/r1.csv", timeout=5).status_code == 200
    sb.set_faults(None)
    sb.set_download_faults("503=1")
    assert requests.get(sb.base_url + "/r", timeout=5).status_code == 200
    assert requests.get(sb.download_origin + "/reports/r1.csv", timeout=5).status_code == 503
    assert sb.faults == {} and sb.download_faults == {"503": 1.0}


# -- with the real application --------------------------------------------------------------


def test_a_faulted_post_creates_no_report(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(seed=2, days=3, faults="429=1")
    headers = {"Authorization": "Bearer KEY_faults"}
    url = sb.base_url + "/reports/mdr_usage_reports"
    body = {
        "aggregation_type": "NO_AGGREGATION",
        "start_date": "2020-01-01T00:00:00Z",
        "end_date": "2020-01-02T00:00:00Z",
    }
    assert requests.post(url, json=body, headers=headers, timeout=10).status_code == 429
    sb.set_faults(None)
    assert requests.get(url, headers=headers, timeout=10).json()["data"] == []
    # The same POST unfaulted does create one, so the empty list above means something.
    created = requests.post(url, json=body, headers=headers, timeout=10)
    assert created.status_code == 200, created.text
    assert len(requests.get(url, headers=headers, timeout=10).json()["data"]) == 1


# -- broken answers a real server can give (issue #10, items 1-6) ------------------------------


def test_html_200_is_a_maintenance_page_with_status_200(start: Callable[..., Sandbox]) -> None:
    sb = start(faults="html_200=1")
    r = requests.get(sb.base_url + "/reports/mdrs", timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<html>" in r.text
    with pytest.raises(ValueError):
        r.json()
    assert sb.app.handled == 0
    assert sb.requests[0].fault == "html_200" and sb.requests[0].status == 200


def test_errors_200_is_a_telnyx_error_body_with_status_200(start: Callable[..., Sandbox]) -> None:
    sb = start(faults="errors_200=1")
    r = requests.post(sb.base_url + "/reports/mdr_usage_reports", json={}, timeout=5)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"errors"} and body["errors"][0]["code"] == "10007"
    assert sb.app.handled == 0  # nothing created


def test_null_data_keeps_the_rest_of_the_answer(start: Callable[..., Sandbox]) -> None:
    sb = start(faults="null_data=1")
    r = requests.get(sb.base_url + "/reports/mdrs", timeout=5)
    assert r.status_code == 200
    assert r.json() == {"data": None}
    assert sb.app.handled == 1
    assert sb.requests[0].fault == "null_data"


def test_rewriting_faults_leave_error_answers_alone(sandbox_factory) -> None:
    sb = sandbox_factory(seed=2, days=2, faults="null_data=1")
    r = requests.get(sb.base_url + "/reports/wdrs", timeout=10)  # no key: a 401
    assert r.status_code == 401 and r.json()["errors"]
    assert sb.requests[0].fault is None  # the fault did not apply, and the log says so


def _wdr_page(sb: Sandbox, number: int, size: int = 5) -> requests.Response:
    return requests.get(
        sb.base_url + "/reports/wdrs",
        params={"page[number]": number, "page[size]": size},
        headers={"Authorization": "Bearer KEY_faults"},
        timeout=10,
    )


def test_repeat_page_answers_the_previous_pages_records_as_the_page_asked_for(
    sandbox_factory,
) -> None:
    sb = sandbox_factory(seed=2, days=2, until="2024-06-30")
    page2, page3 = _wdr_page(sb, 2).json(), _wdr_page(sb, 3).json()
    assert page2["data"] != page3["data"]
    sb.set_faults("repeat_page=1")
    repeated = _wdr_page(sb, 3).json()
    first = _wdr_page(sb, 1).json()
    assert repeated["data"] == page2["data"]
    assert repeated["meta"] == page3["meta"]  # it claims to be page 3
    assert [r.fault for r in sb.requests[-2:]] == ["repeat_page", None]  # page 1: no earlier
    assert first["meta"]["page_number"] == 1


def test_bad_meta_contradicts_the_request_and_itself(sandbox_factory) -> None:
    sb = sandbox_factory(seed=2, days=2, until="2024-06-30")
    honest = _wdr_page(sb, 2).json()
    sb.set_faults("bad_meta=1")
    lying = _wdr_page(sb, 2).json()
    assert lying["data"] == honest["data"]
    meta = lying["meta"]
    assert meta["page_size"] == 6  # 5 were asked for
    assert meta["total_pages"] == honest["meta"]["total_pages"] + 3
    assert meta["total_pages"] != math.ceil(meta["total_results"] / 5)


def test_odd_status_is_outside_each_documented_vocabulary(sandbox_factory) -> None:
    sb = sandbox_factory(seed=2, days=2, until="2024-06-30", report_delay=0)
    headers = {"Authorization": "Bearer KEY_faults"}
    window = {"start_time": "2024-06-29T00:00:00Z", "end_time": "2024-06-30T00:00:00Z"}
    legacy = sb.base_url + "/legacy/reporting/batch_detail_records/voice"  # 1..4
    words = sb.base_url + "/phone_numbers/csv_downloads"  # pending, complete, failed
    assert requests.post(legacy, json=window, headers=headers, timeout=10).ok
    assert requests.post(words, headers=headers, timeout=10).ok
    sb.set_faults("odd_status=1")
    assert {r["status"] for r in requests.get(legacy, headers=headers, timeout=10).json()["data"]} \
        == {9}
    assert {r["status"] for r in requests.get(words, headers=headers, timeout=10).json()["data"]} \
        == {"archived"}


def test_comma_amount_writes_one_amount_with_a_decimal_comma(sandbox_factory) -> None:
    sb = sandbox_factory(seed=2, days=2, until="2024-06-30")
    honest = _wdr_page(sb, 1).json()["data"]
    sb.set_faults("comma_amount=1")
    odd = _wdr_page(sb, 1).json()["data"]
    before, after = json.dumps(honest[0]), json.dumps(odd[0])
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [(".", ",")]  # one decimal point, of a WDR's rate {"amount": "0.0100"}
    assert odd[0]["rate"]["amount"].count(",") == 1
    assert odd[1:] == honest[1:]


def _raw_get(origin: str, path: str, seconds: float) -> bytes:
    """Whatever arrives within ``seconds`` (or until the server closes)."""
    host, port = origin.removeprefix("http://").split(":")
    got = b""
    deadline = time.monotonic() + seconds
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: sandbox\r\n\r\n".encode())
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            got += chunk
    return got


def test_trickle_sends_the_body_a_byte_at_a_time(start: Callable[..., Sandbox]) -> None:
    sb = start(faults="trickle=1", trickle_seconds=0.2)
    got = _raw_get(sb.base_url.removesuffix("/v2"), "/v2/reports/mdrs", seconds=1.1)
    head, _, body = got.partition(b"\r\n\r\n")
    whole = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    assert f"Content-Length: {len(whole)}".encode() in head  # the whole body is announced
    assert 3 <= len(body) <= 8  # about one byte every 0.2 s
    assert whole.startswith(body)
    assert sb.requests[0].fault == "trickle"


def test_download_gzip_cut_ends_the_compressed_stream_early(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(download_faults="gzip_cut=1")
    r = requests.get(sb.download_origin + "/reports/r1.csv", stream=True, timeout=5)
    raw = r.raw.read(decode_content=False)
    assert r.headers["Content-Encoding"] == "gzip"
    assert int(r.headers["Content-Length"]) == len(raw)  # true to what was sent
    whole = gzip.compress(CSV.encode(), mtime=0)
    assert raw == whole[: len(whole) // 2]
    with pytest.raises(EOFError):
        gzip.decompress(raw)


def test_download_short_unannounced_has_no_length_and_ends_mid_row(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(download_faults="short_unannounced=1")
    got = _raw_get(sb.download_origin, "/reports/r1.csv", seconds=5)
    head, _, body = got.partition(b"\r\n\r\n")
    assert b"Content-Length" not in head and b"Connection: close" in head
    assert body == CSV.encode()[: len(CSV) // 2]
    assert not body.endswith(b"\n")  # a partial last row
    # requests reads it as a whole, shorter file: nothing on the wire says otherwise.
    assert requests.get(sb.download_origin + "/reports/r1.csv", timeout=5).status_code == 200


def test_download_html_200_is_a_page_in_place_of_the_file(start: Callable[..., Sandbox]) -> None:
    sb = start(download_faults="html_200=1")
    r = requests.get(sb.download_origin + "/reports/r1.csv", timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "<html>" in r.text
    assert sb.app.downloaded == 0


def test_huge_meta_announces_two_billion_pages(sandbox_factory) -> None:
    sb = sandbox_factory(seed=2, days=2, until="2024-06-30")
    honest = _wdr_page(sb, 1).json()
    sb.set_faults("huge_meta=1")
    huge = _wdr_page(sb, 1).json()
    assert huge["data"] == honest["data"]
    assert huge["meta"]["total_pages"] == 2_000_000_000
    assert huge["meta"]["total_results"] == 2_000_000_000 * 5  # consistent, and absurd


def test_stuck_cursor_leads_back_to_the_same_page(sandbox_factory) -> None:
    sb = sandbox_factory(seed=2, days=2, until="2024-06-30")
    headers = {"Authorization": "Bearer KEY_faults"}
    url = sb.base_url + "/call_events"

    def page(after: str | None = None) -> dict:
        params = {"page[limit]": 3, **({"page[after]": after} if after else {})}
        return requests.get(url, params=params, headers=headers, timeout=10).json()

    first = page()
    sb.set_faults("stuck_cursor=1")
    cursor = first["meta"]["cursors"]["after"]
    second = page(cursor)
    assert second["meta"]["cursors"]["after"] == cursor  # "next" is this page again
    assert second["meta"]["next"].endswith(f"page[after]={cursor}")
    assert page(cursor)["data"] == second["data"]  # following it yields nothing new
    assert page()["meta"]["cursors"]["after"] == cursor  # a first page is left alone
    assert [r.fault for r in sb.requests[-3:]] == ["stuck_cursor", "stuck_cursor", None]


def test_no_id_creates_the_report_but_leaves_its_id_out(sandbox_factory) -> None:
    sb = sandbox_factory(seed=2, days=2, until="2024-06-30", faults="no_id=1")
    headers = {"Authorization": "Bearer KEY_faults"}
    url = sb.base_url + "/phone_numbers/csv_downloads"
    created = requests.post(url, headers=headers, timeout=10).json()["data"]
    assert created and all("id" not in r and r["status"] == "pending" for r in created)
    sb.set_faults(None)
    assert len(requests.get(url, headers=headers, timeout=10).json()["data"]) == 1
