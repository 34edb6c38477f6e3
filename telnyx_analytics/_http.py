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
- Only what is safe is cached: 200 answers to GET whose JSON body is whole and that do not
  describe a report still pending.

>>> policy = RetryPolicy()
>>> policy.delay(1, retry_after=3.0), policy.delay(1, retry_after=600.0)
(3.0, 60.0)
>>> 0.375 <= policy.delay(1) <= 0.5    # first retry: 0.5 s less up to 25 % jitter
True
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import hmac
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
import tenacity
from requests.adapters import HTTPAdapter
from requests_cache import CachedSession
from requests_cache.policy import DEFAULT_IGNORED_PARAMS
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

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
    "default_cache_path",
    "is_retryable",
    "parse_retry_after",
]

log = logging.getLogger("telnyx_analytics.http")

# The retry policy, modelled on the official Telnyx SDK (_constants.py, _base_client.py):
# exponential backoff from 0.5 s, doubling, capped at 8 s, minus up to 25 % jitter so that
# parallel workers do not retry in lockstep. A server's Retry-After wins, up to a cap.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
JITTER = 0.25
# Statuses worth another try: request timeout, conflict (Telnyx uses it for a resource
# that is momentarily busy), rate limit, and every 5xx.
RETRY_STATUSES = frozenset({408, 409, 429})
# Methods that may be repeated after they reached the server.
SAFE_METHODS = frozenset({"GET", "HEAD"})

DEFAULT_BASE_URL = "https://api.telnyx.com/v2"
CACHE_ENV = "TELNYX_ANALYTICS_CACHE"
CACHE_FILE = "http_cache.sqlite"
DOWNLOAD_CHUNK = 1 << 16

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
        Cap of a server's ``Retry-After``.
    jitter : float
        Each backoff is shortened by a random share of up to this fraction.

    Examples
    --------
    >>> [RetryPolicy(jitter=0).delay(n) for n in (1, 2, 3, 4, 5, 6)]
    [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    """

    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY
    max_retry_after: float = MAX_RETRY_AFTER
    jitter: float = JITTER

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


def default_cache_path() -> Path:
    """Where the HTTP cache lives unless told otherwise.

    ``$TELNYX_ANALYTICS_CACHE`` if set, else ``telnyx-analytics/http_cache.sqlite`` under
    the user's cache directory (``$XDG_CACHE_HOME``, else ``~/.cache``; ``%LOCALAPPDATA%``
    on Windows).

    >>> default_cache_path().name.endswith(".sqlite") or "TELNYX_ANALYTICS_CACHE" in os.environ
    True
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    if not base and sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "telnyx-analytics" / CACHE_FILE


