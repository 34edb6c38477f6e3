"""Check sandbox answers against Telnyx's OpenAPI description with openapi-core.

The description lives outside the repository (``../shared/telnyx-openapi/reports.yml`` from
the repo root). When it is absent, every check skips with a clear reason, so a fresh clone
still passes its suite (and fails under ``.ci/run``: see ``tests/contract.py``).

>>> validate("GET", "/v2/reports/mdrs", {"page[size]": "5"}, 200, body)  # doctest: +SKIP

Only the description's data is used: its ``servers`` entry is replaced by a local origin,
so nothing here ever names or reaches the real API.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from contract import SPEC_PATH, require_spec

_ORIGIN = "http://127.0.0.1"


@functools.lru_cache(maxsize=1)
def _raw() -> dict[str, Any]:
    import yaml

    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@functools.lru_cache(maxsize=1)
def _openapi() -> Any:
    """The parsed description (parsed once per process: it is 150 kB of YAML)."""
    import copy

    from openapi_core import Config, OpenAPI
    from openapi_core.deserializing.media_types.util import plain_loads

    data = copy.deepcopy(_raw())
    # Requests are matched against this origin instead of the real one.
    data["servers"] = [{"url": f"{_ORIGIN}/v2"}]
    # openapi-core reads unknown media types as bytes; CSV answers are text (schema: string).
    config = Config(extra_media_type_deserializers={"text/csv": plain_loads})
    return OpenAPI.from_dict(data, config=config)


def available() -> bool:
    """Whether the description is there (for tests that check more than the schema and
    should still run, without the schema check, in a fresh clone)."""
    return SPEC_PATH.is_file()


def _skip_if_absent() -> None:
    require_spec()


def spec() -> Any:
    """The ``OpenAPI`` object, or ``pytest.skip`` when the description is absent."""
    _skip_if_absent()
    return _openapi()


def spec_dict() -> dict[str, Any]:
    """The description as plain data (read-only), e.g. for tests that read its enums."""
    _skip_if_absent()
    return _raw()


def _query_multidict(query: Mapping[str, Any] | Sequence[tuple[str, Any]] | None) -> Any:
    from werkzeug.datastructures import ImmutableMultiDict

    items: list[tuple[str, str]] = []
    pairs = query.items() if isinstance(query, Mapping) else (query or [])
    for key, value in pairs:
        values = value if isinstance(value, list | tuple) else [value]
        items.extend((key, str(v)) for v in values)
    return ImmutableMultiDict(items)


class _Request:
    """The request side of openapi-core's protocol, built from plain values."""

    def __init__(
        self, method: str, path: str, query: Any, body: bytes | None, content_type: str
    ) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = _ORIGIN
        self.path = path
        self.method = method.lower()
        self.body = body
        self.content_type = content_type
        self.parameters = RequestParameters(
            query=_query_multidict(query),
            header=Headers({"Authorization": "Bearer test"}),
            cookie=ImmutableMultiDict(),
            path={},
        )


class _Response:
    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = status
        self.data = body
        self.content_type = content_type
        self.headers = Headers({"Content-Type": content_type})


def _describe(exc: BaseException, limit: int = 20) -> list[str]:
    """Flatten openapi-core's nested errors into short readable lines (the offending
    value itself is left out: it can be a whole page of records)."""
    schema_errors = list(getattr(exc, "schema_errors", None) or [])
    if schema_errors:
        lines = [f"{type(exc).__name__}: {len(schema_errors)} schema error(s)"]
        for sub in schema_errors[:limit]:
            where = "/".join(str(p) for p in getattr(sub, "absolute_path", []) or [])
            lines.append(f"  at /{where}: {str(getattr(sub, 'message', sub))[:200]}")
        if len(schema_errors) > limit:
            lines.append(f"  ... and {len(schema_errors) - limit} more")
    else:
        lines = [f"{type(exc).__name__}: {str(exc)[:300]}"]
    cause = exc.__cause__ or exc.__context__
    if cause is not None and cause is not exc:
        lines.extend("  " + line for line in _describe(cause, limit))
    return lines


def _as_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def validate(
    method: str,
    path_with_v2: str,
    query: Mapping[str, Any] | Sequence[tuple[str, Any]] | None,
    status: int,
    body: bytes | str | Any,
    content_type: str = "application/json",
    request_body: bytes | str | Any | None = None,
    *,
    check_request: bool = False,
) -> None:
    """Assert that an answer matches the description's response for that operation.

    Parameters
    ----------
    method, path_with_v2
        The request, e.g. ``"GET"``, ``"/v2/reports/mdrs"`` (a path with ``/v2`` in front).
    query
        Query parameters as a mapping (values may be lists) or a list of pairs.
    status, body, content_type
        The answer. ``body`` may be bytes, text, or a JSON-able object.
    request_body
        The request body, for operations that take one (POST).
    check_request
        Also validate the request itself (off by default: error answers are usually
        answers to requests that the description rejects).

    Raises
    ------
    AssertionError
        Listing every schema error, with the answer's first bytes.
    """
    openapi = spec()
    req_bytes = None if request_body is None else _as_bytes(request_body)
    request = _Request(
        method, path_with_v2, query, req_bytes, "application/json" if req_bytes else ""
    )
    data = _as_bytes(body)
    response = _Response(status, data, content_type)
    errors = list(openapi.iter_request_errors(request)) if check_request else []
    errors += openapi.iter_response_errors(request, response)
    problems = [line for err in errors for line in _describe(err)]
    if problems:
        raise AssertionError(
            f"{method.upper()} {path_with_v2} -> {status} does not match reports.yml:\n"
            + "\n".join(problems)
            + f"\nbody: {data[:300]!r}"
        )


def validate_response(request: Any, response: Any, request_body: Any = None) -> None:
    """:func:`validate` for the sandbox's own ``Request`` / ``Response`` objects.

    ``request.path`` is relative to ``/v2``, as the sandbox's routes see it.
    """
    validate(
        request.method,
        "/v2" + request.path,
        [(k, v) for k, vs in request.query.items() for v in vs],
        response.status,
        response.body,
        response.content_type,
        request_body if request_body is not None else (request.body or None),
    )
