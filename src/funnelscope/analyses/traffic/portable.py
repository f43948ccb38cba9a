"""The traffic analysis as Ibis expressions: the relations of :mod:`.sql` on PySpark.

Same relations, same semantics as the DuckDB SQL text of :mod:`.sql` (held equal by
``tests/traffic/test_spark_backends.py``):

* **events** (:func:`events`) — the events with a user, a name and a time inside
  [start, end): ``u, e, t`` (µs since the epoch), ``ts``, ``g`` (the group value as text),
  ``pos`` (``row_number`` over the user's total order ``(t, event_id NULLS LAST, e,
  g NULLS LAST)``);
* **sessions** (:func:`sessions`) — one row per session, cut where the time since the user's
  previous event (``lag``) is more than the gap (a running ``sum`` of the breaks gives the
  session number ``sid``): ``u, sid, g`` (the session's first event's value, NULL
  included: the value of the session's one break row), ``ts0, t_start, duration_us, events, pv, conversions,
  is_new`` (the session begins with the user's first-ever event of the whole events table);
* **counts** (:func:`counts`) — per key (all, group, period): pv, uv, sessions,
  new_visitors, bounces, events, duration_us, conversions, converting_users;
* **spend** (:func:`spend`) — per key: rows, cost, impressions, clicks and how many rows
  have each.

The session table is cached in the engine for the run (:class:`Scratch`); only the per-key
rows come back to Python, the events never do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import ibis

from funnelscope.analyses.traffic.sql import NONE_LABEL
from funnelscope.engine.timezones import epoch_us, local_time

#: the period names of the spec and Ibis' truncation units (a week starts on Monday)
_UNITS = {"day": "D", "week": "W", "month": "M"}


def _valid(t: Any) -> list:
    return [t.user_id.notnull(), t.event.notnull(), t.ts.notnull()]


def events(ws: Any, by: tuple[str, str] | None, start_us: int | None,
           end_us: int | None) -> Any:
    """``u, e, t, ts, g, pos`` of the events in [start, end) (see the module doc). ``by``:
    (table, column) of the group, None: no group (g is NULL)."""
    src = ws.events
    src = src.filter(*_valid(src))
    t_us = epoch_us(ws, src.ts)
    if start_us is not None:
        src = src.filter(t_us >= int(start_us))
    if end_us is not None:
        src = src.filter(epoch_us(ws, src.ts) < int(end_us))
    has_id = "event_id" in src.columns
    if by is None:
        group = ibis.null("string")
    elif by[0] == "events":
        group = src[by[1]].cast("string")
    else:
        c = ws.table(by[0])
        c = c.group_by(cu="user_id").agg(grp=c[by[1]].cast("string").min())
        src = src.left_join(c, src.user_id == c.cu)
        group = src.grp
    rel = src.select(u=src.user_id, e=src.event, t=epoch_us(ws, src.ts), ts=src.ts,
                     eid=src.event_id if has_id else ibis.null("string"), g=group)
    order = [rel.t, ibis.asc(rel.eid, nulls_first=False), rel.e,
             ibis.asc(rel.g, nulls_first=False)]
    pos = ibis.row_number().over(group_by=rel.u, order_by=order)
    return rel.mutate(pos=pos)


def first_seen(ws: Any) -> Any:
    """``fu, t0``: each user's first-ever event time (µs) over the whole events table."""
    src = ws.events
    src = src.filter(*_valid(src))
    return src.group_by(fu=src.user_id).agg(t0=epoch_us(ws, src.ts).min())


