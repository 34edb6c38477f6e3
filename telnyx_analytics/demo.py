"""The demo: a month of an account's traffic, analysed, plotted and summarised.

:func:`run` fetches a window of messages, calls, wireless sessions and number lookups
through a :class:`telnyx_analytics.Client`, analyses them with the package's public
functions only, and writes into one directory:

- PNG plots (spend by product and day, the spend anomaly, messaging by country, call
  destinations, wireless data, one session tree and its cost);
- Parquet files (the records as fetched, and every table the summary shows);
- ``summary.html``: one self-contained page (plots embedded as base64 PNG, no external
  resource) with the headline numbers, a short explanation of each section and small
  tables.

It never starts a server and never chooses an account: ``telnyx-analytics demo`` starts
the embedded sandbox and passes a client pointed at it; the same function runs on a real
account given a real client.

>>> import tempfile
>>> import telnyx_analytics as tx
>>> from telnyx_analytics.sandbox import serve
>>> with serve(seed=3, days=30, scale=0.1, report_delay=0.1) as sb:  # doctest: +SKIP
...     client = tx.Client("KEY_demo", sb.base_url, cache=False, progress=False)
...     account = sb.ledger("KEY_demo")
...     result = run(tempfile.mkdtemp(), account.first_day, account.last_day, client=client)
>>> result.summary.name  # doctest: +SKIP
'summary.html'
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

# Only the public API, as a user's script would use it: the demo doubles as an example.
import telnyx_analytics as tx

__all__ = ["Anomaly", "DemoResult", "run"]

log = logging.getLogger("telnyx_analytics.demo")

#: Rows of each table in the HTML summary (the Parquet files hold everything).
TOP = 10
#: Name of the HTML summary inside the output directory.
SUMMARY = "summary.html"
#: Sessions tried when looking for one with children to draw.
_SESSION_CANDIDATES = 5
_DPI = 110


@dataclass(frozen=True)
class Anomaly:
    """The headline spend anomaly: the day whose spend left its baseline the most, in the
    account's main currency (the one with the most records) when it has one."""

    day: dt.date
    product: str
    currency: str
    cost: Decimal
    baseline: float
    score: float
    kind: str

    def __str__(self) -> str:
        return (
            f"{self.day} {self.product} spend {_money(self.cost, self.currency)} "
            f"against a baseline of {_money(self.baseline, self.currency)} "
            f"({self.kind}, {self.score:.1f} spreads)"
        )


@dataclass
class DemoResult:
    """What :func:`run` wrote and found.

    Attributes
    ----------
    out_dir : Path
    start, end : datetime.date
        The window analysed (whole UTC days, both included).
    files : list of Path
        Every file written, the HTML summary first.
    totals : DataFrame
        Spend per product and currency over the window: ``product``, ``currency``,
        ``cost`` (exact), ``records``.
    anomaly : Anomaly or None
        The headline spend anomaly (spike or drop), if any day stands out.
    """

    out_dir: Path
    start: dt.date
    end: dt.date
    files: list[Path] = field(default_factory=list)
    totals: pd.DataFrame = field(default_factory=pd.DataFrame)
    anomaly: Anomaly | None = None

    @property
    def summary(self) -> Path:
        """The HTML summary."""
        return self.out_dir / SUMMARY

    def spend_by_currency(self) -> list[tuple[str, Decimal]]:
        """Total spend per currency, largest first (never added across currencies)."""
        if self.totals.empty:
            return []
        # Summed exactly by cost_by; each float64 total is the nearest to its exact amount,
        # whose shortest repr is that amount.
        sums = tx.cost_by(self.totals)
        return sorted(((str(c), _exact(v)) for c, v in zip(sums["currency"], sums["cost"],
                                                             strict=True)),
                      key=lambda kv: kv[1], reverse=True)

    def headlines(self) -> list[str]:
        """The headline numbers as ``name: value`` lines (what the command line prints).

        Examples
        --------
        >>> import datetime as dt
        >>> r = DemoResult(Path("."), dt.date(2024, 5, 1), dt.date(2024, 5, 30))
        >>> r.headlines()
        ['spend: none']
        """
        spend = ", ".join(_money(cost, cur) for cur, cost in self.spend_by_currency())
        lines = [f"spend: {spend or 'none'}"]
        if self.anomaly is not None:
            lines.append(f"anomaly: {self.anomaly}")
        return lines


