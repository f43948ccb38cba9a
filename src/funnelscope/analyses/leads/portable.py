"""The lead-scoring feature table as Ibis expressions: :mod:`.features` on any engine
(PySpark, and DuckDB through Ibis).

Same table, same semantics as the SQL text of :func:`.features.features_sql` (held equal by
``tests/leads/test_spark_backends.py``): one row per eligible entity ``u`` and cut-off index
``k``, ordered by (k, u), with ``f_0..`` (the features, :attr:`.features.FeaturePlan.names`
order), ``y`` (the label), ``r_0..`` (per event rule: its matching events in its window),
``a_0..`` (per column rule: whether it holds) and ``cart_recent``. Sessions (a gap of more
than 30 minutes starts a new one, docs/journeys.md) are window functions here: per (k, u) in
(t, event) order, a session starts at the first event and at each event more than
``SESSION_GAP_US`` after the previous one.

Everything is aggregated in the engine; only the per-entity × cut-off table (and the
customers columns' most frequent values) come back to Python, never the events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ibis

from funnelscope.analyses.leads.features import NOT_ATTRIBUTES, FeaturePlan
from funnelscope.analyses.leads.spec import (
    CART_DAYS,
    CART_EVENT,
    COUNT_WINDOWS,
    DAY_US,
    SESSION_GAP_US,
)
from funnelscope.engine.timezones import epoch_us, local_time
from funnelscope.errors import SpecError

if TYPE_CHECKING:
    from funnelscope.analyses.leads.spec import LeadsSpec

#: Engines this module runs on (DuckDB runs the SQL text of :mod:`.features` by default).
ENGINES = ("duckdb", "pyspark")


def check_engine(ws: Any) -> None:
    """SpecError unless ``ws`` runs on DuckDB or PySpark."""
    if ws.engine not in ENGINES:
        raise SpecError(f"leads are not implemented on the {ws.engine} engine; they run on "
                        "DuckDB and PySpark.", hint="Open the data with fs.connect(path) "
                        "(DuckDB) or fs.connect(spark_session).")


def _events(ws: Any, spec: LeadsSpec) -> Any:
    """``u, e, t`` (µs), ``d`` (calendar day in the reporting time zone) of the events with an
    entity, a name and a time."""
    t = ws.events
    ent = t[spec.entity_column]
    t = t.filter(ent.notnull(), t.event.notnull(), t.ts.notnull())
    return t.select(u=t[spec.entity_column], e=t.event, t=epoch_us(ws, t.ts),
                    d=local_time(ws, t.ts).date())


def bounds(ws: Any, spec: LeadsSpec) -> tuple[int, int]:
    """(first, last) event time in µs since the epoch."""
    ev = _events(ws, spec)
    row = ev.agg(lo=ev.t.min(), hi=ev.t.max()).to_pyarrow().to_pylist()[0]
    return row["lo"], row["hi"]


def plan(ws: Any, spec: LeadsSpec, known: dict[str, int]) -> FeaturePlan:
    """:func:`.features.plan` on any engine: the counted events, the steps and the one-hot
    attributes (the ``top_values`` most frequent values of each text / boolean customers
    column, as text, ties to the smallest)."""
    events = tuple([e for e in known if e != spec.target_event][:spec.top_events])
    attributes: list[tuple[str, str]] = []
    columns: list[str] = []
    if (spec.top_values and ws.has_table("customers")
            and spec.entity_column in ws.columns("customers")):
        cust = ws.table("customers")
        for name, typ in cust.schema().items():
            if name in NOT_ATTRIBUTES or not (typ.is_string() or typ.is_boolean()):
                continue
            c = cust.filter(cust[name].notnull())
            c = c.select(v=c[name].cast("string"))
            g = c.group_by("v").agg(n=c.count()).order_by([ibis.desc("n"), "v"])
            rows = g.limit(int(spec.top_values)).to_pyarrow().to_pylist()
            if len(rows) > 1:  # a column with one value says nothing
                columns.append(name)
                attributes += [(name, str(r["v"])) for r in rows]
    rule_columns = [r.column for r in spec.rules if r.kind == "column"]
    columns += [c for c in dict.fromkeys(rule_columns) if c not in columns]
    return FeaturePlan(events=events, steps=spec.steps, attributes=tuple(attributes),
                       columns=tuple(columns))


def attributes(ws: Any, columns: tuple[str, ...], key: str) -> Any:
    """:func:`.features.attributes_sql`: one row per entity ``u`` with ``c_0..``, its most
    common value of each customers column (as text; ties to the smallest)."""
    cust = ws.table("customers")
    ids = cust.filter(cust[key].notnull()).select(u=cust[key]).distinct()
    out = ids
    for i, col in enumerate(columns):
        c = cust.filter(cust[key].notnull(), cust[col].notnull())
        c = c.select(u=c[key], v=c[col].cast("string"))
        g = c.group_by(["u", "v"]).agg(n=c.count())
        rank = ibis.row_number().over(group_by=g.u, order_by=[ibis.desc(g.n), g.v])
        g = g.mutate(r=rank)
        g = g.filter(g.r == 0).select(mu=g.u, **{f"c_{i}": g.v})
        out = out.left_join(g, out.u == g.mu).drop("mu")
    return out


def features(ws: Any, spec: LeadsSpec, plan: FeaturePlan,
             cutoffs: list[tuple[int, int]]) -> Any:
    """The feature table (an Ibis expression; see the module docstring), ordered by (k, u)."""
    ev = _events(ws, spec)
    target = spec.target_event
    x = ibis.union(*[ev.filter(ev.t <= int(c)).mutate(k=ibis.literal(int(k), "int64"),
                                                       c=ibis.literal(int(c), "int64"))
                     for k, c in cutoffs], distinct=False)
    aggs: dict[str, Any] = {
        "c": x.c.max(), "last_t": x.t.max(), "first_t": x.t.min(),
        "active_days": x.d.nunique(), "n_target": x.count(where=x.e == target),
    }
    i = 0
    for days in COUNT_WINDOWS:
        for e in plan.events:
            aggs[f"n_{i}"] = x.count(where=(x.e == e) & (x.t > x.c - days * DAY_US))
            i += 1
    event_rules = [r for r in spec.rules if r.kind == "event"]
    for j, r in enumerate(event_rules):
        aggs[f"rc_{j}"] = x.count(where=(x.e == r.event) & (x.t > x.c - int(r.within_us)))
    aggs["cart_recent"] = x.count(where=(x.e == CART_EVENT) & (x.t > x.c - CART_DAYS * DAY_US))
    base = x.group_by(["k", "u"]).agg(**aggs)
    base = base.filter(base.n_target == 0)

    # sessions: a new one at the entity's first event and after each gap > SESSION_GAP_US
    w = ibis.window(group_by=[x.k, x.u], order_by=[x.t, x.e])
    prev = x.t.lag().over(w)
    s = x.select("k", "u", brk=ibis.ifelse(prev.isnull() | (x.t - prev > SESSION_GAP_US), 1, 0))
    ses = s.group_by(["k", "u"]).agg(sessions=s.brk.sum()).rename(sk="k", su="u")

    lab_parts = []
    for k, c in cutoffs:
        hit = ev.filter(ev.e == target, ev.t > int(c), ev.t <= int(c) + int(spec.horizon_us))
        lab_parts.append(hit.select(lk=ibis.literal(int(k), "int64"), lu=hit.u))
    lab = ibis.union(*lab_parts, distinct=True)

    reached = []
    prev_step = None
    for n, step in enumerate(plan.steps):
        xs = x.filter(x.e == step)
        if prev_step is None:
            cur = xs.group_by(["k", "u"]).agg(st=xs.t.min())
        else:
            p = prev_step
            j = xs.join(p, (xs.k == p.pk) & (xs.u == p.pu) & (xs.t >= p.pt))
            cur = j.group_by(["k", "u"]).agg(st=j.t.min())
        prev_step = cur.rename(pk="k", pu="u", pt="st")
        reached.append(cur.rename(**{f"k{n}": "k", f"u{n}": "u", f"t{n}": "st"}))

    t = base.left_join(ses, (base.k == ses.sk) & (base.u == ses.su)).drop("sk", "su")
    t = t.left_join(lab, (t.k == lab.lk) & (t.u == lab.lu))
    t = t.mutate(y=t.lu.notnull()).drop("lk", "lu")
    for n, r in enumerate(reached):
        t = t.left_join(r, (t.k == r[f"k{n}"]) & (t.u == r[f"u{n}"])).drop(f"k{n}", f"u{n}")
    if plan.columns:
        a = attributes(ws, plan.columns, spec.entity_column).rename(au="u")
        t = t.left_join(a, t.u == a.au).drop("au")

    feats = [(t.c - t.last_t).cast("float64") / float(DAY_US),
             (t.c - t.first_t).cast("float64") / float(DAY_US),
             t.active_days, t.sessions.fill_null(0)]
    if plan.steps:
        depth = ibis.literal(0, "int64")
        for n in range(len(plan.steps)):
            depth = depth + t[f"t{n}"].notnull().cast("int64")
        feats.append(depth)
    feats += [t[f"n_{j}"] for j in range(i)]
    where_col = {c: j for j, c in enumerate(plan.columns)}
    feats += [(t[f"c_{where_col[c]}"] == v).fill_null(False).cast("int64")
              for c, v in plan.attributes]
    cols: dict[str, Any] = {"k": t.k, "u": t.u}
    cols.update({f"f_{j}": f.cast("float64") for j, f in enumerate(feats)})
    cols.update({f"r_{j}": t[f"rc_{j}"] for j in range(len(event_rules))})
    column_rules = [r for r in spec.rules if r.kind == "column"]
    cols.update({f"a_{j}": t[f"c_{where_col[r.column]}"].isin(list(r.values)).fill_null(False)
                 for j, r in enumerate(column_rules)})
    cols["y"] = t.y
    cols["cart_recent"] = t.cart_recent
    return t.select(**cols).order_by(["k", "u"])


def feature_frame(ws: Any, spec: LeadsSpec, plan: FeaturePlan,
                  cutoffs: list[tuple[int, int]]) -> Any:
    """:func:`features` computed in the engine, as a pandas DataFrame (the only rows that
    reach Python: one per eligible entity and cut-off)."""
    return features(ws, spec, plan, cutoffs).to_pyarrow().to_pandas()
