"""One transport to the Telnyx API: a cached, retrying, account-isolated HTTP session.

The transport knows no endpoint and nothing of pandas. It sends one request, retries what
is safe to retry, maps error answers to the typed errors of :mod:`telnyx_analytics.errors`
and keeps successful GET answers in a SQLite cache (requests-cache).

Three rules hold everywhere in this module:

- The API key travels only to the API's base URL, as ``Authorization: Bearer``, added to
  each request (never to the session), so a download link or a foreign URL never sees it.
- The cache key of every response includes a keyed hash of the API key (never the key),
  so two accounts reading the same URL through one cache file each get their own data;
  requests-cache's default key leaves ``Authorization`` out on purpose, and it stores the
  request's headers with ``Authorization`` replaced by ``REDACTED``.
- Only what is safe is cached: 200 answers to GET whose JSON body is whole and that the
  request's ``check`` (given by the caller, who knows the endpoint) found final. A check
  that raises stops the answer before the cache sees it.

Rate limits: every API request goes through the account's :class:`~._ratelimit.Pacer`,
which paces it from the ``x-ratelimit-*`` headers Telnyx sends. A 429 is waited for as the
server asks (``Retry-After``, else the window's ``x-ratelimit-reset``); a server asking for
more than ``max_retry_after`` fails at once with :class:`RateLimitError` carrying the wait.

>>> policy = RetryPolicy()
>>> policy.delay(1, retry_after=3.0)
3.0
>>> 0.375 <= policy.delay(1) <= 0.5    # first retry: 0.5 s less up to 25 % jitter
True
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import heapq
import hmac
import ipaddress
import itertools
import json
import logging
import os
import random
import socket
import sqlite3
import tempfile
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
import tenacity
import urllib3
from requests.adapters import HTTPAdapter
from requests_cache import CachedSession
from requests_cache.policy import DEFAULT_IGNORED_PARAMS
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NameResolutionError

from ._docstrings import shared_docs
from ._files import PART_SUFFIX
from ._ratelimit import Pacer, requested_wait
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    MissingAPIKeyError,
    RateLimitError,
    error_from_response,
)

__all__ = [
    "INITIAL_RETRY_DELAY",
    "JITTER",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "RetryPolicy",
    "Transport",
    "account_fingerprint",
    "is_retryable",
    "parse_retry_after",
]

log = logging.getLogger("telnyx_analytics.http")

# The retry policy, modelled on the official Telnyx SDK (_constants.py, _base_client.py):
# exponential backoff from 0.5 s, doubling, capped at 8 s, minus up to 25 % jitter so that
# parallel workers do not retry in lockstep. A server's requested wait (Retry-After, or a
# 429's x-ratelimit-reset) wins; one above the cap fails at once rather than sleeping.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
JITTER = 0.25
# Statuses worth another try: request timeout, conflict (Telnyx uses it for a resource
# that is momentarily busy), rate limit, and every 5xx.
RETRY_STATUSES = frozenset({408, 409, 429})
# Methods that may be repeated after they reached the server.
SAFE_METHODS = frozenset({"GET", "HEAD"})

DOWNLOAD_CHUNK = 1 << 16
#: Seconds one attempt at downloading a report file may take, body included (the
#: ``download_timeout`` of a client): large reports take minutes, a stalled one no longer.
DEFAULT_DOWNLOAD_TIMEOUT = 600.0
# A download asks for gzip or nothing: a gzip stream says where it ends, so a file cut
# short is seen; other encodings are not asked for, and an answer in one is refused.
DOWNLOAD_ENCODINGS = "gzip"
_GZIP_WBITS = zlib.MAX_WBITS | 16

# The key of the keyed hash that names an account inside cache keys. It need not be
# secret: it only makes the fingerprint specific to this package, and an API key has far
# too much entropy to be recovered from its HMAC.
_FINGERPRINT_KEY = b"telnyx-analytics/cache-account/v1"
# Where a decoded body is memoised on a response, so that checking it before caching and
# reading it afterwards parse the JSON once.
_DECODED_ATTR = "_telnyx_analytics_decoded"
_CACHEABLE_ATTR = "_telnyx_analytics_cacheable"

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between attempts.

    Parameters
    ----------
    initial_delay : float
        Wait before the first retry, in seconds; it doubles at each further retry.
    max_delay : float
        Cap of the exponential backoff.
    max_retry_after : float
        The longest wait a server may ask for (``Retry-After``, or a 429's
        ``x-ratelimit-reset``); a longer one fails at once with :class:`RateLimitError`.
    jitter : float
        Each backoff is shortened by a random share of up to this fraction.
    sleep : callable
        How a wait is spent, ``time.sleep`` by default. A test passes one that records the
        waits instead of spending them, so it checks them without a wall clock.

    Examples
    --------
    >>> [RetryPolicy(jitter=0).delay(n) for n in (1, 2, 3, 4, 5, 6)]
    [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    """

    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY
    max_retry_after: float = MAX_RETRY_AFTER
    jitter: float = JITTER
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise ValueError(f"RetryPolicy.{name} must be a number >= 0, got {value!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"RetryPolicy.jitter must be between 0 and 1, got {self.jitter!r}")

    def backoff(self, retry: int, *, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first) without a hint.

        >>> RetryPolicy().backoff(3, rand=lambda: 0.0)
        2.0
        """
        base = min(self.initial_delay * 2.0 ** max(retry - 1, 0), self.max_delay)
        return base * (1.0 - self.jitter * rand())

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry``: ``Retry-After`` (capped) if given.

        >>> RetryPolicy(max_retry_after=5).delay(1, retry_after=30)
        5
        """
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after))
        return self.backoff(retry)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date.

    Returns ``None`` when the header is absent or unreadable; a date in the past gives 0.

    Examples
    --------
    >>> parse_retry_after("2"), parse_retry_after("1.5"), parse_retry_after("soon")
    (2.0, 1.5, None)
    >>> now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    >>> parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now=now)
    30.0
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is unreadable
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def is_retryable(exc: BaseException, method: str) -> bool:
    """Whether a failed attempt may be tried again.

    A GET is retried after connection errors, timeouts, a cut-short body, and statuses
    408, 409, 429 and 5xx. Any other method only after a 429 or when the request provably
    never reached the server (it failed while connecting): repeating a POST that arrived
    could create a second report.

    >>> from telnyx_analytics.errors import error_from_response
    >>> is_retryable(error_from_response(503, ""), "GET"), is_retryable(
    ...     error_from_response(503, ""), "POST")
    (True, False)
    """
    if isinstance(exc, RateLimitError):
        return True
    if method.upper() not in SAFE_METHODS:
        return isinstance(exc, APIConnectionError) and exc.unsent
    if isinstance(exc, APIStatusError):
        return exc.status in RETRY_STATUSES or exc.status >= 500
    return isinstance(exc, APIConnectionError)


