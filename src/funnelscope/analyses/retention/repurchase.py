"""Repurchase rate from the orders table, per cohort of first order and overall.

Definitions (docs/metrics.md, "Repurchase"): a *buyer* has at least one order; a *repeat
buyer* has at least two. ``repurchase_rate = repeat buyers / buyers``. With
``repurchase_within = N`` days, only buyers whose first order is at least N days before the last
order in the orders table are *eligible*, and a repeat counts when the second order comes
within N days (inclusive) of the first: ``repurchase_rate_within = repeat within / eligible``.
Cohorts are the calendar period (the spec's period) of the first order in the reporting time
zone. Orders at the same instant count as separate orders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import pandas as pd

from funnelscope.analyses.retention import periods as P
from funnelscope.engine.timezones import epoch_us

if TYPE_CHECKING:
    from funnelscope.analyses.retention.spec import ActivitySpec
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

DAY_US = 86_400_000_000


def repurchase(ws: Workspace, spec: ActivitySpec) -> tuple[pd.DataFrame, dict]:
    """(per-cohort table, overall summary) for the workspace's orders."""
    o = ws.orders
    o = o.select(user_id=o.user_id, ts=o.ts, us=epoch_us(ws, o.ts))
    end_us = int(o.us.max().to_pandas() or 0)
    o = o.mutate(rn=ibis.row_number().over(group_by=o.user_id, order_by=o.us))
    per = o.group_by("user_id").aggregate(
        first=o.ts.min(), first_us=o.us.min(), second_us=o.us.min(where=o.rn == 1), n=o.count(),
    )
    per = per.mutate(cohort=P.period_of(ws, per.first, spec.period))
    agg = {"buyers": per.count(), "repeat_buyers": (per.n >= 2).sum()}
    if spec.repurchase_within is not None:
        window = spec.repurchase_within * DAY_US
        agg["eligible"] = (per.first_us + window <= end_us).sum()
        agg["repeat_within"] = (
            (per.first_us + window <= end_us) & per.second_us.notnull()
            & (per.second_us - per.first_us <= window)
        ).sum()
    df = per.group_by("cohort").aggregate(**agg).order_by("cohort").to_pandas()

    rows = []
    for r in df.to_dict(orient="records"):
        row = {"cohort": P.label(int(r["cohort"]), spec.period), "buyers": int(r["buyers"]),
               "repeat_buyers": int(r["repeat_buyers"] or 0)}
        row["repurchase_rate"] = row["repeat_buyers"] / row["buyers"]
        if spec.repurchase_within is not None:
            row["eligible"] = int(r["eligible"] or 0)
            row["repeat_within"] = int(r["repeat_within"] or 0)
            row["repurchase_rate_within"] = row["repeat_within"] / row["eligible"] \
                if row["eligible"] else None
        rows.append(row)
    table = pd.DataFrame(rows)
    summary = {"buyers": int(table["buyers"].sum()) if rows else 0,
               "repeat_buyers": int(table["repeat_buyers"].sum()) if rows else 0}
    summary["repurchase_rate"] = summary["repeat_buyers"] / summary["buyers"] \
        if summary["buyers"] else None
    if spec.repurchase_within is not None:
        summary["within_days"] = spec.repurchase_within
        summary["eligible"] = int(table["eligible"].sum()) if rows else 0
        summary["repeat_within"] = int(table["repeat_within"].sum()) if rows else 0
        summary["repurchase_rate_within"] = summary["repeat_within"] / summary["eligible"] \
            if summary["eligible"] else None
    return table, summary
