"""Active users: DAU / WAU / MAU, stickiness, days active per week; with lifecycle and streaks.

Semantics (docs/metrics.md, "Activity"). A user is *active* on a local date of the reporting
time zone when they have an activity event that day (any event, or the ``events`` named).

- daily: ``dau`` = users active that day; ``wau_7d`` / ``mau_30d`` = users active in the 7 / 30
  days ending that day (missing while the window reaches before the data's first day);
  ``stickiness`` = dau / mau_30d.
- weekly / monthly (calendar, weeks from Monday): ``wau`` / ``mau`` = users active in the
  period; ``avg_dau`` = mean DAU over its days; ``stickiness`` = avg_dau / wau (or / mau).
- frequency: per week, users by the number of days (1..7) they were active that week.
- lifecycle and streaks: see :mod:`funnelscope.analyses.retention.lifecycle`; repurchase:
  :mod:`funnelscope.analyses.retention.repurchase`.

All counts come from one stacked query over the distinct (user, local day) pairs, which are
computed once into a temporary table of the engine (``Table.cache()``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from funnelscope.analyses.retention import fast_activity, lifecycle, repurchase
from funnelscope.analyses.retention import periods as P
from funnelscope.analyses.retention.counts import by_x, part, split, stack
from funnelscope.analyses.retention.result import ActivityResult
from funnelscope.analyses.retention.sources import (
    DataRange,
    data_range,
    events_named,
    require_events,
)
from funnelscope.analyses.retention.spec import ActivitySpec, activity_spec

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import WorkspaceBase as Workspace

ROLLING = (7, 30)


def activity(
    ws: Workspace,
    events: str | Sequence[str] | None = None,
    period: str = "week",
    repurchase_within: int | None = None,
) -> ActivityResult:
    """DAU/WAU/MAU, stickiness, lifecycle, consecutive-week streaks, frequency and repurchase.

    events: None (any event) or the event name(s) that count as activity. period: day | week |
    month for the lifecycle table. repurchase_within: days allowed between first and second
    order (None: any time in the data). Tables: daily, weekly, monthly, frequency,
    frequency_all, lifecycle, streaks, repurchase (with an orders table).

    >>> ws.activity(events=["open_app"], period="week").tables["monthly"]
    """
    return run(ws, activity_spec(events, period, repurchase_within))


def user_days(ws: Workspace, spec: ActivitySpec) -> ir.Table:
    """Distinct (user_id, day, month): local epoch day and month number of each active day."""
    from funnelscope.engine.timezones import local_time
    ev = events_named(ws.events, spec.events)
    lt = local_time(ws, ev.ts)
    return ev.select(
        user_id=ev.user_id, day=lt.date().epoch_days(), month=lt.year() * 12 + lt.month() - 1,
    ).distinct()


def actives_parts(ud: ir.Table, rng: DataRange) -> list[ir.Table]:
    """dau/wau/mau per calendar period, trailing-window ends, days active per user-week.

    Trailing 7/30-day actives without expanding rows: each active day ``a`` of a user covers
    the window ends ``a .. e - 1`` with ``e = min(a + w, next active day)``; these intervals
    are disjoint, so actives(d) = (active days <= d) - (interval ends <= d), a running sum
    finished in Python over the per-day counts "dau" and "end_7d" / "end_30d".
    """
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    ud = ud.mutate(week=P.period_of_day_expr(ud.day, "week"))
    nxt = ud.day.lead().over(ibis.window(group_by=ud.user_id, order_by=ud.day))
    ud = ud.mutate(**{f"end_{w}d": ibis.least(ud.day + w, nxt.fill_null(ud.day + w))
                      for w in ROLLING})
    dau = ud.group_by("day").aggregate(n=ud.count())
    wau = ud.group_by("week").aggregate(n=ud.user_id.nunique())
    mau = ud.group_by("month").aggregate(n=ud.user_id.nunique())
    ends = []
    for w in ROLLING:
        e = ud.group_by(x=ud[f"end_{w}d"]).aggregate(n=ud.count())
        ends.append(part(e, f"end_{w}d", e.x, e.n))
    per_week = ud.group_by(["user_id", "week"]).aggregate(days=ud.count())
    freq = per_week.group_by(["week", "days"]).aggregate(n=per_week.count())
    return [
        part(dau, "dau", dau.day, dau.n), part(wau, "wau", wau.week, wau.n),
        part(mau, "mau", mau.month, mau.n), *ends,
        part(freq, "freq", freq.week, freq.n, freq.days),
    ]


def run(ws: Workspace, spec: ActivitySpec) -> ActivityResult:
    """Evaluate ``spec`` on ``ws``."""
    t0 = time.perf_counter()
    if fast_activity.applies(ws):
        rng, counts = fast_activity.counts(ws, spec)
        require_events(ws, rng, spec.events, "events")
    else:
        rng = data_range(ws, spec.events or ())
        require_events(ws, rng, spec.events, "events")
        # every part reads the distinct (user, day) pairs: compute them once, in the engine
        ud = user_days(ws, spec).cache()
        try:
            parts = actives_parts(ud, rng) + lifecycle.lifecycle_parts(ud, spec.period) \
                + lifecycle.streak_parts(ud)
            counts = split(stack(parts).to_pandas())
        finally:
            ud.release()

    daily = _daily(counts, rng)
    tables = {
        "daily": daily,
        "weekly": _calendar(counts["wau"], daily, "week", "wau", rng),
        "monthly": _calendar(counts["mau"], daily, "month", "mau", rng),
    }
    tables["frequency"], tables["frequency_all"] = _frequency(counts["freq"], tables["weekly"], rng)
    tables["lifecycle"] = lifecycle.lifecycle_table(counts, spec.period, rng)
    tables["streaks"] = lifecycle.streaks_table(counts)
    meta = {"engine": ws.engine, "timezone": ws.config.timezone,
            "data_first_day": P.day_to_date(rng.first_day).isoformat(),
            "data_end": P.day_to_date(rng.last_day).isoformat(),
            "activity": "any event" if spec.events is None else
            "event " + " or ".join(repr(e) for e in spec.events),
            "week_starts": "Monday"}
    if ws.has_table("orders"):
        tables["repurchase"], meta["repurchase"] = repurchase.repurchase(ws, spec)
    else:
        meta["repurchase"] = None
    meta["summary"] = _summary(tables)
    meta["elapsed_s"] = round(time.perf_counter() - t0, 4)
    return ActivityResult(spec=spec, tables=tables, meta=meta)


def _ratio(a, b):
    return a / b if b else None


def _daily(counts: dict, rng: DataRange) -> pd.DataFrame:
    dau = by_x(counts["dau"])
    ends = {w: by_x(counts.get(f"end_{w}d", {})) for w in ROLLING}
    running = dict.fromkeys(ROLLING, 0)
    rows = []
    for d in range(rng.first_day, rng.last_day + 1):
        actives = {}
        for w in ROLLING:
            running[w] += dau.get(d, 0) - ends[w].get(d, 0)
            actives[w] = running[w] if d - (w - 1) >= rng.first_day else None
        mau = actives[30]
        rows.append({"day": P.day_to_date(d).isoformat(), "dau": dau.get(d, 0),
                     "wau_7d": actives[7], "mau_30d": mau,
                     "stickiness": _ratio(dau.get(d, 0), mau) if mau else None})
    df = pd.DataFrame(rows, columns=["day", "dau", "wau_7d", "mau_30d", "stickiness"])
    for c in ("wau_7d", "mau_30d"):
        df[c] = df[c].astype("Int64")
    df["stickiness"] = df["stickiness"].astype("Float64")
    return df


def _calendar(counts: dict, daily: pd.DataFrame, period: str, name: str, rng: DataRange) -> pd.DataFrame:
    """One row per calendar week / month touching the data: actives, mean DAU, stickiness."""
    active = by_x(counts)
    dau = dict(zip(daily["day"], daily["dau"], strict=True))
    rows = []
    for p in range(P.period_of_day(rng.first_day, period), P.period_of_day(rng.last_day, period) + 1):
        days = [P.day_to_date(d).isoformat()
                for d in range(max(P.first_day(p, period), rng.first_day),
                               min(P.last_day(p, period), rng.last_day) + 1)]
        avg = sum(dau[d] for d in days) / len(days)
        n = active.get(p, 0)
        rows.append({period: P.label(p, period), name: n, "avg_dau": avg,
                     "stickiness": _ratio(avg, n),
                     "complete": P.is_complete(p, period, rng.first_day, rng.last_day)})
    return pd.DataFrame(rows, columns=[period, name, "avg_dau", "stickiness", "complete"])


def _frequency(counts: dict, weekly: pd.DataFrame, rng: DataRange) -> tuple[pd.DataFrame, pd.DataFrame]:
    wau = dict(zip(weekly["week"], weekly["wau"], strict=True))
    rows = []
    for (w, days), n in sorted(counts.items()):
        week = P.label(w, "week")
        rows.append({"week": week, "days_active": days, "users": n, "share": _ratio(n, wau[week]),
                     "complete": P.is_complete(w, "week", rng.first_day, rng.last_day)})
    per_week = pd.DataFrame(rows, columns=["week", "days_active", "users", "share", "complete"])
    done = per_week[per_week["complete"]]
    total = int(done["users"].sum())
    overall = pd.DataFrame(
        [{"days_active": d, "user_weeks": int(done.loc[done["days_active"] == d, "users"].sum()),
          "share": _ratio(int(done.loc[done["days_active"] == d, "users"].sum()), total)}
         for d in range(1, 8)], columns=["days_active", "user_weeks", "share"])
    return per_week, overall


def _mean(values) -> float | None:
    values = [float(v) for v in values if v is not None and not pd.isna(v)]
    return sum(values) / len(values) if values else None


def _summary(tables: dict[str, pd.DataFrame]) -> dict:
    """Averages over complete periods (days are always complete)."""
    daily, weekly, monthly = tables["daily"], tables["weekly"], tables["monthly"]
    w, m = weekly[weekly["complete"]], monthly[monthly["complete"]]
    return {
        "avg_dau": _mean(daily["dau"]),
        "avg_wau": _mean(w["wau"]),
        "avg_mau": _mean(m["mau"]),
        "stickiness_dau_mau": _mean(m["stickiness"]),
        "stickiness_dau_mau_30d": _mean(daily["stickiness"]),
        "complete_weeks": len(w),
        "complete_months": len(m),
    }
