"""Analysis benchmark: exact ``cost_by`` against a bare float64 pandas group-by.

5,000,000 message-like rows over 90 days (timestamps, 4 products, 30 countries, each with
its currency, costs as ``float64``, the package's money dtype), totalled per day x product
x country:

(a) the bar: ``df.groupby([day, "product", "country"], observed=True)["cost_f64"].sum()``
    on a float64 copy of the costs (inexact, and it adds currencies together);
(b) ``tx.cost_by(df, ["product", "country"], freq="D")``: exact, per currency;
(c) for scale, pandas' own group-by sum on the same amounts as a ``decimal128`` column.

Each case is timed ``--repeat`` times, in the same process, on the same frame; the median
is reported (best in brackets). Then every total of (b) is checked, digit for digit,
against pyarrow's decimal group-by of the same rows (an independent exact sum), and the
float64 totals of (a) are compared with it. The target: (b) no slower than 1.5 x (a).
Results go to the "Analysis" section of docs/benchmarks.md.

Run (from the repository root)::

    .venv/bin/python benchmarks/bench_analysis.py                 # full run, writes the docs
    .venv/bin/python benchmarks/bench_analysis.py --rows 500000 --no-write   # quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from _docs import markers, write_section  # benchmarks/ is on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from telnyx_analytics.analysis import cost_by  # noqa: E402

BEGIN, FINISH = markers("analysis")
TARGET = 1.5
DAYS = 90
PRODUCTS = ["messaging", "voice", "wireless", "number lookups"]
CURRENCIES = ["USD", "EUR", "GBP", "CAD", "AUD"]


def make_frame(rows: int, seed: int = 1) -> pd.DataFrame:
    """The benchmark rows. Amounts come from a table of realistic prices (4 to 6 decimals),
    decoded by pyarrow, so the frame owes nothing to the code under test."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC").value
    offsets = rng.integers(0, DAYS * 86_400 * 10**9, rows)
    created = pd.to_datetime(start + offsets, utc=True)
    countries = [f"C{i:02d}" for i in range(30)]
    country_codes = rng.integers(0, len(countries), rows).astype(np.int8)
    currency_of = np.array([0] * 18 + [1] * 6 + [2, 2] + [3, 3] + [4, 4], np.int8)
    prices = [Decimal(int(p)) / 10**6 for p in rng.integers(100, 2_000_000, 5_000)]
    picks = rng.integers(0, len(prices), rows).astype(np.int32)
    cost = pa.DictionaryArray.from_arrays(
        pa.array(picks), pa.array(prices, pa.decimal128(18, 6))).dictionary_decode()
    # The money column as every frame of the package holds it: the float64 nearest to each
    # amount (Python's float(Decimal) rounds so).
    nearest = np.array([float(p) for p in prices])[picks]
    frame = pd.DataFrame({
        "created_at": created,
        "product": pd.Categorical.from_codes(rng.integers(0, 4, rows).astype(np.int8), PRODUCTS),
        "country": pd.Categorical.from_codes(country_codes, countries),
        "currency": pd.Categorical.from_codes(currency_of[country_codes], CURRENCIES),
        "cost": nearest,
        "cost_decimal": pd.arrays.ArrowExtensionArray(cost),
    })
    return frame


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(median, best) seconds of ``repeat`` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), result


def exact_reference(frame: pd.DataFrame) -> dict[tuple, Decimal]:
    """pyarrow's decimal group-by sum: exact, and independent of telnyx_analytics."""
    table = pa.table({
        "day": pa.array(frame["created_at"].dt.floor("D").dt.strftime("%Y-%m-%d")),
        "product": pa.array(frame["product"].astype(str)),
        "country": pa.array(frame["country"].astype(str)),
        "currency": pa.array(frame["currency"].astype(str)),
        "cost": pa.array(frame["cost_decimal"].array),
    })
    out = table.group_by(["day", "product", "country", "currency"]).aggregate(
        [("cost", "sum")]).to_pydict()
    return {key[:4]: key[4] for key in zip(out["day"], out["product"], out["country"],
                                           out["currency"], out["cost_sum"], strict=True)}


