"""Tests of telnyx_analytics.analysis: exact totals checked against Python's ``decimal``.

The frames are built here, offline, shaped like the documented ones (docs/frames.md):
messages in five currencies, calls, wireless sessions and a number-lookup usage report.
Expected numbers are computed row by row with ``decimal.Decimal``, never with the code
under test.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from io import StringIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from telnyx_analytics._money import MoneyPrecisionWarning
from telnyx_analytics.analysis import (
    MONEY,
    convert,
    cost_by,
    explain_anomaly,
    reconcile,
    spend_anomalies,
    spend_summary,
    to_money,
    usage_breakdown,
)

MONEY_DTYPE = np.dtype("float64")
START = pd.Timestamp("2024-04-01", tz="UTC")  # a Monday
# country: (currency, price of one SMS part)
COUNTRIES = {
    "US": ("USD", "0.0040"),
    "MX": ("USD", "0.0110"),
    "CA": ("CAD", "0.0055"),
    "GB": ("GBP", "0.0350"),
    "DE": ("EUR", "0.0720"),
    "FR": ("EUR", "0.0650"),
    "AU": ("AUD", "0.0480"),
}
COUNTRY_WEIGHTS = [0.55, 0.08, 0.1, 0.09, 0.07, 0.06, 0.05]


def money(values):
    """Decimals as the documented money dtype: each the float nearest to it, as Python's
    ``float(Decimal)`` rounds (not the code under test)."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=MONEY_DTYPE)


def as_decimal(value) -> Decimal:
    """A float64 amount (the nearest double to an amount with at most 6 decimals) as the
    exact decimal it stands for: its shortest repr, as Python's float repr gives it."""
    return Decimal(repr(float(value)))


def make_mdrs(days: int = 28, per_day: int = 90, seed: int = 7) -> pd.DataFrame:
    """Message detail records: a daily cycle, quiet weekends, one campaign day."""
    rng = np.random.default_rng(seed)
    rows = []
    for day in range(days):
        date = START + timedelta(days=day)
        count = per_day // 2 if date.day_of_week >= 5 else per_day
        if day == 17:
            count *= 4  # the campaign
        for _ in range(count):
            country = rng.choice(list(COUNTRIES), p=COUNTRY_WEIGHTS)
            currency, rate = COUNTRIES[country]
            parts = int(rng.integers(1, 4))
            rows.append({
                "id": f"mdr-{len(rows):06d}",
                "created_at": date + timedelta(seconds=int(rng.integers(0, 86400)),
                                               microseconds=int(rng.integers(0, 10**6))),
                "direction": rng.choice(["outbound", "inbound"], p=[0.8, 0.2]),
                "message_type": rng.choice(["SMS", "MMS"], p=[0.9, 0.1]),
                "country_code": country,
                "parts": parts,
                "rate": Decimal(rate),
                "cost": Decimal(rate) * parts,
                "currency": currency,
            })
    df = pd.DataFrame(rows)
    for column in ("direction", "message_type", "country_code", "currency"):
        df[column] = df[column].astype("category")
    df["parts"] = df["parts"].astype("Int64")
    df["rate"] = money(df["rate"])
    df["cost"] = money(df["cost"])
    return df