class _Html(str):
    """Text that is already HTML: written into the page as it is."""


def _h(template: str, /, **values: Any) -> _Html:
    """``template`` (this module's own HTML) with every value escaped as it goes in.

    Every value that reaches the page comes through here or through ``html.escape``:
    values from the API (currencies, names, ids) may hold markup, and must show as text.

    >>> _h("<p>{name}: {cost}</p>", name="<script>alert(1)</script>", cost="1.00 USD")
    '<p>&lt;script&gt;alert(1)&lt;/script&gt;: 1.00 USD</p>'
    >>> _h("<p>{inner}</p>", inner=_h("<b>{x}</b>", x="<i>"))
    '<p><b>&lt;i&gt;</b></p>'
    """
    return _Html(template.format_map({
        k: v if isinstance(v, _Html) else html.escape(str(v)) for k, v in values.items()
    }))  # fmt: skip


@dataclass
class _Section:
    """One part of the HTML page: a title, an explanation, plots and tables."""

    anchor: str
    title: str
    intro: _Html
    images: list[tuple[Path, str]] = field(default_factory=list)  # (png, alt text)
    tables: list[tuple[str, str]] = field(default_factory=list)  # (caption, table HTML)


class _Writer:
    """Writes files into the output directory and remembers them, in order."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.files: list[Path] = []

    def _path(self, name: str) -> Path:
        path = self.out_dir / name
        self.files.append(path)
        return path

    def parquet(self, name: str, df: pd.DataFrame) -> Path:
        path = self._path(name)
        # Money (float64, exact to the micro-unit), categories and Int64 survive the file.
        df.to_parquet(path, index=False)
        return path

    def figure(
        self, name: str, draw: Callable[[Figure], None], *, size: tuple[float, float] = (9.0, 4.2)
    ) -> Path:
        # A Figure without pyplot: no backend is chosen, no window opens, no global state.
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        path = self._path(name)
        fig.savefig(path, dpi=_DPI)
        return path


# -- the run ---------------------------------------------------------------------------------


def run(
    out_dir: str | os.PathLike[str],
    start: str | dt.date,
    end: str | dt.date,
    *,
    client: tx.Client,
    title: str = "Telnyx account summary",
    source: str | None = None,
) -> DemoResult:
    """Analyse a window of an account's traffic; write plots, Parquet files and an HTML page.

    Parameters
    ----------
    out_dir : path
        Created if missing; files of the same names are replaced.
    start, end : str or datetime.date
        First and last UTC day of the window (both included; at most 31 days, the limit of
        the product usage API).
    client : Client
        The account to read (the CLI passes one pointed at the embedded sandbox).
    title : str
        The page's title.
    source : str, optional
        A sentence saying where the data comes from, shown under the title.

    Returns
    -------
    DemoResult
        The files written (``summary.html`` first) and the headline numbers.

    Examples
    --------
    >>> import tempfile
    >>> import telnyx_analytics as tx
    >>> from telnyx_analytics.sandbox import serve
    >>> with serve(seed=3, days=30, scale=0.1, report_delay=0.1) as sb:  # doctest: +SKIP
    ...     c = tx.Client("KEY_demo", sb.base_url, cache=False, progress=False)
    ...     result = run(tempfile.mkdtemp(), sb.ledger("KEY_demo").first_day,
    ...                  sb.ledger("KEY_demo").last_day, client=c)
    >>> result.anomaly.kind  # doctest: +SKIP
    'spike'
    """
    first, last = _day(start, "start"), _day(end, "end")
    if last < first:
        raise ValueError(f"end ({last}) is before start ({first}): end must be on or after start.")
    if (last - first).days >= 31:
        raise ValueError(
            f"the window {first}..{last} is longer than 31 days; product usage "
            "answers at most 31 days."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out)
    writer.files.append(out / SUMMARY)  # written last, listed first
    result = DemoResult(out_dir=out, start=first, end=last)

    log.info("fetching %s..%s", first, last)
    messages = tx.mdrs(first, last, client=client)
    calls = tx.cdrs(first, last, client=client)
    wireless = tx.wdrs(first, last, client=client)
    lookups = tx.reports.read("number_lookup_usage", start=first, end=last, client=client)
    log.info(
        "%d messages, %d call legs, %d wireless sessions", len(messages), len(calls), len(wireless)
    )
    writer.parquet("messages.parquet", messages)
    writer.parquet("calls.parquet", calls)
    writer.parquet("wireless_sessions.parquet", wireless)
    writer.parquet("number_lookups.parquet", lookups)

    spend = tx.spend_summary(
        {"messaging": messages, "voice": calls, "wireless": wireless, "number lookups": lookups},
        freq="D",
    )
    sections = [
        _spend_section(writer, spend, result),
        _anomaly_section(writer, spend, result),
        _country_section(writer, first, last, client),
        _destination_section(writer, calls),
        _wireless_section(writer, wireless),
        _session_section(writer, last, client),
    ]
    headlines = _headlines(result, messages, calls, wireless)
    page = _page(title, source, result, headlines, sections, writer.files)
    (out / SUMMARY).write_text(page, encoding="utf-8")
    result.files = writer.files
    log.info("wrote %d files into %s", len(writer.files), out)
    return result


def _day(value: str | dt.date, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(
        f"{name} must be a day such as '2024-05-01' or a datetime.date, got {value!r}."
    )


# -- sections ------------------------------------------------------------------------------------


def _spend_section(writer: _Writer, spend: pd.DataFrame, result: DemoResult) -> _Section:
    writer.parquet("spend_daily.parquet", spend)
    totals = tx.cost_by(spend, "product")
    records = (
        spend.groupby(["product", "currency"], observed=True)["count"]
        .sum()
        .rename("records")
        .reset_index()
    )
    records["currency"] = records["currency"].astype(str)
    totals["currency"] = totals["currency"].astype(str)
    totals = totals.drop(columns="count").merge(records, on=["product", "currency"])
    totals = totals.sort_values(["product", "records"], ascending=[True, False], ignore_index=True)
    result.totals = totals
    writer.parquet("spend_totals.parquet", totals)

    main = _main_currency(spend)
    others = sorted(set(spend["currency"].astype(str)) - {main})
    png = writer.figure(
        "spend_by_product.png",
        lambda fig: tx.plot.cost_over_time(
            spend,
            by="product",
            currency=main,
            ax=fig.add_subplot(),
            title=f"Daily spend by product ({main})",
        ),
    )
    rows = [
        [str(r.product), _money(r.cost, r.currency, 2), f"{int(r.records):,}"]
        for r in totals.itertuples()
    ]
    intro = _h(
        "<p>What the account spent each day, per product, totalled exactly from the detail "
        "records (<code>tx.spend_summary</code>). Amounts in different currencies are never "
        "added together: the plot shows {main}, the currency with the most records"
        "{others}.</p>",
        main=main,
        others=f"; {', '.join(others)} are in the table" if others else "",
    )
    return _Section(
        "spend",
        "Spend by product and day",
        intro,
        images=[(png, f"Daily spend by product in {main}")],
        tables=[
            (
                "Spend per product and currency over the window",
                _table(["product", "spend", "records"], rows, right={1, 2}),
            )
        ],
    )


@dataclass(frozen=True)
class _Anomalies:
    """What the anomaly section shows, found before anything is drawn or written."""

    found: pd.DataFrame  # every flagged day (tx.spend_anomalies)
    headline: Anomaly | None
    shown: pd.DataFrame  # the headline, then the largest departures (at most TOP rows)
    series: pd.DataFrame  # the daily spend of the headline's product and currency


def _find_anomalies(spend: pd.DataFrame) -> _Anomalies:
    """The flagged days, and the headline among them: the largest departure in the main
    currency when it has one (series in currencies with little traffic are noisy, and a
    few units there can score high), else the largest anywhere."""
    found = tx.spend_anomalies(spend, by="product")
    if found.empty:
        return _Anomalies(found, None, found, spend.iloc[:0])
    main = found[found["currency"].astype(str) == _main_currency(spend)]
    pool = main if len(main) else found
    top = pool.loc[pool["score"].abs().idxmax()]
    headline = Anomaly(
        day=pd.Timestamp(top["period"]).date(),
        product=str(top["product"]),
        currency=str(top["currency"]),
        cost=_exact(top["cost"]),
        baseline=float(top["baseline"]),
        score=float(top["score"]),
        kind=str(top["kind"]),
    )
    order = found["score"].abs().sort_values(ascending=False).index.drop(top.name)
    shown = found.loc[[top.name, *order]].head(TOP)
    series = spend[
        (spend["product"].astype(str) == headline.product)
        & (spend["currency"].astype(str) == headline.currency)
    ]
    return _Anomalies(found, headline, shown, series)


def _draw_anomaly(fig: Figure, series: pd.DataFrame, anomaly: Anomaly) -> None:
    """The headline's product spend per day, the anomalous day shaded and labelled."""
    ax = tx.plot.cost_over_time(
        series,
        currency=anomaly.currency,
        ax=fig.add_subplot(),
        title=f"Daily {anomaly.product} spend ({anomaly.currency}): the {anomaly.kind}",
    )
    # tx.plot draws each day's bar from the day's start over 85% of the day.
    x = pd.Timestamp(anomaly.day)
    ax.axvspan(
        x - pd.Timedelta(hours=2), x + pd.Timedelta(hours=22), color="#d62728", alpha=0.15,
        zorder=0,
    )
    usual = (
        f"{float(anomaly.cost) / anomaly.baseline:.1f}× the usual level"
        if anomaly.baseline > 0
        else f"usually {_money(anomaly.baseline, anomaly.currency)}"
    )
    ax.annotate(
        f"{anomaly.day:%a %d %b}: {usual}",
        xy=(x + pd.Timedelta(hours=22), float(anomaly.cost)),
        xytext=(6, 0),
        textcoords="offset points",
        va="top",
        color="#a01010",
        fontsize=9,
    )