def account_fingerprint(api_key: str) -> str:
    """A keyed hash naming the account of an API key in cache keys (never the key itself).

    >>> fp = account_fingerprint("KEY123")
    >>> len(fp), fp == account_fingerprint("KEY123"), fp == account_fingerprint("KEY124")
    (16, True, False)
    """
    return hmac.new(_FINGERPRINT_KEY, api_key.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def account_cache_key(request: Any, **_: Any) -> str:
    """requests-cache ``key_fn``: the account's fingerprint, then a hash of the request.

    requests-cache's own key leaves ``Authorization`` out on purpose, which alone would
    serve one account's cached answer to another. This one hashes the method, the URL
    with its query parameters in sorted order, and the body, after the fingerprint.
    (It also skips requests-cache's general URL normalisation, a third of a cached
    page's overhead, which URLs built by one client never need.)

    >>> r = requests.Request("GET", "http://h/v2/x?b=2&a=1", headers={"Authorization":
    ...                      "Bearer K1"}).prepare()
    >>> same = requests.Request("GET", "http://h/v2/x?a=1&b=2", headers={"Authorization":
    ...                         "Bearer K1"}).prepare()
    >>> account_cache_key(r) == account_cache_key(same), "K1" in account_cache_key(r)
    (True, False)
    """
    auth = request.headers.get("Authorization") or ""
    account = getattr(auth, "fingerprint", None)  # the transport's own header knows it
    if account is None:
        key = auth.removeprefix("Bearer ").strip()
        account = account_fingerprint(key) if key else "anonymous"
    url = urlsplit(request.url or "")
    query = urlencode(sorted(parse_qsl(url.query, keep_blank_values=True)))
    body = request.body or b""
    digest = hashlib.blake2b(digest_size=16)
    for part in ((request.method or "GET").upper(), url.scheme, url.netloc.lower(), url.path,
                 query):
        digest.update(part.encode() + b"\0")
    digest.update(body if isinstance(body, bytes) else str(body).encode())
    return f"{account}-{digest.hexdigest()}"


class _Bearer(str):
    """The ``Authorization`` header value ``Bearer <key>``, which no ``repr`` shows.

    requests, urllib3 and http.client hold header values in locals and dicts, and a
    traceback rendered with its locals (pytest ``--showlocals``,
    ``traceback.TracebackException(capture_locals=True)``) prints their ``repr``. This
    value is the only form in which the transport keeps the key. It also carries the
    account's fingerprint, so that cache keys need not hash the key again.
    """

    fingerprint: str

    def __repr__(self) -> str:
        return "'Bearer <redacted>'"

    def __reduce__(self) -> Any:
        raise TypeError("an API key is not pickled")


def _bearer(api_key: str) -> _Bearer:
    header = _Bearer(f"Bearer {api_key}")
    header.fingerprint = account_fingerprint(api_key)
    return header


def api_key_header(value: Any, env: str) -> tuple[_Bearer | None, Exception | None]:
    """The API key (``value``, else ``$env``) as a header value, or what is wrong with it.

    Returns ``(header, None)``, ``(None, None)`` when there is no key (an error at the first
    request), or ``(None, error)``. The error is returned, not raised, so that the caller
    can drop the raw key from its own frame first (``api_key, error = api_key_header(
    api_key, ...)``): a traceback rendered with its locals must not show it. The message
    never quotes the key.

    >>> header, error = api_key_header("KEY0123", "TELNYX_API_KEY")
    >>> header, header == "Bearer KEY0123", error
    ('Bearer <redacted>', True, None)
    >>> print(api_key_header("KEY0123\\r\\nX-Evil: 1", "TELNYX_API_KEY")[1])  # doctest: +ELLIPSIS
    api_key contains a line break (CR or LF); ... (the key is not shown)
    """
    source = "api_key"
    if value is None:
        source, value = f"${env}", os.environ.get(env)
    elif not isinstance(value, str):
        return None, TypeError(f"api_key must be a str or None, got {type(value).__name__}")
    text = (value or "").strip()
    if not text:
        return None, None
    problem = None
    for char in text:
        if char in "\r\n":
            problem = "a line break (CR or LF)"
        elif char < " " or char == "\x7f":
            problem = "a control character"
        elif char == " ":
            problem = "a space"
        elif char > "~":
            problem = "a character outside ASCII (a pasted quote or dash?)"
        if problem:
            return None, ValueError(
                f"{source} contains {problem}; an API key is printable ASCII without "
                "spaces (the key is not shown)"
            )
    return _bearer(text), None


def check_base_url(base_url: str) -> None:
    """Refuse a base URL the client cannot use safely.

    - A ``user:password@`` part (or a bare ``user@``): requests would send it as Basic
      auth in place of the ``Authorization: Bearer`` header, so no request could ever
      work. The message never shows the URL, which holds the password.
    - Plain ``http://`` except to a loopback address (``localhost``, ``127.0.0.0/8``,
      ``::1``: a local sandbox): the key would travel in clear.

    >>> check_base_url("https://api.telnyx.com/v2"), check_base_url("http://127.0.0.1:8080/v2")
    (None, None)
    >>> check_base_url("http://api.example.com/v2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: base_url http://api.example.com/v2 would send the API key in clear: ...
    >>> check_base_url("https://me:s3cret@proxy.example/v2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: base_url must not contain a user name or password (user:password@host): ...
    """
    # Anywhere in the text, not only in what urlsplit takes for the authority: a URL
    # without its scheme ("me:s3cret@host/v2") would otherwise be quoted by the next
    # message, password and all. An API base URL has no other use for "@".
    if "@" in base_url:
        raise ValueError(
            "base_url must not contain a user name or password (user:password@host): "
            "requests would send them as Basic auth instead of the API key, so no request "
            "could succeed; give the key as api_key (or TELNYX_API_KEY) and the URL without "
            "them (the URL is not shown)"
        )
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"base_url must be an http(s) URL such as https://api.telnyx.com/v2, got {base_url!r}"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(
            f"base_url {base_url} would send the API key in clear: plain http:// is only "
            "allowed to a loopback address (localhost, 127.0.0.1, ::1); use https://"
        )


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host(url: str) -> str:
    """The host (and port) of a URL as an error names it: no user or password."""
    return urlsplit(url).netloc.rpartition("@")[2] or url


# -- whole-request deadlines --------------------------------------------------------------------

# The deadline of the exchange running on this thread, which the connection below picks up.
_exchange = threading.local()


class _Deadline:
    """A time limit on one whole exchange, answer body included.

    requests' ``timeout`` bounds each socket operation, so a server trickling one byte a
    second never trips it. When this limit passes, the socket carrying the exchange is
    shut down, which ends any read blocked on it; :attr:`expired` then tells the sender
    that the answer, even one that looks whole, is not to be trusted. The socket is handed
    over by the connection when it starts reading the answer (:class:`_TimedHTTPConnection`),
    so a cached answer costs no timer.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._sock: socket.socket | None = None
        self._watched = False
        self._done = False
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            watch = not self._watched
            self._watched = True
        if watch:
            _watchdog.watch(self)

    def expire(self) -> None:
        """End the exchange now (the watchdog calls it when the time is up)."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            if self._sock is not None:
                with contextlib.suppress(OSError):
                    # The plain socket's shutdown, also for TLS: SSLSocket.shutdown would
                    # first drop its TLS state under the reading thread.
                    socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

    def __enter__(self) -> _Deadline:
        _exchange.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        _exchange.deadline = None
        with self._lock:
            self._sock = None
            self._done = True


class _Watchdog:
    """One daemon thread that expires the deadlines that come due.

    A timer thread per request would cost a thread start on every page fetched; here a
    request costs a push on a heap. Finished deadlines stay on the heap until their time
    and are then dropped (``expire`` does nothing once the exchange is over).
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: _Deadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline.ends, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():  # first use, or a fork
                self._thread = threading.Thread(
                    target=self._run, name="telnyx-analytics-deadlines", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is deadline:  # due before the one the thread waits for
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _, _, due = heapq.heappop(self._heap)
            due.expire()  # outside the heap's lock: it takes the deadline's own


_watchdog = _Watchdog()


class _TimedHTTPConnection(urllib3.connection.HTTPConnection):
    """A connection that hands its socket to this thread's :class:`_Deadline`."""

    def getresponse(self) -> Any:  # type: ignore[override]
        deadline = getattr(_exchange, "deadline", None)
        if deadline is not None and self.sock is not None:
            deadline.attach(self.sock)
        return super().getresponse()


class _TimedHTTPSConnection(urllib3.connection.HTTPSConnection):
    getresponse = _TimedHTTPConnection.getresponse  # type: ignore[assignment]


class _TimedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TimedHTTPConnection


class _TimedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TimedHTTPSConnection


_TIMED_POOLS = {"http": _TimedHTTPPool, "https": _TimedHTTPSPool}


class _TimedAdapter(HTTPAdapter):
    """requests' adapter, on connections that honour :class:`_Deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _TIMED_POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS brings pools of its own
            manager.pool_classes_by_scheme = _TIMED_POOLS
        return manager


def _clear_locals(exc: BaseException) -> None:
    """Drop the locals of the finished frames in ``exc``'s tracebacks (and its causes').

    Deep in requests, urllib3 and http.client, locals hold the request as bytes, key
    included, where no ``repr`` can hide it; these frames are finished once the error
    reaches the transport, and their locals are of no use to anyone reading the error.
    """
    pending, seen = [exc], set()
    while pending:
        err = pending.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        traceback.clear_frames(err.__traceback__)  # skips frames still running
        pending += [err.__cause__, err.__context__]
        pending += [arg for arg in err.args if isinstance(arg, BaseException)]
        reason = getattr(err, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)


def decode_json(response: requests.Response) -> tuple[bool, Any]:
    """``(whole, payload)`` of a 2xx answer: its JSON, or ``None`` for a non-JSON body.

    ``whole`` is False when a JSON body does not parse (cut short in transit). The result
    is memoised on the response.
    """
    memo = getattr(response, _DECODED_ATTR, None)
    if memo is not None:
        return memo
    content = response.content or b""
    kind = response.headers.get("Content-Type", "").lower()
    if "json" not in kind or not content.strip():
        memo = (True, None)
    else:
        try:
            memo = (True, json.loads(content))
        except (ValueError, RecursionError):  # cut short, or nested past the decoder's depth
            memo = (False, None)
    # A slotted response type cannot keep the memo: it is parsed again next time.
    with contextlib.suppress(AttributeError):
        setattr(response, _DECODED_ATTR, memo)
    return memo


#: ``check(payload) -> bool`` of one request: whether its decoded 2xx answer is final and
#: may be cached. It raises (an ``UnexpectedResponseError``, say) for an answer that is not
#: what the operation documents, and then nothing is cached. The caller knows the
#: endpoint; the transport only asks.
Check = Callable[[Any], bool]


def _judge(check: Check | None) -> Callable[..., requests.Response]:
    """A response hook that runs ``check`` on a fresh 2xx answer before requests-cache
    decides to store it (:func:`cacheable` reads the verdict)."""

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if (getattr(response, "from_cache", False) or not 200 <= response.status_code < 300
                or hasattr(response, _CACHEABLE_ATTR)):
            return response
        whole, payload = decode_json(response)
        verdict = whole and (check is None or check(payload))
        with contextlib.suppress(AttributeError):
            setattr(response, _CACHEABLE_ATTR, bool(verdict))
        return response

    return hook


def cacheable(response: requests.Response) -> bool:
    """requests-cache ``filter_fn``: store only whole 200 answers that the request's
    ``check`` found final.

    requests-cache also calls it on answers it serves from the cache; those were checked
    before they were stored.
    """
    if getattr(response, "from_cache", False):
        return True
    if response.status_code != 200:
        return False
    memo = getattr(response, _CACHEABLE_ATTR, None)
    if memo is None:  # no hook ran (a request sent without one): whole is enough
        memo = decode_json(response)[0]
    return bool(memo)


def _mount_pool(session: requests.Session, pool_size: int) -> requests.Session:
    # One connection per parallel page fetch, kept alive across pages.
    adapter = _TimedAdapter(pool_connections=4, pool_maxsize=max(10, pool_size))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = _user_agent()
    session.headers["Accept"] = "application/json"
    # requests re-reads the whole environment on every request when trust_env is on (a
    # measurable share of a cached page's cost); _Environment reads it once instead.
    session.trust_env = False
    return session


class _Environment:
    """The proxy and CA-bundle settings requests would take from the environment.

    Read once per transport (proxies once per origin), honouring ``*_proxy`` and
    ``no_proxy`` as requests does; later changes to the environment are not seen.
    """

    def __init__(self) -> None:
        self.verify: bool | str = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        self._proxies: dict[str, dict[str, str]] = {}

    def proxies(self, url: str) -> dict[str, str]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._proxies.get(origin)
        if found is None:
            found = requests.utils.get_environ_proxies(origin)
            self._proxies[origin] = found
        return found


def _user_agent() -> str:
    try:
        from importlib.metadata import version

        return f"telnyx-analytics/{version('telnyx-analytics')}"
    except Exception:  # not installed as a distribution (a bare checkout)
        return "telnyx-analytics"


def display_url(url: str, *, query: bool = True) -> str:
    """A URL as messages and logs show it: path and (optionally) query, no origin.

    >>> display_url("http://127.0.0.1:80/v2/reports/wdrs?page%5Bnumber%5D=2")
    '/v2/reports/wdrs?page[number]=2'
    >>> display_url("https://bucket.example/r.csv?X-Signature=abc", query=False)
    'https://bucket.example/r.csv'
    """
    parts = urlsplit(url)
    if not query:
        return f"{parts.scheme}://{parts.netloc}{parts.path}"
    shown = parts.path or "/"
    if parts.query:
        shown += "?" + parts.query.replace("%5B", "[").replace("%5D", "]")
    return shown


def clean_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Query parameters as the API reads them: ``None`` dropped, booleans lower-case,
    lists kept (repeated keys).

    >>> clean_params({"a": None, "b": True, "c": [1, 2], "d": "x"})
    {'b': 'true', 'c': ['1', '2'], 'd': 'x'}
    """
    out: dict[str, Any] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            out[name] = [_param_text(v) for v in value if v is not None]
        else:
            out[name] = _param_text(value)
    return out


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Transport:
    """Sends requests to one API base URL for one account, with cache and retries.

    Parameters
    ----------
    api_key : str or None
        The account's key; ``None`` fails at the first API request, naming
        ``TELNYX_API_KEY``.
    base_url : str
        The API's base URL; the key is sent to nothing else.
    cache_path : Path or None
        SQLite file of the HTTP cache, or ``None`` for no cache.
    expire_after : float or None
        Seconds a cached answer stays fresh (``None``: forever).
    timeout : float
        Seconds one request may take, answer included (also the limit of each read).
    max_retries : int
        Retries after the first attempt.
    policy : RetryPolicy
        Waits between attempts.
    pool_size : int
        Connections kept per host (at least the paging concurrency).
    download_timeout : float
        Seconds one attempt at a report download may take.

    Examples
    --------
    >>> t = Transport(api_key="KEY", base_url="http://127.0.0.1:9/v2", cache_path=None)
    >>> t.url_for("/reports/wdrs")
    'http://127.0.0.1:9/v2/reports/wdrs'
    >>> t.close()
    """

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str,
        cache_path: Path | None,
        expire_after: float | None = 3600,
        timeout: float = 30,
        max_retries: int = 5,
        policy: RetryPolicy | None = None,
        pool_size: int = 10,
        download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
    ) -> None:
        self._auth = api_key if isinstance(api_key, _Bearer) else (
            _bearer(api_key) if api_key else None
        )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.download_timeout = download_timeout
        self.max_retries = max_retries
        self.policy = policy or RetryPolicy()
        # One pacer per account and client: every worker's requests share its budget.
        # Holding a request back for a window is pacing, not sleeping on a server's
        # request: a policy with short retry waits (tests use them) still paces.
        self.pacer = Pacer(max_wait=MAX_RETRY_AFTER)
        self.expire_after = expire_after
        self._env = _Environment()
        self._plain = _mount_pool(requests.Session(), pool_size)
        self._cached: CachedSession | None = None
        self.cache_path: Path | None = None
        if cache_path is not None:
            cache_path = private_file(cache_path)
            self._cached = CachedSession(
                str(cache_path),
                backend="sqlite",
                expire_after=_cache_expiry(expire_after),
                allowable_codes=(200,),
                allowable_methods=("GET",),
                # Keep requests-cache's list explicit: it is what redacts Authorization from
                # the request headers stored next to each response.
                ignored_parameters=DEFAULT_IGNORED_PARAMS,
                key_fn=account_cache_key,
                filter_fn=cacheable,
                # Write-ahead logging: readers do not wait for writers, and a write costs
                # a fraction of a rollback-journal commit (parallel pages write often).
                wal=True,
            )
            _mount_pool(self._cached, pool_size)
            self.cache_path = Path(self._cached.cache.db_path)

    # -- URLs and secrets ------------------------------------------------------------------

    def url_for(self, path: str) -> str:
        """The absolute URL of an API path; an absolute URL must lie under the base URL."""
        if not isinstance(path, str) or not path:
            raise TypeError(f"path must be a non-empty str such as '/reports/mdrs', got {path!r}")
        if path.startswith(("http://", "https://")):
            if not self.owns(path):
                raise ValueError(
                    f"refusing to send the API key to {display_url(path, query=False)}: only "
                    f"URLs under {self.base_url} are API requests (use download() for others)"
                )
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def owns(self, url: str) -> bool:
        """Whether ``url`` lies under the API's base URL (same origin, same path prefix)."""
        return url == self.base_url or url.startswith(self.base_url + "/")

    def redact(self, text: str) -> str:
        """``text`` with the API key blanked out (for anything taken from a server)."""
        if self._auth is not None and self._auth[7:] in text:  # after "Bearer "
            return text.replace(self._auth[7:], "<redacted>")
        return text

    @property
    def fingerprint(self) -> str | None:
        """The account's fingerprint in cache keys (``None`` without a key)."""
        return self._auth.fingerprint if self._auth else None

    # -- requests --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        cache: bool = True,
        on_rate_limit: Callable[[], None] | None = None,
        check: Check | None = None,
    ) -> tuple[requests.Response, Any]:
        """Send one API request with retries; return the response and its decoded JSON.

        Raises the typed error of :mod:`telnyx_analytics.errors` once retries are spent.
        ``on_rate_limit`` is called each time a 429 is about to be retried. ``check``
        (see :data:`Check`) judges a 2xx answer before it may be cached.
        """
        method = method.upper()
        url = self.url_for(path)
        if self._auth is None:
            raise MissingAPIKeyError()
        query = clean_params(params)
        use_cache = cache and method == "GET" and self._cached is not None
        session = self._cached if use_cache else self._plain
        assert session is not None
        headers = {"Authorization": self._auth}
        hooks = {"response": [_judge(check)]}

        def attempt(number: int) -> tuple[requests.Response, Any]:
            with self.pacer.slot():  # waits while the account's window is spent
                return self._send(
                    session, method, url, query, json_body, headers, number, hooks
                )

        return self._retry(method, attempt, on_rate_limit)

    def _send(
        self,
        session: requests.Session,
        method: str,
        url: str,
        params: dict[str, Any],
        json_body: Any,
        headers: dict[str, str],
        attempt: int,
        hooks: dict[str, list[Callable[..., Any]]] | None = None,
    ) -> tuple[requests.Response, Any]:
        started = time.perf_counter()
        deadline = _Deadline(self.timeout)
        # No redirects: a redirect could carry the key off the base URL, and the reporting
        # API answers its operations without any.
        options = {
            "params": params,
            "json": json_body,
            "headers": headers,
            "timeout": self.timeout,
            "allow_redirects": False,
            "proxies": self._env.proxies(url),
            "verify": self._env.verify,
            "hooks": hooks,
        }
        try:
            with deadline:
                try:
                    response = session.request(method, url, **options)
                except sqlite3.Error as exc:
                    if session is self._plain:
                        raise
                    # The cache file changed under us (another process cleared or
                    # replaced it): this answer goes uncached rather than fail.
                    log.warning("HTTP cache unavailable (%s): %s %s sent uncached",
                                exc, method, display_url(url))
                    response = self._plain.request(method, url, **options)
        except requests.RequestException as exc:
            raise _connection_error(
                exc, method, url, display_url(url), attempt, self.timeout, deadline
            ) from exc
        if deadline.expired:  # an answer cut by the deadline can look whole: never trust it
            raise _timeout_error(method, url, display_url(url), attempt, self.timeout)
        self.pacer.observe(response.headers, from_cache=getattr(response, "from_cache", False))
        status = response.status_code
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %s%s in %.0f ms (attempt %d)",
                method,
                display_url(response.url or url),
                status,
                " from cache" if getattr(response, "from_cache", False) else "",
                (time.perf_counter() - started) * 1000,
                attempt,
            )
        if status >= 300:
            raise error_from_response(
                status,
                response.content,
                method=method,
                url=display_url(response.url or url),
                headers=response.headers,
                retry_after=requested_wait(
                    status,
                    response.headers,
                    parse_retry_after(response.headers.get("Retry-After")),
                ),
                attempts=attempt,
                redact=self.redact,
            )
        whole, payload = decode_json(response)
        if not whole:
            raise APIConnectionError(
                f"{status} answer with a JSON body cut short or invalid "
                f"({len(response.content)} bytes)",
                method=method,
                url=display_url(response.url or url),
                attempts=attempt,
            )
        return response, payload

    def _retry(
        self,
        method: str,
        attempt: Callable[[int], T],
        on_rate_limit: Callable[[], None] | None = None,
    ) -> T:
        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.policy.delay(state.attempt_number, getattr(exc, "retry_after", None))

        def retry(exc: BaseException) -> bool:
            if isinstance(exc, RateLimitError) and (exc.retry_after or 0) > (
                self.policy.max_retry_after
            ):
                log.info("%s; not waiting: more than the %g s cap", exc,
                         self.policy.max_retry_after)
                return False
            return is_retryable(exc, method)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            # A server that paces us with its headers needs no lower concurrency: the
            # pacer already holds every worker until its window resets.
            if isinstance(exc, RateLimitError) and on_rate_limit is not None and not (
                self.pacer.informed
            ):
                on_rate_limit()
            pause = state.next_action.sleep if state.next_action else 0.0
            log.info(
                "%s; retry %d of %d in %.2f s",
                exc,
                state.attempt_number,
                self.max_retries,
                pause,
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=wait,
            retry=tenacity.retry_if_exception(retry),
            before_sleep=before_sleep,
            sleep=self.policy.sleep,
            reraise=True,
        )
        for tried in retrying:
            with tried:
                result = attempt(tried.retry_state.attempt_number)
        return result

    # -- downloads -------------------------------------------------------------------------

    @shared_docs
    def download(
        self,
        url: str,
        dest: Path,
        *,
        expected_length: int | None = None,
        ends_with: bytes | None = None,
        label: str | None = None,
    ) -> Path:
        """Stream ``url`` (a report file on another origin) to ``dest``, whole or not at all.

        {download}
        """
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"url must be an absolute http(s) URL, got {url!r}")
        if expected_length is not None and (
            not isinstance(expected_length, int) or expected_length < 0
        ):
            raise ValueError(f"expected_length must be an int >= 0, got {expected_length!r}")
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)

        def attempt(number: int) -> Path:
            return self._download_once(url, dest, expected_length, ends_with, label, number)

        return self._retry("GET", attempt)

    def _download_once(
        self,
        url: str,
        dest: Path,
        expected_length: int | None,
        ends_with: bytes | None,
        label: str | None,
        attempt: int,
    ) -> Path:
        # A pre-signed link's query is a credential of its own: keep it out of messages.
        shown = display_url(url, query=False)
        fd, tmp_name = tempfile.mkstemp(
            dir=dest.parent, prefix=f".{dest.name}.", suffix=PART_SUFFIX
        )
        tmp = Path(tmp_name)
        deadline = _Deadline(self.download_timeout)
        try:
            with os.fdopen(fd, "wb") as out, deadline:
                try:
                    # The plain session carries no Authorization header, and none is
                    # added here.
                    with self._plain.get(
                        url,
                        stream=True,
                        timeout=self.timeout,
                        headers={"Accept": "*/*", "Accept-Encoding": DOWNLOAD_ENCODINGS},
                        proxies=self._env.proxies(url),
                        verify=self._env.verify,
                    ) as response:
                        if response.status_code >= 300:
                            raise error_from_response(
                                response.status_code,
                                response.content,
                                method="GET",
                                url=shown,
                                headers=response.headers,
                                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                                attempts=attempt,
                                redact=self.redact,
                                label=label,
                            )
                        written, problem = _save_body(response, out, expected_length, ends_with)
                except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
                    raise _connection_error(
                        exc, "GET", url, shown, attempt, self.timeout, deadline, label
                    ) from exc
            if deadline.expired:
                raise _timeout_error("GET", url, shown, attempt, self.download_timeout, label)
            if problem:
                raise APIConnectionError(
                    f"{label + ': ' if label else ''}download cut short: {problem}",
                    method="GET",
                    url=shown,
                    attempts=attempt,
                )
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        log.debug("downloaded %s to %s (%d bytes)", shown, dest, written)
        return dest

    # -- cache -----------------------------------------------------------------------------

    def cache_info(self) -> dict[str, Any]:
        """What the HTTP cache holds: path, size, number of answers (all, this account's)."""
        info: dict[str, Any] = {
            "enabled": self._cached is not None,
            "path": str(self.cache_path) if self.cache_path else None,
            "expire_after": self.expire_after,
            "responses": 0,
            "account_responses": 0,
            "size_bytes": 0,
        }
        if self._cached is None or self.cache_path is None:
            return info
        keys = list(self._cached.cache.responses.keys())
        prefix = f"{self.fingerprint}-" if self.fingerprint else "anonymous-"
        info["responses"] = len(keys)
        info["account_responses"] = sum(1 for k in keys if k.startswith(prefix))
        info["size_bytes"] = self.cache_path.stat().st_size if self.cache_path.exists() else 0
        return info

    def cache_clear(self) -> None:
        """Empty the HTTP cache file (every account's answers in it).

        Rows are deleted, the tables kept: requests-cache's own ``clear()`` drops them,
        and another process reading the cache at that moment would meet "no such table".
        """
        if self._cached is None:
            return
        cache = self._cached.cache
        for table in (cache.responses, cache.redirects):
            with table.connection(commit=True) as con:
                con.execute(f"DELETE FROM {table.table_name}")
        try:
            cache.responses.vacuum()  # give the space back
        except sqlite3.Error as exc:  # another process is busy with the file: later, then
            log.info("HTTP cache emptied but not compacted (%s)", exc)
        log.info("cleared the HTTP cache at %s", self.cache_path)

    def close(self) -> None:
        """Close connections and the cache database."""
        self._plain.close()
        if self._cached is not None:
            self._cached.close()


