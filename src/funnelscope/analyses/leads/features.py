"""Per-entity features as of a cut-off time, computed in DuckDB SQL.

For a cut-off ``c`` (µs since the epoch) only events at ``t <= c`` are read; an entity is
**eligible** (a lead at ``c``) when it has such an event and none of them is the target. The
features, in this order (:attr:`FeaturePlan.names`):

* ``days_since_last`` = (c − its last event) / 1 day; ``days_since_first`` likewise;
* ``active_days``: distinct calendar days with an event (reporting time zone);
* ``sessions``: sessions as in docs/journeys.md (a gap of more than 30 minutes starts a new
  one; :func:`funnelscope.analyses.paths.sessions.sessionized_sql`);
* ``funnel_depth`` (with steps): the number of steps reached in order: step 1 at its first
  time t1, step i at its first time t_i >= t_{i-1}; no window;
* ``count_7d[E]`` / ``count_30d[E]``: events named E with ``c − 7d < t <= c`` (30d), for the
  most frequent event names (the target excluded);
* ``customers.COL=V``: 1 when the entity's customers column COL is V (as text), for the most
  frequent values V of each text column; with ``entity=account`` the account's value is the
  most common among its users (ties: the smallest).

The label of an eligible entity is 1 when it does the target at ``c < t <= c + horizon``.
Only the per-entity table (one row per eligible entity and cut-off) reaches Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from funnelscope.analyses.leads.spec import (
    CART_DAYS,
    CART_EVENT,
    COUNT_WINDOWS,
    DAY_US,
    SESSION_GAP_US,
)
from funnelscope.analyses.paths.sessions import sessionized_sql
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    from funnelscope.analyses.leads.spec import LeadsSpec

#: customers columns never used as attributes
NOT_ATTRIBUTES = {"user_id", "account_id", "first_seen", "_key", "_load"}
TEXT_TYPES = ("VARCHAR", "BOOLEAN")


@dataclass(frozen=True)
class FeaturePlan:
    """Which features a run computes: the counted ``events``, the funnel ``steps`` and the
    one-hot ``attributes`` ((column, value) pairs); ``columns``: the customers columns read
    (attributes first, then the ones rules test)."""

    events: tuple[str, ...]
    steps: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]
    columns: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        out = ["days_since_last", "days_since_first", "active_days", "sessions"]
        if self.steps:
            out.append("funnel_depth")
        for days in COUNT_WINDOWS:
            out += [f"count_{days}d[{e}]" for e in self.events]
        out += [f"customers.{c}={v}" for c, v in self.attributes]
        return out


def plan(ws: Any, spec: LeadsSpec, known: dict[str, int]) -> FeaturePlan:
    """The features for ``spec`` on ``ws``: the ``top_events`` most frequent event names
    (``known``: name -> events, most frequent first; the target left out) and the
    ``top_values`` most frequent values of each text column of the customers table."""
    events = tuple([e for e in known if e != spec.target_event][:spec.top_events])
    attributes: list[tuple[str, str]] = []
    columns: list[str] = []
    if spec.top_values and ws.has_table("customers") and _customers_keyed(ws, spec):
        rel = ws.duckdb.sql(f"SELECT * FROM {ident('customers')} LIMIT 0")  # noqa: S608
        for name, typ in zip(rel.columns, rel.types, strict=True):
            if name in NOT_ATTRIBUTES or str(typ).upper() not in TEXT_TYPES:
                continue
            rows = ws.duckdb.execute(
                f"SELECT CAST({ident(name)} AS VARCHAR) AS v, count(*) AS n "  # noqa: S608
                f"FROM {ident('customers')} WHERE {ident(name)} IS NOT NULL "
                f"GROUP BY v ORDER BY n DESC, v LIMIT {int(spec.top_values)}").fetchall()
            if len(rows) > 1:  # a column with one value says nothing
                columns.append(name)
                attributes += [(name, str(v)) for v, _ in rows]
    rule_columns = [r.column for r in spec.rules if r.kind == "column"]
    columns += [c for c in dict.fromkeys(rule_columns) if c not in columns]
    return FeaturePlan(events=events, steps=spec.steps, attributes=tuple(attributes),
                       columns=tuple(columns))


def _customers_keyed(ws: Any, spec: LeadsSpec) -> bool:
    return spec.entity_column in ws.columns("customers")


def attributes_sql(columns: tuple[str, ...], key: str) -> str | None:
    """One row per entity (``u``) with its value of each customers column as text
    (``c_0``, ``c_1``...): the most common among the rows with that ``key`` (user_id or
    account_id), ties to the smallest; None without columns."""
    if not columns:
        return None
    k = ident(key)
    ctes = []
    for i, col in enumerate(columns):
        c = ident(col)
        ctes.append(
            f"m{i} AS (SELECT u, v FROM (SELECT {k} AS u, CAST({c} AS VARCHAR) AS v, "  # noqa: S608
            f"count(*) AS n FROM {ident('customers')} WHERE {k} IS NOT NULL AND {c} IS NOT NULL "
            f"GROUP BY ALL) QUALIFY row_number() OVER (PARTITION BY u ORDER BY n DESC, v) = 1)")
    joins = " ".join(f"LEFT JOIN m{i} ON m{i}.u = ids.u" for i in range(len(columns)))
    picks = ", ".join(f"m{i}.v AS c_{i}" for i in range(len(columns)))
    return (f"WITH {', '.join(ctes)} SELECT ids.u, {picks} FROM (SELECT DISTINCT {k} AS u "  # noqa: S608
            f"FROM {ident('customers')} WHERE {k} IS NOT NULL) AS ids {joins}")


def features_sql(spec: LeadsSpec, plan: FeaturePlan, source: str, attrs: str | None, tz: str,
                 cutoffs: list[tuple[int, int]]) -> str:
    """SQL of the feature table: one row per eligible entity and cut-off, ordered by
    (k, u). Columns: k (the cut-off's index in ``cutoffs`` = [(k, c µs)]), u (the entity),
    f_0.. (the features, :attr:`FeaturePlan.names` order), y (the label), r_0.. (whether
    each event rule's count holds... as a count: r_i = events matching rule i in its
    window), a_0.. (whether each column rule holds), cart_recent (add_to_cart events in the
    last 7 days)."""
    ent, ev_, ts = ident(spec.entity_column), ident("event"), ident("ts")
    target = literal(spec.target_event)
    cuts = ", ".join(f"({int(k)}, {int(c)})" for k, c in cutoffs)
    counts = [f"count(*) FILTER (WHERE e = {literal(e)} AND t > c - {days * DAY_US})"
              for days in COUNT_WINDOWS for e in plan.events]
    rule_counts = [f"count(*) FILTER (WHERE e = {literal(r.event)} AND t > c - {r.within_us})"
                   for r in spec.rules if r.kind == "event"]
    aggs = [f"{sql} AS n_{i}" for i, sql in enumerate(counts)]
    aggs += [f"{sql} AS rc_{i}" for i, sql in enumerate(rule_counts)]
    aggs.append(f"count(*) FILTER (WHERE e = {literal(CART_EVENT)} AND "
                f"t > c - {CART_DAYS * DAY_US}) AS cart_recent")
    ordered = ("SELECT struct_pack(k := k, id := u) AS u, e, t, "
               "row_number() OVER (PARTITION BY k, u ORDER BY t, e) AS pos FROM x")
    ctes = [
        f"ev AS (SELECT {ent} AS u, {ev_} AS e, epoch_us({ts}) AS t, "  # noqa: S608
        f"CAST(timezone({literal(tz)}, {ts}) AS DATE) AS d FROM ({source}) AS fs_src "
        f"WHERE {ent} IS NOT NULL AND {ev_} IS NOT NULL AND {ts} IS NOT NULL)",
        f"cut AS (SELECT * FROM (VALUES {cuts}) AS v(k, c))",  # noqa: S608
        "x AS (SELECT cut.k, cut.c, ev.u, ev.e, ev.t, ev.d FROM ev JOIN cut ON ev.t <= cut.c)",
        f"base AS (SELECT k, u, any_value(c) AS c, max(t) AS last_t, min(t) AS first_t, "  # noqa: S608
        f"count(DISTINCT d) AS active_days, bool_or(e = {target}) AS converted, "
        f"{', '.join(aggs)} FROM x GROUP BY k, u)",
        f"ses AS (SELECT u.k AS k, u.id AS u, max(sid) AS sessions FROM "  # noqa: S608
        f"({sessionized_sql(ordered, SESSION_GAP_US)}) GROUP BY ALL)",
        f"lab AS (SELECT DISTINCT cut.k, ev.u FROM ev JOIN cut ON ev.t > cut.c AND "  # noqa: S608
        f"ev.t <= cut.c + {int(spec.horizon_us)} WHERE ev.e = {target})",
    ]
    for i, step in enumerate(plan.steps):
        if i == 0:
            ctes.append(f"s0 AS (SELECT k, u, min(t) AS t FROM x WHERE e = {literal(step)} "  # noqa: S608
                        "GROUP BY k, u)")
        else:
            ctes.append(f"s{i} AS (SELECT x.k, x.u, min(x.t) AS t FROM x JOIN s{i - 1} AS p "  # noqa: S608
                        f"ON x.k = p.k AND x.u = p.u AND x.t >= p.t WHERE x.e = {literal(step)} "
                        "GROUP BY x.k, x.u)")
    if attrs is not None:
        ctes.append(f"attrs AS ({attrs})")
    feats = [f"(b.c - b.last_t) / {DAY_US}.0", f"(b.c - b.first_t) / {DAY_US}.0",
             "b.active_days", "coalesce(ses.sessions, 0)"]
    if plan.steps:
        feats.append(" + ".join(f"CAST(s{i}.t IS NOT NULL AS INTEGER)"
                                for i in range(len(plan.steps))))
    feats += [f"b.n_{i}" for i in range(len(counts))]
    where_col = {c: i for i, c in enumerate(plan.columns)}
    feats += [f"CAST(coalesce(attrs.c_{where_col[c]} = {literal(v)}, false) AS INTEGER)"
              for c, v in plan.attributes]
    cols = [f"CAST({f} AS DOUBLE) AS f_{i}" for i, f in enumerate(feats)]
    event_rules = [r for r in spec.rules if r.kind == "event"]
    cols += [f"b.rc_{i} AS r_{i}" for i in range(len(event_rules))]
    column_rules = [r for r in spec.rules if r.kind == "column"]
    cols += [f"coalesce(attrs.c_{where_col[r.column]} IN "
             f"({', '.join(literal(v) for v in r.values)}), false) AS a_{i}"
             for i, r in enumerate(column_rules)]
    joins = ["LEFT JOIN ses ON ses.k = b.k AND ses.u = b.u",
             "LEFT JOIN lab ON lab.k = b.k AND lab.u = b.u"]
    joins += [f"LEFT JOIN s{i} ON s{i}.k = b.k AND s{i}.u = b.u" for i in range(len(plan.steps))]
    if attrs is not None:
        joins.append("LEFT JOIN attrs ON attrs.u = b.u")
    return (f"WITH {', '.join(ctes)} SELECT b.k, b.u, {', '.join(cols)}, "  # noqa: S608
            f"lab.u IS NOT NULL AS y, b.cart_recent FROM base AS b {' '.join(joins)} "
            "WHERE NOT b.converted ORDER BY b.k, b.u")


def reason_text(name: str, value: float, steps: tuple[str, ...]) -> str:
    """A feature's value in words: ``3 add_to_cart in the last 7 days``."""
    def n(v: float) -> str:
        return f"{v:g}" if v == int(v) else f"{v:.1f}"

    if name == "days_since_last":
        return f"last event {n(value)} days ago"
    if name == "days_since_first":
        return f"first event {n(value)} days ago"
    if name == "active_days":
        return f"active on {n(value)} day{'s' if value != 1 else ''}"
    if name == "sessions":
        return f"{n(value)} session{'s' if value != 1 else ''}"
    if name == "funnel_depth":
        k = int(value)
        return (f"reached {steps[k - 1]} (step {k} of {len(steps)})" if k > 0 else
                f"has not reached {steps[0]}")
    if name.startswith("count_"):
        window, _, event = name.partition("[")
        days = window.removeprefix("count_").removesuffix("d")
        return f"{n(value)} {event[:-1]} in the last {days} days"
    if name.startswith("customers."):
        column, _, v = name.removeprefix("customers.").partition("=")
        return f"{column} is {v}" if value else f"{column} is not {v}"
    return f"{name} = {n(value)}"
