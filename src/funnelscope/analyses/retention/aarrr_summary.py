"""AARRR: Acquisition, Activation, Retention, Revenue, Referral for the users acquired in a range.

Semantics (docs/metrics.md, "AARRR"). The population is the *new users*: users whose
acquisition (first event, first ``signup`` event / customers.first_seen, or first of the named
events) falls on a local date in ``since..until``. Their channel is read from the start event's
or the customers table's ``channel`` column.

- Acquisition: new users (total and per channel), channel share, CAC = spend / new users
  (spend rows dated ``since..until``; per channel, blended over all new users, and paid = over
  the new users of channels that have spend).
- Activation: the activation event at or after acquisition and at most ``activation_days`` x
  24 h after it; users acquired fewer than ``activation_days`` days before the data end are
  left out of the rate (their window is not over).
- Retention Dk: any event on local day (acquisition day + k); users whose day k is after the
  data end are left out.
- Revenue (orders table): all orders of the new users in the data. paying conversion =
  users with an order / new users; ARPU = revenue / new users; ARPPU = revenue / paying users;
  AOV = revenue / orders.
- Referral (with ``referral_event``): invites = referral events by new users at or after
  acquisition; invites per user = invites / new users; referred = new users whose channel is
  ``referral_channel``; invite conversion = referred / invites; K-factor = invites per user x
  invite conversion.

Per-user flags are computed in the engine and summed per channel; only that small table
comes back.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pandas as pd

from funnelscope.analyses.retention import definitions as D
from funnelscope.analyses.retention import periods as P
from funnelscope.analyses.retention.result import MetricsResult
from funnelscope.analyses.retention.sources import (
    GROUP,
    cohort_entries,
    data_range,
    require_events,
    resolve_group,
    resolve_start,
)
from funnelscope.analyses.retention.spec import AarrrSpec, aarrr_spec
from funnelscope.engine.timezones import epoch_us
from funnelscope.errors import SpecError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import WorkspaceBase as Workspace

DAY_US = 86_400_000_000


def aarrr(ws: Workspace, **options: Any) -> MetricsResult:
    """AARRR summary of the users acquired between ``since`` and ``until``.

    Options: signup (None | "signup" | event), since, until (local dates), channel (column),
    activation_event, activation_days (7), retention_days ((1, 7, 30)), referral_event,
    referral_channel ("referral"). Tables: metrics (one row per metric with its definition)
    and channels.

    >>> ws.aarrr(activation_event="create_project", referral_event="invite").tables["metrics"]
    """
    return run(ws, aarrr_spec(**options))


def _users(ws: Workspace, spec: AarrrSpec, start, group, rng) -> ir.Table:
    """One row per new user: channel and the per-user flags and sums behind every metric."""
    entries = cohort_entries(ws, start, "day", first_time=True, group=group)
    if spec.since:
        entries = entries.filter(entries.cohort >= P.date_to_day(_date(spec.since)))
    if spec.until:
        entries = entries.filter(entries.cohort <= P.date_to_day(_date(spec.until)))
    entries = entries.mutate(entry_us=epoch_us(ws, entries.entry_ts))
    ev = ws.events
    ev = ev.select(user_id=ev.user_id, event=ev.event, us=epoch_us(ws, ev.ts),
                   day=P.local_day(ws, ev.ts))
    j = entries.join(ev, [entries.user_id == ev.user_id, ev.us >= entries.entry_us])
    flags: dict[str, ir.Value] = {}
    if spec.activation_event:
        hit = j.event.isin(list(spec.activation_event)) & (
            j.us - j.entry_us <= spec.activation_days * DAY_US)
        flags["activated"] = hit.cast("int64").max()
    for k in spec.retention_days:
        flags[f"d{k}"] = (j.day == j.cohort + k).cast("int64").max()
    if spec.referral_event:
        flags["invites"] = j.event.isin(list(spec.referral_event)).cast("int64").sum()
    users = entries.select("user_id", "cohort", GROUP)
    if flags:
        per = j.group_by(j.user_id).aggregate(**flags)
        users = users.left_join(per, users.user_id == per.user_id).select(
            users.user_id, users.cohort, users[GROUP], *[per[f] for f in flags])
    if ws.has_table("orders"):
        o = ws.orders
        po = o.group_by("user_id").aggregate(orders=o.count(), revenue=o.amount.sum())
        users = users.left_join(po, users.user_id == po.user_id).select(
            *[users[c] for c in users.columns if c != "user_id_right"], po.orders, po.revenue)
    return users


def _date(text: str):
    from datetime import date

    return date.fromisoformat(text)


def _per_channel(users: ir.Table, spec: AarrrSpec, rng, has_orders: bool) -> ir.Table:
    end = rng.last_day
    agg: dict[str, ir.Value] = {"new_users": users.count()}
    if spec.activation_event:
        ok = users.cohort + spec.activation_days <= end
        agg["activation_eligible"] = ok.cast("int64").sum()
        agg["activated"] = (ok & (users.activated.fill_null(0) == 1)).cast("int64").sum()
    for k in spec.retention_days:
        ok = users.cohort + k <= end
        agg[f"d{k}_eligible"] = ok.cast("int64").sum()
        agg[f"d{k}_retained"] = (ok & (users[f"d{k}"].fill_null(0) == 1)).cast("int64").sum()
    if spec.referral_event:
        agg["invites"] = users.invites.fill_null(0).sum()
        agg["inviters"] = (users.invites.fill_null(0) > 0).cast("int64").sum()
    if has_orders:
        agg["paying_users"] = (users.orders.fill_null(0) > 0).cast("int64").sum()
        agg["orders"] = users.orders.fill_null(0).sum()
        agg["revenue"] = users.revenue.fill_null(0).sum()
    return users.group_by(GROUP).aggregate(**agg)


def _spend(ws: Workspace, spec: AarrrSpec) -> dict[Any, float] | None:
    if not ws.has_table("spend"):
        return None
    s = ws.spend
    if spec.since:
        s = s.filter(s.date >= _date(spec.since))
    if spec.until:
        s = s.filter(s.date <= _date(spec.until))
    df = s.group_by("channel").aggregate(cost=s.cost.sum()).to_pandas()
    return {r["channel"]: float(r["cost"] or 0) for r in df.to_dict(orient="records")}


def run(ws: Workspace, spec: AarrrSpec) -> MetricsResult:
    """Evaluate ``spec`` on ``ws`` (see the module docstring)."""
    t0 = time.perf_counter()
    start = resolve_start(ws, spec.signup)
    rng = data_range(ws, (start.events or ()) + (spec.activation_event or ())
                     + (spec.referral_event or ()))
    require_events(ws, rng, start.events, "signup")
    require_events(ws, rng, spec.activation_event, "activation_event")
    require_events(ws, rng, spec.referral_event, "referral_event")
    group = _channel_source(ws, spec, start)
    has_orders = ws.has_table("orders")
    users = _users(ws, spec, start, group, rng)
    df = _per_channel(users, spec, rng, has_orders).to_pandas()
    df = df.rename(columns={GROUP: "channel"})
    df["channel"] = [None if pd.isna(c) else c for c in df["channel"]]
    spend = _spend(ws, spec)
    totals = {c: (float(df[c].sum()) if c == "revenue" else int(df[c].sum()))
              for c in df.columns if c != "channel"}
    metrics = _metrics(spec, start.describe(), totals, df, spend, group is not None, has_orders)
    meta = {
        "engine": ws.engine, "timezone": ws.config.timezone,
        "data_first_day": P.day_to_date(rng.first_day).isoformat(),
        "data_end": P.day_to_date(rng.last_day).isoformat(),
        "acquisition": start.describe(), "channel": group.describe() if group else None,
        "orders": has_orders, "spend": spend is not None,
        "elapsed_s": round(time.perf_counter() - t0, 4),
    }
    if has_orders:
        meta["currencies"] = _currencies(ws)
    return MetricsResult(spec=spec, tables={"metrics": D.table(metrics),
                                            "channels": _channels(df, spend, spec)}, meta=meta)


def _currencies(ws: Workspace) -> list[str]:
    o = ws.orders
    if "currency" not in o.columns:
        return []
    vals = o.select("currency").distinct().to_pandas()["currency"]
    return sorted(str(c) for c in vals if isinstance(c, str))


def _channel_source(ws: Workspace, spec: AarrrSpec, start):
    if spec.channel is None:
        return None
    try:
        return resolve_group(ws, spec.channel, start)
    except SpecError:
        if spec.channel == "channel":  # the default: no channel column is fine
            return None
        raise


def _population(spec: AarrrSpec, acquisition: str) -> str:
    when = f"acquired {spec.since or 'any day'} to {spec.until or 'the data end'}"
    return f"new users ({acquisition}; {when}, local dates)"


def _metrics(spec: AarrrSpec, acquisition: str, t: dict, df: pd.DataFrame, spend, has_channel: bool,
             has_orders: bool) -> list[D.Metric]:
    pop = _population(spec, acquisition)
    n = t["new_users"]
    out = [D.Metric("acquisition", "new_users", n, pop, "count distinct users",
                    "users whose acquisition falls in the range")]
    if spend is not None:
        total = sum(spend.values())
        paid_users = int(df.loc[df["channel"].isin([c for c, v in spend.items() if v > 0]),
                                "new_users"].sum()) if has_channel else None
        out.append(D.Metric("acquisition", "spend", total, "spend rows dated in the range",
                            "sum", "spend.cost"))
        out.append(D.share("acquisition", "cac_blended", total, n, pop,
                           "spend / all new users", aggregation="ratio of sums"))
        if has_channel:
            out.append(D.share("acquisition", "cac_paid", total, paid_users,
                               "new users from channels with spend",
                               "spend / new users of channels with spend > 0",
                               aggregation="ratio of sums"))
    if spec.activation_event:
        ev = " or ".join(repr(e) for e in spec.activation_event)
        out.append(D.share("activation", "activation_rate", t["activated"], t["activation_eligible"],
                           pop + f", acquired at least {spec.activation_days} days before the data end",
                           f"did {ev} within {spec.activation_days} x 24 h of acquisition"))
    for k in spec.retention_days:
        out.append(D.share("retention", f"d{k}_retention", t[f"d{k}_retained"], t[f"d{k}_eligible"],
                           pop + f", whose day {k} is in the data",
                           f"any event on local day acquisition day + {k}"))
    if has_orders:
        orders, revenue, paying = t["orders"], t["revenue"], t["paying_users"]
        out += [
            D.share("revenue", "paying_conversion", paying, n, pop,
                    "has at least one order (any time in the data)"),
            D.Metric("revenue", "revenue", revenue, pop, "sum", "orders.amount of their orders"),
            D.share("revenue", "arpu", revenue, n, pop, "revenue / new users",
                    aggregation="ratio of sums"),
            D.share("revenue", "arppu", revenue, paying, "paying new users",
                    "revenue / paying users", aggregation="ratio of sums"),
            D.share("revenue", "aov", revenue, orders, "orders of the new users",
                    "revenue / orders", aggregation="ratio of sums"),
        ]
    if spec.referral_event:
        ev = " or ".join(repr(e) for e in spec.referral_event)
        invites = t["invites"]
        ipu = D.ratio(invites, n)
        out.append(D.share("referral", "invites_per_user", invites, n, pop,
                           f"{ev} events at or after acquisition / new users",
                           aggregation="ratio of sums"))
        out.append(D.share("referral", "inviter_share", t["inviters"], n, pop,
                           f"sent at least one {ev}"))
        if has_channel:
            referred = int(df.loc[df["channel"] == spec.referral_channel, "new_users"].sum())
            conv = D.ratio(referred, invites)
            out.append(D.share("referral", "invite_conversion", referred, invites,
                               f"invites ({ev}) by new users",
                               f"new users with channel = {spec.referral_channel!r} / invites",
                               aggregation="ratio of sums"))
            out.append(D.Metric("referral", "k_factor",
                                ipu * conv if ipu is not None and conv is not None else None,
                                pop, "product", "invites per user x invite conversion"))
    return out


def _channels(df: pd.DataFrame, spend, spec: AarrrSpec) -> pd.DataFrame:
    total = df["new_users"].sum()
    rows = []
    for r in df.sort_values("new_users", ascending=False, kind="stable").to_dict(orient="records"):
        row = {"channel": r["channel"], "new_users": int(r["new_users"]),
               "share": D.ratio(int(r["new_users"]), int(total))}
        if spend is not None:
            cost = spend.get(r["channel"])
            row["spend"] = cost
            row["cac"] = D.ratio(cost, int(r["new_users"])) if cost is not None else None
        if spec.activation_event:
            row["activation_rate"] = D.ratio(int(r["activated"]), int(r["activation_eligible"]))
        for k in spec.retention_days:
            row[f"d{k}_retention"] = D.ratio(int(r[f"d{k}_retained"]), int(r[f"d{k}_eligible"]))
        if "paying_users" in r:
            row["paying_conversion"] = D.ratio(int(r["paying_users"]), int(r["new_users"]))
            row["revenue"] = float(r["revenue"] or 0)
            row["arpu"] = D.ratio(float(r["revenue"] or 0), int(r["new_users"]))
        rows.append(row)
    seen = {r["channel"] for r in rows}
    for channel, cost in sorted((spend or {}).items(), key=lambda kv: str(kv[0])):
        if channel not in seen:  # spend on a channel that brought no new user
            rows.append({"channel": channel, "new_users": 0, "share": 0.0, "spend": cost,
                         "cac": None})
    return pd.DataFrame(rows)
