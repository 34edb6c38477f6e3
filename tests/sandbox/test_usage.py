"""Usage aggregations of the sandbox (usage.py): exact money, totals that add up."""

from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest

from telnyx_analytics.sandbox import usage
from telnyx_analytics.sandbox.ledger import Ledger


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger(5, "KEYusage", days=10, until=date(2024, 2, 10), scale=0.2)


@pytest.fixture(scope="module")
def window(ledger: Ledger) -> tuple[pd.Timestamp, pd.Timestamp]:
    return ledger.start + pd.Timedelta(days=2), ledger.now - pd.Timedelta(days=1)


# -- format_money ---------------------------------------------------------------------------


def _reference(micro: int, decimals: int) -> str:
    """The same value through Decimal: an independent route to the expected string."""
    value = (Decimal(micro) / Decimal(1_000_000)).quantize(
        Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP
    )
    text = f"{value:f}"
    return text[1:] if text.startswith("-") and Decimal(text) == 0 else text


@pytest.mark.parametrize("decimals", [0, 2, 4, 6, 8])
def test_format_money_matches_decimal_arithmetic(decimals: int) -> None:
    rng = random.Random(decimals)
    values = [0, 1, -1, 49, 50, -50, 999_999, 10**15 + 7, -(10**12) - 500_000]
    values += [rng.randrange(-(10**13), 10**13) for _ in range(300)]
    expected = [_reference(v, decimals) for v in values]
    assert [usage.format_money(v, decimals) for v in values] == expected
    series = usage.format_money(pd.Series(values, index=range(5, 5 + len(values))), decimals)
    assert series.tolist() == expected
    assert list(series.index) == list(range(5, 5 + len(values)))
    assert usage.format_money(np.array(values, dtype=np.int64), decimals).tolist() == expected


def test_format_money_handles_numpy_scalars_and_rejects_negative_decimals() -> None:
    assert usage.format_money(np.int64(1_234_999), 2) == "1.23"
    assert usage.format_money(np.int64(1_235_000), 2) == "1.24"
    assert usage.format_money(pd.Series([], dtype="int64"), 4).tolist() == []
    with pytest.raises(ValueError, match="decimals"):
        usage.format_money(1, -1)


# -- aggregations ---------------------------------------------------------------------------


def test_messaging_usage_adds_up_to_the_records(ledger: Ledger, window: tuple) -> None:
    start, end = window
    messages = ledger.messages(start, end)
    total = usage.messaging_usage(ledger, start, end, [])
    by_day = usage.messaging_usage(ledger, start, end, ["date", "direction", "profile_id"])
    assert list(total.columns) == ["currency", *usage.MESSAGING_METRICS]
    assert list(by_day.columns[:4]) == ["date", "direction", "profile_id", "currency"]
    for frame in (total, by_day):
        assert all(frame[m].dtype == np.int64 for m in usage.MESSAGING_METRICS)
    # Per currency, grouping finer never changes the totals.
    coarse = total.set_index("currency")
    fine = by_day.groupby("currency")[usage.MESSAGING_METRICS].sum()
    pd.testing.assert_frame_equal(coarse.sort_index(), fine.sort_index(), check_names=False)
    # And the totals are the records' own.
    outbound = messages["direction"].astype(str) == "outbound"
    assert total["sent"].sum() == outbound.sum()
    assert total["received"].sum() == (~outbound).sum()
    assert (
        total["delivered"].sum()
        == (outbound & (messages["status"].astype(str) == "DELIVERED")).sum()
    )
    for currency, group in messages.groupby(messages["currency"].astype(str), observed=True):
        row = coarse.loc[currency]
        assert row["cost_micro"] == group["cost_micro"].sum()
        assert row["carrier_fee_micro"] == group["carrier_fee_micro"].sum()
        assert row["parts"] == group["parts"].sum()
    days = sorted(set(by_day["date"]))
    assert days == sorted({d.strftime("%Y-%m-%d") for d in messages["created_at"]})


def test_messaging_usage_profiles_filter(ledger: Ledger, window: tuple) -> None:
    start, end = window
    profiles = ledger.profiles
    one_id, one_name = profiles["profile_id"].iloc[0], profiles["profile_name"].iloc[1]
    by_profile = usage.messaging_usage(ledger, start, end, ["profile_id"])
    kept = usage.messaging_usage(ledger, start, end, ["profile_id"], profiles=[one_id, one_name])
    wanted = {one_id, profiles["profile_id"].iloc[1]}
    assert set(kept["profile_id"]) == wanted
    expected = by_profile[by_profile["profile_id"].isin(wanted)].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), expected)


