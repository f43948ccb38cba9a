"""Sessions: each user's events cut where they were inactive for longer than the gap.

Definitions (docs/journeys.md, "Sessions"):

* events are taken in the user's total order ``(ts, event_id NULLS LAST, event)``;
* an event starts a new session when the time since the user's previous event is strictly
  **greater** than ``gap_us``; a gap exactly equal to the gap stays in the same session (the
  bound is inclusive, like funnel windows);
* session length = last event time - first event time, in seconds (0 for a one-event
  session); events = rows in the session; pages = distinct event names in it;
* a bounce is a session with one event; bounce rate = bounces / sessions;
* time on step of an event = seconds to the next event in the same session; the last event of
  a session has none (it is an exit).

All of it is DuckDB window functions (``LAG`` for the gaps, a running ``SUM`` for the session
number, ``LEAD`` for time on step) and ``GROUP BY``; only the small answers reach Python.
"""

from __future__ import annotations

from typing import Any

SUMMARY_COLUMNS = ["sessions", "users", "sessions_per_user", "median_session_seconds",
                   "mean_session_seconds", "median_events_per_session",
                   "mean_events_per_session", "mean_pages_per_session", "bounces",
                   "bounce_rate", "session_gap_seconds"]
STEP_COLUMNS = ["event", "events", "timed", "exits", "exit_rate", "median_seconds",
                "mean_seconds"]


def sessionized_sql(events: str, gap_us: int, extra: tuple[str, ...] = ()) -> str:
    """SQL of the events (u, e, t, pos) with their session number ``sid`` (1, 2, ... per
    user): a running sum of "gap > gap_us" over the user's order. ``extra``: more columns of
    ``events`` carried through unchanged (e.g. the traffic analysis' group value)."""
    from funnelscope.sqlsafe import ident

    more = "".join(f", {ident(c)}" for c in extra)
    return f"""
SELECT u, e, t, pos{more}, sum(brk) OVER (PARTITION BY u ORDER BY pos
       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS sid
FROM (SELECT u, e, t, pos{more},
             CASE WHEN t - lag(t) OVER (PARTITION BY u ORDER BY pos) > {int(gap_us)} THEN 1
                  WHEN lag(t) OVER (PARTITION BY u ORDER BY pos) IS NULL THEN 1
                  ELSE 0 END AS brk
      FROM ({events}))"""  # noqa: S608


def summary_sql(events: str, gap_us: int) -> str:
    """One row: the session summary (columns :data:`SUMMARY_COLUMNS` but the last)."""
    return f"""
WITH s AS ({sessionized_sql(events, gap_us)}),
per AS (SELECT u, sid, (max(t) - min(t)) / 1e6 AS seconds, count(*) AS events,
               count(DISTINCT e) AS pages FROM s GROUP BY u, sid)
SELECT count(*) AS sessions, count(DISTINCT u) AS users,
       CASE WHEN count(*) > 0 THEN count(*) / count(DISTINCT u) END AS sessions_per_user,
       median(seconds), avg(seconds), median(events), avg(events), avg(pages),
       count(*) FILTER (WHERE events = 1) AS bounces,
       CASE WHEN count(*) > 0 THEN count(*) FILTER (WHERE events = 1) / count(*) END
FROM per"""  # noqa: S608


def time_on_step_sql(events: str, gap_us: int) -> str:
    """One row per event name (columns :data:`STEP_COLUMNS`), most events first."""
    return f"""
WITH s AS ({sessionized_sql(events, gap_us)}),
nx AS (SELECT e, (lead(t) OVER (PARTITION BY u, sid ORDER BY pos) - t) / 1e6 AS seconds FROM s)
SELECT e AS event, count(*) AS events, count(seconds) AS timed,
       count(*) - count(seconds) AS exits, (count(*) - count(seconds)) / count(*) AS exit_rate,
       median(seconds) AS median_seconds, avg(seconds) AS mean_seconds
FROM nx GROUP BY e ORDER BY events DESC, event"""  # noqa: S608


def sessions(con: Any, events: str, gap_us: int) -> tuple[list[dict], list[dict]]:
    """(the one-row summary, time on step per event) over the ordered events SQL ``events``
    (columns u, e, t µs, pos), sessions cut after more than ``gap_us`` µs of inactivity."""
    row = (*con.execute(summary_sql(events, gap_us)).fetchone(), gap_us / 1e6)
    summary = [{c: None if v is None else int(v) if c in ("sessions", "users", "bounces")
                else float(v) for c, v in zip(SUMMARY_COLUMNS, row, strict=True)}]
    steps = [dict(zip(STEP_COLUMNS, r, strict=True))
             for r in con.execute(time_on_step_sql(events, gap_us)).fetchall()]
    return summary, steps