_ANOMALY_INTRO = _Html(
    "<p>Days whose spend leaves its usual level, per product and currency "
    "(<code>tx.spend_anomalies</code>): each day is compared with the median of the "
    "other days on the same weekday, and reported when it departs from it by more than "
    "3.5 robust spreads. Days without spend count as zero, so an outage shows up as "
    "well as a spike.</p>"
)


def _anomaly_section(writer: _Writer, spend: pd.DataFrame, result: DemoResult) -> _Section:
    found = _find_anomalies(spend)
    writer.parquet("spend_anomalies.parquet", found.found)
    anomaly = result.anomaly = found.headline
    if anomaly is None:
        return _Section("anomaly", "Spend anomaly", _h(
            "{intro}<p class='headline'>No day stands out in this window.</p>",
            intro=_ANOMALY_INTRO,
        ))  # fmt: skip
    png = writer.figure("spend_anomaly.png", lambda fig: _draw_anomaly(fig, found.series, anomaly))
    rows = [
        [
            f"{pd.Timestamp(r.period):%Y-%m-%d %a}",
            str(r.product),
            _money(r.cost, r.currency),
            _money(r.baseline, r.currency),
            f"{r.score:+.1f}",
            str(r.kind),
        ]
        for r in found.shown.itertuples()
    ]
    headline = _h(
        "<p class='headline'>The largest anomaly in {currency}: <strong>{day}</strong>, "
        "{product} spend of <strong>{cost}</strong> against a baseline of {baseline} "
        "({kind}).</p>",
        currency=anomaly.currency,
        day=f"{anomaly.day:%A %d %B %Y}",
        product=anomaly.product,
        cost=_money(anomaly.cost, anomaly.currency),
        baseline=_money(anomaly.baseline, anomaly.currency),
        kind=anomaly.kind,
    )
    note = (
        _h(
            "<p>{flagged} day(s) flagged in all; the table lists the {shown} largest "
            "departures. The headline is taken from the currency with the most records: "
            "series in currencies with little traffic are noisier.</p>",
            flagged=len(found.found),
            shown=len(found.shown),
        )
        if len(found.found) > 1
        else ""
    )
    return _Section(
        "anomaly",
        "Spend anomaly",
        _h("{intro}{headline}{note}", intro=_ANOMALY_INTRO, headline=headline, note=note),
        images=[(png, f"Daily {anomaly.product} spend, the {anomaly.kind} on {anomaly.day}")],
        tables=[
            (
                "Days that stand out: the headline, then the largest departures",
                _table(
                    ["day", "product", "spend", "baseline", "score", "kind"], rows, right={2, 3, 4}
                ),
            )
        ],
    )


