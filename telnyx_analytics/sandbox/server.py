"""The sandbox's sockets: the API origin, the download origin, faults and latency.

Two ``ThreadingHTTPServer`` instances run on background threads: the API origin answers
``/v2/...`` through ``App.handle`` and the download origin (another port, like a
pre-signed storage link) answers report files through ``App.download``. This module only
moves bytes, enforces the rate limit (``ratelimit.py``), injects faults and delays, and
keeps a log of what it received; what the answers say is the app's business. See
docs/sandbox.md.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import random
import socket
import socketserver
import struct
import sys
import threading
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from ._web import ApiError, Request, Response, not_found
from .faults import (
    API_KINDS,
    DOWNLOAD_KINDS,
    REPLACING,
    REWRITING,
    FaultPicker,
    FaultSpec,
    cut,
    download_error_response,
    error_response,
    gzip_cut,
    previous_page,
    renumber,
    rewrite,
)
from .ratelimit import DEFAULT_RATE_LIMIT, RateLimiter, check_rate_limit, too_many_requests

log = logging.getLogger("telnyx_analytics.sandbox.server")

API_PREFIX = "/v2"
FINGERPRINT_CHARS = 12  # enough to tell keys apart in a log, far too few to recover one


class AppLike(Protocol):
    """What the server needs of an app (``app.App`` or a test double)."""

    download_origin: str

    def handle(self, request: Request) -> Response: ...

    def download(self, path: str) -> Response: ...


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the sandbox received and answered it. Never holds the key.

    ``status`` is the status line sent (for ``reset`` and ``short`` the body was cut
    after it; a 429 with no ``fault`` is the rate limit's); ``connection`` numbers TCP
    connections, so two requests with the same number travelled on one kept-alive
    connection.
    """

    method: str
    path: str
    query: str
    status: int
    fault: str | None
    has_authorization: bool
    key_fingerprint: str | None  # sha256 hex prefix of the bearer token
    connection: int


def key_fingerprint(key: str) -> str:
    """The short fingerprint the request log keeps instead of a key.

    Examples
    --------
    >>> key_fingerprint("KEY_test") == key_fingerprint("KEY_test")
    True
    >>> "KEY_test" in key_fingerprint("KEY_test")
    False
    """
    return hashlib.sha256(key.encode()).hexdigest()[:FINGERPRINT_CHARS]


