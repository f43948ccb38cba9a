"""What the value analyses read from a workspace: small aggregates computed in the engine.

Each function builds one Ibis expression over a canonical table, runs it on ``ws.backend``
(DuckDB, PySpark, ...) and brings back a pandas DataFrame whose size is bounded as follows:

* :func:`order_days` - one row per customer and purchase day (<= the number of orders);
* :func:`customer_orders` - one row per customer with an order;
* :func:`customer_attributes` - one row per row of ``customers`` (one per customer);
* :func:`spend_by_day` - one row per day and channel (and campaign);
* :func:`event_activity` - one row per user with an event (counts only, never raw events).

Days are calendar days in the workspace's reporting time zone (``ws.config.timezone``); times
come back as naive wall-clock timestamps of that zone, which is what the pandas analyses in
this package expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from funnelscope.engine.timezones import local_time
from funnelscope.errors import InputError, MissingColumnsError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import WorkspaceBase as Workspace


def _day_literal(day: pd.Timestamp):
    import ibis

    return ibis.literal(pd.Timestamp(day).to_pydatetime(), type="timestamp")


def _currency_aggregates(orders: ir.Table) -> dict[str, Any]:
    """Per-group first and last currency, so one query both aggregates and checks currencies."""
    if "currency" not in orders.columns:
        return {}
    return {"_currency_min": orders.currency.min(), "_currency_max": orders.currency.max()}


def _one_currency(df: pd.DataFrame) -> str | None:
    """The one currency seen in the per-group currency columns (dropped from ``df``); raise
    InputError if the orders mix currencies."""
    if "_currency_min" not in df.columns:
        return None
    found = sorted({str(c) for c in pd.concat([df.pop("_currency_min"), df.pop("_currency_max")])
                    .dropna().unique()})
    if len(found) > 1:
        raise InputError(
            f"the orders table mixes currencies ({', '.join(found[:6])}); amounts cannot be "
            "added up.",
            hint="Convert the amounts to one currency before loading, or load each currency into "
                 "its own workspace.", source="orders", column="currency")
    return found[0] if found else None


def order_days(ws: Workspace, *, until: Any = None) -> pd.DataFrame:
    """Orders merged per customer and local calendar day, computed in the engine.

    ``df.attrs["currency"]`` is the orders' one currency (None if not recorded). Columns: ``user_id``, ``day`` (midnight of the local day), ``first_order_at`` (local time of
    the day's first order), ``amount`` (sum of the day's orders), ``orders`` (how many). Orders
    after the local day ``until`` (inclusive) are left out when it is given. Sorted by user_id,
    day. Raises InputError when no order is left.
    """
    o = ws.orders
    extra = {"currency": o.currency} if "currency" in o.columns else {}
    t = o.select(user_id=o.user_id, local=local_time(ws, o.ts), amount=o.amount, **extra)
    t = t.mutate(day=t.local.truncate("D"))
    if until is not None:
        t = t.filter(t.day <= _day_literal(until))
    agg = t.group_by(["user_id", "day"]).aggregate(
        first_order_at=t.local.min(), amount=t.amount.sum(), orders=t.count(),
        **_currency_aggregates(t))
    df = agg.to_pandas()
    currency = _one_currency(df)
    if df.empty:
        when = f" on or before {pd.Timestamp(until).date()}" if until is not None else ""
        raise InputError(f"the orders table has no orders{when}.",
                         hint="Load orders with: funnelscope load FILE --table orders, or pick a "
                              "later date.", source="orders")
    df["user_id"] = df["user_id"].astype(str)
    for col in ("day", "first_order_at"):
        df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
    df["orders"] = df["orders"].astype("int64")
    df["amount"] = df["amount"].astype("float64")
    df = df.sort_values(["user_id", "day"], ignore_index=True)
    df.attrs["currency"] = currency
    return df


def customer_orders(ws: Workspace, *, until: Any = None) -> pd.DataFrame:
    """Per customer with an order on or before local day ``until``: first and last order day,
    orders (count) and revenue (sum of amounts), computed in the engine. Indexed by user_id;
    ``df.attrs["currency"]`` as in :func:`order_days`."""
    o = ws.orders
    extra = {"currency": o.currency} if "currency" in o.columns else {}
    t = o.select(user_id=o.user_id, day=local_time(ws, o.ts).truncate("D"), amount=o.amount,
                 **extra)
    if until is not None:
        t = t.filter(t.day <= _day_literal(until))
    agg = t.group_by("user_id").aggregate(first_order=t.day.min(), last_order=t.day.max(),
                                          orders=t.count(), revenue=t.amount.sum(),
                                          **_currency_aggregates(t))
    df = agg.to_pandas()
    currency = _one_currency(df)
    if df.empty:
        when = f" on or before {pd.Timestamp(until).date()}" if until is not None else ""
        raise InputError(f"the orders table has no orders{when}.",
                         hint="Load orders, or pick a later date.", source="orders")
    df["user_id"] = df["user_id"].astype(str)
    for col in ("first_order", "last_order"):
        df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
    df["orders"] = df["orders"].astype("int64")
    df = df.set_index("user_id").sort_index()
    df.attrs["currency"] = currency
    return df


def last_order_day(ws: Workspace) -> pd.Timestamp:
    """The local calendar day of the latest order (the orders' data end)."""
    o = ws.orders
    value = o.aggregate(last=local_time(ws, o.ts).max()).to_pandas()["last"].iloc[0]
    if value is None or pd.isna(value):
        raise InputError("the orders table is empty.",
                         hint="Load orders with: funnelscope load FILE --table orders.",
                         source="orders")
    return pd.Timestamp(value).normalize()


def customer_attributes(ws: Workspace, columns: Sequence[str]) -> pd.DataFrame:
    """``user_id`` plus the requested columns of ``customers`` that exist (``first_seen`` as
    local time). One row per customer."""
    c = ws.customers
    wanted = [col for col in columns if col in c.columns and col != "user_id"]
    fields: dict[str, Any] = {"user_id": c.user_id}
    for col in wanted:
        fields[col] = local_time(ws, c[col]) if col == "first_seen" else c[col]
    df = c.select(**fields).to_pandas()
    df["user_id"] = df["user_id"].astype(str)
    if "first_seen" in df.columns:
        df["first_seen"] = pd.to_datetime(df["first_seen"]).astype("datetime64[ns]")
    return df.sort_values("user_id", ignore_index=True)


def spend_by_day(ws: Workspace, keys: Sequence[str]) -> pd.DataFrame:
    """Spend summed per day and ``keys`` (e.g. channel, campaign), computed in the engine."""
    s = ws.spend
    missing = [k for k in keys if k not in s.columns]
    if missing:
        raise MissingColumnsError(
            f"the spend table has no column {', '.join(map(repr, missing))}; it has "
            f"{', '.join(s.columns)}.", hint="Group by columns that spend and customers share.",
            source="spend", column=missing[0])
    df = s.group_by(["date", *keys]).aggregate(cost=s.cost.sum()).to_pandas()
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    return df.sort_values(["date", *keys], ignore_index=True)


def event_activity(ws: Workspace, *, as_of: Any = None, days: int | None = None) -> pd.DataFrame:
    """Per user: ``events`` (count), ``active_days`` (distinct local days with an event),
    ``first_event_day`` and ``last_event_day``, computed in the engine. Indexed by user_id.

    With ``as_of`` only events on or before that local day count; with ``days`` too, only
    those on the ``days`` days ending at ``as_of`` (inclusive).
    """
    e = ws.events
    t = e.select(user_id=e.user_id, day=local_time(ws, e.ts).truncate("D"))
    if as_of is not None:
        end = pd.Timestamp(as_of).normalize()
        t = t.filter(t.day <= _day_literal(end))
        if days is not None:
            t = t.filter(t.day > _day_literal(end - pd.Timedelta(days=int(days))))
    agg = t.group_by("user_id").aggregate(events=t.count(), active_days=t.day.nunique(),
                                          first_event_day=t.day.min(), last_event_day=t.day.max())
    df = agg.to_pandas()
    df["user_id"] = df["user_id"].astype(str)
    for col in ("first_event_day", "last_event_day"):
        df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
    for col in ("events", "active_days"):
        df[col] = df[col].astype("int64")
    return df.set_index("user_id").sort_index()
