"""The experiment's per-user metrics, computed in DuckDB: only per-variant summaries come back.

Three pieces of SQL text (every name through :func:`~funnelscope.sqlsafe.ident`, every value
through :func:`~funnelscope.sqlsafe.literal`):

* **units** — one row per user in the experiment: ``code`` (the funnel's 63-bit entity code),
  ``variant``, ``n_variants`` (distinct variants seen; only users with exactly one are
  compared) and ``anchor`` (µs since the epoch): the first exposure to the experiment
  (:func:`exposure_units`) or the first entry event of the funnel (:func:`column_units`).
* **per-user metrics** — ``code, y, x``: y in the window [anchor, anchor + W] (both ends
  inclusive, as the funnel window), x (the CUPED covariate) in the pre-period
  [anchor − W, anchor). ``count:EVENT`` and ``revenue`` are SQL aggregates
  (:func:`count_values`, :func:`revenue_values`); conversion after an anchor runs the funnel
  kernel on a SQL feed (:func:`anchored_conversion`): the anchor is a synthetic first step, so
  the kernel's ordered / any-order semantics apply to the events after it.
* **summaries** — per variant and metric: n, Σy, mean, sample variance of y and x, sample
  covariance (DuckDB's ``var_samp`` / ``covar_samp``, numerically stable, each over the users
  in code order so a request gives the same digits every time), :func:`summaries`.

Per-user values are registered with DuckDB as Arrow only for the kernel's conversion flags
(one small integer pair per user); events never become Python objects.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from funnelscope.analyses.funnel.scan import INTEGER_TYPES, entity_code_expr
from funnelscope.sqlsafe import ident, literal


def native_ids(events_types: dict[str, str]) -> bool:
    """True when the events' user_id is an integer type (then it is its own entity code)."""
    return events_types.get("user_id") in INTEGER_TYPES


def event_code(native: bool) -> str:
    """Entity code of an events row (equal to the funnel kernel's)."""
    return entity_code_expr("user_id", "integer" if native else "hash")


def user_code(native: bool) -> str:
    """Entity code of a row of a user table (customers, orders, exposures), matching the events'
    codes; ids that are not integers when the events' are give NULL (they match no events)."""
    return ("TRY_CAST(" + ident("user_id") + " AS BIGINT)") if native else \
        entity_code_expr("user_id", "hash")


def events_of(source_sql: str, native: bool, names: Sequence[str] | None = None) -> str:
    """``code, t, event`` of the events (optionally only those named ``names``)."""
    pred = ""
    if names is not None:
        pred = f" AND event IN ({', '.join(literal(n) for n in names)})"
    return (f"SELECT {event_code(native)} AS code, epoch_us(ts) AS t, event "  # noqa: S608
            f"FROM ({source_sql}) AS fs_ev WHERE user_id IS NOT NULL AND ts IS NOT NULL{pred}")


def _bounds(column: str, start_us: int | None, end_us: int | None) -> str:
    preds = []
    if start_us is not None:
        preds.append(f"{column} >= {int(start_us)}")
    if end_us is not None:
        preds.append(f"{column} < {int(end_us)}")
    return " AND ".join(preds) or "TRUE"


def exposure_units(exposures_sql: str, experiment: str, native: bool, start_us: int | None,
                   end_us: int | None) -> str:
    """Users exposed to ``experiment``: variant(s) over all their exposures, anchor = their
    first exposure; only users whose first exposure lies in [start, end)."""
    var = f"CAST({ident('variant')} AS VARCHAR)"
    inner = (f"SELECT {user_code(native)} AS code, {var} AS variant, epoch_us(ts) AS t "  # noqa: S608
             f"FROM ({exposures_sql}) AS fs_x WHERE {ident('experiment')} = {literal(experiment)} "
             f"AND user_id IS NOT NULL AND {ident('variant')} IS NOT NULL AND ts IS NOT NULL")
    return ("SELECT code, min(variant) AS variant, count(DISTINCT variant) AS n_variants, "  # noqa: S608
            f"min(t) AS anchor FROM ({inner}) AS fs_x WHERE code IS NOT NULL GROUP BY code "
            f"HAVING {_bounds('min(t)', start_us, end_us)}")


