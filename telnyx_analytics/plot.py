"""Plots of costs, usage and session trees with matplotlib: DataFrame or SessionTree in, Axes out.

Every function draws on ``ax`` when given, else on a new figure, and returns the
``matplotlib.axes.Axes``; none calls ``plt.show()`` and none changes global style. Money
axes are labelled with their currency and never mix currencies: a frame with several
currencies is drawn for one of them (``currency=``; by default the one with the most
records, and the title says which others were left out) or converted with ``rates=``.
Products keep the same colour in every plot.
"""

from __future__ import annotations

import heapq
import logging
import zlib
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.colors import to_hex, to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from . import analysis
from ._money import UNIT, is_money, to_micros
from ._periods import period_alias, period_range

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .sessions import SessionTree

__all__ = [
    "cost_breakdown",
    "cost_over_time",
    "product_color",
    "session_tree",
    "usage_breakdown",
]

log = logging.getLogger("telnyx_analytics.plot")

# Matplotlib's "tab10", named so that a product is the same colour everywhere.
_BLUE, _ORANGE, _GREEN, _RED, _PURPLE = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"
_BROWN, _PINK, _OLIVE, _CYAN = "#8c564b", "#e377c2", "#bcbd22", "#17becf"
_QUALITATIVE = [_BLUE, _ORANGE, _GREEN, _RED, _PURPLE, _BROWN, _PINK, _OLIVE, _CYAN]
OTHER_COLOR = "#b4b4b4"
PRODUCT_COLORS = {
    "messaging": _BLUE,
    "voice": _ORANGE,
    "callcontrol-cdrs": _ORANGE,  # the call at the root of a session is voice
    "wireless": _GREEN,
    "number lookups": _RED,
    "number_lookup": _RED,
    "lookups": _RED,
    "recordings": _PURPLE,
    "transcriptions": _BROWN,
    "ai-voice-assistant": _PINK,
    "inference": _CYAN,
    "(not expanded)": "#dddddd",
}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}
_TITLES = {"D": "Daily", "W": "Weekly", "MS": "Monthly", "M": "Monthly", "ME": "Monthly",
           "h": "Hourly", "QS": "Quarterly", "Q": "Quarterly", "YS": "Yearly", "Y": "Yearly"}


def product_color(product: str) -> str:
    """The colour of a product, the same in every plot (unknown names get a stable one).

    >>> product_color("messaging")
    '#1f77b4'
    """
    if product in PRODUCT_COLORS:
        return PRODUCT_COLORS[product]
    return _QUALITATIVE[zlib.crc32(str(product).encode()) % len(_QUALITATIVE)]


def _colors(labels: Sequence[str], other: str, products: bool) -> list[str]:
    """Colours for series labels: product colours for products, else tab10 in order."""
    out, free = [], iter(_QUALITATIVE * 4)
    for label in labels:
        if label == other:
            out.append(OTHER_COLOR)
        elif products and label in PRODUCT_COLORS:
            out.append(PRODUCT_COLORS[label])
        else:
            out.append(next(free))
    return out


def _symbol(currency: str) -> str:
    # Escaped: two "$" in one label would otherwise start matplotlib's mathtext.
    return _SYMBOLS.get(currency, f"{currency} ").replace("$", r"\$")


def _money(value: float, currency: str, decimals: int = 2) -> str:
    symbol = _symbol(currency)
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.{decimals}f}"


def _money_short(value: float, currency: str) -> str:
    """An amount in a few characters for a label: $1.2M, $12.3k, $412.50, $0.0568."""
    a = abs(value)
    symbol = _symbol(currency)
    sign = "-" if value < 0 else ""
    if a >= 1e6:
        return f"{sign}{symbol}{a / 1e6:.1f}M"
    if a >= 1e4:
        return f"{sign}{symbol}{a / 1e3:.1f}k"
    if a >= 1 or a == 0:
        return f"{sign}{symbol}{a:,.2f}"
    return f"{sign}{symbol}{a:.4f}" if a >= 1e-4 else f"{sign}{symbol}{a:.6f}"


