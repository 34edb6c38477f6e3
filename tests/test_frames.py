"""Records and CSV bytes into typed frames, on synthetic inputs (no network)."""

from __future__ import annotations

import decimal
import io
import json
import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import telnyx_analytics as tx
from telnyx_analytics import _frames
from telnyx_analytics._frames import SCHEMAS, csv_to_frame, empty_frame, records_to_frame
from telnyx_analytics._money import UNIT, to_micros

EXPECTED_DTYPE = {
    "time": "datetime64[ns, UTC]",
    "day": "datetime64[ns, UTC]",
    "money": "float64",
    "category": "category",
    "string": str(_frames.STRING_DTYPE),
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
}


def _mdr(i: int, **extra: object) -> dict[str, object]:
    record = {
        "id": f"9b{i:06d}-07fd-45ac-b9ca-b87208c24650",
        "created_at": f"2024-05-01T{i % 24:02d}:00:00.123456Z",
        "direction": "inbound" if i % 3 else "outbound",
        "message_type": "SMS",
        "status": "DELIVERED",
        "cli": "+15551234567",
        "cld": "+15557654321",
        "profile_name": "Support",
        "parts": 1 + i % 3,
        "rate": "0.0040",
        "cost": f"{(1 + i % 3) * 0.004:.4f}",
        "currency": "USD" if i % 4 else "EUR",
        "record_type": "mdr_report",
    }
    record.update(extra)
    return record


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_empty_results_have_every_column_and_dtype(name: str) -> None:
    schema = SCHEMAS[name]
    for df in (empty_frame(name), records_to_frame([], name), csv_to_frame(b"", name)):
        assert list(df.columns) == schema.names
        assert len(df) == 0
        for column in schema.columns:
            assert str(df[column.name].dtype) == EXPECTED_DTYPE[column.kind], column.name


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_missing_fields_are_na_with_the_schemas_dtype(name: str) -> None:
    df = records_to_frame([{}, {}], name)
    assert list(df.columns) == SCHEMAS[name].names
    assert df.isna().all().all()
    for column in SCHEMAS[name].columns:
        assert str(df[column.name].dtype) == EXPECTED_DTYPE[column.kind]


def test_mdr_records_are_typed() -> None:
    df = records_to_frame([_mdr(i) for i in range(50)], "mdr")
    assert df["created_at"].iloc[5] == pd.Timestamp("2024-05-01 05:00:00.123456", tz="UTC")
    assert set(df["direction"].cat.categories) == {"inbound", "outbound"}
    assert df["parts"].sum() == sum(1 + i % 3 for i in range(50))
    assert df["id"].iloc[0] == "9b000000-07fd-45ac-b9ca-b87208c24650"
    assert isinstance(df["cost"].iloc[0], float) and df["cost"].iloc[0] == 0.004


def test_money_totals_are_exact_where_float_sums_are_not() -> None:
    n = 10_000
    df = records_to_frame([{"id": str(i), "cost": "0.1000", "currency": "USD"} for i in range(n)],
                          "mdr")
    assert (df["cost"] == 0.1).all()
    assert tx.cost_by(df)["cost"].item() == 1000.0
    assert to_micros(df["cost"])[0].sum() == 1000 * UNIT
    assert sum(0.1 for _ in range(n)) != 1000  # what a float sum would have said


def test_money_from_json_numbers_keeps_the_published_digits() -> None:
    arr = _frames.to_arrow([0.1, 0.012, 1e-06, 123456.654321, None, 7], "money")
    assert arr.to_pylist() == [0.1, 0.012, 1e-06, 123456.654321, None, 7.0]
    assert arr.to_pylist()[:4] == [float(decimal.Decimal(s)) for s in
                                   ("0.100000", "0.012000", "0.000001", "123456.654321")]


