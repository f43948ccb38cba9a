"""Small helpers shared by the chart builders: tables of a Result, numbers as floats."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def table(result: Any, *names: str) -> pd.DataFrame:
    """The first of ``names`` that ``result`` has as a non-empty table, else an empty frame.

    Works for :class:`~funnelscope.analyses.result.Result` (``tables`` dict) and for the
    value results whose ``tables()`` is a method.
    """
    tables = result.tables() if callable(getattr(result, "tables", None)) else result.tables
    for n in names:
        df = tables.get(n)
        if isinstance(df, pd.DataFrame) and not df.empty:
            if df.index.name is not None:
                df = df.reset_index()
            return df
    return pd.DataFrame()


def has(*names: str):
    """Predicate: the result has a non-empty table called one of ``names``."""
    return lambda result: not table(result, *names).empty


def floats(values: Any) -> list[float | None]:
    """Numbers as plain floats, missing as None (plotly draws gaps)."""
    arr = pd.array(values, dtype="Float64")
    return [None if pd.isna(v) else float(v) for v in arr]


def ints(values: Any) -> list[int]:
    return [int(v) for v in np.asarray(pd.array(values, dtype="Int64").fillna(0))]


def labels(values: Any) -> list[str]:
    return ["(none)" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            for v in values]
