"""The exception tree of telnyx-analytics.

Every error this package raises on purpose is a :class:`TelnyxAnalyticsError`. An answer
from the API with an error status becomes the :class:`APIStatusError` subclass of its
status family, carrying Telnyx's error fields (``code``, ``title``, ``detail``,
``pointer``) when the body has them. Messages are one readable line and never contain
the API key.

>>> import telnyx_analytics.errors as errors
>>> err = errors.error_from_response(
...     404, b'{"errors": [{"code": "10005", "title": "Resource not found"}]}',
...     method="GET", url="/v2/reports/mdr_usage_reports/42")
>>> type(err).__name__, err.status, err.code
('NotFoundError', 404, '10005')
>>> str(err)
'404 Not Found from GET /v2/reports/mdr_usage_reports/42: Resource not found (code 10005)'
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "IncompleteResultError",
    "InternalServerError",
    "MissingAPIKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReportFailedError",
    "ReportTimeoutError",
    "SessionCostError",
    "TelnyxAnalyticsError",
    "UnexpectedResponseError",
    "UnprocessableEntityError",
    "error_from_response",
]

# How much of a body that is not Telnyx JSON (a proxy's HTML page, a cut body) goes into a
# message: enough to recognise it, short enough to stay one line.
EXCERPT_CHARS = 160


class TelnyxAnalyticsError(Exception):
    """Base class of every error raised by telnyx-analytics.

    >>> issubclass(NotFoundError, TelnyxAnalyticsError)
    True
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions with keyword-only constructors do not pickle by default
        # (multiprocessing, pytest-xdist): rebuild from the message and the attributes.
        return (_rebuild, (type(self), self.args, self.__dict__))


class MissingAPIKeyError(TelnyxAnalyticsError):
    """No API key was given and ``TELNYX_API_KEY`` is not set.

    >>> str(MissingAPIKeyError()).startswith("No Telnyx API key")
    True
    """

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "No Telnyx API key: set the TELNYX_API_KEY environment variable, "
            "or pass api_key= to telnyx_analytics.Client(...) or telnyx_analytics.configure(...)"
        )


class APIConnectionError(TelnyxAnalyticsError):
    """The API could not be reached, or its answer did not arrive whole.

    Raised after the configured retries; ``attempts`` says how many were made.

    >>> err = APIConnectionError("connection refused", method="GET", url="/v2/x", attempts=3)
    >>> str(err)
    'GET /v2/x: connection refused (after 3 attempts)'
    """

    def __init__(
        self,
        reason: str,
        *,
        method: str | None = None,
        url: str | None = None,
        attempts: int = 1,
        unsent: bool = False,
    ) -> None:
        self.reason = reason
        self.method = method
        self.url = url
        self.attempts = attempts
        # True only when the request provably never reached the server (it failed while
        # connecting), which is what makes retrying a POST safe.
        self.unsent = unsent
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.method} {self.url}: " if self.method and self.url else ""
        return f"{where}{self.reason}{_attempts_suffix(self.attempts)}"


class APITimeoutError(APIConnectionError):
    """The API did not answer within the client's ``timeout``.

    >>> issubclass(APITimeoutError, APIConnectionError)
    True
    """


class APIStatusError(TelnyxAnalyticsError):
    """The API answered with an error status (4xx or 5xx).

    Attributes
    ----------
    status : int
        The HTTP status code (also as ``status_code``, the official SDK's name).
    code, title, detail, pointer, parameter : str or None
        Telnyx's fields of the first error in the body, when it has them.
    errors : list of dict
        Every error object of the body (empty when the body is not Telnyx JSON).
    body_excerpt : str or None
        The start of a body that is not Telnyx JSON (for example a proxy's HTML page).
    retry_after : float or None
        Seconds the server asked us to wait, when it said so: its ``Retry-After``, or on
        a 429 without one, the ``x-ratelimit-reset`` of the spent window.
    attempts : int
        How many attempts were made before giving up.
    label : str or None
        What was being fetched, when the URL alone does not say (a report file: its kind
        and id); the message starts with it.

    >>> err = error_from_response(503, b"<html>busy</html>", method="GET", url="/v2/x")
    >>> isinstance(err, InternalServerError), err.body_excerpt, err.status_code
    (True, '<html>busy</html>', 503)
    """

    @property
    def status_code(self) -> int:
        """The HTTP status code: an alias of ``status``, as the official SDK names it."""
        return self.status

    def __init__(
        self,
        status: int,
        *,
        method: str | None = None,
        url: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        body_excerpt: str | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        attempts: int = 1,
        label: str | None = None,
    ) -> None:
        self.status = status
        self.label = label
        self.method = method
        self.url = url
        self.errors = list(errors or [])
        first = self.errors[0] if self.errors else {}
        given = first.get("source")
        source: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        self.code = _text(first.get("code"))
        # Session-analysis errors say "message" where every other family says "title".
        self.title = _text(first.get("title")) or _text(first.get("message"))
        self.detail = _text(first.get("detail"))
        self.pointer = _text(source.get("pointer"))
        self.parameter = _text(source.get("parameter"))
        self.body_excerpt = body_excerpt
        self.retry_after = retry_after
        self.request_id = request_id
        self.attempts = attempts
        super().__init__(self._message())

    def _message(self) -> str:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Error"
        head = f"{self.status} {phrase}"
        if self.method and self.url:
            head += f" from {self.method} {self.url}"
        parts: list[str] = []
        if self.title:
            parts.append(self.title)
        if self.detail and self.detail != self.title:
            parts.append(self.detail)
        text = " - ".join(parts)
        tags = []
        if self.code:
            tags.append(f"code {self.code}")
        if self.pointer:
            tags.append(f"at {self.pointer}")
        elif self.parameter:
            tags.append(f"parameter {self.parameter}")
        if self.retry_after is not None:
            tags.append(f"retry after {self.retry_after:g} s")
        if tags:
            text = f"{text} ({', '.join(tags)})" if text else ", ".join(tags)
        if len(self.errors) > 1:
            text += f" (+{len(self.errors) - 1} more)"
        if not text and self.body_excerpt is not None:
            text = f"non-JSON body: {self.body_excerpt!r}" if self.body_excerpt else "empty body"
        message = f"{head}: {text}" if text else head
        if self.label:
            message = f"{self.label}: {message}"
        return _one_line(message) + _attempts_suffix(self.attempts)


