"""The ``telnyx-analytics`` command line: ``demo``, ``sandbox``, ``export``, ``cache``.

One parser, one subcommand per job; each subcommand is a function ``(args) -> int``
registered by ``_add_<name>``. Usage errors exit 2 with one line, found before any
request; failures while running (a refused request, an answer the library cannot read)
exit 1 with one line on stderr; Ctrl-C exits 130 with one line; never a traceback.

This is the one client-side module that may use the sandbox (``demo``, ``sandbox``); it
imports it inside those commands only.

>>> main(["--version"])  # doctest: +SKIP
telnyx-analytics 0.1.0
0
"""

from __future__ import annotations

import argparse
import functools
import inspect
import logging
import math
import os
import re
import shutil
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from . import __version__
from ._dates import PERIODS

if TYPE_CHECKING:
    import pandas as pd

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


def _instant(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2024-05-31T12:00:00Z, got {text!r}") from None


def _faults(text: str) -> dict[str, float]:
    from .sandbox.faults import parse_faults

    try:
        return parse_faults(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _download_faults(text: str) -> dict[str, float]:
    from .sandbox.faults import DOWNLOAD_KINDS, parse_faults

    try:
        return parse_faults(text, DOWNLOAD_KINDS)
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
        "--now",
        metavar="TIME",
        type=_instant,
        default=None,
        help="the sandbox's current time, ISO 8601 (naive: UTC); no record is later. With "
        "--until and --seed, the same account as it was, or will be, at that time "
        "(default: the clock)",
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
        "(kinds: 429 500 502 503 reset truncate html slow html_200 errors_200 null_data "
        "repeat_page bad_meta odd_status comma_amount trickle huge_meta stuck_cursor no_id)",
    )
    p.add_argument(
        "--download-faults",
        metavar="SPEC",
        type=_download_faults,
        default=None,
        help="the same for report downloads, e.g. gzip_cut=0.5 "
        "(kinds: short 500 503 reset gzip_cut short_unannounced html_200)",
    )
    p.add_argument(
        "--rate-limit",
        metavar="N",
        type=_number(int, lo=0),
        default=None,
        help="requests per second per account, answered 429 (code 10011) beyond; "
        "0: no limit (default: the sandbox's, 20)",
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
    # Without --rate-limit, serve()'s own default applies; 0 turns the limit off.
    limit = {} if args.rate_limit is None else {"rate_limit": args.rate_limit or None}
    with ExitStack() as stack:
        try:
            sb = stack.enter_context(
                serve(
                    args.seed,
                    days=args.days,
                    until=args.until,
                    now=args.now,
                    scale=args.scale,
                    keys=args.keys,
                    host=args.host,
                    port=args.port,
                    download_port=args.download_port,
                    latency_ms=args.latency,
                    faults=args.faults,
                    download_faults=args.download_faults,
                    report_delay=args.report_delay,
                    report_failure_rate=args.report_failure_rate,
                    **limit,
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


# -- demo ---------------------------------------------------------------------------------

#: The demo's sandbox: an account's month and a few days before it, at half the default
#: traffic (tens of thousands of records), which keeps the whole demo to seconds.
DEMO_KEY = "KEY_demo"
DEMO_DAYS = 35
DEMO_WINDOW_DAYS = 30
DEMO_SCALE = 0.5
DEMO_REPORT_DELAY = 0.2


def _add_demo(commands: Any) -> None:
    p = commands.add_parser(
        "demo",
        help="analyse a month of a synthetic account: plots, Parquet files, an HTML summary",
        description=(
            "Start the local sandbox in this process, analyse the last 30 days of its "
            "synthetic account (spend by product and day, a spend anomaly, messaging by "
            "country, call destinations, wireless data use, one session tree) and write PNG "
            "plots, Parquet files and one self-contained HTML summary into DIR. No account, "
            "API key or network is needed."
        ),
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default="telnyx-demo",
        help="directory to write into, created if missing (default: ./%(default)s)",
    )
    p.add_argument("--seed", type=_number(int), default=0, help="seed of the synthetic data")
    p.add_argument(
        "--scale",
        type=_number(float, lo=0.01, hi=2),
        default=DEMO_SCALE,
        help="traffic multiplier, at most 2 (default: %(default)s; 1 is a small business)",
    )
    p.set_defaults(run=_run_demo)


def demo_window(today: date | None = None) -> tuple[date, date]:
    """The demo's window: the 30 whole UTC days before today.

    Yesterday is the last day: today is not over, and its partial spend would look like a
    drop.

    >>> demo_window(date(2024, 6, 1))
    (datetime.date(2024, 5, 2), datetime.date(2024, 5, 31))
    """
    last = (today or datetime.now(UTC).date()) - timedelta(days=1)
    return last - timedelta(days=DEMO_WINDOW_DAYS - 1), last


def _run_demo(args: argparse.Namespace) -> int:
    # Imported here: only this command needs the sandbox, matplotlib and the demo.
    from . import Client, TelnyxAnalyticsError, demo
    from .sandbox import serve

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out}: exists and is not a directory")
    start, end = demo_window()
    with ExitStack() as stack:
        try:
            sb = stack.enter_context(
                serve(
                    args.seed,
                    days=DEMO_DAYS,
                    until=end,
                    scale=args.scale,
                    report_delay=DEMO_REPORT_DELAY,
                )
            )
        except OSError as exc:
            raise CommandError(f"cannot start the sandbox: {exc.strerror or exc}") from None
        print(
            f"sandbox: {sb.base_url} (a synthetic account, seed {args.seed}; "
            "no API key or network needed)",
            flush=True,
        )
        print(f"window: {start} .. {end} ({DEMO_WINDOW_DAYS} days, UTC)", flush=True)
        # The sandbox's account, never the module default nor the real API; no cache: a
        # demo has nothing to reuse and must leave nothing behind but its files.
        client = stack.enter_context(Client(DEMO_KEY, sb.base_url, cache=False, progress=False))
        try:
            result = demo.run(
                out,
                start,
                end,
                client=client,
                title="Telnyx account summary (demo)",
                source=(
                    "Synthetic traffic from the telnyx-analytics sandbox, a local stand-in for "
                    "the Telnyx reporting API; the same analysis runs on a real account."
                ),
            )
        except OSError as exc:
            raise CommandError(f"cannot write into {out}: {exc.strerror or exc}") from None
        except TelnyxAnalyticsError as exc:
            raise CommandError(str(exc)) from None
    for line in result.headlines():
        print(line)
    print(f"wrote {len(result.files)} files into {out}:")
    for path in result.files:
        print(f"  {path}")
    print(f"open {result.summary} in a browser")
    return 0


# -- export -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """One kind ``export`` can write: a fetcher, or an asynchronous report kind."""

    name: str
    what: str
    operation: Any  # the catalog row that checks its arguments: the fetcher, or report create
    report: str | None = None  # the report kind, for a kind read through tx.reports

    @property
    def window(self) -> Any:
        return self.operation.window


#: What the catalog's one-line summaries leave out on the command line.
_HELP = {
    "product_usage": "usage by product (--product, --dimensions, --metrics)",
    "billing_group": "costs per billing group for the month of --start",
    "cdrs": "call detail records (the cdr_detail report, as tx.cdrs)",
}
#: The library's report kind for voice records, accepted for ``cdrs`` (its one name here).
_ALIASES = {"cdr_detail": "cdrs"}
_SUFFIXES = (".parquet", ".csv")
#: What a Ctrl-C says when the command keeps what it fetched in the HTTP cache.
RESUME_HINT = "interrupted; run it again to resume from the cache"


@functools.cache
def export_kinds() -> dict[str, _Kind]:
    """The kinds ``export`` writes, by name, taken from the catalog.

    The synchronous fetchers first (the catalog's operations with a window), then the
    report kinds of ``tx.reports``. One name each: voice records are ``cdrs`` (as
    ``tx.cdrs``), and a report kind that has a synchronous fetcher of the same name
    (``mdr_usage``: the same frame) is fetched synchronously, with no report to wait for.

    >>> list(export_kinds())[:4]
    ['call_events', 'mdrs', 'wdrs', 'cdr_usage']
    """
    from . import _catalog
    from .reports import KINDS

    kinds = {op.name: _Kind(op.name, _HELP.get(op.name, op.summary), op)
             for op in _catalog.fetchers()}  # fmt: skip
    for name in KINDS:
        kind = _catalog.report_kind(name)
        cli_name = _ALIASES.get(name, name)
        if cli_name not in kinds:
            what = _HELP.get(cli_name, kind.summary)
            kinds[cli_name] = _Kind(cli_name, what, kind.op("create"), report=name)
    return kinds


def _kind_name(text: str) -> str:
    """The kind called ``text``; an old spelling with ``-`` still works, with a warning."""
    kinds = export_kinds()
    name = text.strip().replace("-", "_")
    name = _ALIASES.get(name, name)
    if name not in kinds:
        raise argparse.ArgumentTypeError(
            f"unknown kind {text!r}; choose from {', '.join(kinds)}"
        )
    if "-" in text:
        print(f"{PROG}: warning: kind {text!r} is deprecated; spell it {name!r}",
              file=sys.stderr)  # fmt: skip
    return name


def _kinds_help() -> str:
    kinds = export_kinds().values()
    lines = ["kinds, synchronous (fetched page by page):"]
    lines += [f"  {k.name:<20} {_sentence(k.what)}" for k in kinds if k.report is None]
    lines.append("kinds, asynchronous reports (requested, waited for, downloaded):")
    lines += [f"  {k.name:<20} {_sentence(k.what)}" for k in kinds if k.report is not None]
    lines += [
        "",
        "--start and --end take a day (2024-05-01), an ISO 8601 time, a named period",
        *textwrap.wrap(f"({', '.join(PERIODS)}) or an offset (-90d, -12h, -2w); a period "
                       "alone (--start last_month) is the whole period, an offset alone "
                       "runs to now. UTC.", width=88),
        "--filter passes any filter the kind accepts, e.g. --filter direction=inbound;",
        "a comma makes a list (--filter directions=inbound,outbound), true/false a flag.",
        "The key is read from TELNYX_API_KEY (or the variable --api-key-env names), the base",
        "URL from --base-url, else TELNYX_BASE_URL, else the Telnyx API. Parquet keeps the",
        "dtypes (money float64, exact to the micro-unit, next to its currency). In a CSV",
        "file, a cell a spreadsheet would run as a formula gets a leading ' (--raw-csv",
        "writes it as it is). An existing file is replaced only with --force.",
    ]
    return "\n".join(lines)


def _sentence(summary: str) -> str:
    return f"{summary[:1].lower()}{summary[1:].rstrip('.')}"


def _add_export(commands: Any) -> None:
    p = commands.add_parser(
        "export",
        help="fetch one kind of data for a window and write it to .parquet or .csv",
        description="Fetch one kind of data for a window and write it to a Parquet or CSV file.",
        epilog=_kinds_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "kind", metavar="KIND", type=_kind_name, choices=list(export_kinds()),
        help="what to fetch (below)",
    )
    p.add_argument(
        "--start", help="first day or instant, a named period or an offset (UTC unless given)"
    )
    p.add_argument("--end", help="last day (included) or instant, a named period or an offset")
    p.add_argument(
        "--out", metavar="FILE", required=True, help="the file to write: .parquet or .csv"
    )
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument(
        "--raw-csv",
        action="store_true",
        help="write CSV cells as they are, even those a spreadsheet would run as a formula",
    )
    p.add_argument(
        "--filter",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        dest="filters",
        help="a filter of the kind (repeatable)",
    )
    p.add_argument("--product", help="product_usage: the product, e.g. messaging")
    p.add_argument("--dimensions", help="product_usage: comma-separated, e.g. date,country_code")
    p.add_argument("--metrics", help="product_usage: comma-separated, e.g. count,cost")
    p.add_argument(
        "--limit", type=_number(int, lo=1), default=None, help="stop after N records (fetchers)"
    )
    p.add_argument(
        "--base-url", default=None, help="API base URL (default: $TELNYX_BASE_URL, else Telnyx)"
    )
    p.add_argument(
        "--api-key-env",
        metavar="NAME",
        default="TELNYX_API_KEY",
        help="environment variable holding the API key (default: %(default)s)",
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the HTTP cache")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars on stderr (default: when stderr is a terminal)",
    )
    p.set_defaults(run=_run_export, interrupted=RESUME_HINT)


def _filter_value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "," in text:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _export_params(kind: _Kind, args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the fetch, checked as far as the command line can."""
    import telnyx_analytics as tx

    params: dict[str, Any] = {}
    for item in args.filters:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--filter {item!r}: expected NAME=VALUE")
        params[name.strip()] = _filter_value(value.strip())

    # Dates first: a bad one is a usage error before anything else is looked at. The
    # window is resolved once, here, so that a named period means one window throughout.
    try:
        lo, hi = tx.window(args.start, args.end, required=False)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--{exc}") from None
    if kind.name == "billing_group":
        if lo is None:
            raise UsageError("billing_group needs --start (a day of the month to report)")
        if args.end is not None:
            raise UsageError("billing_group covers the month of --start; leave out --end")
        params.update(month=lo.month, year=lo.year)
    elif kind.window is None:
        if lo is not None or hi is not None:
            raise UsageError(f"{kind.name} takes no window; leave out --start and --end")
    else:
        if kind.window.required and (lo is None or hi is None):
            raise UsageError(
                f"{kind.name} needs --start and --end (or a named period alone, "
                "such as --start last_month)"
            )
        params.update(start=lo, end=hi)

    usage_options = {"product": args.product, "dimensions": args.dimensions,
                     "metrics": args.metrics}  # fmt: skip
    if kind.name == "product_usage":
        for name, value in usage_options.items():
            if not value:
                raise UsageError(f"product_usage needs --{name}")
        params["product"] = args.product
        params["dimensions"] = [d.strip() for d in args.dimensions.split(",") if d.strip()]
        params["metrics"] = [m.strip() for m in args.metrics.split(",") if m.strip()]
    else:
        given = [f"--{name}" for name, value in usage_options.items() if value]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise UsageError(f"{' and '.join(given)} {verb} only to product_usage")
    # Every argument is checked against the catalog now, before any request: what is
    # refused here is a usage error; anything that goes wrong later is a failure.
    from . import _catalog

    try:
        _catalog.prepare(kind.operation, **{**_defaults(kind), **params})
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.limit is not None:
        if kind.report is not None:
            raise UsageError(f"--limit applies to the synchronous kinds, not to {kind.name}")
        params["limit"] = args.limit
    return params


def _defaults(kind: _Kind) -> dict[str, Any]:
    """The fetcher's own defaults for the operation's arguments (``aggregation="none"``)."""
    import telnyx_analytics as tx

    if kind.report is not None:
        return {}
    signature = inspect.signature(getattr(tx, kind.name))
    return {name: p.default for name, p in signature.parameters.items()
            if p.default not in (inspect.Parameter.empty, None)
            and kind.operation.param(name) is not None}  # fmt: skip


def _fetch_export(kind: _Kind, params: dict[str, Any], client: Any) -> pd.DataFrame:
    import telnyx_analytics as tx

    if kind.report is None:
        return getattr(tx, kind.name)(client=client, **params)
    return tx.reports.read(kind.report, client=client, **params)


# A cell a spreadsheet would run as a formula: one starting with = + - @ (after spaces,
# which spreadsheets skip), or with a tab or carriage return (OWASP, "CSV Injection").
_FORMULA_RE = r"^[ \u00a0]*[=+\-@]|^[\t\r]"
# ... unless it is a plain number, such as -5 or an E.164 phone number +13125550001:
# that opens as a number, never as code, and a quote would change the value.
_PLAIN_NUMBER_RE = r"^[+-]?(?:\d+\.?\d*|\.\d+)$"


def _defused(values: pd.Series) -> pd.Series:
    """Text ``values`` with formula-like cells prefixed by ``'`` (the cell stays text)."""
    text = values.astype("string")
    risky = text.str.contains(_FORMULA_RE, regex=True) & ~text.str.fullmatch(_PLAIN_NUMBER_RE)
    return values.mask(risky.fillna(False).astype(bool), "'" + text)


def defuse_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell that a spreadsheet would run as a formula neutralised.

    Only text columns (strings, categories of strings) are touched: numbers, money and
    timestamps are written as they are, so a negative amount stays a number.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"cli": ["=HYPERLINK(\\"http://x\\")", "+13125550001", "@SUM(A1)"],
    ...                    "cost": [-0.5, 1.0, 2.0]})
    >>> defuse_formulas(df).to_dict("list")
    {'cli': ['\\'=HYPERLINK("http://x")', '+13125550001', "'@SUM(A1)"], 'cost': [-0.5, 1.0, 2.0]}
    """
    import pandas as pd

    out = df.copy()
    for name, values in df.items():
        if isinstance(values.dtype, pd.CategoricalDtype):
            categories = values.cat.categories
            if pd.api.types.is_string_dtype(categories.dtype):
                renamed = _defused(pd.Series(categories, dtype=object))
                out[name] = values.cat.rename_categories(list(renamed))
        elif pd.api.types.is_string_dtype(values.dtype):
            out[name] = _defused(values)
    return out


def _write_frame(df: pd.DataFrame, out: Path, *, force: bool, raw_csv: bool) -> None:
    """Write ``df`` to ``out`` by its suffix; the file appears only once complete, and
    replaces an existing one only with ``force``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if out.suffix.lower() == ".parquet":
            # pyarrow keeps every dtype: money, UTC timestamps, categories, Int64.
            df.to_parquet(tmp, engine="pyarrow", index=False)
        else:
            (df if raw_csv else defuse_formulas(df)).to_csv(tmp, index=False)
        if force:
            os.replace(tmp, out)
        else:
            _no_clobber(out)
            try:
                os.link(tmp, out)  # fails if out appeared meanwhile: never replaced silently
            except FileExistsError:
                _no_clobber(out)
            except OSError:  # a filesystem without hard links
                os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _no_clobber(out: Path) -> None:
    if out.exists() or out.is_symlink():
        raise UsageError(f"--out {out}: the file exists; pass --force to replace it")


def _run_export(args: argparse.Namespace) -> int:
    from . import Client, TelnyxAnalyticsError

    kind = export_kinds()[args.kind]
    out = Path(args.out)
    if out.suffix.lower() not in _SUFFIXES:
        raise UsageError(f"--out {args.out}: the file must end in .parquet or .csv")
    params = _export_params(kind, args)
    if not args.force:
        _no_clobber(out)  # before fetching anything
    api_key = os.environ.get(args.api_key_env, "").strip()
    if not api_key:
        raise CommandError(
            f"no API key: set the {args.api_key_env} environment variable to your Telnyx API key"
        )
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    if args.no_cache:
        args.interrupted = "interrupted"
    try:
        client = Client(api_key, args.base_url, cache=not args.no_cache, progress=progress)
    except (TypeError, ValueError) as exc:  # a malformed --base-url or TELNYX_BASE_URL
        raise UsageError(str(exc)) from None
    with client:
        try:
            df = _fetch_export(kind, params, client)
        except TelnyxAnalyticsError as exc:
            raise CommandError(str(exc)) from None
        except (TypeError, ValueError) as exc:
            # The arguments were checked before anything was sent: what goes wrong now
            # (an answer the library could not read, a product usage name the account's
            # options lack) is a failure, not a usage error.
            raise CommandError(f"{kind.name}: {exc}") from None
    try:
        _write_frame(df, out, force=args.force, raw_csv=args.raw_csv)
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"wrote {len(df):,} rows x {len(df.columns)} columns to {out}")
    return 0


# -- sync ---------------------------------------------------------------------------------


def _add_sync(commands: Any) -> None:
    p = commands.add_parser(
        "sync",
        help="keep a local Parquet lake of the account's records current",
        description="Fetch the days of MDRs, CDRs and WDRs that the lake at DIR lacks or "
        "that have not settled yet, and write them as Parquet (docs/large-accounts.md).",
    )
    p.add_argument("dir", metavar="DIR", help="the lake's directory (created if missing)")
    p.add_argument("--kinds", default="mdrs,cdrs,wdrs",
                   help="comma-separated kinds: mdrs, cdrs, wdrs, detail:<record type> "
                        "(default: %(default)s)")
    p.add_argument("--start", help="first day, e.g. 2024-05-01 (default: the lake's first "
                   "day, or 30 days ago)")
    p.add_argument("--end", help="last day (included; default: now)")
    p.add_argument("--rebuild-manifest", action="store_true",
                   help="rebuild a damaged manifest from the day files, then sync")
    p.add_argument("--base-url", default=None,
                   help="API base URL (default: $TELNYX_BASE_URL, else Telnyx)")
    p.add_argument("--api-key-env", metavar="NAME", default="TELNYX_API_KEY",
                   help="environment variable holding the API key (default: %(default)s)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar on stderr (default: when stderr is a terminal)")
    p.set_defaults(run=_run_sync)


def _run_sync(args: argparse.Namespace) -> int:
    from . import Client, TelnyxAnalyticsError, lake

    # Every argument is checked before any request, and the window resolved once: what
    # is refused here is a usage error (exit 2); what fails later is a failure (exit 1).
    try:
        _, kinds, start, end = lake.sync_arguments(args.dir, args.kinds, args.start, args.end)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    api_key = os.environ.get(args.api_key_env, "").strip()
    if not api_key:
        raise CommandError(
            f"no API key: set the {args.api_key_env} environment variable to your Telnyx API key"
        )
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        # No HTTP cache: the lake is the cache, and an unsettled day must be fetched afresh.
        client = Client(api_key, args.base_url, cache=False, progress=progress)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    with client:
        try:
            if args.rebuild_manifest:
                lake.rebuild_manifest(args.dir, client=client)
            done = lake.sync(args.dir, [k.name for k in kinds], start, end, client=client)
        except TelnyxAnalyticsError as exc:
            raise CommandError(str(exc)) from None
        except (TypeError, ValueError) as exc:
            # The arguments were checked above: this came after requests were sent (an
            # answer the library could not store, say), so it is a failure.
            raise CommandError(str(exc)) from None
        except OSError as exc:  # the lake's directory cannot be written
            raise CommandError(f"cannot write the lake at {args.dir}: {exc.strerror or exc}"
                               ) from None
    counts = done["action"].value_counts()
    print(f"synced {args.dir}: {int(done['rows'].sum()):,} rows in {len(done)} kind-days "
          f"({', '.join(f'{counts.get(a, 0)} {a}' for a in ('written', 'unchanged', 'skipped'))}"
          f"; {int(done['settled'].sum())} settled)")
    return 0


# -- cache --------------------------------------------------------------------------------


def _add_cache(commands: Any) -> None:
    p = commands.add_parser(
        "cache",
        help="show or empty the HTTP cache",
        description=(
            "Show or empty the HTTP cache shared by the library and this command line "
            "(path: $TELNYX_ANALYTICS_CACHE, else under the user's cache directory). "
            "No API key is needed."
        ),
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    info = actions.add_parser(
        "info",
        help="print the cache's path, size and entries",
        description="Print the cache's path, size on disk and number of stored answers.",
    )
    info.set_defaults(run=_run_cache_info)
    clear = actions.add_parser(
        "clear",
        help="remove every stored answer",
        description="Remove every stored answer from the cache (all accounts).",
    )
    clear.set_defaults(run=_run_cache_clear)


def _open_cache() -> Any | None:
    """A client on the cache file, or ``None`` when there is no cache file yet."""
    from ._client import DEFAULT_BASE_URL, Client
    from ._files import default_cache_path

    path = default_cache_path()
    if not path.exists():
        return None
    try:
        # An explicit path, not cache=True: an unusable file must be an error here, not a
        # silent fallback to no cache. No request is sent, so no key or URL is needed.
        return Client(api_key=None, base_url=DEFAULT_BASE_URL, cache=path)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{n:,} bytes" if unit == "bytes" else f"{value:.1f} {unit} ({n:,} bytes)"
        value /= 1024
    raise AssertionError("unreachable")


def _run_cache_info(args: argparse.Namespace) -> int:
    from ._files import default_cache_path

    client = _open_cache()
    if client is None:
        print(f"path: {default_cache_path()}")
        print("size: 0 bytes (no cache file yet)")
        print("entries: 0")
        return 0
    with client:
        info = client.cache_info()
    files = _kept_files(client.cache_path)
    parts = _kept_files(client.cache_path, unfinished=True)
    print(f"path: {info['path']}")
    print(f"size: {_size(int(info['size_bytes']))}")
    print(f"entries: {info['responses']:,}")
    print(f"report files: {len(files):,} ({_size(_total_size(files))})")
    # Left by an interrupted download (or one running now); removed by the next download
    # into the same folder once stale, and by `cache clear`.
    print(f"unfinished downloads: {len(parts):,} ({_size(_total_size(parts))})")
    return 0


def _kept_files(cache_path: Path | None, *, unfinished: bool = False) -> list[Path]:
    """The finished report CSVs kept beside the cache file (or the unfinished ``.part``
    files of downloads)."""
    from ._files import PART_SUFFIX
    from .reports import kept_reports_dir

    folder = kept_reports_dir(cache_path)
    pattern = f".*{PART_SUFFIX}" if unfinished else "*.csv"
    return sorted(folder.rglob(pattern)) if folder is not None and folder.is_dir() else []


def _total_size(files: list[Path]) -> int:
    total = 0
    for file in files:
        with suppress(OSError):  # removed meanwhile (a download finished)
            total += file.stat().st_size
    return total


def _run_cache_clear(args: argparse.Namespace) -> int:
    from ._files import default_cache_path

    client = _open_cache()
    if client is None:
        print(f"nothing to clear: no cache at {default_cache_path()}")
        return 0
    from .reports import kept_reports_dir

    with client:
        before = client.cache_info()["responses"]
        client.cache_clear()
    files = _kept_files(client.cache_path)
    folder = kept_reports_dir(client.cache_path)
    if folder is not None and folder.is_dir():
        # A download finishing meanwhile in another process may race the walk: what
        # it adds is not this command's failure.
        shutil.rmtree(folder, ignore_errors=True)
    print(f"cleared {before:,} entries from {client.cache_path}")
    print(f"removed {len(files):,} kept report files")
    return 0


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
    _add_demo(commands)
    _add_sandbox(commands)
    _add_export(commands)
    _add_sync(commands)
    _add_cache(commands)
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
        args = parser.parse_args(_attach_offsets(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")

    def interrupted() -> str:
        return f"{PROG}: {getattr(args, 'interrupted', 'interrupted')}"

    # The installed command (not main([...]) called from Python) ends soon after Ctrl-C
    # even when requests in flight would hold it (_leave_on_interrupt).
    as_process = argv is None
    leave, restore = _leave_on_interrupt(interrupted) if as_process else (None, _nothing)
    try:
        return int(args.run(args))
    except UsageError as exc:  # found while running, e.g. by the library's argument checks
        print(_one_line(f"{PROG} {args.command}: error: {exc}"), file=sys.stderr)
        return 2
    except CommandError as exc:
        print(_one_line(f"{PROG}: error: {exc}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C: one line, no traceback; 128 + SIGINT, as a shell reports it.
        if leave is not None:
            leave()  # without waiting at exit for threads nobody needs any more
        print(interrupted(), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): no traceback, and none at exit either when
        # Python flushes stdout again.
        with suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        restore()


def _nothing() -> None:
    pass


#: Seconds a Ctrl-C leaves for clean-up (temporary files) before the process ends anyway.
INTERRUPT_GRACE = 2.0


def _leave_on_interrupt(
    message: Callable[[], str],
) -> tuple[Callable[[], None] | None, Callable[[], None]]:
    """Ctrl-C handling for the installed command: ``(leave, restore)``.

    The first SIGINT raises ``KeyboardInterrupt`` as usual, so that ``finally`` blocks
    remove temporary files; ``leave()`` then prints ``message()`` and ends the process
    with 130 at once, without joining worker threads still waiting for an answer. If the
    unwinding itself waits on them, the process leaves anyway after
    :data:`INTERRUPT_GRACE` seconds, or at a second Ctrl-C. The HTTP cache commits each
    answer on its own, so nothing is lost that a rerun would need.
    """
    if threading.current_thread() is not threading.main_thread():
        return None, _nothing
    once = threading.Lock()

    def leave() -> None:
        if not once.acquire(blocking=False):
            return  # the other path is already leaving
        # Straight to the file descriptor: the interrupted code may be inside a print.
        with suppress(OSError):
            os.write(2, f"{message()}\n".encode())
        with suppress(OSError, ValueError, RuntimeError):  # RuntimeError: reentrant flush
            sys.stdout.flush()
        os._exit(130)

    def first(signum: int, frame: Any) -> None:
        # What winds down after Ctrl-C (a request cut short, a cache closed under a
        # worker) is noise, not news: the one line below is all the user asked for.
        logging.disable(logging.CRITICAL)
        signal.signal(signal.SIGINT, lambda *_: leave())
        timer = threading.Timer(INTERRUPT_GRACE, leave)
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, first)
    return leave, lambda: signal.signal(signal.SIGINT, previous)


# An offset such as -90d looks like an option to argparse (only negative numbers are let
# through); written after --start or --end, it is that option's value.
_OFFSET_ARG = re.compile(r"^-\d+[a-z]$")
_WINDOW_OPTIONS = ("--start", "--end")


def _attach_offsets(argv: Sequence[str]) -> list[str]:
    """``["--start", "-90d"]`` as ``["--start=-90d"]``, which argparse reads as meant.

    >>> _attach_offsets(["export", "mdrs", "--start", "-90d", "--end", "-1d"])
    ['export', 'mdrs', '--start=-90d', '--end=-1d']
    """
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in _WINDOW_OPTIONS and _OFFSET_ARG.match(arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def _one_line(text: str) -> str:
    # A message from deeper down (a parser, the OS) may span lines; stderr gets one.
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
