"""The synthetic account behind every sandbox endpoint.

One :class:`Ledger` per API key: every message, call, call event, session event, wireless
session and number lookup the sandbox ever shows comes from it, so that every endpoint
reconciles with every other. It is deterministic from ``(seed, key)``: the rows of a
``(kind, day)`` come from a random generator seeded with ``SeedSequence([seed, key_hash,
kind_index, day_ordinal])`` and nothing else, so any process rebuilds the same account.

Days are generated lazily, one ``(kind, day)`` at a time, by the generators of
:mod:`.generators`, and kept in a bounded, thread-safe :class:`~.daycache.DayCache`. Money
is integer micro-units (1e-6 of the row's currency). The choices behind the numbers are
documented in docs/sandbox.md ("Time", "Money", "Traffic").

>>> import pandas as pd
>>> led = Ledger(seed=1, key="KEY1", days=7, until=pd.Timestamp("2025-03-31").date())
>>> mdrs = led.messages(led.start, led.now)
>>> bool((mdrs["cost_micro"] == mdrs["rate_micro"] * mdrs["parts"]).all())
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from typing import Any

import numpy as np
import pandas as pd

from .daycache import DayCache
from .generators import (
    BUILDERS,
    DAY_US,
    PRODUCT_TIME_COLUMN,
    ROOT_TYPE,
    build_static,
    format_micro,
    timestamp_us,
)
from .ids import (
    K_CALL_LEG,
    K_CALL_SESSION,
    K_LOOKUP,
    K_MESSAGE,
    K_SESSION_EVENT,
    K_STATIC,
    K_WIRELESS,
    IdCodec,
)


# ----------------------------------------------------------------------------- records
def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    return value if isinstance(value, int | str) else str(value)


def _record(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON-able fields: money as 6-decimal strings without the ``_micro`` suffix."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if str(name).endswith("_micro"):
            out[str(name)[: -len("_micro")]] = None if pd.isna(value) else format_micro(value)
        elif str(name).endswith("_id") and isinstance(value, int | np.integer):
            out[str(name)] = str(value)  # ids are strings in Telnyx's JSON, even numeric ones
        else:
            out[str(name)] = _json_value(value)
    return out


# ----------------------------------------------------------------------------- the ledger
_TIME_COLUMN = {"messages": "created_at", "calls": "start_time", "call_events": "event_timestamp",
                "session_events": "created_at", "wireless": "created_at",
                "lookups": "created_at", **PRODUCT_TIME_COLUMN}  # fmt: skip
_ID_COLUMN = {"messages": "id", "calls": "call_leg_id", "call_events": "event_id",
              "session_events": "id", "wireless": "id", "lookups": "id"}  # fmt: skip

#: Where the records of each ``filter[record_type]`` of the Detail Record Search API live:
#: ``(table, session event type)``; the same rows every other endpoint shows.
DETAIL_TABLES: dict[str, tuple[str, str | None]] = {
    "messaging": ("messages", None),
    "call-control": ("calls", None),
    "wireless": ("wireless", None),
    "recording": ("session_events", "recordings"),
    "stt": ("session_events", "transcriptions"),
    "ai-voice-assistant": ("session_events", "ai-voice-assistant"),
    "inference": ("session_events", "inference"),
    **{name: (name, None) for name in PRODUCT_TIME_COLUMN},
}
#: Days from one campaign day to the next (see :meth:`Ledger.is_spike_day`): any 30 whole
#: days hold at least one, as the old single campaign in the last 30 days did.
CAMPAIGN_EVERY = 29
#: The time column of each record type's table (what windows are cut by).
DETAIL_TIME_COLUMN = {name: _TIME_COLUMN[table] for name, (table, _) in DETAIL_TABLES.items()}
_LOCATE = {  # id kind -> (what locate() calls it, the table it lives in)
    K_MESSAGE: ("message", "messages"),
    K_CALL_LEG: ("call", "calls"),
    K_CALL_SESSION: ("call", "calls"),
    K_SESSION_EVENT: ("session_event", "session_events"),
    K_WIRELESS: ("wireless", "wireless"),
    K_LOOKUP: ("lookup", "lookups"),
}


class Ledger:
    """One account's synthetic traffic, deterministic from ``(seed, key)``.

    Parameters
    ----------
    seed : int
        Seed of the whole sandbox.
    key : str
        The API key; only a hash of it is kept.
    days : int
        Whole UTC days covered, ending with ``until``.
    until : datetime.date, optional
        The last day (default: today, UTC).
    scale : float
        Multiplies every traffic count (1.0: ~3,000 messages, 1,000 calls, 300 wireless
        sessions and 200 lookups a day).
    now : datetime.datetime, optional
        The current time (default: the clock, read once here); nothing happens after it.

    Examples
    --------
    >>> import datetime
    >>> led = Ledger(7, "KEY", days=30, until=datetime.date(2025, 1, 31))
    >>> str(led.first_day), str(led.now)
    ('2025-01-02', '2025-01-31 23:59:59.999999+00:00')
    >>> led.generated  # nothing is generated before it is asked for
    0
    """

    #: Bytes of day tables kept in memory by default (least recently used dropped first).
    default_cache_bytes: int = 768 * 2**20

    def __init__(
        self,
        seed: int,
        key: str,
        *,
        days: int = 90,
        until: dt.date | None = None,
        scale: float = 1.0,
        now: dt.datetime | None = None,
    ) -> None:
        if int(days) < 1:
            raise ValueError(f"days must be a positive integer, got {days!r}")
        if not scale >= 0:
            raise ValueError(f"scale must be a number >= 0, got {scale!r}")
        self.seed = int(seed) % (1 << 64)  # SeedSequence wants non-negative entropy
        self.days = int(days)
        self.scale = float(scale)
        #: A hash of the key: the account's part of every random seed (the key is not kept).
        self.key_hash = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest())
        #: The account's id codec (what the generators stamp on rows; see :mod:`.ids`).
        self.ids = IdCodec(self.seed, self.key_hash)

        clock = pd.Timestamp(now if now is not None else dt.datetime.now(dt.UTC))
        clock = clock.tz_localize("UTC") if clock.tzinfo is None else clock.tz_convert("UTC")
        self.last_day: dt.date = until if until is not None else clock.date()
        self.first_day: dt.date = self.last_day - dt.timedelta(days=self.days - 1)
        self.start = pd.Timestamp(self.first_day, tz="UTC").as_unit("ns")
        end_of_last = pd.Timestamp(self.last_day, tz="UTC").as_unit("ns") + pd.Timedelta(
            DAY_US - 1, "us"
        )
        self.now: pd.Timestamp = min(end_of_last, clock.as_unit("ns").floor("us"))
        self.now_us = timestamp_us(self.now)  # ``now`` in microseconds since the epoch

        # Campaign days recur on the calendar, at a phase of the account's own, so that a
        # day's traffic never depends on the window the ledger was asked to cover.
        self.campaign_phase = self.key_hash % CAMPAIGN_EVERY
        self.trend_phase = (self.key_hash >> 20) % 730  # where in its two-year swell it is

        self.account_id = self.ids.one(K_STATIC, 0, 0, 0)
        self.organization_id = self.ids.one(K_STATIC, 0, 1, 0)
        self.user_id = self.ids.one(K_STATIC, 0, 2, 0)

        self._static_lock = threading.Lock()
        self._static: dict[str, Any] | None = None
        self._days = DayCache(self.default_cache_bytes)

    def __repr__(self) -> str:
        return (f"Ledger(account_id={self.account_id!r}, {self.first_day}..{self.last_day}, "
                f"scale={self.scale})")  # fmt: skip

    # ------------------------------------------------------------------ campaigns
    def is_spike_day(self, day: dt.date) -> bool:
        """Whether ``day`` is a campaign day: several times the usual outbound messaging.

        Campaigns fall every :data:`CAMPAIGN_EVERY` days of the calendar, whatever the
        ledger covers, so any 30 whole days hold at least one.

        Examples
        --------
        >>> import datetime
        >>> led = Ledger(7, "KEY", days=90, until=datetime.date(2025, 1, 31))
        >>> day = led.spike_days[0]
        >>> led.is_spike_day(day), led.is_spike_day(day + datetime.timedelta(days=1))
        (True, False)
        >>> led.is_spike_day(day + datetime.timedelta(days=CAMPAIGN_EVERY))
        True
        """
        return (day.toordinal() - self.campaign_phase) % CAMPAIGN_EVERY == 0

    @property
    def spike_days(self) -> list[dt.date]:
        """The campaign days from ``first_day`` to ``last_day``, in order.

        Examples
        --------
        >>> import datetime
        >>> led = Ledger(7, "KEY", days=30, until=datetime.date(2025, 1, 31))
        >>> 1 <= len(led.spike_days) <= 2
        True
        >>> later = Ledger(7, "KEY", days=60, until=datetime.date(2025, 2, 10))
        >>> set(led.spike_days) <= set(later.spike_days)  # the past does not move
        True
        """
        first = self.first_day.toordinal()
        start = first + (self.campaign_phase - first) % CAMPAIGN_EVERY
        return [dt.date.fromordinal(o)
                for o in range(start, self.last_day.toordinal() + 1, CAMPAIGN_EVERY)]

    # ------------------------------------------------------------------ static tables
    @property
    def profiles(self) -> pd.DataFrame:
        """Messaging profiles: ``profile_id``, ``profile_name``, ``tags``."""
        return self.static_tables()["profiles"].copy()

    @property
    def connections(self) -> pd.DataFrame:
        """Voice connections: ``connection_id``, ``connection_name``, ``product``,
        ``outbound_voice_profile_id``."""
        return self.static_tables()["connections"].copy()

    @property
    def billing_groups(self) -> pd.DataFrame:
        """Billing groups: ``billing_group_id``, ``billing_group_name``."""
        return self.static_tables()["billing_groups"].copy()

    @property
    def phone_numbers(self) -> pd.DataFrame:
        """The account's phone numbers, one row each (``tags`` comma-separated)."""
        return self.static_tables()["phone_numbers"].copy()

    @property
    def sim_cards(self) -> pd.DataFrame:
        """SIM cards: ``sim_card_id``, ``sim_group_id``, ``sim_group_name``, ``imsi``,
        ``phone_number``."""
        return self.static_tables()["sim_cards"].copy()

    def static_tables(self) -> dict[str, Any]:
        """The account's fixed tables and lookup arrays (numbers, SIMs, dtypes), built once."""
        with self._static_lock:
            if self._static is None:
                self._static = build_static(self)
            return self._static

    # ------------------------------------------------------------------ cache
    def table(self, name: str, day: dt.date | None) -> pd.DataFrame:
        """The table ``name`` of one UTC day, cached or generated (``None``: its empty schema).

        The frame is shared with the cache: copy it before changing it.
        """
        builder = BUILDERS[name]
        return self._days.get(name, day, builder.__name__, lambda d: builder(self, d))

    @property
    def generated(self) -> int:
        """Day builds run so far (an observable for tests and logs)."""
        return self._days.generated

    @property
    def max_cache_bytes(self) -> int:
        """Bytes of day tables kept in memory (least recently used are dropped first)."""
        return self._days.max_bytes

    @max_cache_bytes.setter
    def max_cache_bytes(self, value: int) -> None:
        self._days.max_bytes = int(value)

    def cache_info(self) -> dict[str, int]:
        """Cache occupancy: ``{"tables": ..., "bytes": ..., "generated": ...}``.

        Examples
        --------
        >>> Ledger(1, "K", days=3).cache_info()["tables"]
        0
        """
        return self._days.info()

    # ------------------------------------------------------------------ windows
    def _bounds(self, start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
        def utc(value: Any) -> pd.Timestamp:
            ts = pd.Timestamp(value)
            return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")

        return max(utc(start), self.start), min(utc(end), self.now)

    def _window(self, kind: str, start: Any, end: Any) -> pd.DataFrame:
        lo, hi = self._bounds(start, end)
        if lo > hi:
            return self.table(kind, None).copy()
        lo_us, hi_us = timestamp_us(lo), timestamp_us(hi)
        col = _TIME_COLUMN[kind]
        frames = []
        day = lo.date()
        while day <= hi.date():
            frame = self.table(kind, day)
            values = frame[col].array.asi8 // 1000
            a = int(np.searchsorted(values, lo_us, side="left"))
            b = int(np.searchsorted(values, hi_us, side="right"))
            if b > a:
                frames.append(frame.iloc[a:b])
            day += dt.timedelta(days=1)
        if not frames:
            return self.table(kind, None).copy()
        return pd.concat(frames, ignore_index=True)  # a new frame: the cache stays untouched

    def messages(self, start: Any, end: Any) -> pd.DataFrame:
        """Message detail records created in ``[start, end]`` (both inclusive).

        Examples
        --------
        >>> import datetime
        >>> led = Ledger(1, "KEY", days=2, until=datetime.date(2025, 1, 31))
        >>> df = led.messages(led.start, led.start + pd.Timedelta(hours=1))
        >>> sorted(df["direction"].unique())
        ['inbound', 'outbound']
        """
        return self._window("messages", start, end)

    def calls(self, start: Any, end: Any) -> pd.DataFrame:
        """Call detail records (one per leg) that started in ``[start, end]``; only calls
        that have ended by ``now`` have a record.

        Examples
        --------
        >>> import datetime
        >>> led = Ledger(1, "KEY", days=1, until=datetime.date(2025, 1, 31))
        >>> cdrs = led.calls(led.start, led.now)
        >>> bool((cdrs["billable_sec"] % 60 == 0).all())
        True
        """
        return self._window("calls", start, end)

    def call_events(self, start: Any, end: Any) -> pd.DataFrame:
        """Call Control events (webhooks and commands) of the calls, by ``event_timestamp``.

        Examples
        --------
        >>> import datetime
        >>> led = Ledger(1, "KEY", days=1, until=datetime.date(2025, 1, 31))
        >>> ev = led.call_events(led.start, led.now)
        >>> "call.hangup" in set(ev["name"])
        True
        """
        return self._window("call_events", start, end)

    def session_events(self, start: Any, end: Any) -> pd.DataFrame:
        """Child events of call sessions (recordings, transcriptions, AI assistant and
        inference), by ``created_at``; messages sent in a session are in :meth:`messages`.

        Examples
        --------
        >>> import datetime
        >>> led = Ledger(1, "KEY", days=1, until=datetime.date(2025, 1, 31))
        >>> sorted(led.session_events(led.start, led.now)["record_type"].unique())
        ['ai-voice-assistant', 'inference', 'recordings', 'transcriptions']
        """
        return self._window("session_events", start, end)

    def wireless(self, start: Any, end: Any) -> pd.DataFrame:
        """Wireless (SIM data session) detail records created in ``[start, end]``.

        Examples
        --------
        >>> import datetime
        >>> led = Ledger(1, "KEY", days=1, until=datetime.date(2025, 1, 31))
        >>> w = led.wireless(led.start, led.now)
        >>> bool((w["cost_micro"] * 100 == w["rate_micro"] * (w["uplink_cmb"] + w["downlink_cmb"])).all())
        True
        """  # noqa: E501
        return self._window("wireless", start, end)

    def lookups(self, start: Any, end: Any) -> pd.DataFrame:
        """Number lookups (CNAM, LRN, carrier, portability dips) made in ``[start, end]``.

        Examples
        --------
        >>> import datetime
        >>> led = Ledger(1, "KEY", days=1, until=datetime.date(2025, 1, 31))
        >>> set(led.lookups(led.start, led.now)["currency"]) == {"USD"}
        True
        """
        return self._window("lookups", start, end)

    def detail_records(self, record_type: str, start: Any, end: Any) -> pd.DataFrame:
        """The records of one Detail Record Search ``record_type`` in ``[start, end]``,
        by the time column of their table (:data:`DETAIL_TABLES`).

        Examples
        --------
        >>> import datetime
        >>> led = Ledger(1, "KEY", days=1, until=datetime.date(2025, 1, 31))
        >>> amd = led.detail_records("amd", led.start, led.now)
        >>> calls = led.calls(led.start, led.now)
        >>> bool(amd["call_leg_id"].isin(calls["call_leg_id"]).all())
        True
        """
        table, event_type = DETAIL_TABLES[record_type]
        frame = self._window(table, start, end)
        if event_type is None:
            return frame
        return frame[(frame["record_type"] == event_type).to_numpy()].reset_index(drop=True)

    # ------------------------------------------------------------------ ids
    def locate(self, event_id: str) -> tuple[str, pd.Series] | None:
        """What an id is and its row, or ``None`` if it is not one of this account's records.

        Decodes the id (no scan) and builds only that one day. Kinds: ``'message'``,
        ``'call'`` (a ``call_leg_id`` or ``call_session_id``), ``'session_event'``,
        ``'wireless'``, ``'lookup'``.

        Examples
        --------
        >>> import datetime
        >>> led = Ledger(1, "KEY", days=1, until=datetime.date(2025, 1, 31))
        >>> first = led.messages(led.start, led.now)["id"].iloc[0]
        >>> led.locate(first)[0]
        'message'
        >>> Ledger(1, "OTHER", days=1, until=datetime.date(2025, 1, 31)).locate(first) is None
        True
        """
        decoded = self.ids.decode(event_id)
        if decoded is None or decoded[0] not in _LOCATE:
            return None
        kind, ordinal, _, _ = decoded
        day = dt.date.fromordinal(ordinal) if ordinal else None
        if day is None or not self.first_day <= day <= self.last_day:
            return None
        name, table = _LOCATE[kind]
        column = "call_session_id" if kind == K_CALL_SESSION else _ID_COLUMN[table]
        frame = self.table(table, day)
        hits = np.flatnonzero((frame[column] == event_id.lower()).to_numpy(dtype=bool))
        if not len(hits):
            return None
        return name, frame.iloc[int(hits[0])]

    def session(self, event_id: str) -> pd.DataFrame | None:
        """The call session an id belongs to, one row per node, parents before children.

        Any id in the session works: its ``call_leg_id`` or ``call_session_id``, a session
        event's id or a linked message's id. Columns: ``id``, ``parent_id`` (``None`` for
        the root call), ``record_type``, ``product``, ``event_name``, ``created_at``,
        ``cost_micro`` (the node's own cost), ``currency``, ``record`` (the record's own
        fields, JSON-able: timestamps ISO 8601 with ``Z``, money as 6-decimal strings).

        Examples
        --------
        >>> import datetime
        >>> led = Ledger(1, "KEY", days=1, until=datetime.date(2025, 1, 31))
        >>> child = led.session_events(led.start, led.now).iloc[0]
        >>> tree = led.session(child["id"])
        >>> tree["parent_id"].iloc[0] is None, tree["record_type"].iloc[0]
        (True, 'callcontrol-cdrs')
        """
        decoded = self.ids.decode(event_id)
        if decoded is None:
            return None
        kind, ordinal, row, sub = decoded
        in_session = kind in (K_CALL_LEG, K_CALL_SESSION, K_SESSION_EVENT) or (
            kind == K_MESSAGE and sub > 0
        )
        if not in_session or not ordinal:
            return None
        day = dt.date.fromordinal(ordinal)
        if not self.first_day <= day <= self.last_day or self.locate(event_id) is None:
            return None
        calls_all = self.table("_calls_all", day)
        call = calls_all.iloc[row]
        csid = call["call_session_id"]
        events = self.table("session_events", day)
        events = events[(events["call_session_id"] == csid).to_numpy(dtype=bool)]
        linked = self.table("_linked_messages", day)
        linked = linked[(linked["call_session_id"] == csid).to_numpy(dtype=bool)]

        nodes: list[dict[str, Any]] = [{
            "id": call["call_leg_id"], "parent_id": None, "record_type": ROOT_TYPE,
            "product": ROOT_TYPE, "event_name": ROOT_TYPE, "created_at": call["start_time"],
            "cost_micro": int(call["cost_micro"]), "currency": call["currency"],
            "record": _record(call.to_dict()),
        }]  # fmt: skip
        for frame, fixed in ((events, None), (linked, "messaging")):
            for rec in frame.to_dict("records"):
                parent = rec.pop("parent_id")
                nodes.append({
                    "id": rec["id"], "parent_id": parent,
                    "record_type": fixed or rec["record_type"], "product": fixed or rec["product"],
                    "event_name": fixed or rec["event_name"], "created_at": rec["created_at"],
                    "cost_micro": int(rec["cost_micro"]), "currency": rec["currency"],
                    "record": _record(rec),
                })  # fmt: skip
        depth = {nodes[0]["id"]: 0}
        pending = nodes[1:]
        while pending:  # a handful of nodes: resolve depths level by level
            rest = [n for n in pending if n["parent_id"] not in depth]
            for node in pending:
                if node["parent_id"] in depth:
                    depth[node["id"]] = depth[node["parent_id"]] + 1
            if len(rest) == len(pending):  # orphans cannot happen; never loop forever
                break
            pending = rest
        nodes.sort(key=lambda n: (depth.get(n["id"], 99), n["created_at"], n["id"]))
        tree = pd.DataFrame(nodes)
        tree["cost_micro"] = tree["cost_micro"].astype(np.int64)
        tree["parent_id"] = tree["parent_id"].astype(object)
        tree.loc[0, "parent_id"] = None
        return tree
