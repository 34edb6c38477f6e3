"""Plots of costs, usage and session trees with matplotlib: DataFrame or SessionTree in, Axes out.

Every function draws on ``ax`` when given, else on a new figure, and returns the
``matplotlib.axes.Axes``; none calls ``plt.show()`` and none changes global style.

Small multiples: ``col=`` and ``row=`` (column names) draw one panel per value on a new
figure and return the 2-D array of their Axes (``axes[row, col]``, as
``plt.subplots(squeeze=False)`` gives it; the figure is ``axes[0, 0].figure``). Panels
share their time axis, and their money axis only when every panel is in the same
currency. ``ax=`` with ``col=``/``row=`` is a ``ValueError``.

Money axes are labelled with their currency and never mix currencies: a frame with several
currencies is drawn one panel per currency (``col="currency"``), for one of them
(``currency=``; by default the one with the most records, and the title names the others)
or converted with ``rates=``/``to=`` (exactly, by :func:`telnyx_analytics.cost_by`).

A category value has the same colour in every plot and panel: products, directions and
currencies have fixed colours, any other value is hashed to a palette colour, so ``CA`` is
not coloured by the order it happens to appear in (``palette=`` overrides: a mapping of
value to colour, a list of colours, or a matplotlib colormap name). ``Other`` is grey.
Extra keyword arguments go to the matplotlib artist that draws the data.
"""

from __future__ import annotations

import heapq
import logging
import zlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from . import analysis
from ._columns import as_list, require_column
from ._money import UNIT, is_money, to_micros
from ._periods import period_alias, period_range

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .sessions import SessionTree

__all__ = [
    "category_color",
    "cost_breakdown",
    "cost_over_time",
    "human",
    "product_color",
    "session_tree",
    "usage_breakdown",
]

log = logging.getLogger("telnyx_analytics.plot")

#: The forms of :func:`usage_breakdown` (``kind=``).
UsageKind = Literal["bar", "area"]

# Matplotlib's "tab10" without its grey (grey is "Other"), then five darker colours of
# "tab20b"/"tab20c" that stay apart from them: strong colours only, no pale twins that
# would read as a shade of their neighbour.
_BLUE, _ORANGE, _GREEN, _RED, _PURPLE = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"
_BROWN, _PINK, _OLIVE, _CYAN = "#8c564b", "#e377c2", "#bcbd22", "#17becf"
PALETTE = [_BLUE, _ORANGE, _GREEN, _RED, _PURPLE, _BROWN, _PINK, _OLIVE, _CYAN,
           "#393b79", "#637939", "#843c39", "#7b4173", "#e7ba52"]
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
#: Values with a colour of their own in every plot; any other value is hashed (see above).
FIXED_COLORS = {
    **PRODUCT_COLORS,
    "inbound": _BLUE, "outbound": _ORANGE,
    "USD": _BLUE, "EUR": _GREEN, "GBP": _RED, "CAD": _PURPLE, "AUD": _BROWN,
}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}
_TITLES = {"D": "Daily", "W": "Weekly", "MS": "Monthly", "M": "Monthly", "ME": "Monthly",
           "h": "Hourly", "QS": "Quarterly", "Q": "Quarterly", "YS": "Yearly", "Y": "Yearly"}
#: Column names as a person reads them, with their unit.
_NAMES = {
    "cost": "cost", "total_cost": "cost", "count": "records", "parts": "message parts",
    "country_code": "country", "terminating_country": "destination country",
    "originating_country": "origin country", "sim_card_id": "SIM", "sim_group_name": "SIM group",
    "sim_group_id": "SIM group", "profile_name": "messaging profile", "profile_id": "profile",
    "message_type": "message type", "connection_name": "connection",
    "connection_id": "connection", "event_name": "event", "total_dips": "lookups",
    "tn_type": "number type", "mcc": "MCC", "mnc": "MNC", "imsi": "IMSI",
    "cli": "from number", "cld": "to number",
}
_UNITS = {"mb": "MB", "kb": "KB", "gb": "GB", "sec": "s", "secs": "s", "seconds": "s",
          "ms": "ms", "min": "min", "minutes": "min"}
_WORDS = {"id": "ID", "sim": "SIM", "mb": "MB", "tn": "number", "cdr": "CDR", "mdr": "MDR"}
MAX_PANELS = 24


def human(name: Hashable) -> str:
    """A column name as a person reads it, unit in brackets: ``data_mb`` -> ``data (MB)``.

    >>> human("sim_card_id"), human("downlink_data_mb"), human("billed_sec")
    ('SIM', 'downlink data (MB)', 'billed (s)')
    """
    text = str(name)
    if text in _NAMES:
        return _NAMES[text]
    words = text.replace("-", "_").split("_")
    unit = _UNITS.get(words[-1].lower()) if len(words) > 1 else None
    if unit:
        words = words[:-1]
    readable = " ".join(_WORDS.get(w.lower(), w) for w in words if w)
    return f"{readable} ({unit})" if unit else readable


def _records(totals: pd.DataFrame) -> Any:
    """The records column of ``cost_by``'s totals, the one after ``cost``: ``count``, or
    what a summary counts (``calls``, ``messages``)."""
    return totals.columns[list(totals.columns).index("cost") + 1]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _names(columns: Sequence[Hashable]) -> str:
    return " and ".join(human(c) for c in columns)


def category_color(value: Hashable) -> str:
    """The colour of a category value, the same in every plot.

    Products, directions and currencies have fixed colours (``FIXED_COLORS``); any other
    value is hashed to one of the palette's colours, so it does not depend on which other
    values are drawn or in what order. Within one plot every value gets a colour of its
    own: when two values want the same colour, the larger one keeps it and the smaller
    takes the next free colour.

    >>> category_color("messaging"), category_color("CA") == category_color("CA")
    ('#1f77b4', True)
    """
    text = str(value)
    if text in FIXED_COLORS:
        return FIXED_COLORS[text]
    return PALETTE[zlib.crc32(text.encode()) % len(PALETTE)]


#: The name used since the first release: a product's colour is its category colour.
product_color = category_color


def _palette_colors(palette: str | Sequence[Any]) -> list[str]:
    if isinstance(palette, str):
        import matplotlib as mpl

        cmap = mpl.colormaps[palette]
        colors = getattr(cmap, "colors", None)
        values = colors if colors is not None else cmap(np.linspace(0, 1, 10))
        return [to_hex(c) for c in values]
    return [to_hex(c) for c in palette]