def test_money_with_more_digits_is_refused_not_rounded() -> None:
    """The one rule (docs/concepts/money-and-time.md): more than six decimals is an error."""
    with pytest.raises(tx.UnexpectedResponseError, match="never rounded") as e:
        records_to_frame([_mdr(0), _mdr(1, cost="0.1234565")], "mdr")
    assert e.value.field == "cost" and e.value.record == _mdr(1)["id"]
    with pytest.raises(ValueError):
        _frames.to_arrow([0.1234565], "money")


def test_times_with_offsets_or_without_are_utc() -> None:
    values = ["2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00Z", None,
              "2024-05-01T10:00:00.5-06:00"]
    got = _frames.to_arrow(values, "time").to_pylist()
    assert [None if v is None else pd.Timestamp(v) for v in got] == [
        pd.Timestamp("2024-05-01 08:00", tz="UTC"), pd.Timestamp("2024-05-01 10:00", tz="UTC"),
        None, pd.Timestamp("2024-05-01 16:00:00.5", tz="UTC")]
    naive = _frames.to_arrow(["2024-05-01T10:00:00", "2024-05-01T10:00:00Z"], "time")
    assert naive.to_pylist()[0] == naive.to_pylist()[1]  # naive is taken as UTC


def test_nested_objects_are_flattened_under_documented_names() -> None:
    record = {
        "id": "w1", "created_at": "2024-05-01T00:00:00Z", "duration_seconds": 12.5,
        "uplink_data": {"amount": 1.25, "unit": "MB"}, "downlink_data": {"amount": 2, "unit": "KB"},
        "rate": {"amount": "0.0100", "currency": "GBP"},
        "cost": {"amount": "0.032500", "currency": "GBP"},
    }
    df = records_to_frame([record], "wdr")
    row = df.iloc[0]
    assert row["uplink_data"] == 1.25 and row["uplink_data_unit"] == "MB"
    assert row["downlink_data_unit"] == "KB"
    assert row["rate"] == 0.01 and row["rate_currency"] == "GBP"
    assert row["cost"] == 0.0325 and row["currency"] == "GBP"
    assert "cost.amount" not in df.columns


def test_keys_added_to_known_objects_are_kept() -> None:
    record = {"id": "w1", "cost": {"amount": "0.5", "currency": "USD", "tax": "0.05"}}
    # The fast road (one struct) and the slow one (a field that is text in one record).
    for records in ([record], [record, {"id": "w2", "cost": None, "tax": 1}, {"tax": "x"}]):
        df = records_to_frame(records, "wdr")
        assert df.loc[0, "cost.tax"] == "0.05"
        assert df.loc[0, "cost"] == 0.5 and "cost.amount" not in df.columns
        assert str(df["cost"].dtype) == EXPECTED_DTYPE["money"]


@pytest.mark.parametrize("records", [
    [{"id": "w1", "cost": {"amount": "0.5", "currency": "USD"}}, {"id": "w2", "cost": "free"}],
    [{"id": "w1", "cost": "0.5"}, {"id": "w2", "cost": "0.25"}],
])
def test_a_value_where_an_object_is_documented_is_an_error(records) -> None:
    """``cost`` as text where the schema reads ``cost.amount``: never silently NA."""
    with pytest.raises(tx.UnexpectedResponseError, match="object") as caught:
        records_to_frame(records, "wdr")
    assert caught.value.field == "cost"


def test_fields_added_later_are_kept_as_strings() -> None:
    records = [_mdr(0, carrier="T-Mobile", segments=2, flags=["a", "b"],
                    extra={"x": 1, "y": {"z": True}}),
               _mdr(1)]
    df = records_to_frame(records, "mdr")
    assert df.columns[: len(SCHEMAS["mdr"].columns)].tolist() == SCHEMAS["mdr"].names
    assert df.loc[0, "carrier"] == "T-Mobile" and pd.isna(df.loc[1, "carrier"])
    assert df.loc[0, "segments"] == "2"
    assert json.loads(df.loc[0, "flags"]) == ["a", "b"]
    assert df.loc[0, "extra.x"] == "1" and json.loads(df.loc[0, "extra.y"]) == {"z": True}
    for name in ("carrier", "segments", "flags", "extra.x"):
        assert df[name].dtype == _frames.STRING_DTYPE


