"""Event funnels: ordered / strict / any-order conversion with windows (docs/funnels.md)."""

from funnelscope.analyses.funnel.spec import Exclusion, FunnelSpec, Step, exclusion, make_spec, step

__all__ = ["Exclusion", "FunnelSpec", "Step", "exclusion", "funnel", "make_spec", "step"]


def funnel(ws, steps, window="7d", mode="ordered", by=None, entity="user", count="uniques",
           exclude=None, where=None, period=None, start=None, end=None, first_time=False,
           censor=True, top_groups=20, compare=None, compare_by=None):
    """Conversion funnel over ``steps`` within ``window``: a :class:`FunnelResult`.

    steps: event names or ``fs.step(event, where=..., within=...)``. mode: ordered | strict |
    any. by: a property of the first step's event, a customers column or a saved segment.
    entity: user | account. count: uniques | totals. exclude: events that disqualify a path
    (``"refund"`` or ``("refund", 2, 3)``). where: property filters on every step. period:
    day | week | month trend by entry. start, end: event time bounds (reporting time zone).
    first_time: only each entity's first first-step event starts. censor: entities whose
    window is still open are "still converting", not dropped. top_groups: breakdown groups
    kept before the rest fold into "other". compare: ``"period:2026-01-01..2026-01-31,
    2026-02-01..2026-02-28"`` (entry days, both inclusive) or ``"before:2026-03-01"``;
    compare_by: a column ``by`` accepts. Either returns a :class:`FunnelComparison` (each
    funnel against the first). Exact semantics: docs/funnels.md.

    >>> ws.funnel(["view", "add_to_cart", "checkout", "pay"], window="7d", by="channel")
    """
    from funnelscope.analyses.funnel.run import run

    spec = make_spec(steps, window, mode=mode, by=by, entity=entity, count=count,
                     exclude=exclude, where=where, period=period, start=start, end=end,
                     first_time=first_time, censor=censor, top_groups=top_groups)
    if compare or compare_by:
        from funnelscope.analyses.funnel.compare import compare_funnels

        return compare_funnels(ws, spec, compare, compare_by)
    return run(ws, spec)
