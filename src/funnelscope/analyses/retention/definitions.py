"""A metric row that says exactly what was counted: dimension, aggregation, measure.

Every summary metric (AARRR, B2B chain) is reported with its value, the numerator and
denominator behind it (when it is a ratio) and three words of definition:

- dimension: the population counted (which users / deals, which dates);
- aggregation: how (count distinct, share, sum, ratio of sums);
- measure: what qualifies (the event, the window, the column).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

COLUMNS = ["stage", "metric", "value", "numerator", "denominator", "dimension", "aggregation",
           "measure"]


@dataclass(frozen=True)
class Metric:
    stage: str
    metric: str
    value: float | int | None
    dimension: str
    aggregation: str
    measure: str
    numerator: float | int | None = None
    denominator: float | int | None = None


def ratio(num: float | int | None, den: float | int | None) -> float | None:
    """num / den, or None when either is missing or den is 0."""
    if num is None or den is None or den == 0:
        return None
    return num / den


def share(stage: str, metric: str, num: Any, den: Any, dimension: str, measure: str,
          aggregation: str = "share of the dimension") -> Metric:
    """A ratio metric with its numerator and denominator."""
    return Metric(stage, metric, ratio(num, den), dimension, aggregation, measure, num, den)


def table(metrics: list[Metric]) -> pd.DataFrame:
    return pd.DataFrame([asdict(m) for m in metrics], columns=COLUMNS, dtype=object)