def _color_map(values: Sequence[str], other: str,
               palette: Mapping[Any, Any] | Sequence[Any] | str | None) -> dict[str, str]:
    """A colour for each value, largest first: its own colour (``category_color``) unless
    a larger value of the plot already has it; then the next free one."""
    given: dict[str, str] = {}
    colors = PALETTE
    if isinstance(palette, Mapping):
        given = {str(k): to_hex(v) for k, v in palette.items()}
    elif palette is not None:
        colors = _palette_colors(palette)
        if not colors:
            raise ValueError("palette: give a mapping of value to colour, a non-empty list of "
                             "colours or a matplotlib colormap name")
    out: dict[str, str] = {value: given[value] for value in values if value in given}
    if other in values and other not in out:
        out[other] = OTHER_COLOR
    used = set(out.values())
    for value in values:
        if value in out:
            continue
        start = zlib.crc32(value.encode()) % len(colors)
        wanted = [FIXED_COLORS[value]] if palette is None and value in FIXED_COLORS else []
        wanted += [colors[(start + k) % len(colors)] for k in range(len(colors))]
        out[value] = next((c for c in wanted if c not in used), wanted[0])
        used.add(out[value])
    return out


def _shorten(labels: Sequence[str], width: int = 16) -> dict[str, str]:
    """Long ids cut to a readable few characters that still tell every label apart.

    A prefix when the labels differ early (``6a09cdc3…``), else the start and the end
    (``6a09…6c07``); a label that no cut tells apart stays whole.
    """
    def unique(cut: Callable[[str], str]) -> bool:
        return sum(1 for o in labels if cut(o) == cut(label)) == 1

    out = {}
    for label in labels:
        if len(label) <= width:
            out[label] = label
            continue
        out[label] = label
        if unique(lambda x: x[:8]):
            out[label] = label[:8] + "…"
            continue
        for k in range(4, len(label) - 6):
            def ends(x: str, k: int = k) -> str:
                return x[:4] + x[-k:]

            if unique(ends):
                out[label] = f"{label[:4]}…{label[-k:]}"
                break
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


def _root_figure(ax: Axes) -> Figure:
    """The figure ``ax`` is drawn on (the top one, when it sits in a subfigure)."""
    figure = ax.get_figure(root=True)
    if not isinstance(figure, Figure):
        raise TypeError(f"the Axes is on no figure: {ax!r}")
    return figure


def _tidy(ax: Axes, grid_axis: Literal["both", "x", "y"] = "y") -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis=grid_axis, alpha=0.3, linewidth=0.8)
    ax.set_axisbelow(True)


def _one_currency(frame: pd.DataFrame, counts: pd.Series, currency: str | None,
                  per_panel: bool) -> tuple[pd.DataFrame, str | None, list[str]]:
    """The rows of the currency to draw, that currency (None: one per panel) and the
    currencies left out (named in the title).

    ``counts`` are the records per currency; by default the one with the most is drawn.
    """
    counts = counts[counts > 0].sort_values(ascending=False, kind="stable")
    names = [str(c) for c in counts.index]
    if currency is not None:
        if currency not in names:
            raise ValueError(f"currency={currency!r}: the frame has {', '.join(names) or 'none'}")
        return frame[frame["currency"].astype(str) == currency], currency, []
    if not names:
        raise ValueError("the frame has no costs to draw")
    if per_panel or len(names) == 1:
        return frame, names[0] if len(names) == 1 else None, []
    chosen, left_out = names[0], sorted(names[1:])
    log.warning("drawing %s only; %s left out (pass col='currency', currency= or rates=)",
                chosen, ", ".join(left_out))
    return frame[frame["currency"].astype(str) == chosen], chosen, left_out


def _title(target: Any, title: str, left_out: Sequence[str]) -> None:
    """Title of an Axes, or of a Figure (small multiples); names the currencies left out."""
    if left_out:
        title += f"\n(other currencies not shown: {', '.join(left_out)})"
    if hasattr(target, "suptitle"):
        target.suptitle(title, fontsize=11)
    else:
        target.set_title(title, fontsize=11 if not left_out else 10)


def _floats(values: pd.Series) -> np.ndarray:
    micros, _ = to_micros(values, "cost")
    floats: np.ndarray = np.asarray(micros, dtype=np.float64) / UNIT
    return floats


def _date_axis(ax: Axes, periods: pd.DatetimeIndex, freq: str) -> None:
    """Concise date ticks, and the span the periods cover (UTC) as the axis label.

    matplotlib's own offset text ("2024-Jun") names the month of the last *tick*, which
    for the bars of May ends on June 1st; the label names what the data covers instead.
    """
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    ax.set_xlabel(_span(periods, freq))


