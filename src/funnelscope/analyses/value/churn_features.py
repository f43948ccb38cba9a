"""Churn features and labels from orders, strictly as of a cut-off (no look-ahead).

Features of a customer as of ``as_of`` use only orders at or before the end of that day:

* ``recency_days`` - days from the last order's day to ``as_of``;
* ``tenure_days`` - days from the first order's day to ``as_of``;
* ``orders``, ``revenue``, ``average_order_value`` - all orders so far;
* ``orders_last_30_days``, ``orders_last_90_days``, ``revenue_last_90_days`` - orders on the
  30 / 90 days ending at ``as_of`` (inclusive);
* ``mean_days_between_orders`` - (last - first order day) / (orders - 1); for one-order
  customers their tenure (the gap so far).

Customers: everyone with an order at or before ``as_of`` (and, with ``active_within_days``,
a last order no more than that many days before it).

Label (the churn definition, configurable): a customer **churned** when they placed fewer than
``min_orders`` orders (default 1) in the window (as_of, as_of + window_days].
"""

from __future__ import annotations

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
from funnelscope.errors import ConfigError, InputError

FEATURES = ("recency_days", "tenure_days", "orders", "revenue", "average_order_value",
            "orders_last_30_days", "orders_last_90_days", "revenue_last_90_days",
            "mean_days_between_orders")


def order_days(orders: Any, *, customer: str = "user_id", timestamp: str = "ts",
               amount: str = "amount", currency: str | None = "currency",
               time_zone: str | None = None) -> pd.DataFrame:
    """Orders as a (customer, day, amount) frame with validated types; one row per order."""
    frame = as_pandas(orders, name="orders")
    require_columns(frame, [customer, timestamp, amount], name="orders")
    single_currency(frame, currency, name="orders")
    if frame[customer].isna().any():
        row = int(np.flatnonzero(frame[customer].isna().to_numpy())[0])
        raise InputError(f"orders.{customer} is empty in row {row}.", source="orders", row=row,
                         column=customer)
    return pd.DataFrame({
        "customer": frame[customer].to_numpy(),
        "day": as_timestamps(frame[timestamp], name="orders", column=timestamp,
                             time_zone=time_zone).dt.normalize().to_numpy(),
        "amount": as_amounts(frame[amount], name="orders", column=amount),
    })


def _order_counts(frame: pd.DataFrame) -> pd.Series:
    """Orders per customer: the ``orders`` column summed when given (rows already merged by
    day, as the workspace brings them back), else one order per row."""
    g = frame.groupby("customer", sort=True)
    return g["orders"].sum() if "orders" in frame.columns else g.size()


def churn_features(days: pd.DataFrame, *, as_of: Any,
                   active_within_days: int | None = None) -> pd.DataFrame:
    """Feature table (indexed by customer) as of ``as_of`` from :func:`order_days` output.

    ``days`` has one row per order (customer, day, amount), or one row per customer and day
    with an ``orders`` column giving how many orders the row stands for.
    """
    cut = as_timestamp(as_of, argument="as_of").normalize()
    past = days[days["day"] <= cut]
    if past.empty:
        raise InputError(f"No orders on or before {cut.date()}; nothing to build features from.",
                         hint="Choose a later cut-off.")
    g = past.groupby("customer", sort=True)
    first, last, n = g["day"].min(), g["day"].max(), _order_counts(past)
    out = pd.DataFrame({
        "recency_days": (cut - last).dt.days,
        "tenure_days": (cut - first).dt.days,
        "orders": n,
        "revenue": g["amount"].sum(),
    })
    out["average_order_value"] = out["revenue"] / out["orders"]
    age = (cut - past["day"]).dt.days
    for span in (30, 90):
        recent = _order_counts(past[age < span])
        out[f"orders_last_{span}_days"] = recent.reindex(out.index, fill_value=0)
    recent90 = past[age < 90].groupby("customer")["amount"].sum()
    out["revenue_last_90_days"] = recent90.reindex(out.index, fill_value=0.0)
    span_days = (last - first).dt.days
    out["mean_days_between_orders"] = np.where(n > 1, span_days / (n - 1).clip(lower=1),
                                               out["tenure_days"])
    if active_within_days is not None:
        out = out[out["recency_days"] <= int(active_within_days)]
    out = out.astype("float64")
    out.index.name = "customer"
    return out[list(FEATURES)]


def churn_labels(days: pd.DataFrame, customers: pd.Index, *, as_of: Any, window_days: int,
                 min_orders: int = 1) -> pd.Series:
    """``churned`` (bool) per customer: fewer than ``min_orders`` orders in (as_of, as_of + window]."""
    if int(window_days) < 1:
        raise ConfigError(f"window_days={window_days!r} must be 1 or more.")
    if int(min_orders) < 1:
        raise ConfigError(f"min_orders={min_orders!r} must be 1 or more.")
    cut = as_timestamp(as_of, argument="as_of").normalize()
    end = cut + pd.Timedelta(days=int(window_days))
    window = days[(days["day"] > cut) & (days["day"] <= end)]
    counts = _order_counts(window).reindex(customers, fill_value=0)
    return (counts < int(min_orders)).rename("churned")
