"""Run an attribution on a workspace: three small aggregates in the engine (DuckDB: the SQL
text of :mod:`.journeys`; PySpark: the Ibis relations of :mod:`.portable`), then the Markov
chain of the distinct paths in numpy (docs/attribution.md)."""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from funnelscope.analyses.attribution import journeys as J
from funnelscope.analyses.attribution.heuristics import HEURISTICS
from funnelscope.analyses.attribution.markov import fit_chain
from funnelscope.analyses.attribution.result import AttributionResult
from funnelscope.analyses.attribution.spec import MODELS, AttributionSpec
from funnelscope.errors import ConfigError, SpecError

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

CHANNEL_COLUMNS = ["channel", *MODELS, "removal_effect", "touches"]
EVERY_TOUCH = "every event with a channel except the conversion events"
#: DuckDB runs the SQL text of :mod:`.journeys` (True) or the Ibis relations of
#: :mod:`.portable` that Spark runs (False). Both give the same JSON
#: (tests/attribution/test_spark_backends.py); the SQL text (with its ASOF join) is faster on
#: DuckDB: 200k synthetic events, 20k users, conversion_event pay: 0.48 s vs 0.62 s warm,
#: 0.49 s vs 0.88 s on a process's first call.
SQL_ON_DUCKDB = True


def attribution(
    ws: Workspace,
    conversion_event: str | list[str] | None = None,
    touch_event: str | list[str] | None = None,
    channel_column: str = "channel",
    lookback: str = "30d",
    half_life: str = "7d",
    value: str = "conversions",
    first_conversion: bool = False,
    order: int = 1,
) -> AttributionResult:
    """Conversions (and revenue) per channel under six attribution models.

    conversion_event: the event(s) that are conversions; every occurrence counts (several at
    one instant of one user: one journey worth that many), or only the user's first with
    ``first_conversion``. touch_event: the event(s) that are touches (default: every event
    with a non-null ``channel_column`` that is not a conversion event). channel_column: the
    events column naming a touch's channel. lookback: touches at most this long before the
    conversion (and after the previous one) form its journey (30m, 7d...). half_life:
    time-decay half-life. value: ``revenue`` also shares out each conversion's value: its
    ``amount`` column, else ``orders.amount`` of its ``order_id``. order: Markov order (1).

    Models: first_touch, last_touch, linear (ChannelAttribution's heuristic_models()),
    time_decay, position (40/20/40) and markov (first-order removal effects, exact). Each
    model shares out every conversion with at least one touch; conversions without touches
    are counted in ``meta["conversions_without_touches"]``. DuckDB and PySpark.

    >>> ws.attribution(conversion_event="pay", touch_event="view", lookback="30d")
    """
    started = time.perf_counter()
    spec = AttributionSpec(conversion_events=conversion_event, touch_events=touch_event,
                           channel_column=channel_column, lookback=lookback, half_life=half_life,
                           value=value, first_conversion=first_conversion, order=order)
    if ws.engine not in ("duckdb", "pyspark"):
        raise SpecError(f"attribution is not implemented on the {ws.engine} engine; it runs "
                        "on DuckDB and PySpark.", hint="Open the data with fs.connect(path) "
                        "(DuckDB) or fs.connect(spark_session).")
    if not ws.has_table("events"):
        ws.table("events")  # the workspace's "no events table" error, with its hint
    columns = ws.columns("events")
    if spec.channel_column not in columns:
        from funnelscope.analyses.registry import suggest

        raise ConfigError(
            f"channel_column: the events table has no column {spec.channel_column!r}."
            f"{suggest(spec.channel_column, columns)}",
            hint=f"Name the events column holding each touch's channel (--channel-column); "
                 f"columns: {', '.join(columns)}.")
    from funnelscope.analyses.event_names import check_event_names

    check_event_names(ws, spec.conversion_events, "conversion_event")
    if spec.touch_events:
        check_event_names(ws, spec.touch_events, "touch_event")
    value_sql, orders, value_source = _value_sql(ws, spec, columns)
    if ws.engine == "duckdb" and SQL_ON_DUCKDB:
        con = ws.duckdb
        args = (spec, value_sql, orders)
        total_conv, total_value, without_value = con.execute(J.totals_sql(*args)).fetchone()
        credit = {r[0]: r[1:] for r in con.execute(J.credit_sql(*args)).fetchall()}
        rows = con.execute(J.paths_sql(*args)).fetchall()
    else:
        total_conv, total_value, without_value, credit, rows = _portable(
            ws, spec, value_sql, orders)
    paths = [(tuple(p), int(c), int(n), float(v or 0.0)) for p, c, n, v, _ in rows]
    journeys = sum(int(j) for *_, j in rows)
    chain = fit_chain(paths)
    attributed = sum(c for _, c, _, _ in paths)
    attributed_value = sum(v for _, c, _, v in paths if c)
    markov = dict(zip(chain.channels, chain.attributed(attributed).tolist(), strict=True))
    effects = dict(zip(chain.channels, chain.removal_effects().tolist(), strict=True))
    touches: Counter[str] = Counter()
    for path, _, _, _, count in rows:
        for ch in path:
            touches[ch] += int(count)
    channels = sorted(set(chain.channels) | set(credit),
                      key=lambda ch: (-markov.get(ch, 0.0), ch))
    import pandas as pd

    def table(revenue: bool, markov: dict[str, float], effects: dict[str, float]) -> pd.DataFrame:
        offset = len(HEURISTICS) if revenue else 0
        out = []
        for ch in channels:
            got = credit.get(ch)
            r: dict[str, Any] = {"channel": ch}
            r.update({m: float(got[offset + i] or 0.0) if got else 0.0
                      for i, m in enumerate(HEURISTICS)})
            r.update(markov=markov.get(ch, 0.0), removal_effect=effects.get(ch, 0.0),
                     touches=int(touches.get(ch, 0)))
            out.append(r)
        return pd.DataFrame(out, columns=CHANNEL_COLUMNS)

    tables = {"channels": table(False, markov, effects)}
    if spec.value == "revenue":
        tables["revenue"] = table(True, dict(zip(
            chain.channels, chain.attributed(attributed_value, value=True).tolist(), strict=True)),
            dict(zip(chain.channels, chain.removal_effects(value=True).tolist(), strict=True)))
    tables["models"] = pd.DataFrame(
        [{"model": m, "conversions": float(tables["channels"][m].sum()),
          "revenue": float(tables["revenue"][m].sum()) if "revenue" in tables else None}
         for m in MODELS], columns=["model", "conversions", "revenue"])
    tables["transitions"] = pd.DataFrame(
        chain.transitions(), columns=["from_state", "to_state", "journeys", "probability"])
    nulls = sum(n for _, _, n, _ in paths)
    meta = {
        "conversions": int(total_conv),
        "attributed_conversions": int(attributed),
        "conversions_without_touches": int(total_conv) - int(attributed),
        "converting_journeys": journeys - nulls,
        "null_journeys": int(nulls),
        "distinct_paths": len(paths),
        "conversion_probability": chain.conversion_probability() if chain.size else 0.0,
        "touch_events": list(spec.touch_events) or EVERY_TOUCH,
        "engine": ws.engine,
    }
    if spec.value == "revenue":
        meta.update(revenue=float(total_value), attributed_revenue=float(attributed_value),
                    conversions_without_value=int(without_value), value_source=value_source)
    meta["elapsed_s"] = round(time.perf_counter() - started, 4)
    return AttributionResult(spec=spec, tables=tables, meta=meta)


