"""The money policy (``_money``): float64 exact to the micro-unit, everyday pandas on every
money column, plain Parquet round trips, one rule for extra decimals, and conversion."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import telnyx_analytics as tx
from telnyx_analytics import _frames, _money
from telnyx_analytics._money import BOUND, UNIT, to_micros
from telnyx_analytics.sessions import SessionTree

# -- the bound --------------------------------------------------------------------------------


def _round_trip_fails(micros: np.ndarray) -> np.ndarray:
    """Micro-unit amounts whose float64 does not give them back: float64 -> round(x * 1e6)."""
    x = micros / 1e6  # the float nearest to each amount: what parsing its text gives
    back = np.rint(x * 1e6).astype(np.int64)
    return micros[back != micros]


def test_every_amount_below_the_bound_round_trips_exactly() -> None:
    rng = np.random.default_rng(2024)
    top = BOUND * UNIT
    random = rng.integers(-top + 1, top, 3_000_000)
    small = rng.integers(-10**9, 10**9, 1_000_000)  # everyday amounts, under 1,000
    # Every micro-unit next to the bound and around each power of two below it.
    edges = np.concatenate([np.arange(top - 1_000_000, top)]
                           + [np.arange(2**e * UNIT - 20_000, 2**e * UNIT + 20_000)
                              for e in range(32)])
    for sample in (random, small, edges, -edges):
        assert len(_round_trip_fails(sample)) == 0
    # And the parsed text agrees with the float the policy stores.
    text = [f"{Decimal(int(m)).scaleb(-6):f}" for m in random[:2000]]
    assert to_micros(pd.Series(text))[0].tolist() == random[:2000].tolist()
    assert _money.from_micros(random[:2000]).tolist() == [float(t) for t in text]


def test_the_bound_is_tight() -> None:
    """Just above 2**32 units some amounts no longer come back: the bound is not loose."""
    rng = np.random.default_rng(1)
    above = rng.integers(BOUND * UNIT, int(4.5e15), 200_000)
    assert len(_round_trip_fails(above)) > 0
    with pytest.raises(ValueError, match="2\\*\\*32"):
        to_micros(pd.Series([float(BOUND)]))
    assert to_micros(pd.Series(["4294967295.999999"]))[0][0] == BOUND * UNIT - 1


# -- everyday pandas on every money column of every frame -------------------------------------


def _records(schema: _frames.Schema, n: int, rng: np.random.Generator) -> list[dict]:
    records = []
    for i in range(n):
        record: dict = {"id": f"r{i}", "currency": ["USD", "EUR"][i % 2]}
        for c in schema.columns:
            amount = f"{Decimal(int(rng.integers(0, 10**8))).scaleb(-6):f}" if i % 7 else None
            if c.kind == "money":
                node = record
                for part in c.path[:-1]:
                    node = node.setdefault(part, {"currency": record["currency"]})
                node[c.path[-1]] = amount
            elif c.kind in ("time", "day"):
                record[c.name] = f"2024-05-{1 + i % 28:02d}T10:00:00Z"
            elif c.name not in record:
                node = record
                for part in c.path[:-1]:
                    node = node.setdefault(part, {})
                node.setdefault(c.path[-1], {"category": "ab"[i % 2], "string": f"s{i}",
                                             "int": i, "float": i / 4,
                                             "bool": i % 2 == 0}[c.kind])
        records.append(record)
    return records


def _money_frames() -> list[tuple[str, pd.DataFrame, str]]:
    """(label, frame, money column) for every money column the package's frames hold."""
    rng = np.random.default_rng(5)
    out = []
    for name, schema in _frames.SCHEMAS.items():
        money = [c.name for c in schema.columns if c.kind == "money"]
        if not money:
            continue
        df = _frames.records_to_frame(_records(schema, 40, rng), name)
        out += [(f"{name}.{m}", df, m) for m in money]
    mdrs = _frames.records_to_frame(_records(_frames.SCHEMAS["mdr"], 60, rng), "mdr")
    tree = SessionTree.from_response({
        "session_id": "s", "cost": {"total": "0.030000", "currency": "USD"},
        "meta": {"event_count": 2},
        "root": {"id": "s", "product": "voice", "event_name": "call", "children": [
            {"id": "k", "product": "rec", "event_name": "rec", "children": [],
             "cost": {"event_cost": "0.01", "cumulative_cost": "0.01", "currency": "USD"}}],
            "cost": {"event_cost": "0.02", "cumulative_cost": "0.03", "currency": "USD"}}})
    outputs = {
        "cost_by": tx.cost_by(mdrs, "direction", freq="D"),
        "convert": tx.convert(mdrs, {"EUR": "1.08"}, to="USD"),
        "usage_breakdown": tx.usage_breakdown(mdrs, "id", "cost"),
        "spend_summary": tx.spend_summary({"messaging": mdrs}),
        "reconcile": tx.reconcile(mdrs, mdrs),
        "session_costs": tx.session_costs(tree),
    }
    for label, frame in outputs.items():
        for column in frame.columns:
            if _money.is_money(frame, column) or column in ("detail_cost", "difference"):
                out.append((f"{label}.{column}", frame, column))
    out += [("SessionTree.nodes.event_cost", tree.nodes, "event_cost"),
            ("SessionTree.nodes.cumulative_cost", tree.nodes, "cumulative_cost")]
    return out


