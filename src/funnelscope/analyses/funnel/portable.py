"""The portable funnel: one Ibis window-function expression that runs on any SQL engine.

Ordered mode with a global window (per-step filters, repeated events and ``first_time``
included): ClickHouse's windowFunnel recurrence written as k-1 window passes, each over only
the rows it needs. Definitions (event order as in docs/funnels.md):

* ``s_j(e)``, for an event e matching step j, is the latest ``ts(e1)`` over chains
  e1 < ... < e_{j-1} < e; ``s_1(e) = ts(e)``. Step j is reached at e when
  ``ts(e) - s_j(e) <= window``; an entity's level is the largest such j (entities with a
  step-1 event have level >= 1).
* ``reached_1``: every step-1 event with ``s = ts``, or with ``first_time`` only the entity's
  first one. ``reached_j``: the step-j events with a valid ``s_j`` (not null, within window).
* Pass j (j = 2..k) is one window, partitioned by entity, over the union of predecessor rows
  (``reached_{j-1}``, carrying ``s``) and candidate rows (the events matching step j, ``s``
  null): for each candidate ``s_j`` = max of ``s`` over the rows up to it (``ROWS BETWEEN
  UNBOUNDED PRECEDING AND CURRENT ROW``; its own ``s`` is null). The valid candidates are
  ``reached_j``. Dropping invalid rows never changes a later answer: a later event is at
  least as far from ``s``, and a valid answer always comes from a valid predecessor.
* Order inside a pass, distinct step names (an event matches at most one step): by
  ``(ts, role)``, predecessors first. A chain then only needs non-decreasing times (at equal
  times step j-1 sorts before step j), no event is both predecessor and candidate, and rows
  of one role that tie are interchangeable (all predecessors up to the candidate's time
  count, candidates carry nothing), so no further key is needed.
* Order inside a pass, repeated step names (an event may match several steps: view -> view
  -> pay, or filters): ``n`` = the event's position in the entity's order ``(ts, rank,
  mask)``, one ``row_number`` computed before the passes, so every pass uses the same strict
  total order. A pass orders by ``(n, role)``, candidates first: a candidate sees exactly
  the predecessors with a smaller ``n``, never its own predecessor row, so chains strictly
  increase and one event never fills two steps. Events with equal ``(ts, rank, mask)`` are
  interchangeable (same time, same steps), so the order ``row_number`` gives them (the
  docs' event_id tiebreak) never changes a level, and no event_id is needed; an engine that
  re-evaluates ``row_number`` in each reader only permutes identical rows.
* Pruning that never changes a result: predecessors of pass 2 (all step-1 events) are kept
  only when the entity has a step-2 event at or after them and at most ``window`` after
  their start (per-entity min/max of step-2 times); candidates of passes 3..k only for
  entities in ``reached_{j-1}``; only events named by a step are read.

``FunnelSpec.to_sql`` prints it and the tests hold it equal to the brute-force oracle; the
kernel remains the engine's default path (it also handles strict/any modes, exclusions,
``within`` and the reported path's times).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ibis

from funnelscope.analyses.funnel.matching import step_events
from funnelscope.analyses.funnel.spec import FunnelSpec
from funnelscope.errors import BackendNotSupported

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import WorkspaceBase as Workspace


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
    window = spec.window_us
    names = sorted({s.event for s in spec.steps})
    ev = step_events(_StepNamesOnly(ws, names), spec, all_events=True)
    if any(s.where for s in spec.steps):
        ev = ev.filter(ev.mask != 0)
    if len(names) == k:
        # distinct step names: an event matches at most one step
        ev = ev.select("entity", "ts_us", "mask")
        cols, order = ("ts_us",), "ts_us"
        pred_role, cand_role = 0, 1
    else:
        rank = ibis.cases(*[((ev.mask & (1 << j)) != 0, j) for j in range(k)], else_=k)
        n = ibis.row_number().over(group_by=ev.entity, order_by=[ev.ts_us, rank, ev.mask])
        ev = ev.select("entity", "ts_us", "mask", n=n)
        cols, order = ("ts_us", "n"), "n"
        pred_role, cand_role = 1, 0
    # one shared table (a CTE) read by every pass: without this no-op barrier Ibis would
    # inline the step-event query into each reader
    ev = ev.limit(None)
    prole, crole = ibis.literal(pred_role, "int8"), ibis.literal(cand_role, "int8")
    no_s = ibis.null("int64")

    step1 = ev.filter((ev.mask & 1) != 0)
    levels = [step1.select("entity", level=ibis.literal(1, "int8"))]
    if spec.first_time:
        step1 = step1.group_by("entity").agg(**{c: step1[c].min() for c in cols})
    reached = step1.select("entity", *cols, s=step1.ts_us)
    for j in range(2, k + 1):
        is_j = (ev.mask & (1 << (j - 1))) != 0
        if j == 2 and not spec.first_time:
            # every step-1 event is a predecessor: keep those with a step-2 event of the
            # entity at or after them and at most `window` after their start
            c2 = ev.filter(is_j)
            bounds = c2.group_by("entity").agg(lo=c2.ts_us.min(), hi=c2.ts_us.max())
            jn = reached.join(bounds, "entity")
            pred = jn.filter(jn.ts_us <= jn.hi, jn.s >= jn.lo - window).select(
                "entity", *cols, "s", role=prole)
            cand = ev.filter(is_j)
        else:
            pred = reached.select("entity", *cols, "s", role=prole)
            cand = ev.filter(is_j, ev.entity.isin(reached.entity)) if j > 2 else ev.filter(is_j)
        rows = pred.union(cand.select("entity", *cols, s=no_s, role=crole), distinct=False)
        # the candidate's own row has a null s, so the frame may include it
        w = ibis.window(group_by=rows.entity, order_by=[rows[order], rows.role], rows=(None, 0))
        rows = rows.select("entity", *cols, "role", prev=rows.s.max().over(w))
        rows = rows.filter(rows.role == cand_role, rows.prev.notnull(),
                           rows.ts_us - rows.prev <= window)
        # limit(None) again only keeps Ibis from re-merging the selects below (compile time)
        reached = rows.select("entity", *cols, s=rows.prev).limit(None)
        levels.append(reached.select("entity", level=ibis.literal(j, "int8")))
    both = ibis.union(*levels, distinct=False) if k > 1 else levels[0]
    out = both.group_by("entity").agg(level=both.level.max())
    # `ev.count() >= 0` is always true. It gives the shared table one reader that takes all of
    # it; when every reader filters, DuckDB pushes the OR of their filters into the shared
    # table and evaluates it on every row (5-10 % of the time at 10M events).
    return out.filter(out.level >= 1, ev.count() >= 0)


class _StepNamesOnly:
    """A workspace whose ``events`` are only the events named by a step (what the funnel reads).

    Other events match no step, and the portable expression covers no mode that needs them.
    Filtering on the name first lets the engine skip them before any step predicate.
    """

    def __init__(self, ws: Any, names: list[str]) -> None:
        self._ws = ws
        view = getattr(ws, "in_place", {}).get("events")
        if view is None:
            events = ws.events
            self.events = events.filter(events.event.isin(names))
            return
        # a file in place: its view drops rows lacking user_id, event or ts; the name filter
        # already implies an event, so read the view's projection and test the other two
        # (the view's `event IS NOT NULL` is on the trimmed name: ~0.04 s per 10M events)
        events = ws.backend.sql(view.unfiltered)
        self.events = events.filter(events.event.isin(names), events.user_id.notnull(),
                                    events.ts.notnull())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


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