def _cache_expiry(seconds: float | None) -> int | timedelta:
    # requests-cache reads -1 as "never", 0 as "do not store", and truncates a number of
    # seconds to an int (0.5 would mean "do not store"); a timedelta keeps fractions.
    if seconds is None:
        return -1
    return timedelta(seconds=seconds) if seconds > 0 else 0


def _timeout_error(
    method: str, url: str, shown: str, attempt: int, seconds: float, label: str | None = None
) -> APITimeoutError:
    return APITimeoutError(
        f"{label + ': ' if label else ''}no complete answer from {_host(url)} within "
        f"{seconds:g} s",
        method=method,
        url=shown,
        attempts=attempt,
    )


def _connection_error(
    exc: BaseException,
    method: str,
    url: str,
    shown: str,
    attempt: int,
    timeout: float,
    deadline: _Deadline,
    label: str | None = None,
) -> APIConnectionError:
    """The typed error of a failed exchange, naming the host it was with."""
    _clear_locals(exc)
    if deadline.expired:
        return _timeout_error(method, url, shown, attempt, deadline.seconds, label)
    host = _host(url)
    prefix = f"{label}: " if label else ""
    unsent = _never_sent(exc)
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError):
        what = f"no connection to {host}" if unsent else f"no answer from {host}"
        return APITimeoutError(
            f"{prefix}{what} within the {timeout:g} s timeout",
            method=method,
            url=shown,
            attempts=attempt,
            unsent=unsent,
        )
    if unsent:
        reason = f"could not connect to {host} ({_why(exc)})"
    elif isinstance(
        exc,
        requests.exceptions.ChunkedEncodingError
        | requests.ConnectionError
        | urllib3.exceptions.ProtocolError,
    ):
        reason = f"the connection to {host} dropped before the answer was complete"
    else:
        reason = f"request to {host} failed ({type(exc).__name__})"
    return APIConnectionError(
        prefix + reason, method=method, url=shown, attempts=attempt, unsent=unsent
    )