def column_units(filtered_events_sql: str, entry_names: Sequence[str], native: bool,
                 variant_sql: str) -> str:
    """Users entering the funnel (an entry event between start and end): anchor = their first
    entry event; variant from ``variant_sql`` (``code, variant, n_variants``)."""
    entry = (f"SELECT {event_code(native)} AS code, min(epoch_us(ts)) AS anchor "  # noqa: S608
             f"FROM ({filtered_events_sql}) AS fs_f WHERE event IN "
             f"({', '.join(literal(n) for n in entry_names)}) GROUP BY code")
    return ("SELECT fs_in.code, fs_var.variant, coalesce(fs_var.n_variants, 0) AS n_variants, "  # noqa: S608
            f"fs_in.anchor FROM ({entry}) AS fs_in LEFT JOIN ({variant_sql}) AS fs_var "
            "USING (code)")


def column_variants(relation_sql: str, column: str, code_sql: str) -> str:
    """``code, variant, n_variants`` from any relation with a user_id and ``column``: the one
    non-null value per user (min) and how many distinct values the user has."""
    col = f"CAST({ident(column)} AS VARCHAR)"
    return (f"SELECT {code_sql} AS code, min({col}) AS variant, count(DISTINCT {col}) AS "  # noqa: S608
            f"n_variants FROM ({relation_sql}) AS fs_v WHERE {ident(column)} IS NOT NULL "
            "AND user_id IS NOT NULL GROUP BY code")


def _window(t: str, lo: str, window_us: int, post: bool) -> str:
    """[lo, lo + W] (post) or [lo − W, lo) (pre), times in µs."""
    w = int(window_us)
    if post:
        return f"{t} >= {lo} AND {t} <= {lo} + {w}"
    return f"{t} >= {lo} - {w} AND {t} < {lo}"


def count_values(units_sql: str, events_sql: str, window_us: int) -> str:
    """``code, y, x``: events of one name in the window (y) and in the pre-period (x)."""
    post = _window("e.t", "u.anchor", window_us, True)
    pre = _window("e.t", "u.anchor", window_us, False)
    return (f"SELECT u.code, count(*) FILTER (WHERE {post}) AS y, "  # noqa: S608
            f"count(*) FILTER (WHERE {pre}) AS x FROM ({units_sql}) AS u JOIN ({events_sql}) AS e "
            f"USING (code) WHERE e.t >= u.anchor - {int(window_us)} AND "
            f"e.t <= u.anchor + {int(window_us)} GROUP BY u.code")


def revenue_values(units_sql: str, orders_sql: str, native: bool, window_us: int) -> str:
    """``code, y, x``: sum of orders.amount in the window (y) and in the pre-period (x)."""
    orders = (f"SELECT {user_code(native)} AS code, epoch_us(ts) AS t, amount "  # noqa: S608
              f"FROM ({orders_sql}) AS fs_o WHERE user_id IS NOT NULL AND ts IS NOT NULL "
              "AND amount IS NOT NULL")
    post = _window("o.t", "u.anchor", window_us, True)
    pre = _window("o.t", "u.anchor", window_us, False)
    return (f"SELECT u.code, coalesce(sum(o.amount) FILTER (WHERE {post}), 0) AS y, "  # noqa: S608
            f"coalesce(sum(o.amount) FILTER (WHERE {pre}), 0) AS x FROM ({units_sql}) AS u "
            f"JOIN ({orders}) AS o USING (code) WHERE o.t >= u.anchor - {int(window_us)} AND "
            f"o.t <= u.anchor + {int(window_us)} GROUP BY u.code")


def anchored_feed(units_sql: str, events_sql: str, steps: Sequence[str], window_us: int,
                  post: bool) -> str:
    """The kernel feed of "the steps after the anchor": a synthetic step-1 event per user at
    the anchor (post) or at anchor − W (pre), then the users' step events (bit j for step j)
    inside [anchor, anchor + W] (post) or [anchor − W, anchor) (pre)."""
    bits: dict[str, int] = {}
    for j, name in enumerate(steps, 1):
        bits[name] = bits.get(name, 0) | (1 << j)
    values = ", ".join(f"({literal(n)}, {m})" for n, m in bits.items())
    w = int(window_us)
    start = "u.anchor" if post else f"u.anchor - {w}"
    cond = _window("e.t", "u.anchor", window_us, post)
    return (f"SELECT u.code AS entity, CAST({start} AS BIGINT) AS ts, CAST(1 AS UINTEGER) AS mask "  # noqa: S608
            f"FROM ({units_sql}) AS u UNION ALL "
            f"SELECT u.code AS entity, CAST(e.t AS BIGINT) AS ts, CAST(s.mask AS UINTEGER) AS mask "
            f"FROM ({units_sql}) AS u JOIN ({events_sql}) AS e USING (code) "
            f"JOIN (VALUES {values}) AS s(name, mask) ON e.event = s.name WHERE {cond}")