def _country_section(writer: _Writer, first: dt.date, last: dt.date, client: tx.Client) -> _Section:
    # Message detail records carry no country; product usage breaks messaging out by it.
    usage = tx.product_usage(
        "messaging", ["country_code"], ["count", "parts", "cost"], first, last, client=client
    )
    usage = usage.sort_values("count", ascending=False, ignore_index=True)
    writer.parquet("messaging_by_country.parquet", usage)

    def draw(fig: Figure) -> None:
        left, right = fig.subplots(1, 2)
        tx.plot.usage_breakdown(
            usage, "country_code", "count", top=TOP, ax=left, title="Messages by country"
        )
        tx.plot.usage_breakdown(
            usage,
            "country_code",
            "cost",
            top=TOP,
            ax=right,
            title="Messaging spend by country",
        )

    png = writer.figure("messaging_by_country.png", draw, size=(11.0, 4.8))
    rows = [
        [str(r.country_code), f"{int(r.count):,}", f"{int(r.parts):,}", _money(r.cost, r.currency)]
        for r in usage.head(TOP).itertuples()
    ]
    total = int(usage["count"].sum())
    intro = _h(
        "<p>{total} messages in {countries} countries. Message detail records do not say "
        "which country a message went to, so this comes from the product usage API "
        '(<code>tx.product_usage("messaging", ["country_code"], ...)</code>). Each '
        "country is billed in its own currency; the right-hand bars keep each amount in "
        "its currency.</p>",
        total=f"{total:,}",
        countries=len(usage),
    )
    return _Section(
        "countries",
        "Messaging by country",
        intro,
        images=[(png, "Messages and messaging spend by country")],
        tables=[
            (
                f"Top {min(TOP, len(usage))} countries by messages",
                _table(["country", "messages", "parts", "spend"], rows, right={1, 2, 3}),
            )
        ],
    )


