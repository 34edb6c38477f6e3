"""The sandbox's synthetic ledger: determinism, windows, money, ids and session trees."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from telnyx_analytics.sandbox.generators import BUILDERS
from telnyx_analytics.sandbox.ledger import CAMPAIGN_EVERY, Ledger, format_micro

UNTIL = dt.date(2025, 3, 30)  # a Sunday, long past: the ledger's days are all whole
KINDS = ("messages", "calls", "call_events", "session_events", "wireless", "lookups")
TIME = {"messages": "created_at", "calls": "start_time", "call_events": "event_timestamp",
        "session_events": "created_at", "wireless": "created_at",
        "lookups": "created_at"}  # fmt: skip
E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# ITU country calling codes (domain facts, not the ledger's table).
DIAL = {"US": "1", "CA": "1", "GB": "44", "DE": "49", "FR": "33", "NL": "31", "ES": "34",
        "IT": "39", "IE": "353", "AU": "61", "BR": "55", "MX": "52", "IN": "91", "JP": "81",
        "SG": "65", "ZA": "27", "SE": "46", "PL": "48", "PH": "63", "NZ": "64"}  # fmt: skip
EURO = {"DE", "FR", "NL", "ES", "IT", "IE"}


def day_window(led: Ledger, day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    lo = pd.Timestamp(day, tz="UTC")
    return lo, lo + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


@pytest.fixture(scope="module")
def led() -> Ledger:
    return Ledger(11, "KEY-ALPHA", days=35, until=UNTIL)


@pytest.fixture(scope="module")
def day(led: Ledger) -> dt.date:
    """A whole weekday that is not the campaign day."""
    d = UNTIL - dt.timedelta(days=4)
    return d if not led.is_spike_day(d) else d - dt.timedelta(days=1)


@pytest.fixture(scope="module")
def frames(led: Ledger, day: dt.date) -> dict[str, pd.DataFrame]:
    lo, hi = day_window(led, day)
    return {k: getattr(led, k)(lo, hi) for k in KINDS}


# -- construction, time and laziness ------------------------------------------------------------


def test_period_and_now_follow_until_and_days():
    led = Ledger(1, "K", days=10, until=UNTIL)
    assert led.last_day == UNTIL
    assert led.first_day == UNTIL - dt.timedelta(days=9)
    assert led.start == pd.Timestamp("2025-03-21", tz="UTC")
    assert led.now == pd.Timestamp("2025-03-30 23:59:59.999999", tz="UTC")
    assert all(led.first_day <= d <= led.last_day for d in led.spike_days)


def test_now_is_the_clock_when_the_last_day_is_today():
    clock = dt.datetime(2025, 3, 30, 12, 30, tzinfo=dt.UTC)
    led = Ledger(1, "K", days=3, now=clock)
    assert led.last_day == dt.date(2025, 3, 30)
    assert led.now == pd.Timestamp(clock)


def test_campaign_days_recur_on_the_calendar_so_any_30_days_hold_one():
    phases = set()
    for key in ("a", "b", "c", "d", "e", "f"):
        led = Ledger(5, key, days=90, until=UNTIL)
        days = led.spike_days
        every = [led.first_day + dt.timedelta(days=i) for i in range(led.days)]
        assert days == [d for d in every if led.is_spike_day(d)]
        assert {(b - a).days for a, b in itertools.pairwise(days)} == {CAMPAIGN_EVERY}
        for i in range(led.days - 29):  # every 30 whole days of the ledger
            assert any(every[i] <= d <= every[i + 29] for d in days), (key, every[i])
        # The same account over other windows: the same calendar days.
        for days_, until in ((10, UNTIL), (200, UNTIL + dt.timedelta(days=40))):
            other = Ledger(5, key, days=days_, until=until)
            assert [d for d in other.spike_days if led.first_day <= d <= UNTIL] == [
                d for d in days if other.first_day <= d <= other.last_day]
        phases.add(days[0])
    assert len(phases) > 1  # accounts differ in when their campaigns fall


def test_construction_is_lazy_even_at_scale_50():
    led = Ledger(1, "K", days=90, scale=50)
    assert led.generated == 0
    assert led.cache_info()["tables"] == 0
    assert isinstance(led.account_id, str) and UUID.match(led.account_id)
    # Static tables come from their own stream and build no day.
    assert len(led.phone_numbers) and led.generated == 0


def test_one_day_builds_only_that_day():
    led = Ledger(1, "K", days=90, until=UNTIL, scale=50)
    lo, _ = day_window(led, UNTIL - dt.timedelta(days=3))
    led.lookups(lo, lo + pd.Timedelta(hours=1))
    assert led.generated == 1
    led.lookups(lo, lo + pd.Timedelta(hours=2))  # the same day again: from the cache
    assert led.generated == 1


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="days"):
        Ledger(1, "K", days=0)
    with pytest.raises(ValueError, match="scale"):
        Ledger(1, "K", scale=-1)


# -- determinism ----------------------------------------------------------------------------------


def test_same_seed_and_key_give_identical_frames(led: Ledger, day: dt.date, frames):
    twin = Ledger(11, "KEY-ALPHA", days=35, until=UNTIL)
    lo, hi = day_window(twin, day)
    for kind in KINDS:
        pd.testing.assert_frame_equal(getattr(twin, kind)(lo, hi), frames[kind], obj=kind)
    for table in ("profiles", "connections", "billing_groups", "phone_numbers", "sim_cards"):
        pd.testing.assert_frame_equal(getattr(twin, table), getattr(led, table), obj=table)
    assert (twin.account_id, twin.user_id) == (led.account_id, led.user_id)


def test_a_day_does_not_depend_on_the_period_around_it(day: dt.date, frames):
    other = Ledger(11, "KEY-ALPHA", days=60, until=UNTIL + dt.timedelta(days=11))
    lo, hi = day_window(other, day)
    for kind in ("messages", "calls", "wireless", "lookups"):
        pd.testing.assert_frame_equal(getattr(other, kind)(lo, hi), frames[kind], obj=kind)


def day_hashes(led: Ledger, days: list[dt.date]) -> dict[tuple[str, dt.date], int]:
    """A hash of every kind of record (every public table the sandbox serves) per day."""
    return {
        (name, day): int(pd.util.hash_pandas_object(led.table(name, day), index=False).sum())
        for name in BUILDERS if not name.startswith("_") for day in days
    }


def test_the_past_does_not_move_with_until_days_or_now():
    """Same seed and key, windows a day apart (``until``, ``days``, or ``now`` as
    ``serve(now=...)`` sets it): every day both cover has the same records, campaigns too."""
    until, key = dt.date(2025, 4, 20), "KEY-PAST"
    base = Ledger(9, key, days=40, until=until, scale=0.1)
    clock = dt.datetime(2025, 4, 20, 13, 15, tzinfo=dt.UTC)
    others = [
        Ledger(9, key, days=40, until=until + dt.timedelta(days=1), scale=0.1),
        Ledger(9, key, days=40, until=until - dt.timedelta(days=1), scale=0.1),
        Ledger(9, key, days=30, until=until, scale=0.1),
        Ledger(9, key, days=40, now=clock, scale=0.1),  # today, 13:15: a partial day
        Ledger(9, key, days=40, now=clock + dt.timedelta(days=1), scale=0.1),
    ]
    for other in others:
        last_whole = (other.now + pd.Timedelta(microseconds=1)).date() - dt.timedelta(days=1)
        both = [d.date() for d in pd.date_range(max(base.first_day, other.first_day),
                                                 min(until, last_whole))]
        assert any(base.is_spike_day(d) for d in both)  # a campaign is compared too
        assert day_hashes(other, both) == day_hashes(base, both), repr(other)
        for table in ("profiles", "connections", "billing_groups", "phone_numbers", "sim_cards"):
            pd.testing.assert_frame_equal(getattr(other, table), getattr(base, table), obj=table)
    # Today's partial day is the whole day's records so far.
    partial = others[3]
    whole = base.table("messages", until)
    cut = whole[whole["created_at"] <= partial.now].reset_index(drop=True)
    pd.testing.assert_frame_equal(partial.table("messages", until), cut)


def test_other_keys_and_seeds_are_other_accounts(led: Ledger, day: dt.date, frames):
    lo, hi = day_window(led, day)
    for other in (Ledger(11, "KEY-BETA", days=35, until=UNTIL),
                  Ledger(12, "KEY-ALPHA", days=35, until=UNTIL)):  # fmt: skip
        assert other.account_id != led.account_id
        theirs = other.messages(lo, hi)
        assert not set(theirs["id"]) & set(frames["messages"]["id"])
        assert len(theirs) != len(frames["messages"]) or not theirs["cld"].equals(
            frames["messages"]["cld"]
        )
        assert set(other.phone_numbers["phone_number"]) != set(led.phone_numbers["phone_number"])


def test_evicted_days_come_back_identical(day: dt.date, frames):
    small = Ledger(11, "KEY-ALPHA", days=35, until=UNTIL)
    small.max_cache_bytes = 1  # keep (almost) nothing
    lo, hi = day_window(small, day)
    first = small.calls(lo, hi)
    small.calls(lo - pd.Timedelta(days=2), lo - pd.Timedelta(days=1))  # pushes the day out
    built = small.generated
    again = small.calls(lo, hi)
    assert small.generated > built  # it really was rebuilt
    pd.testing.assert_frame_equal(again, first)
    pd.testing.assert_frame_equal(again, frames["calls"])
    assert small.cache_info()["tables"] <= 3  # only the tables of the last build


def test_threads_get_the_same_answers(day: dt.date, frames):
    fresh = Ledger(11, "KEY-ALPHA", days=35, until=UNTIL)
    lo, hi = day_window(fresh, day)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda k: (k, getattr(fresh, k)(lo, hi)), KINDS * 2))
    for kind, frame in results:
        pd.testing.assert_frame_equal(frame, frames[kind], obj=kind)
    # Each (builder, day) ran once although six threads asked at the same time: calls,
    # sessions, messages, wireless, lookups, call events, and the events of two days of
    # calls (the day before's may hang up after midnight) with those calls.
    assert fresh.generated == fresh.cache_info()["generated"] == 9


# -- windows --------------------------------------------------------------------------------------


def test_frames_are_sorted_and_inside_the_window(led: Ledger, day: dt.date, frames):
    lo, hi = day_window(led, day)
    for kind, frame in frames.items():
        ts = frame[TIME[kind]]
        assert len(frame) > 0, kind
        assert ts.is_monotonic_increasing, kind
        assert ts.min() >= lo and ts.max() <= hi, kind
        assert str(ts.dtype) == "datetime64[ns, UTC]", kind


def test_windows_are_inclusive_at_both_ends(led: Ledger, frames):
    msgs = frames["messages"]
    first, last = msgs["created_at"].iloc[10], msgs["created_at"].iloc[20]
    got = led.messages(first, last)
    assert list(got["id"]) == list(msgs["id"].iloc[10:21])
    exact = led.calls(frames["calls"]["start_time"].iloc[5], frames["calls"]["start_time"].iloc[5])
    assert list(exact["call_leg_id"]) == [frames["calls"]["call_leg_id"].iloc[5]]


def test_a_window_across_days_is_the_days_joined(led: Ledger, day: dt.date, frames):
    prev = day - dt.timedelta(days=1)
    lo, _ = day_window(led, prev)
    _, hi = day_window(led, day)
    both = led.calls(lo, hi)
    expected = pd.concat([led.calls(*day_window(led, prev)), frames["calls"]], ignore_index=True)
    pd.testing.assert_frame_equal(both, expected)


def test_naive_bounds_are_utc(led: Ledger, day: dt.date, frames):
    lo, hi = day_window(led, day)
    got = led.lookups(lo.tz_localize(None), hi.tz_localize(None))
    pd.testing.assert_frame_equal(got, frames["lookups"])


def test_windows_clip_to_the_ledger(led: Ledger):
    before = led.start - pd.Timedelta(days=5)
    assert led.lookups(before, led.start - pd.Timedelta(microseconds=1)).empty
    after = led.now + pd.Timedelta(microseconds=1)
    assert led.lookups(after, after + pd.Timedelta(days=3)).empty
    first_hour = led.lookups(before, led.start + pd.Timedelta(hours=3))
    assert first_hour["created_at"].min() >= led.start


def test_nothing_happens_after_now():
    now = dt.datetime(2025, 3, 30, 14, 0, tzinfo=dt.UTC)
    led = Ledger(2, "K", days=2, now=now)
    far = pd.Timestamp("2030-01-01", tz="UTC")
    stamp = pd.Timestamp(now)
    for kind in KINDS:
        frame = getattr(led, kind)(led.start, far)
        assert len(frame) and frame[TIME[kind]].max() <= stamp, kind
    calls = led.calls(led.start, far)
    assert (calls["end_time"] <= stamp).all()  # a call still going has no record yet
    # ...but its events so far are there: the afternoon's last events outlive the last CDR.
    events = led.call_events(led.start, far)
    assert events["event_timestamp"].max() > calls["end_time"].max() - pd.Timedelta(minutes=30)


def test_empty_windows_keep_every_column_and_dtype(led: Ledger, frames):
    lo = led.start - pd.Timedelta(days=3)
    for kind in KINDS:
        empty = getattr(led, kind)(lo, lo + pd.Timedelta(hours=1))
        assert empty.empty, kind
        assert list(empty.columns) == list(frames[kind].columns), kind
        pd.testing.assert_series_equal(empty.dtypes, frames[kind].dtypes, obj=kind)
        reversed_window = getattr(led, kind)(led.now, led.start)
        assert reversed_window.empty and list(reversed_window.columns) == list(empty.columns)


def test_a_scale_of_zero_is_an_empty_account():
    led = Ledger(1, "K", days=2, until=UNTIL, scale=0)
    for kind in KINDS:
        assert getattr(led, kind)(led.start, led.now).empty, kind


# -- columns and money ---------------------------------------------------------------------------


def test_expected_columns(frames):
    assert list(frames["messages"].columns) == [
        "id", "created_at", "direction", "message_type", "status", "cli", "cld", "country_code",
        "profile_id", "profile_name", "tags", "tn_type", "parts", "rate_micro", "cost_micro",
        "carrier_fee_micro", "currency", "call_session_id"]  # fmt: skip
    assert list(frames["calls"].columns) == [
        "call_leg_id", "call_session_id", "start_time", "answer_time", "end_time", "direction",
        "cli", "cld", "country_code", "connection_id", "connection_name", "product", "tags",
        "billing_group_id", "billing_group_name", "tn_type", "status", "hangup_cause",
        "duration_sec", "billable_sec", "rate_micro", "cost_micro", "currency", "sip_call_id",
        "mos", "pdd_ms"]  # fmt: skip
    assert list(frames["call_events"].columns) == [
        "event_id", "call_leg_id", "call_session_id", "event_timestamp", "name", "type",
        "connection_id", "application_name", "product", "from", "to", "failed", "status",
        "outbound_voice_profile_id"]  # fmt: skip
    assert list(frames["wireless"].columns) == [
        "id", "created_at", "sim_card_id", "sim_group_id", "sim_group_name", "imsi", "mcc", "mnc",
        "phone_number", "duration_sec", "uplink_cmb", "downlink_cmb", "rate_micro", "cost_micro",
        "currency"]  # fmt: skip
    assert list(frames["lookups"].columns) == [
        "id", "created_at", "lookup_type", "phone_number", "cost_micro", "currency", "user_id"]
    se = frames["session_events"]
    for col in ("id", "call_session_id", "parent_id", "record_type", "product", "event_name",
                "created_at", "cost_micro", "currency"):  # fmt: skip
        assert col in se.columns
    for kind, frame in frames.items():
        for col in frame.columns:
            if col.endswith("_micro"):
                assert frame[col].dtype == np.int64, (kind, col)


def test_message_money(frames):
    m = frames["messages"]
    assert (m["cost_micro"] == m["rate_micro"] * m["parts"]).all()
    assert (m["parts"] >= 1).all() and (m.loc[m["message_type"] == "MMS", "parts"] == 1).all()
    assert (m["rate_micro"] % 100 == 0).all()  # rates have 4 decimals
    assert (m.loc[m["direction"] == "inbound", "carrier_fee_micro"] == 0).all()
    assert (m["carrier_fee_micro"] > 0).any()


def test_call_money_and_billable_rounding(frames):
    c = frames["calls"]
    answered = c["answer_time"].notna()
    assert answered.mean() > 0.7
    assert (c["billable_sec"] % 60 == 0).all()
    assert (c.loc[~answered, ["duration_sec", "billable_sec"]] == 0).all().all()
    d = c.loc[answered, "duration_sec"]
    assert (d >= 1).all()
    assert (c.loc[answered, "billable_sec"] == np.ceil(d / 60).astype(np.int64) * 60).all()
    assert (c["billable_sec"] - c["duration_sec"]).between(0, 59).all()
    talk = (c.loc[answered, "end_time"] - c.loc[answered, "answer_time"]).dt.total_seconds()
    assert (np.ceil(talk).astype(np.int64) == d).all()
    assert (c["cost_micro"] * 60 == c["rate_micro"] * c["billable_sec"]).all()
    assert (c["rate_micro"] % 100 == 0).all()
    assert (c["start_time"] <= c["end_time"]).all()
    assert ((c["answer_time"] >= c["start_time"]) | ~answered).all()
    assert (c.loc[answered, "status"] == "complete").all()
    assert c.loc[~answered, "mos"].isna().all() and c.loc[answered, "mos"].between(1, 5).all()


def test_wireless_money(frames):
    w = frames["wireless"]
    assert (w["rate_micro"] % 100 == 0).all()
    # cost = rate x (uplink + downlink) MB, exactly: MB are hundredths (cmb).
    assert (w["cost_micro"] * 100 == w["rate_micro"] * (w["uplink_cmb"] + w["downlink_cmb"])).all()
    assert (w["downlink_cmb"] > 0).all() and (w["uplink_cmb"] >= 0).all()
    assert w["duration_sec"].dtype == np.float64 and (w["duration_sec"] > 0).all()


def test_currency_follows_the_country(frames):
    for kind in ("messages", "calls"):
        f = frames[kind]
        pairs = set(zip(f["country_code"].astype(str), f["currency"].astype(str), strict=True))
        for country, currency in pairs:
            expected = {"GB": "GBP", "CA": "CAD", "AU": "AUD"}.get(country, "USD")
            assert currency == ("EUR" if country in EURO else expected), (kind, country)
    assert set(frames["lookups"]["currency"].astype(str)) == {"USD"}
    assert (frames["messages"]["currency"] == "USD").mean() > 0.5


def test_format_micro_is_exact():
    assert format_micro(4000, 4) == "0.0040"
    assert format_micro(123_456_789) == "123.456789"
    assert format_micro(-5) == "-0.000005"
    with pytest.raises(ValueError):
        format_micro(12_345, 4)


# -- phone numbers and ids -------------------------------------------------------------------


def test_phone_numbers_are_e164(led: Ledger, frames):
    numbers = led.phone_numbers
    assert numbers["phone_number"].str.match(E164.pattern).all()
    assert numbers["phone_number"].is_unique
    for row in numbers.itertuples():
        assert row.phone_number[1:].startswith(DIAL[row.country_code])
    assert (numbers["status"] == "active").mean() > 0.8
    assert set(numbers["status"]) <= {"purchase-pending", "purchase-failed", "port-pending",
                                       "active", "deleted", "port-failed", "emergency-only",
                                       "ported-out", "port-out-pending"}  # fmt: skip
    assert (numbers["created_at"] < led.start).all()
    assert led.sim_cards["phone_number"].str.match(E164.pattern).all()
    m = frames["messages"]
    assert m.loc[m["tn_type"] != "SC", "cli"].str.match(E164.pattern).all()
    assert m["cld"].str.match(E164.pattern).all()
    assert m.loc[m["tn_type"] == "SC", "cli"].str.fullmatch(r"[0-9]{5,6}").all()
    c = frames["calls"]
    assert c["cli"].str.match(E164.pattern).all() and c["cld"].str.match(E164.pattern).all()
    assert frames["lookups"]["phone_number"].str.match(E164.pattern).all()
    # The remote party is in the row's country; the account's own number is one it owns.
    remote = np.where(m["direction"] == "outbound", m["cld"], m["cli"])
    for number, country in zip(remote, m["country_code"].astype(str), strict=True):
        assert number[1:].startswith(DIAL[country]), (number, country)
    own = set(numbers["phone_number"])
    assert set(np.where(c["direction"] == "outbound", c["cli"], c["cld"])) <= own
    assert len(m["country_code"].unique()) >= 10


def test_ids_are_uuid_shaped_and_unique(frames):
    for kind, col in (("messages", "id"), ("calls", "call_leg_id"), ("calls", "call_session_id"),
                      ("call_events", "event_id"), ("session_events", "id"), ("wireless", "id"),
                      ("lookups", "id")):  # fmt: skip
        ids = frames[kind][col]
        assert ids.str.match(UUID.pattern).all(), (kind, col)
        assert ids.is_unique, (kind, col)
        # Uniformly spread: no shared prefix between neighbours, like random uuids.
        assert ids.str[:4].nunique() > len(ids) * 0.5 or len(ids) < 50


def test_locate_round_trips_for_each_kind(led: Ledger, frames):
    cases = [
        ("message", frames["messages"], "id"),
        ("call", frames["calls"], "call_leg_id"),
        ("call", frames["calls"], "call_session_id"),
        ("session_event", frames["session_events"], "id"),
        ("wireless", frames["wireless"], "id"),
        ("lookup", frames["lookups"], "id"),
    ]
    for kind, frame, col in cases:
        for i in (0, len(frame) // 2, len(frame) - 1):
            expected = frame.iloc[i]
            found = led.locate(expected[col])
            assert found is not None, (kind, col)
            assert found[0] == kind
            pd.testing.assert_series_equal(found[1], expected, check_names=False)
    linked = frames["messages"][frames["messages"]["call_session_id"] != ""]
    assert len(linked)
    kind, row = led.locate(linked["id"].iloc[0])
    assert kind == "message" and row["call_session_id"] == linked["call_session_id"].iloc[0]


def test_locate_rejects_foreign_and_unknown_ids(led: Ledger, frames):
    other = Ledger(11, "KEY-BETA", days=35, until=UNTIL)
    lo, hi = led.start, led.start + pd.Timedelta(hours=12)
    foreign = [
        other.messages(lo, hi)["id"].iloc[0],
        other.calls(lo, hi)["call_leg_id"].iloc[0],
        other.session_events(lo, hi)["id"].iloc[0],
        other.wireless(lo, hi)["id"].iloc[0],
        other.lookups(lo, hi)["id"].iloc[0],
    ]
    for event_id in foreign:
        assert led.locate(event_id) is None
        assert led.session(event_id) is None
    reseeded = Ledger(99, "KEY-ALPHA", days=35, until=UNTIL)
    assert reseeded.locate(frames["messages"]["id"].iloc[0]) is None
    for junk in (str(uuid.UUID(int=0)), str(uuid.uuid4()), "not-an-id", "", "call-123"):
        assert led.locate(junk) is None
    # A valid id that is not a record kind locate() knows (a call event) is refused too.
    assert led.locate(frames["call_events"]["event_id"].iloc[0]) is None
    # One flipped character breaks the keyed tag.
    good = frames["messages"]["id"].iloc[0]
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert led.locate(flipped) is None
    assert led.locate(good.upper())[0] == "message"


def test_ids_of_a_day_outside_the_period_are_unknown(led: Ledger, frames):
    wider = Ledger(11, "KEY-ALPHA", days=60, until=UNTIL)
    early = wider.lookups(wider.start, wider.start + pd.Timedelta(hours=6))["id"].iloc[0]
    assert wider.locate(early) is not None
    assert led.locate(early) is None  # same account, but before this ledger's first day


# -- sessions --------------------------------------------------------------------------------------


def test_a_minority_of_answered_calls_grow_session_trees(frames):
    calls, se = frames["calls"], frames["session_events"]
    linked = frames["messages"]
    sessions = set(se["call_session_id"]) | set(linked.loc[linked["call_session_id"] != "",
                                                           "call_session_id"])  # fmt: skip
    share = len(sessions & set(calls["call_session_id"])) / len(calls)
    assert 0.07 <= share <= 0.2
    assert set(se["record_type"].astype(str)) == {
        "recordings", "transcriptions", "ai-voice-assistant", "inference"}
    inference = se[se["record_type"] == "inference"]
    assert (inference["tokens"] > 0).all() and inference["model"].notna().all()
    assert se.loc[se["record_type"] != "inference", "tokens"].isna().all()
    assert (se["cost_micro"] > 0).all()


def test_session_children_happen_during_their_call_and_day(frames):
    calls = frames["calls"][["call_session_id", "start_time", "answer_time", "end_time",
                             "currency"]]  # fmt: skip
    m = frames["messages"]
    for name, children in (("session_events", frames["session_events"]),
                           ("linked messages", m[m["call_session_id"] != ""])):  # fmt: skip
        j = children.merge(calls, on="call_session_id", suffixes=("", "_call"))
        assert len(j) == len(children), name  # every child's call is in the same day
        assert (j["created_at"] >= j["answer_time"]).all(), name
        assert (j["created_at"].dt.date == j["start_time"].dt.date).all(), name
        assert (j["currency"] == j["currency_call"]).all(), name
        during = j[j.get("record_type", pd.Series("x", index=j.index)) != "transcriptions"]
        assert (during["created_at"] <= during["end_time"]).all(), name


def test_session_trees_hold_together(led: Ledger, frames):
    se = frames["session_events"]
    max_depth = 0
    for csid in se["call_session_id"].drop_duplicates().iloc[:40]:
        tree = led.session(csid)
        assert tree is not None
        assert list(tree.columns) == ["id", "parent_id", "record_type", "product", "event_name",
                                      "created_at", "cost_micro", "currency", "record"]  # fmt: skip
        roots = tree[tree["parent_id"].isna()]
        assert len(roots) == 1 and roots.index[0] == 0
        assert tree["parent_id"].iloc[0] is None
        assert tree["record_type"].iloc[0] == "callcontrol-cdrs"
        assert tree["id"].is_unique
        seen: dict[str, int] = {}
        for row in tree.itertuples():
            if row.parent_id is not None:
                assert row.parent_id in seen, "a parent comes before its children"
                seen[row.id] = seen[row.parent_id] + 1
            else:
                seen[row.id] = 0
        max_depth = max(max_depth, *seen.values())
        assert tree["currency"].nunique() == 1
        assert tree["cost_micro"].dtype == np.int64
        for node_id in tree["id"]:
            assert led.locate(node_id) is not None
            # Any id of the session gives the same tree.
        pd.testing.assert_frame_equal(led.session(tree["id"].iloc[-1]), tree)
        call = led.locate(tree["id"].iloc[0])[1]
        assert call["call_session_id"] == csid
        assert tree["cost_micro"].iloc[0] == call["cost_micro"]
        assert tree["record"].iloc[0]["cost"] == format_micro(call["cost_micro"])
        children = tree.iloc[1:]
        assert (children["created_at"] >= call["start_time"]).all()
        assert (children["created_at"] >= pd.Timestamp(call["answer_time"])).all()
    assert max_depth >= 2


def test_some_sessions_are_three_deep(led: Ledger, frames):
    # An assistant's inference that sends a message: call -> assistant -> inference -> message.
    m = frames["messages"]
    linked = m[m["call_session_id"] != ""]
    depths = []
    for msg_id in linked["id"]:
        tree = led.session(msg_id)
        parents = dict(zip(tree["id"], tree["parent_id"], strict=True))
        depth, node = 0, msg_id
        while parents[node] is not None:
            node, depth = parents[node], depth + 1
        depths.append(depth)
        assert tree["currency"].iloc[0] == m.loc[m["id"] == msg_id, "currency"].iloc[0]
    assert max(depths) == 3 and min(depths) == 1


def test_session_records_are_json(led: Ledger, frames):
    import json

    tree = led.session(frames["session_events"]["id"].iloc[0])
    text = json.dumps(list(tree["record"]))
    assert "cost" in tree["record"].iloc[0] and "cost_micro" not in text
    assert re.search(r'"start_time": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"', text)


def test_session_of_a_record_outside_any_call_is_none(led: Ledger, frames):
    m = frames["messages"]
    assert led.session(m.loc[m["call_session_id"] == "", "id"].iloc[0]) is None
    assert led.session(frames["wireless"]["id"].iloc[0]) is None
    assert led.session("nonsense") is None


def test_call_events_follow_the_calls(led: Ledger, day: dt.date, frames):
    calls, ev = frames["calls"], frames["call_events"]
    ended = calls[calls["end_time"].dt.date == day]
    hangups = ev.loc[ev["name"] == "call.hangup", ["call_leg_id", "event_timestamp", "status"]]
    joined = ended.merge(hangups, on="call_leg_id", how="left", suffixes=("", "_ev"))
    assert (joined["event_timestamp"] == joined["end_time"]).all()
    assert (joined["status_ev"] == "completed").all()
    initiated = ev[ev["name"] == "call.initiated"]
    assert set(initiated["call_leg_id"]) <= set(
        led.calls(led.start, led.now)["call_leg_id"]
    )
    assert set(ev["type"].astype(str)) == {"command", "webhook"}
    assert set(ev["product"].astype(str)) <= {"call_control", "texml"}
    assert ev["failed"].dtype == bool and 0 < ev["failed"].mean() < 0.05
    recorded = ev[ev["name"] == "call.recording.saved"]["call_session_id"]
    recordings = frames["session_events"]
    recordings = recordings[recordings["record_type"] == "recordings"]["call_session_id"]
    assert len(set(recorded) & set(recordings)) > 0.8 * len(set(recordings))


# -- traffic shape ------------------------------------------------------------------------------


def test_traffic_volumes_and_daily_cycle(frames):
    n_messages, n_calls = len(frames["messages"]), len(frames["calls"])
    assert 2000 < n_messages < 5000 and 600 < n_calls < 1700
    assert 150 < len(frames["wireless"]) < 550 and 100 < len(frames["lookups"]) < 400
    hours = frames["messages"]["created_at"].dt.hour
    assert (hours.between(14, 17)).sum() > 4 * (hours.between(2, 5)).sum()
    out = (frames["messages"]["direction"] == "outbound").mean()
    assert 0.6 < out < 0.8
    statuses = frames["messages"].groupby("direction", observed=True)["status"]
    assert set(statuses.get_group("inbound").astype(str)) == {"RECEIVED"}
    assert (statuses.get_group("outbound") == "DELIVERED").mean() > 0.8


def test_weekends_are_quieter_and_scale_multiplies():
    led = Ledger(4, "K", days=14, until=UNTIL, scale=0.5)
    daily = led.lookups(led.start, led.now).groupby(
        led.lookups(led.start, led.now)["created_at"].dt.day_of_week
    ).size()
    weekend, weekday = daily.loc[[5, 6]].mean() / 2, daily.loc[[0, 1, 2, 3, 4]].mean() / 2
    assert weekend < 0.8 * weekday
    double = Ledger(4, "K", days=14, until=UNTIL, scale=1.0)
    ratio = len(double.lookups(double.start, double.now)) / daily.sum()
    assert 1.7 < ratio < 2.3


def test_campaign_days_have_several_times_the_outbound_messaging():
    led = Ledger(6, "K", days=35, until=UNTIL, scale=0.2)
    m = led.messages(led.start, led.now)
    outbound = m[m["direction"] == "outbound"].groupby(m["created_at"].dt.date).size()
    inbound = m[m["direction"] == "inbound"].groupby(m["created_at"].dt.date).size()
    assert led.spike_days
    others = outbound.drop(led.spike_days)
    for spike_day in led.spike_days:
        weekend = spike_day.weekday() >= 5
        like = others[[(d.weekday() >= 5) == weekend for d in others.index]]  # days like it
        assert outbound.loc[spike_day] > 2.5 * like.median()
        assert outbound.loc[spike_day] > others.max()
        assert inbound.loc[spike_day] < 1.6 * inbound.median()
