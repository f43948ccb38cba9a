"""The small result objects the value analyses return: named tidy tables plus scalar values."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd


def _plain(value: Any) -> Any:
    """Convert numpy / pandas scalars to JSON-friendly Python values (NaN -> None)."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if value is pd.NaT or value is None:
        return None
    return value


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` (index reset when named) as a list of JSON-friendly dicts."""
    if frame.index.name is not None or isinstance(frame.index, pd.MultiIndex):
        frame = frame.reset_index()
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


class TableResult:
    """Mixin for result dataclasses: every DataFrame field is a table, every other field a value.

    ``to_pandas()`` returns the main table (the first DataFrame field, or the one named by
    ``main_table``); ``tables()`` returns all of them; ``to_dict()`` gives a JSON-friendly dict
    ``{"tables": {name: [rows]}, "values": {name: value}}``.
    """

    main_table: str | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if isinstance(getattr(self, f.name), pd.DataFrame)}

    def values(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, pd.DataFrame):
                continue
            if isinstance(v, dict):
                out[f.name] = {str(k): _plain(x) for k, x in v.items()}
            elif isinstance(v, (list, tuple)):
                out[f.name] = [_plain(x) for x in v]
            else:
                out[f.name] = _plain(v)
        return out

    def to_pandas(self) -> pd.DataFrame:
        tables = self.tables()
        name = self.main_table or next(iter(tables))
        return tables[name]

    def to_dict(self) -> dict[str, Any]:
        return {"tables": {k: frame_records(v) for k, v in self.tables().items()},
                "values": self.values()}