def _by_group(df: pd.DataFrame, key: str, measure: str) -> pd.DataFrame:
    """Per value of ``key`` and currency: exact spend, records (``count``) and ``measure``."""
    # One spelling of the key on both sides of the join below, missing values included.
    df = df.assign(**{key: df[key].astype(object).where(df[key].notna(), "(missing)").astype(str)})
    out = tx.cost_by(df, key)
    out["currency"] = out["currency"].astype(str)
    sums = df.groupby([key, df["currency"].astype(str)], observed=True)[measure].sum()
    out[measure] = [
        float(sums.get((k, c), 0.0)) for k, c in zip(out[key], out["currency"], strict=True)
    ]
    return out


def _group_rows(per: pd.DataFrame, key: str, measure: str) -> list[tuple[str, int, float, str]]:
    """One row per ``key`` (largest ``measure`` first): records, measure and the spend in
    each of its currencies, listed side by side (never added)."""
    rows = []
    for value, part in per.groupby(per[key].astype(str), sort=False):
        part = part.sort_values("cost", ascending=False)
        spend = ", ".join(
            _money(c, cur) for c, cur in zip(part["cost"], part["currency"], strict=True)
        )
        rows.append((str(value), int(part["count"].sum()), float(part[measure].sum()), spend))
    return sorted(rows, key=lambda r: r[2], reverse=True)