def make_cdrs(days: int = 28, per_day: int = 40, seed: int = 8) -> pd.DataFrame:
    """Call detail records (CSV columns): cost = rate per minute x billable minutes."""
    rng = np.random.default_rng(seed)
    rates = {"US": ("USD", "0.0090"), "GB": ("GBP", "0.0120"), "DE": ("EUR", "0.0150")}
    rows = []
    for day in range(days):
        date = START + timedelta(days=day)
        for _ in range(per_day):
            country = rng.choice(list(rates), p=[0.7, 0.2, 0.1])
            currency, rate = rates[country]
            seconds = int(rng.integers(5, 900))
            minutes = -(-seconds // 60)
            rows.append({
                "start_timestamp_utc": date + timedelta(seconds=int(rng.integers(0, 86400))),
                "direction": rng.choice(["outbound", "inbound"]),
                "terminating_country": country,
                "call_duration": seconds,
                "billable_time": minutes * 60,
                "rate": Decimal(rate),
                "cost": Decimal(rate) * minutes,
                "currency": currency,
            })
    df = pd.DataFrame(rows)
    df["currency"] = df["currency"].astype("category")
    df["rate"] = money(df["rate"])
    df["cost"] = money(df["cost"])
    return df


def make_wdrs(days: int = 28, per_day: int = 15, seed: int = 9) -> pd.DataFrame:
    """Wireless sessions: cost = rate per MB x MB (two decimals), so six decimals."""
    rng = np.random.default_rng(seed)
    rows = []
    for day in range(days):
        date = START + timedelta(days=day)
        for _ in range(per_day):
            up = Decimal(int(rng.integers(1, 5000))) / 100
            down = Decimal(int(rng.integers(1, 20000))) / 100
            rate = Decimal("0.0125")
            rows.append({"created_at": date + timedelta(seconds=int(rng.integers(0, 86400))),
                         "mcc": "310", "uplink_data_mb": float(up),
                         "downlink_data_mb": float(down), "rate": rate,
                         "cost": rate * (up + down), "currency": "USD"})
    df = pd.DataFrame(rows)
    df["currency"] = df["currency"].astype("category")
    df["rate"] = money(df["rate"])
    df["cost"] = money(df["cost"])
    return df


def make_lookups(days: int = 28) -> pd.DataFrame:
    """A number-lookup usage report as its CSV reads: ``date`` strings, ``total_cost``."""
    rows = []
    for day in range(days):
        date = (START + timedelta(days=day)).strftime("%Y-%m-%d")
        for kind, price in (("CNAM", Decimal("0.0030")), ("LRN", Decimal("0.0005"))):
            dips = 20 + (day * 7 + len(kind)) % 13
            rows.append({"date": date, "user_id": "u-1", "type": kind, "total_dips": dips,
                         "total_cost": str(price * dips), "currency": "USD"})
    return pd.DataFrame(rows)


def decimal_sums(df: pd.DataFrame, keys, cost: str = "cost") -> dict[tuple, Decimal]:
    """Exact sums with Python's decimal, row by row: the reference."""
    out: dict[tuple, Decimal] = defaultdict(Decimal)
    columns = [df[k] if isinstance(k, str) else k for k in keys]
    for *key, value in zip(*columns, df[cost], strict=True):
        if value is not None and not pd.isna(value):
            out[tuple(str(k) for k in key)] += Decimal(str(value))
    return dict(out)


def result_sums(result: pd.DataFrame, keys, cost: str = "cost") -> dict[tuple, Decimal]:
    return {tuple(str(v) for v in key): as_decimal(value) for *key, value in
            zip(*(result[k] for k in keys), result[cost], strict=True)}


def day_of(series: pd.Series) -> pd.Series:
    return series.map(lambda t: t.strftime("%Y-%m-%d"))


@pytest.fixture(scope="module")
def mdrs() -> pd.DataFrame:
    return make_mdrs()


# -- cost_by ------------------------------------------------------------------------------


def test_cost_by_day_and_country_equals_decimal_sums(mdrs):
    out = cost_by(mdrs, "country_code", freq="D")
    expected = decimal_sums(mdrs, [day_of(mdrs["created_at"]), "country_code", "currency"])
    got = result_sums(out.assign(period=day_of(out["period"])),
                      ["period", "country_code", "currency"])
    assert got == expected
    assert out["cost"].dtype == MONEY_DTYPE
    counts = Counter(zip(day_of(mdrs["created_at"]), mdrs["country_code"].astype(str),
                         strict=True))
    assert {(d, c): n for d, c, n in zip(day_of(out["period"]), out["country_code"].astype(str),
                                         out["count"], strict=True)} == counts


def test_cost_by_never_adds_currencies(mdrs):
    out = cost_by(mdrs, "direction")
    assert "currency" in out.columns
    assert len(out) == len(mdrs.groupby(["direction", "currency"], observed=True))
    # One total per currency, each equal to its own exact sum.
    per_currency = {c: sum(map(as_decimal, g["cost"]), Decimal(0))
                    for c, g in out.groupby("currency", observed=True)}
    assert per_currency == {c: v for (c,), v in decimal_sums(mdrs, ["currency"]).items()}
    assert set(per_currency) == {"USD", "CAD", "GBP", "EUR", "AUD"}


def test_cost_by_without_groups_keeps_currency(mdrs):
    out = cost_by(mdrs)
    assert list(out.columns) == ["currency", "cost", "count"]
    assert result_sums(out, ["currency"]) == decimal_sums(mdrs, ["currency"])
    assert out["count"].sum() == len(mdrs)


@pytest.mark.parametrize("form", ["str", "object-str", "decimal-objects", "float", "csv",
                                  "decimal128(20,8)"])
def test_cost_by_accepts_money_in_every_form(mdrs, form):
    frame = mdrs[["created_at", "country_code", "currency", "cost"]].copy()
    text = [str(v) for v in mdrs["cost"]]
    if form == "str":
        frame["cost"] = pd.Series(text, dtype="string")
    elif form == "object-str":
        frame["cost"] = pd.Series(text, dtype=object)
    elif form == "decimal-objects":
        frame["cost"] = pd.Series([Decimal(t) for t in text], dtype=object)
    elif form == "float":
        frame["cost"] = [float(t) for t in text]
    elif form == "csv":
        frame = pd.read_csv(StringIO(frame.to_csv(index=False)))
        assert frame["cost"].dtype == np.float64  # what a user gets from a plain read_csv
    else:
        frame["cost"] = pd.array([Decimal(t) for t in text],
                                 dtype=pd.ArrowDtype(pa.decimal128(20, 8)))
    out = cost_by(frame, "country_code", freq="W")
    expected = cost_by(mdrs, "country_code", freq="W")
    assert out["cost"].tolist() == expected["cost"].tolist()
    assert out["country_code"].astype(str).tolist() == expected["country_code"].astype(str).tolist()


@pytest.mark.parametrize("bad", ["0.1234567", Decimal("0.0000001"), 0.1234567, "12,50", "abc"])
def test_more_than_six_decimals_or_not_a_number_raises(bad):
    frame = pd.DataFrame({"cost": pd.Series(["0.5", bad], dtype=object), "currency": "USD"})
    with pytest.raises(ValueError, match="cost"):
        cost_by(frame)


def test_float_with_more_than_six_decimals_raises():
    frame = pd.DataFrame({"cost": [0.5, 0.0000005], "currency": "USD"})
    with pytest.raises(ValueError, match="more than 6 decimals"):
        cost_by(frame)


def test_ten_million_rows_sum_exactly():
    """The issue's bar: over 10,000,000 rows the total equals the exact decimal sum."""
    n = 10_000_000
    rng = np.random.default_rng(11)
    # Few distinct amounts, so the exact total is a short Decimal computation; the rows are
    # built by pyarrow from a dictionary, independently of the code under test.
    amounts = [Decimal("0.000001"), Decimal("0.1"), Decimal("0.0035"), Decimal("1234.567891"),
               Decimal("-0.070001"), Decimal("0.333333")]
    picks = rng.integers(0, len(amounts), n).astype(np.int32)
    currency_codes = rng.integers(0, 2, n).astype(np.int8)
    decoded = pa.DictionaryArray.from_arrays(
        pa.array(picks), pa.array(amounts, pa.decimal128(18, 6))).dictionary_decode()
    frame = pd.DataFrame({
        "cost": pd.arrays.ArrowExtensionArray(decoded),
        "currency": pd.Categorical.from_codes(currency_codes, ["EUR", "USD"]),
    })
    out = cost_by(frame)
    for code, name in enumerate(["EUR", "USD"]):
        counts = np.bincount(picks[currency_codes == code], minlength=len(amounts))
        exact = sum((int(c) * a for c, a in zip(counts, amounts, strict=True)), Decimal(0))
        row = out[out["currency"] == name].iloc[0]
        assert as_decimal(row["cost"]) == exact
        assert row["count"] == counts.sum()
        # The same sum in float64 drifts; the point of the exercise.
        floats = np.array([float(a) for a in amounts])[picks[currency_codes == code]]
        assert Decimal(repr(float(floats.sum()))) != exact


def test_totals_past_int64_are_summed_exactly_and_said_to_be_rounded():
    biggest = Decimal("4294967295.999999")  # the largest amount money holds exactly
    values = [biggest] * 2200 + [Decimal("-0.000001"), Decimal("0.5")]
    frame = pd.DataFrame({"cost": [str(v) for v in values], "currency": "USD"})
    with pytest.warns(MoneyPrecisionWarning, match="micro-unit"):
        out = cost_by(frame)
    exact = sum(values, Decimal(0))
    assert exact > Decimal(2**63) / 10**6  # really past int64 micro-units
    # The exact total, as the float64 nearest to it (Python rounds Decimal to float so).
    assert out.loc[0, "cost"] == float(exact)


def test_missing_costs_are_skipped_but_counted():
    frame = pd.DataFrame({"cost": money([Decimal("0.5"), None, Decimal("0.25")]),
                          "currency": ["USD", "USD", "USD"]})
    out = cost_by(frame)
    assert out.loc[0, "cost"] == Decimal("0.75")
    assert out.loc[0, "count"] == 3


@pytest.mark.parametrize("freq, start_of", [
    ("W", lambda t: (t - timedelta(days=t.day_of_week)).strftime("%Y-%m-%d")),
    ("MS", lambda t: t.strftime("%Y-%m-01")),
    ("h", lambda t: t.strftime("%Y-%m-%d %H:00")),
])
def test_cost_by_calendar_periods(mdrs, freq, start_of):
    out = cost_by(mdrs, freq=freq)
    expected = decimal_sums(mdrs, [mdrs["created_at"].map(start_of), "currency"])
    fmt = "%Y-%m-%d %H:00" if freq == "h" else "%Y-%m-%d"
    got = result_sums(out.assign(period=out["period"].dt.strftime(fmt)), ["period", "currency"])
    assert got == expected
    assert str(out["period"].dt.tz) == "UTC"


def test_naive_and_text_timestamps_are_utc():
    frame = pd.DataFrame({
        "created_at": ["2024-05-01T23:59:59.999999Z", "2024-05-02T00:00:00+00:00",
                       "2024-05-02T01:30:00+02:00"],
        "cost": ["1.000000", "2.000000", "4.000000"], "currency": "USD"})
    out = cost_by(frame, freq="D")
    # 01:30 at +02:00 is 23:30 UTC the day before.
    assert out["period"].dt.strftime("%Y-%m-%d").tolist() == ["2024-05-01", "2024-05-02"]
    assert out["cost"].tolist() == [Decimal(5), Decimal(2)]
    naive = frame.assign(created_at=pd.to_datetime(["2024-05-01 23:00", "2024-05-02 00:00",
                                                    "2024-05-02 01:00"]))
    assert cost_by(naive, freq="D")["cost"].tolist() == [Decimal(1), Decimal(6)]


def test_cost_by_converts_only_with_given_rates(mdrs):
    rates = {"CAD": "0.73", "GBP": Decimal("1.2712"), "EUR": "1.0843", "AUD": "0.6551"}
    out = cost_by(mdrs, "direction", rates=rates, to="USD")
    assert set(out["currency"].astype(str)) == {"USD"}
    table = {**{k: Decimal(str(v)) for k, v in rates.items()}, "USD": Decimal(1)}
    for direction, group in mdrs.groupby("direction", observed=True):
        expected = Decimal(0)
        for (cur,), total in decimal_sums(group, ["currency"]).items():
            expected += (total * table[cur]).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)
        assert as_decimal(out.loc[out["direction"] == direction, "cost"].item()) == expected
    assert out["count"].sum() == len(mdrs)
    with pytest.raises(ValueError, match="AUD"):
        cost_by(mdrs, rates={"CAD": 1, "GBP": 1, "EUR": 1}, to="USD")
    with pytest.raises(ValueError, match="rates"):
        cost_by(mdrs, rates={"CAD": 1})


