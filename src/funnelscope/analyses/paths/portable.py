"""The paths analysis as Ibis expressions: what Spark (PySpark) runs, same semantics as the
DuckDB SQL text of :mod:`.sql` and :mod:`.sessions` (held equal by
``tests/paths/test_spark_backends.py``).

* **ordered events** — ``u, e, t, pos``: the events in each user's total order ``(ts,
  event_id NULLS LAST, event)`` (``row_number``, 1-based), t in µs since the epoch
  (:func:`ordered_events`); with dropped / converted only the users whose funnel entity code
  (an integer id itself, else ``xxhash64 >> 1`` on Spark, ``hash >> 1`` on DuckDB) is kept.
* **paths** — per anchored user the first ``depth`` numbered events after (before) the anchor,
  runs of repeats dropped with ``LAG`` / ``LEAD``, pivoted into columns ``p1 .. p<depth>``
  (``e`` at number k) and ``n`` (how many), then counted per distinct path in the engine
  (:func:`path_counts`). Only one row per distinct path comes back; the lists, the markers,
  the top N and the depth-wise transitions are made from those rows in Python.
* **matrix** — ``from, to, transitions, users`` of every consecutive pair (:func:`matrix`).
* **sessions** — the summary and time on step of :mod:`.sessions` (:func:`sessions`).

The events never come back to Python.
"""

from __future__ import annotations

from typing import Any

import ibis

from funnelscope.analyses.paths.sessions import STEP_COLUMNS, SUMMARY_COLUMNS
from funnelscope.engine.timezones import epoch_us


def ordered_events(ws: Any, population: Any | None, native: bool) -> Any:
    """``u, e, t, pos`` of the events with a user, an event name and a time; ``population``:
    an Ibis table ``code`` of the kept users' entity codes (None: every user)."""
    from funnelscope.analyses.experiment.portable import entity_code

    t = ws.events
    t = t.filter(t.user_id.notnull(), t.event.notnull(), t.ts.notnull())
    if population is not None:
        t = t.mutate(__fs_code=entity_code(ws, t.user_id, native))
        t = t.semi_join(population, t.__fs_code == population.code)
    order = [t.ts]
    if "event_id" in t.columns:
        order += [t.event_id.isnull(), t.event_id]
    order.append(t.event)
    w = ibis.window(group_by=t.user_id, order_by=order)
    return t.select(u=t.user_id, e=t.event, t=epoch_us(ws, t.ts),
                    pos=(ibis.row_number().over(w) + 1).cast("int64"))


def user_count(ev: Any) -> int:
    """Distinct users of the ordered events."""
    return int(ev.agg(n=ev.u.nunique()).to_pyarrow()["n"][0].as_py() or 0)


def anchors(ev: Any, spec: Any) -> Any:
    """``u, apos, at``: one row per anchored user (:func:`.sql._anchor_sql`)."""
    if spec.anchor is None:
        return ev.group_by("u").agg(apos=ibis.literal(0, "int64"), at=ev.t.min())
    hits = ev.filter(ev.e == str(spec.anchor))
    pick = hits.group_by("u").agg(
        apos=hits.pos.max() if spec.occurrence == "last" else hits.pos.min())
    p = pick.select(pu=pick.u, apos=pick.apos)
    base = ev.view()
    j = base.join(p, [base.u == p.pu, base.pos == p.apos])
    return j.select(u=j.u, apos=j.apos, at=j.t)


def anchored_users(anchor: Any) -> Any:
    """``u`` of the anchored users (to keep their events for sessions and the matrix)."""
    return anchor.select("u")


