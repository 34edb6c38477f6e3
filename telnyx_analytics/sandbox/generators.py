"""How the sandbox's traffic is made: one generator per kind of record and day.

Each ``build_<kind>(ledger, day)`` returns the tables of one UTC day (``day=None``: the
empty schema) as a dict of DataFrames, built in columns with numpy from a random generator
seeded with ``(seed, key_hash, stream, day ordinal)`` and nothing else, so any process
rebuilds the same rows. They read the account through the :class:`~.ledger.Ledger`'s
public attributes (``ids``, ``now_us``, ``is_spike_day()``, ``static_tables()``,
``table()``), which also caches what they build (:class:`~.daycache.DayCache`). Money is
integer micro-units (1e-6 of the row's currency). The choices behind the numbers are in
docs/sandbox.md ("Time", "Money", "Traffic").

>>> import datetime
>>> from telnyx_analytics.sandbox.ledger import Ledger
>>> led = Ledger(1, "KEY", days=2, until=datetime.date(2025, 1, 31))
>>> sorted(build_calls(led, led.last_day))
['_call_info', '_calls_all', 'calls']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .ids import (
    K_CALL_EVENT,
    K_CALL_LEG,
    K_CALL_SESSION,
    K_LOOKUP,
    K_MESSAGE,
    K_PRODUCT,
    K_SESSION_EVENT,
    K_SIP,
    K_STATIC,
    K_WIRELESS,
)

if TYPE_CHECKING:
    from .ledger import Ledger

# --------------------------------------------------------------------------------------
# Rates: one row per country, written with 4 decimals (as Telnyx publishes them) and kept
# as integer micro-units. Columns: ISO country, calling code, currency, share of remote
# parties, SMS out/in, MMS out/in ("-": SMS only), voice per minute out / in to a DID / in
# to a toll-free number, data per MB, carrier pass-through fee per outbound SMS/MMS part
# (US 10DLC-style; none elsewhere).
# --------------------------------------------------------------------------------------
_RATE_TABLE = """
iso dial cur weight sms_out sms_in mms_out mms_in voice_out voice_in voice_tf data_mb carrier_sms carrier_mms
US  1   USD 60  0.0040 0.0040 0.0150 0.0100 0.0050 0.0035 0.0130 0.0100 0.0030 0.0050
CA  1   CAD  6  0.0055 0.0055 0.0200 0.0135 0.0070 0.0050 0.0180 0.0140 0.0000 0.0000
GB  44  GBP  6  0.0310 0.0000 -      -      0.0120 0.0025 0.0400 0.0080 0.0000 0.0000
DE  49  EUR  3  0.0720 0.0000 -      -      0.0160 0.0030 0.0600 0.0090 0.0000 0.0000
FR  33  EUR  3  0.0690 0.0000 -      -      0.0150 0.0030 0.0550 0.0090 0.0000 0.0000
NL  31  EUR  2  0.0850 0.0000 -      -      0.0140 0.0030 0.0500 0.0090 0.0000 0.0000
ES  34  EUR  2  0.0560 0.0000 -      -      0.0130 0.0030 0.0500 0.0090 0.0000 0.0000
IT  39  EUR  2  0.0620 0.0000 -      -      0.0140 0.0030 0.0550 0.0090 0.0000 0.0000
IE  353 EUR  1  0.0580 0.0000 -      -      0.0150 0.0030 0.0500 0.0090 0.0000 0.0000
AU  61  AUD  3  0.0520 0.0000 -      -      0.0250 0.0080 0.0700 0.0150 0.0000 0.0000
BR  55  USD  2  0.0290 0.0000 -      -      0.0180 0.0100 0.0900 0.0200 0.0000 0.0000
MX  52  USD  3  0.0330 0.0000 -      -      0.0150 0.0090 0.0800 0.0200 0.0000 0.0000
IN  91  USD  2  0.0025 0.0000 -      -      0.0200 0.0120 0.0900 0.0150 0.0000 0.0000
JP  81  USD  1  0.0780 0.0000 -      -      0.0450 0.0150 0.1000 0.0250 0.0000 0.0000
SG  65  USD  1  0.0390 0.0000 -      -      0.0120 0.0060 0.0600 0.0150 0.0000 0.0000
ZA  27  USD  1  0.0210 0.0000 -      -      0.0350 0.0100 0.0800 0.0300 0.0000 0.0000
SE  46  USD  1  0.0480 0.0000 -      -      0.0150 0.0040 0.0600 0.0100 0.0000 0.0000
PL  48  USD  1  0.0250 0.0000 -      -      0.0150 0.0040 0.0600 0.0120 0.0000 0.0000
PH  63  USD  1  0.0500 0.0000 -      -      0.0900 0.0150 0.1200 0.0300 0.0000 0.0000
NZ  64  USD  1  0.0900 0.0000 -      -      0.0200 0.0060 0.0700 0.0200 0.0000 0.0000
"""  # noqa: E501  (the header line)

# Numbering plans: (digits after the country code, count of random digits after them,
# 'L' landline / 'M' mobile / 'T' toll-free), so every number has a plausible length.
_NANP_US = ("212", "213", "305", "312", "404", "415", "512", "617", "646", "702", "713", "720",
            "786", "917", "206", "303")  # fmt: skip
_NANP_CA = ("416", "604", "514", "403", "613", "647", "778", "905")
_PLANS: dict[str, tuple[tuple[str, int, str], ...]] = {
    # NANP: area code, then an exchange that starts with 2-9, then 6 digits.
    "US": tuple((a + d, 6, t) for a in _NANP_US for d in "23456789" for t in "LM")
    + tuple((a + d, 6, "T") for a in ("800", "833", "844", "855", "866", "877", "888")
            for d in "23456789"),
    "CA": tuple((a + d, 6, t) for a in _NANP_CA for d in "23456789" for t in "LM"),
    "GB": (("74", 8, "M"), ("75", 8, "M"), ("77", 8, "M"), ("79", 8, "M"),
           ("203", 7, "L"), ("207", 7, "L"), ("161", 7, "L"), ("800", 7, "T")),
    "DE": (("151", 8, "M"), ("157", 8, "M"), ("160", 7, "M"), ("176", 8, "M"),
           ("30", 8, "L"), ("89", 8, "L"), ("800", 7, "T")),
    "FR": (("6", 8, "M"), ("7", 8, "M"), ("1", 8, "L"), ("4", 8, "L"), ("800", 6, "T")),
    "NL": (("6", 8, "M"), ("20", 7, "L"), ("10", 7, "L"), ("800", 4, "T")),
    "ES": (("6", 8, "M"), ("7", 8, "M"), ("91", 7, "L"), ("93", 7, "L"), ("900", 6, "T")),
    "IT": (("32", 8, "M"), ("33", 8, "M"), ("34", 8, "M"), ("06", 8, "L"), ("02", 8, "L"),
           ("800", 6, "T")),
    "IE": (("83", 7, "M"), ("85", 7, "M"), ("87", 7, "M"), ("1", 7, "L"), ("1800", 6, "T")),
    "AU": (("4", 8, "M"), ("2", 8, "L"), ("3", 8, "L"), ("1800", 6, "T")),
    "BR": (("119", 8, "M"), ("219", 8, "M"), ("113", 7, "L"), ("800", 7, "T")),
    "MX": (("55", 8, "M"), ("33", 8, "M"), ("81", 8, "L"), ("800", 7, "T")),
    "IN": (("9", 9, "M"), ("8", 9, "M"), ("7", 9, "M"), ("11", 8, "L"), ("1800", 7, "T")),
    "JP": (("90", 8, "M"), ("80", 8, "M"), ("70", 8, "M"), ("3", 8, "L"), ("120", 6, "T")),
    "SG": (("8", 7, "M"), ("9", 7, "M"), ("6", 7, "L"), ("1800", 7, "T")),
    "ZA": (("6", 8, "M"), ("7", 8, "M"), ("8", 8, "M"), ("11", 7, "L"), ("21", 7, "L"),
           ("800", 6, "T")),
    "SE": (("70", 7, "M"), ("73", 7, "M"), ("8", 7, "L"), ("20", 7, "T")),
    "PL": (("5", 8, "M"), ("6", 8, "M"), ("22", 7, "L"), ("800", 6, "T")),
    "PH": (("9", 9, "M"), ("2", 8, "L"), ("1800", 7, "T")),
    "NZ": (("21", 7, "M"), ("27", 7, "M"), ("9", 7, "L"), ("800", 6, "T")),
}  # fmt: skip

# Mobile networks (MCC, MNC) where SIM sessions happen, and the share of sessions per country.
_NETWORKS: dict[str, tuple[tuple[str, str], ...]] = {
    "US": (("310", "260"), ("310", "410"), ("311", "480")),
    "CA": (("302", "720"), ("302", "610")),
    "GB": (("234", "10"), ("234", "15"), ("234", "30")),
    "DE": (("262", "01"), ("262", "02")),
    "FR": (("208", "01"), ("208", "10")),
    "NL": (("204", "04"), ("204", "08")),
    "MX": (("334", "020"), ("334", "030")),
    "AU": (("505", "01"), ("505", "03")),
}
_WIRELESS_WEIGHTS = {"US": 70.0, "CA": 6.0, "GB": 6.0, "DE": 5.0, "FR": 4.0, "NL": 3.0,
                     "MX": 4.0, "AU": 2.0}  # fmt: skip

# Per-minute rates of the products that hang off a call session, per currency:
# recordings, transcriptions, AI voice assistant.
_SESSION_RATES = {
    "USD": ("0.0020", "0.0250", "0.0600"),
    "EUR": ("0.0019", "0.0230", "0.0550"),
    "GBP": ("0.0016", "0.0200", "0.0480"),
    "CAD": ("0.0027", "0.0340", "0.0820"),
    "AUD": ("0.0030", "0.0380", "0.0920"),
}
# LLM inference: micro-units per token (1 = 1.00 per million tokens), any currency.
_MODELS = (
    ("meta-llama/Meta-Llama-3.1-8B-Instruct", 1),
    ("meta-llama/Meta-Llama-3.1-70B-Instruct", 2),
    ("openai/gpt-4o-mini", 1),
    ("openai/gpt-4o", 10),
)
# Number lookups are billed in USD.
_LOOKUPS = (("CNAM", "0.0045", 0.40), ("LRN", "0.0010", 0.25), ("CARRIER", "0.0030", 0.25),
            ("PORTABILITY", "0.0010", 0.10))  # fmt: skip

# Traffic at scale 1, per day.
_BASE = {"messages": 3000.0, "calls": 1000.0, "wireless": 300.0, "lookups": 200.0}
_OUTBOUND_MESSAGE_SHARE = 0.7
_SPIKE_FACTOR = 4.0  # outbound messaging on the campaign day
_WEEKEND = 0.6
_NUMBERS_BOUGHT_BY = pd.Timestamp("2023-01-01", tz="UTC")  # the account's numbers predate it
# Relative traffic per UTC hour: quiet nights, busy afternoons.
_HOURLY = np.array([0.35, 0.25, 0.18, 0.14, 0.12, 0.14, 0.25, 0.45, 0.70, 0.95, 1.15, 1.30,
                    1.45, 1.60, 1.75, 1.85, 1.90, 1.85, 1.70, 1.50, 1.20, 0.90, 0.65,
                    0.48])  # fmt: skip
_HOURLY = _HOURLY / _HOURLY.sum()

_MESSAGE_STATUS = ("GW_TIMEOUT", "DELIVERED", "DLR_UNCONFIRMED", "DLR_TIMEOUT", "RECEIVED",
                   "GW_REJECT", "FAILED")  # fmt: skip
_OUTBOUND_STATUS_P = np.array([0.010, 0.900, 0.030, 0.015, 0.0, 0.025, 0.020])
_HANGUP_CAUSES = ("normal_clearing", "originator_cancel", "user_busy", "no_answer", "timeout",
                  "call_rejected", "unallocated_number", "destination_out_of_order",
                  "network_out_of_order")  # fmt: skip
_CALL_EVENT_SLOTS = (  # (name, type, status) per slot; which calls have a slot is in _events
    ("dial", "command", "init"),
    ("call.initiated", "webhook", "init"),
    ("answer", "command", "init"),
    ("call.answered", "webhook", "in_progress"),
    ("ai_assistant_start", "command", "in_progress"),
    ("record_start", "command", "in_progress"),
    ("hangup", "command", "in_progress"),
    ("call.hangup", "webhook", "completed"),
    ("call.recording.saved", "webhook", "completed"),
)
_SESSION_TYPES = ("recordings", "transcriptions", "ai-voice-assistant", "inference")
ROOT_TYPE = "callcontrol-cdrs"


# Random streams, one per kind (the ``kind_index`` of the seed).
_S_MESSAGES, _S_CALLS, _S_EVENTS, _S_SESSIONS, _S_WIRELESS, _S_LOOKUPS, _S_STATIC = range(7)

_US = 1_000_000  # microseconds per second, and micro-units per currency unit
_HOUR_US = 3600 * _US
DAY_US = 24 * _HOUR_US
_NAT = np.iinfo(np.int64).min
_EPOCH = dt.date(1970, 1, 1)


def _micro(text: str) -> int:
    """'0.0040' -> 4000 (exact, no float on the way); '-' (not offered) -> -1."""
    if text == "-":
        return -1
    units, _, frac = text.partition(".")
    return int(units) * _US + int(frac.ljust(6, "0"))


def format_micro(value: int, places: int = 6) -> str:
    """Write integer micro-units as a decimal string with ``places`` decimals (2 to 6).

    Parameters
    ----------
    value : int
        Amount in micro-units (1e-6 of the currency).
    places : int
        Decimals to write; digits dropped must be zero (rates have 4, costs 6).

    Examples
    --------
    >>> format_micro(4000, 4), format_micro(-12_345_678)
    ('0.0040', '-12.345678')
    """
    value = int(value)
    sign = "-" if value < 0 else ""
    units, frac = divmod(abs(value), _US)
    digits = f"{frac:06d}"
    if places < 6:
        if digits[places:].strip("0"):
            raise ValueError(f"{value} micro-units do not fit in {places} decimals")
        digits = digits[:places]
    return f"{sign}{units}.{digits}"


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class _Countries:
    """The rate table as numpy arrays indexed by country number."""

    iso: tuple[str, ...]
    dial: tuple[str, ...]
    currency_code: np.ndarray  # index into CURRENCIES
    weight: np.ndarray  # probabilities
    rates: dict[str, np.ndarray]  # column -> int64 micro, -1 where not offered


CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD")


def _countries() -> _Countries:
    header, *rows = (line.split() for line in _RATE_TABLE.strip().splitlines())
    named = dict(zip(header, zip(*rows, strict=True), strict=True))
    weight = np.array(named["weight"], dtype=float)
    rates = {c: np.array([_micro(v) for v in named[c]], dtype=np.int64) for c in header[4:]}
    return _Countries(
        iso=tuple(named["iso"]),
        dial=tuple(named["dial"]),
        currency_code=np.array([CURRENCIES.index(c) for c in named["cur"]]),
        weight=weight / weight.sum(),
        rates=rates,
    )


_C = _countries()
_NC = len(_C.iso)
_US_IDX = _C.iso.index("US")


def _plan_arrays(types: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numbering plans of the given types, flattened: (base, span, start, count).

    ``base + integers(span)`` is a full E.164 number as an integer; the plans of country
    ``c`` are ``start[c] : start[c] + count[c]``.
    """
    base, span, start, count = [], [], [], []
    for i, iso in enumerate(_C.iso):
        plans = [p for p in _PLANS[iso] if p[2] in types]
        start.append(len(base))
        count.append(len(plans))
        for prefix, ndigits, _ in plans:
            base.append(int(_C.dial[i] + prefix) * 10**ndigits)
            span.append(10**ndigits)
    return (np.array(base, np.int64), np.array(span, np.int64), np.array(start, np.int64),
            np.array(count, np.int64))  # fmt: skip