def _measure_axis(ax: Axes, which: str, name: str, currency: str | None) -> None:
    """Label the ``which`` ("x" or "y") axis with the measure: money in ``currency``, or counts."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    if currency:
        axis.set_major_formatter(MoneyFormatter(currency))
        axis.set_label_text(f"{name} ({currency})")
    else:
        axis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
        axis.set_label_text(name)


def _span(periods: pd.DatetimeIndex, freq: str) -> str:
    """What periods starting at ``periods`` cover, for people.

    >>> _span(pd.date_range("2024-05-01", "2024-05-31", tz="UTC"), "D")
    '2024-05-01 to 2024-05-31 (UTC)'
    >>> _span(pd.DatetimeIndex(["2024-04-29", "2024-05-27"], tz="UTC"), "W")
    '2024-04-29 to 2024-06-02 (UTC)'
    >>> _span(pd.date_range("2024-05-01 00:00", periods=3, freq="h", tz="UTC"), "h")
    '2024-05-01 00:00 to 02:59 (UTC)'
    """
    first = periods.min()
    end = periods.max() + pd.tseries.frequencies.to_offset(_offset(freq))
    if end - periods.max() < pd.Timedelta(days=1):
        last = end - pd.Timedelta(minutes=1)
        same_day = first.normalize() == last.normalize()
        return f"{first:%Y-%m-%d %H:%M} to {last:%H:%M}" + (
            " (UTC)" if same_day else f" on {last:%Y-%m-%d} (UTC)")
    last = end - pd.Timedelta(days=1)
    return f"{first:%Y-%m-%d} to {last:%Y-%m-%d} (UTC)"


def _naive(periods: pd.Index | pd.Series) -> np.ndarray:
    """UTC period starts as naive datetimes (matplotlib would convert aware ones to local)."""
    index = pd.DatetimeIndex(periods)
    return index.tz_convert("UTC").tz_localize(None).to_pydatetime()


def _text(values: pd.Series) -> pd.Series:
    """Category values as text, missing ones as ``(missing)``."""
    return values.astype(object).where(values.notna(), "(missing)").astype(str)


def _labels(frame: pd.DataFrame, columns: Sequence[Hashable]) -> pd.Series:
    """One label per row: the values of ``columns`` joined, ``outbound · CA``."""
    parts = [_text(frame[c]) for c in columns]
    label = parts[0]
    for part in parts[1:]:
        label = label + " · " + part
    return label


def _top_labels(totals: pd.Series, top: int, other: str) -> dict[str, str]:
    """Map each label to itself (the ``top`` largest) or to ``other``."""
    top = analysis.check_top(top)
    ranked = totals.sort_values(ascending=False, kind="stable").index.tolist()
    return {label: (label if i < top or len(ranked) <= top + 1 else other)
            for i, label in enumerate(ranked)}


def _ordered(labels: Sequence[str], other: str) -> list[str]:
    """``other`` last."""
    return [x for x in labels if x != other] + ([other] if other in labels else [])


def _stacked(ax: Axes, table: pd.DataFrame, colors: Sequence[str], names: Sequence[str],
             freq: str, kwargs: dict[str, Any]) -> None:
    """Stacked bars (or areas for long series) of a period x series table."""
    x = _naive(table.index)
    if len(table) > 120:
        ax.stackplot(x, table.to_numpy().T, labels=names, colors=colors,
                     **{"linewidth": 0, **kwargs})
        return
    # Each bar spans 85% of its own period (months differ in length), from its start.
    ends = [*table.index[1:], table.index[-1] + pd.tseries.frequencies.to_offset(_offset(freq))]
    widths = [(b - a).total_seconds() / 86400 * 0.85 for a, b in
              zip(table.index, ends, strict=True)]
    bottom = np.zeros(len(table))
    for (_, values), color, name in zip(table.items(), colors, names, strict=True):
        ax.bar(x, values.to_numpy(), width=widths, bottom=bottom, align="edge",
               **{"label": name, "color": color, "linewidth": 0, **kwargs})
        bottom += values.to_numpy()


def _offset(freq: str) -> str:
    alias = period_alias(freq)
    return {"M": "MS", "Q": "QS", "Y": "YS", "W": "W-MON"}.get(alias or freq, freq)


def _legend(ax: Axes, title: str | None, n: int) -> None:
    if n > 1:
        ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  fontsize=9, title_fontsize=9, reverse=True)


# -- small multiples ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Grid:
    """Small multiples asked for: ``row``/``col`` columns, ``col_wrap`` panels a line."""

    row: Hashable | None = None
    col: Hashable | None = None
    wrap: int | None = None

    @property
    def columns(self) -> list[Hashable]:
        return [c for c in (self.row, self.col) if c is not None]


@dataclass(frozen=True)
class _Panel:
    title: str
    mask: np.ndarray  # the rows of the frame drawn in this panel
    at: tuple[int, int]  # (row, column) in the grid


def _grid(df: pd.DataFrame, row: Hashable | None, col: Hashable | None,
          col_wrap: int | None, ax: Axes | None) -> _Grid:
    """The small multiples asked for, checked before anything is computed or drawn."""
    for column, argument in ((row, "row"), (col, "col")):
        if column is not None:
            require_column(df, column, argument)
    if col_wrap is not None and (col is None or row is not None
                                 or not isinstance(col_wrap, int) or col_wrap < 1):
        raise ValueError(f"col_wrap={col_wrap!r}: a positive number of panels a line, "
                         f"with col= and without row=")
    grid = _Grid(row, col, col_wrap)
    if grid.columns and ax is not None:
        raise ValueError("ax: small multiples (col=/row=) are drawn on a figure of their own; "
                         "leave ax=None, or drop col=/row= to draw on your Axes")
    return grid


def _panels(frame: pd.DataFrame, grid: _Grid, values: Any = None) -> list[_Panel]:
    """One panel per (row value, column value), in reading order.

    With ``values`` (what is drawn, one per row of ``frame``), a panel whose rows are all
    zero has no rows: it says "nothing here" rather than drawing an empty axis (inbound
    messages, which cost nothing, in a panel of their own).
    """
    if not grid.columns:
        return [_Panel("", np.ones(len(frame), bool), (0, 0))]
    drawn = None if values is None else np.nan_to_num(np.asarray(values, dtype="float64")) != 0
    keys = {c: _text(frame[c]).to_numpy() for c in grid.columns}
    rows = sorted(set(keys[grid.row])) if grid.row is not None else [None]
    cols = sorted(set(keys[grid.col])) if grid.col is not None else [None]
    if len(rows) * len(cols) > MAX_PANELS:
        raise ValueError(f"col={grid.col!r}, row={grid.row!r}: {len(rows) * len(cols)} "
                         f"panels; small multiples are for a few values (at most {MAX_PANELS})")
    panels = []
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            mask = np.ones(len(frame), bool)
            names = []
            for column, value in ((grid.row, r), (grid.col, c)):
                if column is not None:
                    mask &= keys[column] == value
                    names.append(f"{human(column)}: {value}")
            at = divmod(j, grid.wrap) if grid.wrap else (i, j)
            if drawn is not None and not drawn[mask].any():
                mask = np.zeros(len(frame), bool)
            panels.append(_Panel(" · ".join(names), mask, at))
    return panels


def _layout(panels: list[_Panel], grid: _Grid, ax: Axes | None,
            draw: Callable[[Axes, int], str | None], *, time_axis: bool, value_axis: str,
            title: str, left_out: Sequence[str], legend_title: str | None = None,
            legend_order: Sequence[str] = ()) -> Axes | np.ndarray:
    """Draw one Axes (no small multiples) or a grid of panels; legend and title included.

    ``draw(ax, i)`` draws panel ``i`` and returns its currency (None when not money).
    Returns the Axes, the 2-D array of panels, or with ``col_wrap`` the 1-D array of
    the panels drawn.
    """
    if not grid.columns:
        ax = _new_axes(ax)
        draw(ax, 0)
        _title(ax, title, left_out)
        if legend_title is not None:
            _legend(ax, legend_title, len(legend_order))
        return ax
    import matplotlib.pyplot as plt

    n_rows = max(p.at[0] for p in panels) + 1
    n_cols = max(p.at[1] for p in panels) + 1
    width = 3.4 if n_cols <= 3 else 2.8
    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False, sharex=time_axis,
                             layout="constrained",
                             figsize=(min(16.0, 2.2 + width * n_cols),
                                      min(14.0, 1.2 + 2.6 * n_rows)))
    used = [axes[p.at] for p in panels]
    for extra in set(axes.flat) - set(used):  # the end of a wrapped last line
        fig.delaxes(extra)
    currencies = set()
    for i, (panel, a) in enumerate(zip(panels, used, strict=True)):
        if panel.mask.any():
            currencies.add(draw(a, i))
        else:
            a.text(0.5, 0.5, "nothing here", ha="center", va="center", color="#888888",
                   transform=a.transAxes)
            a.set_axis_off()
        a.set_title(panel.title, fontsize=10)
    drawn = [a for a, p in zip(used, panels, strict=True) if p.mask.any()]
    if len(currencies) <= 1 and len(drawn) > 1:
        # One unit everywhere: the value axis is shared, so panels compare at a glance.
        # Panels in different currencies keep axes of their own.
        lim = f"get_{value_axis}lim"
        lo = min(min(getattr(a, lim)()) for a in drawn)
        hi = max(max(getattr(a, lim)()) for a in drawn)
        for a in drawn[1:]:
            getattr(a, f"share{value_axis}")(drawn[0])
        getattr(drawn[0], f"set_{value_axis}lim")(lo, hi)
    for a in drawn:
        if time_axis:
            a.tick_params(axis="x", labelbottom=True, labelsize=8)
        else:  # narrow panels: fewer money ticks, so their labels never touch
            getattr(a, f"{value_axis}axis").set_major_locator(mticker.MaxNLocator(nbins=4))
    if legend_title is not None and len(legend_order) > 1:
        handles: dict[str, Any] = {}
        for a in drawn:
            for handle, label in zip(*a.get_legend_handles_labels(), strict=True):
                handles.setdefault(label, handle)
        shown = [x for x in legend_order if x in handles]
        fig.legend([handles[x] for x in shown], shown, title=legend_title,
                   loc="outside right upper", frameon=False, fontsize=9, title_fontsize=9)
    _title(fig, title, left_out)
    return np.array(used, dtype=object) if grid.wrap else axes


# -- cost over time -------------------------------------------------------------------------


def cost_over_time(
    df: pd.DataFrame,
    *,
    by: Hashable | Sequence[Hashable] | None = None,
    freq: str | None = None,
    ax: Axes | None = None,
    col: Hashable | None = None,
    row: Hashable | None = None,
    col_wrap: int | None = None,
    cost: Hashable = "cost",
    time: Hashable | None = None,
    currency: str | None = None,
    rates: Mapping[str, Any] | None = None,
    to: str | None = None,
    top: int = 8,
    other: str = "Other",
    palette: Mapping[Any, Any] | Sequence[Any] | str | None = None,
    title: str | None = None,
    **kwargs: Any,
) -> Axes | np.ndarray:
    """Cost per period as stacked bars, split by ``by`` (product, country, direction ...).

    Totals are computed exactly with :func:`telnyx_analytics.cost_by`. One currency per
    axis: see the module notes. Beyond ``top`` series the rest is stacked as ``other``;
    series that cost nothing are left out.

    Parameters
    ----------
    df : DataFrame
        Any frame with money, currency and time (``spend_summary`` output too).
    by : column name or list of names, optional
        What to stack by (a list stacks each combination, ``outbound · CA``); ``None``
        draws the total.
    freq : str, optional
        ``"D"``, ``"W"``, ``"MS"``, ``"h"`` ... Default ``"D"``; for a frame that already
        holds totals per period (``cost_by`` or ``spend_summary`` output), its own period
        (:func:`telnyx_analytics.analysis.summary_freq`), so weekly totals are drawn as
        weeks, not as one day each.
    ax : Axes, optional
        Draw here; default a new figure. Not with ``col``/``row``.
    col, row : column name, optional
        Small multiples: one panel per value (``col="currency"``, ``row="direction"``).
    col_wrap : int, optional
        With ``col`` alone: at most this many panels a line.
    cost, time : column name, optional
        As in :func:`telnyx_analytics.cost_by`.
    currency : str, optional
        The currency to draw; default the one with the most records.
    rates, to : optional
        Convert every currency into ``to`` first (see ``cost_by``).
    top : int, default 8
    other : str, default ``"Other"``
    palette : mapping, list of colours or colormap name, optional
        Overrides the stable colours of the series.
    title : str, optional
    **kwargs
        Passed to ``Axes.bar`` (``Axes.stackplot`` beyond 120 periods).

    Returns
    -------
    Axes, or a 2-D array of Axes with ``col``/``row`` (1-D with ``col_wrap``)

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "created_at": pd.date_range("2024-05-01", periods=6, freq="12h", tz="UTC"),
    ...     "product": ["messaging", "voice"] * 3,
    ...     "direction": ["outbound"] * 4 + ["inbound"] * 2,
    ...     "cost": ["0.40", "1.25", "0.35", "1.10", "0.50", "0.95"], "currency": "USD"})
    >>> ax = cost_over_time(df, by="product")
    >>> ax.get_ylabel(), ax.get_title()
    ('Cost (USD)', 'Daily cost by product')
    >>> cost_over_time(df, by="product", col="direction").shape
    (1, 2)
    """
    by_cols = as_list(by)
    grid = _grid(df, row, col, col_wrap, ax)
    facets = grid.columns
    freq = freq or analysis.summary_freq(df, time) or "D"
    totals = analysis.cost_by(df, list(dict.fromkeys([*by_cols, *facets])), freq=freq,
                              cost=cost, time=time, rates=rates, to=to)
    counts = totals.groupby(_text(totals["currency"]))[_records(totals)].sum()
    totals, chosen, left_out = _one_currency(totals, counts, currency, "currency" in facets)
    totals = totals.reset_index(drop=True)
    values = pd.Series(_floats(totals["cost"]), index=totals.index)
    labels = (_labels(totals, by_cols) if by_cols
              else pd.Series("cost", index=totals.index, dtype=object))
    sums = values.groupby(labels).sum()
    mapping = _top_labels(sums[sums != 0], top, other)  # series that cost nothing are left out
    keep = labels.isin(list(mapping)).to_numpy()
    totals, values, labels = totals[keep], values[keep], labels[keep].map(mapping)
    if totals.empty:
        raise ValueError("the frame has no costs to draw")
    ranked = values.groupby(labels).sum().sort_values(ascending=False, kind="stable")
    order = _ordered(ranked.index.tolist(), other)
    if by_cols:
        colors = _color_map(order, other, palette)
    else:
        first = (list(palette.values()) if isinstance(palette, Mapping)
                 else _palette_colors(palette) if palette is not None else [_BLUE])
        colors = {"cost": to_hex(first[0]) if first else _BLUE}
    short = _shorten(order)
    periods = period_range(totals["period"].min(), totals["period"].max(), freq)
    panels = _panels(totals, grid, values)

    def draw(ax: Axes, i: int) -> str | None:
        mask = panels[i].mask
        part = values[mask].groupby([totals["period"][mask], labels[mask]]).sum()
        table = part.unstack(fill_value=0).reindex(periods, fill_value=0.0)
        table = table[[x for x in order if x in table.columns]]
        _stacked(ax, table, [colors[x] for x in table.columns],
                 [short[x] for x in table.columns], freq, kwargs)
        shown = chosen or str(totals["currency"][mask].iloc[0])
        _date_axis(ax, periods, freq)
        ax.yaxis.set_major_formatter(MoneyFormatter(shown))
        ax.set_ylabel(f"{_capital(human(cost))} ({shown})")
        ax.margins(x=0.01)
        _tidy(ax)
        return shown

    period = _TITLES.get(freq, f"Per-{freq}")
    default = (f"{period} {human(cost)}" + (f" by {_names(by_cols)}" if by_cols else "")
               + (f", converted to {to}" if rates is not None else ""))
    return _layout(panels, grid, ax, draw, time_axis=True, value_axis="y",
                   title=title or default, left_out=left_out,
                   legend_title=" · ".join(human(c) for c in by_cols) if by_cols else None,
                   legend_order=[short[x] for x in reversed(order)])


# -- usage breakdown ------------------------------------------------------------------------

_KEY = "_label"  # the column of joined labels when ``dimension`` is a list


def usage_breakdown(
    df: pd.DataFrame,
    dimension: Hashable | Sequence[Hashable],
    metric: Hashable,
    *,
    kind: UsageKind = "bar",
    ax: Axes | None = None,
    col: Hashable | None = None,
    row: Hashable | None = None,
    col_wrap: int | None = None,
    top: int = 10,
    other: str = "Other",
    freq: str | None = None,
    time: Hashable | None = None,
    currency: str | None = None,
    rates: Mapping[str, Any] | None = None,
    to: str | None = None,
    palette: Mapping[Any, Any] | Sequence[Any] | str | None = None,
    title: str | None = None,
    **kwargs: Any,
) -> Axes | np.ndarray:
    """The top values of a dimension by a metric, plus ``other``: bars or stacked areas.

    ``kind="bar"`` draws horizontal bars over the whole frame, largest first, each labelled
    with its value and its share of the panel (no share when a panel has one bar).
    ``kind="area"`` stacks the same top values over time. Money is drawn one currency per
    axis (see the module notes: ``col="currency"``, ``currency=`` or ``rates=``/``to=``).

    Parameters
    ----------
    df : DataFrame
    dimension : column name or list of names
        What to break down by; a list breaks down by each combination (``outbound · CA``).
    metric : column name
        As in :func:`telnyx_analytics.usage_breakdown` (``metric="count"`` counts rows).
    kind : {"bar", "area"}, default ``"bar"``
    ax : Axes, optional
        Not with ``col``/``row``.
    col, row : column name, optional
        Small multiples: one panel per value (each with its own top values).
    col_wrap : int, optional
        With ``col`` alone: at most this many panels a line.
    top : int, default 10
    other : str, default ``"Other"``
    freq : str, optional
        Period of ``kind="area"``: as in :func:`cost_over_time`, daily unless the frame
        already holds totals per period.
    time : column name, optional
    currency : str, optional
        Draw this currency only (default for money: the one with the most records).
    rates, to : optional
        Convert a money metric into ``to`` first, exactly (see ``cost_by``).
    palette : mapping, list of colours or colormap name, optional
        Overrides the stable colours of the values.
    title : str, optional
    **kwargs
        Passed to ``Axes.barh`` or ``Axes.stackplot``.

    Returns
    -------
    Axes, or a 2-D array of Axes with ``col``/``row`` (1-D with ``col_wrap``)

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> df = pd.DataFrame({"country_code": ["US", "US", "CA", "GB"], "parts": [3, 1, 2, 1]})
    >>> ax = usage_breakdown(df, "country_code", "parts", top=2)
    >>> [t.get_text() for t in ax.get_yticklabels()], ax.get_title()
    (['US', 'CA', 'Other'], 'Message parts by country')
    """
    if kind not in get_args(UsageKind):
        raise ValueError(f"kind={kind!r}: use one of {', '.join(map(repr, get_args(UsageKind)))}")
    dims = as_list(dimension)
    if not dims:
        raise ValueError("dimension: give a column (or a list of columns) to break down by")
    for column in dims:
        require_column(df, column, "dimension")
    grid = _grid(df, row, col, col_wrap, ax)
    facets = grid.columns
    counting = metric == "count" and metric not in df.columns
    if not counting:
        require_column(df, metric, "metric")
    name = "count" if counting else metric
    money = not counting and is_money(df, metric)
    if (rates is not None or to is not None) and not money:
        raise ValueError(f"rates: metric={metric!r} is not money; only money is converted")
    area = kind == "area"
    freq = freq or analysis.summary_freq(df, time) or "D"
    frame = df
    if len(dims) > 1:
        frame = df.assign(**{_KEY: _labels(df, dims)})
    key = dims[0] if len(dims) == 1 else _KEY
    if money and rates is not None:
        # Exact per-group totals in one currency (analysis's conversion), then the top values.
        frame = analysis.cost_by(frame, list(dict.fromkeys([key, *facets])),
                                 freq=freq if area else None, cost=metric, time=time,
                                 rates=rates, to=to).rename(columns={"cost": metric})
        time = "period" if area else None
    left_out: list[str] = []
    if money and "currency" in frame.columns:  # else analysis says what is missing
        counts = frame.groupby(_text(frame["currency"])).size() if rates is None \
            else pd.Series({str(to): 1})
        frame, _, left_out = _one_currency(frame, counts, currency, "currency" in facets)
    elif currency is not None and "currency" in frame.columns:
        frame = frame[frame["currency"].astype(str) == currency]
        if frame.empty:
            raise ValueError(f"currency={currency!r}: no rows in that currency")
    frame = frame.reset_index(drop=True)
    panels = _panels(frame, grid, None if counting else
                     _floats(frame[metric]) if money else pd.to_numeric(frame[metric]))
    tables = []
    for panel in panels:
        table = analysis.usage_breakdown(frame[panel.mask], key, metric, top=top, other=other,
                                         freq=freq if area else None, time=time)
        table["_v"] = _floats(table[name]) if money else table[name].astype("float64")
        tables.append(table[table["_v"] != 0].reset_index(drop=True))  # nothing: left out
    # Each panel's largest values first (then its second ...): they keep their own colours.
    ranks = [t[key].astype(str).tolist() for t in tables]
    values = _ordered(list(dict.fromkeys(r[i] for i in range(max(map(len, ranks), default=0))
                                         for r in ranks if i < len(r))), other)
    slots = max(len(t) for t in tables)
    colors = _color_map(values, other, palette)
    short = _shorten(values)
    who = " · ".join(human(d) for d in dims)
    measure = None if counting or money else analysis.measure_unit(df, metric)
    metric_name = _capital(human(name)) + (f" ({measure})" if measure else "")

    def unit(table: pd.DataFrame) -> str | None:
        return str(table["currency"].iloc[0]) if money else None

    def draw_bars(ax: Axes, i: int) -> str | None:
        table = tables[i]
        labels = table[key].astype(str).tolist()
        y = np.arange(len(table))
        bars = ax.barh(y, table["_v"].to_numpy(), **{"color": [colors[x] for x in labels],
                                                     "height": 0.7, **kwargs})
        ax.set_yticks(y, [short[x] for x in labels])
        # Largest on top; every panel as many slots as the fullest, so bars are alike.
        ax.set_ylim(max(slots, 1) - 0.5, -0.5)
        shown = unit(table)
        # A share says something only next to others: one bar would always read 100%.
        texts = [(_money_short(v, shown) if shown else f"{v:,.0f}" if float(v).is_integer()
                  else f"{v:,.2f}") + (f"  {s:.0%}" if len(table) > 1 else "")
                 for v, s in zip(table["_v"], table["share"], strict=True)]
        ax.bar_label(bars, texts, padding=3, fontsize=8, color="#333333")
        ax.margins(x=0.22)  # room for the labels at the bars' ends
        _tidy(ax, "x")
        _measure_axis(ax, "x", metric_name, shown)
        ax.tick_params(axis="y", length=0)
        return shown

    def draw_area(ax: Axes, i: int) -> str | None:
        table = tables[i]
        summed = table["_v"].groupby([table["period"], table[key].astype(str)]).sum()
        wide = summed.unstack(fill_value=0)
        wide = wide[[x for x in values if x in wide.columns]]
        wide = wide.reindex(period_range(wide.index.min(), wide.index.max(), freq),
                            fill_value=0.0)
        ax.stackplot(_naive(wide.index), wide.to_numpy().T,
                     **{"labels": [short[x] for x in wide.columns],
                        "colors": [colors[x] for x in wide.columns], "linewidth": 0,
                        "alpha": 0.9, **kwargs})
        _date_axis(ax, pd.DatetimeIndex(wide.index), freq)
        ax.margins(x=0)
        _tidy(ax)
        shown = unit(table)
        _measure_axis(ax, "y", metric_name, shown)
        return shown

    default = f"{metric_name} by {_names(dims)}" + (
        f", {_TITLES.get(freq, f'per-{freq}').lower()}" if area else "") + (
        f", converted to {to}" if rates is not None else "")
    return _layout(panels, grid, ax, draw_area if area else draw_bars,
                   time_axis=area, value_axis="y" if area else "x", title=title or default,
                   left_out=left_out, legend_title=who if area else None,
                   legend_order=[short[x] for x in reversed(values)])


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
    palette: Mapping[Any, Any] | Sequence[Any] | str | None = None,
    title: str | None = None,
    **kwargs: Any,
) -> Axes:
    """A session's events as an indented tree: one row per event, coloured by product.

    Each row reads ``event name  own $x · total $y``: what the event itself cost, then
    (when it has children) what it cost with everything below it. The most expensive
    branches are opened first; when rows run out, the cheaper siblings are folded into
    one grey ``+N more`` row and an unopened subtree is marked ``▸ +N`` on its node, so a
    200-event session stays readable.

    Parameters
    ----------
    tree : SessionTree
    ax : Axes, optional
    max_depth : int, optional
        Do not open nodes deeper than this (root is depth 0).
    max_rows : int, optional
        Rows to draw; default what fits the axes' height (about 14 points a row).
    palette : mapping, list of colours or colormap name, optional
        Overrides the products' colours.
    title : str, optional
    **kwargs
        Passed to ``Axes.scatter`` (the events' dots).

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
    height_pt = ax.get_position().height * _root_figure(ax).get_figheight() * 72
    if max_rows is None:
        max_rows = max(6, int(height_pt // 14))
    rows = _visible_rows(tree, max_rows, max_depth)
    if own_figure and len(rows) < max_rows:
        # A figure of its own is only as tall as its rows: no blank band under a short tree.
        _root_figure(ax).set_figheight(max(1.6, 1.0 + 0.22 * len(rows)))
    nodes = tree.nodes
    own = _floats(nodes["event_cost"])
    cum = _floats(nodes["cumulative_cost"])
    currency = tree.currency
    unexpanded = tree._unexpanded()
    colors = _color_map(list(dict.fromkeys(str(p) for p in nodes["product"])), "", palette)
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
                    f"total {_money_short(row['cost'], currency)}", va="center", fontsize=8,
                    color="#666666", style="italic")
            continue
        pos = row["pos"]
        ax.scatter([x], [y], **{"s": 45, "color": colors[str(nodes["product"].iat[pos])],
                                "zorder": 2, "edgecolors": "white", "linewidths": 0.6,
                                **kwargs})
        label = f"{nodes['event_name'].iat[pos]}  "
        if nodes["n_children"].iat[pos] or unexpanded[pos]:
            label += (f"own {_money_short(own[pos], currency)} · "
                      f"total {_money_short(cum[pos], currency)}")
        else:
            label += _money_short(own[pos], currency)
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
    handles = [Line2D([], [], marker="o", linestyle="", color=colors[p], label=p)
               for p in products]
    if any(r["marker"] or r["hidden"] for r in rows):
        handles.append(Line2D([], [], marker="P", linestyle="", color=OTHER_COLOR,
                              label="folded events"))
    # Below the rows, where no label can run into it.
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=8,
              frameon=False, ncols=min(4, len(handles)), handletextpad=0.2, columnspacing=1.2)
    shown = sum(1 for r in rows if not r["marker"])
    default = (f"Session {_short_id(tree.session_id)}: "
               f"{_money(float(tree.total_cost), currency, 4)} in all, {tree.event_count} events"
               + (f" ({shown} shown)" if shown < tree.event_count else ""))
    ax.set_title(title or default, fontsize=10, loc="left")
    return ax


# -- icicle ---------------------------------------------------------------------------------


def _short_id(session_id: str) -> str:
    return session_id if len(session_id) <= 14 else session_id[:8] + "…"


def _lighter(color: str, amount: float) -> str:
    r, g, b = to_rgb(color)
    return to_hex((r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount))


_BLOCK = 0.56  # a block's width in its column; the rest is the lane for outside labels
_LINE_PT = 9.5  # the height of a line of block text, in points


def cost_breakdown(
    data: SessionTree | pd.DataFrame,
    levels: Sequence[Hashable] | None = None,
    *,
    ax: Axes | None = None,
    col: Hashable | None = None,
    row: Hashable | None = None,
    col_wrap: int | None = None,
    cost: Hashable = "cost",
    currency: str | None = None,
    top: int = 6,
    other: str = "Other",
    palette: Mapping[Any, Any] | Sequence[Any] | str | None = None,
    title: str | None = None,
    **kwargs: Any,
) -> Axes | np.ndarray:
    """An icicle chart of where the money went: a session's tree or a frame's spend.

    Each column is one level; each block's height is its cost, children stacked inside
    their parent's span from the top, the money axis rising from zero. For a
    :class:`SessionTree` the levels are the tree's depths: a block spans its event's total
    (itself and everything below it), drawn pale, with the event's own cost solid at its
    foot, and labelled ``own $x · total $y``. For a frame, ``levels`` are columns (say
    ``["product", "country_code"]``), totals are exact (:func:`telnyx_analytics.cost_by`),
    and each level keeps its ``top`` values per parent, the rest folded into ``other``.
    A block too small for its label is labelled beside it, with a leader line (siblings
    of one name together: ``inference ×9``).

    Parameters
    ----------
    data : SessionTree or DataFrame
    levels : list of column names
        Required for a frame; ignored for a tree.
    ax : Axes, optional
        Not with ``col``/``row``.
    col, row : column name, optional
        For a frame: one panel per value (``col="currency"``).
    col_wrap : int, optional
        With ``col`` alone: at most this many panels a line.
    cost : column name, default ``"cost"``
    currency : str, optional
        For a frame: the currency to draw (default the one with the most records).
    top : int, default 6
    other : str, default ``"Other"``
    palette : mapping, list of colours or colormap name, optional
        Overrides the stable colours (of products for a tree, of values for a frame).
    title : str, optional
    **kwargs
        Passed to the blocks (``matplotlib.patches.Rectangle``).

    Returns
    -------
    Axes, or a 2-D array of Axes with ``col``/``row`` (1-D with ``col_wrap``)

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> df = pd.DataFrame({"product": ["messaging", "messaging", "voice"],
    ...                    "country_code": ["US", "CA", "US"],
    ...                    "cost": ["12.50", "3.20", "30.00"], "currency": "USD"})
    >>> ax = cost_breakdown(df, ["product", "country_code"])
    >>> len(ax.patches), bool(ax.yaxis_inverted())
    (5, False)
    """
    if not isinstance(data, pd.DataFrame):
        if col is not None or row is not None or col_wrap is not None:
            raise ValueError("col/row: a session tree is drawn in one panel")
        return _tree_icicle(data, ax=ax, palette=palette, title=title, kwargs=kwargs)
    if not levels:
        raise ValueError("levels: give the columns to break the cost down by, "
                         "e.g. ['product', 'country_code']")
    names = list(levels)
    for name in names:
        require_column(data, name, "levels")
    grid = _grid(data, row, col, col_wrap, ax)
    facets = grid.columns
    totals = analysis.cost_by(data, list(dict.fromkeys([*names, *facets])), cost=cost)
    counts = totals.groupby(_text(totals["currency"]))[_records(totals)].sum()
    totals, chosen, left_out = _one_currency(totals, counts, currency, "currency" in facets)
    totals = totals.assign(_v=_floats(totals["cost"]), **{
        str(n): _text(totals[n]) for n in names}).reset_index(drop=True)
    panels = _panels(totals, grid, totals["_v"])
    blocks = [_frame_blocks(totals[p.mask], names, top, other) for p in panels]
    # Outer levels first, then by size: a product keeps its colour, a direction gives way.
    ranked = sorted((b for bs in blocks for b in bs), key=lambda b: (b["level"], -b["size"]))
    labels = _ordered(list(dict.fromkeys(b["label"] for b in ranked)), other)
    colors = _color_map(labels, other, palette)

    def draw(ax: Axes, i: int) -> str:
        shown = chosen or str(totals["currency"][panels[i].mask].iloc[0])
        for b in blocks[i]:
            b["color"] = colors[b["label"]]
        _draw_icicle(ax, blocks[i], [human(n) for n in names], shown, kwargs)
        return shown

    text = title or f"Cost by {_names(names)}"
    if not grid.columns:  # one panel: its total in the title
        total = sum(b["size"] for b in blocks[0] if b["level"] == 0)
        text += f" · total {_money_short(total, chosen or str(totals['currency'].iloc[0]))}"
    return _layout(panels, grid, ax, draw, time_axis=False, value_axis="y", title=text,
                   left_out=left_out)


def _frame_blocks(totals: pd.DataFrame, names: list[Hashable], top: int,
                  other: str) -> list[dict[str, Any]]:
    """Blocks of a frame's icicle: each level's top values per parent, the rest ``other``."""
    blocks: list[dict[str, Any]] = []

    def place(rows: pd.DataFrame, level: int, start: float, parent: int | None) -> None:
        name = str(names[level])
        sums = rows.groupby(name)["_v"].sum()
        mapping = _top_labels(sums, top, other)
        rows = rows.assign(**{name: rows[name].map(mapping)})
        sums = rows.groupby(name)["_v"].sum().sort_values(ascending=False, kind="stable")
        for label in _ordered(sums.index.tolist(), other):
            size = float(sums[label])
            if size <= 0:
                continue
            blocks.append({"level": level, "start": start, "size": size, "label": label,
                           "own": None, "parent": parent, "children": level + 1 < len(names)})
            if level + 1 < len(names):
                place(rows[rows[name] == label], level + 1, start, len(blocks) - 1)
            start += size

    place(totals, 0, 0.0, None)
    return blocks


def _tree_blocks(tree: SessionTree) -> list[dict[str, Any]]:
    nodes = tree.nodes
    own = _floats(nodes["event_cost"])
    cum = _floats(nodes["cumulative_cost"])
    depth = nodes["depth"].to_numpy(dtype=np.int64)
    blocks: list[dict[str, Any]] = []
    starts: dict[int, tuple[float, int | None]] = {0: (0.0, None)}
    for pos in range(len(nodes)):  # depth-first: a parent is placed before its children
        start, parent = starts[pos]
        kids = sorted(tree.children(pos), key=lambda c: (-cum[c], c))
        blocks.append({"level": int(depth[pos]), "start": start,
                       "size": float(max(cum[pos], 0.0)), "own": float(max(own[pos], 0.0)),
                       "label": str(nodes["event_name"].iat[pos]),
                       "product": str(nodes["product"].iat[pos]), "parent": parent,
                       "children": bool(kids) or cum[pos] > own[pos]})
        offset = start
        for kid in kids:
            starts[kid] = (offset, len(blocks) - 1)
            offset += max(cum[kid], 0.0)
    return blocks


def _tree_icicle(tree: SessionTree, *, ax: Axes | None, palette: Any, title: str | None,
                 kwargs: dict[str, Any]) -> Axes:
    ax = _new_axes(ax)
    blocks = _tree_blocks(tree)
    products = list(dict.fromkeys(b["product"] for b in blocks))
    colors = _color_map(products, "", palette)
    for b in blocks:
        b["color"] = colors[b["product"]]
    depth = max((b["level"] for b in blocks), default=0) + 1
    _draw_icicle(ax, blocks, [f"depth {d}" for d in range(depth)], tree.currency, kwargs)
    handles = [Patch(color=colors[p], label=p) for p in products]
    handles += [Patch(color="#555555", label="own cost (solid)"),
                Patch(color=_lighter("#555555", 0.6), label="cost of the events below (pale)")]
    # Below the columns, where no label beside a block can run into it.
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False,
              fontsize=8, ncols=min(4, len(handles)), handletextpad=0.4, columnspacing=1.2)
    default = (f"Session {_short_id(tree.session_id)}: cost by event · total "
               f"{_money_short(float(tree.total_cost), tree.currency)}")
    ax.set_title(title or default, fontsize=11)
    return ax