def test_cost_by_on_slices_with_gaps(mdrs):
    """A slice of an Arrow column starts mid-buffer; missing costs sit under a bitmap."""
    gappy = mdrs.assign(cost=money([None if i % 7 == 0 else v
                                    for i, v in enumerate(mdrs["cost"])]))
    part = gappy.iloc[333:2500]
    out = cost_by(part, "direction")
    assert result_sums(out, ["direction", "currency"]) == decimal_sums(
        part, ["direction", "currency"])
    assert out["count"].sum() == len(part)


def test_cost_by_bad_arguments_name_the_argument(mdrs):
    with pytest.raises(ValueError, match="currency"):
        cost_by(mdrs.drop(columns="currency"))
    with pytest.raises(ValueError, match="by='nope'"):
        cost_by(mdrs, "nope")
    with pytest.raises(ValueError, match="time"):
        cost_by(mdrs[["cost", "currency"]], freq="D")
    with pytest.raises(ValueError, match="freq"):
        cost_by(mdrs, freq="fortnightly")


def test_cost_by_empty_frame_keeps_columns(mdrs):
    out = cost_by(mdrs.iloc[:0], "country_code", freq="D")
    assert list(out.columns) == ["period", "country_code", "currency", "cost", "count"]
    assert out.empty and out["cost"].dtype == MONEY_DTYPE


def test_cost_by_on_a_summary_counts_records_and_names_its_rows(mdrs):
    """Re-cut daily totals: ``count`` is still the records behind the cost, and ``rows``
    the summary rows that went into each total (issue: a count of rows read as messages)."""
    daily = cost_by(mdrs, "direction", freq="D")
    weekly = cost_by(daily, "direction", freq="W")
    assert list(weekly.columns) == ["period", "direction", "currency", "cost", "count", "rows"]
    weeks = mdrs["created_at"].dt.tz_convert(None).dt.to_period("W").dt.start_time
    records = Counter(zip(weeks.dt.strftime("%F"), mdrs["direction"], mdrs["currency"],
                          strict=True))
    got = {(p.strftime("%F"), d, c): n for p, d, c, n in
           zip(weekly["period"], weekly["direction"], weekly["currency"], weekly["count"],
               strict=True)}
    assert got == dict(records)
    assert weekly["rows"].sum() == len(daily) < weekly["count"].sum() == len(mdrs)
    assert result_sums(cost_by(daily, "direction"), ["direction", "currency"]) == decimal_sums(
        mdrs, ["direction", "currency"])
    # Over the whole frame, and converted into one currency, the same two counts.
    rates = {"CAD": "0.73", "GBP": "1.27", "EUR": "1.08", "AUD": "0.66"}
    whole = cost_by(daily, rates=rates, to="USD")
    assert (whole["count"].item(), whole["rows"].item()) == (len(mdrs), len(daily))
    # spend_summary keeps `count` as records.
    summary = spend_summary(daily.assign(product="messaging"), freq="MS")
    assert list(summary.columns) == ["period", "product", "currency", "cost", "count"]
    assert summary["count"].sum() == len(mdrs)