_REMOTE_PLANS = _plan_arrays("LM")
_NET_MCC, _NET_MNC, _NET_START, _NET_COUNT, _WIRELESS_P = [], [], [], [], []
for _iso in _C.iso:
    _NET_START.append(len(_NET_MCC))
    _NET_COUNT.append(len(_NETWORKS.get(_iso, ())))
    _WIRELESS_P.append(_WIRELESS_WEIGHTS.get(_iso, 0.0))
    for _mcc, _mnc in _NETWORKS.get(_iso, ()):
        _NET_MCC.append(_mcc)
        _NET_MNC.append(_mnc)
_NET_START_A = np.array(_NET_START)
_NET_COUNT_A = np.array(_NET_COUNT)
_WIRELESS_P_A = np.array(_WIRELESS_P) / sum(_WIRELESS_P)
_SESSION_RATE_MICRO = np.array(
    [[_micro(v) for v in _SESSION_RATES[c]] for c in CURRENCIES], dtype=np.int64
)


def _cat(values: tuple[str, ...] | list[str]) -> pd.CategoricalDtype:
    # Plain Python strings as categories: a handful of values, and converting a column to
    # numpy or text (as the views do to write JSON and CSV) is several times faster.
    return pd.CategoricalDtype(pd.Index(list(values), dtype=object), ordered=False)