class BadRequestError(APIStatusError):
    """400: the request's parameters were rejected."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this (for example a read-only key creating a report)."""


class NotFoundError(APIStatusError):
    """404: no such resource (for example an unknown report id)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's current state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was understood but its values are invalid."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` says how long the server asked to wait."""


class InternalServerError(APIStatusError):
    """5xx: the API (or a proxy in front of it) failed."""


class IncompleteResultError(TelnyxAnalyticsError):
    """A listing returned fewer records than the API announced in its ``meta``.

    Raised instead of returning a silently short frame.

    >>> str(IncompleteResultError("/reports/wdrs", expected=500, received=480))
    '/reports/wdrs: the API announced 500 records but 480 arrived'
    """

    def __init__(self, path: str, *, expected: int, received: int) -> None:
        self.path = path
        self.expected = expected
        self.received = received
        super().__init__(
            f"{path}: the API announced {expected} records but {received} arrived"
        )


class UnexpectedResponseError(TelnyxAnalyticsError):
    """An answer that is not what the operation documents.

    A 200 whose body has the wrong shape, a malformed value (money, a timestamp, an
    integer), a report file cut short or not a CSV at all. Nothing that raised it is
    cached, written or counted as complete.

    Attributes
    ----------
    endpoint : str
        The operation's path (or a report kind and id) the answer came from.
    reason : str
        What was wrong, in words.
    field : str or None
        The field or column at fault, when there is one.
    record : str or None
        The record's id, or ``"row N"``, when there is one.

    >>> err = UnexpectedResponseError("/reports/mdrs", "'12,50' is not an amount",
    ...                               field="cost", record="m-1")
    >>> str(err)
    "/reports/mdrs: field 'cost' of record m-1: '12,50' is not an amount"
    """

    def __init__(
        self,
        endpoint: str,
        reason: str,
        *,
        field: str | None = None,
        record: Any = None,
    ) -> None:
        self.endpoint = endpoint
        self.reason = reason
        self.field = field
        self.record = None if record is None else str(record)
        where = ""
        if field is not None:
            where = f"field {field!r}"
            if self.record is not None:
                where += f" of record {self.record}"
            where += ": "
        elif self.record is not None:
            where = f"record {self.record}: "
        super().__init__(_one_line(f"{endpoint}: {where}{reason}"))


class SessionCostError(TelnyxAnalyticsError, ValueError):
    """A session tree breaks its cost invariant; ``violations`` lists the nodes.

    Raised by :func:`telnyx_analytics.session_costs` (and
    :func:`telnyx_analytics.session_totals` with ``check=True``). It is also a
    ``ValueError``, as it was before it joined this tree, so existing ``except ValueError``
    code still catches it.

    Attributes
    ----------
    violations : DataFrame
        One row per offending node: ``id``, ``event_name``, ``depth``,
        ``cumulative_cost``, ``expected`` and ``problem`` (see ``SessionTree.check``).

    >>> import pandas as pd
    >>> err = SessionCostError(pd.DataFrame({"id": ["c1"], "event_name": ["call"],
    ...                                      "depth": [0], "problem": ["missing cost"]}))
    >>> str(err)
    '1 node(s) break the session cost invariant: node c1 (call, depth 0): missing cost'
    """

    def __init__(self, violations: Any) -> None:
        self.violations = violations
        lines = [f"{len(violations)} node(s) break the session cost invariant:"]
        for row in violations.head(5).itertuples(index=False):
            lines.append(f"node {row.id!s} ({row.event_name!s}, depth {row.depth}): {row.problem}")
        if len(violations) > 5:
            lines.append(f"... and {len(violations) - 5} more (see .violations)")
        super().__init__(" ".join(lines))