MONEY_FRAMES = _money_frames()


@pytest.mark.parametrize(("df", "column"), [(d, c) for _, d, c in MONEY_FRAMES],
                         ids=[label for label, _, _ in MONEY_FRAMES])
def test_everyday_pandas_works_on_every_money_column(df: pd.DataFrame, column: str) -> None:
    values = df[column]
    assert values.dtype == np.float64
    present = values.dropna()
    k = min(3, len(present))
    assert df.nlargest(k, column)[column].tolist() == sorted(present, reverse=True)[:k]
    assert df.nsmallest(k, column)[column].tolist() == sorted(present)[:k]
    assert df.sort_values(column)[column].dropna().tolist() == sorted(present)
    described = df.describe()
    assert column in described.columns and described.loc["count", column] == len(present)
    assert values.mean() == pytest.approx(float(np.mean(present)) if len(present) else np.nan,
                                          nan_ok=True)
    if "currency" in df.columns:
        summed = df.groupby("currency", observed=True)[column].sum()
        assert summed.sum() == pytest.approx(present.sum())
    fig, ax = plt.subplots()
    try:
        assert values.plot.hist(ax=ax) is ax and len(ax.patches) > 0
        assert values.plot(ax=ax) is ax and len(ax.lines) == 1
    finally:
        plt.close(fig)


# -- Parquet ----------------------------------------------------------------------------------


@pytest.mark.skipif(int(pd.__version__.split(".")[0]) < 3,
                    reason="pandas 2 needs future.infer_string for the strings (docs/frames.md)")
@pytest.mark.parametrize("name", sorted(_frames.SCHEMAS))
def test_a_plain_read_parquet_gives_the_frame_back(name: str, tmp_path) -> None:
    schema = _frames.SCHEMAS[name]
    df = _frames.records_to_frame(_records(schema, 30, np.random.default_rng(3)), name)
    path = tmp_path / f"{name}.parquet"
    df.to_parquet(path, index=False)
    back = pd.read_parquet(path)  # no types_mapper, no helper
    pd.testing.assert_frame_equal(back, df)
    for c in schema.columns:
        if c.kind == "money":
            assert back[c.name].dtype == np.float64
            # What a user totals from the file is what the package totals from the fetch.
            assert to_micros(back[c.name])[0].tolist() == to_micros(df[c.name])[0].tolist()


# -- one rule for more than six decimals ------------------------------------------------------


def test_more_than_six_decimals_is_refused_everywhere() -> None:
    amount = "0.1234565"
    with pytest.raises(tx.UnexpectedResponseError, match="never rounded"):
        _frames.records_to_frame([{"id": "m", "cost": amount}], "mdr")
    with pytest.raises(tx.UnexpectedResponseError, match="never rounded"):
        _frames.csv_to_frame(b"id,cost,currency\nm," + amount.encode() + b",USD\n", "mdr")
    with pytest.raises(ValueError, match="never rounded"):
        tx.cost_by(pd.DataFrame({"cost": [amount], "currency": ["USD"]}))
    with pytest.raises(ValueError, match="never rounded"):
        tx.cost_by(pd.DataFrame({"cost": [float(amount)], "currency": ["USD"]}))
    with pytest.raises(tx.UnexpectedResponseError, match="never rounded"):
        SessionTree.from_response({
            "session_id": "s", "cost": {"total": amount, "currency": "USD"},
            "root": {"id": "s", "product": "p", "event_name": "e", "cost": {
                "event_cost": amount, "cumulative_cost": amount, "currency": "USD"}}})
    # Rounding is the caller's decision, in one visible step:
    rounded = pd.DataFrame({"cost": [float(amount)], "currency": ["USD"]}).round({"cost": 6})
    assert tx.cost_by(rounded)["cost"].item() == 0.123456  # half to even, as round(6) does


def test_float_arithmetic_noise_is_refused_with_a_hint() -> None:
    noisy = pd.DataFrame({"cost": [0.1 + 0.2], "currency": ["USD"]})  # 0.30000000000000004
    with pytest.raises(ValueError, match=r"round\(6\)"):
        tx.cost_by(noisy)


# -- conversion --------------------------------------------------------------------------------


