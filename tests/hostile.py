"""A small misbehaving HTTP server on 127.0.0.1, for the tests of broken and hostile answers.

The sandbox is faithful; this server is not. A test gives it one function that turns each
request into an :class:`Answer`, and the answer may be anything a bad day brings: a 200
with an HTML page, a body cut short, a body that trickles one byte a second, a dropped
connection, a ``Content-Length`` that lies.

>>> with HostileServer(lambda req: Answer.json({"data": []})) as srv:
...     import requests
...     requests.get(srv.base_url + "/reports/mdrs", timeout=5).json()
{'data': []}
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str  # without the base path /v2
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""  # as sent, repeated names included


@dataclass(frozen=True)
class Sent:
    """How an answer's body went out: ``whole`` is False when the client hung up first
    (``body_bytes`` of the body, after any cut the answer asked for, were written)."""

    path: str
    body_bytes: int
    whole: bool


@dataclass
class Answer:
    """What the server sends back.

    ``length`` overrides the announced ``Content-Length`` (``None``: the true length;
    ``-1``: no header at all, the body ends when the connection closes). ``trickle``
    sends the body one byte every ``trickle`` seconds (with ``trickle_head``, the status
    line and headers as well). ``reset_after`` closes the
    connection after that many body bytes. ``gzip`` compresses the body and, with
    ``gzip_cut``, drops that many bytes from the end of the compressed stream.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None
    trickle: float | None = None
    trickle_head: bool = False
    reset_after: int | None = None
    gzip: bool = False
    gzip_cut: int = 0
    delay: float = 0.0

    @classmethod
    def json(cls, obj: Any, status: int = 200, **kwargs: Any) -> Answer:
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        return cls(status, json.dumps(obj).encode(), headers, **kwargs)

    @classmethod
    def raw(cls, body: bytes | str, content_type: str, status: int = 200, **kwargs: Any) -> Answer:
        data = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
        return cls(status, data, headers, **kwargs)


Handler = Callable[[Seen], Answer]


def forward(base_url: str, rewrite: Callable[[Seen, Any], Any] | None = None) -> Handler:
    """A handler that passes each request on to ``base_url`` (a sandbox's, say) and
    answers with its answer; a JSON body goes through ``rewrite(seen, body)`` first.

    For answers that are faithful in shape but hostile in their values: markup in a
    name, a formula in a field.
    """
    import requests

    def handle(seen: Seen) -> Answer:
        url = base_url + seen.path + (f"?{seen.raw_query}" if seen.raw_query else "")
        headers = {k: v for k, v in seen.headers.items()
                   if k.lower() in ("authorization", "content-type", "accept")}  # fmt: skip
        got = requests.request(seen.method, url, headers=headers, data=seen.body or None,
                               timeout=60)  # fmt: skip
        content_type = got.headers.get("Content-Type", "application/octet-stream")
        if rewrite is not None and content_type.startswith("application/json"):
            return Answer.json(rewrite(seen, got.json()), status=got.status_code)
        return Answer.raw(got.content, content_type, status=got.status_code)

    return handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: Handler) -> None:
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self.answer = handler
        self.seen: list[Seen] = []
        self.sent: list[Sent] = []
        self.lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up on a trickling body is what these tests do


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path.removeprefix("/v2")
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size) if size else b""
        seen = Seen(self.command, path, dict(parse_qsl(parts.query)), dict(self.headers), body,
                    parts.query)
        with self.server.lock:
            self.server.seen.append(seen)
        answer = self.server.answer(seen)
        if answer.delay:
            time.sleep(answer.delay)
        data = answer.body
        headers = dict(answer.headers)
        if answer.gzip:
            data = gzip.compress(data)
            if answer.gzip_cut:
                data = data[: -answer.gzip_cut]
            headers["Content-Encoding"] = "gzip"
        self.send_response(answer.status)
        for name, value in headers.items():
            self.send_header(name, value)
        if answer.length is None:
            self.send_header("Content-Length", str(len(data)))
        elif answer.length >= 0:
            self.send_header("Content-Length", str(answer.length))
        if answer.length == -1 or answer.reset_after is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        if answer.reset_after is not None:
            data = data[: answer.reset_after]
        written = 0
        try:
            if answer.trickle and answer.trickle_head:
                # The status line and headers too, byte by byte (BaseHTTPRequestHandler
                # buffers them until end_headers; they are taken from that buffer).
                self._headers_buffer.append(b"\r\n")
                head, self._headers_buffer = b"".join(self._headers_buffer), []
                for i in range(len(head)):
                    self.wfile.write(head[i : i + 1])
                    self.wfile.flush()
                    time.sleep(answer.trickle)
            else:
                self.end_headers()
            if answer.trickle:
                for i in range(len(data)):
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    written += 1
                    time.sleep(answer.trickle)
            else:
                self.wfile.write(data)
                self.wfile.flush()
                written = len(data)
            if answer.reset_after is not None:
                # Drop the connection hard (RST) rather than a clean close.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        with self.server.lock:
            self.server.sent.append(Sent(path, written, written == len(data)))

    do_GET = do_POST = do_DELETE = _serve


class HostileServer:
    """A server on 127.0.0.1 whose answers a test writes; use it as a context manager.

    ``base_url`` ends in ``/v2`` like the real API's; ``seen`` lists the requests received.
    """

    def __init__(self, handler: Handler) -> None:
        self._server = _Server(handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}/v2"
        self.origin = f"http://{host}:{port}"

    @property
    def seen(self) -> list[Seen]:
        with self._server.lock:
            return list(self._server.seen)

    @property
    def sent(self) -> list[Sent]:
        """The answers' bodies as they went out, in order of completion."""
        with self._server.lock:
            return list(self._server.sent)

    def set_handler(self, handler: Handler) -> None:
        self._server.answer = handler

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- helpers shared by the tests of hostile answers -------------------------------------------


def quick_client(key: str, base_url: str, **kwargs: Any) -> Any:
    """A client for these servers: no cache, no progress bar, retries in milliseconds."""
    from telnyx_analytics._client import Client
    from telnyx_analytics._http import RetryPolicy

    kwargs.setdefault("cache", False)
    kwargs.setdefault("retry_policy",
                      RetryPolicy(initial_delay=0.001, max_delay=0.004, max_retry_after=0.004))
    kwargs.setdefault("progress", False)
    return Client(key, base_url, **kwargs)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just released by the kernel)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
