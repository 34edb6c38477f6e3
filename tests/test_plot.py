"""Tests of telnyx_analytics.plot, rendered with Agg: the artists, the numbers, the pixels.

Run as a script to (re)draw the images of docs/analysis.md::

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
    assert ax.get_ylabel() == "cost (USD)"
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
    assert gbp.get_ylabel() == "cost (GBP)" and "other currencies" not in gbp.get_title()
    gbp.figure.canvas.draw()
    assert all(t.startswith("£") for t in drawn_labels(gbp.get_yticklabels()) if t)


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
    assert ax.get_xlabel() == "parts" and ax.get_title() == "Parts by country_code"
    assert_not_blank(ax)


def test_usage_breakdown_money_bars_stay_in_their_currency(mdrs):
    ax = plot.usage_breakdown(mdrs, "country_code", "cost", top=5)
    ticks = drawn_labels(ax.get_yticklabels())
    assert "GB · GBP" in ticks and "US · USD" in ticks
    assert sorted(drawn_labels(ax.get_legend().get_texts())) == ["AUD", "CAD", "EUR", "GBP", "USD"]
    assert "own currency" in ax.get_xlabel()
    gb = ticks.index("GB · GBP")
    exact = decimal_sums(mdrs[mdrs["country_code"] == "GB"], ["currency"])[("GBP",)]
    assert ax.containers[0].patches[gb].get_width() == pytest.approx(float(exact))
    assert ax.texts[gb].get_text().startswith("£")

    usd = plot.usage_breakdown(mdrs, "country_code", "cost", currency="USD")
    assert drawn_labels(usd.get_yticklabels()) == ["US", "MX"]
    assert usd.get_xlabel() == "cost (USD)"


def test_usage_breakdown_area_over_time(mdrs):
    ax = plot.usage_breakdown(mdrs, "country_code", "count", kind="area", top=3)
    areas = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(areas) == 4
    table = usage_breakdown(mdrs, "country_code", "count", top=3)
    # The legend lists the stack from its top: "Other", then the kept values, smallest first.
    assert drawn_labels(ax.get_legend().get_texts()) == table["country_code"].tolist()[::-1]
    assert ax.get_ylabel() == "count" and "daily" in ax.get_title()
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
    root_own = Decimal(payload["root"]["cost"]["event_cost"])
    assert texts[0].startswith(f"call  \\${root_own:.4f}")
    assert f"Σ \\${tree.total_cost:.4f}" in texts[0]
    legend = drawn_labels(ax.get_legend().get_texts())
    assert set(legend) == set(tree.nodes["product"])
    # Each dot has its product's colour.
    dots = [c for c in ax.collections if len(c.get_offsets()) == 1]
    rows = _visible_rows(tree, max_rows=100, max_depth=None)  # the drawing order
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
    assert drawn_labels(ax.get_xticklabels()) == ["product", "country_code"]
    assert ax.get_ylabel() == "cost (USD)"
    assert "voice" in " ".join(drawn_labels(ax.texts))
    assert_not_blank(ax)
    with pytest.raises(ValueError, match="levels"):
        plot.cost_breakdown(spend)


def test_cost_breakdown_of_a_session():
    tree = SessionTree.from_response(make_session(n_events=40, seed=6))
    ax = plot.cost_breakdown(tree)
    root = [p for p in ax.patches if p.get_x() == 0]
    assert len(root) == 1 and root[0].get_height() == pytest.approx(float(tree.total_cost))
    assert len(ax.patches) == 40
    # Children sit inside their parent's span.
    depth1 = [p for p in ax.patches if p.get_x() == 1]
    assert max(p.get_y() + p.get_height() for p in depth1) <= float(tree.total_cost) + 1e-12
    assert_not_blank(ax)


# -- the images of the docs ----------------------------------------------------------------


def render_docs_images(directory: Path, scale: float = 1.0) -> list[Path]:
    """Draw the figures shown in docs/analysis.md into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    days = 60
    mdrs = make_mdrs(days=days, per_day=int(400 * scale), seed=21)
    cdrs = make_cdrs(days=days, per_day=int(120 * scale), seed=22)
    wdrs = make_wdrs(days=days, per_day=max(1, int(3 * scale)), seed=23)
    frames = {"messaging": mdrs, "voice": cdrs, "wireless": wdrs,
              "number lookups": make_lookups(days=days)}
    spend = spend_summary(frames, freq="D")
    calls = cdrs.rename(columns={"terminating_country": "country_code",
                                 "start_timestamp_utc": "created_at"})
    month = pd.concat([mdrs.assign(product="messaging"), calls.assign(product="voice")])
    month = month[month["created_at"] < pd.Timestamp("2024-05-01", tz="UTC")]
    session = SessionTree.from_response(make_session(n_events=200, seed=1))
    small = SessionTree.from_response(make_session(n_events=14, seed=3))
    figures = {
        "cost_over_time.png": lambda: plot.cost_over_time(spend, by="product", currency="USD"),
        "cost_over_time_rates.png": lambda: plot.cost_over_time(
            mdrs, by="country_code", freq="W", rates={"CAD": "0.73", "GBP": "1.27",
                                                      "EUR": "1.08", "AUD": "0.66"}, to="USD"),
        "usage_breakdown_bar.png": lambda: plot.usage_breakdown(mdrs, "country_code", "cost"),
        "usage_breakdown_area.png": lambda: plot.usage_breakdown(
            mdrs, "country_code", "count", kind="area", top=4),
        "session_tree.png": lambda: plot.session_tree(session),
        "session_tree_small.png": lambda: plot.session_tree(small),
        "cost_breakdown_session.png": lambda: plot.cost_breakdown(small),
        "cost_breakdown_month.png": lambda: plot.cost_breakdown(
            month, ["product", "country_code"], currency="USD", title="April spend"),
    }
    written = []
    for name, draw in figures.items():
        ax = draw()
        path = directory / name
        ax.figure.savefig(path, dpi=100)
        plt.close(ax.figure)
        written.append(path)
    return written


def test_docs_images_render(tmp_path):
    paths = render_docs_images(tmp_path, scale=0.2)
    # Every image the docs show is drawn here, and is in the repository.
    docs = (DOCS_IMAGES.parent / "analysis.md").read_text()
    shown = set(re.findall(r"images/([\w.-]+\.png)", docs))
    assert shown and shown <= {p.name for p in paths}
    assert all((DOCS_IMAGES / name).exists() for name in shown)
    for path in paths:
        pixels = mimage.imread(path)[..., :3]
        # matplotlib's default size at 100 dpi; a short session tree is only as tall as
        # its rows.
        height, width = pixels.shape[:2]
        assert width == 640
        assert height == 480 or (path.name.startswith("session_tree") and 150 < height < 480)
        assert (pixels < 0.9).any(axis=-1).mean() > 0.03, path.name


if __name__ == "__main__":
    for written in render_docs_images(DOCS_IMAGES):
        print(written)
