"""Injected faults: which request gets one, and what each fault looks like on the wire.

The server asks a :class:`FaultPicker` for every request; the picker answers a fault
kind or ``None``. This module builds the answers of the faults that replace the app
(``429``, ``5xx``, ``html``); the faults that need the socket (``reset``, ``truncate``,
``slow``, ``short``) are carried out by ``server.py``. See docs/sandbox.md, "Faults and
latency".
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Mapping

from ._web import ApiError, Response

# Fixed orders: the picker walks kinds in this order, so "429=0.1,500=0.1" and
# "500=0.1,429=0.1" give the same sequence for a seed.
API_KINDS: tuple[str, ...] = ("429", "500", "502", "503", "reset", "truncate", "html", "slow")
DOWNLOAD_KINDS: tuple[str, ...] = ("short", "500", "503", "reset")

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
    "429": (429, "10011", "Too Many Requests", "Rate limit exceeded. Retry after 1 second."),
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


def error_response(kind: str) -> Response:
    """The answer of an API fault that replaces the app: ``429``, ``500``, ``502``,
    ``503`` (Telnyx JSON error bodies) or ``html`` (a proxy's 502 page).

    Examples
    --------
    >>> r = error_response("429")
    >>> r.status, r.headers["Retry-After"]
    (429, '1')
    >>> error_response("html").content_type
    'text/html'
    """
    if kind == "html":
        return Response(502, _PROXY_PAGE, content_type="text/html")
    status, code, title, detail = _API_ERRORS[kind]
    response = ApiError(status, code, title, detail).response()
    if kind == "429":
        response.headers["Retry-After"] = "1"
    return response


def download_error_response(kind: str) -> Response:
    """The answer of a download-origin fault that replaces the file: ``500`` or ``503``,
    as a storage service writes them (plain text, not Telnyx JSON).

    Examples
    --------
    >>> download_error_response("503").status
    503
    """
    status = int(kind)
    text = "Internal Server Error" if status == 500 else "Service Unavailable"
    response = Response(status, f"{status} {text}\n".encode(), content_type="text/plain")
    if status == 503:
        response.headers["Retry-After"] = "1"
    return response


def cut(body: bytes) -> bytes:
    """The first half of a body: what ``truncate``, ``reset`` and ``short`` send.

    Examples
    --------
    >>> cut(b'{"data": []}')
    b'{"data'
    """
    return body[: len(body) // 2]
