"""The exception tree and how error answers become typed errors (no network)."""

from __future__ import annotations

import json
import pickle

import pytest

from telnyx_analytics import errors
from telnyx_analytics.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IncompleteResultError,
    InternalServerError,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReportFailedError,
    ReportTimeoutError,
    TelnyxAnalyticsError,
    UnprocessableEntityError,
    error_from_response,
)


def telnyx_body(*items: dict) -> bytes:
    return json.dumps({"errors": list(items)}).encode()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (599, InternalServerError),
    ],
)
def test_each_status_family_maps_to_its_class(status: int, cls: type) -> None:
    err = error_from_response(status, telnyx_body({"code": "1", "title": "x"}))
    assert type(err) is cls
    assert isinstance(err, APIStatusError)
    assert isinstance(err, TelnyxAnalyticsError)
    assert err.status == status


@pytest.mark.parametrize("status", [405, 408, 410, 418, 302])
def test_other_statuses_are_plain_status_errors(status: int) -> None:
    err = error_from_response(status, b"")
    assert type(err) is APIStatusError
    assert err.status == status


def test_telnyx_fields_are_carried() -> None:
    body = telnyx_body(
        {
            "code": "10015",
            "title": "Invalid value",
            "detail": "end_time is required.",
            "source": {"pointer": "/end_time"},
        },
        {"code": "10016", "title": "Another problem"},
    )
    err = error_from_response(400, body, method="POST", url="/v2/legacy/reporting/usage_reports")
    assert (err.code, err.title, err.detail, err.pointer) == (
        "10015",
        "Invalid value",
        "end_time is required.",
        "/end_time",
    )
    assert len(err.errors) == 2
    message = str(err)
    assert "\n" not in message
    for part in ("400", "POST", "/v2/legacy/reporting/usage_reports", "Invalid value",
                 "end_time is required.", "10015", "/end_time", "+1 more"):
        assert part in message
    assert err.body_excerpt is None


def test_integer_codes_parameters_and_message_titles() -> None:
    # Billing-group errors have integer codes; query-parameter errors name a parameter;
    # session-analysis errors say "message" instead of "title".
    err = error_from_response(
        422, telnyx_body({"code": 10032, "title": "Bad filter", "source": {"parameter": "x"}})
    )
    assert err.code == "10032"
    assert err.parameter == "x"
    assert "parameter x" in str(err)
    err = error_from_response(404, telnyx_body({"code": "NOT_FOUND", "message": "No session"}))
    assert err.title == "No session"
    assert "No session" in str(err)


def test_multiline_detail_becomes_one_line() -> None:
    err = error_from_response(500, telnyx_body({"title": "Oops", "detail": "line one\n  line two"}))
    assert "\n" not in str(err)
    assert "line one line two" in str(err)


def test_html_page_from_a_proxy_gives_a_typed_error_with_an_excerpt() -> None:
    page = b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>" + b"x" * 5000 + b"</html>"
    err = error_from_response(502, page, method="GET", url="/v2/reports/mdrs")
    assert isinstance(err, InternalServerError)
    assert err.code is None and err.title is None and err.errors == []
    assert err.body_excerpt is not None
    assert err.body_excerpt.startswith("<html> <head><title>502 Bad Gateway</title>")
    assert len(err.body_excerpt) <= errors.EXCERPT_CHARS
    assert "502 Bad Gateway" in str(err)
    assert len(str(err)) < 400  # short, even for a long page
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    "body",
    [
        b'{"errors": [{"code": "10007", "tit',
        b"",
        b"null",
        b"[1, 2]",
        b'{"errors": "no"}',
        b"\xff\xfe",
    ],
)
def test_unusable_bodies_still_give_a_typed_error(body: bytes) -> None:
    err = error_from_response(503, body)
    assert isinstance(err, InternalServerError)
    assert err.status == 503
    assert err.body_excerpt is not None
    assert str(err).startswith("503 Service Unavailable")


def test_redact_removes_a_secret_echoed_by_the_server() -> None:
    secret = "KEY_very_secret_123"
    body = telnyx_body({"title": f"Bad key {secret}", "detail": f"key={secret}",
                        "meta": {"echo": secret}})

    def redact(text: str) -> str:
        return text.replace(secret, "<redacted>")

    err = error_from_response(401, body, redact=redact)
    assert secret not in str(err)
    assert secret not in repr(err)
    assert secret not in json.dumps(err.errors)
    err = error_from_response(502, f"<html>{secret}</html>", redact=redact)
    assert secret not in str(err) and secret not in (err.body_excerpt or "")


def test_attempts_and_retry_after_are_kept() -> None:
    err = error_from_response(429, b"{}", retry_after=1.5, attempts=4,
                              headers={"x-request-id": "req-1"})
    assert err.retry_after == 1.5
    assert err.attempts == 4
    assert err.request_id == "req-1"
    assert str(err).endswith("(after 4 attempts)")
    assert "attempts" not in str(error_from_response(429, b"{}", attempts=1))


def test_connection_errors() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert not issubclass(APIConnectionError, APIStatusError)
    err = APITimeoutError("no answer", method="GET", url="/v2/x", attempts=6, unsent=True)
    assert str(err) == "GET /v2/x: no answer (after 6 attempts)"
    assert err.unsent and err.attempts == 6


def test_report_errors_carry_kind_and_id() -> None:
    failed = ReportFailedError("wdr", "r-1", status="failed", report={"id": "r-1"})
    assert (failed.kind, failed.report_id, failed.status) == ("wdr", "r-1", "failed")
    assert "r-1" in str(failed) and "wdr" in str(failed)
    late = ReportTimeoutError("cdr_detail", "r-2", timeout=30)
    assert (late.kind, late.report_id, late.timeout) == ("cdr_detail", "r-2", 30)
    assert "reports.wait('cdr_detail', 'r-2')" in str(late)
    short = IncompleteResultError("/reports/wdrs", expected=10, received=7)
    assert (short.expected, short.received) == (10, 7)
    assert "10" in str(short) and "7" in str(short)


def test_missing_key_names_the_variable() -> None:
    assert "TELNYX_API_KEY" in str(MissingAPIKeyError())
    assert issubclass(MissingAPIKeyError, TelnyxAnalyticsError)


@pytest.mark.parametrize(
    "err",
    [
        error_from_response(404, telnyx_body({"code": "10005", "title": "Nope"}), url="/v2/x"),
        error_from_response(502, b"<html>bad</html>"),
        APIConnectionError("dropped", method="GET", url="/v2/x", attempts=3, unsent=False),
        APITimeoutError("slow", attempts=2),
        ReportFailedError("wdr", "r-1", status="failed"),
        ReportTimeoutError("wdr", "r-1", timeout=5),
        IncompleteResultError("/x", expected=2, received=1),
        MissingAPIKeyError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_survive_pickling(err: Exception) -> None:
    # pytest-xdist and multiprocessing pickle exceptions between processes.
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert back.__dict__ == err.__dict__


def test_status_code_is_an_alias_of_status() -> None:
    err = error_from_response(409, telnyx_body({"code": "10015", "title": "Conflict"}))
    assert isinstance(err, ConflictError)
    assert err.status_code == err.status == 409