def _block_text(b: dict[str, Any], currency: str, lines: bool) -> str:
    """A block's label: name and cost; a session event with children: own and total."""
    money = _money_short(b["size"], currency)
    if b["own"] is None or not b["children"]:
        parts = [b["label"], money]
    else:
        parts = [b["label"], f"own {_money_short(b['own'], currency)}", f"total {money}"]
    return "\n".join(parts) if lines else "  ".join([parts[0], " · ".join(parts[1:])])


def _draw_icicle(ax: Axes, blocks: list[dict[str, Any]], columns: list[str], currency: str,
                 kwargs: dict[str, Any]) -> float:
    """Draw the blocks (money axis up from 0, largest at the top); returns the total."""
    total = sum(b["size"] for b in blocks if b["level"] == 0) or 1.0
    height_pt = ax.get_position().height * _root_figure(ax).get_figheight() * 72
    per_pt = total / max(height_pt, 1.0)  # cost per point of height
    outside: list[dict[str, Any]] = []
    for b in blocks:
        top = total - b["start"]
        bottom = top - b["size"]
        style = {"edgecolor": "white", "linewidth": 0.8, **kwargs}
        if b["own"] is not None and b["children"]:
            # The event's span is its total: pale; its own cost is solid, at the foot.
            ax.add_patch(Rectangle((b["level"], bottom), _BLOCK, b["size"],
                                   **{"facecolor": _lighter(b["color"], 0.6), **style}))
            ax.add_patch(Rectangle((b["level"], bottom), _BLOCK, min(b["own"], b["size"]),
                                   **{"facecolor": b["color"], **style}))
        else:
            ax.add_patch(Rectangle((b["level"], bottom), _BLOCK, b["size"],
                                   **{"facecolor": b["color"], **style}))
        text = _block_text(b, currency, lines=True)
        if b["size"] / per_pt >= _LINE_PT * (text.count("\n") + 1) + 3:
            ax.text(b["level"] + 0.03, (top + bottom) / 2, text, va="center", fontsize=7.5,
                    clip_on=True)
        else:
            outside.append(b)
    _outside_labels(ax, outside, total, per_pt, currency)
    last = len(columns) - 1
    # Room on the right for labels beside the last column's blocks.
    ax.set_xlim(0, len(columns) + (0.45 if any(b["level"] == last for b in outside) else 0))
    ax.set_ylim(0, total)
    ax.set_xticks(np.arange(len(columns)) + _BLOCK / 2, columns)
    ax.tick_params(axis="x", length=0)
    ax.yaxis.set_major_formatter(MoneyFormatter(currency))
    ax.set_ylabel(f"Cost ({currency})")
    ax.spines[["top", "right", "bottom"]].set_visible(False)
    return total


