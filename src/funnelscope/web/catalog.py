"""What the funnel builder offers: the workspace's event names and the columns to break down by.

Small aggregates computed in the engine (one row per event name), never the event table.
"""

from __future__ import annotations

from typing import Any

from funnelscope.data.schema import get_schema

MAX_EVENTS = 500


def events(ws: Any) -> list[dict[str, Any]]:
    """Event names with their users and events, most users first (at most 500)."""
    if not ws.has_table("events"):
        return []
    import ibis

    t = ws.events
    expr = (t.group_by("event").aggregate(users=t.user_id.nunique(), events=t.count())
            .order_by([ibis.desc("users"), "event"]).limit(MAX_EVENTS))
    df = expr.execute()
    return [{"event": str(r.event), "users": int(r.users), "events": int(r.events)}
            for r in df.itertuples(index=False)]


def breakdowns(ws: Any, definitions: Any = None) -> list[dict[str, str]]:
    """Columns a funnel can be broken down by: event properties, customers and saved segments
    columns, and the ``column`` segments of funnelscope.yml."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()

    def add(name: str, source: str) -> None:
        if name not in seen:
            seen.add(name)
            out.append({"name": name, "source": source})

    if ws.has_table("events"):
        canonical = {c.name for c in get_schema("events").columns}
        for c in ws.events.columns:
            if c not in canonical:
                add(c, "event")
    for table in ("customers", "segments"):
        if ws.has_table(table):
            for c in ws.table(table).columns:
                if c not in ("user_id", "first_seen"):
                    add(c, table)
    if definitions is not None:
        for name, seg in definitions.segments.items():
            if seg.kind == "column":
                add(name, "definitions")
    return out
