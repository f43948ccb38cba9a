"""Historical customer value: revenue to date, by acquisition cohort and channel; N-day LTV curves.

Definitions:

* A customer's **acquisition time** is the earlier of ``customers.first_seen`` (when given) and
  their first order. Customers in the customers table without orders count (revenue 0), so
  values are *per acquired customer*, not per payer.
* **Cohort** = the calendar period (``cohort_period``: weeks starting Monday, months, quarters
  or years) containing the acquisition time; labelled by the period's first day.
* Only orders at or before ``as_of`` are counted; customers acquired after ``as_of`` are left out.
* **N-day LTV** of a group = revenue from orders in [acquisition, acquisition + N days) of its
  customers / number of its customers.
* **Mature only**: a cohort is shown at N days only if its last day is at least N days before
  ``as_of`` (so every member has been observed for N full days). Groupings without a cohort
  (e.g. channel alone) use the customers acquired at least N days before ``as_of``; the
  ``customers`` column says how many that is at each N.
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
from funnelscope.errors import ConfigError, InputError

_PERIODS = {"weeks": "W-SUN", "months": "M", "quarters": "Q", "years": "Y"}


@dataclass(frozen=True)
class HistoricalValue(TableResult):
    """Revenue to date per customer, per cohort and per channel."""

    customers: pd.DataFrame
    by_cohort: pd.DataFrame
    by_channel: pd.DataFrame
    as_of: pd.Timestamp
    cohort_period: str
    currency: str | None = None


@dataclass(frozen=True)
class LTVCurves(TableResult):
    """Cumulative revenue per acquired customer N days after acquisition, mature groups only."""

    curves: pd.DataFrame
    as_of: pd.Timestamp
    group_by: list[str]
    cohort_period: str
    currency: str | None = None


def _cohort(ts: pd.Series, period: str) -> pd.Series:
    if period not in _PERIODS:
        raise ConfigError(f"cohort_period={period!r} is not known.",
                          hint=f"Use one of {', '.join(_PERIODS)}.")
    return ts.dt.to_period(_PERIODS[period]).dt.start_time


def _cohort_last_day(cohort: pd.Series, period: str) -> pd.Series:
    return cohort.dt.to_period(_PERIODS[period]).dt.end_time.dt.normalize()


def customer_base(
    orders: Any,
    customers: Any = None,
    *,
    as_of: Any,
    customer: str = "user_id",
    timestamp: str = "ts",
    amount: str = "amount",
    currency: str | None = "currency",
    first_seen: str = "first_seen",
    channel: str = "channel",
    cohort_period: str = "months",
    time_zone: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    """(customer table, orders table, currency) used by the historical and acquisition analyses.

    Customer table (indexed by customer): acquired_at, cohort, channel, first_order, orders,
    revenue. Orders table: customer, ts, amount, with ts <= as_of and the customer known.
    """
    end = as_timestamp(as_of, argument="as_of")
    if end == end.normalize():
        end = end + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)  # a date = whole day
    frame = as_pandas(orders, name="orders")
    require_columns(frame, [customer, timestamp, amount], name="orders")
    cur = single_currency(frame, currency, name="orders")
    if frame[customer].isna().any():
        row = int(np.flatnonzero(frame[customer].isna().to_numpy())[0])
        raise InputError(f"orders.{customer} is empty in row {row}.", source="orders", row=row,
                         column=customer)
    o = pd.DataFrame({
        "customer": frame[customer].to_numpy(),
        "ts": as_timestamps(frame[timestamp], name="orders", column=timestamp,
                            time_zone=time_zone).to_numpy(),
        "amount": as_amounts(frame[amount], name="orders", column=amount),
    })
    o = o[o["ts"] <= end]
    first_order = o.groupby("customer")["ts"].min()
    if customers is not None:
        c = as_pandas(customers, name="customers")
        require_columns(c, [customer], name="customers")
        if c[customer].duplicated().any():
            dup = c.loc[c[customer].duplicated(), customer].iloc[0]
            raise InputError(f"customers lists {dup!r} twice; give one row per customer.",
                             source="customers", column=customer)
        base = pd.DataFrame(index=pd.Index(c[customer].to_numpy(), name="customer"))
        if first_seen in c.columns:
            seen = c[first_seen]
            parsed = as_timestamps(seen.dropna(), name="customers", column=first_seen,
                                   time_zone=time_zone) if seen.notna().any() else seen
            base["first_seen"] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns]")
            base.loc[base.index[seen.notna().to_numpy()], "first_seen"] = parsed.to_numpy()
        else:
            base["first_seen"] = pd.NaT
        base["channel"] = c[channel].to_numpy() if channel in c.columns else None
        extra = first_order.index.difference(base.index)
        if len(extra):
            base = pd.concat([base, pd.DataFrame({"first_seen": pd.NaT, "channel": None},
                                                 index=pd.Index(extra, name="customer"))])
    else:
        base = pd.DataFrame({"first_seen": pd.NaT, "channel": None},
                            index=pd.Index(first_order.index, name="customer"))
    base["first_order"] = first_order.reindex(base.index)
    base["acquired_at"] = base[["first_seen", "first_order"]].min(axis=1)
    base = base[base["acquired_at"].notna() & (base["acquired_at"] <= end)].copy()
    base["cohort"] = _cohort(base["acquired_at"], cohort_period)
    base["channel"] = base["channel"].astype(object).where(base["channel"].notna(), "(none)")
    g = o.groupby("customer")
    base["orders"] = g.size().reindex(base.index, fill_value=0).astype("int64")
    base["revenue"] = g["amount"].sum().reindex(base.index, fill_value=0.0)
    o = o[o["customer"].isin(base.index)]
    return base[["acquired_at", "cohort", "channel", "first_order", "orders", "revenue"]], o, cur


def _group_totals(base: pd.DataFrame, key: str) -> pd.DataFrame:
    g = base.groupby(key, sort=True)
    out = pd.DataFrame({"customers": g.size(), "paying_customers": g["orders"].apply(
        lambda s: int((s > 0).sum())), "orders": g["orders"].sum(), "revenue": g["revenue"].sum()})
    out["revenue_per_customer"] = out["revenue"] / out["customers"]
    out["revenue_per_paying_customer"] = out["revenue"] / out["paying_customers"].where(
        out["paying_customers"] > 0)
    return out.reset_index()


def revenue_to_date(orders: Any, customers: Any = None, *, as_of: Any,
                    cohort_period: str = "months", **columns: Any) -> HistoricalValue:
    """Revenue to date per customer, per acquisition cohort and per channel.

    Tables: ``customers`` (acquired_at, cohort, channel, first_order, orders, revenue),
    ``by_cohort`` and ``by_channel`` (customers, paying_customers, orders, revenue,
    revenue_per_customer, revenue_per_paying_customer). ``columns`` override the column names
    (customer, timestamp, amount, currency, first_seen, channel, time_zone).
    """
    base, _, cur = customer_base(orders, customers, as_of=as_of, cohort_period=cohort_period,
                                 **columns)
    return HistoricalValue(customers=base, by_cohort=_group_totals(base, "cohort"),
                           by_channel=_group_totals(base, "channel"),
                           as_of=as_timestamp(as_of, argument="as_of"),
                           cohort_period=cohort_period, currency=cur)


def ltv_curves(orders: Any, customers: Any = None, *, as_of: Any,
               days: Sequence[int] = (30, 60, 90, 180, 365),
               group_by: Sequence[str] = ("cohort",), cohort_period: str = "months",
               **columns: Any) -> LTVCurves:
    """N-day LTV per group (cohort, channel or both), for mature groups only.

    One row per group and N in ``days`` with ``customers`` (in the group and mature at N),
    ``revenue`` (from their orders within N days of acquisition) and ``ltv`` = revenue /
    customers. Immature (group, N) pairs are absent, never shown as partial values.
    """
    keys = list(group_by)
    for key in keys:
        if key not in ("cohort", "channel"):
            raise ConfigError(f"group_by={keys!r}: use 'cohort', 'channel' or both.")
    horizons = sorted({int(d) for d in days})
    if not horizons or horizons[0] <= 0:
        raise ConfigError(f"days={list(days)!r} must be positive whole numbers of days.")
    base, o, cur = customer_base(orders, customers, as_of=as_of, cohort_period=cohort_period,
                                 **columns)
    end = as_timestamp(as_of, argument="as_of").normalize()
    o = o.join(base["acquired_at"], on="customer")
    age_days = (o["ts"] - o["acquired_at"]) / pd.Timedelta(days=1)
    rows = []
    last_day = _cohort_last_day(base["cohort"], cohort_period)
    acquired_day = base["acquired_at"].dt.normalize()
    for n in horizons:
        if "cohort" in keys:
            mature = (end - last_day).dt.days >= n
        else:
            mature = (end - acquired_day).dt.days >= n
        members = base[mature]
        if members.empty:
            continue
        in_window = o[(age_days >= 0) & (age_days < n) & o["customer"].isin(members.index)]
        revenue = in_window.groupby("customer")["amount"].sum().reindex(members.index,
                                                                        fill_value=0.0)
        frame = members[keys].assign(revenue=revenue)
        g = frame.groupby(keys, sort=True)
        part = pd.DataFrame({"customers": g.size(), "revenue": g["revenue"].sum()}).reset_index()
        part.insert(len(keys), "days", n)
        rows.append(part)
    curves = (pd.concat(rows, ignore_index=True) if rows else
              pd.DataFrame(columns=[*keys, "days", "customers", "revenue"]))
    curves["ltv"] = curves["revenue"] / curves["customers"]
    curves = curves.sort_values([*keys, "days"], ignore_index=True)
    return LTVCurves(curves=curves, as_of=end, group_by=keys, cohort_period=cohort_period,
                     currency=cur)