def _fingerprint_of_header(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else header.strip()
    return key_fingerprint(token) if token else None


class _Log:
    """A list that many handler threads append to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Any] = []

    def append(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[Any]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() closes the connections itself
    request_queue_size = 128  # a client fetching pages in parallel opens several at once

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, origin: str,
                 listening: socket.socket | None = None) -> None:  # fmt: skip
        self.sandbox = sandbox
        self.origin = origin  # "api" or "download"
        self.borrowed = listening is not None
        if listening is not None:
            # Serve on the caller's socket, bound and listening already: it stays theirs.
            self.address_family = listening.family
            super().__init__(listening.getsockname()[:2], _Handler, bind_and_activate=False)
            self.socket.close()  # the one socketserver made and never bound
            self.socket = listening
            self.server_address = listening.getsockname()
            self.server_name, self.server_port = self.server_address[:2]
            return
        try:
            ip = ipaddress.ip_address(address[0])
        except ValueError:  # a host name
            ip = None
        if ip is not None and ip.version == 6:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can hang on a machine
        # without DNS; the sandbox never needs the name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def server_close(self) -> None:
        if not self.borrowed:  # a borrowed socket is closed by its owner
            super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback on stderr; clients dropping connections (and
        # our own reset faults) are routine here.
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            log.debug("connection from %s ended: %r", client_address, exc)
        else:
            log.exception("sandbox server error with %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections between pages
    # Headers and body go out in two writes; with Nagle on, a kept-alive connection would
    # hold the body back until the client ACKs (tens of milliseconds per page).
    disable_nagle_algorithm = True
    timeout = 300  # an idle kept-alive connection is closed after this many seconds
    server: _Server
    # Errors raised by http.server itself (malformed request line, unknown method).
    error_content_type = "application/json"
    error_message_format = (
        '{"errors":[{"code":"%(code)d","title":"%(message)s","detail":"%(explain)s"}]}'
    )

    def setup(self) -> None:
        super().setup()
        self.connection_id = self.server.sandbox._open_connection(self.connection)

    def finish(self) -> None:
        self.server.sandbox._close_connection(self.connection)
        super().finish()

    def version_string(self) -> str:
        return "telnyx-analytics-sandbox"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s: " + format, self.server.origin, self.address_string(), *args)

    def _answer(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True  # the rest of the stream cannot be framed
            response = ApiError(400, "10015", "Bad Request", "Invalid Content-Length.").response()
            self.send(response)
            return
        body = self.rfile.read(length) if length else b""
        if self.server.origin == "api":
            self.server.sandbox._answer_api(self, body)
        else:
            self.server.sandbox._answer_download(self, body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def send(self, response: Response, mode: str | None = None) -> None:
        """Write ``response``; ``mode`` is a wire fault (``truncate``, ``reset``,
        ``short``, ``short_unannounced``, ``trickle``) or ``None``."""
        body = response.body
        status = response.status
        length: int | None = len(body)
        if mode == "truncate":
            status = 200
            body = cut(body)
            length = len(body)  # a truthful header: the JSON itself is what is broken
        elif mode in ("reset", "short"):
            body = cut(body)  # the header still announces the whole body
        elif mode == "short_unannounced":
            body = cut(body)
            length = None  # no Content-Length: the body ends where the connection does
            self.close_connection = True
        try:
            self.send_response(status)
            self.send_header("Content-Type", response.content_type)
            if length is None:
                self.send_header("Connection", "close")
            else:
                self.send_header("Content-Length", str(length))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if mode == "trickle":
                self._trickle(body)
            else:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError as exc:  # the client went away (e.g. it timed out on "slow")
            log.debug("could not answer %s %s: %r", self.command, self.path, exc)
            self.close_connection = True
            return
        if mode == "reset":
            # SO_LINGER with a zero timeout turns close() into a TCP RST.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        elif mode == "short":
            self.close_connection = True  # an orderly close after the cut body

    def _trickle(self, body: bytes) -> None:
        # One byte at a time, each within any read timeout, the whole far beyond one.
        sandbox = self.server.sandbox
        for i in range(len(body)):
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()
            if sandbox._stopping.wait(sandbox.trickle_seconds):
                self.close_connection = True
                return


class Sandbox:
    """A running sandbox: two origins on background threads, their logs and knobs.

    Usually made by :func:`serve`; the command line uses :meth:`start` and :meth:`stop`.

    Attributes
    ----------
    app
        The application answering requests (``App`` unless a test injected another).
    base_url
        ``http://127.0.0.1:PORT/v2``: use it in place of ``https://api.telnyx.com/v2``.
    download_origin
        ``http://127.0.0.1:PORT2``: where ``report_url`` links point.

    Examples
    --------
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=1, days=3) as sb:
    ...     sb.set_faults("429=0.5")
    ...     sb.base_url.endswith("/v2")
    True
    """

    def __init__(
        self,
        app: AppLike,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        download_port: int = 0,
        latency_ms: float = 0,
        faults: FaultSpec = None,
        download_faults: FaultSpec = None,
        slow_seconds: float = 35.0,
        trickle_seconds: float = 1.0,
        rate_limit: int | None = None,
        seed: int = 0,
        sockets: tuple[socket.socket, socket.socket] | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.download_port = download_port
        self.sockets = _check_sockets(sockets)
        if self.sockets is not None:
            self.host = self.sockets[0].getsockname()[0]
        self.slow_seconds = float(slow_seconds)
        self.trickle_seconds = float(trickle_seconds)
        rate_limit = check_rate_limit(rate_limit)
        self._limiter = RateLimiter(rate_limit) if rate_limit else None
        self.seed = seed
        self.base_url = ""
        self.download_origin = ""
        # Separate streams so that download faults do not shift the API's sequence.
        self._faults = FaultPicker(faults, seed, stream="api", kinds=API_KINDS)
        self._download_faults = FaultPicker(
            download_faults, seed, stream="download", kinds=DOWNLOAD_KINDS
        )
        self._latency_ms = 0.0
        self.set_latency(latency_ms)
        self._jitter = random.Random(seed)
        self._jitter_lock = threading.Lock()
        self._log = _Log()
        self._download_log = _Log()
        self._download_auth = _Log()
        self._connections: dict[socket.socket, int] = {}
        self._connections_lock = threading.Lock()
        self._connection_count = 0
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- logs and knobs -------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        """The API requests received so far, oldest first (a copy)."""
        return self._log.snapshot()

    @property
    def download_requests(self) -> list[LoggedRequest]:
        """The requests received on the download origin, oldest first (a copy)."""
        return self._download_log.snapshot()

    @property
    def download_authorizations(self) -> list[str]:
        """Every ``Authorization`` header value that reached the download origin.

        A well-behaved client sends none: the link is all it needs.
        """
        return self._download_auth.snapshot()

    @property
    def faults(self) -> dict[str, float]:
        """The API fault rates in force."""
        return self._faults.rates

    @property
    def rate_limit(self) -> int | None:
        """Requests per second each account may make, or ``None`` for no limit."""
        return self._limiter.limit if self._limiter else None

    @property
    def latency_ms(self) -> float:
        """The added latency in milliseconds (before jitter)."""
        return self._latency_ms

    @property
    def download_faults(self) -> dict[str, float]:
        """The download-origin fault rates in force."""
        return self._download_faults.rates

    def set_faults(self, spec: FaultSpec) -> None:
        """Replace the API fault rates.

        ``spec`` is a ``"kind=rate,..."`` string, a dict or ``None`` for no faults; the
        sequence keeps counting, so a run stays repeatable.
        """
        self._faults.set_rates(spec)

    def set_download_faults(self, spec: FaultSpec) -> None:
        """Replace the download-origin fault rates (kinds ``short``, ``500``, ``503``,
        ``reset``, ``gzip_cut``, ``short_unannounced``, ``html_200``)."""
        self._download_faults.set_rates(spec)

    def set_latency(self, ms: float) -> None:
        """Delay every answer by ``ms`` milliseconds plus up to 20% jitter."""
        ms = float(ms)
        if not ms >= 0:
            raise ValueError(f"latency_ms must be a number >= 0, got {ms!r}")
        self._latency_ms = ms

    def clear_log(self) -> None:
        """Forget the requests and download authorizations recorded so far."""
        self._log.clear()
        self._download_log.clear()
        self._download_auth.clear()

    def ledger(self, key: str) -> Any:
        """The ledger of the account that ``key`` opens, to compute expected answers."""
        return self.app.account_for_key(key).ledger  # type: ignore[attr-defined]

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind both ports and serve on background threads. Returns ``self``.

        Raises ``OSError`` when a port cannot be bound.
        """
        if self._servers:
            raise RuntimeError("this sandbox is already running")
        self._stopping.clear()
        api_socket, download_socket = self.sockets or (None, None)
        api = _Server((self.host, self.port), self, "api", api_socket)
        try:
            download = _Server((self.host, self.download_port), self, "download",
                               download_socket)  # fmt: skip
        except BaseException:
            api.server_close()
            raise
        self._servers = [api, download]
        self.base_url = _origin(self.host, api.server_address[1]) + API_PREFIX
        self.download_origin = _origin(self.host, download.server_address[1])
        self.app.download_origin = self.download_origin
        if not _is_loopback(self.host):
            log.warning("the sandbox listens on %s, reachable from other machines", self.host)
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"telnyx-sandbox-{server.origin}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        log.info("sandbox serving %s (downloads at %s)", self.base_url, self.download_origin)
        return self

    def stop(self) -> None:
        """Stop serving: close the ports and open connections, join the threads."""
        self._stopping.set()  # wakes answers held by latency or the "slow" fault
        # shutdown() waits up to one poll interval per server: wait for both at once.
        stoppers = [threading.Thread(target=server.shutdown) for server in self._servers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server in self._servers:
            server.server_close()
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            # A kept-alive connection waits in readline(); shutting it down ends it.
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers = []
        self._threads = []

    def __enter__(self) -> Sandbox:
        return self if self._servers else self.start()  # `with start(...)` works too

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering (called by the handler threads) ------------------------------------------

    def _open_connection(self, conn: socket.socket) -> int:
        with self._connections_lock:
            self._connection_count += 1
            self._connections[conn] = self._connection_count
            return self._connection_count

    def _close_connection(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.pop(conn, None)

    def _delay(self) -> None:
        ms = self._latency_ms
        if ms > 0:
            with self._jitter_lock:
                jitter = self._jitter.uniform(0, 0.2)
            self._stopping.wait(ms / 1000 * (1 + jitter))

    def _answer_api(self, handler: _Handler, body: bytes) -> None:
        target = handler.path
        path = target.partition("?")[0]
        authorization = handler.headers.get("Authorization")
        fault: str | None = None
        if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
            response = not_found(f"The path {path}").response()
        else:
            quota = None
            if self._limiter is not None:
                account = _fingerprint_of_header(authorization) or "anonymous"
                quota = self._limiter.take(account)
            if quota is not None and not quota.allowed:
                response = too_many_requests()  # not counted, and the app never sees it
            else:
                fault = self._faults.next()
                response, fault = self._faulted(handler, target, body, fault)
            if quota is not None:
                headers = quota.headers(exhausted=response.status == 429)
                response = replace(response, headers={**response.headers, **headers})
        self._delay()
        if fault == "slow":
            self._stopping.wait(self.slow_seconds)
        mode = fault if fault in ("reset", "truncate", "trickle") else None
        # Logged before the answer goes out, so a client that has its answer finds it logged.
        self._log.append(_entry(handler, response, mode, fault, authorization))
        handler.send(response, mode)

    def _faulted(
        self, handler: _Handler, target: str, body: bytes, fault: str | None
    ) -> tuple[Response, str | None]:
        """The app's answer under ``fault``, and the fault as applied (``None`` when the
        kind does not apply to this answer)."""
        if fault in REPLACING:
            return error_response(fault), fault
        request = Request.from_target(
            handler.command,
            target[len(API_PREFIX) :],
            headers=dict(handler.headers.items()),
            body=body,
        )
        if fault == "repeat_page":
            earlier = previous_page(request.query)
            if earlier is None:
                return _call(self.app.handle, request), None
            request.query, _, number = earlier
            return renumber(_call(self.app.handle, request), number), fault
        response = _call(self.app.handle, request)
        if fault in REWRITING:
            altered = rewrite(fault, response, request.query)
            return (response, None) if altered is None else (altered, fault)
        return response, fault

    def _answer_download(self, handler: _Handler, body: bytes) -> None:
        target = handler.path
        authorization = handler.headers.get("Authorization")
        if authorization is not None:
            self._download_auth.append(authorization)
        fault: str | None = None
        if handler.command != "GET":
            response = Response(405, b"Method Not Allowed\n", content_type="text/plain")
            response.headers["Allow"] = "GET"
        else:
            fault = self._download_faults.next()
            if fault in ("500", "503", "html_200"):
                response = download_error_response(fault)
            else:
                response = _call(self.app.download, target)
                if fault == "gzip_cut":
                    response = gzip_cut(response)
        self._delay()
        mode = fault if fault in ("reset", "short", "short_unannounced") else None
        self._download_log.append(_entry(handler, response, mode, fault, authorization))
        handler.send(response, mode)


def _call(answer: Any, argument: Any) -> Response:
    """Call the app; a bug there is a 500 for this request, not a dropped connection."""
    try:
        return answer(argument)
    except Exception:
        log.exception("the sandbox app failed")
        return ApiError(500, "10007", "Unexpected error", "An unexpected error occured.").response()


def _entry(
    handler: _Handler,
    response: Response,
    mode: str | None,
    fault: str | None,
    authorization: str | None,
) -> LoggedRequest:
    path, _, query = handler.path.partition("?")
    return LoggedRequest(
        method=handler.command,
        path=path,
        query=query,
        status=200 if mode == "truncate" else response.status,
        fault=fault,
        has_authorization=authorization is not None,
        key_fingerprint=_fingerprint_of_header(authorization),
        connection=handler.connection_id,
    )


def _check_sockets(
    sockets: tuple[socket.socket, socket.socket] | None,
) -> tuple[socket.socket, socket.socket] | None:
    if sockets is None:
        return None
    if (not isinstance(sockets, tuple | list) or len(sockets) != 2
            or not all(isinstance(s, socket.socket) for s in sockets)):
        raise TypeError("sockets must be None or (api_socket, download_socket), two bound "
                        f"and listening TCP sockets; got {sockets!r}")
    for sock in sockets:
        if sock.type != socket.SOCK_STREAM or not sock.getsockopt(
                socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            raise ValueError(f"sockets: {sock!r} is not a listening TCP socket; bind it and "
                             "call listen() first")
    return sockets[0], sockets[1]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _origin(host: str, port: int) -> str:
    """The URL origin a client on this machine uses to reach ``host:port``."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def serve(
    seed: int = 0,
    *,
    days: int = 90,
    until: date | str | None = None,
    now: datetime | str | None = None,
    scale: float = 1.0,
    keys: Iterable[str] | str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    download_port: int = 0,
    latency_ms: float = 0,
    faults: FaultSpec = None,
    download_faults: FaultSpec = None,
    slow_seconds: float = 35.0,
    trickle_seconds: float = 1.0,
    rate_limit: int | None = DEFAULT_RATE_LIMIT,
    report_delay: float = 1.0,
    report_failure_rate: float = 0.0,
    report_ttl: float = 3600.0,
    app: AppLike | None = None,
    sockets: tuple[socket.socket, socket.socket] | None = None,
) -> Sandbox:
    """A sandbox of the Telnyx reporting API, run on background threads in a ``with`` block.

    ``with serve(...) as sb`` starts it and stops it at the end of the block; to keep one
    running outside a block (a notebook, a REPL), use :func:`start` and ``sb.stop()``.

    Parameters
    ----------
    seed
        Seeds the ledgers and the fault sequence: same seed, same answers.
    days, until, scale
        The ledger covers ``days`` UTC days ending with ``until`` (default today);
        ``scale`` multiplies the traffic.
    now
        The sandbox's current time (default: the clock): no record is later. With
        ``until``, the same account as it was a day before (or will be a day after),
        with the same seed; an ISO 8601 string or a datetime (naive: UTC).
    keys
        The accepted API keys (an iterable or ``"K1,K2"``); ``None`` accepts any key,
        each its own account.
    host, port, download_port
        Where to listen; loopback and free ports by default.
    latency_ms
        Added to every answer, plus up to 20% jitter.
    faults, download_faults
        Fault rates (``"429=0.1,reset=0.02"`` or a dict) for the API and download origins.
    slow_seconds
        How long a ``slow`` fault holds its answer.
    trickle_seconds
        The pause after each byte of a ``trickle`` fault's body.
    rate_limit
        Requests per second each account (API key) may make, in fixed one-second
        windows; every answer carries ``x-ratelimit-limit``, ``x-ratelimit-remaining``
        and ``x-ratelimit-reset``, and a request over the limit is answered 429 with
        code ``10011``. ``None`` (or 0): no limit and no such headers. Default
        :data:`~telnyx_analytics.sandbox.ratelimit.DEFAULT_RATE_LIMIT` (20).
    report_delay, report_failure_rate, report_ttl
        The lifecycle of asynchronous report requests.
    app
        An application to serve instead of building one from the arguments above.
    sockets
        ``(api_socket, download_socket)``: serve on these TCP sockets, already bound and
        listening, instead of binding ``host``/``port``/``download_port``. They stay the
        caller's: stopping the sandbox leaves them open, so that another sandbox can
        serve the same URLs next (a restart with no moment when the ports are free for
        another process to take).

    Returns
    -------
    Sandbox
        Not yet started: entering the ``with`` block starts it, leaving it stops it.

    Examples
    --------
    >>> import requests
    >>> with serve(seed=1, days=3) as sb:
    ...     r = requests.get(sb.base_url + "/reports/mdrs", timeout=10)
    >>> r.status_code
    401
    """
    if app is None:
        # Imported here so that faults and the server load without the ledger.
        from .app import App, SandboxConfig

        if isinstance(keys, str):
            keys = [k.strip() for k in keys.split(",") if k.strip()]
        if isinstance(until, str):
            until = date.fromisoformat(until)
        if isinstance(now, str):
            now = datetime.fromisoformat(now)
        config = SandboxConfig(
            seed=seed,
            days=days,
            until=until,
            now=now,
            scale=scale,
            keys=None if keys is None else frozenset(keys),
            report_delay=report_delay,
            report_failure_rate=report_failure_rate,
            report_ttl=report_ttl,
        )
        app = App(config)
    sandbox = Sandbox(
        app,
        host=host,
        port=port,
        download_port=download_port,
        latency_ms=latency_ms,
        faults=faults,
        download_faults=download_faults,
        slow_seconds=slow_seconds,
        trickle_seconds=trickle_seconds,
        rate_limit=rate_limit,
        seed=seed,
        sockets=sockets,
    )
    return sandbox


def start(seed: int = 0, **options: Any) -> Sandbox:
    """Start a sandbox and return it running; stop it with ``sb.stop()``.

    Takes the arguments of :func:`serve`. For notebooks and REPLs, where a ``with`` block
    does not fit.

    >>> sb = start(seed=1, days=3)
    >>> sb.base_url.endswith("/v2")
    True
    >>> sb.stop()
    """
    return serve(seed, **options).start()
