"""The paths Result: paths, transitions, sessions, time on step (docs/journeys.md)."""

from __future__ import annotations

from typing import Any

from funnelscope.analyses.result import Result, jsonable

PATH_COLUMNS = ["path", "users", "share"]
TRANSITION_COLUMNS = ["depth", "from", "to", "users", "transitions", "share"]


class PathsResult(Result):
    """Tables:

    * ``paths``: path (list of event names; ``(end)`` / ``(start)`` mark a path shorter than
      the depth), users, share (= users / anchored users); the top N, then one row
      ``["(other)"]`` summing the rest (``meta["other_paths"]`` distinct paths).
    * ``transitions``: depth, from, to, users, transitions, share. From the paths: depth d is
      the pair d steps from the anchor, users = transitions = users with that pair there,
      share = of the users at ``from`` at that depth. With ``matrix``: depth is null, every
      consecutive pair of the anchored users' whole logs, transitions = pairs, users =
      distinct users, share = transitions / all transitions out of ``from`` (the first-order
      transition probability).
    * ``sessions``: one row: sessions, users, sessions per user, median / mean session
      length (seconds), median / mean events per session, mean pages (distinct events) per
      session, bounces and bounce rate (one-event sessions), the gap in seconds.
    * ``time_on_step``: per event: events, timed (a next event in the same session), exits,
      exit rate, median / mean seconds to the next event in the session.

    ``meta``: mode, direction, users, anchored users, distinct and folded paths, the funnel
    split (dropped/converted), engine, time zone, elapsed seconds.
    """

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["meta"] = jsonable(self.meta)
        return out

    @property
    def paths(self):
        return self.tables["paths"]

    @property
    def transitions(self):
        return self.tables["transitions"]
