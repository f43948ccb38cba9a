"""RFM: recency, frequency and monetary scores per customer, and named segments.

Measures, per customer, from orders on or before ``analysis_date``:

* ``recency_days`` = whole days from the calendar day of the customer's last order to
  ``analysis_date``;
* ``frequency`` = number of orders (rows; same-day orders are *not* merged here, unlike the
  CLV summary);
* ``monetary`` = total order value.

Scores 1..n per measure (n = 5 by default; higher is better, so the *most recent* customers get
the highest recency score). Binning follows the CRAN ``rfm`` package (Hebbali,
``rfm_table_order``) by default, ``binning="rfm"``:

* cut points c_1..c_{n-1} = the k/n quantiles of the measure across customers (R's type 7,
  i.e. linear interpolation, numpy's default) **plus 1**;
* bin k is the half-open interval [lower_k, upper_k) with lower_1 = min, upper_n = max + 1;
* frequency and monetary score = k; recency score = n + 1 - k.

For whole-number measures this puts a value equal to an integer quantile in the lower bin. With
``binning="quantile"`` the bins are right-closed at the quantiles themselves, (c_{k-1}, c_k],
which suits amounts with cents. Custom cut points (a list of n-1 increasing numbers instead of a
bin count) are used as given in either mode (left-closed in ``rfm`` mode, right-closed in
``quantile`` mode).

``rfm_score`` = 100 R + 10 F + M (e.g. 543). Segments come from a replaceable table of score
ranges (see :mod:`funnelscope.analyses.value.rfm_segments`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from funnelscope.analyses.value._inputs import (
    as_amounts,
    as_pandas,
    as_timestamp,
    as_timestamps,
    require_columns,
    single_currency,
)
from funnelscope.analyses.value._result import TableResult
from funnelscope.analyses.value.rfm_segments import (
    DEFAULT_SEGMENTS,
    OTHERS,
    OTHERS_ACTION,
    check_segment_table,
)
from funnelscope.errors import ConfigError, InputError

Bins = int | Sequence[float]
MEASURES = ("recency_days", "frequency", "monetary")


@dataclass(frozen=True)
class RFMResult(TableResult):
    """RFM per customer, the score intervals used and (when segmented) the segment summary."""

    customers: pd.DataFrame
    thresholds: pd.DataFrame
    segment_summary: pd.DataFrame
    analysis_date: pd.Timestamp
    binning: str
    currency: str | None = None


def _cut_points(values: np.ndarray, bins: Bins, binning: str, what: str) -> np.ndarray:
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        n = int(bins)
        if n < 2:
            raise ConfigError(f"{what}_bins={bins!r}: use 2 or more bins.")
        cuts = np.quantile(values, np.arange(1, n) / n)  # numpy "linear" == R type 7
        return cuts + 1.0 if binning == "rfm" else cuts
    try:
        cuts = np.asarray(list(bins), dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what}_bins must be a bin count or a list of cut points.") from exc
    if cuts.size < 1 or not np.all(np.isfinite(cuts)) or np.any(np.diff(cuts) <= 0):
        raise ConfigError(f"{what}_bins={list(bins)!r}: cut points must be increasing numbers.")
    return cuts


def _score(values: np.ndarray, cuts: np.ndarray, binning: str,
           higher_is_better: bool) -> tuple[np.ndarray, pd.DataFrame]:
    """Bin index 1..len(cuts)+1 per value, and the interval table."""
    n = len(cuts) + 1
    side = "right" if binning == "rfm" else "left"
    # rfm: [c_{k-1}, c_k) -> count of cuts <= v;  quantile: (c_{k-1}, c_k] -> cuts < v
    k = np.searchsorted(cuts, values, side=side) + 1
    lower = np.r_[values.min(), cuts] if binning == "rfm" else np.r_[-np.inf, cuts]
    upper = np.r_[cuts, values.max() + 1.0] if binning == "rfm" else np.r_[cuts, np.inf]
    score_of_bin = np.arange(1, n + 1) if higher_is_better else np.arange(n, 0, -1)
    intervals = pd.DataFrame({"bin": np.arange(1, n + 1), "score": score_of_bin,
                              "lower": lower, "upper": upper,
                              "closed": "left" if binning == "rfm" else "right"})
    return score_of_bin[k - 1], intervals


def rfm_scores(
    orders: Any,
    *,
    analysis_date: Any,
    customer: str = "user_id",
    timestamp: str = "ts",
    amount: str = "amount",
    currency: str | None = "currency",
    recency_bins: Bins = 5,
    frequency_bins: Bins = 5,
    monetary_bins: Bins = 5,
    binning: str = "rfm",
    time_zone: str | None = None,
) -> RFMResult:
    """Recency / frequency / monetary and their scores per customer as of ``analysis_date``.

    The customers table (indexed by customer) has ``last_order`` (calendar day),
    ``recency_days``, ``frequency``, ``monetary``, ``recency_score``, ``frequency_score``,
    ``monetary_score`` and ``rfm_score``. The thresholds table gives, per measure and bin,
    the interval [lower, upper) (``closed="left"``) or (lower, upper] that maps to each score.
    """
    if binning not in ("rfm", "quantile"):
        raise ConfigError(f"binning={binning!r} is not known.", hint="Use 'rfm' or 'quantile'.")
    frame = as_pandas(orders, name="orders")
    require_columns(frame, [customer, timestamp, amount], name="orders")
    cur = single_currency(frame, currency, name="orders")
    day = as_timestamp(analysis_date, argument="analysis_date").normalize()
    days = as_timestamps(frame[timestamp], name="orders", column=timestamp,
                         time_zone=time_zone).dt.normalize()
    if frame[customer].isna().any():
        row = int(np.flatnonzero(frame[customer].isna().to_numpy())[0])
        raise InputError(f"orders.{customer} is empty in row {row}.", source="orders", row=row,
                         column=customer)
    data = pd.DataFrame({"customer": frame[customer].to_numpy(), "day": days.to_numpy(),
                         "value": as_amounts(frame[amount], name="orders", column=amount)})
    data = data[data["day"] <= day]
    if data.empty:
        raise InputError(f"No orders on or before analysis_date {day.date()}.",
                         hint="Check analysis_date and the orders' time range.", source="orders")
    g = data.groupby("customer", sort=True)
    table = pd.DataFrame({"last_order": g["day"].max(), "frequency": g.size().astype("int64"),
                          "monetary": g["value"].sum()})
    table.index.name = customer
    table, thresholds = score_customers(table, analysis_date=day, recency_bins=recency_bins,
                                        frequency_bins=frequency_bins,
                                        monetary_bins=monetary_bins, binning=binning)
    return RFMResult(customers=table, thresholds=thresholds, segment_summary=pd.DataFrame(),
                     analysis_date=day, binning=binning, currency=cur)


def score_customers(
    table: pd.DataFrame,
    *,
    analysis_date: Any,
    recency_bins: Bins = 5,
    frequency_bins: Bins = 5,
    monetary_bins: Bins = 5,
    binning: str = "rfm",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score a per-customer table with ``last_order`` (calendar day), ``frequency``, ``monetary``.

    Returns (a copy of ``table`` with ``recency_days`` and the score columns added, the
    thresholds table); the rules are those of :func:`rfm_scores`. Used when the per-customer
    measures were aggregated elsewhere (e.g. in the workspace's engine).
    """
    if binning not in ("rfm", "quantile"):
        raise ConfigError(f"binning={binning!r} is not known.", hint="Use 'rfm' or 'quantile'.")
    if table.empty:
        raise InputError("There are no customers to score.", source="orders")
    day = as_timestamp(analysis_date, argument="analysis_date").normalize()
    table = table[["last_order", "frequency", "monetary"]].copy()
    table.insert(1, "recency_days", (day - table["last_order"]).dt.days.astype("int64"))
    thresholds = []
    for measure, bins, better in (("recency_days", recency_bins, False),
                                  ("frequency", frequency_bins, True),
                                  ("monetary", monetary_bins, True)):
        values = table[measure].to_numpy(dtype=float)
        what = measure.split("_")[0]
        cuts = _cut_points(values, bins, binning, what)
        scores, intervals = _score(values, cuts, binning, better)
        table[f"{what}_score"] = scores.astype("int64")
        intervals.insert(0, "measure", measure)
        thresholds.append(intervals)
    table["rfm_score"] = (100 * table["recency_score"] + 10 * table["frequency_score"]
                          + table["monetary_score"])
    return table, pd.concat(thresholds, ignore_index=True)


