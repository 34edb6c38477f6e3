"""Injected faults: which request gets one, and what each fault looks like on the wire.

The server asks a :class:`FaultPicker` for every request; the picker answers a fault
kind or ``None``. Every kind is something a real server, or a proxy in front of one, can
do. Four families:

- answers that replace the app's (:data:`REPLACING`, built by :func:`error_response`):
  the app never sees the request, so a faulted POST creates nothing;
- the app's own answer, altered (:data:`REWRITING`, :func:`rewrite`), and ``repeat_page``
  (the previous page's records again, :func:`previous_page`);
- faults of the socket (``reset``, ``truncate``, ``trickle``, ``slow``), carried out by
  ``server.py``;
- the download origin's (:data:`DOWNLOAD_KINDS`), :func:`download_error_response` and
  :func:`download_rewrite`.

See docs/sandbox.md, "Faults and latency", for what each kind sends.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Mapping
from typing import Any

from ._web import ApiError, Response
from .ratelimit import too_many_requests

# Fixed orders: the picker walks kinds in this order, so "429=0.1,500=0.1" and
# "500=0.1,429=0.1" give the same sequence for a seed. New kinds go at the end, so that
# a seed's sequence of the older kinds stays the same.
API_KINDS: tuple[str, ...] = (
    "429", "500", "502", "503", "reset", "truncate", "html", "slow",
    "html_200", "errors_200", "null_data", "repeat_page", "bad_meta", "odd_status",
    "comma_amount", "trickle", "huge_meta", "stuck_cursor", "no_id",
)  # fmt: skip
DOWNLOAD_KINDS: tuple[str, ...] = (
    "short", "500", "503", "reset", "gzip_cut", "short_unannounced", "html_200",
)  # fmt: skip
#: API kinds answered without calling the app.
REPLACING = frozenset({"429", "500", "502", "503", "html", "html_200", "errors_200"})
#: API kinds that alter the app's 200 JSON answer (and do nothing to any other answer).
REWRITING = frozenset(
    {"null_data", "bad_meta", "odd_status", "comma_amount", "huge_meta", "stuck_cursor", "no_id"}
)

FaultSpec = str | Mapping[str, float] | None


def parse_faults(spec: FaultSpec, kinds: tuple[str, ...] = API_KINDS) -> dict[str, float]:
    """Read and check a fault spec such as ``"429=0.1,500=0.05,reset=0.02"``.

    Parameters
    ----------
    spec
        Comma-separated ``kind=rate`` pairs, a mapping of kind to rate, or ``None`` /
        ``""`` for no faults.
    kinds
        The kinds allowed: :data:`API_KINDS` (default) or :data:`DOWNLOAD_KINDS`.

    Returns
    -------
    dict[str, float]
        Rate per kind, zero rates left out.

    Raises
    ------
    ValueError
        Naming the bad pair, kind or rate: unknown kinds, rates outside [0, 1], a kind
        given twice, or rates that add up to more than 1.

    Examples
    --------
    >>> parse_faults("429=0.1, reset=0.02")
    {'429': 0.1, 'reset': 0.02}
    >>> parse_faults({"slow": 1})
    {'slow': 1.0}
    """
    if spec is None:
        return {}
    if isinstance(spec, str):
        pairs: list[tuple[str, object]] = []
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            kind, sep, rate = item.partition("=")
            if not sep:
                raise ValueError(f"fault {item!r} is not of the form kind=rate (e.g. 429=0.1)")
            pairs.append((kind.strip(), rate.strip()))
    elif isinstance(spec, Mapping):
        pairs = [(str(kind), rate) for kind, rate in spec.items()]
    else:
        raise TypeError(
            f"faults must be a 'kind=rate,...' string or a dict, not {type(spec).__name__}"
        )

    rates: dict[str, float] = {}
    for kind, raw in pairs:
        if kind not in kinds:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(kinds)}")
        if kind in rates:
            raise ValueError(f"fault kind {kind!r} is given twice")
        try:
            rate = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"fault rate for {kind!r} must be a number, got {raw!r}") from None
        if not 0.0 <= rate <= 1.0:  # also rejects NaN
            raise ValueError(f"fault rate for {kind!r} must be between 0 and 1, got {raw!r}")
        rates[kind] = rate
    total = sum(rates.values())
    # A little slack so that "0.7,0.3" style specs are not rejected for float rounding.
    if total > 1.0 + 1e-9:
        raise ValueError(f"fault rates add up to {total:g}; they must add up to at most 1")
    return {kind: rate for kind, rate in rates.items() if rate > 0}


class FaultPicker:
    """Decides, request by request, which fault (if any) to inject.

    Request ``n`` (counted from 0) draws a number from a hash of ``(seed, stream, n)``,
    so the sequence for a seed is repeatable and does not depend on thread timing for
    which number a request gets. Rates can be swapped while serving (``set_rates``)
    without resetting the count.

    Examples
    --------
    >>> first = [FaultPicker({"429": 0.5}, seed=3).pick(n) for n in range(6)]
    >>> first == [FaultPicker({"429": 0.5}, seed=3).pick(n) for n in range(6)]
    True
    >>> FaultPicker({}, seed=3).next() is None
    True
    """

    def __init__(
        self,
        rates: FaultSpec = None,
        seed: int = 0,
        *,
        stream: str = "api",
        kinds: tuple[str, ...] = API_KINDS,
    ) -> None:
        self.seed = seed
        self.stream = stream
        self.kinds = kinds
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._rates: dict[str, float] = {}
        self.set_rates(rates)

    @property
    def rates(self) -> dict[str, float]:
        """The current rate per kind (a copy)."""
        return dict(self._rates)

    def set_rates(self, rates: FaultSpec) -> None:
        """Replace the rates (a spec string, a mapping or ``None``)."""
        parsed = parse_faults(rates, self.kinds)
        # A new dict is bound in one step, so a concurrent pick never sees half an update.
        self._rates = {kind: parsed[kind] for kind in self.kinds if kind in parsed}

    def uniform(self, n: int) -> float:
        """The number in [0, 1) that request ``n`` draws."""
        digest = hashlib.blake2b(f"{self.seed}:{self.stream}:{n}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def pick(self, n: int) -> str | None:
        """The fault of request ``n`` under the current rates, or ``None``."""
        rates = self._rates
        if not rates:
            return None
        u = self.uniform(n)
        edge = 0.0
        for kind, rate in rates.items():
            edge += rate
            if u < edge:
                return kind
        return None

    def next(self) -> str | None:
        """The fault of the next request (thread-safe)."""
        with self._lock:
            n = next(self._counter)
        return self.pick(n)


# -- the answers of the faults that replace the app -------------------------------------

_API_ERRORS: dict[str, tuple[int, str, str, str]] = {
    "500": (500, "10007", "Unexpected error", "An unexpected error occured."),
    "502": (502, "10007", "Bad Gateway", "The upstream service answered with an error."),
    "503": (503, "10008", "Service Unavailable", "The service is temporarily unavailable."),
}

_PROXY_PAGE = b"""<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""