_STR = pd.StringDtype("pyarrow")
_COUNTRY_DT = _cat(_C.iso)
_CURRENCY_DT = _cat(CURRENCIES)
_DIRECTION_DT = _cat(("inbound", "outbound"))
_MESSAGE_TYPE_DT = _cat(("SMS", "MMS"))
_MESSAGE_STATUS_DT = _cat(_MESSAGE_STATUS)
_MESSAGE_TN_DT = _cat(("LC", "TF", "SC"))
_CALL_TN_DT = _cat(("DID", "TF"))
_CALL_STATUS_DT = _cat(("complete", "incomplete", "error"))
_HANGUP_DT = _cat(_HANGUP_CAUSES)
_PRODUCT_DT = _cat(("call_control", "texml"))
_EVENT_NAME_DT = _cat(tuple(s[0] for s in _CALL_EVENT_SLOTS))
_EVENT_TYPE_DT = _cat(("command", "webhook"))
_EVENT_STATUS_DT = _cat(("init", "in_progress", "completed"))
_SESSION_TYPE_DT = _cat(_SESSION_TYPES)
_MODEL_DT = _cat(tuple(m for m, _ in _MODELS))
_MODEL_RATE = np.array([r for _, r in _MODELS], dtype=np.int64)
_MCC_DT = _cat(sorted(set(_NET_MCC)))
_MNC_DT = _cat(sorted(set(_NET_MNC)))
_NET_MCC_CODE = np.array([_MCC_DT.categories.get_loc(m) for m in _NET_MCC])
_NET_MNC_CODE = np.array([_MNC_DT.categories.get_loc(m) for m in _NET_MNC])
_LOOKUP_DT = _cat(tuple(t for t, _, _ in _LOOKUPS))
_LOOKUP_COST = np.array([_micro(c) for _, c, _ in _LOOKUPS], dtype=np.int64)
_LOOKUP_P = np.array([p for _, _, p in _LOOKUPS])


# ----------------------------------------------------------------------------- helpers


def _strings(arr: pa.Array) -> pd.api.extensions.ExtensionArray:
    return pd.arrays.ArrowStringArray(arr)


def _codes(codes: np.ndarray, dtype: pd.CategoricalDtype) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), dtype=dtype)


