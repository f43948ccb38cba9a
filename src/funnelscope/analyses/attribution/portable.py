"""Journeys as Ibis expressions: the relations of :mod:`.journeys` on any engine (PySpark, and
DuckDB through Ibis).

Same semantics as the SQL text of :mod:`.journeys` (held equal by
``tests/attribution/test_spark_backends.py``), with one difference in how a touch finds its
conversion: PySpark has no ASOF join, so "the user's first conversion at or after the touch"
is a forward-looking window: touches and conversion instants of a user are stacked in one
relation ordered by (time, touches before conversions), and each touch takes the minimum
conversion instant from its own row to the user's last (``ROWS BETWEEN CURRENT ROW AND
UNBOUNDED FOLLOWING``). A conversion at the touch's own instant sorts after it, so it counts
("at or after"). Times are µs since the epoch (int64) throughout.

Only aggregates come back to Python: one totals row, one credit row per channel and one row
per distinct path (the Markov chain's input); the events never do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ibis

from funnelscope.analyses.attribution.heuristics import FIRST, HEURISTICS, LAST, MIDDLE
from funnelscope.engine.timezones import epoch_us

if TYPE_CHECKING:
    from funnelscope.analyses.attribution.spec import AttributionSpec

#: What the value of one conversion row is read from (run.py's ``_value_sql`` decides).
VALUE_SOURCES = ("none", "amount", "orders", "amount_or_orders")


def _conv_rows(ws: Any, spec: AttributionSpec, value_source: str) -> Any:
    """``user_id, t, value`` per conversion event row (value NULL when it has none)."""
    e = ws.events
    e = e.filter(e.event.isin(list(spec.conversion_events)), e.user_id.notnull(), e.ts.notnull())
    if value_source in ("orders", "amount_or_orders"):
        o = ws.table("orders")
        o = o.filter(o.order_id.notnull())
        o = o.group_by(oid=o.order_id.cast("string")).agg(order_amount=o.amount.sum())
        e = e.left_join(o, e.order_id.cast("string") == o.oid)
    if value_source == "none":
        value = ibis.null("float64")
    elif value_source == "amount":
        value = e.amount.cast("float64")
    elif value_source == "orders":
        value = e.order_amount.cast("float64")
    else:
        value = ibis.coalesce(e.amount.cast("float64"), e.order_amount.cast("float64"))
    return e.select(user_id=e.user_id, t=epoch_us(ws, e.ts), value=value)


def conversions(ws: Any, spec: AttributionSpec, value_source: str) -> Any:
    """``user_id, conv_t, conversions, value, valued``: one row per (user, conversion
    instant); with ``first_conversion`` only the user's earliest instant."""
    r = _conv_rows(ws, spec, value_source)
    c = r.group_by(["user_id", r.t.name("conv_t")]).agg(
        conversions=r.count(), value=r.value.sum().fill_null(0.0), valued=r.value.count())
    if spec.first_conversion:
        first = c.conv_t.min().over(group_by=c.user_id)
        c = c.mutate(first_t=first).filter(lambda t: t.conv_t == t.first_t).drop("first_t")
    return c


def journey_touches(ws: Any, spec: AttributionSpec, conv: Any) -> Any:
    """``jt``: one row per touch in a journey: ``user_id, conv_t`` (NULL: the journey ends in
    null), ``t, channel, conversions, value``."""
    e = ws.events
    ch = e[spec.channel_column]
    kind = (e.event.isin(list(spec.touch_events)) if spec.touch_events
            else e.event.notin(list(spec.conversion_events)))
    touch = e.filter(kind, ch.notnull(), e.user_id.notnull(), e.ts.notnull())
    touch = touch.select(user_id=touch.user_id, t=epoch_us(ws, touch.ts),
                         channel=touch[spec.channel_column].cast("string"),
                         is_conv=ibis.literal(0, "int8"), ct=ibis.null("int64"))
    cv = conv.select(user_id=conv.user_id, t=conv.conv_t, channel=ibis.null("string"),
                     is_conv=ibis.literal(1, "int8"), ct=conv.conv_t.cast("int64"))
    both = touch.union(cv, distinct=False)
    ahead = ibis.window(group_by=both.user_id, order_by=[both.t, both.is_conv],
                        preceding=0, following=None)
    m = both.mutate(conv_t=both.ct.min().over(ahead)).filter(lambda t: t.is_conv == 0)
    cj = conv.select(cu=conv.user_id, cc=conv.conv_t, conversions=conv.conversions,
                     value=conv.value)
    m = m.left_join(cj, (m.user_id == cj.cu) & (m.conv_t == cj.cc))
    m = m.select("user_id", "t", "channel", "conv_t", "conversions", "value")
    if spec.first_conversion:  # touches after the first conversion belong to no journey
        converted = conv.select(uc=conv.user_id).distinct()
        m = m.left_join(converted, m.user_id == converted.uc)
        m = m.filter(m.conv_t.notnull() | m.uc.isnull()).drop("uc")
    end_t = m.t.max().over(group_by=[m.user_id, m.conv_t])
    m = m.mutate(end_t=end_t)
    m = m.filter(ibis.coalesce(m.conv_t, m.end_t) - m.t <= int(spec.lookback_us))
    return m.select(user_id=m.user_id, conv_t=m.conv_t, t=m.t, channel=m.channel,
                    conversions=m.conversions.fill_null(0), value=m.value.fill_null(0.0))