# What a CDN, a captive portal or a maintenance switch serves with a 200.
_MAINTENANCE_PAGE = b"""<!DOCTYPE html>
<html>
<head><title>Scheduled maintenance</title></head>
<body><h1>We'll be back soon</h1><p>The service is under maintenance.</p></body>
</html>
"""

# A Telnyx error body, sent with status 200 (a gateway that rewrote the status).
_ERRORS_BODY = {
    "errors": [
        {
            "code": "10007",
            "title": "Unexpected error",
            "detail": "An unexpected error occured.",
        }
    ]
}


def error_response(kind: str) -> Response:
    """The answer of an API fault that replaces the app (a kind of :data:`REPLACING`).

    ``429`` is the answer of a spent rate limit (code ``10011``, no ``Retry-After``; the
    server adds the ``x-ratelimit-*`` headers when its limit is on); ``500``, ``502``,
    ``503`` are Telnyx JSON error bodies; ``html`` is a proxy's 502 page; ``html_200`` a
    maintenance page with status 200; ``errors_200`` a Telnyx error body with status 200.

    Examples
    --------
    >>> r = error_response("429")
    >>> r.status, "Retry-After" in r.headers
    (429, False)
    >>> error_response("html").content_type, error_response("html_200").status
    ('text/html', 200)
    """
    if kind == "429":
        return too_many_requests()
    if kind == "html":
        return Response(502, _PROXY_PAGE, content_type="text/html")
    if kind == "html_200":
        return Response(200, _MAINTENANCE_PAGE, content_type="text/html")
    if kind == "errors_200":
        return Response.json(_ERRORS_BODY)
    status, code, title, detail = _API_ERRORS[kind]
    return ApiError(status, code, title, detail).response()