def _portable(ws: Workspace, spec: AttributionSpec, value_sql: str,
              orders: bool) -> tuple[int, float, int, dict, list]:
    """The three aggregates of :mod:`.journeys` from the Ibis relations of :mod:`.portable`
    (PySpark; DuckDB when ``SQL_ON_DUCKDB`` is off): totals, credit per channel, paths."""
    from funnelscope.analyses.attribution import portable as P

    if value_sql == "NULL":
        source = "none"
    elif orders:
        source = "amount_or_orders" if value_sql.startswith("coalesce") else "orders"
    else:
        source = "amount"
    conv = P.conversions(ws, spec, source)
    jt = P.journey_touches(ws, spec, conv)
    total_conv, total_value, without_value = P.totals(conv)
    return total_conv, total_value, without_value, P.credit(jt, spec), P.paths(jt)


def _value_sql(ws: Workspace, spec: AttributionSpec, columns: list[str]) -> tuple[str, bool, str | None]:
    """(SQL of one conversion row's value, whether orders are joined, where values come from)."""
    if spec.value != "revenue":
        return "NULL", False, None
    from funnelscope.sqlsafe import ident

    has_amount = "amount" in columns
    has_orders = "order_id" in columns and ws.has_table("orders") \
        and {"order_id", "amount"} <= set(ws.columns("orders"))
    amount = f"e.{ident('amount')}"
    if has_amount and has_orders:
        return f"coalesce({amount}, o.amount)", True, "events.amount, else orders.amount by order_id"
    if has_amount:
        return amount, False, "events.amount"
    if has_orders:
        return "o.amount", True, "orders.amount by order_id"
    raise ConfigError(
        "value revenue: the conversion events have no amount column and no order_id matching "
        "an orders table.",
        hint="Load conversion events with an amount column, or events with order_id and an "
             "orders table (order_id, amount); or use --value conversions.")
