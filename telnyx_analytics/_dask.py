"""The analysis functions on a Dask DataFrame: partial aggregates on the workers.

Each partition (a day of the lake) is reduced *where it is* by the very pandas function
the user would call, into a few rows per group: exact money totals and row counts. Only
those partial aggregates travel to the client, never the rows; the same pandas function
then combines them. Money stays exact all the way: the partial totals are exact
micro-unit sums (``telnyx_analytics._money``), and so is their sum. Each function first
keeps only the columns it uses; on a frame from the lake, Dask pushes that selection into
the Parquet reads, so the other columns are never decoded.

Dask is optional (``pip install 'telnyx-analytics[dask]'``); nothing here imports it
until a Dask frame or ``engine="dask"`` asks for it.

>>> is_dask(object())
False
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._columns import as_list
from .errors import TelnyxAnalyticsError

if TYPE_CHECKING:
    import dask.dataframe as dd

INSTALL = "pip install 'telnyx-analytics[dask]'"
#: A ``top`` larger than any number of values: the partial breakdowns lump nothing.
_ALL = 2**62


class DaskNotInstalledError(TelnyxAnalyticsError, ImportError):
    """Dask was asked for but is not installed."""


def dataframe_module() -> Any:
    """``dask.dataframe``, or an error that says exactly what to install.

    >>> dataframe_module().__name__
    'dask.dataframe'
    """
    try:
        return importlib.import_module("dask.dataframe")
    except ImportError as exc:
        raise DaskNotInstalledError(
            f"engine='dask' needs Dask, which is not installed ({exc}); install it with: "
            f"{INSTALL}") from None


def is_dask(obj: Any) -> bool:
    """Whether ``obj`` is a Dask DataFrame (checked without importing Dask)."""
    return type(obj).__module__.startswith("dask") and hasattr(obj, "map_partitions")


def read_days(runs: Sequence[Sequence[Path]], meta: pd.DataFrame,
              reader: Callable[..., pd.DataFrame]) -> dd.DataFrame:  # fmt: skip
    """A Dask DataFrame with one partition per run of files, read by ``reader`` on a worker.

    ``reader(run, columns=None)``: with a ``columns`` keyword, Dask's optimizer pushes a
    column selection made later (by :func:`_partials`, or by the user) into the read.
    """
    dd = dataframe_module()
    import dask

    # Keep the fetcher's string dtype: Dask would otherwise swap it for its own.
    with dask.config.set({"dataframe.convert-string": False}):
        if not runs:
            return dd.from_pandas(meta, npartitions=1)
        return dd.from_map(reader, list(runs), meta=meta, label="telnyx-lake")


def _partials(ddf: Any, reduce: Callable[[pd.DataFrame], pd.DataFrame],
              uses: Sequence[Hashable | None]) -> pd.DataFrame:  # fmt: skip
    """``reduce`` run on every partition by the workers; the small results concatenated.

    Only the columns in ``uses`` (those ``reduce`` reads) are kept first: on a frame
    read from the lake, Dask pushes that selection into the read, so the other columns
    are never read from disk (the id, the longest, above all). A name that is not a
    column is left for ``reduce`` to refuse with its own message.

    The concatenation is Dask's own (as ``ddf.compute()`` would stack the rows), so the
    categories of a key column come out in the same order as in the whole frame.
    """
    wanted = set(uses)
    ddf = ddf[[c for c in ddf.columns if c in wanted]]
    meta = reduce(ddf._meta)
    return ddf.map_partitions(reduce, meta=meta, enforce_metadata=False).compute()


def _time_column(ddf: Any, time: Hashable | None) -> Hashable | None:
    """The column ``freq`` floors, as the pandas function chooses it (None: it will say)."""
    from .analysis import TIME_COLUMNS

    if time is not None:
        return time
    return next((c for c in TIME_COLUMNS if c in ddf.columns), None)


# -- cost_by ----------------------------------------------------------------------------------


def cost_by(df: Any, by: Hashable | Sequence[Hashable] | None = None, *, freq: str | None = None,
            cost: Hashable = "cost", time: Hashable | None = None,
            currency_column: Hashable = "currency",
            rates: Mapping[str, Any] | pd.DataFrame | None = None,
            to: str | None = None, count: Hashable | None = None) -> pd.DataFrame:  # fmt: skip
    """:func:`telnyx_analytics.cost_by` of a Dask DataFrame (same arguments, same result)."""
    from . import analysis

    by_cols = as_list(by)

    def reduce(part: pd.DataFrame) -> pd.DataFrame:
        return analysis.cost_by(part, by_cols or None, freq=freq, cost=cost, time=time,
                                currency_column=currency_column, count=count)  # fmt: skip

    counted = count if count is not None else "count"
    uses = [*by_cols, cost, currency_column, counted,
            _time_column(df, time) if freq is not None else None]
    partials = _partials(df, reduce, uses)
    # Each partial row is one (period, by, currency) group of one partition, a summary
    # row: cost_by sums such rows exactly, and their counts with them.
    keys = (["period"] if freq is not None else []) + [c for c in by_cols if c != currency_column]
    covered = list(partials.columns[list(partials.columns).index("cost") + 1:])
    out = analysis.cost_by(partials, keys or None, cost="cost", currency_column=currency_column,
                           rates=rates, to=to, count=covered[0])  # fmt: skip
    if covered == ["count"]:  # records: the counts summed are the records of each group
        return out.drop(columns="rows")
    # The frame was itself a summary: its rows behind each group are summed the same way.
    rows = analysis.cost_by(partials.rename(columns={"rows": "_rows"}), keys or None,
                            cost="cost", currency_column=currency_column, rates=rates, to=to,
                            count="_rows")  # fmt: skip
    out["rows"] = rows["_rows"].to_numpy()
    return out


# -- usage_breakdown --------------------------------------------------------------------------


def usage_breakdown(df: Any, dimension: Hashable, metric: Hashable, *, top: int = 10,
                    other: str = "Other", freq: str | None = None, time: Hashable | None = None,
                    currency_column: Hashable = "currency") -> pd.DataFrame:  # fmt: skip
    """:func:`telnyx_analytics.usage_breakdown` of a Dask DataFrame (same result).

    Money and integer metrics are exact; a float metric is summed in another order than
    in one pandas frame, so its totals agree to float rounding.
    """
    from . import analysis

    top = analysis.check_top(top)  # before any work is sent to the cluster

    def reduce(part: pd.DataFrame) -> pd.DataFrame:
        # Every value kept (nothing lumped yet): the top values are chosen over the whole.
        return analysis.usage_breakdown(
            part, dimension, metric, top=_ALL, other=other, freq=freq, time=time,
            currency_column=currency_column,
        ).drop(columns="share")

    uses = [dimension, metric, currency_column, _time_column(df, time) if freq else None]
    partials = _partials(df, reduce, uses)
    name = "count" if metric == "count" and metric not in df.columns else metric
    return analysis.usage_breakdown(partials, dimension, name, top=top, other=other,
                                    freq=freq, time="period" if freq else None,
                                    currency_column="currency")  # fmt: skip
