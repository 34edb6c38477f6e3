"""Answers valid by the schema's types but odd in their values: a property-style check.

Whatever JSON values a record's money, time and count fields hold (text of any kind,
numbers of any size, NaN, booleans, nulls, lists, objects), a fetch either gives the
frame, every amount in it exactly what the answer said, or raises
``UnexpectedResponseError``: no other exception, and never a silently changed value.
The examples are derandomized, so the test is the same on every run.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hostile import Answer, HostileServer, Seen

import telnyx_analytics as tx
from telnyx_analytics import _frames

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=14),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.decimals(min_value=-(10**6), max_value=10**6, places=4).map(str),  # well-formed
    st.sampled_from(["0.0040", "12,50", "1e400", "", "NaN", "Infinity", "-0.000001",
                     "1234567890123", "4294967295.999999", "4294967296", "2024-05-01T10:00:00Z",
                     "1714557600000", "9999-12-31T00:00:00Z", " 1.5", "+1.5", "1E-3"]),
)
JSON_VALUES = st.one_of(JSON_SCALARS, st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
FIELDS = ("cost", "rate", "created_at", "parts")


def _expected_amount(value: Any) -> Decimal | None:
    """The exact amount a well-formed money value stands for (None: missing)."""
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def _check(records: list[dict[str, Any]], fetch: Any) -> None:
    try:
        df = fetch(records)
    except tx.UnexpectedResponseError as exc:
        assert exc.field in FIELDS or exc.field is None, exc
        return
    assert len(df) == len(records)
    for column in ("cost", "rate"):
        assert df[column].dtype == np.float64
        for got, record in zip(df[column], records, strict=True):
            want = _expected_amount(record.get(column))
            if want is None:
                assert np.isnan(got)
            else:  # the float nearest to the amount written: its micro-units, exactly
                assert Decimal(round(got * 10**6)) == want.scaleb(6), (record[column], got)
    assert str(df["created_at"].dtype) == "datetime64[ns, UTC]"
    assert str(df["parts"].dtype) in ("Int64", "float64")


def _records(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": f"m-{i}", "currency": "USD", **v} for i, v in enumerate(values)]


RECORDS = st.lists(st.fixed_dictionaries({}, optional={f: JSON_VALUES for f in FIELDS}),
                   min_size=1, max_size=6).map(_records)


@hypothesis.settings(max_examples=400, deadline=None, derandomize=True)
@hypothesis.given(RECORDS)
def test_records_to_frame_is_exact_or_refuses(records: list[dict[str, Any]]) -> None:
    _check(records, lambda r: _frames.records_to_frame(r, "mdr"))


def test_a_fetch_is_exact_or_refuses_whatever_the_values() -> None:
    served: dict[str, Any] = {"records": []}

    def answer(req: Seen) -> Answer:
        records = served["records"]
        meta = {"page_number": 1, "page_size": int(req.query.get("page[size]", 20)),
                "total_pages": 1, "total_results": len(records)}
        return Answer.json({"data": records, "meta": meta})

    with HostileServer(answer) as srv, tx.Client("KEY_odd", srv.base_url, cache=False,
                                                 progress=False, max_retries=0) as client:
        def fetch(records: list[dict[str, Any]]) -> pd.DataFrame:
            served["records"] = records
            return tx.mdrs("2024-05-01", "2024-05-01", client=client)

        @hypothesis.settings(max_examples=60, deadline=None, derandomize=True)
        @hypothesis.given(RECORDS)
        def check(records: list[dict[str, Any]]) -> None:
            _check(records, fetch)

        check()
