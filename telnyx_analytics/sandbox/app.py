"""The sandbox application: accounts, authentication and dispatch to the routes.

``App.handle(Request) -> Response`` is the whole API, without sockets. The routes live in
``views.py`` (synchronous views of the ledger), ``detail_records.py`` (the Detail Record
Search API) and ``jobs.py`` (asynchronous reports).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from . import detail_records, jobs, views
from ._web import ApiError, Request, Response, Router
from .ledger import Ledger

log = logging.getLogger("telnyx_analytics.sandbox")

READONLY_PREFIX = "KEYREADONLY"


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes the sandbox's answers (faults and latency live in the server)."""

    seed: int = 0
    days: int = 90
    until: date | None = None
    #: The sandbox's current time (default: the clock when an account's ledger is made);
    #: with ``until``, a sandbox can be started as it was, or will be, on another day.
    now: datetime | None = None
    scale: float = 1.0
    keys: frozenset[str] | None = None  # None: any key is its own account
    report_delay: float = 1.0  # seconds from pending to a final status
    report_failure_rate: float = 0.0
    report_ttl: float = 3600.0  # seconds a finished report stays downloadable


@dataclass
class Account:
    """One API key's account: its ledger and its report requests."""

    fingerprint: str  # sha256 of the key, never the key itself
    ledger: Ledger
    readonly: bool
    reports: dict[str, Any] = field(default_factory=dict)  # owned by jobs.py
    lock: threading.Lock = field(default_factory=threading.Lock)


class App:
    def __init__(self, config: SandboxConfig | None = None, *, download_origin: str = "") -> None:
        self.config = config or SandboxConfig()
        # Set by the server once the download port is bound, e.g. "http://127.0.0.1:5678".
        self.download_origin = download_origin
        self.router = Router()
        self._accounts: dict[str, Account] = {}
        self._accounts_lock = threading.Lock()
        views.register(self.router, self)
        detail_records.register(self.router)
        self.reports = jobs.ReportService(self)
        self.reports.register(self.router)

    # -- accounts -----------------------------------------------------------------------

    def account_for_key(self, key: str) -> Account:
        """The account of a key (created on first use), or a 401."""
        if not key:
            raise _unauthorized("No API key was given. Send 'Authorization: Bearer <key>'.")
        if self.config.keys is not None and key not in self.config.keys:
            raise _unauthorized("Could not understand the provided credentials.")
        fingerprint = hashlib.sha256(key.encode()).hexdigest()
        with self._accounts_lock:
            account = self._accounts.get(fingerprint)
            if account is None:
                ledger = Ledger(
                    self.config.seed,
                    key,
                    days=self.config.days,
                    until=self.config.until,
                    scale=self.config.scale,
                    now=self.config.now,
                )
                account = Account(fingerprint, ledger, key.startswith(READONLY_PREFIX))
                self._accounts[fingerprint] = account
            return account

    # -- dispatch -------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one API request (path relative to ``/v2``)."""
        try:
            request.account = self.account_for_key(
                _bearer(request.headers.get("authorization", ""))
            )
            handler = self.router.match(request)
            if request.account.readonly and request.method in ("POST", "DELETE", "PATCH", "PUT"):
                raise ApiError(403, "10010", "Forbidden", "This API key is read-only.")
            return handler(request)
        except ApiError as err:
            return err.response(with_message=request.path.startswith("/session_analysis"))
        except Exception:  # a bug in the sandbox: answer like the real service would
            log.exception("sandbox error on %s %s", request.method, request.path)
            return ApiError(
                500, "10007", "Unexpected error", "An unexpected error occured."
            ).response(with_message=request.path.startswith("/session_analysis"))

    def download(self, path: str) -> Response:
        """Answer a request on the download origin (no key needed there)."""
        return self.reports.download(path)


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, "10009", "Authentication failed", detail)
