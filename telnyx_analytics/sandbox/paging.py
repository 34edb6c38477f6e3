"""The paging styles of the reporting API, as the sandbox answers them.

One function per style reads and checks the parameters; one function cuts a page and
writes ``meta``. Limits per endpoint are in docs/sandbox.md ("Paging").
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

from ._web import ApiError, Request, bad_parameter

DEFAULT_SIZE = 20
MAX_SIZE = 250


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def meta(self, total: int) -> dict[str, int]:
        return {
            "page_number": self.number,
            "page_size": self.size,
            "total_pages": math.ceil(total / self.size) if total else 0,
            "total_results": total,
        }

    def cut(self, total: int) -> slice:
        """The slice of the full result this page shows (empty past the end)."""
        start = min(self.offset, total)
        return slice(start, min(start + self.size, total))


def _int_param(req: Request, name: str, default: int, lo: int, hi: int | None, status: int) -> int:
    raw = req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_parameter(name, f"{name} must be an integer, got {raw!r}.", status) from None
    if value < lo or (hi is not None and value > hi):
        bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise bad_parameter(name, f"{name} must be {bounds}, got {value}.", status)
    return value


def number_page(
    req: Request, *, max_size: int = MAX_SIZE, default_size: int = DEFAULT_SIZE, status: int = 400
) -> Page:
    """``page[number]`` / ``page[size]``."""
    return Page(
        _int_param(req, "page[number]", 1, 1, None, status),
        _int_param(req, "page[size]", default_size, 1, max_size, status),
    )


def legacy_page(req: Request, *, max_size: int = MAX_SIZE, status: int = 400) -> Page:
    """Legacy ``page`` / ``per_page``."""
    return Page(
        _int_param(req, "page", 1, 1, None, status),
        _int_param(req, "per_page", DEFAULT_SIZE, 1, max_size, status),
    )


@dataclass(frozen=True)
class Cursor:
    after: int | None  # position (exclusive) to continue after
    before: int | None  # position (exclusive) to go back from
    limit: int


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode().rstrip("=")


def decode_cursor(name: str, token: str, status: int) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "pos":
            raise ValueError(text)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise bad_parameter(name, f"{name} is not a cursor this API issued.", status) from None


def cursor_page(req: Request, *, max_size: int = MAX_SIZE, status: int = 422) -> Cursor:
    """``page[after]`` / ``page[before]`` / ``page[limit]`` (``"null"`` means unset)."""
    after = req.arg("page[after]")
    before = req.arg("page[before]")
    after = None if after in (None, "", "null") else after
    before = None if before in (None, "", "null") else before
    if after is not None and before is not None:
        raise ApiError(
            status,
            "10032",
            "Unprocessable entity",
            "page[after] and page[before] cannot be used together.",
            parameter="page[after]",
        )
    return Cursor(
        decode_cursor("page[after]", after, status) if after is not None else None,
        decode_cursor("page[before]", before, status) if before is not None else None,
        _int_param(req, "page[limit]", DEFAULT_SIZE, 1, max_size, status),
    )


def uses_cursor(req: Request) -> bool:
    return any(
        req.arg(k) not in (None, "", "null") for k in ("page[after]", "page[before]", "page[limit]")
    )


def cursor_cut(cursor: Cursor, total: int) -> tuple[slice, dict]:
    """The slice a cursor selects, and its ``meta`` (cursors to the next and previous page)."""
    if cursor.before is not None:
        stop = min(cursor.before, total)
        start = max(0, stop - cursor.limit)
    else:
        start = 0 if cursor.after is None else min(cursor.after, total)
        stop = min(start + cursor.limit, total)
    cursors: dict[str, str] = {}
    if stop < total:
        cursors["after"] = encode_cursor(stop)
    if start > 0:
        cursors["before"] = encode_cursor(start)
    meta = {"page_size": cursor.limit, "total_results": total, "cursors": cursors}
    return slice(start, stop), meta