def test_values_unlike_the_first_records_are_kept_exactly() -> None:
    """The fast road types all records like the first ones; late surprises must survive."""
    records = [_mdr(i) for i in range(3000)]
    records[2500]["parts"] = 2.5  # a float among ints: never truncated to 2
    records[2600]["late_field"] = "x"  # a key the first records lack: never dropped
    records[2700]["cost"] = None
    df = records_to_frame(records, "mdr")
    assert df.loc[2500, "parts"] == 2.5
    assert df.loc[2600, "late_field"] == "x" and df["late_field"].notna().sum() == 1
    assert pd.isna(df.loc[2700, "cost"])
    nested = [{"id": str(i), "cost": {"amount": "1", "currency": "USD"}} for i in range(3000)]
    nested[2999]["cost"]["tax"] = "0.1"
    assert records_to_frame(nested, "wdr").loc[2999, "cost.tax"] == "0.1"


def test_call_event_metadata_is_flattened_one_level() -> None:
    events = [{"call_leg_id": "l1", "call_session_id": "s1",
               "event_timestamp": "2024-05-01T00:00:00Z", "name": "call.hangup",
               "type": "webhook", "record_type": "call_event",
               "metadata": {"from": "+1555", "failed": False, "product": "call_control",
                            "raw": {"a": 1}}},
              {"call_leg_id": "l2", "name": "call.answered", "metadata": {}}]
    df = records_to_frame(events, "call_event")
    assert df.loc[0, "metadata.from"] == "+1555"
    assert df["metadata.failed"].dtype == "boolean" and not df.loc[0, "metadata.failed"]
    assert df["metadata.product"].dtype == "category"
    assert json.loads(df.loc[0, "metadata.raw"]) == {"a": 1}
    assert pd.isna(df.loc[1, "metadata.from"])


def test_constants_fill_every_row() -> None:
    rows = [{"direction": "inbound", "calls": 3, "cost": "1.5000", "currency": "USD"}] * 3
    df = records_to_frame(rows, "cdr_usage", constants={"start_time": "2024-05-01T00:00:00Z",
                                                         "end_time": "2024-05-02T00:00:00Z"})
    assert (df["start_time"] == pd.Timestamp("2024-05-01", tz="UTC")).all()
    assert df["calls"].sum() == 9


def _csv_bytes(records: list[dict[str, object]], columns: list[str]) -> bytes:
    table = pa.table({c: pa.array([None if r.get(c) is None else str(r[c]) for r in records],
                                  pa.string()) for c in columns})
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="needed"))
    return sink.getvalue()


def test_csv_and_json_roads_give_the_same_frame() -> None:
    records = [_mdr(i) for i in range(300)]
    columns = SCHEMAS["mdr"].names
    from_csv = csv_to_frame(_csv_bytes(records, columns), "mdr")
    from_json = records_to_frame(records, "mdr")
    pd.testing.assert_frame_equal(from_csv, from_json)


def test_csv_reads_paths_quotes_empty_fields_and_unknown_columns(tmp_path) -> None:
    data = (
        b'"billing_group_id","billing_group_name","product","cost","currency","region"\n'
        b'"b1","Ops, EU","messaging","12.3400","EUR","west"\n'
        b'"b2","","voice","0.0001","USD",""\n'
    )
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    df = csv_to_frame(path, "billing_group")
    assert df.loc[0, "billing_group_name"] == "Ops, EU"
    assert pd.isna(df.loc[1, "billing_group_name"]) and pd.isna(df.loc[1, "region"])
    assert df["region"].dtype == _frames.STRING_DTYPE and df.loc[0, "region"] == "west"
    assert to_micros(df["cost"])[0].sum() == 12_340_100