def _destination_section(writer: _Writer, calls: pd.DataFrame) -> _Section:
    outbound = calls[calls["direction"].astype(str) == "outbound"].copy()
    # Calls are billed per minute: billable seconds are whole minutes.
    outbound["minutes"] = outbound["billable_time"].astype("Float64") / 60
    per = _by_group(outbound, "terminating_country", "minutes")
    writer.parquet("call_destinations.parquet", per.rename(columns={"count": "calls"}))

    png = writer.figure(
        "call_destinations.png",
        lambda fig: tx.plot.usage_breakdown(
            outbound,
            "terminating_country",
            "minutes",
            top=TOP,
            ax=fig.add_subplot(),
            title="Outbound call minutes by destination country",
        ),
    )
    grouped = _group_rows(per, "terminating_country", "minutes")[:TOP]
    rows = [[c, f"{n:,}", f"{m:,.0f}", spend] for c, n, m, spend in grouped]
    intro = _h(
        "<p>Where the {calls} outbound calls went, from the call detail records "
        "(<code>tx.cdrs</code>): billed minutes per destination country, and what they "
        "cost in the currency each country is billed in.</p>",
        calls=f"{len(outbound):,}",
    )
    return _Section(
        "destinations",
        "Top destinations",
        intro,
        images=[(png, "Outbound call minutes by destination country")],
        tables=[
            (
                f"The {len(rows)} destinations with the most minutes",
                _table(["country", "calls", "minutes", "spend"], rows, right={1, 2, 3}),
            )
        ],
    )


def _wireless_section(writer: _Writer, wireless: pd.DataFrame) -> _Section:
    data = wireless.assign(data_mb=wireless["uplink_data"] + wireless["downlink_data"])
    daily = tx.usage_breakdown(data, "sim_group_name", "data_mb", freq="D", top=TOP)
    writer.parquet("wireless_daily_by_sim_group.parquet", daily)
    per = _by_group(data, "sim_group_name", "data_mb")
    writer.parquet("wireless_by_sim_group.parquet", per.rename(columns={"count": "sessions"}))

    # Readable names for the plot's axis label and legend title.
    shown = data.rename(columns={"data_mb": "data (MB)", "sim_group_name": "SIM group"})
    png = writer.figure(
        "wireless_data.png",
        lambda fig: tx.plot.usage_breakdown(
            shown,
            "SIM group",
            "data (MB)",
            kind="area",
            freq="D",
            top=TOP,
            ax=fig.add_subplot(),
            title="Wireless data per day by SIM group (uplink + downlink)",
        ),
    )
    grouped = _group_rows(per, "sim_group_name", "data_mb")[:TOP]
    rows = [[g, f"{n:,}", f"{mb / 1000:,.2f}", spend] for g, n, mb, spend in grouped]
    total_gb = float(data["data_mb"].sum()) / 1000
    intro = _h(
        "<p>{sessions} data sessions moved {gigabytes} GB (uplink plus downlink) "
        "over the window, from the wireless detail records (<code>tx.wdrs</code>), "
        "per SIM group. SIMs roam: a group's sessions are billed in the currency of the "
        "network they used.</p>",
        sessions=f"{len(data):,}",
        gigabytes=f"{total_gb:,.2f}",
    )
    return _Section(
        "wireless",
        "Wireless data use",
        intro,
        images=[(png, "Wireless data per day by SIM group")],
        tables=[
            (
                "Per SIM group",
                _table(["SIM group", "sessions", "data (GB)", "spend"], rows, right={1, 2, 3}),
            )
        ],
    )