def run(rows: int, repeat: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    frame = make_frame(rows)
    built = time.perf_counter() - t0

    def bare() -> pd.Series:
        day = frame["created_at"].dt.floor("D")
        return frame.groupby([day, "product", "country"], observed=True)["cost"].sum()

    def exact() -> pd.DataFrame:
        return cost_by(frame, ["product", "country"], freq="D")

    def pandas_decimal() -> pd.Series:
        day = frame["created_at"].dt.floor("D")
        return frame.groupby([day, "product", "country"], observed=True)["cost_decimal"].sum()

    exact()  # warm up both code paths once
    bare()
    results: dict[str, Any] = {"rows": rows, "repeat": repeat, "built": built}
    results["bare"] = timed(bare, repeat)
    results["cost_by"] = timed(exact, repeat)
    results["pandas_decimal"] = timed(pandas_decimal, max(1, repeat // 3))

    # An exported file read back with a plain pd.read_parquet: the same dtypes, so the
    # same speed (with decimal128 money it came back as Python Decimal objects).
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "export.parquet"
        frame.drop(columns="cost_decimal").to_parquet(path, index=False)
        results["read_parquet"] = timed(lambda: pd.read_parquet(path), repeat)
        back = results["read_parquet"][2]
    results["read_back_cost_by"] = timed(
        lambda: cost_by(back, ["product", "country"], freq="D"), repeat)
    results["read_back_same"] = results["read_back_cost_by"][2].equals(results["cost_by"][2])

    reference = exact_reference(frame)
    out = results["cost_by"][2]
    # A float64 total stands for the exact amount of its shortest repr.
    got = {(p.strftime("%Y-%m-%d"), str(pr), str(c), str(cu)): Decimal(repr(float(v)))
           for p, pr, c, cu, v in zip(
        out["period"], out["product"], out["country"], out["currency"], out["cost"],
        strict=True)}
    results["groups"] = len(got)
    results["exact"] = got == reference
    by_pandas = results["pandas_decimal"][2]
    pandas_totals = {(d.strftime("%Y-%m-%d"), str(p), str(c)): v
                     for (d, p, c), v in by_pandas.items()}
    results["pandas_exact"] = all(pandas_totals[k[:3]] == v for k, v in reference.items())
    floats = results["bare"][2]
    by_key = {(d.strftime("%Y-%m-%d"), str(p), str(c)): v for (d, p, c), v in floats.items()}
    drift = [abs(Decimal(repr(float(by_key[k[:3]]))) - v) for k, v in reference.items()]
    results["float_groups_off"] = sum(d >= Decimal("0.0000005") for d in drift)
    results["float_max_error"] = max(drift)
    whole = sum(reference.values(), Decimal(0))
    results["float_total_error"] = abs(Decimal(repr(float(frame["cost"].sum()))) - whole)
    results["ratio"] = results["cost_by"][0] / results["bare"][0]
    return results


def report(r: dict[str, Any]) -> str:
    def seconds(case: str) -> str:
        median, best, _ = r[case]
        return f"{median:.3f} s ({best:.3f})"

    cpu = platform.processor() or platform.machine()
    verdict = "meets" if r["ratio"] <= TARGET else "MISSES"
    lines = [
        BEGIN,
        "## Analysis",
        "",
        f"`benchmarks/bench_analysis.py`, run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on "
        f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, pandas "
        f"{pd.__version__}, pyarrow {pa.__version__}, numpy {np.__version__}.",
        "",
        f"{r['rows']:,} rows over {DAYS} days (4 products, 30 countries in 5 currencies, "
        f"costs `float64` exact to the micro-unit), totalled per day x product x country: "
        f"{r['groups']:,} groups. Median of {r['repeat']} runs, best in brackets.",
        "",
        "| case | time | vs (a) |",
        "|---|---|---|",
        f"| (a) `groupby([day, product, country]).sum()` on the float64 money | "
        f"{seconds('bare')} | 1.00 |",
        f"| (b) `tx.cost_by(df, ['product', 'country'], freq='D')`, exact | "
        f"{seconds('cost_by')} | {r['ratio']:.2f} |",
        f"| (c) the same pandas group-by on the amounts as `decimal128` | "
        f"{seconds('pandas_decimal')} | "
        f"{r['pandas_decimal'][0] / r['bare'][0]:.2f} |",
        f"| (d) (b) on the frame exported to Parquet and read back with a plain "
        f"`pd.read_parquet` | {seconds('read_back_cost_by')} | "
        f"{r['read_back_cost_by'][0] / r['bare'][0]:.2f} |",
        "",
        "(c) is there for scale: it sums decimals too (exact here: "
        f"**{r['pandas_exact']}**), but, like (a), it adds currencies together. (d): the "
        f"plain read itself takes {seconds('read_parquet')}, and the totals equal (b)'s: "
        f"**{r['read_back_same']}**.",
        "",
        f"- Target (b) <= {TARGET} x (a): **{verdict}** it ({r['ratio']:.2f} x).",
        f"- Exact: every one of the {r['groups']:,} totals of (b) equals pyarrow's decimal "
        f"group-by sum of the same rows, digit for digit: **{r['exact']}**.",
        f"- The float64 totals of (a): {r['float_groups_off']:,} of {r['groups']:,} are off "
        f"at the 6th decimal (largest error {float(r['float_max_error']):.1e}); the float64 sum of "
        f"all rows is off by {float(r['float_total_error']):.1e}, and (a) also adds currencies "
        f"together, which (b) never does.",
        "- How: amounts become int64 micro-units (`round(x * 1e6)`, checked to give the float "
        "back: the money policy), summed by one integer group code per row (category codes "
        "and factorized keys in mixed radix) with numpy, then turned back into float64 "
        "(each total the float nearest to the exact sum); totals that could overflow int64 "
        "are summed in two 32-bit halves instead.",
        FINISH,
        "",
    ]
    return "\n".join(lines)




def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="do not update the docs")
    args = parser.parse_args()
    result = run(args.rows, args.repeat)
    section = report(result)
    print(section)
    if not args.no_write:
        write_section("analysis", section)
    return 0 if result["exact"] and result["ratio"] <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
