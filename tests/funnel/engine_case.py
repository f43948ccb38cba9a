"""Translate oracle cases (OEvent / OStep / OExclusion) into workspace loads and funnel specs."""

from __future__ import annotations

import pandas as pd

import funnelscope as fs

from .oracle import OEvent


def events_frame(events: list[OEvent]) -> pd.DataFrame:
    rows = []
    for e in events:
        rows.append({
            "event_id": e.event_id, "user_id": e.entity, "event": e.event,
            "ts": pd.Timestamp(e.ts, unit="us", tz="UTC"),
            "amount": e.props.get("amount"), "channel": e.props.get("channel"),
        })
    frame = pd.DataFrame(rows, columns=["event_id", "user_id", "event", "ts", "amount", "channel"])
    frame["amount"] = frame["amount"].astype("Int64")
    frame["channel"] = frame["channel"].astype("string")
    return frame


def where_of(pred) -> dict | None:
    if pred is None:
        return None
    return {pred.key: ("=" if pred.op == "==" else pred.op, pred.value)}


def spec_args(steps, exclude) -> tuple[list, list]:
    fsteps = [
        fs.step(s.event, where=where_of(s.where),
                within=None if s.within_us is None else f"{s.within_us}us")
        for s in steps
    ]
    fexcl = [fs.exclusion(x.event, (x.from_step, x.to_step), where=where_of(x.where)) for x in exclude]
    return fsteps, fexcl


def workspace_with(events: list[OEvent], backend_factory=None, backend: str = "duckdb"):
    frame = events_frame(events)
    if backend_factory is not None:
        return backend_factory({"events": frame}, backend=backend)
    ws = fs.connect()
    if len(frame):
        ws.load(frame, "events")
    return ws


def engine_levels(result) -> dict[str, int]:
    """entity id -> level from a FunnelResult's entries (uniques)."""
    from funnelscope.analyses.funnel.run import entity_ids

    entries = result.entries
    ids = entity_ids(result.workspace, result.spec, entries["entity"].to_numpy(), result.meta)
    return {i: int(lv) for i, lv in zip(ids, entries["level"].to_numpy(), strict=True) if lv >= 1}