class MoneyFormatter(mticker.Formatter):
    """Tick labels with the currency's symbol and just enough decimals: $0.05, £1.2k."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self._scale, self._suffix, self._decimals = 1.0, "", 2

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        values = list(values)
        top = max((abs(v) for v in values), default=0.0)
        self._scale, self._suffix = (1e6, "M") if top >= 1e6 else (1e3, "k") if top >= 1e4 \
            else (1.0, "")
        # The fewest decimals that show every tick exactly; then cents get two ($0.50, $2.50)
        # while whole amounts stay whole ($5, $10).
        scaled = [v / self._scale for v in values]
        needed = next((d for d in range(7) if all(abs(round(v, d) - v) < 1e-9 for v in scaled)),
                      6)
        self._decimals = needed if needed == 0 or self._suffix else max(needed, 2)
        return [self(v) for v in values]

    def __call__(self, x: float, pos: int | None = None) -> str:
        # One "$" per tick label cannot start mathtext, so no escaping here.
        symbol = _SYMBOLS.get(self.currency, f"{self.currency} ")
        sign = "-" if x < 0 else ""
        return f"{sign}{symbol}{abs(x) / self._scale:,.{self._decimals}f}{self._suffix}"


def _new_axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # imported late: importing the package must not pick a backend

    _, ax = plt.subplots(layout="constrained")
    return ax


def _tidy(ax: Axes, grid_axis: str = "y") -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis=grid_axis, alpha=0.3, linewidth=0.8)
    ax.set_axisbelow(True)


def _pick_currency(totals: pd.DataFrame, currency: str | None) -> tuple[str, list[str]]:
    """The currency to draw and the others it leaves out (to be named in the title)."""
    present = totals.groupby("currency", observed=True)["count"].sum().sort_values(
        ascending=False)
    names = [str(c) for c in present.index]
    if currency is not None:
        if currency not in names:
            raise ValueError(f"currency={currency!r}: the frame has {', '.join(names) or 'none'}")
        return currency, []  # the caller chose: nothing left out by us
    if names:
        chosen = names[0]
    else:
        raise ValueError("the frame has no costs to draw")
    left_out = sorted(n for n in names if n != chosen)
    if left_out:
        log.warning("drawing %s only; %s left out (pass currency= or rates=)", chosen,
                    ", ".join(left_out))
    return chosen, left_out


def _title(ax: Axes, title: str, left_out: Sequence[str]) -> None:
    if left_out:
        title += f"\n(other currencies not shown: {', '.join(left_out)})"
    ax.set_title(title, fontsize=11 if not left_out else 10)


def _floats(values: pd.Series) -> np.ndarray:
    micros, _ = to_micros(values, "cost")
    return micros / UNIT


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _naive(periods: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """UTC period starts as naive datetimes (matplotlib would convert aware ones to local)."""
    index = pd.DatetimeIndex(periods)
    return index.tz_convert("UTC").tz_localize(None).to_pydatetime()


def _top_labels(totals: pd.Series, top: int, other: str) -> dict[str, str]:
    """Map each label to itself (the ``top`` largest) or to ``other``."""
    ranked = totals.sort_values(ascending=False).index.tolist()
    return {label: (label if i < top or len(ranked) <= top + 1 else other)
            for i, label in enumerate(ranked)}


def _stacked(ax: Axes, table: pd.DataFrame, colors: Sequence[str], freq: str) -> None:
    """Stacked bars (or areas for long series) of a period x series table."""
    x = _naive(table.index)
    if len(table) > 120:
        ax.stackplot(x, table.to_numpy().T, labels=[str(c) for c in table.columns],
                     colors=colors, linewidth=0)
        return
    # Each bar spans 85% of its own period (months differ in length), from its start.
    ends = [*table.index[1:], table.index[-1] + pd.tseries.frequencies.to_offset(_offset(freq))]
    widths = [(b - a).total_seconds() / 86400 * 0.85 for a, b in
              zip(table.index, ends, strict=True)]
    bottom = np.zeros(len(table))
    for (label, values), color in zip(table.items(), colors, strict=True):
        ax.bar(x, values.to_numpy(), width=widths, bottom=bottom, align="edge",
               label=str(label), color=color, linewidth=0)
        bottom += values.to_numpy()


def _offset(freq: str) -> str:
    alias = period_alias(freq)
    return {"M": "MS", "Q": "QS", "Y": "YS", "W": "W-MON"}.get(alias or freq, freq)


def _legend(ax: Axes, title: str | None, n: int) -> None:
    if n > 1:
        ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  fontsize=9, title_fontsize=9, reverse=True)


def cost_over_time(
    df: pd.DataFrame,
    *,
    by: Hashable | None = None,
    freq: str = "D",
    ax: Axes | None = None,
    cost: Hashable = "cost",
    time: Hashable | None = None,
    currency: str | None = None,
    rates: Mapping[str, Any] | None = None,
    to: str | None = None,
    top: int = 8,
    other: str = "Other",
    title: str | None = None,
) -> Axes:
    """Cost per period as stacked bars, split by ``by`` (product, country, direction ...).

    Totals are computed exactly with :func:`telnyx_analytics.cost_by`. One currency per
    axis: see the module notes. Beyond ``top`` series the rest is stacked as ``other``.

    Parameters
    ----------
    df : DataFrame
        Any frame with money, currency and time (``spend_summary`` output too).
    by : column name, optional
        What to stack by; ``None`` draws the total.
    freq : str, default ``"D"``
        ``"D"``, ``"W"``, ``"MS"``, ``"h"`` ...
    ax : Axes, optional
        Draw here; default a new figure.
    cost, time : column name, optional
        As in :func:`telnyx_analytics.cost_by`.
    currency : str, optional
        The currency to draw; default the one with the most records.
    rates, to : optional
        Convert every currency into ``to`` first (see ``cost_by``).
    top : int, default 8
    other : str, default ``"Other"``
    title : str, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "created_at": pd.date_range("2024-05-01", periods=6, freq="12h", tz="UTC"),
    ...     "product": ["messaging", "voice"] * 3,
    ...     "cost": ["0.40", "1.25", "0.35", "1.10", "0.50", "0.95"], "currency": "USD"})
    >>> ax = cost_over_time(df, by="product")
    >>> ax.get_ylabel()
    'cost (USD)'
    """
    totals = analysis.cost_by(df, by, freq=freq, cost=cost, time=time, rates=rates, to=to)
    chosen, left_out = _pick_currency(totals, currency)
    part = totals[totals["currency"] == chosen]
    values = pd.Series(_floats(part["cost"]), index=part.index)
    if by is None:
        table = values.groupby(part["period"]).sum().to_frame("cost")
        colors = [_BLUE]
    else:
        labels = part[by].astype(object).where(part[by].notna(), "(missing)").astype(str)
        mapping = _top_labels(values.groupby(labels).sum(), top, other)
        table = values.groupby([part["period"], labels.map(mapping)]).sum().unstack(fill_value=0)
        order = table.sum().sort_values(ascending=False).index.tolist()
        if other in order:
            order = [o for o in order if o != other] + [other]
        table = table[order]
        colors = _colors(order, other, products=str(by) == "product")
    full = period_range(table.index.min(), table.index.max(), freq)
    table = table.reindex(full, fill_value=0.0)

    ax = _new_axes(ax)
    _stacked(ax, table, colors, freq)
    _date_axis(ax)
    ax.yaxis.set_major_formatter(MoneyFormatter(chosen))
    ax.set_ylabel(f"cost ({chosen})")
    ax.set_xlabel("")
    ax.margins(x=0.01)
    _tidy(ax)
    period = _TITLES.get(freq, f"Per-{freq}")
    default = f"{period} cost" + (f" by {by}" if by is not None else "") + (
        f", converted to {to}" if rates is not None else "")
    _title(ax, title or default, left_out)
    if by is not None:
        _legend(ax, str(by), len(table.columns))
    return ax


def usage_breakdown(
    df: pd.DataFrame,
    dimension: Hashable,
    metric: Hashable,
    *,
    kind: str = "bar",
    ax: Axes | None = None,
    top: int = 10,
    other: str = "Other",
    freq: str = "D",
    time: Hashable | None = None,
    currency: str | None = None,
    title: str | None = None,
) -> Axes:
    """The top values of a dimension by a metric, plus ``other``: bars or stacked areas.

    ``kind="bar"`` draws horizontal bars over the whole frame, largest first, each labelled
    with its value and share; a money metric in several currencies gets one bar per value
    and currency, coloured by currency and labelled in it (amounts are never added across
    currencies). ``kind="area"`` stacks the same top values over time (one currency).

    Parameters
    ----------
    df : DataFrame
    dimension, metric : column name
        As in :func:`telnyx_analytics.usage_breakdown` (``metric="count"`` counts rows).
    kind : {"bar", "area"}, default ``"bar"``
    ax : Axes, optional
    top : int, default 10
    other : str, default ``"Other"``
    freq : str, default ``"D"``
        Period of ``kind="area"``.
    time : column name, optional
    currency : str, optional
        Draw this currency only (``kind="area"`` default: the one with the most records).
    title : str, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> df = pd.DataFrame({"country_code": ["US", "US", "CA", "GB"], "parts": [3, 1, 2, 1]})
    >>> ax = usage_breakdown(df, "country_code", "parts", top=2)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['US', 'CA', 'Other']
    """
    if kind not in ("bar", "area"):
        raise ValueError(f"kind={kind!r}: use 'bar' or 'area'")
    frame = df
    if currency is not None and "currency" in df.columns:
        frame = df[df["currency"].astype(str) == currency]
        if frame.empty:
            raise ValueError(f"currency={currency!r}: no rows in that currency")
    if kind == "area":
        return _usage_area(frame, dimension, metric, ax=ax, top=top, other=other, freq=freq,
                           time=time, currency=currency, title=title)
    table = analysis.usage_breakdown(frame, dimension, metric, top=top, other=other)
    name = "count" if metric == "count" and metric not in df.columns else metric
    money = "currency" in table.columns
    currencies = [str(c) for c in table["currency"].unique()] if money else []
    values = _floats(table[name]) if money else table[name].astype("float64").to_numpy()
    labels = table[dimension].astype(str).tolist()
    if len(currencies) > 1:
        ticks = [f"{d} · {c}" for d, c in zip(labels, table["currency"].astype(str),
                                               strict=True)]
        by_currency = dict(zip(currencies, _QUALITATIVE, strict=False))
        colors = [OTHER_COLOR if d == other else by_currency[str(c)]
                  for d, c in zip(labels, table["currency"], strict=True)]
    else:
        ticks = labels
        colors = (_colors(labels, other, products=True) if str(dimension) == "product"
                  else [OTHER_COLOR if d == other else _BLUE for d in labels])

    ax = _new_axes(ax)
    y = np.arange(len(table))
    bars = ax.barh(y, values, color=colors, height=0.7)
    ax.set_yticks(y, ticks)
    ax.invert_yaxis()  # largest on top
    row_currency = table["currency"].astype(str).tolist() if money else [""] * len(table)
    texts = [
        (_money_short(v, c) if money else f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}")
        + f"  {s:.0%}"
        for v, c, s in zip(values, row_currency, table["share"], strict=True)
    ]
    ax.bar_label(bars, texts, padding=3, fontsize=8, color="#333333")
    ax.margins(x=0.22)  # room for the labels at the bars' ends
    _tidy(ax, "x")
    if money and len(currencies) == 1:
        ax.xaxis.set_major_formatter(MoneyFormatter(currencies[0]))
        ax.set_xlabel(f"{name} ({currencies[0]})")
    elif money:
        ax.set_xlabel(f"{name} (each bar in its own currency)")
        ax.legend(handles=[Patch(color=by_currency[c], label=c) for c in currencies],
                  title="currency", loc="lower right", fontsize=8, title_fontsize=8)
    else:
        ax.xaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
        ax.set_xlabel(str(name))
    ax.tick_params(axis="y", length=0)
    _title(ax, title or f"{str(name).capitalize()} by {dimension}", [])
    return ax


def _usage_area(df: pd.DataFrame, dimension: Hashable, metric: Hashable, *, ax: Axes | None,
                top: int, other: str, freq: str, time: Hashable | None, currency: str | None,
                title: str | None) -> Axes:
    money = not (metric == "count" and metric not in df.columns) and is_money(df, metric)
    left_out: list[str] = []
    chosen = None
    if money:
        totals = analysis.cost_by(df, freq=None, cost=metric)
        chosen, left_out = _pick_currency(totals, currency)
        df = df[df["currency"].astype(str) == chosen]
    table = analysis.usage_breakdown(df, dimension, metric, top=top, other=other, freq=freq,
                                     time=time)
    name = "count" if metric == "count" and metric not in df.columns else metric
    values = _floats(table[name]) if money else table[name].astype("float64").to_numpy()
    wide = pd.Series(values).groupby([table["period"], table[dimension].astype(str)]).sum()
    wide = wide.unstack(fill_value=0.0)
    order = list(dict.fromkeys(table[dimension].astype(str)))  # usage_breakdown's order
    order = [o for o in order if o != other] + ([other] if other in order else [])
    wide = wide[order]
    wide = wide.reindex(period_range(wide.index.min(), wide.index.max(), freq), fill_value=0.0)

    ax = _new_axes(ax)
    colors = _colors(order, other, products=str(dimension) == "product")
    ax.stackplot(_naive(wide.index), wide.to_numpy().T, labels=order, colors=colors,
                 linewidth=0, alpha=0.9)
    _date_axis(ax)
    ax.margins(x=0)
    _tidy(ax)
    if chosen is not None:
        ax.yaxis.set_major_formatter(MoneyFormatter(chosen))
        ax.set_ylabel(f"{name} ({chosen})")
    else:
        ax.yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
        ax.set_ylabel(str(name))
    period = _TITLES.get(freq, f"Per-{freq}").lower()
    _title(ax, title or f"{str(name).capitalize()} by {dimension}, {period}", left_out)
    _legend(ax, str(dimension), len(order))
    return ax


# -- session trees --------------------------------------------------------------------------


def _visible_rows(tree: SessionTree, max_rows: int, max_depth: int | None) -> list[dict[str, Any]]:
    """Which nodes to draw, one row each, in depth-first order.

    The most expensive subtrees are opened first, each showing at most a few of its most
    expensive children, until the rows run out. The rest stays folded: siblings into one
    "+N more" marker row, unopened subtrees into a "+N" on their node.
    """
    nodes = tree.nodes
    cum = _floats(nodes["cumulative_cost"])
    depth_of = nodes["depth"].to_numpy()
    children = {pos: sorted(tree.children(pos), key=lambda c: (-cum[c], c))
                for pos in range(len(nodes))}
    size = np.ones(len(nodes), np.int64)  # events in each subtree
    for pos in range(len(nodes) - 1, -1, -1):  # children come after their parent
        size[pos] += sum(size[c] for c in children[pos])
    # A cap per node leaves rows for depth: a wide root does not use them all.
    cap = len(nodes) if len(nodes) <= max_rows else max(3, max_rows // 4)
    shown: dict[int, list[int]] = {}  # node -> the children drawn
    budget = max_rows - 1  # the root's row
    heap = [(-cum[0], 0)] if len(nodes) else []
    while heap and budget > 0:
        _, pos = heapq.heappop(heap)
        kids = children[pos]
        if not kids or (max_depth is not None and depth_of[pos] >= max_depth):
            continue
        fit = min(len(kids), cap, budget)
        if fit == len(kids) - 1 and budget >= len(kids):
            fit = len(kids)  # a marker for one event would take the row the event needs
        if fit < len(kids):
            fit = min(fit, budget - 1)  # keep a row for the "+N more" marker
        if fit < 1:
            continue
        shown[pos] = kids[:fit]
        budget -= fit + (fit < len(kids))
        for kid in kids[:fit]:
            heapq.heappush(heap, (-cum[kid], kid))

    rows: list[dict[str, Any]] = []
    stack: list[tuple[str, int, int | None]] = [("node", 0, None)] if len(nodes) else []
    while stack:  # depth-first, iteratively
        kind, pos, parent_row = stack.pop()
        depth = 0 if parent_row is None else rows[parent_row]["depth"] + 1
        if kind == "more":
            rest = children[pos][len(shown[pos]):]
            rows.append({"pos": None, "depth": depth, "parent": parent_row, "marker": True,
                         "hidden": int(sum(size[k] for k in rest)),
                         "cost": float(sum(cum[k] for k in rest)), "count": len(rest)})
            continue
        row = len(rows)
        drawn = shown.get(pos, [])
        rows.append({"pos": pos, "depth": depth, "parent": parent_row, "marker": False,
                     "hidden": int(size[pos] - 1) if not drawn else 0})
        if drawn and len(drawn) < len(children[pos]):
            stack.append(("more", pos, row))
        stack.extend(("node", kid, row) for kid in reversed(drawn))
    return rows


def session_tree(
    tree: SessionTree,
    *,
    ax: Axes | None = None,
    max_depth: int | None = None,
    max_rows: int | None = None,
    title: str | None = None,
) -> Axes:
    """A session's events as an indented tree: one row per event, coloured by product.

    Each row reads ``event name  own cost`` (and the subtree's total ``Σ`` when it has
    children). The most expensive branches are opened first; when rows run out, the
    cheaper siblings are folded into one grey ``+N more`` row and an unopened subtree is
    marked ``▸ +N`` on its node, so a 200-event session stays readable.

    Parameters
    ----------
    tree : SessionTree
    ax : Axes, optional
    max_depth : int, optional
        Do not open nodes deeper than this (root is depth 0).
    max_rows : int, optional
        Rows to draw; default what fits the axes' height (about 14 points a row).
    title : str, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from telnyx_analytics.sessions import SessionTree
    >>> tree = SessionTree.from_response({"session_id": "call-1", "meta": {"event_count": 1},
    ...     "cost": {"total": "0.0018", "currency": "USD"},
    ...     "root": {"id": "call-1", "product": "callcontrol-cdrs", "event_name": "call",
    ...              "cost": {"event_cost": "0.0018", "cumulative_cost": "0.0018",
    ...                       "currency": "USD"}}})
    >>> ax = session_tree(tree)
    >>> [t.get_text().split()[0] for t in ax.texts]
    ['call']
    """
    own_figure = ax is None
    ax = _new_axes(ax)
    height_pt = ax.get_position().height * ax.figure.get_figheight() * 72
    if max_rows is None:
        max_rows = max(6, int(height_pt // 14))
    rows = _visible_rows(tree, max_rows, max_depth)
    if own_figure and len(rows) < max_rows:
        # A figure of its own is only as tall as its rows: no blank band under a short tree.
        ax.figure.set_figheight(max(1.6, 1.0 + 0.22 * len(rows)))
    nodes = tree.nodes
    own = _floats(nodes["event_cost"])
    cum = _floats(nodes["cumulative_cost"])
    currency = tree.currency
    unexpanded = tree._unexpanded()
    indent = 1.0
    for i, row in enumerate(rows):
        y = -i
        x = row["depth"] * indent
        if row["parent"] is not None:  # an elbow from the parent's column
            px = rows[row["parent"]]["depth"] * indent
            ax.plot([px, px, x - 0.12], [-row["parent"] - 0.3, y, y], color="#9a9a9a",
                    linewidth=0.8, solid_capstyle="butt", zorder=1)
        if row["marker"]:
            ax.scatter([x], [y], marker="P", s=40, color=OTHER_COLOR, zorder=2)
            events = "" if row["hidden"] == row["count"] else f" ({row['hidden']} events)"
            ax.text(x + 0.22, y, f"+{row['count']} more{events}  "
                    f"Σ {_money_short(row['cost'], currency)}", va="center", fontsize=8,
                    color="#666666", style="italic")
            continue
        pos = row["pos"]
        product = str(nodes["product"].iat[pos])
        ax.scatter([x], [y], s=45, color=product_color(product), zorder=2,
                   edgecolors="white", linewidths=0.6)
        label = f"{nodes['event_name'].iat[pos]}  {_money_short(own[pos], currency)}"
        if nodes["n_children"].iat[pos] or unexpanded[pos]:
            label += f"  (Σ {_money_short(cum[pos], currency)})"
        if row["hidden"]:
            label += f"  ▸ +{row['hidden']}"
        elif unexpanded[pos] and cum[pos] > own[pos]:
            label += "  ▸ not returned"
        ax.text(x + 0.22, y, label, va="center", fontsize=8.5,
                fontweight="bold" if pos == 0 else "normal")
    depth = max((r["depth"] for r in rows), default=0)
    ax.set_xlim(-0.4, max(depth * indent + 3.6, 4.5))
    # On given axes, a short tree keeps its rows at most ~22 points apart, on top.
    ax.set_ylim(-(len(rows) if own_figure else max(len(rows), int(height_pt // 22))) + 0.4, 0.8)
    ax.axis("off")
    products = list(dict.fromkeys(str(nodes["product"].iat[r["pos"]]) for r in rows
                                  if not r["marker"]))
    handles = [Line2D([], [], marker="o", linestyle="", color=product_color(p), label=p)
               for p in products]
    if any(r["marker"] or r["hidden"] for r in rows):
        handles.append(Line2D([], [], marker="P", linestyle="", color=OTHER_COLOR,
                              label="folded events"))
    # Below the rows, where no label can run into it.
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=8,
              frameon=False, ncols=min(4, len(handles)), handletextpad=0.2, columnspacing=1.2)
    shown = sum(1 for r in rows if not r["marker"])
    default = (f"Session {_short_id(tree.session_id)}: "
               f"{_money(float(tree.total_cost), currency, 4)}, {tree.event_count} events"
               + (f" ({shown} shown)" if shown < tree.event_count else ""))
    ax.set_title(title or default, fontsize=10, loc="left")
    return ax


# -- icicle ---------------------------------------------------------------------------------


def _short_id(session_id: str) -> str:
    return session_id if len(session_id) <= 14 else session_id[:8] + "…"


def _lighter(color: str, amount: float) -> str:
    r, g, b = to_rgb(color)
    return to_hex((r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount))


def cost_breakdown(
    data: SessionTree | pd.DataFrame,
    levels: Sequence[Hashable] | None = None,
    *,
    ax: Axes | None = None,
    cost: Hashable = "cost",
    currency: str | None = None,
    top: int = 6,
    other: str = "Other",
    title: str | None = None,
) -> Axes:
    """An icicle chart of where the money went: a session's tree or a frame's spend.

    Each column is one level; each block's height is its cost, children stacked inside
    their parent's span. For a :class:`SessionTree` the levels are the tree's depths (a
    parent's span is its cumulative cost, the part not covered by children is its own
    cost). For a frame, ``levels`` are columns (say ``["product", "country_code"]``),
    totals are exact (:func:`telnyx_analytics.cost_by`), each level keeps its ``top``
    values per parent and folds the rest into ``other``. Blocks too small to label stay
    unlabelled.

    Parameters
    ----------
    data : SessionTree or DataFrame
    levels : list of column names
        Required for a frame; ignored for a tree.
    ax : Axes, optional
    cost : column name, default ``"cost"``
    currency : str, optional
        For a frame: the currency to draw (default the one with the most records).
    top : int, default 6
    other : str, default ``"Other"``
    title : str, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> df = pd.DataFrame({"product": ["messaging", "messaging", "voice"],
    ...                    "country_code": ["US", "CA", "US"],
    ...                    "cost": ["12.50", "3.20", "30.00"], "currency": "USD"})
    >>> ax = cost_breakdown(df, ["product", "country_code"])
    >>> len(ax.patches)
    5
    """
    ax = _new_axes(ax)
    if isinstance(data, pd.DataFrame):
        blocks, chosen, left_out, names = _frame_blocks(data, levels, cost, currency, top, other)
        default = f"Cost by {' and '.join(map(str, names))}"
    else:
        blocks, chosen, left_out, names = _tree_blocks(data)
        default = f"Session {_short_id(data.session_id)}: cost by event"
        products = list(dict.fromkeys(str(p) for p in data.nodes["product"]))
        ax.legend(handles=[Patch(color=product_color(p), label=p) for p in products],
                  title="product", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False, fontsize=8, title_fontsize=8)
    total = sum(b["size"] for b in blocks if b["level"] == 0) or 1.0
    # Points per unit of cost, to label only the blocks tall enough for two lines of text.
    height_pt = ax.get_position().height * ax.figure.get_figheight() * 72
    for b in blocks:
        rect = Rectangle((b["level"], b["start"]), 0.96, b["size"], facecolor=b["color"],
                         edgecolor="white", linewidth=0.8)
        ax.add_patch(rect)
        tall = b["size"] / total * height_pt
        if tall >= 22:
            ax.text(b["level"] + 0.04, b["start"] + b["size"] / 2,
                    f"{b['label']}\n{_money_short(b['size'], chosen)}", va="center",
                    fontsize=8, clip_on=True)
        elif tall >= 10:
            ax.text(b["level"] + 0.04, b["start"] + b["size"] / 2, str(b["label"]),
                    va="center", fontsize=7, clip_on=True)
    columns = len(names)
    ax.set_xlim(0, columns)
    ax.set_ylim(0, total)
    ax.invert_yaxis()  # largest first, from the top
    ax.set_xticks(np.arange(columns) + 0.48, [str(n) for n in names])
    ax.tick_params(axis="x", length=0)
    ax.yaxis.set_major_formatter(MoneyFormatter(chosen))
    ax.set_ylabel(f"cost ({chosen})")
    ax.spines[["top", "right", "bottom"]].set_visible(False)
    _title(ax, (title or default) + f" · total {_money_short(total, chosen)}", left_out)
    return ax


def _frame_blocks(df: pd.DataFrame, levels: Sequence[Hashable] | None, cost: Hashable,
                  currency: str | None, top: int, other: str
                  ) -> tuple[list[dict[str, Any]], str, list[str], list[Hashable]]:
    if not levels:
        raise ValueError("levels: give the columns to break the cost down by, "
                         "e.g. ['product', 'country_code']")
    names = list(levels)
    totals = analysis.cost_by(df, names, cost=cost)
    chosen, left_out = _pick_currency(totals, currency)
    part = totals[totals["currency"] == chosen].copy()
    part["_v"] = _floats(part["cost"])
    for name in names:
        part[name] = part[name].astype(object).where(part[name].notna(), "(missing)").astype(str)
    blocks: list[dict[str, Any]] = []

    def place(rows: pd.DataFrame, level: int, start: float, color: str | None) -> None:
        name = names[level]
        sums = rows.groupby(name)["_v"].sum()
        mapping = _top_labels(sums, top, other)
        rows = rows.assign(**{name: rows[name].map(mapping)})
        sums = rows.groupby(name)["_v"].sum().sort_values(ascending=False)
        order = [k for k in sums.index if k != other] + ([other] if other in sums.index else [])
        colors = _colors(order, other, products=str(name) == "product")
        for label, own_color in zip(order, colors, strict=True):
            size = float(sums[label])
            if size <= 0:
                continue
            fill = own_color if color is None else (
                OTHER_COLOR if label == other else _lighter(color, 0.25 + 0.15 * level))
            blocks.append({"level": level, "start": start, "size": size, "label": label,
                           "color": fill})
            if level + 1 < len(names):
                place(rows[rows[name] == label], level + 1, start,
                      fill if color is not None or label != other else OTHER_COLOR)
            start += size

    place(part, 0, 0.0, None)
    return blocks, chosen, left_out, names


def _tree_blocks(tree: SessionTree) -> tuple[list[dict[str, Any]], str, list[str], list[str]]:
    nodes = tree.nodes
    cum = _floats(nodes["cumulative_cost"])
    blocks: list[dict[str, Any]] = []
    starts = {0: 0.0}
    for pos in range(len(nodes)):  # depth-first: a parent is placed before its children
        start = starts[pos]
        blocks.append({"level": int(nodes["depth"].iat[pos]), "start": start,
                       "size": float(max(cum[pos], 0.0)),
                       "label": str(nodes["event_name"].iat[pos]),
                       "color": product_color(str(nodes["product"].iat[pos]))})
        offset = start
        for kid in sorted(tree.children(pos), key=lambda c: (-cum[c], c)):
            starts[kid] = offset
            offset += max(cum[kid], 0.0)
    depth = int(nodes["depth"].max()) + 1 if len(nodes) else 1
    return blocks, tree.currency, [], [f"depth {d}" for d in range(depth)]