def sessions(ws: Any, evs: Any, gap_us: int, pages: Sequence[str] | None,
             conversions: Sequence[str] | None) -> Any:
    """One row per session (see the module doc) over :func:`events`' relation ``evs``."""
    by_user = ibis.window(group_by=evs.u, order_by=evs.pos)
    prev = evs.t.lag().over(by_user)
    brk = ibis.cases((prev.isnull(), 1), (evs.t - prev > int(gap_us), 1), else_=0)
    s = evs.mutate(brk=brk)
    s = s.mutate(sid=s.brk.sum().over(ibis.window(group_by=s.u, order_by=s.pos,
                                                  rows=(None, 0))))
    # the session's first row is its only break (brk = 1): its value, NULL included, is the
    # max of "g where brk = 1" (Ibis compiles first() to IGNORE NULLS on Spark)
    opener = ibis.cases((s.brk == 1, s.g), else_=ibis.null("string"))
    s = s.mutate(sg=opener.max().over(ibis.window(group_by=[s.u, s.sid])))
    is_page = s.e.isin(list(pages)) if pages else ibis.literal(False)
    is_conv = s.e.isin(list(conversions)) if conversions else ibis.literal(False)
    per = s.group_by([s.u, s.sid, s.sg]).agg(
        ts0=s.ts.min(), t_start=s.t.min(), duration_us=s.t.max() - s.t.min(),
        events=s.count(), pv=s.count(where=is_page), conversions=s.count(where=is_conv))
    fs = first_seen(ws)
    j = per.join(fs, per.u == fs.fu)
    return j.select(u=j.u, sid=j.sid, g=j.sg, ts0=j.ts0, t_start=j.t_start,
                    duration_us=j.duration_us, events=j.events, pv=j.pv,
                    conversions=j.conversions, is_new=(j.sid == 1) & (j.t_start == j.t0))


def group_key(x: Any) -> Any:
    return x.g.fill_null(NONE_LABEL)


def period_key(ws: Any, x: Any, period: str, tz: str) -> Any:
    """The session's start day, week (Monday) or month in ``tz``, YYYY-MM-DD."""
    return local_time(ws, x.ts0, tz).truncate(_UNITS[period]).date().cast("string")


def counts(x: Any, keys: Sequence[Any]) -> list[dict[str, Any]]:
    """:func:`.sql.counts_sql` on the sessions relation ``x``: one dict per key (k0, k1...),
    ordered by the keys; no rows when there are no sessions."""
    named = {f"k{i}": k for i, k in enumerate(keys)}
    g = x.group_by(**named).agg(
        pv=x.pv.sum().fill_null(0), uv=x.u.nunique(), sessions=x.count(),
        new_visitors=x.count(where=x.is_new), bounces=x.count(where=x.events == 1),
        events=x.events.sum().fill_null(0), duration_us=x.duration_us.sum().fill_null(0),
        conversions=x.conversions.sum().fill_null(0),
        converting_users=x.u.nunique(where=x.conversions > 0))
    return g.order_by(list(named)).to_pyarrow().to_pylist()


def spend(ws: Any, key: str | None, columns: set[str], first_day: str | None,
          last_day: str | None) -> dict[str, dict]:
    """:func:`.sql.spend_sql` as Ibis: {key: spend row} (key None: one row 'all')."""
    sp = ws.table("spend")
    if first_day:
        sp = sp.filter(sp.date.cast("date") >= ibis.date(first_day))
    if last_day:
        sp = sp.filter(sp.date.cast("date") <= ibis.date(last_day))
    k = ibis.literal("all") if key is None else sp[key].cast("string").fill_null(NONE_LABEL)
    agg: dict[str, Any] = {"n_rows": sp.count(), "cost": sp.cost.sum()}
    present = [c for c in ("impressions", "clicks") if c in columns]
    for c in present:
        agg[c], agg[f"n_{c}"] = sp[c].sum(), sp[c].count()
    rows = sp.group_by(k=k).agg(**agg).order_by("k").to_pyarrow().to_pylist()
    for r in rows:
        for c in ("impressions", "clicks"):
            if c not in present:
                r[c], r[f"n_{c}"] = None, 0
    return {r["k"]: r for r in rows}


class Scratch:
    """The session relation cached in the engine for one run; released on close."""

    def __init__(self) -> None:
        self._cached: list = []

    def cache(self, expr: Any) -> Any:
        out = expr.cache()
        self._cached.append(out)
        return out

    def close(self) -> None:
        for expr in self._cached:
            with contextlib.suppress(Exception):  # best effort on a closed connection
                expr.release()
        self._cached = []
