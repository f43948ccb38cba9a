"""Acquisition economics: CAC, LTV:CAC, payback period, campaign ROI and marketing-event ROI.

Definitions (money in the currency of spend and orders, which must be the same):

* **New customers** of a channel / campaign = customers acquired (see
  :mod:`historical`: earlier of first_seen and first order) on days in [start, end].
* **New paying customers** = those of them with at least one order on or before ``end``.
* **CAC** = spend in [start, end] / new customers; **cost per paying customer** = spend /
  new paying customers. Undefined (NaN) when the denominator is 0.
* **LTV:CAC** = LTV / CAC for the same channel (LTV from :func:`historical.ltv_curves` or the
  mean predictive CLV), NaN when CAC is 0 or undefined.
* **Payback period** = the first whole month m (1 month = 365.25/12 days) at which gross
  margin x cumulative revenue per acquired customer within m months of acquisition reaches CAC,
  using for each m only customers acquired at least m months before ``as_of``. Not reached
  within the data (or ``max_months``): NaN and ``paid_back`` False.
* **Campaign ROI** = (gross margin x revenue from the campaign's new customers up to ``as_of``
  - spend) / spend.
* **Event ROI** = (value - cost) / cost, value = ``revenue`` column if given, else
  new paying customers x ``value_per_customer``.
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
    days_per,
    require_columns,
)
from funnelscope.analyses.value._result import TableResult
from funnelscope.analyses.value.historical import customer_base
from funnelscope.errors import ConfigError, InputError


@dataclass(frozen=True)
class AcquisitionCosts(TableResult):
    """CAC per channel (and campaign) for acquisitions in [start, end]."""

    costs: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    group_by: list[str]


@dataclass(frozen=True)
class Payback(TableResult):
    """Months to pay back CAC per channel, and the monthly margin curves behind it."""

    payback: pd.DataFrame
    curves: pd.DataFrame
    gross_margin: float


@dataclass(frozen=True)
class ReturnOnInvestment(TableResult):
    """ROI per campaign or marketing event."""

    roi: pd.DataFrame


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype(float)
    return num.astype(float) / den.where(den != 0)


def _spend(spend: Any, keys: list[str], start: pd.Timestamp, end: pd.Timestamp,
           *, date: str, cost: str) -> pd.DataFrame:
    frame = as_pandas(spend, name="spend")
    require_columns(frame, [date, cost, *keys], name="spend")
    days = as_timestamps(frame[date], name="spend", column=date).dt.normalize()
    costs = as_amounts(frame[cost], name="spend", column=cost)
    if np.any(costs < 0):
        row = int(np.flatnonzero(costs < 0)[0])
        raise InputError(f"spend.{cost} is negative ({costs[row]}) in row {row}.",
                         hint="Spend must be 0 or more; record refunds as lower spend.",
                         source="spend", row=row, column=cost)
    data = frame[keys].copy()
    data["spend"] = costs
    data = data[((days >= start) & (days <= end)).to_numpy()]
    return data.groupby(keys, dropna=False)["spend"].sum().reset_index()


def _window(spend: Any, start: Any, end: Any, date: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    if start is None or end is None:
        frame = as_pandas(spend, name="spend")
        require_columns(frame, [date], name="spend")
        days = as_timestamps(frame[date], name="spend", column=date)
        start = days.min() if start is None else start
        end = days.max() if end is None else end
    s = as_timestamp(start, argument="start").normalize()
    e = as_timestamp(end, argument="end").normalize()
    if e < s:
        raise ConfigError(f"end {e.date()} is before start {s.date()}.")
    return s, e


def acquisition_costs(
    spend: Any,
    customers: Any,
    orders: Any,
    *,
    start: Any = None,
    end: Any = None,
    group_by: Sequence[str] = ("channel",),
    customer: str = "user_id",
    date: str = "date",
    cost: str = "cost",
    **columns: Any,
) -> AcquisitionCosts:
    """CAC per channel (and campaign): spend / new customers and spend / new paying customers.

    ``start`` / ``end`` (inclusive days) default to the spend table's first and last day.
    ``group_by`` columns must exist in both spend and customers (e.g. ``("channel",
    "campaign")``). Table columns: the keys, ``spend``, ``new_customers``,
    ``new_paying_customers``, ``cac``, ``cost_per_paying_customer``. Groups with customers but
    no spend (organic) get spend 0; groups with spend but no customers get NaN CAC.
    """
    keys = list(group_by)
    s, e = _window(spend, start, end, date)
    costs = _spend(spend, keys, s, e, date=date, cost=cost)
    cust = as_pandas(customers, name="customers")
    require_columns(cust, [customer, *keys], name="customers")
    base, _, _ = customer_base(orders, cust, as_of=e, customer=customer, **columns)
    attrs = cust.set_index(customer)[[k for k in keys if k != "channel"]]
    base = base.join(attrs) if len(attrs.columns) else base
    day = base["acquired_at"].dt.normalize()
    new = base[(day >= s) & (day <= e)].copy()
    new["paying"] = new["orders"] > 0
    g = new.groupby(keys, dropna=False)
    counts = pd.DataFrame({"new_customers": g.size(),
                           "new_paying_customers": g["paying"].sum()}).reset_index()
    out = costs.merge(counts, on=keys, how="outer")
    out["spend"] = out["spend"].fillna(0.0)
    out[["new_customers", "new_paying_customers"]] = out[
        ["new_customers", "new_paying_customers"]].fillna(0).astype("int64")
    out["cac"] = _ratio(out["spend"], out["new_customers"])
    out["cost_per_paying_customer"] = _ratio(out["spend"], out["new_paying_customers"])
    out = out.sort_values(keys, ignore_index=True)
    return AcquisitionCosts(costs=out, start=s, end=e, group_by=keys)


def new_customer_ltv(
    customers: Any,
    orders: Any,
    *,
    start: Any,
    end: Any,
    as_of: Any,
    group_by: Sequence[str] = ("channel",),
    gross_margin: float = 1.0,
    days: int | None = None,
    customer: str = "user_id",
    **columns: Any,
) -> pd.DataFrame:
    """LTV per acquired customer of each group, for customers acquired on days in [start, end].

    ``days=None``: gross margin x revenue from their orders up to ``as_of`` / customers (value
    to date; young customers have had less time to buy). ``days=N``: N-day LTV = gross margin
    x revenue from orders in [acquisition, acquisition + N days) / customers, counting only the
    customers acquired at least N days before ``as_of`` (so each was observed N full days).
    Columns: the keys, ``ltv_customers`` (customers behind the value), ``ltv`` (NaN when 0).
    """
    if not (0 < gross_margin <= 1):
        raise ConfigError(f"gross_margin={gross_margin!r} must be in (0, 1].")
    keys = list(group_by)
    s = as_timestamp(start, argument="start").normalize()
    e = as_timestamp(end, argument="end").normalize()
    cust = as_pandas(customers, name="customers")
    require_columns(cust, [customer, *keys], name="customers")
    base, o, _ = customer_base(orders, cust, as_of=as_of, customer=customer, **columns)
    attrs = cust.set_index(customer)[[k for k in keys if k != "channel"]]
    base = base.join(attrs) if len(attrs.columns) else base
    day = base["acquired_at"].dt.normalize()
    base = base[(day >= s) & (day <= e)].copy()
    if days is None:
        base["value"] = base["revenue"]
    else:
        n = int(days)
        if n < 1:
            raise ConfigError(f"days={days!r} must be a whole number of days, 1 or more.")
        observed = (as_timestamp(as_of, argument="as_of").normalize()
                    - base["acquired_at"].dt.normalize()).dt.days
        base = base[observed >= n].copy()
        o = o[o["customer"].isin(base.index)].join(base["acquired_at"], on="customer")
        age = (o["ts"] - o["acquired_at"]) / pd.Timedelta(days=1)
        inside = o[(age >= 0) & (age < n)].groupby("customer")["amount"].sum()
        base["value"] = inside.reindex(base.index, fill_value=0.0)
    g = base.groupby(keys, dropna=False)
    out = pd.DataFrame({"ltv_customers": g.size(), "value": g["value"].sum()}).reset_index()
    out["ltv"] = gross_margin * _ratio(out["value"], out["ltv_customers"])
    return out[[*keys, "ltv_customers", "ltv"]].astype({"ltv_customers": "int64"})


def ltv_to_cac(costs: Any, ltv: pd.DataFrame, *, on: Sequence[str] = ("channel",),
               ltv_column: str = "ltv", cac_column: str = "cac") -> pd.DataFrame:
    """Join CAC and LTV tables on ``on`` and add ``ltv_to_cac`` = LTV / CAC (NaN if CAC is 0)."""
    table = costs.costs if isinstance(costs, AcquisitionCosts) else as_pandas(costs, name="costs")
    keys = list(on)
    require_columns(table, [*keys, cac_column], name="costs")
    require_columns(ltv, [*keys, ltv_column], name="ltv")
    out = table.merge(ltv[[*keys, ltv_column]], on=keys, how="left")
    out["ltv_to_cac"] = _ratio(out[ltv_column], out[cac_column])
    return out


def payback_period(
    spend: Any,
    customers: Any,
    orders: Any,
    *,
    as_of: Any,
    start: Any = None,
    end: Any = None,
    gross_margin: float = 1.0,
    max_months: int = 36,
    customer: str = "user_id",
    date: str = "date",
    cost: str = "cost",
    **columns: Any,
) -> Payback:
    """Months until margin from a channel's new customers pays back its CAC (see module doc).

    Customers and spend are those of [start, end]; revenue is counted up to ``as_of``.
    Tables: ``payback`` (channel, cac, months_to_payback, paid_back) and ``curves`` (channel,
    months, customers, margin_per_customer: cumulative gross margin per acquired customer).
    """
    if not (0 < gross_margin <= 1):
        raise ConfigError(f"gross_margin={gross_margin!r} must be in (0, 1].")
    costs = acquisition_costs(spend, customers, orders, start=start, end=end,
                              customer=customer, date=date, cost=cost, **columns)
    cust = as_pandas(customers, name="customers")
    base, o, _ = customer_base(orders, cust, as_of=as_of, customer=customer, **columns)
    day = base["acquired_at"].dt.normalize()
    base = base[(day >= costs.start) & (day <= costs.end)]
    o = o[o["customer"].isin(base.index)].join(base["acquired_at"], on="customer")
    age = (o["ts"] - o["acquired_at"]) / pd.Timedelta(days=1)
    end_day = as_timestamp(as_of, argument="as_of").normalize()
    observed = (end_day - base["acquired_at"].dt.normalize()).dt.days
    month = days_per("months")
    rows = []
    for m in range(1, int(max_months) + 1):
        mature = base[observed >= m * month]
        if mature.empty:
            break
        inside = o[(age >= 0) & (age < m * month) & o["customer"].isin(mature.index)]
        revenue = inside.groupby("customer")["amount"].sum().reindex(mature.index,
                                                                    fill_value=0.0)
        g = mature.assign(revenue=revenue).groupby("channel")
        part = pd.DataFrame({"customers": g.size(), "revenue": g["revenue"].sum()})
        part["margin_per_customer"] = gross_margin * part["revenue"] / part["customers"]
        part.insert(0, "months", m)
        rows.append(part.reset_index())
    curves = (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["channel", "months", "customers", "revenue", "margin_per_customer"]))
    table = costs.costs.groupby("channel", as_index=False)[
        ["spend", "new_customers"]].sum()
    table["cac"] = _ratio(table["spend"], table["new_customers"])
    months = []
    for row in table.itertuples(index=False):
        curve = curves[curves["channel"] == row.channel]
        hit = curve[curve["margin_per_customer"] >= row.cac] if np.isfinite(row.cac) else curve[:0]
        months.append(float(hit["months"].min()) if len(hit) else np.nan)
    table["months_to_payback"] = months
    table["paid_back"] = table["months_to_payback"].notna()
    return Payback(payback=table, curves=curves, gross_margin=float(gross_margin))


def campaign_roi(
    spend: Any,
    customers: Any,
    orders: Any,
    *,
    as_of: Any,
    start: Any = None,
    end: Any = None,
    group_by: Sequence[str] = ("channel", "campaign"),
    gross_margin: float = 1.0,
    customer: str = "user_id",
    date: str = "date",
    cost: str = "cost",
    **columns: Any,
) -> ReturnOnInvestment:
    """ROI per campaign: (gross margin x revenue of its new customers to ``as_of`` - spend) / spend.

    Table columns: the keys, spend, new_customers, new_paying_customers, revenue, roi.
    """
    if not (0 < gross_margin <= 1):
        raise ConfigError(f"gross_margin={gross_margin!r} must be in (0, 1].")
    keys = list(group_by)
    costs = acquisition_costs(spend, customers, orders, start=start, end=end, group_by=keys,
                              customer=customer, date=date, cost=cost, **columns)
    cust = as_pandas(customers, name="customers")
    base, _, _ = customer_base(orders, cust, as_of=as_of, customer=customer, **columns)
    attrs = cust.set_index(customer)[[k for k in keys if k != "channel"]]
    base = base.join(attrs) if len(attrs.columns) else base
    day = base["acquired_at"].dt.normalize()
    base = base[(day >= costs.start) & (day <= costs.end)]
    revenue = base.groupby(keys, dropna=False)["revenue"].sum().rename("revenue").reset_index()
    out = costs.costs.merge(revenue, on=keys, how="left")
    out["revenue"] = out["revenue"].fillna(0.0)
    out["roi"] = _ratio(gross_margin * out["revenue"] - out["spend"], out["spend"])
    return ReturnOnInvestment(roi=out[[*keys, "spend", "new_customers", "new_paying_customers",
                                       "revenue", "roi"]])


def event_roi(events: Any, *, value_per_customer: float | None = None,
              gross_margin: float = 1.0, event: str = "event", cost: str = "cost",
              attendees: str = "attendees",
              new_paying_customers: str = "new_paying_customers",
              revenue: str = "revenue") -> ReturnOnInvestment:
    """ROI of marketing events (webinars, fairs, meetups) from cost, attendees and new payers.

    Value = the ``revenue`` column when present, else new paying customers x
    ``value_per_customer`` (e.g. an average LTV). Columns: event, cost, attendees,
    new_paying_customers, cost_per_attendee, attendee_conversion (new payers / attendees),
    cost_per_paying_customer, value, roi = (gross margin x value - cost) / cost.
    """
    frame = as_pandas(events, name="events")
    require_columns(frame, [event, cost, attendees, new_paying_customers], name="events")
    has_revenue = revenue in frame.columns
    if not has_revenue and value_per_customer is None:
        raise ConfigError("events has no revenue column and value_per_customer is not given.",
                          hint="Pass value_per_customer=... (e.g. the average LTV).")
    c = pd.Series(as_amounts(frame[cost], name="events", column=cost), index=frame.index)
    n_att = pd.Series(as_amounts(frame[attendees], name="events", column=attendees),
                      index=frame.index)
    n_pay = pd.Series(as_amounts(frame[new_paying_customers], name="events",
                                 column=new_paying_customers), index=frame.index)
    for series, col in ((c, cost), (n_att, attendees), (n_pay, new_paying_customers)):
        if (series < 0).any():
            row = int(np.flatnonzero((series < 0).to_numpy())[0])
            raise InputError(f"events.{col} is negative in row {row}.", source="events",
                             row=row, column=col)
    bad = n_pay > n_att
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"Event {frame[event].iloc[row]!r} has more new paying customers "
                         f"({n_pay.iloc[row]:g}) than attendees ({n_att.iloc[row]:g}).",
                         source="events", row=row, column=new_paying_customers)
    value = (pd.Series(as_amounts(frame[revenue], name="events", column=revenue),
                       index=frame.index) if has_revenue else n_pay * float(value_per_customer))
    out = pd.DataFrame({
        "event": frame[event].to_numpy(), "cost": c.to_numpy(), "attendees": n_att.to_numpy(),
        "new_paying_customers": n_pay.to_numpy(),
        "cost_per_attendee": _ratio(c, n_att).to_numpy(),
        "attendee_conversion": _ratio(n_pay, n_att).to_numpy(),
        "cost_per_paying_customer": _ratio(c, n_pay).to_numpy(),
        "value": value.to_numpy(),
        "roi": _ratio(gross_margin * value - c, c).to_numpy(),
    })
    return ReturnOnInvestment(roi=out)