def _calls() -> pd.DataFrame:
    return pd.DataFrame({
        "call_leg_id": ["a", "b", "c", "d", "e"],
        "start_timestamp_utc": pd.to_datetime(["2024-05-01 10:00", "2024-05-01 23:59",
                                               "2024-05-02 00:00", "2024-05-02 12:00",
                                               "2024-05-02 13:00"], utc=True),
        "rate": [0.01, 0.02, 0.015, 0.01, np.nan],
        "cost": [0.25, 0.2, 0.3, 0.000005, np.nan],
        "currency": ["USD", "GBP", "EUR", "EUR", "GBP"],
    })


def _expected(amount: str, rate: str) -> float:
    exact = (Decimal(amount) * Decimal(rate)).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)
    return float(exact)


def test_convert_adds_exact_columns_with_a_mapping() -> None:
    calls = _calls()
    out = tx.convert(calls, {"GBP": "1.27", "EUR": Decimal("1.0834567")}, to="USD")
    assert list(out.columns) == [*calls.columns, "rate_usd", "cost_usd"]
    pd.testing.assert_frame_equal(out[calls.columns], calls)  # the originals are untouched
    assert out["cost_usd"].tolist()[:4] == [0.25, _expected("0.2", "1.27"),
                                            _expected("0.3", "1.0834567"),
                                            _expected("0.000005", "1.0834567")]
    assert out["cost_usd"].tolist()[3] == 0.000005  # 5.4172835 micro-units: half-even to 5
    assert np.isnan(out["cost_usd"].iloc[4])
    # Ranking across currencies: one line.
    top = tx.convert(calls, {"GBP": "1.27", "EUR": "1.08"}, to="USD").nlargest(2, "cost_usd")
    assert top["call_leg_id"].tolist() == ["c", "b"]


def test_convert_with_daily_rates_takes_each_rows_day() -> None:
    rates = pd.DataFrame({"date": ["2024-05-01", "2024-05-01", "2024-05-02", "2024-05-02"],
                          "currency": ["GBP", "EUR", "GBP", "EUR"],
                          "rate": ["1.25", "1.05", "1.30", "1.10"]})
    out = tx.convert(_calls(), rates, to="USD", columns=["cost"])
    assert out["cost_usd"].tolist()[:4] == [0.25, 0.25, _expected("0.3", "1.10"), 0.000006]
    # The same rates give the same exact totals through cost_by: one conversion code.
    totals = tx.cost_by(_calls(), freq="D", rates=rates, to="USD")
    assert totals["cost"].tolist() == [0.5, _expected("0.3", "1.10") + 0.000006]


def test_a_missing_rate_names_the_currency_and_the_day() -> None:
    rates = pd.DataFrame({"date": ["2024-05-01", "2024-05-01", "2024-05-02"],
                          "currency": ["GBP", "EUR", "GBP"], "rate": [1.25, 1.05, 1.3]})
    with pytest.raises(ValueError, match="no rate for EUR on 2024-05-02"):
        tx.convert(_calls(), rates, to="USD")
    with pytest.raises(ValueError, match="no rate for EUR on 2024-05-02"):
        tx.cost_by(_calls(), rates=rates, to="USD")
    with pytest.raises(ValueError, match="no rate for EUR"):
        tx.convert(_calls(), {"GBP": "1.27"}, to="USD")
    with pytest.raises(ValueError, match="date, currency and rate"):
        tx.convert(_calls(), pd.DataFrame({"currency": ["GBP"], "rate": [1]}), to="USD")
    with pytest.raises(ValueError, match="not a number"):
        tx.convert(_calls(), {"GBP": "one"}, to="USD")
    with pytest.raises(ValueError, match="ISO 8601"):  # no guessing at 11/01 or 01/11
        tx.convert(_calls(), pd.DataFrame({"date": ["11/01/2026"], "currency": ["GBP"],
                                           "rate": [1]}), to="USD")


def test_wireless_rates_use_their_own_currency_column() -> None:
    wdrs = pd.DataFrame({"rate": [0.01], "rate_currency": ["GBP"], "cost": [0.5],
                         "currency": ["USD"]})
    out = tx.convert(wdrs, {"GBP": "2"}, to="USD")
    assert out[["rate_usd", "cost_usd"]].iloc[0].tolist() == [0.02, 0.5]


def test_plots_convert_with_the_same_daily_rates() -> None:
    rates = pd.DataFrame({"date": ["2024-05-01", "2024-05-01", "2024-05-02", "2024-05-02"],
                          "currency": ["GBP", "EUR", "GBP", "EUR"],
                          "rate": ["1.25", "1.05", "1.30", "1.10"]})
    fig, ax = plt.subplots()
    try:
        drawn = tx.plot.cost_over_time(_calls(), freq="D", rates=rates, to="USD", ax=ax)
        heights = sorted(round(p.get_height(), 6) for p in drawn.patches if p.get_height())
        expected = tx.cost_by(_calls(), freq="D", rates=rates, to="USD")["cost"].tolist()
        assert heights == sorted(expected)
    finally:
        plt.close(fig)
