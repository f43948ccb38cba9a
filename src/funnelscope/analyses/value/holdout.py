"""Calibration / holdout check of a BG/NBD fit: actual vs predicted repeat purchases.

Fit the model on the calibration period, then for every customer predict the repeat purchases
in the holdout period (``duration_holdout`` time units after the calibration end) with
:meth:`BetaGeoModel.expected_purchases`, and compare with what they did
(``frequency_holdout``), averaged within buckets of calibration frequency 0, 1, ...,
``max_frequency - 1`` and ``max_frequency+`` (the conditional-expectation chart of FHL 2005,
fig. 4). Build the input with :func:`summary.calibration_holdout_summary`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from funnelscope.analyses.value._inputs import as_pandas, require_columns
from funnelscope.analyses.value._result import TableResult
from funnelscope.analyses.value.bgnbd import BetaGeoModel
from funnelscope.errors import ConfigError

COLUMNS = ("frequency", "recency", "T", "frequency_holdout", "duration_holdout")


@dataclass(frozen=True)
class HoldoutComparison(TableResult):
    """Actual vs predicted holdout repeat purchases by calibration frequency, plus totals."""

    by_frequency: pd.DataFrame
    actual_total: float
    predicted_total: float
    time_unit: str


def holdout_comparison(model: BetaGeoModel, customers: Any, *,
                       max_frequency: int = 7) -> HoldoutComparison:
    """Compare actual and predicted holdout repeat purchases per calibration-frequency bucket.

    ``customers`` is the table of :func:`calibration_holdout_summary` (or any frame with
    columns frequency, recency, T, frequency_holdout, duration_holdout in the model's unit).
    Table columns: ``frequency_bucket`` ("0", "1", ..., "7+"), ``customers``,
    ``actual_purchases`` and ``predicted_purchases`` (means per customer in the bucket),
    ``actual_total`` and ``predicted_total`` (sums).
    """
    if int(max_frequency) < 1:
        raise ConfigError(f"max_frequency={max_frequency!r} must be 1 or more.")
    frame = getattr(customers, "customers", None)
    frame = as_pandas(frame if frame is not None else customers, name="customers")
    require_columns(frame, COLUMNS, name="customers")
    durations = frame["duration_holdout"].unique()
    predicted = np.empty(len(frame))
    for d in durations:
        rows = (frame["duration_holdout"] == d).to_numpy()
        sub = frame.loc[rows]
        predicted[rows] = model.expected_purchases(
            float(d), sub["frequency"], sub["recency"], sub["T"]).to_numpy()
    cap = int(max_frequency)
    freq = frame["frequency"].to_numpy()
    bucket = np.minimum(freq, cap).astype(int)
    table = pd.DataFrame({"bucket": bucket, "actual": frame["frequency_holdout"].to_numpy(),
                          "predicted": predicted})
    g = table.groupby("bucket")
    out = pd.DataFrame({
        "customers": g.size(),
        "actual_purchases": g["actual"].mean(),
        "predicted_purchases": g["predicted"].mean(),
        "actual_total": g["actual"].sum().astype(float),
        "predicted_total": g["predicted"].sum(),
    }).reindex(range(cap + 1))
    out["customers"] = out["customers"].fillna(0).astype("int64")
    out.insert(0, "frequency_bucket", [str(i) for i in range(cap)] + [f"{cap}+"])
    out = out.reset_index(drop=True)
    return HoldoutComparison(by_frequency=out, actual_total=float(table["actual"].sum()),
                             predicted_total=float(predicted.sum()), time_unit=model.time_unit)