def test_cost_by_count_names_the_column_that_counts():
    """A usage report counts its records in a column of its own (``calls``): ``count=``
    names it, and the result names the sum after it."""
    report = pd.DataFrame({
        "date": pd.to_datetime(["2024-05-01", "2024-05-01", "2024-05-02"], utc=True),
        "direction": ["inbound", "outbound", "outbound"],
        "calls": pd.array([10, 5, None], dtype="Int64"),
        "cost": ["0.1", "0.2", "0.3"], "currency": "USD"})
    out = cost_by(report, count="calls")
    assert list(out.columns) == ["currency", "cost", "calls", "rows"]
    assert (out["calls"].item(), out["rows"].item()) == (15, 3)  # a missing count adds 0
    # Without count=, a voice usage report's ``calls`` is found by its name: its rows are
    # never counted as if each were one record.
    assert list(cost_by(report).columns) == ["currency", "cost", "calls", "rows"]
    assert list(cost_by(report.rename(columns={"calls": "n"})).columns) == [
        "currency", "cost", "count"]  # no count column: each row is one record
    assert list(cost_by(report.iloc[:0], count="calls").columns) == [
        "currency", "cost", "calls", "rows"]
    with pytest.raises(ValueError, match="count='nope'"):
        cost_by(report, count="nope")
    with pytest.raises(TypeError, match="count='direction'"):
        cost_by(report, count="direction")
    with pytest.raises(ValueError, match="whole numbers"):
        cost_by(report.assign(calls=[1.5, 2.0, 1.0]), count="calls")


# -- usage breakdown -----------------------------------------------------------------------


def test_usage_breakdown_top_n_plus_other_keeps_totals_whole(mdrs):
    out = usage_breakdown(mdrs, "country_code", "parts", top=3)
    totals = Counter()
    for country, parts in zip(mdrs["country_code"], mdrs["parts"], strict=True):
        totals[str(country)] += int(parts)
    ranked = totals.most_common()
    assert out["country_code"].tolist() == [c for c, _ in ranked[:3]] + ["Other"]
    assert out["parts"].tolist() == [n for _, n in ranked[:3]] + [sum(n for _, n in ranked[3:])]
    assert out["parts"].sum() == mdrs["parts"].sum()
    assert out["share"].sum() == pytest.approx(1.0)


def test_usage_breakdown_money_is_exact_and_per_currency(mdrs):
    out = usage_breakdown(mdrs, "country_code", "cost", top=1, other="Rest")
    assert result_sums(out.groupby("currency", observed=True)["cost"].agg(
        lambda s: sum(map(as_decimal, s), Decimal(0))).reset_index(), ["currency"]) == \
        decimal_sums(mdrs, ["currency"])
    # Only the EUR countries compete (DE and FR): the larger is kept, the other is "Rest".
    eur = out[out["currency"] == "EUR"]
    exact = decimal_sums(mdrs[mdrs["currency"] == "EUR"], ["country_code"])
    winner = max(exact, key=exact.get)[0]
    assert eur["country_code"].tolist() == [winner, "Rest"]
    assert list(map(as_decimal, eur["cost"])) == [exact[(winner,)],
                                                  sum(exact.values()) - exact[(winner,)]]
    # No row adds two currencies: USD rows only hold US and MX money.
    usd = out[out["currency"] == "USD"]
    usd_total = sum(map(as_decimal, usd["cost"]), Decimal(0))
    assert usd_total == decimal_sums(mdrs, ["currency"])[("USD",)]


def test_usage_breakdown_count_and_no_other_when_few_values(mdrs):
    out = usage_breakdown(mdrs, "message_type", "count", top=10)
    assert "Other" not in out["message_type"].tolist()
    assert dict(zip(out["message_type"], out["count"], strict=True)) == \
        dict(Counter(mdrs["message_type"].astype(str)))


def test_usage_breakdown_per_week_keeps_the_same_values(mdrs):
    out = usage_breakdown(mdrs, "country_code", "parts", top=2, freq="W")
    kept = set(out["country_code"]) - {"Other"}
    assert len(kept) == 2
    weekly = mdrs.groupby(mdrs["created_at"].dt.tz_convert(None).dt.to_period("W"))["parts"].sum()
    got = out.groupby("period")["parts"].sum()
    assert got.tolist() == weekly.tolist()


def test_usage_breakdown_money_without_currency_is_refused(mdrs):
    with pytest.raises(ValueError, match="currency"):
        usage_breakdown(mdrs.drop(columns="currency"), "country_code", "cost")


def test_usage_breakdown_counts_missing_dimension_values():
    frame = pd.DataFrame({"tag": ["a", None, "a", None, "b"], "parts": [1, 2, 3, 4, 5]})
    out = usage_breakdown(frame, "tag", "parts")
    assert dict(zip(out["tag"], out["parts"], strict=True)) == {"(missing)": 6, "a": 4, "b": 5}


# -- spend summary -------------------------------------------------------------------------


@pytest.mark.parametrize("freq", ["D", "W", "MS"])
def test_spend_summary_across_products(mdrs, freq):
    frames = {"messaging": mdrs, "voice": make_cdrs(), "wireless": make_wdrs(),
              "number lookups": make_lookups()}
    out = spend_summary(frames, freq=freq)
    assert list(out.columns) == ["period", "product", "currency", "cost", "count"]
    assert list(out["product"].cat.categories) == list(frames)
    for product, frame in frames.items():
        cost = "total_cost" if product == "number lookups" else "cost"
        part = out[out["product"] == product]
        assert result_sums(part, ["currency"]) != {}  # every product is there
        totals = part.groupby("currency", observed=True)["cost"].agg(
            lambda s: sum(map(as_decimal, s), Decimal(0)))
        assert {(c,): v for c, v in totals.items()} == decimal_sums(frame, ["currency"], cost)
    assert out["period"].is_monotonic_increasing


