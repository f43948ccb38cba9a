"""The common shape of every analysis result.

A Result carries tidy tables (pandas DataFrames), the spec that made them and light metadata.
Surfaces (CLI, report, web) render Results; they never compute.
"""

from __future__ import annotations

import contextlib
import math
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_PLAIN = (str, int, bool)


def jsonable(value: Any) -> Any:
    """Convert numpy / pandas scalars and containers into plain JSON values (NaN -> None).

    pandas is not imported here: a value can only be a pandas object if pandas is loaded.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or type(value) in _PLAIN:
        return value
    if type(value) is float:
        return None if math.isnan(value) or math.isinf(value) else value
    pd = sys.modules.get("pandas")
    if pd is None:
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):
            with contextlib.suppress(ValueError, AttributeError):
                value = value.item()
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        return value
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if value is None or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (pd.Timedelta,)):
        return value.total_seconds()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


@dataclass
class Result:
    """Tables produced by one analysis run.

    ``tables`` maps a name (``"steps"``, ``"groups"``...) to a tidy DataFrame; the first one is
    the main table. ``spec`` is the frozen spec that produced it; ``meta`` holds small facts
    (engine, elapsed seconds, data range).
    """

    spec: Any
    tables: dict[str, pd.DataFrame]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> pd.DataFrame:
        return self.tables[next(iter(self.tables))]

    def to_pandas(self, name: str | None = None) -> pd.DataFrame:
        """The main table, or the table called ``name``."""
        return self.main.copy() if name is None else self.tables[name].copy()

    def to_arrow(self, name: str | None = None):
        import pyarrow as pa

        return pa.Table.from_pandas(self.to_pandas(name), preserve_index=False)

    def to_dict(self) -> dict[str, Any]:
        """Every table as a list of records, plus the spec: the JSON the CLI and API print."""
        out: dict[str, Any] = {name: jsonable(df) for name, df in self.tables.items()}
        spec = self.spec.to_dict() if hasattr(self.spec, "to_dict") else self.spec
        out["spec"] = jsonable(spec)
        return out

    def plot(self, kind: str | None = None, **kw: Any):
        """A plotly Figure of this result: its default chart, or chart ``kind``.

        ``lang="zh"`` for Chinese labels; the kinds a result offers and their options are in
        :mod:`funnelscope.report.charts` (imported here lazily: analyses never need plotly).
        """
        from funnelscope.report.charts import plot

        return plot(self, kind, **kw)

    def _repr_html_(self) -> str:
        """Jupyter: every table with the terminal's formats (32.6%, 5.3m, 1,234, –)."""
        from funnelscope.analyses.display import tables_html

        return tables_html(type(self).__name__, dict(self.tables))

    def __repr__(self) -> str:
        return f"{type(self).__name__}:\n{self.main.to_string(index=False)}"
