"""User lifecycle per period (new / returning / resurrected / dormant) and consecutive-week streaks.

Lifecycle, for calendar periods of the reporting time zone (docs/metrics.md, "Lifecycle"):

- new: active in period p, which is the user's first active period in the data;
- returning: active in p and in p - 1;
- resurrected: active in p, not in p - 1, but in some earlier period;
- dormant: active in p - 1 but not in p (reported as a positive count at p).

So ``active(p) = new + returning + resurrected`` and ``active(p) - active(p-1) = new +
resurrected - dormant``. Users active before the data starts look new in the first periods
(the data cannot tell); the first and last period may be partial and are flagged.

Streaks: for each user, the longest run of consecutive calendar weeks (Monday-based) with
activity; ``users_at_least`` N = users who were active N consecutive weeks at some point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from funnelscope.analyses.retention import periods as P
from funnelscope.analyses.retention.counts import by_x, part

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.analyses.retention.sources import DataRange

STATES = ("new", "returning", "resurrected", "dormant")


def user_periods(ud: ir.Table, period: str) -> ir.Table:
    """Distinct (user_id, p) from distinct (user_id, day, month)."""
    p = ud.month if period == "month" else P.period_of_day_expr(ud.day, period)
    return ud.select(user_id=ud.user_id, p=p).distinct()


def lifecycle_parts(ud: ir.Table, period: str) -> list[ir.Table]:
    """Counts per period of new / returning / resurrected users and of users gone dormant."""
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    up = user_periods(ud, period)
    w = ibis.window(group_by=up.user_id, order_by=up.p)
    up = up.mutate(prev=up.p.lag().over(w), next=up.p.lead().over(w))
    out = []
    for name, cond, x in (
        ("new", up.prev.isnull(), up.p),
        ("returning", up.prev == up.p - 1, up.p),
        ("resurrected", up.prev < up.p - 1, up.p),
        ("dormant", up.next.isnull() | (up.next > up.p + 1), up.p + 1),
    ):
        sel = up.filter(cond).mutate(x=x)
        agg = sel.group_by("x").aggregate(n=sel.count())
        out.append(part(agg, name, agg.x, agg.n))
    return out


def streak_parts(ud: ir.Table) -> list[ir.Table]:
    """Histogram of each user's longest run of consecutive active weeks."""
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    uw = user_periods(ud, "week")
    uw = uw.mutate(island=uw.p - ibis.row_number().over(group_by=uw.user_id, order_by=uw.p))
    runs = uw.group_by(["user_id", "island"]).aggregate(weeks=uw.count())
    longest = runs.group_by("user_id").aggregate(weeks=runs.weeks.max())
    hist = longest.group_by("weeks").aggregate(n=longest.count())
    return [part(hist, "streak", hist.weeks, hist.n)]


def lifecycle_table(counts: dict, period: str, rng: DataRange) -> pd.DataFrame:
    """One row per period of the data: active, new, returning, resurrected, dormant, complete."""
    by_state = {s: by_x(counts.get(s, {})) for s in STATES}
    rows = []
    for p in range(P.period_of_day(rng.first_day, period), P.period_of_day(rng.last_day, period) + 1):
        n = {s: by_state[s].get(p, 0) for s in STATES}
        rows.append({"period": P.label(p, period),
                     "active": n["new"] + n["returning"] + n["resurrected"], **n,
                     "complete": P.is_complete(p, period, rng.first_day, rng.last_day)})
    return pd.DataFrame(rows, columns=["period", "active", *STATES, "complete"])


def streaks_table(counts: dict) -> pd.DataFrame:
    """weeks N, users whose longest streak is exactly N, users with a streak of at least N."""
    hist = by_x(counts.get("streak", {}))
    total = sum(hist.values())
    rows, at_least = [], total
    for n in range(1, max(hist, default=0) + 1):
        rows.append({"weeks": n, "users": hist.get(n, 0), "users_at_least": at_least,
                     "share_at_least": at_least / total if total else None})
        at_least -= hist.get(n, 0)
    return pd.DataFrame(rows, columns=["weeks", "users", "users_at_least", "share_at_least"])