def anchored_conversion(con, units_sql: str, events_sql: str, steps: Sequence[str],
                        window_us: int, mode: str, post: bool = True):
    """Arrow table ``code, y``: y = 1 when the user did ``steps`` (in order for ``ordered``,
    in any order for ``any``) after the anchor within the window (post) or in the pre-period
    (pre), by the funnel kernel (docs/funnels.md semantics with the anchor as step 1)."""
    import numpy as np
    import pyarrow as pa

    from funnelscope.analyses.funnel.kernel import KernelSpec, run_kernel
    from funnelscope.analyses.funnel.scan import fetch_batches

    k = len(steps) + 1
    out = run_kernel(fetch_batches(con, anchored_feed(units_sql, events_sql, steps, window_us,
                                                      post)),
                     KernelSpec(n_steps=k, window_us=int(window_us), mode=mode))
    return pa.table({"code": pa.array(out.entity, pa.int64()),
                     "y": pa.array((out.level >= k).astype(np.int64), pa.int64())})


@contextmanager
def registered(con, tables: dict) -> Iterator[dict[str, str]]:
    """Register Arrow tables with the connection under unique names: {key: SQL name}."""
    names = {key: f"__fs_exp_{key}_{uuid.uuid4().hex[:12]}" for key in tables}
    try:
        for key, table in tables.items():
            con.register(names[key], table)
        yield {key: ident(name) for key, name in names.items()}
    finally:
        for name in names.values():
            with contextlib.suppress(Exception):  # best effort on a closed connection
                con.unregister(name)


def summaries(con, units_sql: str, values: Sequence[tuple[str | None, str | None]]) -> list[tuple]:
    """One row per variant (sorted) of the users with exactly one variant: ``variant, n``,
    then per metric ``sum_y, mean_y, var_y, mean_x, var_x, cov_xy``. ``values``: per metric
    the SQL of its ``code, y`` relation and of its ``code, x`` relation (None: no covariate);
    users absent from a relation count 0."""
    joins, cols = [], []
    for i, (ysql, xsql) in enumerate(values):
        joins.append(f"LEFT JOIN ({ysql}) AS fs_y{i} ON fs_y{i}.code = u.code")
        y = f"coalesce(fs_y{i}.y, 0)"
        if xsql is None:
            x = "NULL"
        else:
            if xsql != ysql:
                joins.append(f"LEFT JOIN ({xsql}) AS fs_x{i} ON fs_x{i}.code = u.code")
                x = f"coalesce(fs_x{i}.x, 0)"
            else:
                x = f"coalesce(fs_y{i}.x, 0)"
        # ORDER BY the user: a float sum depends on the order of its terms, and DuckDB's
        # parallel hash aggregate adds them in any order (the same request could differ in
        # the last digit from run to run)
        by = " ORDER BY u.code"
        cols += [f"sum({y}{by})", f"avg({y}{by})", f"var_samp({y}{by})", f"avg({x}{by})",
                 f"var_samp({x}{by})", f"covar_samp({y}, {x}{by})"]
    sql = (f"SELECT u.variant, count(*) AS n, {', '.join(cols)} FROM ({units_sql}) AS u "  # noqa: S608
           f"{' '.join(joins)} WHERE u.n_variants = 1 GROUP BY u.variant ORDER BY u.variant")
    return con.execute(sql).fetchall()


def unit_counts(con, units_sql: str) -> tuple[int, int, int]:
    """(users in the experiment, users with several variants, users without a variant)."""
    row = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE n_variants > 1), "  # noqa: S608
        f"count(*) FILTER (WHERE n_variants = 0) FROM ({units_sql}) AS u").fetchone()
    return int(row[0]), int(row[1]), int(row[2])
