"""Which events fill which steps: Ibis predicates and the per-event step bitmask.

``step_events(ws, spec)`` is the one place a funnel touches the events table: it applies the
time range and ``where``, then gives every event its entity, its time in µs, ``mask`` (bit j-1
set when it matches step j), ``excl`` (bit i set when it matches exclusion i) and ``by_value``.
Property names and values reach the engine only as Ibis column references and literals.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import TYPE_CHECKING, Any

import ibis

from funnelscope.analyses.funnel.spec import FunnelSpec, instant_us
from funnelscope.engine.timezones import epoch_us
from funnelscope.errors import SpecError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import WorkspaceBase as Workspace

_OPS = {
    "=": operator.eq, "==": operator.eq, "!=": operator.ne, ">": operator.gt,
    ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}


def condition(t: ir.Table, conds: tuple, what: str) -> ir.BooleanValue:
    """AND of property conditions ``(name, op, value)`` on table ``t``."""
    preds = []
    for name, op, value in conds:
        if name not in t.columns:
            props = [c for c in t.columns if c not in ("event_id", "user_id", "event", "ts")]
            raise SpecError(
                f"{what}: the events have no property {name!r}.",
                hint=f"Properties available: {', '.join(props) or 'none'}.",
            )
        col = t[name]
        if op in _OPS:
            preds.append(_OPS[op](col, value))
        elif op == "in":
            preds.append(col.isin(list(value)))
        elif op == "not in":
            preds.append(~col.isin(list(value)))
        elif op == "contains":
            preds.append(col.cast("string").contains(str(value)))
        elif op == "is null":
            preds.append(col.isnull())
        elif op == "is not null":
            preds.append(col.notnull())
    return reduce(operator.and_, preds, ibis.literal(True))


def step_events(ws: Workspace, spec: FunnelSpec, *, all_events: bool | None = None) -> ir.Table:
    """Events relevant to ``spec`` with columns entity, ts, ts_us, mask, excl, event_id, by_value.

    Non-step events are kept only in strict mode (they can break a path) unless ``all_events``.
    """
    t = filtered_events(ws, spec)
    ent = spec.entity_column
    step_preds = [
        (t.event == s.event) & condition(t, s.where, f"step {i} ({s.event})")
        for i, s in enumerate(spec.steps, 1)
    ]
    if all(not s.where for s in spec.steps) and len({s.event for s in spec.steps}) == len(spec.steps):
        # plain, distinct names: an event matches at most one step, so one CASE is the sum
        mask = ibis.cases(*[(p, 1 << i) for i, p in enumerate(step_preds)], else_=0)
    else:
        mask = reduce(operator.add, [p.ifelse(1 << i, 0) for i, p in enumerate(step_preds)])
    excl_preds = [
        (t.event == e.event) & condition(t, e.where, f"exclusion {e.event!r}")
        for e in spec.exclude
    ]
    excl = (reduce(operator.add, [p.ifelse(1 << i, 0) for i, p in enumerate(excl_preds)])
            if excl_preds else ibis.literal(0))
    by_value: Any = ibis.null().cast("string")
    if spec.by and spec.by in t.columns:
        by_value = t[spec.by].cast("string")
    out = t.select(
        entity=t[ent], ts=t.ts, ts_us=epoch_us(ws, t.ts), mask=mask.cast("int64"),
        excl=excl.cast("int64"), event_id=t.event_id if "event_id" in t.columns else ibis.null().cast("string"),
        by_value=by_value,
    )
    keep_all = spec.mode == "strict" if all_events is None else all_events
    if not keep_all:
        out = out.filter((out.mask != 0) | (out.excl != 0))
    return out


def filtered_events(ws: Workspace, spec: FunnelSpec) -> ir.Table:
    """The events the funnel analyses: entity present, within start/end, passing ``where``."""
    t = ws.events
    ent = spec.entity_column
    if ent not in t.columns:
        raise SpecError(
            "entity='account' needs an account_id column in the events table.",
            hint="Load events with --map account_id=<your column>.",
        )
    filters = [t[ent].notnull()]
    if spec.start:
        filters.append(t.ts >= _instant(ws, spec.start))
    if spec.end:
        filters.append(t.ts < _instant(ws, spec.end))
    if spec.where:
        filters.append(condition(t, spec.where, "where"))
    return t.filter(*filters)


def data_bounds(ws: Workspace, spec: FunnelSpec) -> tuple[int | None, int | None]:
    """First and last event time (µs) of the analysed events: the default censoring end."""
    t = filtered_events(ws, spec)
    row = t.agg(lo=epoch_us(ws, t.ts.min()), hi=epoch_us(ws, t.ts.max())).to_pyarrow()
    lo, hi = row["lo"][0].as_py(), row["hi"][0].as_py()
    return lo, hi


def bound_us(ws: Workspace, value: str) -> int:
    """A start/end bound as µs since the epoch; a date or naive time is in the reporting zone."""
    return instant_us(value, ws.config.timezone)


def _instant(ws: Workspace, value: str) -> ir.TimestampValue:
    """A start/end bound as a timestamp literal of the engine's canonical type."""
    from datetime import UTC, datetime, timedelta

    ts = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=bound_us(ws, value))
    if ws.engine == "duckdb":
        return ibis.literal(ts, type="timestamp('UTC')")
    return ibis.literal(ts.replace(tzinfo=None), type="timestamp")