def _shares(n: Any, pos: Any, w: Any, wsum: Any) -> dict[str, Any]:
    """Each touch's share under the heuristic models (:func:`.heuristics.share_sql`)."""
    return {
        "first_touch": ibis.ifelse(pos == 1, 1.0, 0.0),
        "last_touch": ibis.ifelse(pos == n, 1.0, 0.0),
        "linear": 1.0 / n,
        "time_decay": w / wsum,
        "position": ibis.cases((n == 1, 1.0), (n == 2, 0.5), (pos == 1, FIRST), (pos == n, LAST),
                               else_=MIDDLE / (n - 2)),
    }


def totals(conv: Any) -> tuple[int, float, int]:
    """(conversions, their value, conversion rows without a value)."""
    r = conv.agg(c=conv.conversions.sum(), v=conv.value.sum(),
                 nv=(conv.conversions - conv.valued).sum()).to_pyarrow().to_pylist()[0]
    return int(r["c"] or 0), float(r["v"] or 0.0), int(r["nv"] or 0)


def credit(jt: Any, spec: AttributionSpec) -> dict[str, tuple]:
    """Per channel: conversions credited by each heuristic model, then value credited."""
    j = jt.filter(jt.conv_t.notnull())
    journey = [j.user_id, j.conv_t]
    whole = ibis.window(group_by=journey)
    half_life = float(spec.half_life_us)
    j = j.mutate(n=j.count().over(whole),
                 pos=ibis.row_number().over(group_by=journey, order_by=[j.t, j.channel]) + 1,
                 w=ibis.literal(2.0) ** (-(j.t.max().over(whole) - j.t) / half_life))
    j = j.mutate(w_sum=j.w.sum().over(ibis.window(group_by=[j.user_id, j.conv_t])))
    shares = _shares(j.n, j.pos, j.w, j.w_sum)
    agg = {m: (j.conversions * shares[m]).sum() for m in HEURISTICS}
    agg.update({f"{m}_value": (j.value * shares[m]).sum() for m in HEURISTICS})
    rows = j.group_by("channel").agg(**agg).order_by("channel").to_pyarrow().to_pylist()
    names = [*HEURISTICS, *(f"{m}_value" for m in HEURISTICS)]
    return {r["channel"]: tuple(r[k] for k in names) for r in rows}


def paths(jt: Any) -> list[tuple]:
    """Distinct paths: ``(path, conversions, nulls, value, journeys)`` sorted by path; the
    path lists a journey's channels by time, ties by channel."""
    ranked = jt.mutate(pos=ibis.row_number().over(group_by=[jt.user_id, jt.conv_t],
                                                  order_by=[jt.t, jt.channel]))
    g = ranked.group_by(["user_id", "conv_t"]).agg(
        steps=ibis.struct({"pos": ranked.pos, "channel": ranked.channel}).collect(),
        conversions=ranked.conversions.max(), value=ranked.value.max())
    g = g.mutate(path=g.steps.sort().map(lambda s: s.channel))
    out = g.group_by("path").agg(conversions=g.conversions.sum(),
                                 nulls=g.count(where=g.conv_t.isnull()),
                                 value=g.value.sum(), journeys=g.count())
    rows = out.to_pyarrow().to_pylist()
    got = [(tuple(r["path"]), int(r["conversions"] or 0), int(r["nulls"] or 0),
            float(r["value"] or 0.0), int(r["journeys"])) for r in rows]
    return sorted(got)