def test_voice_usage_and_connections(ledger: Ledger, window: tuple) -> None:
    start, end = window
    calls = ledger.calls(start, end)
    by_connection = usage.voice_usage(ledger, start, end, ["connection_id", "direction"])
    assert by_connection["calls"].sum() == len(calls)
    assert by_connection["call_sec"].sum() == calls["duration_sec"].sum()
    assert by_connection["billed_sec"].sum() == calls["billable_sec"].sum()
    connection = str(calls["connection_id"].iloc[0])
    only = usage.voice_usage(ledger, start, end, ["direction"], connections=[int(connection)])
    mine = calls[calls["connection_id"].astype(str) == connection]
    assert only["calls"].sum() == len(mine) > 0
    assert only["cost_micro"].sum() == mine["cost_micro"].sum()
    assert usage.voice_usage(ledger, start, end, [], connections=["0"]).empty


def test_wireless_and_lookup_usage(ledger: Ledger, window: tuple) -> None:
    start, end = window
    sessions = ledger.wireless(start, end)
    wireless = usage.wireless_usage(ledger, start, end, ["sim_group_name", "mcc"])
    assert wireless["sessions"].sum() == len(sessions)
    assert wireless["uplink_cmb"].sum() == sessions["uplink_cmb"].sum()
    assert wireless["downlink_cmb"].sum() == sessions["downlink_cmb"].sum()
    assert wireless["cost_micro"].sum() == sessions["cost_micro"].sum()
    lookups = ledger.lookups(start, end)
    dips = usage.lookup_usage(ledger, start, end, ["lookup_type", "date"])
    assert dips["total_dips"].sum() == len(lookups)
    assert set(dips["lookup_type"]) == set(lookups["lookup_type"].astype(str))


def test_empty_windows_keep_their_columns(ledger: Ledger) -> None:
    before = ledger.start - pd.Timedelta(days=30)
    for frame, metrics in [
        (usage.messaging_usage(ledger, before, before + pd.Timedelta(days=1), ["tags"]),
         usage.MESSAGING_METRICS),
        (usage.voice_usage(ledger, before, before, ["date"]), usage.VOICE_METRICS),
        (usage.wireless_usage(ledger, ledger.now, ledger.start, []), usage.WIRELESS_METRICS),
        (usage.lookup_usage(ledger, before, before, ["user_id"]), usage.LOOKUP_METRICS),
    ]:  # fmt: skip
        assert frame.empty
        assert "currency" in frame.columns and all(frame[m].dtype == np.int64 for m in metrics)


def test_billing_group_costs_cover_the_months_calls(ledger: Ledger) -> None:
    month = ledger.now.month
    costs = usage.billing_group_costs(ledger, month, ledger.now.year)
    assert list(costs.columns) == [
        "billing_group_id", "billing_group_name", "product", "currency", "cost_micro",
    ]  # fmt: skip
    start, end = usage.month_window(month, ledger.now.year)
    calls = ledger.calls(start, end)
    assert costs["cost_micro"].sum() == calls["cost_micro"].sum() > 0
    names = dict(
        zip(
            ledger.billing_groups["billing_group_id"],
            ledger.billing_groups["billing_group_name"],
            strict=True,
        )
    )
    assert all(
        names[i] == n
        for i, n in zip(costs["billing_group_id"], costs["billing_group_name"], strict=True)
    )
    assert usage.billing_group_costs(ledger, 1, 1999).empty
    with pytest.raises(ValueError, match="month"):
        usage.month_window(13, 2024)


def test_usage_rows_mark_unused_columns_all(ledger: Ledger, window: tuple) -> None:
    start, end = window
    mdr = usage.mdr_usage_rows(ledger, start, end, "TAGS")
    assert set(mdr["profile_id"]) == {"All"} and "All" not in set(mdr["tags"])
    assert all(isinstance(v, str) for v in mdr.to_numpy().ravel())
    total = sum(Decimal(c) for c in mdr["cost"])
    assert total == Decimal(int(ledger.messages(start, end)["cost_micro"].sum())) / 1_000_000
    cdr = usage.cdr_usage_rows(ledger, start, end, "BILLING_GROUP", "DID_VS_TOLL_FREE")
    assert set(cdr["connection_id"]) == set(cdr["tags"]) == set(cdr["country_code"]) == {"All"}
    assert set(cdr["tn_type"]) <= {"DID", "TF"} and "All" not in set(cdr["billing_group_id"])
    assert cdr["calls"].sum() == len(ledger.calls(start, end))