def test_spend_summary_of_one_frame_with_product_column(mdrs):
    both = pd.concat([mdrs.assign(product="messaging")[["created_at", "product", "cost",
                                                         "currency"]],
                      make_wdrs().assign(product="wireless")[["created_at", "product", "cost",
                                                              "currency"]]])
    out = spend_summary(both, freq="MS")
    expected = decimal_sums(both, [both["created_at"].dt.strftime("%Y-%m"), "product",
                                   "currency"])
    got = result_sums(out.assign(period=out["period"].dt.strftime("%Y-%m")),
                      ["period", "product", "currency"])
    assert got == expected


# -- reconciliation ------------------------------------------------------------------------


def usage_report_for(detail: pd.DataFrame) -> pd.DataFrame:
    """A daily messaging usage report built from the records with decimal, like the ledger."""
    sums = decimal_sums(detail, [day_of(detail["created_at"]), "direction", "currency"])
    return pd.DataFrame([{"date": d, "direction": di, "currency": c, "cost": str(v)}
                         for (d, di, c), v in sorted(sums.items())])


def test_reconcile_agrees_when_the_ledger_agrees(mdrs):
    out = reconcile(mdrs, usage_report_for(mdrs), by="direction")
    assert out["match"].all()
    assert (out["difference"] == Decimal(0)).all()
    assert len(out) == len(usage_report_for(mdrs))


def test_reconcile_finds_an_injected_mismatch(mdrs):
    usage = usage_report_for(mdrs)
    dropped = mdrs.iloc[1234]
    detail = mdrs.drop(index=mdrs.index[1234])  # one record lost
    usage.loc[7, "cost"] = str(Decimal(usage.loc[7, "cost"]) + Decimal("0.000001"))
    extra = pd.DataFrame([{"date": "2024-06-30", "direction": "outbound", "currency": "USD",
                           "cost": "1.5"}])  # a day the records do not have
    out = reconcile(detail, pd.concat([usage, extra], ignore_index=True), by="direction")
    bad = out[~out["match"]]
    assert len(bad) == 3
    lost = bad[(bad["period"].dt.strftime("%Y-%m-%d") == dropped["created_at"].strftime("%Y-%m-%d"))
               & (bad["direction"] == dropped["direction"])
               & (bad["currency"] == dropped["currency"])]
    assert lost["difference"].item() == -dropped["cost"]
    nudged = bad[(bad["period"].dt.strftime("%Y-%m-%d") == usage.loc[7, "date"])
                 & (bad["direction"] == usage.loc[7, "direction"])
                 & (bad["currency"] == usage.loc[7, "currency"])]
    assert as_decimal(nudged["difference"].item()) == Decimal("-0.000001")
    only_usage = bad[bad["period"].dt.strftime("%Y-%m-%d") == "2024-06-30"]
    assert only_usage["detail_cost"].item() == 0
    assert only_usage["difference"].item() == Decimal("-1.5")
    relaxed = reconcile(detail, usage, by="direction", tolerance="0.1")
    assert relaxed["match"].all()


def test_reconcile_window_totals(mdrs):
    usage = pd.DataFrame([{"start_date": "2024-04-01", "currency": c, "cost": str(v)}
                          for (c,), v in decimal_sums(mdrs, ["currency"]).items()])
    out = reconcile(mdrs, usage, freq=None)
    assert out["match"].all() and len(out) == 5


def test_reconcile_refuses_window_totals_against_daily_rows(mdrs):
    """A usage report of window totals split by day would put each total on the first day
    and leave every other day as a false difference: refused, with what to do."""
    first, last = day_of(mdrs["created_at"]).min(), day_of(mdrs["created_at"]).max()
    usage = pd.DataFrame([{"start_date": first, "end_date": last, "currency": c,
                           "cost": str(v)}
                          for (c,), v in decimal_sums(mdrs, ["currency"]).items()])
    with pytest.raises(ValueError, match=r"usage: .*totals from .*freq=None"):
        reconcile(mdrs, usage)  # freq="D" by default
    with pytest.raises(ValueError, match="usage"):
        reconcile(mdrs, usage, freq="W")
    assert reconcile(mdrs, usage, freq=None)["match"].all()  # what the message suggests
    assert reconcile(mdrs, usage, freq="YS")["match"].all()  # a span inside one period
    # The same refusal on the detail side (say, a frame of monthly totals passed first).
    with pytest.raises(ValueError, match="detail: "):
        reconcile(usage, usage_report_for(mdrs))


def test_reconcile_one_day_rows_pass_at_daily_freq(mdrs):
    # A usage report asked for per day: each row spans one day (end exclusive or
    # inclusive), so the daily comparison is meaningful.
    usage = usage_report_for(mdrs)
    days = pd.to_datetime(usage.pop("date"), utc=True)
    exclusive = usage.assign(start_time=days, end_time=days + pd.Timedelta(days=1))
    inclusive = usage.assign(start_date=days, end_date=days)
    for frame in (exclusive, inclusive):
        assert reconcile(mdrs, frame, by="direction")["match"].all()


def test_reconcile_refuses_daily_rows_at_hourly_freq(mdrs):
    with pytest.raises(ValueError, match=r"usage: its times \(date\) are whole days.*'D'"):
        reconcile(mdrs, usage_report_for(mdrs), by="direction", freq="h")


# -- anomalies -----------------------------------------------------------------------------


def seasonal_spend(days: int = 56, seed: int = 3) -> tuple[pd.DataFrame, int, int]:
    """Daily spend with quiet weekends and noise, a campaign spike and an outage."""
    rng = np.random.default_rng(seed)
    spike, drop = 30, 44
    rows = []
    for day in range(days):
        date = START + timedelta(days=day)
        level = 120 if date.day_of_week < 5 else 45
        amount = level * (1 + rng.normal(0, 0.05))
        amount = {spike: amount * 4, drop: amount * 0.1}.get(day, amount)
        # Split the day's spend over a few records, to 4 decimals like message costs.
        for share in (0.5, 0.3, 0.2):
            rows.append({"created_at": date + timedelta(hours=10),
                         "cost": f"{amount * share:.4f}", "currency": "USD"})
    return pd.DataFrame(rows), spike, drop


