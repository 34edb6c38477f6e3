"""Column arguments of the frame functions, read the same way by analysis, plots and Dask.

A ``by=``, ``dimensions=`` or ``columns=`` argument is one column name or a list of them;
a named column that the frame lacks is a ``ValueError`` naming the argument and the
columns the frame has, raised before any work.

>>> import pandas as pd
>>> as_list("country"), as_list(["country", "currency"]), as_list(None)
(['country'], ['country', 'currency'], [])
>>> require_column(pd.DataFrame({"cost": [1.0]}), "price", "cost")
Traceback (most recent call last):
...
ValueError: cost='price': no such column; the frame has cost
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pandas as pd

__all__ = ["as_list", "require_column"]


def as_list(by: Hashable | Sequence[Hashable] | None) -> list[Hashable]:
    """``by`` as a list of column names: ``None`` is none, a string is one name."""
    if by is None:
        return []
    if isinstance(by, str) or not isinstance(by, Sequence):
        return [by]
    return list(by)


def require_column(df: pd.DataFrame, column: Hashable, argument: str) -> None:
    """Raise a ``ValueError`` naming ``argument`` unless ``df`` has ``column``."""
    if column not in df.columns:
        raise ValueError(f"{argument}={column!r}: no such column; the frame has "
                         f"{', '.join(map(str, df.columns))}")