def assign_segments(scores: pd.DataFrame, segments: pd.DataFrame | None = None) -> pd.Series:
    """Segment name per customer: the first row of ``segments`` whose ranges hold its scores.

    ``segments`` defaults to :data:`DEFAULT_SEGMENTS`.
    """
    table = check_segment_table(DEFAULT_SEGMENTS if segments is None else segments)
    for col in ("recency_score", "frequency_score", "monetary_score"):
        if col not in scores.columns:
            raise InputError(f"scores lacks column {col!r}; compute it with rfm_scores().",
                             column=col)
    out = pd.Series(OTHERS, index=scores.index, name="segment", dtype=object)
    free = np.ones(len(scores), dtype=bool)
    r, f, m = (scores[c].to_numpy() for c in ("recency_score", "frequency_score",
                                              "monetary_score"))
    for row in table.itertuples(index=False):
        hit = (free & (r >= row.recency_min) & (r <= row.recency_max)
               & (f >= row.frequency_min) & (f <= row.frequency_max)
               & (m >= row.monetary_min) & (m <= row.monetary_max))
        out.iloc[np.flatnonzero(hit)] = row.segment
        free &= ~hit
    return out


def segment_summary(customers: pd.DataFrame, segments: pd.DataFrame | None = None,
                    ) -> pd.DataFrame:
    """Per segment: customers, orders, revenue, average order value, shares and suggested action.

    One row per segment of the table in table order (zero rows kept), then ``Others`` if any
    customer matched no rule. ``customer_share`` and ``revenue_share`` are fractions of all
    customers / all revenue (0-1). ``segments`` defaults to :data:`DEFAULT_SEGMENTS`.
    """
    table = check_segment_table(DEFAULT_SEGMENTS if segments is None else segments)
    g = customers.groupby("segment")
    stats = pd.DataFrame({"customers": g.size(), "orders": g["frequency"].sum(),
                          "revenue": g["monetary"].sum()})
    names = list(table["segment"])
    if OTHERS in stats.index and OTHERS not in names:
        names.append(OTHERS)
    out = stats.reindex(names)
    out[["customers", "orders"]] = out[["customers", "orders"]].fillna(0).astype("int64")
    out["revenue"] = out["revenue"].fillna(0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["average_order_value"] = out["revenue"] / out["orders"].where(out["orders"] > 0)
    total_c, total_r = out["customers"].sum(), out["revenue"].sum()
    out["customer_share"] = out["customers"] / total_c if total_c else np.nan
    out["revenue_share"] = out["revenue"] / total_r if total_r else np.nan
    info = table.set_index("segment")[["description", "suggested_action"]]
    out = out.join(info)
    if OTHERS in out.index and OTHERS not in table["segment"].to_numpy():
        out.loc[OTHERS, "description"] = "Customers whose scores match no rule."
        out.loc[OTHERS, "suggested_action"] = OTHERS_ACTION
    out.index.name = "segment"
    return out.reset_index()


def rfm_segments(
    orders: Any,
    *,
    analysis_date: Any,
    segments: pd.DataFrame | None = None,
    **options: Any,
) -> RFMResult:
    """RFM scores plus a named segment per customer and the segment summary.

    ``segments`` is the segment table (default :data:`DEFAULT_SEGMENTS`); ``options`` are
    passed to :func:`rfm_scores` (column names, bins, binning, time zone).
    The customers table gains a ``segment`` column; ``segment_summary`` is filled.

    >>> import pandas as pd
    >>> orders = pd.DataFrame({"user_id": list("aabccc"), "amount": [5, 7, 3, 9, 9, 9],
    ...     "ts": ["2024-03-01", "2024-03-20", "2024-01-02", "2024-02-01", "2024-03-01",
    ...            "2024-03-30"]})
    >>> best_and_rest = pd.DataFrame(
    ...     [("Best", 2, 2, 2, 2, 1, 2), ("Rest", 1, 2, 1, 2, 1, 2)],
    ...     columns=["segment", "recency_min", "recency_max", "frequency_min",
    ...              "frequency_max", "monetary_min", "monetary_max"])
    >>> res = rfm_segments(orders, analysis_date="2024-03-31", segments=best_and_rest,
    ...                    recency_bins=2, frequency_bins=2, monetary_bins=2)
    >>> res.to_pandas()[["recency_days", "frequency", "monetary", "rfm_score", "segment"]]
    ... # doctest: +NORMALIZE_WHITESPACE
             recency_days  frequency  monetary  rfm_score segment
    user_id
    a                  11          2      12.0        211    Rest
    b                  89          1       3.0        111    Rest
    c                   1          3      27.0        222    Best
    """
    result = rfm_scores(orders, analysis_date=analysis_date, **options)
    customers = result.customers.copy()
    customers["segment"] = assign_segments(customers, segments)
    return RFMResult(customers=customers, thresholds=result.thresholds,
                     segment_summary=segment_summary(customers, segments),
                     analysis_date=result.analysis_date, binning=result.binning,
                     currency=result.currency)