def test_spend_anomalies_finds_the_spike_and_the_outage_not_the_weekends():
    frame, spike, drop = seasonal_spend()
    out = spend_anomalies(frame)
    dates = out["period"].dt.strftime("%Y-%m-%d").tolist()
    expected = [(START + timedelta(days=d)).strftime("%Y-%m-%d") for d in (spike, drop)]
    assert dates == expected
    assert out["kind"].tolist() == ["spike", "drop"]
    # The baseline is the median of the other days on the same weekday, by hand.
    daily = decimal_sums(frame, [day_of(frame["created_at"])])
    for row in out.itertuples():
        same_weekday = [float(v) for (d,), v in daily.items()
                        if pd.Timestamp(d).day_of_week == row.period.day_of_week
                        and d != row.period.strftime("%Y-%m-%d")]
        assert row.baseline == pytest.approx(statistics.median(same_weekday))
        assert as_decimal(row.cost) == daily[(row.period.strftime("%Y-%m-%d"),)]
        assert row.deviation == pytest.approx(float(row.cost) - row.baseline)
    assert out["score"].iloc[0] > 3.5 and out["score"].iloc[1] < -3.5


def test_spend_anomalies_counts_a_day_without_spend():
    frame, _, _ = seasonal_spend(seed=4)
    silent = (START + timedelta(days=23)).strftime("%Y-%m-%d")  # a Wednesday
    frame = frame[~frame["created_at"].dt.strftime("%Y-%m-%d").eq(silent)]
    out = spend_anomalies(frame)
    row = out[out["period"].dt.strftime("%Y-%m-%d") == silent]
    assert row["kind"].tolist() == ["drop"] and row["cost"].item() == 0


def test_spend_anomalies_per_currency_and_short_series():
    days = pd.date_range("2024-05-01", periods=14, freq="D", tz="UTC")
    usd = ["10.00"] * 14
    usd[9] = "55.00"
    frame = pd.concat([
        pd.DataFrame({"created_at": days, "cost": usd, "currency": "USD"}),
        pd.DataFrame({"created_at": days, "cost": "8.00", "currency": "EUR"}),
    ])
    out = spend_anomalies(frame)
    assert out["currency"].astype(str).tolist() == ["USD"]
    assert out["cost"].item() == Decimal("55") and out["deviation"].item() == pytest.approx(45)
    short = spend_anomalies(frame[frame["created_at"] < days[5]])
    assert short.empty
    assert list(short.columns) == ["period", "currency", "cost", "baseline", "deviation",
                                   "impact_pct", "score", "kind"]


def noisy_days(currency: str, level: float, noise: float, bumps: dict[int, float],
               days: int = 28, seed: int = 11) -> pd.DataFrame:
    """A daily spend series around ``level`` with relative ``noise``; ``bumps`` multiplies
    chosen days."""
    rng = np.random.default_rng(seed)
    amounts = level * (1 + rng.normal(0, noise, days))
    for day, factor in bumps.items():
        amounts[day] *= factor
    return pd.DataFrame({"created_at": [START + timedelta(days=d, hours=12) for d in range(days)],
                         "cost": [f"{a:.4f}" for a in amounts], "currency": currency})


def test_spend_anomalies_minimum_impact_keeps_small_money_out():
    """The trap of the issue: a quiet series (0.50 AUD a day) that jumps to 2.50 scores as
    high as a real campaign; the default floors (10 units, 20 %) keep only what matters."""
    usd = noisy_days("USD", 15.0, 0.05, {9: 3.0})  # +30 USD: a campaign
    aud = noisy_days("AUD", 0.5, 0.05, {5: 5.0, 17: 4.0}, seed=12)  # +2 AUD, +1.5 AUD
    big = noisy_days("EUR", 5000.0, 0.002, {20: 1.03}, seed=13)  # +150 EUR, but only 3 %
    frame = pd.concat([usd, aud, big], ignore_index=True)
    def flags(**kwargs):
        found = spend_anomalies(frame, **kwargs)
        return sorted(zip(found["currency"].astype(str), found["period"].dt.day, strict=True))

    # Without floors: the campaign, both AUD bumps, the +3 % EUR day and two EUR days
    # whose noise happens to score past 3.5 (about 0.5 % off their baseline).
    assert flags(min_impact=0, min_impact_pct=0) == [
        ("AUD", 6), ("AUD", 18), ("EUR", 2), ("EUR", 21), ("EUR", 23), ("USD", 10)]
    kept = spend_anomalies(frame)  # the defaults
    assert kept["currency"].astype(str).tolist() == ["USD"]
    assert kept["period"].item() == START + timedelta(days=9)
    assert kept["impact_pct"].item() == pytest.approx(
        100 * kept["deviation"].item() / kept["baseline"].item())
    # Each floor alone: the absolute one drops the AUD days, the relative one the EUR days.
    assert flags(min_impact_pct=0) == [("EUR", 2), ("EUR", 21), ("EUR", 23), ("USD", 10)]
    assert flags(min_impact=0) == [("AUD", 6), ("AUD", 18), ("USD", 10)]
    # One floor per currency.
    assert flags(min_impact={"USD": 10, "AUD": 1, "EUR": 100}, min_impact_pct=0) == [
        ("AUD", 6), ("AUD", 18), ("EUR", 21), ("USD", 10)]


def test_spend_anomalies_a_new_spend_from_zero_passes_the_percentage_floor():
    frame = noisy_days("USD", 0.0, 0.0, {})
    frame.loc[12, "cost"] = "40.00"  # nothing usually, then 40: no percentage, 40 units
    out = spend_anomalies(frame)
    assert out["period"].tolist() == [START + timedelta(days=12)]
    assert np.isnan(out["impact_pct"].item())


@pytest.mark.parametrize("kwargs, match", [
    ({"min_impact": -1}, "min_impact=-1"),
    ({"min_impact": "ten"}, "min_impact='ten'"),
    ({"min_impact_pct": True}, "min_impact_pct=True"),
    ({"min_impact": {"USD": 5}}, "min_impact: no amount for EUR"),
    ({"threshold": -3}, "threshold=-3"),
])
def test_spend_anomalies_bad_floors_name_the_argument(kwargs, match):
    frame = pd.concat([noisy_days("USD", 10, 0.05, {}), noisy_days("EUR", 10, 0.05, {})])
    with pytest.raises(ValueError, match=match):
        spend_anomalies(frame, **kwargs)


