"""Result objects of retention, activity, churn, AARRR and the B2B chain.

Each is a :class:`funnelscope.analyses.result.Result` (named tidy tables + spec + meta).
Retention adds the cohort-triangle views and its documented JSON shape; the metric summaries
(AARRR, B2B) carry one row per metric with its definition (dimension, aggregation, measure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from funnelscope.analyses.result import Result, jsonable


def _group_key(row: dict, by: bool) -> tuple:
    return (row["cohort"], row["group"]) if by else (row["cohort"],)


@dataclass(repr=False)
class RetentionResult(Result):
    """Cohort retention: ``cells`` (tidy triangle), ``average`` curve, optional brackets.

    Tables: ``cells`` — cohort, [group], size, period, retained, rate, complete (one row per
    cohort and period 0..periods; retained/rate are missing where the period is incomplete);
    ``average`` — period, cohorts, size, retained, rate (size-weighted over complete cells);
    ``average_by`` (with ``by``); ``brackets`` and ``average_brackets`` (with brackets).
    """

    @property
    def by(self) -> bool:
        return "group" in self.tables["cells"].columns

    def triangle(self, values: str = "rate") -> pd.DataFrame:
        """Wide cohort triangle: one row per cohort (and group), one column per period.

        ``values``: "rate" (share of the cohort, 0..1) or "retained" (users). Incomplete
        cells are missing (NaN / <NA>), never 0.
        """
        if values not in ("rate", "retained"):
            raise ValueError("values must be 'rate' or 'retained'")
        cells = self.tables["cells"]
        index = ["cohort", "group", "size"] if self.by else ["cohort", "size"]
        if cells.empty:
            return pd.DataFrame(columns=[*index])
        heads = cells.drop_duplicates(index[:-1])[index].reset_index(drop=True)
        keys = index[:-1]
        for k in sorted(cells["period"].unique()):
            col = cells[cells["period"] == k][[*keys, values]].rename(columns={values: int(k)})
            heads = heads.merge(col, on=keys, how="left", sort=False)
        return heads

    def cohorts(self) -> list[dict[str, Any]]:
        """The cohorts as JSON records: cohort, [group], size, retained[k], rate[k] (null = incomplete)."""
        out: dict[tuple, dict[str, Any]] = {}
        for row in self.tables["cells"].to_dict(orient="records"):
            key = _group_key(row, self.by)
            rec = out.get(key)
            if rec is None:
                rec = {"cohort": row["cohort"]}
                if self.by:
                    rec["group"] = jsonable(row["group"])
                rec.update(size=int(row["size"]), retained=[], rate=[])
                out[key] = rec
            rec["retained"].append(jsonable(row["retained"]))
            rec["rate"].append(jsonable(row["rate"]))
        return list(out.values())

    def to_dict(self) -> dict[str, Any]:
        """``{"cohorts": [{"cohort", "size", "retained": [...], "rate": [...]}], "average": [...], ...}``."""
        out: dict[str, Any] = {"cohorts": self.cohorts()}
        for name in ("average", "average_by", "brackets", "average_brackets"):
            if name in self.tables:
                out[name] = jsonable(self.tables[name])
        out["definition"] = self.meta.get("definition")
        out["meta"] = jsonable({k: v for k, v in self.meta.items() if k != "definition"})
        out["spec"] = jsonable(self.spec.to_dict())
        return out


@dataclass(repr=False)
class ActivityResult(Result):
    """Active users and their rhythm: daily / weekly / monthly actives, lifecycle, streaks, frequency.

    ``summary`` (a dict in meta) holds the averages over complete periods.
    """

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["meta"] = jsonable(self.meta)
        return out


@dataclass(repr=False)
class ChurnResult(Result):
    """Churn per period, the Kaplan–Meier survival curve and median lifetime."""

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["meta"] = jsonable(self.meta)
        return out


@dataclass(repr=False)
class MetricsResult(Result):
    """A metric summary (AARRR, B2B chain): ``metrics`` has one row per metric with its definition.

    Columns of ``metrics``: stage, metric, value, numerator, denominator, dimension,
    aggregation, measure. ``value(name)`` returns one metric's value.
    """

    def value(self, metric: str) -> Any:
        rows = self.tables["metrics"]
        hit = rows[rows["metric"] == metric]
        if hit.empty:
            raise KeyError(f"no metric {metric!r}; have {list(rows['metric'])}")
        return jsonable(hit.iloc[0]["value"])

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["meta"] = jsonable(self.meta)
        return out