class _Secret:
    """Holds the API key so that no repr, str, vars() dump or traceback shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an API key is not pickled")


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
        except ValueError:
            memo = (False, None)
    # A slotted response type cannot keep the memo: it is parsed again next time.
    with contextlib.suppress(AttributeError):
        setattr(response, _DECODED_ATTR, memo)
    return memo


# The report vocabularies' "not yet final": legacy integer 1, PENDING, pending.
_PENDING_STATUSES = frozenset({1, "pending", "PENDING", "Pending"})


def describes_pending_report(payload: Any) -> bool:
    """Whether a JSON answer shows a report request that is not yet in a final state.

    >>> describes_pending_report({"data": {"id": "r1", "status": "PENDING"}})
    True
    >>> describes_pending_report({"data": [{"status": 2}, {"status": "complete"}]})
    False
    """
    if not isinstance(payload, dict):
        return False
    data = payload.get("data")
    # A page of records is scanned on every fetch: keep the loop to a dict lookup.
    for item in data if isinstance(data, list) else (data,):
        if not isinstance(item, dict):
            continue
        status = item.get("status")
        # Unhashable or boolean statuses are no report's (True == 1 in a set lookup).
        if isinstance(status, int | str) and not isinstance(status, bool) and (
            status in _PENDING_STATUSES
        ):
            return True
    return False


def cacheable(response: requests.Response) -> bool:
    """requests-cache ``filter_fn``: store only whole, final 200 answers.

    requests-cache also calls it on answers it serves from the cache; those were checked
    before they were stored.
    """
    if getattr(response, "from_cache", False):
        return True
    if response.status_code != 200:
        return False
    memo = getattr(response, _CACHEABLE_ATTR, None)
    if memo is None:  # requests-cache asks twice per answer
        whole, payload = decode_json(response)
        memo = whole and not describes_pending_report(payload)
        with contextlib.suppress(AttributeError):
            setattr(response, _CACHEABLE_ATTR, memo)
    return memo


def _mount_pool(session: requests.Session, pool_size: int) -> requests.Session:
    # One connection per parallel page fetch, kept alive across pages.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, pool_size))
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
        Seconds to wait for a connection and for each read.
    max_retries : int
        Retries after the first attempt.
    policy : RetryPolicy
        Waits between attempts.
    pool_size : int
        Connections kept per host (at least the paging concurrency).

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
    ) -> None:
        self._key = _Secret(api_key) if api_key else None
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.policy = policy or RetryPolicy()
        self.expire_after = expire_after
        self._env = _Environment()
        self._plain = _mount_pool(requests.Session(), pool_size)
        self._cached: CachedSession | None = None
        self.cache_path: Path | None = None
        if cache_path is not None:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
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
        if self._key is not None and self._key.reveal() in text:
            return text.replace(self._key.reveal(), "<redacted>")
        return text

    @property
    def fingerprint(self) -> str | None:
        """The account's fingerprint in cache keys (``None`` without a key)."""
        return account_fingerprint(self._key.reveal()) if self._key else None

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
    ) -> tuple[requests.Response, Any]:
        """Send one API request with retries; return the response and its decoded JSON.

        Raises the typed error of :mod:`telnyx_analytics.errors` once retries are spent.
        ``on_rate_limit`` is called each time a 429 is about to be retried.
        """
        method = method.upper()
        url = self.url_for(path)
        if self._key is None:
            raise MissingAPIKeyError()
        query = clean_params(params)
        use_cache = cache and method == "GET" and self._cached is not None
        session = self._cached if use_cache else self._plain
        assert session is not None
        headers = {"Authorization": f"Bearer {self._key.reveal()}"}

        def attempt(number: int) -> tuple[requests.Response, Any]:
            return self._send(session, method, url, query, json_body, headers, number)

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
    ) -> tuple[requests.Response, Any]:
        started = time.perf_counter()
        try:
            # No redirects: a redirect could carry the key off the base URL, and the
            # reporting API answers its operations without any.
            response = session.request(
                method,
                url,
                params=params,
                json=json_body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                proxies=self._env.proxies(url),
                verify=self._env.verify,
            )
        except requests.RequestException as exc:
            raise _connection_error(exc, method, display_url(url), attempt, self.timeout) from exc
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
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
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

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, RateLimitError) and on_rate_limit is not None:
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
            retry=tenacity.retry_if_exception(lambda exc: is_retryable(exc, method)),
            before_sleep=before_sleep,
            reraise=True,
        )
        for tried in retrying:
            with tried:
                result = attempt(tried.retry_state.attempt_number)
        return result

    # -- downloads -------------------------------------------------------------------------

    def download(self, url: str, dest: Path, *, expected_length: int | None = None) -> Path:
        """Stream ``url`` (a report file on another origin) to ``dest``, whole or not at all.

        Sent without the API key and without the cache; a short or broken transfer is
        retried; the file appears at ``dest`` only once complete (temp file + rename).
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
            return self._download_once(url, dest, expected_length, number)

        return self._retry("GET", attempt)

    def _download_once(
        self, url: str, dest: Path, expected_length: int | None, attempt: int
    ) -> Path:
        # A pre-signed link's query is a credential of its own: keep it out of messages.
        shown = display_url(url, query=False)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    # The plain session carries no Authorization header, and none is
                    # added here.
                    with self._plain.get(
                        url,
                        stream=True,
                        timeout=self.timeout,
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
                            )
                        declared = response.headers.get("Content-Length")
                        written = 0
                        for chunk in response.iter_content(DOWNLOAD_CHUNK):
                            out.write(chunk)
                            written += len(chunk)
                        # Bytes as they came over the wire, before any Content-Encoding.
                        received = response.raw.tell()
                except requests.RequestException as exc:
                    raise _connection_error(exc, "GET", shown, attempt, self.timeout) from exc
            problem = None
            if declared is not None and declared.isdigit() and received != int(declared):
                problem = f"{received} of {declared} bytes announced by Content-Length"
            elif expected_length is not None and written != expected_length:
                problem = f"{written} of the {expected_length} bytes expected"
            if problem:
                raise APIConnectionError(
                    f"download ended short: {problem}", method="GET", url=shown, attempts=attempt
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
        """Empty the HTTP cache file (every account's answers in it)."""
        if self._cached is not None:
            self._cached.cache.clear()
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


def _connection_error(
    exc: requests.RequestException, method: str, url: str, attempt: int, timeout: float
) -> APIConnectionError:
    unsent = _never_sent(exc)
    if isinstance(exc, requests.Timeout):
        what = "no connection" if unsent else "no complete answer"
        return APITimeoutError(
            f"{what} within the {timeout:g} s timeout",
            method=method,
            url=url,
            attempts=attempt,
            unsent=unsent,
        )
    if unsent:
        reason = "could not connect"
    elif isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.ConnectionError):
        reason = "connection dropped before the answer was complete"
    else:
        reason = f"request failed ({type(exc).__name__})"
    return APIConnectionError(reason, method=method, url=url, attempts=attempt, unsent=unsent)


def _never_sent(exc: BaseException) -> bool:
    # requests raises ConnectTimeout, or ConnectionError wrapping urllib3's MaxRetryError
    # whose reason is a NewConnectionError (a ConnectTimeoutError subclass), only when no
    # connection was made, so the request never left this machine.
    if isinstance(exc, requests.ConnectTimeout):
        return True
    inner = exc.args[0] if exc.args else None
    return isinstance(inner, MaxRetryError) and isinstance(inner.reason, ConnectTimeoutError)
