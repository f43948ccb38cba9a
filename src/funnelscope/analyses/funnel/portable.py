"""The portable funnel: one Ibis window-function expression that runs on any SQL engine.

Ordered mode with a global window (per-step filters, repeated events and ``first_time``
included): for each step j, every event matching step j carries ``start_j`` = the latest
first-step time over chains reaching step j-1 at an earlier event (a running max over the
preceding rows), and step j is reached when ``ts - start_j <= window``. Rows are ordered by
(ts, rank, mask, event_id) exactly as docs/funnels.md defines, so ties resolve the same way
everywhere. This is ClickHouse's windowFunnel recurrence written as k window passes.

It is used for ``FunnelSpec.to_sql`` and held equal to the kernel in the tests; the kernel
remains the engine's default path (it also handles strict/any modes, exclusions, ``within``
and the reported path's times).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from funnelscope.analyses.funnel.matching import step_events
from funnelscope.analyses.funnel.spec import FunnelSpec
from funnelscope.errors import BackendNotSupported

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import Workspace


def supports(spec: FunnelSpec) -> bool:
    """True when the portable expression covers ``spec``."""
    return (spec.mode == "ordered" and not spec.exclude and spec.count == "uniques"
            and not any(s.within_us is not None for s in spec.steps))


def portable_levels(ws: Workspace, spec: FunnelSpec) -> ir.Table:
    """Ibis expression: one row per entity that has a first-step event, with its ``level``."""
    if not supports(spec):
        raise BackendNotSupported(
            "the portable funnel expression covers ordered, uniques funnels without "
            "exclusions or per-step `within`; this spec runs on the kernel path."
        )
    k = len(spec.steps)
    ev = step_events(ws, spec, all_events=False)
    ev = ev.filter(ev.mask != 0)
    rank = ibis.cases(*[((ev.mask & (1 << j)) != 0, j) for j in range(k)], else_=k)
    ev = ev.mutate(rank=rank, event_key=ev.event_id.cast("string").fill_null(""))
    order = [ev.ts_us, ev.rank, ev.mask, ev.event_key]
    is_first = (ev.mask & 1) != 0
    if spec.first_time:
        nth = ibis.row_number().over(group_by=[ev.entity, is_first], order_by=order)
        start = ibis.ifelse(is_first & (nth == 0), ev.ts_us, ibis.null("int64"))
    else:
        start = ibis.ifelse(is_first, ev.ts_us, ibis.null("int64"))
    ev = ev.mutate(s1=start)
    for j in range(2, k + 1):
        w = ibis.window(group_by=ev.entity, order_by=[ev.ts_us, ev.rank, ev.mask, ev.event_key],
                        rows=(None, -1))
        prev = ev[f"s{j - 1}"].max().over(w)
        ev = ev.mutate(**{f"s{j}": ibis.ifelse((ev.mask & (1 << (j - 1))) != 0, prev,
                                               ibis.null("int64"))})
    reached = [
        ibis.ifelse(ev[f"s{j}"].notnull() & ((ev.ts_us - ev[f"s{j}"]) <= spec.window_us), j, 0)
        for j in range(1, k + 1)
    ]
    ev = ev.mutate(lvl=ibis.greatest(*reached) if k > 1 else reached[0])
    out = ev.group_by("entity").agg(level=ev.lvl.max())
    return out.filter(out.level >= 1)


def to_sql(ws: Workspace, spec: FunnelSpec, dialect: str | None = None) -> str:
    """SQL text of the portable expression for ``spec`` (``dialect`` defaults to the engine)."""
    return ibis.to_sql(portable_levels(ws, spec), dialect=dialect or ws.engine)


class _SchemaOnly:
    """Stands in for a workspace when compiling with no data: an unbound ``events`` table."""

    def __init__(self, spec: FunnelSpec, dialect: str) -> None:
        from funnelscope.engine.config import WorkspaceConfig

        self.engine = "pyspark" if dialect in ("spark", "pyspark") else "duckdb"
        self.config = WorkspaceConfig()
        ts_type = "timestamp('UTC')" if self.engine == "duckdb" else "timestamp"
        columns = {"event_id": "string", "user_id": "string", "event": "string", "ts": ts_type,
                   "account_id": "string"}
        conds = list(spec.where) + [c for s in spec.steps for c in s.where]
        conds += [c for e in spec.exclude for c in e.where]
        for name, _, value in conds:
            sample = value[0] if isinstance(value, tuple) and value else value
            columns.setdefault(name, _ibis_type(sample))
        if spec.by:
            columns.setdefault(spec.by, "string")
        self.events = ibis.table(columns, name="events")


def _ibis_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string"


def spec_sql(spec: FunnelSpec, dialect: str = "duckdb") -> str:
    """SQL of the portable expression with no data: property types follow the filter values.

    ``dialect``: any Ibis SQL dialect (duckdb, pyspark or spark, postgres, clickhouse, ...).
    """
    dialect = "pyspark" if dialect == "spark" else dialect
    return ibis.to_sql(portable_levels(_SchemaOnly(spec, dialect), spec), dialect=dialect)
