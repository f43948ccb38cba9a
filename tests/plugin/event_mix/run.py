"""Run the event mix in the engine (one small aggregate, never the event table in Python)."""

from __future__ import annotations

import pandas as pd

from funnelscope.sqlsafe import ident

from .result import EventMixResult
from .spec import EventMixSpec


def event_mix(ws, top: int = 10) -> EventMixResult:
    """Users per event name and their share of all users, most users first."""
    spec = EventMixSpec(top=top)
    con = ws.duckdb
    total = con.execute(f"SELECT count(DISTINCT user_id) FROM {ident('events')}").fetchone()[0]  # noqa: S608
    rows = con.execute(
        f"SELECT event, count(DISTINCT user_id) AS users FROM {ident('events')} "  # noqa: S608
        "GROUP BY event ORDER BY users DESC, event LIMIT ?", [spec.top]).fetchall()
    table = pd.DataFrame(rows, columns=["event", "users"])
    table["share"] = table["users"] / total if total else None
    return EventMixResult(spec=spec, tables={"events": table}, meta={"users": int(total)})