def path_counts(ev: Any, anchor: Any, spec: Any) -> list[tuple[int, tuple, int]]:
    """Rows ``(n, (p1, ..., p_depth), users)``: the anchored users per distinct path; ``n``
    events numbered 1..n after the anchor (before it when reading backwards, 1 nearest)."""
    depth = int(spec.depth)
    within = spec.within_us
    backwards = spec.direction == "before"
    a = anchor.select(au=anchor.u, apos=anchor.apos, at=anchor.at)
    j = ev.join(a, ev.u == a.au)
    if backwards:
        preds = [j.pos <= j.apos] + ([j.at - j.t <= int(within)] if within is not None else [])
    else:
        preds = [j.pos >= j.apos] + ([j.t - j.at <= int(within)] if within is not None else [])
    win = j.filter(*preds).select("u", "e", "pos")
    w = ibis.window(group_by=win.u, order_by=win.pos)
    nb = win.e.lead().over(w) if backwards else win.e.lag().over(w)
    seq = win.mutate(nb=nb)
    if not spec.keep_repeats:
        seq = seq.filter(seq.nb.isnull() | (seq.e != seq.nb))
    offset = 0 if spec.anchor is None else 1
    order = ibis.desc(seq.pos) if backwards else seq.pos
    d = ibis.row_number().over(ibis.window(group_by=seq.u, order_by=order)) + 1 - offset
    num = seq.select("u", "e", d=d.cast("int64"))
    num = num.filter(num.d <= depth)
    cols = {f"p{k}": num.e.max(where=num.d == k) for k in range(1, depth + 1)}
    per = num.group_by("u").agg(n=num.count(where=num.d >= 1), **cols)
    keys = ["n"] + list(cols)
    counted = per.group_by(keys).agg(users=per.count())
    out = []
    for r in counted.to_pyarrow().to_pylist():
        out.append((int(r["n"]), tuple(r[k] for k in cols), int(r["users"])))
    return out


def matrix(scope: Any, keep_repeats: bool) -> list[tuple[str, str, int, int]]:
    """Rows ``(from, to, transitions, users)`` of :func:`.sql.matrix_sql` over ``scope``."""
    w = ibis.window(group_by=scope.u, order_by=scope.pos)
    s = scope.mutate(prev=scope.e.lag().over(w))
    s = s.filter(s.prev.notnull(), *([] if keep_repeats else [s.e != s.prev]))
    g = s.group_by(["prev", "e"]).agg(transitions=s.count(), users=s.u.nunique())
    return [(r["prev"], r["e"], int(r["transitions"]), int(r["users"]))
            for r in g.to_pyarrow().to_pylist()]


def _sessionized(scope: Any, gap_us: int) -> Any:
    """``u, e, t, pos, sid`` (:func:`.sessions.sessionized_sql`)."""
    w = ibis.window(group_by=scope.u, order_by=scope.pos)
    prev = scope.t.lag().over(w)
    s = scope.mutate(brk=ibis.cases((prev.isnull(), 1), (scope.t - prev > int(gap_us), 1),
                                    else_=0).cast("int64"))
    run = ibis.window(group_by=s.u, order_by=s.pos, rows=(None, 0))
    return s.mutate(sid=s.brk.sum().over(run))


def sessions(scope: Any, gap_us: int) -> tuple[list[dict], list[dict]]:
    """:func:`.sessions.sessions` on an Ibis relation ``u, e, t, pos``."""
    s = _sessionized(scope, gap_us)
    per = s.group_by(["u", "sid"]).agg(seconds=(s.t.max() - s.t.min()).cast("float64") / 1e6,
                                       events=s.count(), pages=s.e.nunique())
    r = per.agg(sessions=per.count(), users=per.u.nunique(),
                med_s=per.seconds.median(), avg_s=per.seconds.mean(),
                med_e=per.events.cast("float64").median(), avg_e=per.events.mean(),
                avg_p=per.pages.mean(),
                bounces=per.count(where=per.events == 1)).to_pyarrow().to_pylist()[0]
    n, users, bounces = int(r["sessions"] or 0), int(r["users"] or 0), int(r["bounces"] or 0)
    row = (n, users, n / users if n else None, r["med_s"], r["avg_s"], r["med_e"], r["avg_e"],
           r["avg_p"], bounces, bounces / n if n else None, gap_us / 1e6)
    summary = [{c: None if v is None else int(v) if c in ("sessions", "users", "bounces")
                else float(v) for c, v in zip(SUMMARY_COLUMNS, row, strict=True)}]
    w = ibis.window(group_by=[s.u, s.sid], order_by=s.pos)
    nx = s.select(e=s.e, seconds=(s.t.lead().over(w) - s.t).cast("float64") / 1e6)
    g = nx.group_by("e").agg(events=nx.count(), timed=nx.seconds.count(),
                             med=nx.seconds.median(), avg=nx.seconds.mean())
    steps = []
    for x in g.to_pyarrow().to_pylist():
        events, timed = int(x["events"]), int(x["timed"])
        med = None if x["med"] is None else float(x["med"])
        avg = None if x["avg"] is None else float(x["avg"])
        steps.append(dict(zip(STEP_COLUMNS, (x["e"], events, timed, events - timed,
                                             (events - timed) / events, med, avg), strict=True)))
    steps.sort(key=lambda x: (-x["events"], x["event"].encode()))
    return summary, steps
