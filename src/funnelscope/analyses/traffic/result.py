"""The traffic Result: traffic and channel quality overall, per group and per period."""

from __future__ import annotations

from typing import Any

from funnelscope.analyses.result import Result, jsonable

#: traffic columns of every table (counts, then rates)
TRAFFIC_COLUMNS = ["pv", "uv", "sessions", "new_visitors", "bounces", "bounce_rate",
                   "pages_per_session", "events", "events_per_session", "avg_session_seconds",
                   "conversions", "converting_users", "conversion_rate"]
#: spend columns of ``summary`` and ``groups``
SPEND_COLUMNS = ["cost", "impressions", "clicks", "ctr", "cpc", "cpm", "cost_per_conversion",
                 "conversion_rate_per_click"]


class TrafficResult(Result):
    """Tables (rates are fractions 0..1, times in seconds, money in the spend's currency):

    * ``summary`` (one row: every session), ``groups`` (with ``by``: column ``group``, one
      row per value, ``(none)`` for sessions without one; also groups that only have spend)
      and ``periods`` (with ``period``: column ``period`` = the session start's day, week's
      Monday or month's first day, YYYY-MM-DD, reporting time zone; with ``by`` also
      ``group``) have: pv (page views: events named by ``page_event`` in the sessions), uv
      (distinct users with a session), sessions, new_visitors (users whose session begins
      with their first-ever event), bounces (one-event sessions), bounce_rate = bounces /
      sessions, pages_per_session = pv / sessions, events, events_per_session,
      avg_session_seconds (mean of last − first event time of each session), conversions
      (conversion events in the sessions), converting_users (users with one) and
      conversion_rate = converting_users / uv;
    * ``summary`` and ``groups`` add the spend: cost, impressions, clicks (sums over the spend
      days of the range), ctr = clicks / impressions, cpc = cost / clicks, cpm = 1000 ·
      cost / impressions, cost_per_conversion = cost / conversions, conversion_rate_per_click
      = conversions / clicks. Null when the spend has no such column (or a row lacks the
      value), when the group has no spend rows, for a ``by`` column spend is not split by,
      and for a zero denominator — never 0 in their place; ``meta["notes"]`` says why.

    ``meta``: page_events and conversion_events used, by_source (``events.x`` /
    ``customers.x``), spend_key, session_gap_seconds, start/end (µs bounds as ISO times),
    spend_days, notes, timezone, engine.
    """

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["meta"] = jsonable(self.meta)
        return out

    @property
    def groups(self):
        return self.tables.get("groups")