def _timestamps(us: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """int64 microseconds since the epoch (``_NAT`` for missing) -> datetime64[ns, UTC]."""
    idx = pd.DatetimeIndex(np.asarray(us, dtype=np.int64).view("datetime64[us]"))
    return idx.tz_localize("UTC").as_unit("ns").array


def _numbers(nums: np.ndarray, plus: np.ndarray | None = None) -> pa.Array:
    """Integer phone numbers -> strings, '+' in front (E.164) except where ``plus`` is False."""
    digits = pc.cast(pa.array(np.asarray(nums, dtype=np.int64)), pa.string())
    e164 = pc.binary_join_element_wise("+", digits, "")
    return e164 if plus is None else pc.if_else(pa.array(plus), e164, digits)


def _blank(n: int) -> pa.Array:
    """``n`` empty strings, without building a Python list."""
    offsets = np.zeros(n + 1, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(b""))


def _day_us(day: dt.date | None) -> int:
    return 0 if day is None else (day - _EPOCH).days * DAY_US


def timestamp_us(ts: pd.Timestamp) -> int:
    return int(ts.value // 1000)


def _times(rng: np.random.Generator, day: dt.date | None, n: int,
           hourly: np.ndarray = _HOURLY) -> np.ndarray:  # fmt: skip
    """``n`` microsecond timestamps in ``day`` following the daily cycle (unsorted)."""
    hours = rng.choice(24, size=n, p=hourly)
    return _day_us(day) + hours * _HOUR_US + rng.integers(0, _HOUR_US, size=n)


def _day_times(led: Ledger, rng: np.random.Generator, per_day: float,
               day: dt.date | None) -> np.ndarray:  # fmt: skip
    """A day's event times: a Poisson count at the day's mean rate (:func:`_mean`), as
    microsecond timestamps, sorted and distinct (so the times alone order the rows)."""
    n = int(rng.poisson(_mean(led, per_day, day)))
    return np.unique(_times(rng, day, n))


def _sorted_unique(ts: np.ndarray) -> np.ndarray:
    """Positions that sort ``ts`` with duplicates dropped (so timestamps order rows alone)."""
    order = np.argsort(ts, kind="stable")
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = ts[order][1:] != ts[order][:-1]
    return order[keep]


def _within(rng: np.random.Generator, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """One uniform index in ``start[i] : start[i] + count[i]`` per row."""
    return start + (rng.random(len(start)) * count).astype(np.int64)


def _sort_frame(frame: pd.DataFrame, ts: str, key: str) -> pd.DataFrame:
    """Sort by timestamp, then id (ids are only compared where timestamps tie)."""
    values = frame[ts].array.asi8
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    same = ordered[1:] == ordered[:-1]
    if same.any():
        tied = np.zeros(len(order), dtype=bool)
        tied[1:] |= same
        tied[:-1] |= same
        pos = np.flatnonzero(tied)  # runs of equal timestamps, in timestamp order
        ids = frame[key].take(order[pos]).tolist()
        by_id = sorted(range(len(pos)), key=lambda i: (ordered[pos[i]], ids[i]))
        order[pos] = order[pos][by_id]
    return frame.take(order).reset_index(drop=True)



# ----------------------------------------------------------------------------- generators


def _static_ids(led: Ledger, table: int, n: int) -> pa.Array:
    return led.ids.encode(K_STATIC, 0, np.arange(n), table)


def build_static(led: Ledger) -> dict[str, Any]:
    rng = _rng(led, _S_STATIC, None)
    s: dict[str, Any] = {}

    names = ["Marketing", "Notifications", "Support", "Two-factor"]
    ptags = ["marketing,promo", "alerts", "support", "2fa,security"]
    s["profile_p"] = np.array([0.30, 0.30, 0.25, 0.15])
    s["profile_tags"] = ptags

    conn_names = ["Main IVR", "Sales dialer", "Support desk", "Voice AI agent"]
    conn_products = np.array([0, 0, 1, 0])  # index into _PRODUCT_DT
    conn_ids = rng.integers(10**18, 2 * 10**18, size=len(conn_names), dtype=np.int64)
    ovp = rng.integers(10**18, 2 * 10**18, size=len(conn_names), dtype=np.int64)
    s["conn_ids"], s["conn_product"] = conn_ids, conn_products
    s["conn_ovp"] = [str(v) for v in ovp]

    bg_names = ["Default", "Sales", "Support"]
    bg_ids = _static_ids(led, 3, len(bg_names))

    # Phone numbers: (country, type, count); mostly US local.
    spec = [("US", "L", 24), ("US", "T", 4), ("US", "M", 2), ("CA", "L", 3), ("GB", "L", 2),
            ("GB", "M", 1), ("DE", "L", 2), ("FR", "L", 2), ("NL", "L", 1), ("ES", "L", 1),
            ("IT", "L", 1), ("IE", "L", 1), ("AU", "L", 2), ("MX", "L", 1),
            ("BR", "L", 1)]  # fmt: skip
    country, ntype, nums = [], [], []
    seen: set[int] = set()
    for iso, kind, count in spec:
        plans = [p for p in _PLANS[iso] if p[2] == kind]
        ci = _C.iso.index(iso)
        while count:
            prefix, ndigits, _ = plans[rng.integers(len(plans))]
            num = int(_C.dial[ci] + prefix) * 10**ndigits + int(rng.integers(10**ndigits))
            if num not in seen:  # numbers are unique within an account
                seen.add(num)
                country.append(ci)
                ntype.append("LTM".index(kind))
                nums.append(num)
                count -= 1
    n = len(nums)
    status = np.array(["active"] * n, dtype=object)
    others = ["port-pending", "purchase-pending", "emergency-only", "port-out-pending"]
    for i, st in zip(rng.choice(np.arange(3, n), size=4, replace=False), others, strict=True):
        status[i] = st  # never the first US numbers, so traffic always has a sender
    num_conn = rng.integers(0, len(conn_names), size=n)
    num_bg = rng.choice(len(bg_names), size=n, p=[0.5, 0.3, 0.2])
    pool = ["sales", "support", "east", "west", "campaign"]
    num_tags = [
        ",".join(sorted(rng.choice(pool, size=k, replace=False))) if k else ""
        for k in rng.choice(3, size=n, p=[0.3, 0.5, 0.2])
    ]
    country_a, ntype_a, nums_a = np.array(country), np.array(ntype), np.array(nums)
    # Bought in the two years before a fixed day (or before the ledger starts, when that is
    # earlier): every number exists during the whole period, and a ledger that covers a day
    # more (or less) shows the same purchase times.
    bought_by = min(_NUMBERS_BOUGHT_BY, led.start)
    created = timestamp_us(bought_by) - rng.integers(DAY_US, 730 * DAY_US, size=n)
    s["num_country"], s["num_type"], s["num_int"] = country_a, ntype_a, nums_a
    s["num_conn"], s["num_bg"], s["num_active"] = num_conn, num_bg, status == "active"
    s["num_tags"] = num_tags
    s["short_code"] = int(rng.integers(20000, 99999))

    sim_n = 40
    sim_groups = ["Fleet trackers", "Field tablets", "Point of sale"]
    sim_group_ids = _static_ids(led, 6, len(sim_groups))
    sim_group = rng.choice(len(sim_groups), size=sim_n, p=[0.5, 0.3, 0.2])
    sim_ids = _static_ids(led, 5, sim_n)
    imsi = [str(v) for v in 310_260_000_000_000 + rng.choice(10**9, size=sim_n, replace=False)]
    us_mobile = [p for p in _PLANS["US"] if p[2] == "M"]
    sim_nums = []
    for _ in range(sim_n):
        prefix, ndigits, _ = us_mobile[rng.integers(len(us_mobile))]
        sim_nums.append(int("1" + prefix) * 10**ndigits + int(rng.integers(10**ndigits)))
    activity = rng.gamma(1.5, size=sim_n)  # some SIMs are far busier than others
    s["sim_p"] = activity / activity.sum()
    s["sim_group"] = sim_group

    # Account-specific categorical dtypes, so day tables concatenate without recoding.
    tag_values = sorted(set(ptags) | set(num_tags))
    s["tags_dt"] = _cat(tag_values)
    s["profile_tag_code"] = np.array([tag_values.index(t) for t in ptags])
    s["num_tag_code"] = np.array([tag_values.index(t) for t in num_tags])
    s["profile_id_dt"] = _cat(_static_ids(led, 1, len(names)).to_pylist())
    s["profile_name_dt"] = _cat(names)
    s["conn_name_dt"] = _cat(conn_names)
    s["ovp_dt"] = _cat(sorted(set(s["conn_ovp"])))
    s["conn_ovp_code"] = np.array([s["ovp_dt"].categories.get_loc(v) for v in s["conn_ovp"]])
    s["bg_id_dt"] = _cat(bg_ids.to_pylist())
    s["bg_name_dt"] = _cat(bg_names)
    s["sim_id_dt"] = _cat(sim_ids.to_pylist())
    s["sim_group_id_dt"] = _cat(sim_group_ids.to_pylist())
    s["sim_group_name_dt"] = _cat(sim_groups)
    s["imsi_dt"] = _cat(imsi)
    s["sim_number_dt"] = _cat(_numbers(np.array(sim_nums)).to_pylist())

    s["profiles"] = pd.DataFrame({
        "profile_id": _codes(np.arange(len(names)), s["profile_id_dt"]).astype(_STR),
        "profile_name": pd.array(names, dtype=_STR),
        "tags": pd.array(ptags, dtype=_STR),
    })  # fmt: skip
    s["connections"] = pd.DataFrame({
        "connection_id": conn_ids,
        "connection_name": pd.array(conn_names, dtype=_STR),
        "product": _codes(conn_products, _PRODUCT_DT),
        "outbound_voice_profile_id": pd.array(s["conn_ovp"], dtype=_STR),
    })  # fmt: skip
    s["billing_groups"] = pd.DataFrame({
        "billing_group_id": pd.array(bg_ids.to_pylist(), dtype=_STR),
        "billing_group_name": pd.array(bg_names, dtype=_STR),
    })  # fmt: skip
    emergency = rng.integers(10**18, 2 * 10**18, size=n)
    has_emergency = (country_a == _US_IDX) & (ntype_a == 0)
    refs = rng.integers(1000, 9999, size=n)
    s["phone_numbers"] = pd.DataFrame({
        "phone_number": _strings(_numbers(nums_a)),
        "status": pd.array(list(status), dtype=_STR),
        "country_code": _codes(country_a, _COUNTRY_DT),
        "number_type": _codes(ntype_a, _cat(("local", "toll_free", "mobile"))),
        "connection_id": conn_ids[num_conn],
        "connection_name": _codes(num_conn, s["conn_name_dt"]),
        "billing_group_id": _codes(num_bg, s["bg_id_dt"]),
        "tags": pd.array(num_tags, dtype=_STR),
        "customer_reference": pd.array(
            [f"crm-{r}" if r % 3 else "" for r in refs], dtype=_STR),
        "emergency_address_id": pd.array(
            [str(e) if h else "" for e, h in zip(emergency, has_emergency, strict=True)],
            dtype=_STR),
        "usage_payment_method": _codes(
            (rng.random(n) < 0.2).astype(int), _cat(("pay-per-minute", "channel"))),
        "created_at": _timestamps(created),
    }).sort_values("created_at", ignore_index=True)  # fmt: skip
    s["sim_cards"] = pd.DataFrame({
        "sim_card_id": pd.array(sim_ids.to_pylist(), dtype=_STR),
        "sim_group_id": _codes(sim_group, s["sim_group_id_dt"]).astype(_STR),
        "sim_group_name": _codes(sim_group, s["sim_group_name_dt"]).astype(_STR),
        "imsi": pd.array(imsi, dtype=_STR),
        "phone_number": _strings(_numbers(np.array(sim_nums))),
    })  # fmt: skip
    s["imsi_list"], s["sim_nums"] = imsi, sim_nums

    # Sender pools per country: the account's active numbers there, else its US ones.
    for name, mask in (("pool_any", s["num_active"]),
                       ("pool_voice_out", s["num_active"] & (ntype_a != 1))):  # fmt: skip
        flat, start, count = [], [], []
        for c in range(_NC):
            idx = np.nonzero(mask & (country_a == c))[0]
            if not len(idx):
                idx = np.nonzero(mask & (country_a == _US_IDX))[0]
            start.append(len(flat))
            count.append(len(idx))
            flat.extend(idx.tolist())
        s[name] = (np.array(flat), np.array(start), np.array(count))
    return s


def _pick_number(led: Ledger, rng: np.random.Generator, pool: str,
                 country: np.ndarray) -> np.ndarray:  # fmt: skip
    flat, start, count = led.static_tables()[pool]
    return flat[_within(rng, start[country], count[country])]


def _rng(led: Ledger, stream: int, day: dt.date | None) -> np.random.Generator:
    ordinal = 0 if day is None else day.toordinal()
    return np.random.default_rng(
        np.random.SeedSequence([led.seed, led.key_hash, stream, ordinal])
    )


def _mean(led: Ledger, base: float, day: dt.date | None) -> float:
    """Expected rows of a day: base x scale x weekday x a slow (two-year) swell."""
    if day is None:
        return 0.0
    week = 7 / (5 + 2 * _WEEKEND)  # so a whole week averages ``base`` per day
    weekday = week * (_WEEKEND if day.weekday() >= 5 else 1.0)
    trend = 1 + 0.15 * np.sin(2 * np.pi * (day.toordinal() + led.trend_phase) / 730)
    return base * led.scale * weekday * trend


def _remote(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    """Random landline or mobile numbers (as integers) in the given countries."""
    base, span, start, count = _REMOTE_PLANS
    plan = _within(rng, start[country], count[country])
    return base[plan] + (rng.random(len(plan)) * span[plan]).astype(np.int64)


def _message_frame(led: Ledger, cols: dict[str, Any]) -> pd.DataFrame:
    t = led.static_tables()
    profile = cols["profile"]
    out = cols["outbound"]
    frame = pd.DataFrame({
        "id": _strings(cols["id"]),
        "created_at": _timestamps(cols["created_us"]),
        "direction": _codes(out.astype(int), _DIRECTION_DT),
        "message_type": _codes(cols["mms"].astype(int), _MESSAGE_TYPE_DT),
        "status": _codes(cols["status"], _MESSAGE_STATUS_DT),
        "cli": _strings(cols["cli"]),
        "cld": _strings(cols["cld"]),
        "country_code": _codes(cols["country"], _COUNTRY_DT),
        "profile_id": _codes(profile, t["profile_id_dt"]),
        "profile_name": _codes(profile, t["profile_name_dt"]),
        "tags": _codes(t["profile_tag_code"][profile], t["tags_dt"]),
        "tn_type": _codes(cols["tn"], _MESSAGE_TN_DT),
        "parts": cols["parts"].astype(np.int64),
        "rate_micro": cols["rate"].astype(np.int64),
        "cost_micro": (cols["rate"] * cols["parts"]).astype(np.int64),
        "carrier_fee_micro": cols["fee"].astype(np.int64),
        "currency": _codes(_C.currency_code[cols["country"]], _CURRENCY_DT),
        "call_session_id": _strings(cols["call_session_id"]),
    })  # fmt: skip
    if "parent_id" in cols:
        frame["parent_id"] = _strings(cols["parent_id"])
    return frame


def _message_prices(rng: np.random.Generator, country: np.ndarray, outbound: np.ndarray,
                    mms: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    """Status, parts, rate and carrier fee of messages (the money rules in one place)."""
    n = len(country)
    r = _C.rates
    status = np.where(outbound, rng.choice(len(_MESSAGE_STATUS), size=n, p=_OUTBOUND_STATUS_P),
                      _MESSAGE_STATUS.index("RECEIVED"))  # fmt: skip
    parts = np.where(mms, 1, rng.choice([1, 2, 3, 4], size=n, p=[0.78, 0.16, 0.04, 0.02]))
    rate = np.where(mms, np.where(outbound, r["mms_out"][country], r["mms_in"][country]),
                    np.where(outbound, r["sms_out"][country], r["sms_in"][country]))
    fee_rate = np.where(mms, r["carrier_mms"][country], r["carrier_sms"][country])
    fee = np.where(outbound, fee_rate * parts, 0)
    return {"status": status, "parts": parts, "rate": rate, "fee": fee}


def build_messages(led: Ledger, day: dt.date | None) -> dict[str, pd.DataFrame]:
    rng = _rng(led, _S_MESSAGES, day)
    t = led.static_tables()
    mean = _mean(led, _BASE["messages"], day)
    n_base = int(rng.poisson(mean))
    # The campaign day: extra outbound marketing traffic, blasted in the afternoon (UTC).
    campaign_day = day is not None and led.is_spike_day(day)
    extra = (_SPIKE_FACTOR - 1) * mean * _OUTBOUND_MESSAGE_SHARE if campaign_day else 0
    n_camp = int(rng.poisson(extra))
    n = n_base + n_camp
    campaign_hours = np.zeros(24)
    campaign_hours[14:19] = 1 / 5
    ts = np.concatenate([_times(rng, day, n_base), _times(rng, day, n_camp, campaign_hours)])
    campaign = np.arange(n) >= n_base
    outbound = campaign | (rng.random(n) < _OUTBOUND_MESSAGE_SHARE)
    country = np.where(campaign, _US_IDX, rng.choice(_NC, size=n, p=_C.weight))
    profile = np.where(campaign, 0, rng.choice(4, size=n, p=t["profile_p"]))
    mms_ok = _C.rates["mms_out"][country] >= 0
    mms = mms_ok & (rng.random(n) < np.where(campaign, 0.3, 0.08))
    # Short codes: US alerts and one-time codes, outbound only.
    sc = outbound & ~mms & (country == _US_IDX) & (profile % 2 == 1) & (rng.random(n) < 0.3)
    own = _pick_number(led, rng, "pool_any", country)
    remote = _remote(rng, country)
    own_int = np.where(sc, t["short_code"], t["num_int"][own])
    tn = np.where(sc, 2, np.where(t["num_type"][own] == 1, 1, 0))
    prices = _message_prices(rng, country, outbound, mms)

    order = _sorted_unique(ts)
    ordinal = 0 if day is None else day.toordinal()
    cols: dict[str, Any] = {k: v[order] for k, v in prices.items()}
    out, sc_o = outbound[order], sc[order]
    cli = np.where(out, own_int[order], remote[order])
    cld = np.where(out, remote[order], own_int[order])
    cols.update(
        id=led.ids.encode(K_MESSAGE, ordinal, np.arange(len(order))),
        created_us=ts[order], outbound=out, mms=mms[order], country=country[order],
        profile=profile[order], tn=tn[order], cli=_numbers(cli, ~(sc_o & out)),
        cld=_numbers(cld), call_session_id=_blank(len(order)),
    )  # fmt: skip
    frame = _message_frame(led, cols)
    linked = led.table("_linked_messages", day).drop(columns="parent_id")
    if len(linked):
        frame = _sort_frame(pd.concat([frame, linked], ignore_index=True), "created_at", "id")
    keep = frame["created_at"].array.asi8 // 1000 <= led.now_us
    return {"messages": frame if keep.all() else frame[keep].reset_index(drop=True)}


def build_calls(led: Ledger, day: dt.date | None) -> dict[str, pd.DataFrame]:
    rng = _rng(led, _S_CALLS, day)
    t = led.static_tables()
    start = _day_times(led, rng, _BASE["calls"], day)
    n = len(start)
    inbound = rng.random(n) < 0.45
    country = rng.choice(_NC, size=n, p=_C.weight)
    own = np.where(inbound, _pick_number(led, rng, "pool_any", country),
                   _pick_number(led, rng, "pool_voice_out", country))  # fmt: skip
    remote = _remote(rng, country)
    toll_free = t["num_type"][own] == 1
    status = rng.choice(3, size=n, p=[0.84, 0.13, 0.03])
    answered = status == 0
    pdd_ms = np.clip(rng.lognormal(np.log(1400), 0.45, n), 150, 12000).astype(np.int64)
    ring_us = np.where(answered, rng.integers(2 * _US, 20 * _US, n),
                       np.where(status == 1, rng.integers(8 * _US, 45 * _US, n),
                                rng.integers(0, 3 * _US, n)))  # fmt: skip
    length_us = np.clip(rng.lognormal(np.log(95 * _US), 1.0, n), _US, 4 * _HOUR_US)
    length_us = length_us.astype(np.int64)
    connect = start + pdd_ms * 1000 + ring_us
    answer = np.where(answered, connect, _NAT)
    end = np.where(answered, connect + length_us, connect)
    duration = np.where(answered, -(-length_us // _US), 0)
    billable = -(-duration // 60) * 60
    r = _C.rates
    inbound_rate = np.where(toll_free, r["voice_tf"][country], r["voice_in"][country])
    rate = np.where(inbound, inbound_rate, r["voice_out"][country])
    cost = rate * (billable // 60)
    cause = np.select(
        [status == 0, status == 1],
        [0, rng.choice([1, 2, 3], size=n, p=[0.25, 0.3, 0.45])],
        rng.choice([5, 6, 7, 8], size=n, p=[0.35, 0.3, 0.2, 0.15]),
    )
    mos = np.where(answered, np.round(np.clip(rng.normal(4.25, 0.25, n), 1.0, 4.5), 2), np.nan)
    # Which answered calls grow a session tree (see build_sessions). Trees live within
    # their call's UTC day, so a call answered after midnight grows none.
    tree = answered & (rng.random(n) < 0.15) & (answer < _day_us(day) + DAY_US)
    rec = tree & (rng.random(n) < 0.55)
    ai = tree & (rng.random(n) < 0.45)
    n_msgs = np.where(tree, rng.choice(3, size=n, p=[0.6, 0.3, 0.1]), 0)
    rec |= tree & ~ai & (n_msgs == 0)
    info = pd.DataFrame({
        "rec": rec, "trans": rec & (rng.random(n) < 0.5), "ai": ai,
        "n_inf": np.where(ai, np.minimum(1 + rng.poisson(4, n), 20), 0),
        "ai_msg": ai & (rng.random(n) < 0.25), "n_msgs": n_msgs,
        "we_hang": answered & (rng.random(n) < 0.5),
        "own": own, "remote": remote, "country": country, "inbound": inbound,
        "start": start, "answer": answer, "end": end,
    })  # fmt: skip

    ordinal = 0 if day is None else day.toordinal()
    rows = np.arange(n)
    conn = t["num_conn"][own]
    own_str, remote_str = _numbers(t["num_int"][own]), _numbers(remote)
    calls = pd.DataFrame({
        "call_leg_id": _strings(led.ids.encode(K_CALL_LEG, ordinal, rows)),
        "call_session_id": _strings(led.ids.encode(K_CALL_SESSION, ordinal, rows)),
        "start_time": _timestamps(start),
        "answer_time": _timestamps(answer),
        "end_time": _timestamps(end),
        "direction": _codes((~inbound).astype(int), _DIRECTION_DT),
        "cli": _strings(pc.if_else(pa.array(inbound), remote_str, own_str)),
        "cld": _strings(pc.if_else(pa.array(inbound), own_str, remote_str)),
        "country_code": _codes(country, _COUNTRY_DT),
        "connection_id": t["conn_ids"][conn],
        "connection_name": _codes(conn, t["conn_name_dt"]),
        "product": _codes(t["conn_product"][conn], _PRODUCT_DT),
        "tags": _codes(t["num_tag_code"][own], t["tags_dt"]),
        "billing_group_id": _codes(t["num_bg"][own], t["bg_id_dt"]),
        "billing_group_name": _codes(t["num_bg"][own], t["bg_name_dt"]),
        "tn_type": _codes(toll_free.astype(int), _CALL_TN_DT),
        "status": _codes(status, _CALL_STATUS_DT),
        "hangup_cause": _codes(cause, _HANGUP_DT),
        "duration_sec": duration.astype(np.int64),
        "billable_sec": billable.astype(np.int64),
        "rate_micro": rate.astype(np.int64),
        "cost_micro": cost.astype(np.int64),
        "currency": _codes(_C.currency_code[country], _CURRENCY_DT),
        "sip_call_id": _strings(led.ids.encode(K_SIP, ordinal, rows)),
        "mos": mos.astype(np.float64),
        "pdd_ms": pdd_ms,
    })  # fmt: skip
    # A call has a record once it has ended; a call still going at ``now`` has none yet.
    done = end <= led.now_us
    visible = calls if done.all() else calls[done].reset_index(drop=True)
    return {"_calls_all": calls, "calls": visible, "_call_info": info}


def build_sessions(led: Ledger, day: dt.date | None) -> dict[str, pd.DataFrame]:
    """Session trees of a day's calls: children in session_events, messages aside.

    Every child happens within its call's UTC day (clamped to its end), so a day's
    trees live in that day's partitions. Slots (the id's ``sub``): 1 recording,
    2 its transcription, 3 AI assistant, 4 a message the assistant sent (child of its
    last inference), 5-6 messages sent during the call, 10+ inference calls.
    """
    rng = _rng(led, _S_SESSIONS, day)
    t = led.static_tables()
    calls = led.table("_calls_all", day)
    info = led.table("_call_info", day)
    n = len(calls)
    ordinal = 0 if day is None else day.toordinal()
    day_end = _day_us(day) + DAY_US - 1
    answer, end = info["answer"].to_numpy(), info["end"].to_numpy()
    duration = calls["duration_sec"].to_numpy()
    cur = _C.currency_code[info["country"].to_numpy()]
    minutes = -(-duration // 60)

    def draw(lo: float, hi: float) -> np.ndarray:
        return rng.integers(int(lo * _US), int(hi * _US), size=n)

    rec_at = np.minimum(end, day_end)
    trans_at = np.minimum(rec_at + draw(5, 90), day_end)
    ai_at = np.minimum(np.minimum(answer + draw(0.2, 2), end), day_end)
    model = rng.choice(len(_MODELS), size=n)
    msg_at = [np.minimum(answer + (rng.random(n) * (end - answer)).astype(np.int64), day_end)
              for _ in range(2)]  # fmt: skip

    # Event nodes: (rows, slot, parent slot, type code, created, cost, duration, tokens)
    nodes: list[tuple[np.ndarray, ...]] = []
    rec = np.flatnonzero(info["rec"].to_numpy())
    nodes.append((rec, np.full(len(rec), 1), np.zeros(len(rec), int), np.full(len(rec), 0),
                  rec_at[rec], _SESSION_RATE_MICRO[cur[rec], 0] * minutes[rec],
                  duration[rec], np.full(len(rec), -1)))  # fmt: skip
    tr = np.flatnonzero(info["trans"].to_numpy())
    nodes.append((tr, np.full(len(tr), 2), np.full(len(tr), 1), np.full(len(tr), 1),
                  trans_at[tr], _SESSION_RATE_MICRO[cur[tr], 1] * minutes[tr],
                  duration[tr], np.full(len(tr), -1)))  # fmt: skip
    ai = np.flatnonzero(info["ai"].to_numpy())
    ai_sec = np.maximum(1, -(-(end[ai] - ai_at[ai]) // _US))
    nodes.append((ai, np.full(len(ai), 3), np.zeros(len(ai), int), np.full(len(ai), 2),
                  ai_at[ai], _SESSION_RATE_MICRO[cur[ai], 2] * -(-ai_sec // 60),
                  ai_sec, np.full(len(ai), -1)))  # fmt: skip
    n_inf = info["n_inf"].to_numpy()
    inf = np.repeat(ai, n_inf[ai])
    k = np.arange(len(inf)) - np.repeat(np.cumsum(n_inf[ai]) - n_inf[ai], n_inf[ai])
    span = end[inf] - ai_at[inf]
    inf_at = np.minimum(ai_at[inf] + span * (k + 1) // (n_inf[inf] + 1), day_end)
    tokens = np.clip(rng.lognormal(np.log(700), 0.6, len(inf)), 50, 8000).astype(np.int64)
    nodes.append((inf, 10 + k, np.full(len(inf), 3), np.full(len(inf), 3), inf_at,
                  tokens * _MODEL_RATE[model[inf]], np.full(len(inf), -1), tokens))  # fmt: skip

    rows = np.concatenate([x[0] for x in nodes]).astype(np.int64)
    slot, parent = (np.concatenate([x[i] for x in nodes]) for i in (1, 2))
    rtype, created, cost, dur, tok = (np.concatenate([x[i] for x in nodes])
                                      for i in range(3, 8))  # fmt: skip
    ids = led.ids.encode(K_SESSION_EVENT, ordinal, rows, slot)
    parent_ids = pc.if_else(
        pa.array(parent == 0),
        pa.array(calls["call_leg_id"].array).take(pa.array(rows)),
        led.ids.encode(K_SESSION_EVENT, ordinal, rows, np.maximum(parent, 1)),
    )
    is_inf = rtype == 3
    events = pd.DataFrame({
        "id": _strings(ids),
        "call_session_id": calls["call_session_id"].take(rows).array,
        "parent_id": _strings(parent_ids),
        "record_type": _codes(rtype, _SESSION_TYPE_DT),
        "product": _codes(rtype, _SESSION_TYPE_DT),
        "event_name": _codes(rtype, _SESSION_TYPE_DT),
        "created_at": _timestamps(created),
        "cost_micro": cost.astype(np.int64),
        "currency": _codes(cur[rows], _CURRENCY_DT),
        "duration_sec": pd.arrays.IntegerArray(np.maximum(dur, 0).astype(np.int64), dur < 0),
        "tokens": pd.arrays.IntegerArray(np.maximum(tok, 0).astype(np.int64), tok < 0),
        "model": _codes(np.where(is_inf, model[rows], -1), _MODEL_DT),
    })  # fmt: skip

    # Messages sent during the call, to the other party, from the account's number.
    n_msgs = info["n_msgs"].to_numpy()
    direct = [np.flatnonzero(n_msgs > j) for j in range(2)]
    tool = np.flatnonzero(info["ai_msg"].to_numpy())
    last_inf = ai_at[tool] + (end[tool] - ai_at[tool]) * n_inf[tool] // (n_inf[tool] + 1)
    tool_at = np.minimum(np.minimum(last_inf + rng.integers(300_000, 2 * _US, len(tool)),
                                    end[tool]), day_end)  # fmt: skip
    m_rows = np.concatenate([direct[0], direct[1], tool]).astype(np.int64)
    m_slot = np.concatenate([np.full(len(direct[0]), 5), np.full(len(direct[1]), 6),
                             np.full(len(tool), 4)])  # fmt: skip
    m_at = np.concatenate([msg_at[0][direct[0]], msg_at[1][direct[1]], tool_at])
    m_parent_slot = np.concatenate([np.zeros(len(direct[0]) + len(direct[1]), int),
                                    9 + n_inf[tool]])  # fmt: skip
    m_country = info["country"].to_numpy()[m_rows]
    m = len(m_rows)
    own = info["own"].to_numpy()[m_rows]
    prices = _message_prices(rng, m_country, np.ones(m, bool), np.zeros(m, bool))
    linked = _message_frame(led, {
        **prices,
        "id": led.ids.encode(K_MESSAGE, ordinal, m_rows, m_slot),
        "created_us": m_at, "outbound": np.ones(m, bool), "mms": np.zeros(m, bool),
        "country": m_country, "profile": np.full(m, 2),  # the Support profile
        "tn": np.where(t["num_type"][own] == 1, 1, 0),
        "cli": _numbers(t["num_int"][own]),
        "cld": _numbers(info["remote"].to_numpy()[m_rows]),
        "call_session_id": pa.array(calls["call_session_id"].array).take(pa.array(m_rows)),
        "parent_id": pc.if_else(
            pa.array(m_parent_slot == 0),
            pa.array(calls["call_leg_id"].array).take(pa.array(m_rows)),
            led.ids.encode(K_SESSION_EVENT, ordinal, m_rows, np.maximum(m_parent_slot, 1)),
        ),
    })  # fmt: skip

    # Only calls that have ended have a tree; nothing after ``now``.
    done = end <= led.now_us
    out = {}
    for name, frame, call_rows in (("session_events", events, rows),
                                   ("_linked_messages", linked, m_rows)):  # fmt: skip
        keep = done[call_rows] & (frame["created_at"].array.asi8 // 1000 <= led.now_us)
        out[name] = _sort_frame(frame[keep], "created_at", "id")
    return out


def build_events(led: Ledger, day: dt.date | None) -> dict[str, pd.DataFrame]:
    """Call Control events of the calls that *started* on ``day`` (any timestamp)."""
    rng = _rng(led, _S_EVENTS, day)
    t = led.static_tables()
    calls = led.table("_calls_all", day)
    info = led.table("_call_info", day)
    n = len(calls)
    start, answer, end = (info[c].to_numpy() for c in ("start", "answer", "end"))
    inbound = info["inbound"].to_numpy()
    answered = answer != _NAT

    def ms(lo: int, hi: int) -> np.ndarray:
        return rng.integers(lo * 1000, hi * 1000, size=n)

    rec, ai = info["rec"].to_numpy(), info["ai"].to_numpy()
    slots = [  # (who has the slot, when) in _CALL_EVENT_SLOTS order
        (~inbound, start),
        (np.ones(n, bool), start + np.where(inbound, 0, ms(15, 60))),
        (inbound & answered, answer - ms(20, 300)),
        (answered, answer + ms(5, 40)),
        (ai, np.minimum(answer + ms(200, 1000), end)),
        (rec, np.minimum(answer + ms(100, 1500), end)),
        (info["we_hang"].to_numpy(), np.maximum(end - ms(5, 50), answer)),
        (np.ones(n, bool), end),
        (rec, end + ms(1000, 4000)),
    ]
    rows = np.concatenate([np.flatnonzero(has) for has, _ in slots]).astype(np.int64)
    slot = np.concatenate([np.full(int(has.sum()), i) for i, (has, _) in enumerate(slots)])
    when = np.concatenate([at[has] for has, at in slots])
    failed = rng.random(len(rows)) < 0.01
    ordinal = 0 if day is None else day.toordinal()
    conn = t["num_conn"][info["own"].to_numpy()[rows]]
    ev = pd.DataFrame({
        "event_id": _strings(led.ids.encode(K_CALL_EVENT, ordinal, rows, slot)),
        "call_leg_id": calls["call_leg_id"].take(rows).array,
        "call_session_id": calls["call_session_id"].take(rows).array,
        "event_timestamp": _timestamps(when),
        "name": _codes(slot, _EVENT_NAME_DT),
        "type": _codes(np.array([_EVENT_TYPE_DT.categories.get_loc(s[1])
                                 for s in _CALL_EVENT_SLOTS])[slot], _EVENT_TYPE_DT),
        "connection_id": t["conn_ids"][conn],
        "application_name": _codes(conn, t["conn_name_dt"]),
        "product": _codes(t["conn_product"][conn], _PRODUCT_DT),
        "from": calls["cli"].take(rows).array,
        "to": calls["cld"].take(rows).array,
        "failed": failed,
        "status": _codes(np.array([_EVENT_STATUS_DT.categories.get_loc(s[2])
                                   for s in _CALL_EVENT_SLOTS])[slot], _EVENT_STATUS_DT),
        "outbound_voice_profile_id": _codes(t["conn_ovp_code"][conn], t["ovp_dt"]),
    })  # fmt: skip
    return {"_events": _sort_frame(ev, "event_timestamp", "event_id")}


def build_call_events(led: Ledger, day: dt.date | None) -> dict[str, pd.DataFrame]:
    """Events stamped on ``day``: from that day's calls and the day before's (a call
    that crosses midnight hangs up on the next day), even when the day before is outside
    the ledger, so that a day's events do not depend on where the ledger starts."""
    if day is None:
        return {"call_events": led.table("_events", None)}
    lo, hi = _day_us(day), min(_day_us(day) + DAY_US - 1, led.now_us)
    parts = []
    for d in (day - dt.timedelta(days=1), day):
        frame = led.table("_events", d)
        values = frame["event_timestamp"].array.asi8 // 1000
        parts.append(frame[(values >= lo) & (values <= hi)])
    frame = pd.concat(parts, ignore_index=True)
    return {"call_events": _sort_frame(frame, "event_timestamp", "event_id")}


def build_wireless(led: Ledger, day: dt.date | None) -> dict[str, pd.DataFrame]:
    rng = _rng(led, _S_WIRELESS, day)
    t = led.static_tables()
    ts = _day_times(led, rng, _BASE["wireless"], day)
    n = len(ts)
    sim = rng.choice(len(t["sim_p"]), size=n, p=t["sim_p"])
    country = rng.choice(_NC, size=n, p=_WIRELESS_P_A)
    net = _within(rng, _NET_START_A[country], _NET_COUNT_A[country])
    duration = np.round(np.clip(rng.lognormal(np.log(900), 1.0, n), 1, 86_400), 3)
    down = np.clip(rng.lognormal(np.log(500), 1.3, n), 1, 5_000_000).astype(np.int64)
    up = (down * rng.uniform(0.05, 0.4, n)).astype(np.int64)
    rate = _C.rates["data_mb"][country]
    # rate has 4 decimals (a multiple of 100 micro) and MB has 2: the product is exact.
    cost = (rate // 100) * (up + down)
    group = t["sim_group"][sim]
    ordinal = 0 if day is None else day.toordinal()
    frame = pd.DataFrame({
        "id": _strings(led.ids.encode(K_WIRELESS, ordinal, np.arange(n))),
        "created_at": _timestamps(ts),
        "sim_card_id": _codes(sim, t["sim_id_dt"]),
        "sim_group_id": _codes(group, t["sim_group_id_dt"]),
        "sim_group_name": _codes(group, t["sim_group_name_dt"]),
        "imsi": _codes(sim, t["imsi_dt"]),
        "mcc": _codes(_NET_MCC_CODE[net], _MCC_DT),
        "mnc": _codes(_NET_MNC_CODE[net], _MNC_DT),
        "phone_number": _codes(sim, t["sim_number_dt"]),
        "duration_sec": duration.astype(np.float64),
        "uplink_cmb": up,
        "downlink_cmb": down,
        "rate_micro": rate.astype(np.int64),
        "cost_micro": cost.astype(np.int64),
        "currency": _codes(_C.currency_code[country], _CURRENCY_DT),
    })  # fmt: skip
    keep = ts <= led.now_us
    return {"wireless": frame if keep.all() else frame[keep].reset_index(drop=True)}


def build_lookups(led: Ledger, day: dt.date | None) -> dict[str, pd.DataFrame]:
    rng = _rng(led, _S_LOOKUPS, day)
    ts = _day_times(led, rng, _BASE["lookups"], day)
    n = len(ts)
    kind = rng.choice(len(_LOOKUPS), size=n, p=_LOOKUP_P)
    country = rng.choice(_NC, size=n, p=_C.weight)
    ordinal = 0 if day is None else day.toordinal()
    frame = pd.DataFrame({
        "id": _strings(led.ids.encode(K_LOOKUP, ordinal, np.arange(n))),
        "created_at": _timestamps(ts),
        "lookup_type": _codes(kind, _LOOKUP_DT),
        "phone_number": _strings(_numbers(_remote(rng, country))),
        "cost_micro": _LOOKUP_COST[kind].astype(np.int64),
        "currency": _codes(np.zeros(n, int), _CURRENCY_DT),
        "user_id": _codes(np.zeros(n, int), _cat([led.user_id])),
    })  # fmt: skip
    keep = ts <= led.now_us
    return {"lookups": frame if keep.all() else frame[keep].reset_index(drop=True)}



# ----------------------------------------------------------------------------- products
# The products the Detail Record Search API reports beyond messages, calls, call sessions
# and SIM sessions. They are small next to the traffic above (tens of records a day at
# scale 1), billed in USD, and each lives within its UTC day: a record whose last
# timestamp would fall on the next day is not made.


@dataclass(frozen=True)
class Metered:
    """A product billed as ``rate x quantity``, one record per use.

    ``median``/``sigma``/``most`` shape the amount of each use (a lognormal, rounded, from
    1 to ``most``): seconds when ``per_minute`` (billed per started minute), else units.
    A ``calls`` product is a call: ``started_at``, ``answered_at``, ``finished_at``.
    ``choices`` are categorical columns drawn uniformly; ``numbers`` names the phone number
    columns (``cli``/``cld``: the account's number and the other party's, by direction).
    """

    name: str  # the detail record type
    per_day: float  # records a day at scale 1
    unit: str  # what the rate is per (``rate_measured_in``)
    rate: str  # USD per unit, exact
    median: float
    sigma: float
    most: int
    per_minute: bool = False
    calls: bool = False
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()
    numbers: tuple[str, ...] = ()

    @property
    def time_column(self) -> str:
        return "started_at" if self.calls else "created_at"


_DIRECTIONS = ("direction", ("inbound", "outbound"))
METERED: tuple[Metered, ...] = (
    Metered("verify", 80, "verification", "0.0300", 1, 0.0, 1,
            choices=(("verify_channel_type", ("sms", "call", "flashcall", "psd2")),
                     ("verification_status", ("accepted", "expired", "invalid"))),
            numbers=("destination_phone_number",)),
    Metered("fax", 6, "page", "0.0070", 3, 0.7, 40,
            choices=(_DIRECTIONS, ("status", ("delivered", "failed"))), numbers=("cli", "cld")),
    Metered("media_storage", 25, "MB", "0.0010", 5, 1.2, 500,
            choices=(("action_type", ("upload", "download", "delete")),
                     ("status", ("success", "failed")))),
    Metered("embedding", 15, "token", "0.000001", 2000, 1.0, 200_000,
            choices=(("model", ("thenlper/gte-large", "intfloat/multilingual-e5-large")),)),
    Metered("inference-speech-to-text", 20, "minute", "0.0150", 90, 1.0, 3600,
            per_minute=True, choices=(("model", ("openai/whisper-large-v3-turbo",
                                                 "distil-whisper/distil-large-v2")),)),
    Metered("media-streaming", 10, "minute", "0.0035", 180, 0.8, 7200, per_minute=True),
    Metered("noise-suppression", 12, "minute", "0.0020", 150, 0.8, 7200, per_minute=True),
    Metered("siprec-client", 5, "minute", "0.0025", 240, 0.8, 7200, per_minute=True),
    Metered("tts", 40, "character", "0.000015", 400, 0.9, 20_000,
            choices=(("voice", ("Telnyx.KokoroTTS.af", "AWS.Polly.Joanna", "Azure.en-US-Ava")),)),
    Metered("webrtc", 30, "minute", "0.0020", 120, 1.0, 7200, per_minute=True, calls=True,
            choices=(_DIRECTIONS,), numbers=("cli", "cld")),
    Metered("sip-trunking", 150, "minute", "0.0050", 95, 1.0, 14_400, per_minute=True,
            calls=True, choices=(_DIRECTIONS,), numbers=("cli", "cld")),
)  # fmt: skip
#: USD per answering-machine detection, per conference participant minute.
AMD_RATE, CONFERENCE_RATE = _micro("0.0020"), _micro("0.0020")
_AMD_SHARE = 0.10  # of answered outbound calls
_CONFERENCES = 6.0  # a day at scale 1, 2 to 6 participants each
# The id's ``sub`` of each product (metered ones: their position), and random streams
# (fixed numbers, so adding a product never changes another's records).
_SUB_AMD, _SUB_CONF, _SUB_PART, _SUB_PART_LEG, _SUB_PART_SESSION = 20, 21, 22, 23, 24
_S_PRODUCTS, _S_AMD, _S_CONFERENCES = 16, 40, 41
_USD_ONLY = 0  # CURRENCIES.index("USD")
_FEATURE_DT = _cat(("PREMIUM",))
_CONF_NAME_DT = _cat(("Daily standup", "Sales sync", "Support escalation", "Board call"))
_REGION_DT = _cat(("us-east", "us-central", "eu-west"))

#: The time column of each product table (what days and windows are cut by).
PRODUCT_TIME_COLUMN = {
    **{m.name: m.time_column for m in METERED},
    "amd": "invoked_at",
    "conference": "started_at",
    "conference-participant": "joined_at",
}


def _usd(n: int) -> pd.Categorical:
    return _codes(np.full(n, _USD_ONLY), _CURRENCY_DT)


def _build_metered(led: Ledger, day: dt.date | None, index: int) -> pd.DataFrame:
    product = METERED[index]
    rng = _rng(led, _S_PRODUCTS + index, day)
    t = led.static_tables()
    ts = _day_times(led, rng, product.per_day, day)
    n = len(ts)
    amount = np.rint(rng.lognormal(np.log(product.median), product.sigma, n))
    amount = np.clip(amount, 1, product.most).astype(np.int64)
    cols: dict[str, Any] = {
        "id": _strings(led.ids.encode(K_PRODUCT, 0 if day is None else day.toordinal(),
                                      np.arange(n), index)),
        product.time_column: _timestamps(ts),
    }  # fmt: skip
    last = ts
    quantity = amount
    if product.per_minute:
        begin = ts
        if product.calls:
            begin = ts + rng.integers(2 * _US, 15 * _US, n)
            cols["answered_at"] = _timestamps(begin)
        last = begin + amount * _US
        quantity = -(-amount // 60)
        if product.calls:
            cols["finished_at"] = _timestamps(last)
            cols["call_sec"] = amount
            cols["billed_sec"] = quantity * 60
        else:
            cols["duration_sec"] = amount
    cols["quantity"] = quantity
    rate = _micro(product.rate)
    cols["rate_micro"] = np.full(n, rate, dtype=np.int64)
    cols["cost_micro"] = (rate * quantity).astype(np.int64)
    cols["currency"] = _usd(n)
    for name, values in product.choices:
        cols[name] = _codes(rng.choice(len(values), size=n), _cat(values))
    if product.numbers:
        country = rng.choice(_NC, size=n, p=_C.weight)
        remote = _numbers(_remote(rng, country))
        if product.numbers == ("cli", "cld"):
            own = _numbers(t["num_int"][_pick_number(led, rng, "pool_any", country)])
            inbound = pa.array(cols["direction"].codes == 0)
            cols["cli"] = _strings(pc.if_else(inbound, remote, own))
            cols["cld"] = _strings(pc.if_else(inbound, own, remote))
        else:
            cols[product.numbers[0]] = _strings(remote)
    frame = pd.DataFrame(cols)
    # Within its day, and over by ``now``.
    keep = (last <= _day_us(day) + DAY_US - 1) & (last <= led.now_us)
    return frame if keep.all() else frame[keep].reset_index(drop=True)


def _metered_builder(index: int) -> Any:
    def build(led: Ledger, day: dt.date | None) -> dict[str, pd.DataFrame]:
        return {METERED[index].name: _build_metered(led, day, index)}

    build.__name__ = f"build_{METERED[index].name}"  # the day cache tells builders by name
    return build


def build_amd(led: Ledger, day: dt.date | None) -> dict[str, pd.DataFrame]:
    """Answering-machine detection on a share of the day's answered outbound calls,
    invoked when the call is answered (so only calls answered within the day)."""
    rng = _rng(led, _S_AMD, day)
    calls = led.table("_calls_all", day)
    info = led.table("_call_info", day)
    answer, end = info["answer"].to_numpy(), info["end"].to_numpy()
    drawn = rng.random(len(calls)) < _AMD_SHARE
    pick = (drawn & ~info["inbound"].to_numpy() & (answer != _NAT)
            & (answer < _day_us(day) + DAY_US) & (end <= led.now_us))  # fmt: skip
    rows = np.flatnonzero(pick)
    n = len(rows)
    ordinal = 0 if day is None else day.toordinal()
    taken = calls.take(rows)
    frame = pd.DataFrame({
        "id": _strings(led.ids.encode(K_PRODUCT, ordinal, rows, _SUB_AMD)),
        "invoked_at": _timestamps(answer[rows]),
        "call_leg_id": taken["call_leg_id"].array,
        "call_session_id": taken["call_session_id"].array,
        "connection_id": taken["connection_id"].to_numpy(),
        "connection_name": taken["connection_name"].array,
        "billing_group_id": taken["billing_group_id"].array,
        "billing_group_name": taken["billing_group_name"].array,
        "tags": taken["tags"].array,
        "feature": _codes(np.zeros(n), _FEATURE_DT),
        "quantity": np.ones(n, dtype=np.int64),
        "rate_micro": np.full(n, AMD_RATE, dtype=np.int64),
        "cost_micro": np.full(n, AMD_RATE, dtype=np.int64),
        "currency": _usd(n),
    })  # fmt: skip
    return {"amd": _sort_frame(frame, "invoked_at", "id")}


def build_conferences(led: Ledger, day: dt.date | None) -> dict[str, pd.DataFrame]:
    """Conferences and their participants; a conference ends when its last participant
    leaves, within the day."""
    rng = _rng(led, _S_CONFERENCES, day)
    t = led.static_tables()
    start = _day_times(led, rng, _CONFERENCES, day)
    n = len(start)
    size = rng.integers(2, 7, size=n)
    conf = np.repeat(np.arange(n), size)
    m = len(conf)
    day_end = _day_us(day) + DAY_US - 1
    joined = np.minimum(start[conf] + rng.integers(0, 90 * _US, m), day_end)
    stay = np.clip(rng.lognormal(np.log(1200), 0.6, m), 60, 4 * 3600).astype(np.int64)
    left = np.minimum(joined + stay * _US, day_end)
    first = np.cumsum(size) - size
    ended = np.maximum.reduceat(left, first) if n else np.zeros(0, np.int64)
    call_sec = -(-(left - joined) // _US)
    billed = -(-call_sec // 60) * 60
    country = rng.choice(_NC, size=m, p=_C.weight)
    remote = _numbers(_remote(rng, country))
    own = _numbers(t["num_int"][_pick_number(led, rng, "pool_any", country)])
    name = rng.choice(len(_CONF_NAME_DT.categories), size=n)
    region = rng.choice(len(_REGION_DT.categories), size=n)
    conn = rng.integers(0, len(t["conn_ids"]), size=n)
    ordinal = 0 if day is None else day.toordinal()
    conf_ids = led.ids.encode(K_PRODUCT, ordinal, np.arange(n), _SUB_CONF)
    user = _cat([led.user_id])
    conferences = pd.DataFrame({
        "id": _strings(conf_ids),
        "started_at": _timestamps(start),
        "ended_at": _timestamps(ended),
        "expires_at": _timestamps(start + DAY_US),
        "name": _codes(name, _CONF_NAME_DT),
        "region": _codes(region, _REGION_DT),
        "connection_id": t["conn_ids"][conn],
        "call_sec": -(-(ended - start) // _US),
        "participant_count": size.astype(np.int64),
        "participant_call_sec": np.add.reduceat(call_sec, first) if n else np.zeros(0, np.int64),
        "user_id": _codes(np.zeros(n), user),
    })  # fmt: skip
    rows = np.arange(m)
    participants = pd.DataFrame({
        "id": _strings(led.ids.encode(K_PRODUCT, ordinal, rows, _SUB_PART)),
        "joined_at": _timestamps(joined),
        "left_at": _timestamps(left),
        "conference_id": _strings(conf_ids.take(pa.array(conf))),
        "call_leg_id": _strings(led.ids.encode(K_PRODUCT, ordinal, rows, _SUB_PART_LEG)),
        "call_session_id": _strings(led.ids.encode(K_PRODUCT, ordinal, rows, _SUB_PART_SESSION)),
        "originating_number": _strings(remote),
        "destination_number": _strings(own),
        "call_sec": call_sec.astype(np.int64),
        "billed_sec": billed.astype(np.int64),
        "quantity": (billed // 60).astype(np.int64),
        "rate_micro": np.full(m, CONFERENCE_RATE, dtype=np.int64),
        "cost_micro": (CONFERENCE_RATE * (billed // 60)).astype(np.int64),
        "currency": _usd(m),
        "user_id": _codes(np.zeros(m), user),
    })  # fmt: skip
    # A conference and its participants appear once it has ended.
    over = ended <= led.now_us
    if not over.all():
        conferences = conferences[over].reset_index(drop=True)
        participants = participants[over[conf]]
    return {"conference": conferences,
            "conference-participant": _sort_frame(participants, "joined_at", "id")}  # fmt: skip


#: Which generator makes each table (a generator makes several tables of one day at once).
BUILDERS: dict[str, Any] = {
    "messages": build_messages,
    "calls": build_calls,
    "_calls_all": build_calls,
    "_call_info": build_calls,
    "_events": build_events,
    "call_events": build_call_events,
    "session_events": build_sessions,
    "_linked_messages": build_sessions,
    "wireless": build_wireless,
    "lookups": build_lookups,
    **{m.name: _metered_builder(i) for i, m in enumerate(METERED)},
    "amd": build_amd,
    "conference": build_conferences,
    "conference-participant": build_conferences,
}