def _outside_labels(ax: Axes, small: list[dict[str, Any]], total: float, per_pt: float,
                    currency: str) -> None:
    """Labels beside blocks too small to hold them, spread apart, each with a leader line.

    Siblings of one name share a label (``inference ×9``); when a column's labels still
    cannot fit, each parent's small children share one (``+12 events``).
    """
    gap = (_LINE_PT + 1) * per_pt
    for level in sorted({b["level"] for b in small}):
        column = [b for b in small if b["level"] == level]
        groups = _label_groups(column, lambda b: (b["parent"], b["label"]))
        if len(groups) * gap > total:
            groups = _label_groups(column, lambda b: b["parent"])
        wanted = []
        for members in groups:
            top = total - min(b["start"] for b in members)
            bottom = total - max(b["start"] + b["size"] for b in members)
            if len(members) == 1:
                text = _block_text(members[0], currency, lines=False)
            else:
                names = {b["label"] for b in members}
                cost = sum(b["size"] for b in members)
                text = (f"{members[0]['label']} ×{len(members)}" if len(names) == 1
                        else f"+{len(members)} events") + f"  {_money_short(cost, currency)}"
            wanted.append(((top + bottom) / 2, text))
        wanted.sort(key=lambda w: -w[0])
        ys: list[float] = []
        for y, _ in wanted:  # top down: inside the axes, no closer than a line to the one above
            ys.append(min(y, total - gap / 2) if not ys else min(y, ys[-1] - gap))
        for k in range(len(ys) - 1, -1, -1):  # bottom up: not below the axis
            ys[k] = max(ys[k], gap / 2 if k == len(ys) - 1 else ys[k + 1] + gap)
        x = level + _BLOCK
        for (y0, text), y in zip(wanted, ys, strict=True):
            ax.plot([x, x + 0.04, x + 0.07], [y0, y, y], color="#888888", linewidth=0.6,
                    clip_on=False)
            ax.text(x + 0.08, y, text, va="center", fontsize=7, color="#333333")


def _label_groups(blocks: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any]
                  ) -> list[list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for b in blocks:
        groups.setdefault(key(b), []).append(b)
    return list(groups.values())
