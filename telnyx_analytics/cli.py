"""The ``telnyx-analytics`` command line.

One parser, one subcommand per job; each subcommand is a function ``(args) -> int``
registered by ``_add_<name>``. Usage errors exit 2 with one line, expected failures exit 1
with one line on stderr, never a traceback.

>>> main(["--version"])  # doctest: +SKIP
telnyx-analytics 0.1.0
0
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import date
from typing import Any, NoReturn

from . import __version__

PROG = "telnyx-analytics"

log = logging.getLogger("telnyx_analytics.cli")


class UsageError(Exception):
    """A command line that cannot be run as written (exit status 2)."""


class CommandError(Exception):
    """An expected failure while running a command (exit status 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints the whole usage; one line naming the problem is easier to read.
        raise UsageError(f"{self.prog}: error: {message}")


# -- argument types: each raises ArgumentTypeError with a message that names the value ----


def _number(
    kind: type, *, lo: float | None = None, hi: float | None = None
) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if lo is not None and value < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo:g}, got {text}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"must be at most {hi:g}, got {text}")
        return value

    return parse


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _faults(text: str) -> dict[str, float]:
    from .sandbox.faults import parse_faults

    try:
        return parse_faults(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _keys(text: str) -> frozenset[str]:
    keys = frozenset(k.strip() for k in text.split(",") if k.strip())
    if not keys:
        raise argparse.ArgumentTypeError("expected one or more comma-separated keys")
    return keys


# -- sandbox ------------------------------------------------------------------------------


def _add_sandbox(commands: Any) -> None:
    p = commands.add_parser(
        "sandbox",
        help="serve the local Telnyx reporting API",
        description=(
            "Serve a local, stateful stand-in for the Telnyx reporting API until interrupted. "
            "The first line of output is 'base_url: <url>'."
        ),
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--port", type=_number(int, lo=0, hi=65535), default=0, help="API port (0: any free port)"
    )
    p.add_argument(
        "--download-port",
        type=_number(int, lo=0, hi=65535),
        default=0,
        help="port of the report download origin (0: any free port)",
    )
    p.add_argument("--seed", type=_number(int), default=0, help="seed of the synthetic data")
    p.add_argument(
        "--days", type=_number(int, lo=1), default=90, help="days of history (default: 90)"
    )
    p.add_argument(
        "--until",
        type=_date,
        default=None,
        help="last day of history, YYYY-MM-DD (default: today, UTC)",
    )
    p.add_argument(
        "--scale", type=_number(float, lo=0), default=1.0, help="traffic multiplier (default: 1.0)"
    )
    p.add_argument(
        "--latency",
        metavar="MS",
        type=_number(float, lo=0),
        default=0.0,
        help="milliseconds added to every answer, plus up to 20%% jitter",
    )
    p.add_argument(
        "--faults",
        metavar="SPEC",
        type=_faults,
        default=None,
        help="share of requests answered with a fault, e.g. 429=0.1,500=0.05,reset=0.02 "
        "(kinds: 429 500 502 503 reset truncate html slow)",
    )
    p.add_argument(
        "--keys", metavar="K1,K2", type=_keys, default=None, help="accept only these API keys"
    )
    p.add_argument(
        "--report-delay",
        metavar="SECONDS",
        type=_number(float, lo=0),
        default=1.0,
        help="seconds before a report request completes (default: 1)",
    )
    p.add_argument(
        "--report-failure-rate",
        metavar="RATE",
        type=_number(float, lo=0, hi=1),
        default=0.0,
        help="share of report requests that fail (default: 0)",
    )
    p.set_defaults(run=_run_sandbox)


def _run_sandbox(args: argparse.Namespace) -> int:
    # Imported here: the client side of the package never needs the sandbox.
    from .sandbox import serve

    stop = threading.Event()
    with ExitStack() as stack:
        try:
            sb = stack.enter_context(
                serve(
                    args.seed,
                    days=args.days,
                    until=args.until,
                    scale=args.scale,
                    keys=args.keys,
                    host=args.host,
                    port=args.port,
                    download_port=args.download_port,
                    latency_ms=args.latency,
                    faults=args.faults,
                    report_delay=args.report_delay,
                    report_failure_rate=args.report_failure_rate,
                )
            )
        except OSError as exc:
            raise CommandError(f"cannot listen on {args.host}: {exc.strerror or exc}") from None
        except ValueError as exc:  # a setting the sandbox refuses
            raise CommandError(str(exc)) from None
        stack.callback(_on_signals(stop.set))
        print(f"base_url: {sb.base_url}", flush=True)
        print(f"download_origin: {sb.download_origin}", flush=True)
        log.info("serving until interrupted (Ctrl+C)")
        # A timed wait so that the signal handler gets to run promptly on every platform.
        while not stop.wait(0.5):
            pass
    return 0


def _on_signals(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` on SIGINT/SIGTERM; returns a function restoring the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread may set handlers (e.g. main() in a test)
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda *_: callback())

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


# -- the skeleton ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The full parser: global options and one subparser per command."""
    parser = _Parser(prog=PROG, description="Telnyx reporting data as tidy pandas DataFrames.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    _add_sandbox(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Examples
    --------
    >>> main(["sandbox", "--faults", "bogus=1"])  # doctest: +SKIP
    telnyx-analytics sandbox: error: argument --faults: unknown fault kind 'bogus'; ...
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args))
    except CommandError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before the signal handlers are in place
        return 130


if __name__ == "__main__":
    sys.exit(main())