def _why(exc: BaseException) -> str:
    """Why a connection could not be made, in a few words (the first cause that says)."""
    pending: list[Any] = [exc]
    for _ in range(12):  # a chain of a handful of wrapped errors
        if not pending:
            break
        err = pending.pop(0)
        if isinstance(err, NameResolutionError | socket.gaierror):
            return "host name not found"
        if isinstance(err, ConnectionRefusedError):
            return "connection refused"
        if isinstance(err, OSError) and err.strerror:
            return err.strerror[:1].lower() + err.strerror[1:]
        pending += [a for a in getattr(err, "args", ()) if isinstance(a, BaseException)]
        pending += [getattr(err, "reason", None), err.__cause__, err.__context__]
        pending = [e for e in pending if isinstance(e, BaseException)]
    return type(exc).__name__


def _save_body(
    response: requests.Response, out: Any, expected_length: int | None, ends_with: bytes | None
) -> tuple[int, str | None]:
    """Write a streamed answer's body to ``out``; ``(bytes written, what is wrong or None)``.

    The body is read as it came over the wire and decoded here, so that a gzip stream
    that ends early is seen (urllib3's decoder returns what it has without a word).
    """
    raw = response.raw
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    decoder = None
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(_GZIP_WBITS)
    elif encoding not in ("", "identity"):
        return 0, f"the server used an encoding that was not asked for ({encoding!r})"
    received = written = 0
    last = b""
    try:
        for chunk in raw.stream(DOWNLOAD_CHUNK, decode_content=False):
            received += len(chunk)
            data = chunk
            if decoder is not None:
                data = decoder.decompress(chunk)
                while decoder.eof and decoder.unused_data:  # concatenated gzip members
                    rest, decoder = decoder.unused_data, zlib.decompressobj(_GZIP_WBITS)
                    data += decoder.decompress(rest)
            if data:
                out.write(data)
                written += len(data)
                last = (last + data)[-len(ends_with or b"x"):]
    except zlib.error as exc:
        return written, f"the gzip stream is corrupt ({exc})"
    declared = response.headers.get("Content-Length", "")
    if declared.strip().isdigit() and received != int(declared):
        return written, f"{received} of {declared} bytes announced by Content-Length"
    if decoder is not None and not decoder.eof:
        return written, f"the gzip stream ended early ({received} bytes received)"
    if expected_length is not None and written != expected_length:
        return written, f"{written} of the {expected_length} bytes expected"
    unbounded = not declared.strip() and not raw.chunked and decoder is None
    if unbounded and ends_with and not last.endswith(ends_with):
        # Without a length, the end of the body is where the connection closed: a file
        # that stops mid-line was cut.
        return written, (
            f"no length announced, and the body ({written} bytes) does not end with "
            f"{ends_with!r}"
        )
    return written, None


