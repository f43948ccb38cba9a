"""Readable fixtures: journeys as ``{user: [(event, "YYYY-MM-DD HH:MM"), ...]}`` in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def events_frame(journeys: dict) -> pd.DataFrame:
    """One row per event: user_id, event, ts (naive UTC text), plus any property dict values."""
    rows = []
    for user, evs in journeys.items():
        for item in evs:
            event, ts = item[0], item[1]
            props = item[2] if len(item) > 2 else {}
            rows.append({"user_id": user, "event": event, "ts": ts, **props})
    return pd.DataFrame(rows)


def event_tuples(journeys: dict) -> list[tuple]:
    """(user, event, aware UTC datetime) for the oracle."""
    return [(u, item[0], utc(item[1])) for u, evs in journeys.items() for item in evs]


def load_events(make_workspace, journeys: dict, tz: str = "UTC", backend: str = "duckdb",
                customers: pd.DataFrame | None = None, orders: pd.DataFrame | None = None,
                **more):
    """A workspace with ``journeys`` as events (times read as UTC), reporting zone ``tz``."""
    tables = {"events": events_frame(journeys)}
    if customers is not None:
        tables["customers"] = customers
    if orders is not None:
        tables["orders"] = orders
    tables.update(more)
    kwargs = {name: {"tz": "UTC"} for name in tables}
    return make_workspace(tables, backend=backend, tz=tz, **kwargs)


def fresh_workspace(journeys: dict, tz: str = "UTC"):
    """In-memory DuckDB workspace for hypothesis examples: the events table is created directly
    with the canonical types (the load path is exercised by the ``make_workspace`` tests)."""
    import pyarrow as pa

    import funnelscope as fs

    rows = event_tuples(journeys)
    ws = fs.connect(tz=tz)
    ws.backend.create_table("events", pa.table({
        "event_id": pa.array([str(i) for i in range(len(rows))]),
        "user_id": pa.array([r[0] for r in rows], pa.string()),
        "event": pa.array([r[1] for r in rows], pa.string()),
        "ts": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
    }))
    return ws
