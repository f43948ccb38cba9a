"""Journeys in DuckDB SQL: which touches lead to which conversion (docs/attribution.md).

Conversions are grouped by (user, instant): several conversion rows of one user at the same
instant are one journey end worth that many conversions (and the sum of their values).
With ``first_conversion`` only the user's earliest conversion instant counts.

A touch (a touch event, or any non-conversion event, with a non-null channel) belongs to the
user's first conversion at or after it (an ASOF join), when it is at most ``lookback``
before that conversion; so a conversion's journey holds the touches after the user's
previous conversion. Touches after the user's last conversion -- all touches of a user who
never converted -- form one journey ending in *null* (no conversion), kept when at most
``lookback`` before that journey's last touch. With ``first_conversion`` the touches after
the first conversion belong to no journey.

Three queries share these CTEs, and none returns rows per event: per-channel credit of the
heuristic models (:func:`credit_sql`), the journeys aggregated to distinct paths
(:func:`paths_sql`, the Markov chain's input) and the conversion totals (:func:`totals_sql`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from funnelscope.analyses.attribution.heuristics import HEURISTICS, share_sql
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    from funnelscope.analyses.attribution.spec import AttributionSpec

EVENTS_SQL = f"SELECT * FROM {ident('events')}"  # noqa: S608


def _in(names: tuple[str, ...]) -> str:
    return ", ".join(literal(n) for n in names)


def ctes(spec: AttributionSpec, value_sql: str, orders: bool, events_sql: str = EVENTS_SQL) -> str:
    """The WITH clause defining ``conv`` (user_id, conv_ts, conversions, value, valued) and
    ``jt`` (one row per touch in a journey: user_id, conv_ts -- NULL for a journey ending in
    null --, ts, channel, conversions, value). ``value_sql``: the value of one conversion row
    over ``e`` (the event) and ``o`` (its order, when ``orders``)."""
    ch = ident(spec.channel_column)
    conv_in = _in(spec.conversion_events)
    touch_filter = (f"e.event IN ({_in(spec.touch_events)})" if spec.touch_events
                    else f"e.event NOT IN ({conv_in})")
    join = ""
    if orders:
        join = (f"LEFT JOIN (SELECT CAST(order_id AS VARCHAR) AS order_id, sum(amount) AS amount "  # noqa: S608
                f"FROM {ident('orders')} WHERE order_id IS NOT NULL GROUP BY 1) AS o "
                "ON o.order_id = CAST(e.order_id AS VARCHAR)")
    first = ("QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY conv_ts) = 1"
             if spec.first_conversion else "")
    # first conversion only: touches after it (no conversion at or after them, but the user
    # converted) belong to no journey
    after_first = ("WHERE m.conv_ts IS NOT NULL OR m.user_id NOT IN (SELECT user_id FROM conv)"
                   if spec.first_conversion else "")
    return f"""WITH conv_rows AS (
  SELECT e.user_id, e.ts, CAST({value_sql} AS DOUBLE) AS value
  FROM ({events_sql}) AS e {join}
  WHERE e.event IN ({conv_in}) AND e.user_id IS NOT NULL AND e.ts IS NOT NULL
), conv AS (
  SELECT user_id, ts AS conv_ts, count(*) AS conversions, coalesce(sum(value), 0.0) AS value,
         count(value) AS valued
  FROM conv_rows GROUP BY user_id, ts {first}
), touch AS (
  SELECT e.user_id, e.ts, CAST(e.{ch} AS VARCHAR) AS channel
  FROM ({events_sql}) AS e
  WHERE {touch_filter} AND e.{ch} IS NOT NULL AND e.user_id IS NOT NULL AND e.ts IS NOT NULL
), matched AS (
  SELECT t.user_id, t.ts, t.channel, c.conv_ts, c.conversions, c.value
  FROM touch AS t ASOF LEFT JOIN conv AS c ON t.user_id = c.user_id AND t.ts <= c.conv_ts
), bounded AS (
  SELECT m.*, max(m.ts) OVER (PARTITION BY m.user_id, m.conv_ts) AS end_ts
  FROM matched AS m {after_first}
), jt AS (
  SELECT user_id, conv_ts, ts, channel, coalesce(conversions, 0) AS conversions,
         coalesce(value, 0.0) AS value
  FROM bounded
  WHERE epoch_us(coalesce(conv_ts, end_ts)) - epoch_us(ts) <= {int(spec.lookback_us)}
)"""  # noqa: S608 - names via ident, values via literal


def credit_sql(spec: AttributionSpec, value_sql: str, orders: bool,
               events_sql: str = EVENTS_SQL) -> str:
    """Per channel: conversions credited by each heuristic model (``<model>``) and value
    credited (``<model>_value``)."""
    journey = "PARTITION BY user_id, conv_ts"
    shares = share_sql("n", "pos", "w", "w_sum")
    sums = ",\n       ".join(
        [f"sum(conversions * ({shares[m]})) AS {m}" for m in HEURISTICS]
        + [f"sum(value * ({shares[m]})) AS {m}_value" for m in HEURISTICS])
    half_life = float(spec.half_life_us)
    return f"""{ctes(spec, value_sql, orders, events_sql)}, j AS (
  SELECT *, count(*) OVER ({journey}) AS n,
         row_number() OVER ({journey} ORDER BY ts, channel) AS pos,
         pow(2.0, -(epoch_us(max(ts) OVER ({journey})) - epoch_us(ts)) / {half_life!r}) AS w
  FROM jt WHERE conv_ts IS NOT NULL
), s AS (
  SELECT *, sum(w) OVER ({journey}) AS w_sum FROM j
)
SELECT channel,
       {sums}
FROM s GROUP BY channel ORDER BY channel"""  # noqa: S608 - names via ident, values via literal


def paths_sql(spec: AttributionSpec, value_sql: str, orders: bool,
              events_sql: str = EVENTS_SQL) -> str:
    """Distinct paths (lists of channels in time order, ties by channel) with their
    conversions, journeys ending in null, conversion value and journeys."""
    return f"""{ctes(spec, value_sql, orders, events_sql)}, journeys AS (
  SELECT user_id, conv_ts, list(channel ORDER BY ts, channel) AS path,
         any_value(conversions) AS conversions, any_value(value) AS value
  FROM jt GROUP BY user_id, conv_ts
)
SELECT path, sum(conversions) AS conversions, count(*) FILTER (WHERE conv_ts IS NULL) AS nulls,
       sum(value) AS value, count(*) AS journeys
FROM journeys GROUP BY path"""  # noqa: S608 - names via ident, values via literal


def totals_sql(spec: AttributionSpec, value_sql: str, orders: bool,
               events_sql: str = EVENTS_SQL) -> str:
    """Every conversion counted (with or without touches): conversions, their value and the
    number of conversion rows without a value."""
    return f"""{ctes(spec, value_sql, orders, events_sql)}
SELECT coalesce(sum(conversions), 0), coalesce(sum(value), 0.0),
       coalesce(sum(conversions - valued), 0)
FROM conv"""  # noqa: S608 - names via ident, values via literal
