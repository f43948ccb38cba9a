"""Churn: churn rate per period, the Kaplan–Meier survival curve and median customer lifetime.

Semantics (docs/metrics.md, "Churn"). Days are local dates of the reporting time zone; the
data's end is the last event's local date.

A customer's life is a *spell* of activity:

- inactivity definition (N days): a spell starts on an active day that follows more than N
  days after the previous active day (or is the user's first). It ends at its last active day
  L; it is *churned* when the N days after L are observed without activity (``L + N <= end``),
  otherwise the customer is still active (censored).
- cancellation definition: a spell starts at the first activity after the previous
  cancellation (or the user's first activity) and ends at the next cancellation event, on
  that day; without one the customer is still a customer at the data end (censored).
  Cancellations with no activity before them are ignored.

Churn rate of period p = spells churned in p that started before p / spells alive at the start
of p (started before p and not churned before p). A period is complete when all its days are in
the data and, for inactivity, its last day plus N days is on or before the data end.

Survival: the customer's *first* spell (their first life), duration in days from its first
day to its churn day (inactivity: the last active day; cancellation: the cancellation day), or
to the last active day / data end when censored. Kaplan–Meier runs on counts per
(duration, outcome), computed in the engine: one small table.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from funnelscope.analyses.retention import fast_churn
from funnelscope.analyses.retention import periods as P
from funnelscope.analyses.retention.result import ChurnResult
from funnelscope.analyses.retention.sources import (
    FOLDED,
    FOLDED_KEY,
    GROUP,
    TOP_GROUPS,
    DataRange,
    Start,
    attach_group,
    cap_groups,
    cohort_entries,
    data_range,
    events_named,
    group_key,
    group_label,
    no_folding,
    require_events,
    resolve_group,
)
from funnelscope.analyses.retention.spec import ChurnSpec, churn_spec
from funnelscope.analyses.retention.survival import kaplan_meier, median_lifetime, survival_at
from funnelscope.errors import ConfigError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import WorkspaceBase as Workspace

SURVIVAL_POINTS = (7, 30, 90, 180, 365)


def churn(
    ws: Workspace,
    events: str | Sequence[str] | None = None,
    inactivity_days: int = 30,
    cancel_event: str | Sequence[str] | None = None,
    period: str = "month",
    by: str | None = None,
    top_groups: int = TOP_GROUPS,
    population: str = "all",
) -> ChurnResult:
    """Churn rate per period, survival curve (Kaplan–Meier) and median lifetime.

    events: activity events (None = any). inactivity_days: churned after this many days
    without activity. cancel_event: use a cancellation event instead. period: day | week |
    month. by: a column of the user's first activity event or of the customers table.
    top_groups: with ``by``, the largest groups (by customers) kept; the rest are summed
    into the group "other" (as in funnels). population: all | buyers (only users with an order,
    from their first order on: customer churn rather than visitor churn). Tables: periods,
    survival, lifetime.

    >>> ws.churn(inactivity_days=30, period="month").tables["lifetime"]
    """
    return run(ws, churn_spec(events, inactivity_days, cancel_event, period, by, top_groups,
                              population))


def _activity_days(ws: Workspace, spec: ChurnSpec) -> ir.Table:
    """Distinct (user_id, day, month, cancel): active days (local epoch day and month number),
    and cancellation days when cancel=1."""
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run

    from funnelscope.engine.timezones import local_time
    ev = ws.events
    if spec.cancel_event:
        if spec.events is not None:
            ev = ev.filter(ev.event.isin(list(spec.cancel_event) + list(spec.events)))
        cancel = ev.event.isin(list(spec.cancel_event)).cast("int64")
    else:
        ev = events_named(ev, spec.events)
        cancel = ibis.literal(0).cast("int64")
    if spec.population == "buyers":
        orders = ws.orders
        first = orders.group_by(orders.user_id).aggregate(_first_order=orders.ts.min())
        ev = ev.inner_join(first, ev.user_id == first.user_id)
        ev = ev.filter(ev.ts >= ev._first_order)
    lt = local_time(ws, ev.ts)
    return ev.select(user_id=ev.user_id, day=lt.date().epoch_days(),
                     month=lt.year() * 12 + lt.month() - 1, cancel=cancel).distinct()


def spells(ws: Workspace, spec: ChurnSpec, rng: DataRange) -> ir.Table:
    """One row per spell: user_id, spell (ascending per user), start, start_month, churn_day,
    churn_month, observed (0/1).

    churn_day is the last active day (inactivity) or the cancellation day; for a censored
    spell it is the day survival is censored at (last active day / data end).
    """
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    ud = _activity_days(ws, spec)
    w = ibis.window(group_by=ud.user_id, order_by=[ud.day, ud.cancel])
    if spec.cancel_event:
        # spell number = cancellations strictly before this row (a cancellation closes its spell)
        ud = ud.mutate(spell=ud.cancel.sum().over(
            ibis.window(group_by=ud.user_id, order_by=[ud.day, ud.cancel], rows=(None, 0)))
            - ud.cancel)
        s = ud.group_by(["user_id", "spell"]).aggregate(
            start=ud.day.min(where=ud.cancel == 0), start_month=ud.month.min(where=ud.cancel == 0),
            cancel_day=ud.day.min(where=ud.cancel == 1),
            cancel_month=ud.month.min(where=ud.cancel == 1),
        )
        s = s.filter(s.start.notnull())
        observed = s.cancel_day.notnull()
        day = ibis.ifelse(observed, s.cancel_day, rng.last_day)
        month = ibis.ifelse(observed, s.cancel_month, P.period_of_day(rng.last_day, "month"))
    else:
        prev = ud.day.lag().over(w)
        new = (prev.isnull() | (ud.day - prev > spec.inactivity_days)).cast("int64")
        ud = ud.mutate(new=new)
        ud = ud.mutate(spell=ud.new.sum().over(
            ibis.window(group_by=ud.user_id, order_by=ud.day, rows=(None, 0))) - 1)
        s = ud.group_by(["user_id", "spell"]).aggregate(
            start=ud.day.min(), start_month=ud.month.min(), last=ud.day.max(),
            last_month=ud.month.max(),
        )
        observed = s.last + spec.inactivity_days <= rng.last_day
        day, month = s.last, s.last_month
    return s.select("user_id", "spell", "start", "start_month", churn_day=day, churn_month=month,
                    observed=observed.cast("int64"))


def compile_query(ws: Workspace, spec: ChurnSpec, rng: DataRange, group) -> ir.Table:
    """Counts: part "spells" (x = start period, y = churn period or -1) and part "km"
    (x = duration days of the first spell, y = observed), per group."""
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    s = spells(ws, spec, rng)
    start = Start("first_event" if spec.events is None else "event", spec.events)
    if group is not None and group.table == "start":
        entries = cohort_entries(ws, start, "day", first_time=True, group=group)
        lookup = entries.select(user_id=entries.user_id, _g=entries[GROUP])
        j = s.left_join(lookup, s.user_id == lookup.user_id)
        s = j.select(*[j[c] for c in s.columns], **{GROUP: j._g})
    else:
        s = attach_group(ws, s, group)
    s = no_folding(s) if group is None else cap_groups(s, spec.top_groups, users=True)
    if spec.period == "month":
        start_p, churn_p = s.start_month, s.churn_month
    else:
        start_p = P.period_of_day_expr(s.start, spec.period)
        churn_p = P.period_of_day_expr(s.churn_day, spec.period)
    s = s.mutate(sp=start_p, cp=ibis.ifelse(s.observed == 1, churn_p, -1))
    a = s.group_by([GROUP, FOLDED, "sp", "cp"]).aggregate(n=s.count())
    # the user's first life: the earliest spell (spell numbers can start above 0 when a
    # cancellation with no activity before it was dropped)
    s = s.mutate(first_spell=s.spell.min().over(group_by=s.user_id))
    first = s.filter(s.spell == s.first_spell)
    first = first.mutate(dur=first.churn_day - first.start)
    b = first.group_by([GROUP, FOLDED, "dur", "observed"]).aggregate(n=first.count())

    def shape(t, name, x, y):
        return t.select(part=ibis.literal(name), group=t[GROUP], other=t[FOLDED], x=x.cast("int64"),
                        y=y.cast("int64"), n=t.n.cast("int64"))

    return ibis.union(shape(a, "spells", a.sp, a.cp), shape(b, "km", b.dur, b.observed))


def _norm(v: Any) -> Any:
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v.item() if hasattr(v, "item") else v


def run(ws: Workspace, spec: ChurnSpec) -> ChurnResult:
    """Evaluate ``spec`` on ``ws`` (see the module docstring)."""
    t0 = time.perf_counter()
    if spec.population == "buyers" and not ws.has_table("orders"):
        raise ConfigError("churn among buyers needs the orders table.",
                          hint="Load orders (funnelscope load orders.csv --table orders) or use "
                               "--population all.")
    names = (spec.events or ()) + (spec.cancel_event or ())
    start = Start("first_event" if spec.events is None else "event", spec.events)
    group = resolve_group(ws, spec.by, start) if spec.by is not None else None
    fast = fast_churn.applies(ws, spec, group)
    if fast:
        rng, fast_parts = fast_churn.counts(ws, spec, names)
    else:
        rng = data_range(ws, names)
    require_events(ws, rng, spec.events, "events")
    require_events(ws, rng, spec.cancel_event, "cancel_event")
    parts: dict[str, dict[Any, list]] = defaultdict(lambda: defaultdict(list))
    if fast:
        for name, rows in fast_parts.items():
            parts[name][None] = rows
    else:
        group = resolve_group(ws, spec.by, start)
        df = compile_query(ws, spec, rng, group).to_pandas()
        for p, g, o, x, y, n in zip(df["part"], df["group"], df["other"], df["x"], df["y"],
                                    df["n"], strict=True):
            parts[str(p)][group_key(_norm(g), _norm(o))].append((int(x), int(y), int(n)))
    groups = sorted(set(parts["spells"]) | set(parts["km"]),
                    key=lambda g: (g is FOLDED_KEY, g is None, str(g) if g is not None else ""))
    by = spec.by is not None
    if not groups and not by:
        groups = [None]  # no customer at all: the periods still exist, with zeros
    period_rows, surv_tables, life_rows = [], [], []
    for g in groups:
        head = {"group": group_label(g)} if by else {}
        period_rows += [head | r for r in _periods(parts["spells"][g], spec, rng)]
        rows = parts["km"][g]
        km = kaplan_meier([r[0] for r in rows], [bool(r[1]) for r in rows], [r[2] for r in rows])
        if by:
            km.insert(0, "group", group_label(g))
        surv_tables.append(km)
        life = head | {"customers": sum(r[2] for r in rows),
                       "churned": sum(r[2] for r in rows if r[1]),
                       "censored": sum(r[2] for r in rows if not r[1]),
                       "median_lifetime_days": median_lifetime(km)}
        life |= {f"survival_{d}d": survival_at(km, d) for d in SURVIVAL_POINTS}
        life_rows.append(life)
    cols = (["group"] if by else []) + ["period", "customers_at_start", "new", "churned",
                                         "churned_from_start", "churn_rate", "complete"]
    periods_df = pd.DataFrame(period_rows, columns=cols)
    for c in ("churned", "churned_from_start"):
        periods_df[c] = periods_df[c].astype("Int64")
    periods_df["churn_rate"] = periods_df["churn_rate"].astype("Float64")
    tables = {
        "periods": periods_df,
        "survival": pd.concat(surv_tables, ignore_index=True) if surv_tables else kaplan_meier([], []),
        "lifetime": pd.DataFrame(life_rows),
    }
    meta = {
        "engine": ws.engine, "timezone": ws.config.timezone,
        "data_first_day": P.day_to_date(rng.first_day).isoformat(),
        "data_end": P.day_to_date(rng.last_day).isoformat(),
        "definition": spec.definition,
        "activity": "any event" if spec.events is None else
        "event " + " or ".join(repr(e) for e in spec.events),
        "by": group.describe() if group else None,
        "lifetime_unit": "days",
        "elapsed_s": round(time.perf_counter() - t0, 4),
    }
    return ChurnResult(spec=spec, tables=tables, meta=meta)


def _periods(rows: list[tuple[int, int, int]], spec: ChurnSpec, rng: DataRange) -> list[dict]:
    """Churn-rate rows for every period of the data from (start period, churn period, n)."""
    started, churned, churned_old = defaultdict(int), defaultdict(int), defaultdict(int)
    for sp, cp, n in rows:
        started[sp] += n
        if cp >= 0:
            churned[cp] += n
            if sp < cp:
                churned_old[cp] += n
    out = []
    alive = 0  # spells alive at the start of the current period
    first_p = P.period_of_day(rng.first_day, spec.period)
    for p in range(first_p, P.period_of_day(rng.last_day, spec.period) + 1):
        follow_up = 0 if spec.cancel_event else spec.inactivity_days
        complete = P.is_complete(p, spec.period, rng.first_day, rng.last_day) and \
            P.last_day(p, spec.period) + follow_up <= rng.last_day
        out.append({
            "period": P.label(p, spec.period), "customers_at_start": alive, "new": started[p],
            "churned": churned[p] if complete else None,
            "churned_from_start": churned_old[p] if complete else None,
            "churn_rate": (churned_old[p] / alive if alive else None) if complete else None,
            "complete": complete,
        })
        alive += started[p] - churned[p]
    return out