def _find_session(last: dt.date, client: tx.Client) -> tx.SessionTree | None:
    """A recent call with children (an AI assistant's events start under a call).

    Call events name what happened on a call; ``ai_assistant_start`` marks calls whose
    sessions hold assistant, inference and often recording and message events.
    """
    best: tx.SessionTree | None = None
    for back in range(3):
        day = last - dt.timedelta(days=back)
        events = tx.call_events(
            day, day, name="ai_assistant_start", limit=_SESSION_CANDIDATES, client=client
        )
        for leg in dict.fromkeys(events["call_leg_id"].dropna().astype(str)):
            try:
                tree = tx.session_analysis("callcontrol-cdrs", leg, max_depth=5, client=client)
            except tx.TelnyxAnalyticsError as exc:  # a call the analysis does not know: next
                log.info("session of %s: %s", leg, exc)
                continue
            if best is None or len(tree) > len(best):
                best = tree
        if best is not None and len(best) > 1:
            return best
    return best


def _session_section(writer: _Writer, last: dt.date, client: tx.Client) -> _Section:
    intro = _Html(
        "<p>One call and everything it caused, from the session analysis API "
        "(<code>tx.session_analysis</code>): an AI assistant, its inference calls, "
        "recordings, transcriptions, messages sent during the call. Each event carries its "
        "own cost and the cumulative cost of its subtree; the roll-up below checks that "
        "they add up exactly (<code>tx.session_costs</code>).</p>"
    )
    tree = _find_session(last, client)
    if tree is None:
        return _Section(
            "session",
            "One session",
            _h("{intro}<p class='headline'>No call with follow-up events was found.</p>",
               intro=intro),
        )
    costs = tx.session_costs(tree)
    writer.parquet("session_costs.parquet", costs)
    nodes = tree.nodes[
        [
            "id",
            "parent_id",
            "depth",
            "product",
            "event_name",
            "event_cost",
            "cumulative_cost",
            "currency",
        ]
    ]
    writer.parquet("session_nodes.parquet", nodes)
    tree_png = writer.figure(
        "session_tree.png",
        lambda fig: tx.plot.session_tree(tree, ax=fig.add_subplot()),
        size=(9.0, max(3.0, 0.32 * len(tree) + 1.2)),
    )
    cost_png = writer.figure(
        "session_cost.png",
        lambda fig: tx.plot.cost_breakdown(tree, ax=fig.add_subplot()),
        size=(9.0, 4.2),
    )
    rows = [
        [
            str(r.product),
            str(r.event_name),
            f"{int(r.events):,}",
            _money(r.cost, r.currency, 6),
            f"{float(r.share):.1%}",
        ]
        for r in costs.itertuples()
    ]
    headline = _h(
        "<p class='headline'>Session <code>{session}</code>: {events} events, "
        "<strong>{total}</strong> in all.</p>",
        session=tree.session_id,
        events=len(tree),
        total=_money(tree.total_cost, tree.currency, 6),
    )
    return _Section(
        "session",
        "One session, event by event",
        _h("{intro}{headline}", intro=intro, headline=headline),
        images=[
            (tree_png, "The session's events as a tree"),
            (cost_png, "The session's cost as an icicle chart"),
        ],
        tables=[
            (
                "Cost by product and event",
                _table(["product", "event", "events", "cost", "share"], rows, right={2, 3, 4}),
            )
        ],
    )


# -- HTML ----------------------------------------------------------------------------------------


def _headlines(
    result: DemoResult, messages: pd.DataFrame, calls: pd.DataFrame, wireless: pd.DataFrame
) -> list[tuple[str, str]]:
    spend = ", ".join(_money(cost, cur) for cur, cost in result.spend_by_currency()) or "none"
    minutes = float(calls["billable_time"].astype("Float64").sum()) / 60 if len(calls) else 0.0
    data_gb = float((wireless["uplink_data"] + wireless["downlink_data"]).sum()) / 1000
    cards = [
        ("spend", spend),
        ("messages", f"{len(messages):,}"),
        ("call legs", f"{len(calls):,} ({minutes:,.0f} billed minutes)"),
        ("wireless data", f"{data_gb:,.2f} GB in {len(wireless):,} sessions"),
    ]
    if result.anomaly is not None:
        a = result.anomaly
        cards.append(
            (
                "largest anomaly",
                f"{a.day:%a %d %b %Y}: {a.product} {a.kind}, {_money(a.cost, a.currency)}",
            )
        )
    return cards


_CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1.2em; }
h1 { margin-bottom: 0.1em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.source { color: #666; margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; margin: 1.2em 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 0.9em; min-width: 12em;
        flex: 1 1 auto; background: #fafafa; }
.card .label { color: #666; font-size: 0.85em; text-transform: uppercase; }
.card .value { font-size: 1.1em; font-weight: 600; }
.headline { font-size: 1.05em; }
img { max-width: 100%; height: auto; display: block; margin: 1em 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }
caption { text-align: left; color: #555; padding-bottom: 0.3em; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #eee; text-align: left; }
th { border-bottom: 2px solid #ccc; } td.num, th.num { text-align: right; }
code { background: #f3f3f3; padding: 0 0.25em; border-radius: 3px; }
nav a { margin-right: 1em; } footer { margin-top: 3em; color: #777; font-size: 0.9em; }
"""


def _page(
    title: str,
    source: str | None,
    result: DemoResult,
    cards: list[tuple[str, str]],
    sections: list[_Section],
    files: Sequence[Path],
) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p class='source'>{result.start:%d %B %Y} to {result.end:%d %B %Y} "
        f"({(result.end - result.start).days + 1} days, UTC)."
        + (f" {esc(source)}" if source else "")
        + "</p>",
        "<div class='cards'>",
        *(
            f"<div class='card'><div class='label'>{esc(label)}</div>"
            f"<div class='value'>{esc(value)}</div></div>"
            for label, value in cards
        ),
        "</div>",
        "<nav>" + "".join(f"<a href='#{s.anchor}'>{esc(s.title)}</a>" for s in sections) + "</nav>",
    ]
    for s in sections:
        parts.append(f"<section id='{s.anchor}'><h2>{esc(s.title)}</h2>{s.intro}")
        for png, alt in s.images:
            data = base64.b64encode(png.read_bytes()).decode("ascii")
            parts.append(f"<img src='data:image/png;base64,{data}' alt='{esc(alt)}'>")
        for caption, table in s.tables:
            parts.append(table.replace("<table>", f"<table><caption>{esc(caption)}</caption>", 1))
        parts.append("</section>")
    listed = "".join(f"<li><code>{esc(p.name)}</code></li>" for p in files if p.name != SUMMARY)
    parts += [
        "<section id='files'><h2>The files</h2>",
        "<p>Next to this page: the plots as PNG, and as Parquet the records as fetched and "
        "every table above in full. Money is stored as <code>float64</code>, exact to "
        "the micro-unit, with its currency beside it; read them with "
        "<code>pandas.read_parquet</code>.</p>",
        f"<ul>{listed}</ul></section>",
        f"<footer>Made by telnyx-analytics {esc(tx.__version__)}.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: set[int] | frozenset[int] = frozenset(),
) -> str:
    def cell(tag: str, i: int, text: str) -> str:
        cls = " class='num'" if i in right else ""
        return f"<{tag}{cls}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _exact(value: Any) -> Decimal:
    """A money float64 as the exact amount it stands for (its shortest repr)."""
    return Decimal(repr(float(value)))


def _money(value: Any, currency: str, places: int = 2) -> str:
    """``1,234.56 USD``: rounded for reading only (the files keep the exact amounts)."""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{amount:,.{places}f} {currency}"


def _main_currency(spend: pd.DataFrame) -> str:
    """The currency with the most records (what the plots draw)."""
    counts = spend.groupby(spend["currency"].astype(str))["count"].sum()
    return str(counts.idxmax()) if len(counts) else "USD"
