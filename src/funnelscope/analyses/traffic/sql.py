"""The traffic analysis as DuckDB SQL text: sessions by window functions, then small GROUP BYs.

:func:`sessions_sql` gives one row per session: the events in range, each user's in the
total order ``(ts, event_id NULLS LAST, event, group value NULLS LAST)`` (``row_number``),
cut into sessions by :func:`funnelscope.analyses.paths.sessions.sessionized_sql` (``LAG`` of
the time, a running ``SUM`` of "gap > session gap"); the session's group is its first
event's value (``first_value`` over the session), its start, length, events, page views and
conversions are aggregates, and ``is_new`` says that it begins with the user's first-ever
event (``min(ts)`` over the whole events table, not only the range).
:func:`counts_sql` then counts sessions per key (all, group, period) and :func:`spend_sql`
sums the spend per key. Only one row per key reaches Python.

Every user-supplied name goes through :func:`funnelscope.sqlsafe.ident` and every value
through :func:`~funnelscope.sqlsafe.literal`.
"""

from __future__ import annotations

from funnelscope.analyses.paths.sessions import sessionized_sql
from funnelscope.sqlsafe import ident, literal

NONE_LABEL = "(none)"


def _in(column: str, names: tuple[str, ...] | None) -> str:
    if not names:
        return "FALSE"
    return f"{column} IN ({', '.join(literal(n) for n in names)})"


def events_sql(source: str, group: str, join: str, start_us: int | None, end_us: int | None,
               has_event_id: bool) -> str:
    """The events in range with u, e, t (µs), ts, g (group value as text) and pos (the
    user's total order). ``group``: SQL of the value over ``fs_src`` (and the ``join``ed
    ``fs_c``). Rows without a user, an event name or a time are left out."""
    where = [f"fs_src.{ident(c)} IS NOT NULL" for c in ("user_id", "event", "ts")]
    if start_us is not None:
        where.append(f"epoch_us(fs_src.{ident('ts')}) >= {int(start_us)}")
    if end_us is not None:
        where.append(f"epoch_us(fs_src.{ident('ts')}) < {int(end_us)}")
    eid = f"fs_src.{ident('event_id')}" if has_event_id else "NULL"
    return f"""
SELECT u, e, t, ts, g,
       row_number() OVER (PARTITION BY u ORDER BY t, eid NULLS LAST, e, g NULLS LAST) AS pos
FROM (SELECT fs_src.{ident('user_id')} AS u, fs_src.{ident('event')} AS e,
             epoch_us(fs_src.{ident('ts')}) AS t, fs_src.{ident('ts')} AS ts, {eid} AS eid,
             {group} AS g
      FROM ({source}) AS fs_src {join}
      WHERE {' AND '.join(where)})"""  # noqa: S608 - names via ident, values via literal


def first_seen_sql(source: str) -> str:
    """Each user's first-ever event time (µs) over the whole events relation."""
    return (f"SELECT {ident('user_id')} AS u, min(epoch_us({ident('ts')})) AS t0 "  # noqa: S608
            f"FROM ({source}) AS fs_all WHERE {ident('user_id')} IS NOT NULL AND "
            f"{ident('event')} IS NOT NULL AND {ident('ts')} IS NOT NULL GROUP BY 1")


def sessions_sql(source: str, group: str, join: str, start_us: int | None,
                 end_us: int | None, has_event_id: bool, gap_us: int,
                 pages: tuple[str, ...] | None, conversions: tuple[str, ...] | None) -> str:
    """One row per session: u, sid, g (the first event's group value), ts0 (start), t_start
    (µs), duration_us (last − first event), events, pv (events named in ``pages``),
    conversions (events named in ``conversions``), is_new."""
    events = events_sql(source, group, join, start_us, end_us, has_event_id)
    return f"""
WITH s AS ({sessionized_sql(events, gap_us, ("ts", "g"))}),
f AS (SELECT *, first_value(g) OVER (PARTITION BY u, sid ORDER BY pos) AS sg FROM s),
per AS (SELECT u, sid, sg AS g, min(ts) AS ts0, min(t) AS t_start,
               max(t) - min(t) AS duration_us, count(*) AS events,
               count(*) FILTER (WHERE {_in('e', pages)}) AS pv,
               count(*) FILTER (WHERE {_in('e', conversions)}) AS conversions
        FROM f GROUP BY u, sid, sg),
fs AS ({first_seen_sql(source)})
SELECT per.*, (per.sid = 1 AND per.t_start = fs.t0) AS is_new
FROM per JOIN fs ON fs.u = per.u"""  # noqa: S608


def counts_sql(sessions: str, keys: list[str]) -> str:
    """Per ``keys`` (SQL expressions over the sessions table ``x``, named k0, k1...; a
    constant key gives one row of zeros when there are no sessions): pv, uv,
    sessions, new_visitors, bounces (one-event sessions), events, duration_us (sum),
    conversions, converting_users."""
    named = ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))
    return f"""SELECT {named},
  coalesce(sum(pv), 0) AS pv, count(DISTINCT u) AS uv, count(*) AS sessions,
  count(*) FILTER (WHERE is_new) AS new_visitors,
  count(*) FILTER (WHERE events = 1) AS bounces,
  coalesce(sum(events), 0) AS events, coalesce(sum(duration_us), 0) AS duration_us,
  coalesce(sum(conversions), 0) AS conversions,
  count(DISTINCT u) FILTER (WHERE conversions > 0) AS converting_users
FROM {ident(sessions)} AS x GROUP BY ALL ORDER BY ALL"""  # noqa: S608


def group_key() -> str:
    return f"coalesce(x.g, {literal(NONE_LABEL)})"


def period_key(period: str, timezone: str) -> str:
    """The session's start day, week (Monday) or month in the reporting time zone, YYYY-MM-DD."""
    return (f"strftime(date_trunc({literal(period)}, timezone({literal(timezone)}, x.ts0)), "
            "'%Y-%m-%d')")


def spend_sql(key: str | None, columns: set[str], first_day: str | None,
              last_day: str | None) -> str:
    """Spend per ``key`` (a spend column; None: one row 'all'): rows, cost, impressions,
    clicks and how many rows have each. Days ``first_day``..``last_day`` (ISO, inclusive)."""
    k = literal("all") if key is None else \
        f"coalesce(CAST({ident(key)} AS VARCHAR), {literal(NONE_LABEL)})"
    parts = [f"{k} AS k", "count(*) AS n_rows", f"sum({ident('cost')}) AS cost"]
    for c in ("impressions", "clicks"):
        if c in columns:
            parts += [f"sum({ident(c)}) AS {c}", f"count({ident(c)}) AS n_{c}"]
        else:
            parts += [f"CAST(NULL AS DOUBLE) AS {c}", f"0 AS n_{c}"]
    where = []
    if first_day:
        where.append(f"{ident('date')} >= DATE {literal(first_day)}")
    if last_day:
        where.append(f"{ident('date')} <= DATE {literal(last_day)}")
    cond = f" WHERE {' AND '.join(where)}" if where else ""
    return (f"SELECT {', '.join(parts)} FROM {ident('spend')}{cond} "  # noqa: S608
            "GROUP BY 1 ORDER BY 1")