def campaign_messages(days: int = 28, seed: int = 21) -> tuple[pd.DataFrame, int]:
    """Messages by profile, type and direction; on one day the Marketing profile sends a
    campaign of outbound MMS. Each record's cost is a whole number of cents."""
    rng = np.random.default_rng(seed)
    campaign = 17
    rows = []
    for day in range(days):
        date = START + timedelta(days=day)
        for _ in range(int(rng.integers(180, 220))):
            profile = rng.choice(["Marketing", "Support", "Alerts"], p=[0.2, 0.4, 0.4])
            mms = rng.random() < 0.08
            rows.append((date + timedelta(minutes=int(rng.integers(0, 1440))), profile,
                         "MMS" if mms else "SMS",
                         "outbound" if rng.random() < 0.8 else "inbound",
                         "0.0200" if mms else "0.0040"))
        if day == campaign:
            rows += [(date + timedelta(hours=15), "Marketing", "MMS", "outbound", "0.0200")] * 600
    frame = pd.DataFrame(rows, columns=["created_at", "profile_name", "message_type",
                                        "direction", "cost"])
    return frame.assign(currency="USD"), campaign


def test_explain_anomaly_names_the_values_behind_the_excess():
    frame, campaign = campaign_messages()
    found = spend_anomalies(frame)
    assert found["period"].tolist() == [START + timedelta(days=campaign)]
    why = explain_anomaly(frame, found.iloc[0], ["profile_name", "message_type", "direction"],
                          top=2)
    assert list(why.columns) == ["dimension", "value", "currency", "cost", "baseline", "excess",
                                 "share"]
    firsts = why.groupby("dimension", sort=False)["value"].first().to_dict()
    assert firsts == {"profile_name": "Marketing", "message_type": "MMS",
                      "direction": "outbound"}
    assert why.groupby("dimension", sort=False).size().tolist() == [2, 2, 2]
    # Each number by hand: the value's spend that day, and the median of its spend on the
    # other days of the same weekday.
    day = (START + timedelta(days=campaign)).strftime("%Y-%m-%d")
    for row in why.itertuples():
        mine = frame[frame[row.dimension] == row.value]
        daily = decimal_sums(mine, [day_of(mine["created_at"])])
        assert Decimal(str(row.cost)) == daily.get((day,), Decimal(0))  # any money dtype
        same = [float(v) for (d,), v in daily.items()
                if pd.Timestamp(d).day_of_week == pd.Timestamp(day).day_of_week and d != day]
        assert row.baseline == pytest.approx(statistics.median(same))
        assert row.excess == pytest.approx(float(row.cost) - row.baseline)
        assert row.share == pytest.approx(row.excess / found["deviation"].item())
    marketing = why.iloc[0]
    assert marketing["share"] > 0.9  # the campaign is nearly all of the excess
    # A day given as text works too (one currency in the frame), and all values are kept.
    every = explain_anomaly(frame, day, "profile_name", top=None)
    assert sorted(every["value"]) == ["Alerts", "Marketing", "Support"]
    assert every.iloc[0]["cost"] == marketing["cost"]


def test_explain_anomaly_sees_the_periods_spend_anomalies_saw():
    """A series that starts late has zero-spend days before it in spend_anomalies; its
    explanation uses the same days, so one value that is the whole series explains all
    of the anomaly's deviation."""
    usd = noisy_days("USD", 100.0, 0.05, {})
    late = noisy_days("EUR", 50.0, 0.05, {24: 4.0}, seed=5).iloc[10:]  # starts on day 10
    frame = pd.concat([usd, late], ignore_index=True).assign(direction="outbound")
    found = spend_anomalies(frame)
    eur = found[found["currency"] == "EUR"].iloc[0]
    why = explain_anomaly(frame, eur, "direction")
    assert why["baseline"].item() == pytest.approx(eur["baseline"])
    assert why["excess"].item() == pytest.approx(eur["deviation"])
    assert why["share"].item() == pytest.approx(1.0)


def test_explain_anomaly_selects_the_series_of_the_row():
    frame, _ = campaign_messages()
    eur = frame.assign(currency="EUR", cost="1.0000")  # another currency, to be left out
    both = pd.concat([frame.assign(product="messaging"), eur.assign(product="messaging")])
    found = spend_anomalies(both, by="product")
    usd = found[found["currency"] == "USD"].iloc[0]
    why = explain_anomaly(both, usd, "message_type")
    assert set(why["currency"].astype(str)) == {"USD"}
    alone = explain_anomaly(frame, usd, "message_type")
    assert why[["value", "cost"]].values.tolist() == alone[["value", "cost"]].values.tolist()
    gappy = frame.assign(message_type=frame["message_type"].where(frame.index % 50 != 0))
    assert "(missing)" in set(explain_anomaly(gappy, usd, "message_type", top=None)["value"])
    with pytest.raises(ValueError, match="currency: the frame has EUR, USD"):
        explain_anomaly(both, "2024-04-18", "message_type")
    with pytest.raises(ValueError, match="dimensions='nope'"):
        explain_anomaly(frame, usd, "nope")
    with pytest.raises(ValueError, match="anomaly='soon'"):
        explain_anomaly(frame, "soon", "message_type")
    with pytest.raises(ValueError, match="top=0"):
        explain_anomaly(frame, usd, "message_type", top=0)


def test_to_money_is_exact():
    values = to_money(pd.Series(["0.0040", " 1.25 ", "", None, "-3"]))
    assert values.dtype == MONEY
    assert values.tolist()[:2] == [0.004, 1.25]
    assert values.isna().tolist() == [False, False, True, True, False]
    assert values.iloc[4] == Decimal(-3)


# -- against the sandbox, over HTTP --------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_client(sandbox, sandbox_key):
    import telnyx_analytics as tx

    return tx.Client(api_key=sandbox_key, base_url=sandbox.base_url, cache=False, progress=False)


