"""Tests of telnyx_analytics.plot, rendered with Agg: the artists, the numbers, the pixels.

Run as a script to (re)draw the images of docs/analysis.md from a sandbox account::

    .venv/bin/python tests/test_plot.py
"""

from __future__ import annotations

import io
import re
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mimage
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex

# The frame and session builders live beside this file (they are test data, not package code).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_analysis import (
    decimal_sums,
    make_cdrs,
    make_lookups,
    make_mdrs,
    make_wdrs,
)
from test_sessions import make_session

from telnyx_analytics import plot
from telnyx_analytics.analysis import cost_by, spend_summary, usage_breakdown
from telnyx_analytics.plot import _visible_rows
from telnyx_analytics.sessions import SessionTree

DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


@pytest.fixture(autouse=True)
def _close_figures(monkeypatch):
    def no_show(*args, **kwargs):
        raise AssertionError("a plotting function called plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def mdrs() -> pd.DataFrame:
    return make_mdrs(days=28, per_day=60)


@pytest.fixture(scope="module")
def frames(mdrs) -> dict[str, pd.DataFrame]:
    return {"messaging": mdrs, "voice": make_cdrs(days=28, per_day=20),
            "wireless": make_wdrs(days=28, per_day=5), "number lookups": make_lookups(days=28)}


def png_pixels(ax) -> np.ndarray:
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    buffer.seek(0)
    return mimage.imread(buffer, format="png")


def assert_not_blank(ax) -> None:
    pixels = png_pixels(ax)[..., :3]
    inked = (pixels < 0.9).any(axis=-1).mean()  # share of pixels that are not near-white
    assert inked > 0.03, f"the image is almost blank ({inked:.1%} inked)"
    assert pixels.std() > 0.05


def drawn_labels(labels) -> list[str]:
    return [t.get_text() for t in labels]


# -- cost over time ------------------------------------------------------------------------


def test_cost_over_time_stacks_products_with_exact_totals(frames):
    spend = spend_summary(frames, freq="D")
    ax = plot.cost_over_time(spend, by="product", currency="USD")
    assert ax.get_ylabel() == "Cost (USD)"
    assert ax.get_title() == "Daily cost by product"
    products = ["messaging", "voice", "wireless", "number lookups"]
    legend = drawn_labels(ax.get_legend().get_texts())
    assert sorted(legend) == sorted(products)
    assert len(ax.containers) == 4
    # Every product keeps its colour.
    for container in ax.containers:
        assert to_hex(container.patches[0].get_facecolor()) == plot.product_color(
            container.get_label())
    # The stacked heights of each day are that day's USD spend, computed with decimal.
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for frame in frames.values():
        usd = frame[frame["currency"].astype(str) == "USD"]
        time = next(c for c in ("created_at", "start_timestamp_utc", "date") if c in usd)
        cost = "total_cost" if "total_cost" in usd else "cost"
        days = pd.to_datetime(usd[time], utc=True).dt.strftime("%Y-%m-%d")
        for (day,), value in decimal_sums(usd, [days], cost).items():
            expected[day] += value
    heights = np.sum([[bar.get_height() for bar in c.patches] for c in ax.containers], axis=0)
    assert len(heights) == 28
    assert heights.tolist() == pytest.approx([float(expected[d]) for d in sorted(expected)])
    ax.figure.canvas.draw()
    ticks = [t for t in drawn_labels(ax.get_yticklabels()) if t]
    assert ticks and all(t.startswith("$") for t in ticks)
    assert_not_blank(ax)


def test_cost_over_time_never_stacks_currencies(mdrs):
    ax = plot.cost_over_time(mdrs, by="country_code", freq="W")
    assert "other currencies not shown: AUD, CAD, EUR, GBP" in ax.get_title()
    assert sorted(drawn_labels(ax.get_legend().get_texts())) == ["MX", "US"]
    total = sum(bar.get_height() for c in ax.containers for bar in c.patches)
    usd = decimal_sums(mdrs, ["currency"])[("USD",)]
    assert total == pytest.approx(float(usd))

    gbp = plot.cost_over_time(mdrs, freq="W", currency="GBP")
    assert gbp.get_ylabel() == "Cost (GBP)" and "other currencies" not in gbp.get_title()
    gbp.figure.canvas.draw()
    assert all(t.startswith("£") for t in drawn_labels(gbp.get_yticklabels()) if t)


def test_the_time_axis_names_the_span_the_data_covers(mdrs):
    # Bars of a whole month end on the next month's first day; matplotlib's offset text
    # named that month ("2024-Jun" under May's bars). The label names the data's span.
    may = mdrs[mdrs["created_at"] < mdrs["created_at"].min().normalize() + pd.Timedelta(days=7)]
    first, last = may["created_at"].min(), may["created_at"].max()
    span = f"{first:%Y-%m-%d} to {last:%Y-%m-%d} (UTC)"
    ax = plot.cost_over_time(may, currency="USD")
    ax.figure.canvas.draw()
    assert ax.get_xlabel() == span
    assert ax.xaxis.get_offset_text().get_text() == ""
    area = plot.usage_breakdown(may, "country_code", "count", kind="area")
    assert area.get_xlabel() == span
    weekly = plot.cost_over_time(mdrs, currency="USD", freq="W")
    monday = mdrs["created_at"].min().normalize() - pd.Timedelta(
        days=mdrs["created_at"].min().day_of_week)
    assert weekly.get_xlabel().startswith(f"{monday:%Y-%m-%d} to ")


def test_cost_over_time_with_rates_draws_everything_in_one_currency(mdrs):
    rates = {"CAD": "0.73", "GBP": "1.27", "EUR": "1.08", "AUD": "0.66"}
    ax = plot.cost_over_time(mdrs, by="country_code", freq="MS", rates=rates, to="USD", top=3)
    assert "other currencies" not in ax.get_title()
    assert drawn_labels(ax.get_legend().get_texts())[0] == "Other"  # reversed: top of stack
    converted = cost_by(mdrs, rates=rates, to="USD")["cost"].sum()
    total = sum(bar.get_height() for c in ax.containers for bar in c.patches)
    assert total == pytest.approx(float(converted))


def test_drawing_on_the_callers_axes(frames):
    _, (left, right) = plt.subplots(1, 2)
    before = plt.get_fignums()
    spend = spend_summary(frames, freq="W")
    assert plot.cost_over_time(spend, by="product", freq="W", ax=left, currency="USD") is left
    assert plot.usage_breakdown(frames["messaging"], "direction", "parts", ax=right) is right
    assert plt.get_fignums() == before
    assert left.containers and right.containers


# -- usage breakdown -----------------------------------------------------------------------


def test_usage_breakdown_bars_top_n_plus_other(mdrs):
    ax = plot.usage_breakdown(mdrs, "country_code", "parts", top=3)
    table = usage_breakdown(mdrs, "country_code", "parts", top=3)
    assert drawn_labels(ax.get_yticklabels()) == table["country_code"].tolist()
    assert drawn_labels(ax.get_yticklabels())[-1] == "Other"
    bars = ax.containers[0].patches
    assert [b.get_width() for b in bars] == table["parts"].astype(float).tolist()
    assert sum(b.get_width() for b in bars) == mdrs["parts"].sum()
    assert to_hex(bars[-1].get_facecolor()) == plot.OTHER_COLOR
    labels = [t.get_text() for t in ax.texts]
    assert labels[0] == f"{int(table['parts'].iloc[0]):,}  {table['share'].iloc[0]:.0%}"
    assert ax.get_xlabel() == "Message parts"
    assert ax.get_title() == "Message parts by country"
    assert_not_blank(ax)


def test_usage_breakdown_money_never_shares_an_axis_across_currencies(mdrs):
    # By default: the currency with the most records, the others named in the title.
    ax = plot.usage_breakdown(mdrs, "country_code", "cost", top=5)
    assert drawn_labels(ax.get_yticklabels()) == ["US", "MX"]
    assert ax.get_xlabel() == "Cost (USD)"
    assert "other currencies not shown: AUD, CAD, EUR, GBP" in ax.get_title()
    us = decimal_sums(mdrs[mdrs["country_code"] == "US"], ["currency"])[("USD",)]
    assert ax.containers[0].patches[0].get_width() == pytest.approx(float(us))

    # One panel per currency: each money axis in its own currency, none shared.
    axes = plot.usage_breakdown(mdrs, "country_code", "cost", col="currency")
    assert axes.shape == (1, 5)
    panels = {a.get_title(): a for a in axes.flat}
    assert sorted(panels) == [f"currency: {c}" for c in ["AUD", "CAD", "EUR", "GBP", "USD"]]
    for title, panel in panels.items():
        code = title.split(": ")[1]
        assert panel.get_xlabel() == f"Cost ({code})"
        assert panel.get_shared_x_axes().get_siblings(panel) == [panel]
    gb = panels["currency: GBP"]
    exact = decimal_sums(mdrs[mdrs["country_code"] == "GB"], ["currency"])[("GBP",)]
    assert gb.containers[0].patches[0].get_width() == pytest.approx(float(exact))
    # GB is the only GBP country: its share would always read 100%, so there is none.
    assert drawn_labels(gb.texts) == [f"£{float(exact):,.2f}"]
    eur = drawn_labels(panels["currency: EUR"].texts)
    assert len(eur) == 2 and all(t.endswith("%") for t in eur)

    usd = plot.usage_breakdown(mdrs, "country_code", "cost", currency="USD")
    assert drawn_labels(usd.get_yticklabels()) == ["US", "MX"]
    assert usd.get_xlabel() == "Cost (USD)" and "other currencies" not in usd.get_title()


def test_usage_breakdown_converted_with_rates_is_one_axis_of_exact_totals(mdrs):
    rates = {"CAD": "0.73", "GBP": "1.27", "EUR": "1.08", "AUD": "0.66"}
    ax = plot.usage_breakdown(mdrs, "country_code", "cost", rates=rates, to="USD", top=3)
    assert ax.get_xlabel() == "Cost (USD)" and "converted to USD" in ax.get_title()
    expected = cost_by(mdrs, "country_code", rates=rates, to="USD")
    exact = {str(c): float(v) for c, v in zip(expected["country_code"], expected["cost"],
                                               strict=True)}
    widths = {label: bar.get_width() for label, bar in
              zip(drawn_labels(ax.get_yticklabels()), ax.containers[0].patches, strict=True)}
    top3 = sorted(exact, key=exact.get, reverse=True)[:3]
    assert list(widths)[:3] == top3
    assert [widths[c] for c in top3] == pytest.approx([exact[c] for c in top3])
    assert sum(widths.values()) == pytest.approx(sum(exact.values()))
    with pytest.raises(ValueError, match="rates"):
        plot.usage_breakdown(mdrs, "country_code", "parts", rates=rates, to="USD")


def test_usage_breakdown_area_over_time(mdrs):
    ax = plot.usage_breakdown(mdrs, "country_code", "count", kind="area", top=3)
    areas = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(areas) == 4
    table = usage_breakdown(mdrs, "country_code", "count", top=3)
    # The legend lists the stack from its top: "Other", then the kept values, smallest first.
    assert drawn_labels(ax.get_legend().get_texts()) == table["country_code"].tolist()[::-1]
    assert ax.get_ylabel() == "Records" and ax.get_title() == "Records by country, daily"
    # The top of the stack on each day is that day's number of messages.
    top_edge = areas[-1].get_paths()[0].vertices[:, 1].max()
    assert top_edge == mdrs.groupby(mdrs["created_at"].dt.floor("D")).size().max()
    with pytest.raises(ValueError, match="kind"):
        plot.usage_breakdown(mdrs, "country_code", "count", kind="pie")


# -- session trees -------------------------------------------------------------------------


def test_session_tree_small_shows_every_event():
    payload = make_session(n_events=12, seed=3)
    tree = SessionTree.from_response(payload)
    ax = plot.session_tree(tree)
    texts = drawn_labels(ax.texts)
    assert len(texts) == 12
    # The root's own cost and its subtree's total, each named.
    root_own = Decimal(payload["root"]["cost"]["event_cost"])
    assert texts[0] == f"call  own \\${root_own:.4f} · total \\${tree.total_cost:.4f}"
    leaves = tree.nodes.index[tree.nodes["n_children"] == 0]
    rows = _visible_rows(tree, max_rows=100, max_depth=None)  # the drawing order
    for text, row in zip(texts, rows, strict=True):
        assert ("own" in text) == (row["pos"] not in leaves)
    legend = drawn_labels(ax.get_legend().get_texts())
    assert set(legend) == set(tree.nodes["product"])
    # Each dot has its product's colour.
    dots = [c for c in ax.collections if len(c.get_offsets()) == 1]
    assert [to_hex(d.get_facecolor()[0]) for d in dots] == [
        plot.product_color(tree.nodes["product"].iat[r["pos"]]) for r in rows]
    assert sorted(r["pos"] for r in rows) == list(range(12))
    assert_not_blank(ax)
    # A figure of its own is only as tall as the rows need: no blank band below them.
    assert ax.figure.get_figheight() < plt.rcParams["figure.figsize"][1]
    assert ax.get_ylim()[0] == pytest.approx(-12 + 0.4)


def test_session_tree_on_given_axes_keeps_their_size():
    tree = SessionTree.from_response(make_session(n_events=3, seed=4))
    fig, ax = plt.subplots(figsize=(6, 5))
    assert plot.session_tree(tree, ax=ax) is ax
    assert tuple(fig.get_size_inches()) == (6, 5)
    # Rows stay at most ~22 points apart, on top: three rows do not spread over 5 inches.
    height_pt = ax.get_position().height * 5 * 72
    assert ax.get_ylim()[0] == pytest.approx(-int(height_pt // 22) + 0.4)
    assert int(height_pt // 22) > 3
    plt.close(fig)


def test_session_tree_of_200_events_folds_and_accounts_for_every_event():
    tree = SessionTree.from_response(make_session(n_events=200, seed=1))
    ax = plot.session_tree(tree)
    texts = drawn_labels(ax.texts)
    assert 8 <= len(texts) <= 24  # readable at the default size
    assert any("more" in t for t in texts) and any("▸ +" in t for t in texts)
    ys = sorted(t.get_position()[1] for t in ax.texts)
    assert np.diff(ys).min() >= 1  # one row each, no overlap
    assert all(t.get_fontsize() >= 8 for t in ax.texts)
    assert "200 events" in ax.get_title(loc="left")
    # Shown rows, folded siblings and folded subtrees add up to every event.
    rows = _visible_rows(tree, max_rows=len(texts), max_depth=None)
    assert sum((0 if r["marker"] else 1) + r["hidden"] for r in rows) == 200
    assert_not_blank(ax)


def test_session_tree_max_depth_folds_deeper_events():
    tree = SessionTree.from_response(make_session(n_events=60, seed=4))
    rows = _visible_rows(tree, max_rows=40, max_depth=1)
    assert max(r["depth"] for r in rows) <= 2  # depth-1 nodes are not opened
    assert all(r["depth"] <= 1 for r in rows if not r["marker"])
    ax = plot.session_tree(tree, max_depth=1, max_rows=40)
    assert any("▸ +" in t for t in drawn_labels(ax.texts))


# -- cost breakdown (icicle) ---------------------------------------------------------------


def test_cost_breakdown_of_a_month_by_product_and_country(frames):
    calls = frames["voice"].rename(columns={"terminating_country": "country_code",
                                            "start_timestamp_utc": "created_at"})
    spend = pd.concat([frames["messaging"].assign(product="messaging"),
                       calls.assign(product="voice")])[["created_at", "product", "country_code",
                                                        "cost", "currency"]]
    ax = plot.cost_breakdown(spend, ["product", "country_code"], currency="USD")
    level0 = [p for p in ax.patches if p.get_x() == 0]
    usd = spend[spend["currency"].astype(str) == "USD"]
    by_product = decimal_sums(usd, ["product"])
    assert sorted(p.get_height() for p in level0) == pytest.approx(
        sorted(float(v) for v in by_product.values()))
    level1 = [p for p in ax.patches if p.get_x() == 1]
    assert sum(p.get_height() for p in level1) == pytest.approx(float(sum(by_product.values())))
    assert drawn_labels(ax.get_xticklabels()) == ["product", "country"]
    assert ax.get_ylabel() == "Cost (USD)"
    # The money axis rises from zero; the largest block is on top.
    assert not ax.yaxis_inverted() and ax.get_ylim() == pytest.approx(
        (0, float(sum(by_product.values()))))
    top = max(level0, key=lambda p: p.get_y())
    assert top.get_height() == max(p.get_height() for p in level0)
    assert "voice" in " ".join(drawn_labels(ax.texts))
    # A value has one colour wherever it is: US under voice and under messaging.
    colours = [to_hex(p.get_facecolor()) for p in level1]  # US, US and MX
    assert len(colours) == 3 and sorted(colours.count(c) for c in set(colours)) == [1, 2]
    assert_not_blank(ax)
    with pytest.raises(ValueError, match="levels"):
        plot.cost_breakdown(spend)


def icicle_blocks(ax) -> list[tuple[float, float, float, str]]:
    """(column, bottom, height, colour) of every rectangle of an icicle."""
    return [(p.get_x(), p.get_y(), p.get_height(), to_hex(p.get_facecolor()))
            for p in ax.patches]


def test_cost_breakdown_of_a_session_tells_own_cost_from_total():
    payload = make_session(n_events=14, seed=3)
    tree = SessionTree.from_response(payload)
    total = float(tree.total_cost)
    own = float(Decimal(payload["root"]["cost"]["event_cost"]))
    ax = plot.cost_breakdown(tree)
    root = [b for b in icicle_blocks(ax) if b[0] == 0]
    call = plot.product_color("callcontrol-cdrs")
    # The root spans the session's total, pale; the call's own cost is solid, at its foot.
    assert len(root) == 2
    span = max(root, key=lambda b: b[2])
    solid = min(root, key=lambda b: b[2])
    assert span[2] == pytest.approx(total) and span[3] != call
    assert solid[2] == pytest.approx(own) and solid[3] == call
    assert solid[1] == pytest.approx(0)
    assert f"own \\${own:.4f}" in drawn_labels(ax.texts)[0]
    assert f"total \\${total:.4f}" in drawn_labels(ax.texts)[0]
    assert "own cost (solid)" in drawn_labels(ax.get_legend().get_texts())
    # The money axis is not inverted: 0 at the bottom, the total at the top.
    assert not ax.yaxis_inverted() and ax.get_ylim() == pytest.approx((0, total))
    assert drawn_labels(ax.get_yticklabels())[0] == "$0.00"


def count_labelled(texts: list[str]) -> int:
    """How many blocks the labels of an icicle speak for."""
    n = 0
    for text in texts:
        grouped = re.search(r"×(\d+)|^\+(\d+) events", text)
        n += int(next(g for g in grouped.groups() if g)) if grouped else 1
    return n


@pytest.mark.parametrize("n_events", [14, 40, 200])
def test_cost_breakdown_of_a_session_labels_every_block(n_events):
    tree = SessionTree.from_response(make_session(n_events=n_events, seed=6))
    ax = plot.cost_breakdown(tree)
    texts = drawn_labels(ax.texts)
    assert count_labelled(texts) == n_events
    # Children sit inside their parent's span.
    depth1 = [b for b in icicle_blocks(ax) if b[0] == 1]
    assert max(b[1] + b[2] for b in depth1) <= float(tree.total_cost) + 1e-12
    # Labels beside small blocks have leader lines and do not overlap each other.
    outside = [t for t in ax.texts if t.get_fontsize() == 7]
    assert len([line for line in ax.lines]) == len(outside)
    height_pt = ax.get_position().height * ax.figure.get_figheight() * 72
    for column in {round(t.get_position()[0]) for t in outside}:
        ys = sorted(t.get_position()[1] for t in outside if round(t.get_position()[0]) == column)
        points = np.diff(ys) / float(tree.total_cost) * height_pt
        assert (points >= 9.5).all()
        assert ys[0] > 0 and ys[-1] < float(tree.total_cost)  # inside the axes
    assert_not_blank(ax)


# -- by lists and small multiples ----------------------------------------------------------


def test_cost_over_time_by_a_list_stacks_each_combination(mdrs):
    ax = plot.cost_over_time(mdrs, by=["direction", "country_code"], currency="USD")
    legend = drawn_labels(ax.get_legend().get_texts())
    assert sorted(legend) == ["inbound · MX", "inbound · US", "outbound · MX", "outbound · US"]
    assert ax.get_legend().get_title().get_text() == "direction · country"
    assert ax.get_title() == "Daily cost by direction and country"
    expected = decimal_sums(mdrs[mdrs["currency"] == "USD"], ["direction", "country_code"])
    for container in ax.containers:
        direction, country = container.get_label().split(" · ")
        drawn = sum(bar.get_height() for bar in container.patches)
        assert drawn == pytest.approx(float(expected[(direction, country)]))


def test_usage_breakdown_by_a_list_of_dimensions(mdrs):
    ax = plot.usage_breakdown(mdrs, ["direction", "message_type"], "parts", top=3)
    ticks = drawn_labels(ax.get_yticklabels())
    table = usage_breakdown(mdrs.assign(k=mdrs["direction"].astype(str) + " · "
                                        + mdrs["message_type"].astype(str)), "k", "parts", top=3)
    assert ticks == table["k"].tolist() and ticks[0] == "outbound · SMS"
    assert ax.get_title() == "Message parts by direction and message type"


def test_usage_area_by_a_list_converted_into_one_currency(mdrs):
    rates = {"CAD": "0.73", "GBP": "1.27", "EUR": "1.08", "AUD": "0.66"}
    ax = plot.usage_breakdown(mdrs, ["direction", "country_code"], "cost", kind="area",
                              rates=rates, to="USD", top=3)
    assert ax.get_ylabel() == "Cost (USD)"
    assert ax.get_title() == "Cost by direction and country, daily, converted to USD"
    legend = drawn_labels(ax.get_legend().get_texts())
    totals = cost_by(mdrs, ["direction", "country_code"], rates=rates, to="USD")
    totals = totals.assign(label=totals["direction"].astype(str) + " · "
                           + totals["country_code"].astype(str)).sort_values("cost")
    assert legend == ["Other", *totals["label"].tolist()[-3:]]  # top of the stack first
    areas = [c for c in ax.collections if isinstance(c, PolyCollection)]
    top_edge = areas[-1].get_paths()[0].vertices[:, 1]
    daily = cost_by(mdrs, freq="D", rates=rates, to="USD")
    assert top_edge.max() == pytest.approx(max(float(v) for v in daily["cost"]), abs=1e-5)


def test_small_multiples_one_panel_per_currency_with_axes_of_their_own(mdrs):
    before = plt.get_fignums()
    axes = plot.cost_over_time(mdrs, by="country_code", freq="W", col="currency")
    assert isinstance(axes, np.ndarray) and axes.shape == (1, 5)
    assert len(plt.get_fignums()) == len(before) + 1
    fig = axes[0, 0].figure
    assert all(a.figure is fig for a in axes.flat)
    expected = decimal_sums(mdrs, ["currency"])
    for panel in axes.flat:
        code = panel.get_title().removeprefix("currency: ")
        assert panel.get_ylabel() == f"Cost ({code})"
        drawn = sum(bar.get_height() for c in panel.containers for bar in c.patches)
        assert drawn == pytest.approx(float(expected[(code,)]))
        # Money in different currencies never shares an axis; time does.
        assert panel.get_shared_y_axes().get_siblings(panel) == [panel]
        assert axes[0, 0] in panel.get_shared_x_axes().get_siblings(panel)
    # One legend for the figure, each country once: EUR's DE and FR, USD's US and MX ...
    legend = drawn_labels(fig.legends[0].get_texts())
    assert sorted(legend) == sorted(mdrs["country_code"].astype(str).unique())
    assert fig.get_suptitle() == "Weekly cost by country"


def test_small_multiples_in_one_currency_share_the_money_axis(mdrs):
    axes = plot.cost_over_time(mdrs, by="country_code", row="direction", col="message_type",
                               currency="USD")
    assert axes.shape == (2, 2)
    assert [a.get_title() for a in axes.flat] == [
        "direction: inbound · message type: MMS", "direction: inbound · message type: SMS",
        "direction: outbound · message type: MMS", "direction: outbound · message type: SMS"]
    siblings = axes[0, 0].get_shared_y_axes().get_siblings(axes[0, 0])
    assert set(siblings) == set(axes.flat)
    tallest = max(np.sum([[b.get_height() for b in c.patches] for c in a.containers],
                         axis=0).max() for a in axes.flat)
    assert {a.get_ylim() for a in axes.flat} == {axes[0, 0].get_ylim()}
    assert axes[0, 0].get_ylim()[1] >= tallest
    for panel in axes.flat:
        assert panel.get_ylabel() == "Cost (USD)"


def test_col_wrap_puts_panels_on_lines(mdrs):
    axes = plot.cost_over_time(mdrs, by="direction", col="currency", col_wrap=3)
    assert axes.shape == (5,) and all(a.figure is axes[0].figure for a in axes)
    assert len(axes[0].figure.axes) == 5  # the sixth slot of the 2 x 3 grid is not left
    assert [a.get_title() for a in axes] == [
        f"currency: {c}" for c in ["AUD", "CAD", "EUR", "GBP", "USD"]]
    rows = sorted({round(a.get_position().y0, 3) for a in axes})
    assert len(rows) == 2
    for bad in (0, 2.5):
        with pytest.raises(ValueError, match="col_wrap"):
            plot.cost_over_time(mdrs, col="currency", col_wrap=bad)
    with pytest.raises(ValueError, match="col_wrap"):
        plot.cost_over_time(mdrs, row="currency", col_wrap=2)


def test_small_multiples_of_usage_and_icicles(mdrs):
    bars = plot.usage_breakdown(mdrs, "country_code", "parts", col="direction")
    assert bars.shape == (1, 2)
    assert {a.get_title() for a in bars.flat} == {"direction: inbound", "direction: outbound"}
    assert set(bars[0, 0].get_shared_x_axes().get_siblings(bars[0, 0])) == set(bars.flat)
    areas = plot.usage_breakdown(mdrs, "country_code", "count", kind="area", row="direction",
                                 top=3)
    assert areas.shape == (2, 1)
    icicles = plot.cost_breakdown(mdrs, ["direction", "country_code"], col="currency")
    assert icicles.shape == (1, 5)
    assert [a.get_ylabel() for a in icicles.flat] == [
        f"Cost ({c})" for c in ["AUD", "CAD", "EUR", "GBP", "USD"]]


def test_a_panel_that_cost_nothing_says_so_and_keeps_money_above_zero(mdrs):
    """Inbound messages often cost nothing: one panel per direction must not crash on
    the free one, nor stretch a shared money axis below zero for it."""
    free_inbound = mdrs.assign(cost=mdrs["cost"].where(mdrs["direction"] != "inbound", 0.0))
    bars = plot.usage_breakdown(free_inbound, "country_code", "cost", col="direction",
                                currency="USD")
    times = plot.cost_over_time(free_inbound, by="country_code", col="direction",
                                currency="USD")
    icicles = plot.cost_breakdown(free_inbound, ["country_code"], col="direction",
                                  currency="USD")
    for axes in (bars, times, icicles):
        inbound, outbound = axes.flat
        assert inbound.get_title() == "direction: inbound"
        assert [t.get_text() for t in inbound.texts] == ["nothing here"]
        assert not inbound.axison and outbound.axison
    assert bars[0, 1].get_xlim()[0] == 0 and times[0, 1].get_ylim()[0] == 0
    assert times[0, 1].get_ylabel() == "Cost (USD)"


@pytest.mark.parametrize("draw", [
    lambda df, ax: plot.cost_over_time(df, col="currency", ax=ax),
    lambda df, ax: plot.usage_breakdown(df, "country_code", "parts", row="direction", ax=ax),
    lambda df, ax: plot.cost_breakdown(df, ["country_code"], col="direction", ax=ax),
])
def test_small_multiples_on_given_axes_is_an_error_naming_ax(mdrs, draw):
    _, ax = plt.subplots()
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=r"^ax: small multiples"):
        draw(mdrs, ax)
    assert plt.get_fignums() == before and not ax.has_data()


def test_small_multiples_bad_arguments(mdrs):
    with pytest.raises(ValueError, match=r"col='nope': no such column"):
        plot.cost_over_time(mdrs, col="nope")
    with pytest.raises(ValueError, match=r"row='id'.*at most 24"):
        plot.usage_breakdown(mdrs, "country_code", "parts", row="id")
    tree = SessionTree.from_response(make_session(n_events=5, seed=2))
    with pytest.raises(ValueError, match="col"):
        plot.cost_breakdown(tree, col="currency")


# -- colours, labels and legends -----------------------------------------------------------


def bar_colours(ax) -> dict[str, str]:
    """Colour of each drawn series (stacked bars) or bar (horizontal bars), by label."""
    if ax.containers and ax.containers[0].orientation == "horizontal":
        labels = drawn_labels(ax.get_yticklabels())
        return {label: to_hex(bar.get_facecolor())
                for label, bar in zip(labels, ax.containers[0].patches, strict=True)}
    return {c.get_label(): to_hex(c.patches[0].get_facecolor()) for c in ax.containers}


def test_a_value_keeps_its_colour_in_every_plot_and_panel(mdrs):
    ca = plot.category_color("CA")
    assert ca == plot.category_color("CA") and ca != plot.OTHER_COLOR
    over_time = plot.cost_over_time(mdrs, by="country_code", rates={
        "CAD": "0.73", "GBP": "1.27", "EUR": "1.08", "AUD": "0.66"}, to="USD")
    bars = plot.usage_breakdown(mdrs, "country_code", "parts")
    # The same rows in another order, and with fewer other countries beside CA.
    shuffled = mdrs.sample(frac=1, random_state=3)
    few = plot.usage_breakdown(shuffled[shuffled["country_code"].isin(["CA", "GB"])],
                               "country_code", "parts")
    panels = plot.cost_over_time(mdrs, by="country_code", col="currency")
    seen = [bar_colours(over_time)["CA"], bar_colours(bars)["CA"], bar_colours(few)["CA"]]
    seen += [bar_colours(p)["CA"] for p in panels.flat if "CA" in bar_colours(p)]
    assert seen == [ca] * 4
    # Every country of a plot has a colour of its own, and each is the same everywhere.
    colours = bar_colours(over_time)
    assert len(set(colours.values())) == len(colours)
    for panel in panels.flat:
        for country, colour in bar_colours(panel).items():
            assert colour == colours[country]


def test_values_that_hash_alike_still_get_distinct_colours():
    names = [f"group-{i}" for i in range(200)]
    first = plot.category_color(names[0])
    twin = next(n for n in names[1:] if plot.category_color(n) == first)
    df = pd.DataFrame({"sim_group_name": [twin, names[0]], "data_mb": [3.0, 5.0]})
    colours = bar_colours(plot.usage_breakdown(df, "sim_group_name", "data_mb"))
    assert colours[names[0]] != colours[twin]
    assert colours[names[0]] == first  # the larger keeps its own colour
    # Fixed colours give way too: "inbound" is blue, unless messaging is drawn beside it.
    assert plot.category_color("inbound") == plot.product_color("messaging")
    both = pd.DataFrame({"product": ["messaging", "voice"] * 2,
                         "direction": ["inbound"] * 2 + ["outbound"] * 2,
                         "cost": ["4.00", "3.00", "2.00", "1.00"], "currency": "USD"})
    icicle = plot.cost_breakdown(both, ["product", "direction"])
    assert len({to_hex(p.get_facecolor()) for p in icicle.patches}) == 4


def sims(n: int = 12) -> pd.DataFrame:
    """Wireless sessions of ``n`` SIMs with long ids; the last SIM cost nothing."""
    ids = [f"6a09cdc3-8948-47f0-aa62-74ac943d6c{i:02d}" for i in range(n)]
    rows = []
    for day in range(5):
        for i, sim in enumerate(ids):
            cost = "0" if i == n - 1 else f"{(n - i) * 0.125:.3f}"
            rows.append({"created_at": pd.Timestamp("2024-05-01", tz="UTC")
                         + pd.Timedelta(days=day), "sim_card_id": sim,
                         "data_mb": float(n - i + day), "cost": cost, "currency": "USD"})
    return pd.DataFrame(rows)


def test_titles_and_labels_are_written_for_people():
    df = sims()
    ax = plot.usage_breakdown(df, "sim_card_id", "data_mb", top=3)
    assert ax.get_title() == "Data (MB) by SIM"
    assert ax.get_xlabel() == "Data (MB)"
    area = plot.usage_breakdown(df, "sim_card_id", "cost", kind="area", top=3)
    assert area.get_ylabel() == "Cost (USD)" and area.get_title() == "Cost by SIM, daily"
    assert plot.human("downlink_data_mb") == "downlink data (MB)"
    assert plot.human("duration_seconds") == "duration (s)"
    assert plot.human("terminating_country") == "destination country"


def test_a_measure_with_a_unit_column_shows_its_unit():
    """tx.wdrs gives data volumes as an amount and a unit column (``downlink_data``,
    ``downlink_data_unit``), wireless detail records share one ``data_unit``: the unit
    reaches the title and the axis, and two units in one column are refused, not added."""
    df = sims().rename(columns={"data_mb": "downlink_data"}).assign(downlink_data_unit="MB")
    ax = plot.usage_breakdown(df, "sim_card_id", "downlink_data", top=3)
    assert ax.get_title() == "Downlink data (MB) by SIM"
    assert ax.get_xlabel() == "Downlink data (MB)"
    detail = sims().rename(columns={"data_mb": "uplink_data"}).assign(data_unit="MB")
    area = plot.usage_breakdown(detail, "sim_card_id", "uplink_data", kind="area", top=3)
    assert area.get_ylabel() == "Uplink data (MB)"
    mixed = df.assign(downlink_data_unit=["MB", "KB"] * (len(df) // 2))
    with pytest.raises(ValueError, match=r"metric='downlink_data' is in more than one unit "
                                         r"\(KB, MB in 'downlink_data_unit'\)"):
        plot.usage_breakdown(mixed, "sim_card_id", "downlink_data")
    with pytest.raises(ValueError, match="more than one unit"):
        usage_breakdown(mixed, "sim_card_id", "downlink_data")
    assert plot.human("cld") == "to number" and plot.human("cli") == "from number"


def test_legends_show_the_top_entries_with_short_ids_and_no_zero_cost():
    df = sims()
    ax = plot.cost_over_time(df, by="sim_card_id", top=8)
    legend = drawn_labels(ax.get_legend().get_texts())
    assert legend[0] == "Other" and len(legend) == 9
    assert all(len(label) <= 12 for label in legend)
    assert all(label == "Other" or label.startswith("6a09…") for label in legend)
    assert len(set(legend)) == 9  # shortened, still told apart
    # The SIM that cost nothing is in no series: the "Other" stack holds SIMs 8 to 10.
    other = next(c for c in ax.containers if c.get_label() == "Other")
    assert sum(b.get_height() for b in other.patches) == pytest.approx(
        5 * (4 + 3 + 2) * 0.125)
    zero = plot.cost_over_time(df[df["sim_card_id"].str.endswith(("00", "11"))],
                               by="sim_card_id")
    assert len(zero.containers) == 1 and zero.get_legend() is None


def test_short_ids_stay_distinct():
    short = plot._shorten(["6a09cdc3-8948-aaaa", "6a09cdc3-8948-bbbb", "US"])
    assert short == {"6a09cdc3-8948-aaaa": "6a09…aaaa", "6a09cdc3-8948-bbbb": "6a09…bbbb",
                     "US": "US"}
    assert plot._shorten(["6a09cdc3-8948-aaaa", "7b09cdc3-8948-aaaa"], width=8) == {
        "6a09cdc3-8948-aaaa": "6a09cdc3…", "7b09cdc3-8948-aaaa": "7b09cdc3…"}


# -- keyword arguments and palettes --------------------------------------------------------


def test_keyword_arguments_reach_the_artists(mdrs):
    ax = plot.cost_over_time(mdrs, by="direction", currency="USD", hatch="//", alpha=0.5)
    assert all(b.get_hatch() == "//" and b.get_alpha() == 0.5
               for c in ax.containers for b in c.patches)
    bars = plot.usage_breakdown(mdrs, "country_code", "parts", edgecolor="black")
    assert all(to_hex(b.get_edgecolor()) == "#000000" for b in bars.containers[0].patches)
    area = plot.usage_breakdown(mdrs, "country_code", "count", kind="area", alpha=0.3)
    assert {c.get_alpha() for c in area.collections if isinstance(c, PolyCollection)} == {0.3}
    tree = SessionTree.from_response(make_session(n_events=6, seed=2))
    dots = plot.session_tree(tree, marker="s", s=80)
    assert all(c.get_sizes()[0] == 80 for c in dots.collections if len(c.get_offsets()) == 1
               and to_hex(c.get_facecolor()[0]) != plot.OTHER_COLOR)
    icicle = plot.cost_breakdown(tree, linewidth=2.5)
    assert {p.get_linewidth() for p in icicle.patches} == {2.5}


def test_palette_overrides_the_colours(mdrs):
    ax = plot.usage_breakdown(mdrs, "country_code", "parts", palette={"US": "black"})
    colours = bar_colours(ax)
    assert colours["US"] == "#000000" and colours["CA"] == plot.category_color("CA")
    two = ["#111111", "#222222"]
    ax = plot.cost_over_time(mdrs, by="direction", currency="USD", palette=two)
    assert sorted(bar_colours(ax).values()) == two
    ax = plot.usage_breakdown(mdrs, "direction", "parts", palette="Set2")
    set2 = [to_hex(c) for c in matplotlib.colormaps["Set2"].colors]
    assert set(bar_colours(ax).values()) <= set(set2)
    tree = SessionTree.from_response(make_session(n_events=6, seed=2))
    ax = plot.session_tree(tree, palette={"callcontrol-cdrs": "#000000"})
    assert to_hex(ax.collections[0].get_facecolor()[0]) == "#000000"
    with pytest.raises(ValueError, match="palette"):
        plot.cost_over_time(mdrs, by="direction", palette=[])


# -- a session tree in a notebook ----------------------------------------------------------


def test_session_tree_shows_itself_in_a_notebook():
    tree = SessionTree.from_response(make_session(n_events=12, seed=3))
    page = tree._repr_html_()
    assert f"total <b>{tree.total_cost:.6f} USD</b>" in page and "12 events" in page
    assert "<b>Session 00000001-0000-4000-8000-000000000001</b>" in page
    rows = re.findall(r"<tr><td style=\"[^\"]*padding:1px 8px 1px ([\d.]+)em\">(?:└ )?"
                      r"([^<]+)</td><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td>"
                      r"<td[^>]*>([^<]+)</td></tr>", page)
    assert len(rows) == 12
    nodes = tree.nodes
    for (indent, name, product, own, total), depth, node_name, node_product, cost, cum in zip(
            rows, nodes["depth"], nodes["event_name"], nodes["product"], nodes["event_cost"],
            nodes["cumulative_cost"], strict=True):
        assert float(indent) == 0.5 + 1.5 * depth  # indented by depth
        assert (name, product, own, total) == (node_name, node_product, f"{cost:.6f}",
                                               f"{cum:.6f}")
    odd = SessionTree.from_response({
        "session_id": "<s>", "meta": {"event_count": 1},
        "cost": {"total": "0.5", "currency": "USD"},
        "root": {"id": "<s>", "product": "voice", "event_name": "<script>", "cost": {
            "event_cost": "0.5", "cumulative_cost": "0.5", "currency": "USD"}}})
    assert "<script>" not in odd._repr_html_() and "&lt;script&gt;" in odd._repr_html_()
    big = SessionTree.from_response(make_session(n_events=200, seed=1))
    page = big._repr_html_()
    assert page.count("<tr>") == 1 + 60 + 1 and "140 more events" in page


# -- the images of the docs ----------------------------------------------------------------


#: The sandbox account the images are drawn from: fixed, so a re-render draws the same.
DOCS_SANDBOX = {"seed": 1, "until": "2026-10-31", "report_delay": 0.1}
DOCS_RATES = {"CAD": "0.73", "GBP": "1.27", "EUR": "1.08", "AUD": "0.66"}


def docs_data(base_url: str, key: str, sessions: int = 40) -> dict:
    """October 2026 of a sandbox account: the frames and sessions the docs' images show."""
    import telnyx_analytics as tx

    client = tx.Client(key, base_url, cache=False, progress=False)
    start, end = "2026-10-01", "2026-11-01"
    mdrs = tx.mdrs(start, end, client=client)
    cdrs = tx.cdrs(start, end, client=client)
    wdrs = tx.wdrs(start, end, client=client)
    by_country = tx.product_usage("messaging", ["country_code"], ["count", "parts", "cost"],
                                  start, end, client=client)
    legs = tx.call_events("2026-10-30", "2026-10-30", name="ai_assistant_start", limit=sessions,
                          client=client)["call_leg_id"].dropna().astype(str)
    trees = [tx.session_analysis("callcontrol-cdrs", leg, max_depth=5, client=client)
             for leg in dict.fromkeys(legs)]
    return {"mdrs": mdrs, "cdrs": cdrs, "wdrs": wdrs, "by_country": by_country,
            "session": max(trees, key=len)}


def render_docs_images(directory: Path, data: dict) -> list[Path]:
    """Draw the figures shown in docs/analysis.md into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    mdrs, cdrs = data["mdrs"], data["cdrs"]
    wdrs = data["wdrs"].assign(data_mb=data["wdrs"]["uplink_data"]
                               + data["wdrs"]["downlink_data"])
    spend = spend_summary({"messaging": mdrs, "voice": cdrs, "wireless": wdrs}, freq="D")
    calls = cdrs.assign(product="voice")
    texts = mdrs.assign(product="messaging")
    both = pd.concat([texts[["created_at", "product", "direction", "cost", "currency"]],
                      calls.rename(columns={"start_timestamp_utc": "created_at"})[
                          ["created_at", "product", "direction", "cost", "currency"]]])
    big = SessionTree.from_response(make_session(n_events=200, seed=1))
    figures = {
        "cost_over_time.png": lambda: plot.cost_over_time(spend, by="product", currency="USD"),
        "cost_over_time_by_list.png": lambda: plot.cost_over_time(
            mdrs, by=["direction", "message_type"], freq="W", currency="USD"),
        "cost_over_time_currencies.png": lambda: plot.cost_over_time(
            cdrs, by="direction", freq="W", col="currency", col_wrap=3),
        "cost_over_time_rates.png": lambda: plot.cost_over_time(
            cdrs, by="terminating_country", freq="W", rates=DOCS_RATES, to="USD", top=6),
        "usage_breakdown_bar.png": lambda: plot.usage_breakdown(
            data["by_country"], "country_code", "cost", col="currency", col_wrap=3, top=4),
        "usage_breakdown_parts.png": lambda: plot.usage_breakdown(
            data["by_country"], "country_code", "parts", top=8),
        "usage_breakdown_area.png": lambda: plot.usage_breakdown(
            wdrs, "sim_card_id", "data_mb", kind="area", top=6),
        "session_tree.png": lambda: plot.session_tree(big),
        "session_tree_small.png": lambda: plot.session_tree(data["session"]),
        "cost_breakdown_session.png": lambda: plot.cost_breakdown(data["session"]),
        "cost_breakdown_month.png": lambda: plot.cost_breakdown(
            both, ["product", "direction"], col="currency", col_wrap=3,
            title="October spend by product and direction"),
    }
    written = []
    for name, draw in figures.items():
        drawn = draw()
        figure = (drawn.flat[0] if isinstance(drawn, np.ndarray) else drawn).figure
        path = directory / name
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written


@pytest.mark.slow  # a docs test: `pytest -m "not slow"` leaves it out
def test_docs_images_render(tmp_path, sandbox_factory, sandbox_key):
    sandbox = sandbox_factory(scale=0.05, days=31, **DOCS_SANDBOX)
    data = docs_data(sandbox.base_url, sandbox_key, sessions=5)
    paths = render_docs_images(tmp_path, data)
    # Every image the docs show is drawn here, and is in the repository.
    docs = (DOCS_IMAGES.parent / "analysis.md").read_text()
    shown = set(re.findall(r"images/([\w.-]+\.png)", docs))
    assert shown and shown <= {p.name for p in paths}
    assert all((DOCS_IMAGES / name).exists() for name in shown)
    for path in paths:
        pixels = mimage.imread(path)[..., :3]
        height, width = pixels.shape[:2]
        assert width >= 640 and height > 150, path.name
        assert (pixels < 0.9).any(axis=-1).mean() > 0.03, path.name


@pytest.mark.parametrize(("top", "error"), [("5", TypeError), (2.5, TypeError), (True, TypeError),
                                            (None, TypeError), (0, ValueError)])
def test_a_bad_top_is_an_error_naming_top(mdrs, top, error):
    """``top`` that is not a positive int names itself, in every function that takes it
    (not a bare "'<' not supported between str and int")."""
    for draw in (lambda: plot.cost_over_time(mdrs, by="country_code", top=top),
                 lambda: plot.usage_breakdown(mdrs, "country_code", "parts", top=top),
                 lambda: plot.cost_breakdown(mdrs, ["country_code"], top=top),
                 lambda: usage_breakdown(mdrs, "country_code", "parts", top=top)):
        with pytest.raises(error, match=r"top=.*: must be a positive integer"):
            draw()


def test_totals_per_period_are_drawn_per_their_own_period(mdrs):
    """cost_by(..., freq="W") output, drawn as the README shows it: each week is one bar
    a week wide under a 'Weekly' title, not a one-day bar on its Monday ('Daily')."""
    weekly = cost_by(mdrs, "direction", freq="W")
    ax = plot.cost_over_time(weekly, by="direction", currency="USD")
    assert ax.get_title().startswith("Weekly cost by direction")
    widths = {round(b.get_width(), 2) for c in ax.containers for b in c.patches}
    assert widths == {round(7 * 0.85, 2)}
    drawn = sum(b.get_height() for c in ax.containers for b in c.patches)
    assert drawn == pytest.approx(float(decimal_sums(mdrs[mdrs["currency"] == "USD"],
                                                     ["currency"])[("USD",)]))
    monthly = spend_summary({"messaging": mdrs}, freq="MS")
    assert plot.cost_over_time(monthly, currency="USD").get_title().startswith("Monthly cost")
    area = plot.usage_breakdown(weekly, "direction", "cost", kind="area", currency="USD")
    assert area.get_title().startswith("Cost by direction, weekly")
    # Records, and an explicit freq, are drawn as before.
    assert plot.cost_over_time(mdrs, currency="USD").get_title().startswith("Daily cost")
    assert plot.cost_over_time(weekly, freq="MS", currency="USD").get_title().startswith(
        "Monthly cost")


if __name__ == "__main__":
    from telnyx_analytics.sandbox import serve
    from telnyx_analytics.sandbox.pytest_plugin import SANDBOX_KEY

    with serve(days=31, **DOCS_SANDBOX) as sandbox:
        docs = docs_data(sandbox.base_url, SANDBOX_KEY)
    for written in render_docs_images(DOCS_IMAGES, docs):
        print(written)