# -- the app's answer, altered --------------------------------------------------------------

#: A status no report vocabulary of the description has: a word for the word
#: vocabularies, a number for the legacy integer one.
ODD_STATUS_WORD = "archived"
ODD_STATUS_NUMBER = 9

_DECIMAL = re.compile(r"-?\d+\.\d+")
#: What ``huge_meta`` says: two billion pages.
HUGE_TOTAL_PAGES = 2_000_000_000

Query = Mapping[str, list[str]]


def _null_data(body: dict[str, Any], query: Query) -> bool:
    if "data" not in body:
        return False
    body["data"] = None
    return True


def _bad_meta(body: dict[str, Any], query: Query) -> bool:
    meta = body.get("meta")
    if not isinstance(meta, dict) or not isinstance(meta.get("page_size"), int):
        return False
    meta["page_size"] += 1  # not the size asked for
    if isinstance(meta.get("total_pages"), int):
        meta["total_pages"] += 3  # no longer ceil(total_results / page_size)
    return True


def _records_with(body: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """The answer's records (``data``: a list of them, or one) that have ``field``."""
    data = body.get("data")
    return [item for item in (data if isinstance(data, list) else [data])
            if isinstance(item, dict) and field in item]  # fmt: skip


def _odd_status(body: dict[str, Any], query: Query) -> bool:
    records = _records_with(body, "status")
    for item in records:
        number = isinstance(item["status"], int)
        item["status"] = ODD_STATUS_NUMBER if number else ODD_STATUS_WORD
    return bool(records)


def _comma_amount(body: dict[str, Any], query: Query) -> bool:
    data = body.get("data")
    first = data[0] if isinstance(data, list) and data else data
    if not isinstance(first, dict):
        return False
    # Amounts are fields ("cost": "0.0040") or objects' fields ("cost": {"amount": ...}).
    for holder in (first, *(v for v in first.values() if isinstance(v, dict))):
        for name, value in holder.items():
            if isinstance(value, str) and _DECIMAL.fullmatch(value):
                holder[name] = value.replace(".", ",")  # "0.0040" -> "0,0040"
                return True
    return False


def _huge_meta(body: dict[str, Any], query: Query) -> bool:
    meta = body.get("meta")
    if not isinstance(meta, dict) or not isinstance(meta.get("total_pages"), int):
        return False
    size = meta.get("page_size")
    meta["total_pages"] = HUGE_TOTAL_PAGES
    meta["total_results"] = HUGE_TOTAL_PAGES * (size if isinstance(size, int) else 20)
    return True


def _stuck_cursor(body: dict[str, Any], query: Query) -> bool:
    meta = body.get("meta")
    asked = query.get("page[after]")
    cursors = meta.get("cursors") if isinstance(meta, dict) else None
    if not asked or not isinstance(cursors, dict) or not cursors.get("after"):
        return False
    following = cursors["after"]
    cursors["after"] = asked[-1]  # the next page is this very page
    if isinstance(meta.get("next"), str):
        meta["next"] = meta["next"].replace(following, asked[-1])
    return True


def _no_id(body: dict[str, Any], query: Query) -> bool:
    records = _records_with(body, "id")
    for item in records:
        del item["id"]
    return bool(records)


_REWRITERS = {
    "null_data": _null_data,
    "bad_meta": _bad_meta,
    "odd_status": _odd_status,
    "comma_amount": _comma_amount,
    "huge_meta": _huge_meta,
    "stuck_cursor": _stuck_cursor,
    "no_id": _no_id,
}


def rewrite(kind: str, response: Response, query: Query | None = None) -> Response | None:
    """The app's answer altered by a kind of :data:`REWRITING`, or ``None`` when the kind
    does not apply to it (not a 200 JSON object, or nothing to alter). ``query`` is the
    request's.

    ``null_data``: ``data`` is ``null``. ``bad_meta``: ``meta.page_size`` is one more
    than the size asked for and ``meta.total_pages`` three more than ``total_results``
    gives. ``odd_status``: every ``status`` in ``data`` is outside the documented set
    (``"archived"``, or ``9`` where statuses are integers). ``comma_amount``: the first
    decimal string of the first record (a field, else a field of one of its objects, as
    in ``"cost": {"amount": ...}``) is written with a decimal comma (``"0,0040"``).
    ``huge_meta``: ``meta.total_pages`` is two billion, and ``total_results`` agrees.
    ``stuck_cursor``: a cursor page (one asked for with ``page[after]``) gives that same
    cursor as the next, so that following it yields no new events. ``no_id``: every
    ``id`` in ``data`` is left out (a created report with no id).

    Examples
    --------
    >>> page = Response.json({"data": [{"id": "a", "cost": "0.0040"}], "meta": {}})
    >>> rewrite("comma_amount", page).body
    b'{"data":[{"id":"a","cost":"0,0040"}],"meta":{}}'
    >>> rewrite("bad_meta", page) is None   # no page_size in this meta
    True
    """
    if response.status != 200 or "json" not in response.content_type:
        return None
    try:
        body = json.loads(response.body)
    except ValueError:
        return None
    if not isinstance(body, dict) or not _REWRITERS[kind](body, query or {}):
        return None
    altered = Response.json(body)
    altered.headers.update(response.headers)
    return altered


def previous_page(query: Mapping[str, list[str]]) -> tuple[dict[str, list[str]], str, int] | None:
    """For ``repeat_page``: the query of the page before the one asked for, the name of the
    page-number parameter and the number asked for; ``None`` for a first page (or a
    listing not paged by number).

    >>> previous_page({"page[number]": ["3"], "page[size]": ["10"]})
    ({'page[number]': ['2'], 'page[size]': ['10']}, 'page[number]', 3)
    >>> previous_page({"page[size]": ["10"]}) is None
    True
    """
    for name in ("page[number]", "page"):
        values = query.get(name)
        if values and values[-1].isdigit() and int(values[-1]) > 1:
            number = int(values[-1])
            earlier = dict(query)
            earlier[name] = [str(number - 1)]
            return earlier, name, number
    return None


def renumber(response: Response, number: int) -> Response:
    """``response`` (a page) claiming to be page ``number`` in its ``meta``.

    >>> renumber(Response.json({"data": [], "meta": {"page_number": 2}}), 3).body
    b'{"data":[],"meta":{"page_number":3}}'
    """
    if response.status != 200:
        return response
    try:
        body = json.loads(response.body)
    except ValueError:
        return response
    meta = body.get("meta") if isinstance(body, dict) else None
    if isinstance(meta, dict) and "page_number" in meta:
        meta["page_number"] = number
        renumbered = Response.json(body)
        renumbered.headers.update(response.headers)
        return renumbered
    return response


# -- the download origin ----------------------------------------------------------------------


def download_error_response(kind: str) -> Response:
    """The answer of a download-origin fault that replaces the file: ``500`` or ``503``,
    as a storage service writes them (plain text, not Telnyx JSON), or ``html_200`` (a
    200 with an HTML page in place of the file).

    Examples
    --------
    >>> download_error_response("503").status
    503
    >>> download_error_response("html_200").content_type
    'text/html'
    """
    if kind == "html_200":
        return Response(200, _MAINTENANCE_PAGE, content_type="text/html")
    status = int(kind)
    text = "Internal Server Error" if status == 500 else "Service Unavailable"
    response = Response(status, f"{status} {text}\n".encode(), content_type="text/plain")
    if status == 503:
        response.headers["Retry-After"] = "1"
    return response


def gzip_cut(response: Response) -> Response:
    """``gzip_cut``: the file gzip-compressed (``Content-Encoding: gzip``) and the stream
    cut at half its length, with a ``Content-Length`` true to the bytes sent.

    >>> r = gzip_cut(Response.csv("id,cost\\n" * 100))
    >>> r.headers["Content-Encoding"], len(r.body) < len(gzip.compress(b"id,cost\\n" * 100))
    ('gzip', True)
    """
    if response.status != 200:
        return response
    stream = gzip.compress(response.body, mtime=0)
    cut_short = Response(response.status, cut(stream), content_type=response.content_type)
    cut_short.headers.update(response.headers)
    cut_short.headers["Content-Encoding"] = "gzip"
    return cut_short


def cut(body: bytes) -> bytes:
    """The first half of a body: what ``truncate``, ``reset``, ``short``,
    ``short_unannounced`` and ``gzip_cut`` send.

    Examples
    --------
    >>> cut(b'{"data": []}')
    b'{"data'
    """
    return body[: len(body) // 2]