def remove_orphan_parts(folder: Path, *, older_than: float) -> int:
    """Delete the ``.part`` files of downloads in ``folder`` untouched for ``older_than`` s.

    A live download writes its part file as bytes arrive and ends by its deadline; one
    left behind by a killed process is an orphan. Returns how many were removed.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / ".r.csv.x1.part").write_bytes(b"a"), (folder / "r.csv").write_bytes(b"b")
    >>> remove_orphan_parts(folder, older_than=0), sorted(p.name for p in folder.iterdir())
    (1, ['r.csv'])
    """
    removed = 0
    now = time.time()
    for part in folder.glob(f".*{PART_SUFFIX}"):
        with contextlib.suppress(OSError):  # gone already, or not ours to remove
            if now - part.stat().st_mtime >= older_than:
                part.unlink()
                removed += 1
    if removed:
        log.info("removed %d unfinished download(s) left in %s", removed, folder)
    return removed


def private_file(path: Path) -> Path:
    """Create (or restrict) the SQLite file of a cache as readable by its owner only.

    SQLite gives the ``-wal`` and ``-shm`` files it adds the database file's permissions,
    so restricting this one restricts them too. A default cache directory that does not
    exist yet is created for the owner only as well. Returns the path requests-cache will
    use (``.sqlite`` added to a name without a suffix, as it does).
    """
    path = Path(path)
    if not path.suffix:
        path = path.with_name(path.name + ".sqlite")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):  # absent, or another user's file
            if name.exists() and name.stat().st_mode & 0o077:
                name.chmod(0o600)
    return path


def _never_sent(exc: BaseException) -> bool:
    # requests raises ConnectTimeout, or ConnectionError wrapping urllib3's MaxRetryError
    # whose reason is a NewConnectionError (a ConnectTimeoutError subclass), only when no
    # connection was made, so the request never left this machine.
    if isinstance(exc, requests.ConnectTimeout):
        return True
    inner = exc.args[0] if exc.args else None
    return isinstance(inner, MaxRetryError) and isinstance(inner.reason, ConnectTimeoutError)
