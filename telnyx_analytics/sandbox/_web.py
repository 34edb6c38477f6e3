"""The sandbox's tiny web layer: requests, responses, errors in Telnyx's format, a router.

Kept free of sockets so that routes can be called directly; `server.py` moves the bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    """One HTTP request as the routes see it.

    ``path`` is relative to the API root (``/reports/mdrs``, without ``/v2``).
    ``query`` keeps the raw keys, so deepObject parameters read as ``"page[number]"`` or
    ``"filter[occurred_at][gte]"``.
    """

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    account: Any = None  # set by the app once the key is checked
    path_params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_target(
        cls, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Request:
        """Build from a request target such as ``/reports/mdrs?page[size]=5``."""
        path, _, qs = target.partition("?")
        return cls(
            method=method.upper(),
            path=path,
            query=parse_qs(qs, keep_blank_values=True),
            headers={k.lower(): v for k, v in (headers or {}).items()},
            body=body,
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query parameter, or ``default``."""
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """All values of an array parameter: repeated (``a=1&a=2``), bracketed
        (``a[]=1``) or comma-separated (``a=1,2``)."""
        out: list[str] = []
        for key in (name, f"{name}[]"):
            for value in self.query.get(key, []):
                out.extend(v for v in value.split(",") if v != "")
        return out

    def json(self) -> Any:
        """The body as JSON; a 400 in Telnyx's format when it is not JSON."""
        if not self.body:
            raise ApiError(400, "10015", "Bad Request", "The request body is missing.")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ApiError(
                400, "10015", "Bad Request", f"The request body is not JSON: {exc}"
            ) from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(obj, separators=(",", ":")).encode())

    @classmethod
    def csv(cls, text: str | bytes, status: int = 200) -> Response:
        data = text.encode() if isinstance(text, str) else text
        return cls(status, data, content_type="text/csv")


class ApiError(Exception):
    """An error answer in Telnyx's format: ``{"errors": [{code, title, detail, source}]}``.

    ``pointer`` names a body field (``/start_time``), ``parameter`` a query parameter.
    Session analysis answers also carry ``message``, which its schema requires.
    """

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.pointer = pointer
        self.parameter = parameter

    def response(self, *, with_message: bool = False) -> Response:
        error: dict[str, Any] = {"code": self.code, "title": self.title, "detail": self.detail}
        source = {}
        if self.pointer:
            source["pointer"] = self.pointer
        if self.parameter:
            source["parameter"] = self.parameter
        if source:
            error["source"] = source
        if with_message:
            error["message"] = self.title
        return Response.json({"errors": [error]}, status=self.status)


def bad_parameter(name: str, detail: str, status: int = 400) -> ApiError:
    """A 400 (or ``status``) naming the offending query parameter."""
    title = "Invalid parameter" if status == 400 else "Unprocessable entity"
    return ApiError(status, "10032" if status == 422 else "10011", title, detail, parameter=name)


def bad_field(pointer: str, detail: str, status: int = 400) -> ApiError:
    """A 400 (or ``status``) naming the offending body field by JSON pointer."""
    title = "Invalid value" if status == 400 else "Unprocessable entity"
    return ApiError(status, "10032" if status == 422 else "10015", title, detail, pointer=pointer)


def not_found(what: str) -> ApiError:
    return ApiError(404, "10005", "Resource not found", f"{what} was not found.")


Handler = Callable[[Request], Response]


class Router:
    """Routes ``(method, "/path/{param}")`` to handlers; unknown paths are 404, unknown
    methods on a known path 405."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

        def register(handler: Handler) -> Handler:
            self._routes.append((method.upper(), regex, handler))
            return handler

        return register

    def match(self, request: Request) -> Handler:
        allowed = False
        for method, regex, handler in self._routes:
            m = regex.match(request.path)
            if not m:
                continue
            allowed = True
            if method == request.method:
                request.path_params = m.groupdict()
                return handler
        if allowed:
            raise ApiError(
                405, "10006", "Method not allowed", f"{request.method} is not allowed here."
            )
        raise not_found(f"The path {request.path}")

    def operations(self) -> list[tuple[str, str]]:
        """(method, regex) of every route, for tests that count the 44 operations."""
        return [(method, regex.pattern) for method, regex, _ in self._routes]
