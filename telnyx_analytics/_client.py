"""The client: one account, one base URL, one cached and retrying transport.

Every public function of the package takes ``client=None`` and resolves it with
:func:`get_client`: the given client, or the module-wide default that :func:`configure`
sets (created lazily from the environment when never configured).

>>> import telnyx_analytics as tx
>>> client = tx.Client(api_key="KEY_EXAMPLE", base_url="http://127.0.0.1:9/v2", cache=False)
>>> client
Client(base_url='http://127.0.0.1:9/v2', cache=False, concurrency=4)
>>> client.close()
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from . import _pagination
from ._catalog import Pager, settled
from ._docstrings import shared_docs
from ._files import default_cache_path
from ._http import (
    DEFAULT_DOWNLOAD_TIMEOUT,
    Check,
    RetryPolicy,
    Transport,
    api_key_header,
    check_base_url,
)
from ._pagination import Records, Style

__all__ = ["DEFAULT_BASE_URL", "Client", "configure", "get_client"]

log = logging.getLogger("telnyx_analytics.client")

API_KEY_ENV = "TELNYX_API_KEY"
BASE_URL_ENV = "TELNYX_BASE_URL"
#: The base URL without ``base_url`` or ``$TELNYX_BASE_URL``: the real Telnyx API.
DEFAULT_BASE_URL = "https://api.telnyx.com/v2"


class Client:
    """A connection to the Telnyx reporting API for one account.

    Parameters
    ----------
    api_key : str, optional
        The account's API key. Default: ``$TELNYX_API_KEY``. A missing key is an error at
        the first request, naming ``TELNYX_API_KEY``; a key that cannot be a header value
        (a line break, a space, a character outside ASCII) is an error here, which never
        shows the key.
    base_url : str, optional
        Default: ``$TELNYX_BASE_URL``, else ``https://api.telnyx.com/v2``. Point it at a
        sandbox (``sb.base_url``) to work without an account. Plain ``http://`` is refused
        except to a loopback address: the key never travels in clear. A
        ``user:password@`` part is refused too: requests would send it as Basic auth in
        place of the key.
    cache : path or bool, default True
        The SQLite file of the HTTP cache. ``True``: the default location (see
        :func:`telnyx_analytics._files.default_cache_path`; ``$TELNYX_ANALYTICS_CACHE``
        overrides it). ``False``: no cache.
    expire_after : float or timedelta or None, default 3600
        Seconds a cached answer stays fresh; ``None`` keeps answers until cleared.
    max_retries : int, default 5
        Retries after the first attempt of a request.
    timeout : float, default 30
        Seconds one request may take, from connecting to the last byte of the answer
        (a finite number > 0). Each attempt has this long; retries come on top.
    concurrency : int, default 4
        Pages of one listing fetched at once.
    progress : bool or None, default None
        Progress bars while paging; ``None``: only in an interactive session or notebook.
    retry_policy : RetryPolicy, optional
        The waits between attempts (backoff from 0.5 s doubling to 8 s with jitter; a
        429's requested wait, ``Retry-After`` or ``x-ratelimit-reset``, honoured up to
        60 s, a longer one raised at once as ``RateLimitError``). The client also paces
        itself from Telnyx's ``x-ratelimit-*`` headers, one budget for all its workers.
    download_timeout : float, default 600
        Seconds one attempt at downloading a report file may take, body included
        (``DEFAULT_DOWNLOAD_TIMEOUT``); a report file is larger than any API answer.

    Examples
    --------
    >>> client = Client(api_key="KEY_EXAMPLE", base_url="http://127.0.0.1:9/v2", cache=False)
    >>> client.concurrency, client.progress, client.cache_path
    (4, False, None)
    >>> "KEY_EXAMPLE" in repr(client)
    False
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        cache: str | os.PathLike[str] | bool = True,
        expire_after: float | timedelta | None = 3600,
        max_retries: int = 5,
        timeout: float = 30,
        concurrency: int = 4,
        progress: bool | None = None,
        retry_policy: RetryPolicy | None = None,
        download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
    ) -> None:
        # First of all, the raw key leaves this frame's locals (a traceback rendered with
        # its locals would print them): from here on api_key is the redacted header.
        api_key, key_error = api_key_header(api_key, API_KEY_ENV)
        if key_error is not None:
            raise key_error
        if base_url is not None and not isinstance(base_url, str):
            raise TypeError(f"base_url must be a str or None, got {type(base_url).__name__}")
        base_url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        check_base_url(base_url)
        cache_path = _cache_path(cache)
        expire_seconds = _expire_seconds(expire_after)
        _check_int("max_retries", max_retries, 0)
        _check_int("concurrency", concurrency, 1)
        _check_seconds("timeout", timeout)
        _check_seconds("download_timeout", download_timeout)
        if progress is not None and not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None, got {progress!r}")
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise TypeError(
                f"retry_policy must be a RetryPolicy, got {type(retry_policy).__name__}"
            )

        self.concurrency = concurrency
        self.progress = _pagination.interactive() if progress is None else progress
        settings: dict[str, Any] = {
            "api_key": api_key,
            "base_url": base_url,
            "expire_after": expire_seconds,
            "timeout": float(timeout),
            "max_retries": max_retries,
            "policy": retry_policy,
            "pool_size": concurrency,
            "download_timeout": float(download_timeout),
        }
        try:
            self._transport = Transport(cache_path=cache_path, **settings)
        except (OSError, sqlite3.Error) as exc:
            if cache is not True:
                raise ValueError(f"cache: cannot open the SQLite file {cache_path}: {exc}") from exc
            # The default location is unusable (a read-only home, say): work uncached
            # rather than not at all, and say how to choose another place.
            log.warning(
                "HTTP cache off: cannot open %s (%s); set TELNYX_ANALYTICS_CACHE to a "
                "writable path",
                cache_path,
                exc,
            )
            self._transport = Transport(cache_path=None, **settings)

    # -- properties ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API's base URL (no trailing slash)."""
        return self._transport.base_url

    @property
    def account(self) -> str | None:
        """A keyed fingerprint of the API key (never the key), ``None`` without a key."""
        return self._transport.fingerprint

    @property
    def cache_path(self) -> Path | None:
        """The SQLite file of the HTTP cache, or ``None`` when caching is off."""
        return self._transport.cache_path

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt of a request."""
        return self._transport.max_retries

    @property
    def timeout(self) -> float:
        """Seconds one request may take, answer included."""
        return self._transport.timeout

    @property
    def download_timeout(self) -> float:
        """Seconds one attempt at downloading a report file may take."""
        return self._transport.download_timeout

    def __repr__(self) -> str:
        if not hasattr(self, "_transport"):
            # Shown in the traceback (with locals) of an error raised while building it;
            # Python 3.11 renders locals without guarding their repr.
            return "Client(<not built>)"
        cache = str(self.cache_path) if self.cache_path else False
        return (
            f"Client(base_url={self.base_url!r}, cache={cache!r}, "
            f"concurrency={self.concurrency})"
        )

    # -- requests --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        cache: bool = True,
    ) -> requests.Response:
        """Send one API request, with retries; raise the typed error of a failed one.

        Parameters
        ----------
        method : str
            ``"GET"``, ``"POST"``, ``"DELETE"``...
        path : str
            Relative to ``base_url`` (``"/reports/mdrs"``), or an absolute URL under it.
        params : mapping, optional
            Query parameters; a list value repeats the key, ``None`` values are dropped.
        json : any, optional
            A JSON request body.
        cache : bool, default True
            ``False`` bypasses the cache for this call (neither read nor written), as for a
            report still pending. Only GET answers are ever cached, and an answer that
            describes a report still pending never is.

        Returns
        -------
        requests.Response
            A 2xx answer whose body, when JSON, is whole.

        Examples
        --------
        >>> from telnyx_analytics.sandbox import serve
        >>> with serve(seed=1) as sb, Client("KEY_DOC", sb.base_url, cache=False) as c:
        ...     c.request("GET", "/reports/wdrs", params={"page[size]": 1}).status_code
        200
        """
        response, _ = self._transport.request(
            method, path, params=params, json_body=json, cache=cache, check=settled
        )
        return response

    def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        cache: bool = True,
        check: Check | None = None,
    ) -> Any:
        """GET ``path`` and return its decoded JSON body (see :meth:`request`).

        Parameters
        ----------
        path : str
            Relative to ``base_url``, or an absolute URL under it.
        params : mapping, optional
            Query parameters.
        cache : bool, default True
            ``False`` neither reads nor writes the cache for this call.
        check : callable, optional
            ``check(payload) -> bool``: whether the answer is final, so it may be cached;
            it raises (``UnexpectedResponseError``) for an answer that is not what the
            operation documents, and nothing is cached then. Default: an answer is final
            unless it describes a report still pending.

        Examples
        --------
        >>> from telnyx_analytics.sandbox import serve
        >>> with serve(seed=1) as sb, Client("KEY_DOC", sb.base_url, cache=False) as c:
        ...     sorted(c.get_json("/reports/wdrs", {"page[size]": 1}))
        ['data', 'meta']
        """
        _, payload = self._transport.request(
            "GET", path, params=params, cache=cache, check=check or settled
        )
        return payload

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        style: Style | Pager,
        page_size: int,
        limit: int | None = None,
        id_field: str | None = "id",
        desc: str | None = None,
        cache: bool = True,
        stop_after: Callable[[list[dict[str, Any]]], bool] | None = None,
        convert: Callable[[list[dict[str, Any]]], Any] | None = None,
        records: Records | None = None,
        final: Callable[[Any], bool] | None = None,
    ) -> list[Any]:
        """Every record of a paged listing, in the API's order.

        Parameters
        ----------
        path : str
            The listing's path (``"/reports/wdrs"``).
        params : mapping, optional
            Its filters, without paging parameters.
        style : {"number", "legacy", "cursor"} or Pager
            ``page[number]``/``page[size]``; ``page``/``per_page``; ``page[after]``
            cursor; or a catalog row's pager (its parameter names).
        page_size : int
            Records per page.
        limit : int, optional
            Stop after this many records, fetching only the pages needed.
        id_field : str or None, default "id"
            Duplicate records (same id) are dropped; ``None`` keeps everything.
        desc : str, optional
            Label of the progress bar (default: the path).
        cache : bool, default True
            ``False`` bypasses the cache for these pages.
        stop_after : callable, optional
            Cursor paging: ``stop_after(page)`` true ends the listing after that page.
        convert : callable, optional
            ``convert(records)`` of the kept records, in order, a batch at a time as
            pages arrive (a long listing's dicts are never all held at once); the
            converted batches are returned instead of the records.
        records : callable, optional
            ``records(body)``: a page's records, its shape checked (default: ``data``,
            a list of objects).
        final : callable, optional
            ``final(body)``: whether a page may be cached (default: unless it describes
            a report still pending). A page is checked (its records and ``meta``)
            before the cache sees it: a page that is not what paging documents raises
            ``UnexpectedResponseError`` and is never cached.

        Returns
        -------
        list
            The records (dicts), or the converted batches.

        Raises
        ------
        IncompleteResultError
            Fewer records arrived than the API announced.
        UnexpectedResponseError
            A page is not what paging documents (see ``_pagination.paginate``).

        Examples
        --------
        >>> from telnyx_analytics.sandbox import serve
        >>> with serve(seed=1) as sb, Client("KEY_DOC", sb.base_url, cache=False) as c:
        ...     len(c.paginate("/reports/wdrs", style="number", page_size=10, limit=25))
        25
        """
        self._transport.url_for(path)  # a bad path fails before any request
        paging = _pagination.pager(style)
        is_final = final or settled

        def fetch(
            page_params: dict[str, Any], on_rate_limit: Callable[[], None] | None = None
        ) -> Any:
            def check(payload: Any) -> bool:
                _pagination.check_page(payload, paging, page_params, path, records)
                return is_final(payload)

            _, payload = self._transport.request(
                "GET", path, params=page_params, cache=cache, on_rate_limit=on_rate_limit,
                check=check,
            )
            return payload

        return _pagination.paginate(
            fetch,
            params,
            style=paging,
            page_size=page_size,
            limit=limit,
            id_field=id_field,
            concurrency=self.concurrency,
            progress=self.progress,
            desc=desc or path,
            where=path,
            stop_after=stop_after,
            convert=convert,
            records=records,
        )

    @shared_docs
    def download(
        self,
        url: str,
        dest: str | os.PathLike[str],
        *,
        expected_length: int | None = None,
        ends_with: bytes | None = None,
        label: str | None = None,
    ) -> Path:
        """Save a report file (``report_url``, another origin) to ``dest``, whole.

        {download}

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from telnyx_analytics.sandbox import serve
        >>> with serve(seed=1, days=1, report_delay=0) as sb, Client(
        ...         "KEY_DOC", sb.base_url, cache=False) as c:
        ...     rid = c.request("POST", "/phone_numbers/csv_downloads").json()["data"][0]["id"]
        ...     url = c.get_json(f"/phone_numbers/csv_downloads/{rid}")["data"][0]["url"]
        ...     path = c.download(url, pathlib.Path(tempfile.mkdtemp()) / "numbers.csv")
        >>> path.read_text().startswith('"phone_number"')
        True
        """
        return self._transport.download(
            url, Path(dest), expected_length=expected_length, ends_with=ends_with, label=label
        )

    # -- cache -----------------------------------------------------------------------------

    def cache_info(self) -> dict[str, Any]:
        """What the HTTP cache holds.

        Returns
        -------
        dict
            ``enabled``, ``path``, ``expire_after`` (seconds), ``responses`` (all
            accounts), ``account_responses`` (this key's), ``size_bytes``.

        Examples
        --------
        >>> Client("KEY_DOC", "http://127.0.0.1:9/v2", cache=False).cache_info()["enabled"]
        False
        """
        return self._transport.cache_info()

    def cache_clear(self) -> None:
        """Empty the HTTP cache file (every account's answers in it).

        Examples
        --------
        >>> Client("KEY_DOC", "http://127.0.0.1:9/v2", cache=False).cache_clear()
        """
        self._transport.cache_clear()

    def close(self) -> None:
        """Close connections and the cache database."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def _check_seconds(name: str, value: Any) -> None:
    # NaN compares false with everything, and infinity is no limit at all.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")


def _cache_path(cache: Any) -> Path | None:
    if cache is True:
        return default_cache_path()
    if cache is False or cache is None:
        return None
    if isinstance(cache, str | os.PathLike):
        if not os.fspath(cache):
            raise ValueError("cache must be a path to a SQLite file, True or False; got ''")
        return Path(cache).expanduser()
    raise TypeError(
        f"cache must be a path to a SQLite file, True (default location) or False, got {cache!r}"
    )


def _expire_seconds(expire_after: Any) -> float | None:
    if expire_after is None:
        return None
    if isinstance(expire_after, timedelta):
        expire_after = expire_after.total_seconds()
    if isinstance(expire_after, bool) or not isinstance(expire_after, int | float):
        raise TypeError(
            f"expire_after must be seconds (a number), a timedelta or None, got {expire_after!r}"
        )
    if expire_after < 0:
        raise ValueError(f"expire_after must be >= 0 seconds, got {expire_after!r}")
    return expire_after


_default: Client | None = None
_default_lock = threading.Lock()


def configure(**kwargs: Any) -> Client:
    """Set the module-wide default client that every function uses when given none.

    Takes the arguments of :class:`Client` and returns the new default.

    Examples
    --------
    >>> import telnyx_analytics as tx
    >>> client = tx.configure(api_key="KEY_DOC", base_url="http://127.0.0.1:9/v2", cache=False)
    >>> get_client() is client
    True
    """
    global _default
    client = Client(**kwargs)
    with _default_lock:
        _default = client
    return client


def get_client(client: Client | None = None) -> Client:
    """The given client, else the module-wide default (created from the environment).

    Examples
    --------
    >>> c = Client(api_key="KEY_DOC", base_url="http://127.0.0.1:9/v2", cache=False)
    >>> get_client(c) is c
    True
    """
    global _default
    if client is not None:
        if not isinstance(client, Client):
            raise TypeError(
                f"client must be a telnyx_analytics.Client, got {type(client).__name__}"
            )
        return client
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default