def test_sandbox_records_reconcile_with_its_usage_report(sandbox_client):
    """The sandbox's ledger makes messages and the messaging usage report agree; a lost
    record is then found, to the micro-unit."""
    import telnyx_analytics as tx

    day = (pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=10)).strftime("%Y-%m-%d")
    records = tx.mdrs(day, day, client=sandbox_client)
    usage = tx.mdr_usage(day, day, client=sandbox_client)
    assert len(records) > 100
    keys = ["direction", "message_type"]
    out = reconcile(records, usage, by=keys, freq=None, usage_time="start_date")
    assert out["match"].all()
    assert sum(map(as_decimal, out["detail_cost"]), Decimal(0)) == sum(
        decimal_sums(records, ["currency"]).values()) > 0

    paid = np.flatnonzero((records["cost"] > 0).to_numpy())  # inbound SMS can be free
    at = paid[len(paid) // 2]
    lost = records.iloc[at]
    out = reconcile(records.drop(index=records.index[at]), usage, by=keys, freq=None,
                    usage_time="start_date")
    bad = out[~out["match"]]
    assert len(bad) == 1
    assert (bad["direction"].item(), bad["message_type"].item(), bad["currency"].item()) == (
        lost["direction"], lost["message_type"], lost["currency"])
    assert bad["difference"].item() == -lost["cost"]


def test_sandbox_window_report_against_daily_records_is_refused(sandbox_client):
    """A messaging usage report over three days is one total per group: reconciling it
    per day against the records is refused; over the window, everything matches."""
    import telnyx_analytics as tx

    today = pd.Timestamp.now(tz="UTC").normalize()
    first, last = ((today - pd.Timedelta(days=d)).strftime("%Y-%m-%d") for d in (12, 10))
    records = tx.mdrs(first, last, client=sandbox_client)
    usage = tx.mdr_usage(first, last, client=sandbox_client)
    with pytest.raises(ValueError, match="usage: its rows are totals from"):
        reconcile(records, usage, by="direction")
    out = reconcile(records, usage, by="direction", freq=None)
    assert out["match"].all() and len(out) > 1


def test_sandbox_campaign_day_is_the_anomaly_and_explained(sandbox_factory, sandbox_key):
    """On the sandbox's account, the days flagged (defaults) are its campaign days, and
    the cause found is the campaign's: outbound messages of one profile."""
    import telnyx_analytics as tx

    # A fixed window: the same days judged on every run (campaigns fall on the calendar,
    # so a window ending today holds one campaign some days and two on others).
    sb = sandbox_factory(seed=5, days=35, until=date(2026, 11, 29), scale=0.3)
    ledger = sb.ledger(sandbox_key)
    client = tx.Client(sandbox_key, sb.base_url, cache=False, progress=False)
    last = ledger.last_day - timedelta(days=1)
    msgs = tx.mdrs(ledger.first_day, last, client=client)
    everything = spend_anomalies(msgs, min_impact=0, min_impact_pct=0)
    found = spend_anomalies(msgs)
    campaigns = [d for d in ledger.spike_days if d <= last]
    assert 1 <= len(found) < len(everything)
    assert [d.date() for d in found["period"]] == campaigns
    assert set(found["currency"]) == {"USD"} and set(found["kind"]) == {"spike"}
    day = found.iloc[0]
    why = explain_anomaly(msgs, day, ["profile_name", "direction"], top=1)
    assert why["value"].tolist()[1] == "outbound"
    campaign = msgs[(msgs["created_at"].dt.date == day["period"].date())
                    & (msgs["profile_name"] == why["value"].iloc[0])]
    spent = sum(Decimal(str(v)) for v in campaign[campaign["currency"] == "USD"]["cost"])
    assert Decimal(str(why["cost"].iloc[0])) == spent
    assert why["share"].iloc[0] > 0.8


# -- #12.7: a column name is `currency_column=`; `currency=` is a currency elsewhere ----------


def test_the_currency_column_is_named_currency_column_and_the_old_keyword_warns():
    df = pd.DataFrame({"cost": [0.25, 0.5, 1.0], "cur": ["USD", "USD", "EUR"],
                       "country_code": ["US", "GB", "US"]})
    want = cost_by(df, currency_column="cur")
    assert list(want["cur"].astype(str)) == ["EUR", "USD"]
    calls = {
        "cost_by": lambda **kw: cost_by(df, **kw),
        "convert": lambda **kw: convert(df, {"EUR": "1.1"}, to="USD", **kw),
        "usage_breakdown": lambda **kw: usage_breakdown(df, "country_code", "cost", **kw),
    }
    for name, call in calls.items():
        with pytest.warns(DeprecationWarning, match=rf"{name}\(currency=...\) is deprecated: "
                                                    rf"it is now {name}\(currency_column=...\)"):
            old = call(currency="cur")
        pd.testing.assert_frame_equal(old, call(currency_column="cur"))
        with pytest.raises(TypeError, match="both currency= and currency_column="):
            call(currency="cur", currency_column="cur")


def test_cost_by_on_the_packages_usage_frames_counts_their_records(sandbox_client):
    """A usage report's rows are summaries: cost_by counts the calls, messages and
    lookups behind them (named so), never its rows as if each were one record."""
    import telnyx_analytics as tx

    day = (pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=10)).strftime("%Y-%m-%d")
    calls = tx.cdrs(day, day, client=sandbox_client)
    voice = tx.cdr_usage(day, day, client=sandbox_client)
    out = cost_by(voice, "direction")
    assert list(out.columns) == ["direction", "currency", "cost", "calls", "rows"]
    assert out["calls"].sum() == len(calls) > out["rows"].sum() == len(voice)
    assert dict(out.groupby(out["direction"].astype(str))["calls"].sum()) == dict(
        calls.groupby(calls["direction"].astype(str)).size())

    messages = tx.mdrs(day, day, client=sandbox_client)
    usage = tx.mdr_usage(day, day, aggregation="none", client=sandbox_client)
    out = cost_by(usage)
    assert list(out.columns) == ["currency", "cost", "messages", "rows"]
    assert out["messages"].sum() == len(messages) > out["rows"].sum()

    # Across products every count is records, under one name.
    summary = spend_summary({"voice": voice, "messaging": usage}, freq="MS")
    assert list(summary.columns) == ["period", "product", "currency", "cost", "count"]
    by_product = summary.groupby(summary["product"].astype(str))["count"].sum()
    assert (by_product["voice"], by_product["messaging"]) == (len(calls), len(messages))
    # An explicit count still wins; a column of another type is refused.
    assert "parts" in cost_by(usage, count="parts").columns