class ReportFailedError(TelnyxAnalyticsError):
    """An asynchronous report ended in a failed (or expired) state.

    >>> err = ReportFailedError("wdr", "abc", status="failed")
    >>> err.kind, err.report_id, str(err)
    ('wdr', 'abc', "wdr report abc ended with status 'failed'")
    """

    def __init__(
        self,
        kind: str,
        report_id: str,
        *,
        status: Any = None,
        report: Mapping[str, Any] | None = None,
        message: str | None = None,
    ) -> None:
        self.kind = kind
        self.report_id = report_id
        self.status = status
        self.report = dict(report) if report is not None else None
        super().__init__(message or f"{kind} report {report_id} ended with status {status!r}")


class ReportTimeoutError(TelnyxAnalyticsError):
    """An asynchronous report was not ready in time; resume later with ``reports.wait``.

    >>> err = ReportTimeoutError("cdr_detail", "abc", timeout=60)
    >>> str(err)
    "cdr_detail report abc not ready after 60 s; resume with reports.wait('cdr_detail', 'abc')"
    """

    def __init__(
        self,
        kind: str,
        report_id: str,
        *,
        timeout: float | None = None,
        status: Any = None,
        message: str | None = None,
    ) -> None:
        self.kind = kind
        self.report_id = report_id
        self.timeout = timeout
        self.status = status
        after = f" after {timeout:g} s" if timeout is not None else ""
        super().__init__(
            message
            or f"{kind} report {report_id} not ready{after}; "
            f"resume with reports.wait({kind!r}, {report_id!r})"
        )


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The exception class for an HTTP status.

    >>> status_error_class(502).__name__, status_error_class(409).__name__
    ('InternalServerError', 'ConflictError')
    >>> status_error_class(418).__name__
    'APIStatusError'
    """
    if status >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status, APIStatusError)


def error_from_response(
    status: int,
    body: bytes | str | None,
    *,
    method: str | None = None,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
    retry_after: float | None = None,
    attempts: int = 1,
    redact: Callable[[str], str] | None = None,
    label: str | None = None,
) -> APIStatusError:
    """Build the typed error for an error answer, whatever its body looks like.

    Parameters
    ----------
    status : int
        The HTTP status.
    body : bytes or str or None
        The raw body: Telnyx's ``{"errors": [...]}`` JSON, or anything else (an HTML page, a
        truncated body), of which a short excerpt is kept.
    method, url : str, optional
        What was requested, for the message (the URL without its origin is enough).
    headers : mapping, optional
        Response headers (``x-request-id`` is kept).
    retry_after : float, optional
        Seconds from ``Retry-After``, already parsed.
    attempts : int
        How many attempts were made.
    redact : callable, optional
        Applied to every text taken from the body, so that a server echoing a secret
        cannot put it into a message.
    label : str, optional
        What was being fetched (a report file's kind and id), to start the message.

    Returns
    -------
    APIStatusError
        An instance of the subclass for the status family.

    Examples
    --------
    >>> err = error_from_response(422, '{"errors": [{"code": 10015, "title": "Bad filter",'
    ...     ' "source": {"pointer": "/filter/type"}}]}')
    >>> err.code, err.pointer
    ('10015', '/filter/type')
    """
    redact = redact or (lambda text: text)
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    errors: list[dict[str, Any]] = []
    excerpt: str | None = None
    try:
        parsed = json.loads(text) if text.strip() else None
    except ValueError:
        parsed = None
    if isinstance(parsed, Mapping) and isinstance(parsed.get("errors"), list):
        errors = [_redact_error(e, redact) for e in parsed["errors"] if isinstance(e, Mapping)]
    if not errors:
        excerpt = redact(_excerpt(text))
    request_id = None
    if headers is not None:
        request_id = headers.get("x-request-id") or headers.get("X-Request-Id")
    cls = status_error_class(status)
    return cls(
        status,
        method=method,
        url=url,
        errors=errors,
        body_excerpt=excerpt,
        retry_after=retry_after,
        request_id=request_id,
        attempts=attempts,
        label=label,
    )


def _redact_error(error: Mapping[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in error.items():
        if isinstance(value, str):
            out[key] = redact(value)
        elif isinstance(value, Mapping):
            out[key] = _redact_error(value, redact)
        else:
            out[key] = value
    return out


def _excerpt(text: str) -> str:
    flat = _one_line(text)
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _one_line(str(value))


def _attempts_suffix(attempts: int) -> str:
    return f" (after {attempts} attempts)" if attempts > 1 else ""


def _rebuild(
    cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]
) -> Exception:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err