def test_csv_keeps_only_the_columns_a_report_has() -> None:
    data = (b'"call_leg_id","start_timestamp_utc","cost","currency"\n'
            b'"a","2024-05-01T00:00:00Z","1.0","USD"\n')
    df = csv_to_frame(data, "cdr_detail")
    assert list(df.columns) == ["call_leg_id", "start_timestamp_utc", "cost", "currency"]
    header_only = csv_to_frame(data.split(b"\n")[0] + b"\n", "cdr_detail")
    assert len(header_only) == 0 and str(header_only["cost"].dtype) == EXPECTED_DTYPE["money"]


def test_csv_falls_back_for_values_the_fast_parser_refuses() -> None:
    data = (b'"date","user_id","type","total_dips","total_cost","currency"\n'
            b'"2024-05-01","u1","CNAM","3","0.0030","USD"\n'
            b'"2024-05-02T00:00:00","u1","LRN","4","1","USD"\n')
    df = csv_to_frame(data, "number_lookup_usage")
    assert df["date"].tolist() == [pd.Timestamp("2024-05-01", tz="UTC"),
                                   pd.Timestamp("2024-05-02", tz="UTC")]
    assert df["total_cost"].tolist() == [0.003, 1.0]
    assert df["total_dips"].dtype == "Int64"


def test_days_become_midnight_utc() -> None:
    data = b'"date","connection_id","calls","cost","currency"\n"2024-02-29","1","2","0.5","USD"\n'
    df = csv_to_frame(data, "cdr_usage_legacy")
    assert df.loc[0, "date"] == pd.Timestamp("2024-02-29", tz="UTC")
    assert str(df["date"].dtype) == EXPECTED_DTYPE["day"]


def test_large_csv_keeps_every_row_and_value() -> None:
    rng = np.random.default_rng(3)
    n = 120_000
    micros = rng.integers(0, 10**8, n)
    records = [{"id": f"m{i}", "created_at": "2024-05-01T00:00:00Z", "cost": f"{m / 10**6:.6f}",
                "currency": ("USD", "EUR", "GBP")[i % 3], "parts": i % 5}
               for i, m in enumerate(micros)]
    df = csv_to_frame(_csv_bytes(records, ["id", "created_at", "cost", "currency", "parts"]), "mdr")
    assert len(df) == n and df["id"].is_unique
    assert to_micros(df["cost"])[0].tolist() == micros.tolist()
    by_currency = tx.cost_by(df)
    assert to_micros(by_currency["cost"])[0].sum() == micros.sum()
    assert df["parts"].sum() == sum(i % 5 for i in range(n))


def test_concat_unions_categories_and_keeps_dtypes() -> None:
    a = records_to_frame([_mdr(1)], "mdr")
    b = records_to_frame([_mdr(0, currency="GBP")], "mdr")
    both = _frames.concat([a, b], "mdr")
    assert both["currency"].dtype == "category"
    assert set(both["currency"].cat.categories) == {"USD", "GBP"}
    assert str(both["cost"].dtype) == EXPECTED_DTYPE["money"]
    assert list(_frames.concat([], "mdr").columns) == SCHEMAS["mdr"].names


def test_categories_hold_strings_and_group_exactly() -> None:
    rng = random.Random(1)
    records = [_mdr(i, currency=rng.choice(["USD", "EUR"]), cost=rng.choice(["0.0040", "0.0080"]))
               for i in range(500)]
    df = records_to_frame(records, "mdr")
    assert df["currency"].cat.categories.dtype == _frames.STRING_DTYPE
    expected = {}
    for r in records:
        cur = r["currency"]
        expected[cur] = expected.get(cur, decimal.Decimal(0)) + decimal.Decimal(r["cost"])
    totals = tx.cost_by(df)
    got = {str(c): decimal.Decimal(int(m)).scaleb(-6)
           for c, m in zip(totals["currency"], to_micros(totals["cost"])[0], strict=True)}
    assert got == expected
