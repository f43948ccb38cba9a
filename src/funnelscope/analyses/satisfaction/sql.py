"""The DuckDB SQL of the satisfaction analysis: answer counts per key, and the churn link.

Every user-supplied name goes through :func:`funnelscope.sqlsafe.ident` and every value
through :func:`~funnelscope.sqlsafe.literal`. All queries return small aggregates (one row per
group, period, survey or NPS category).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from funnelscope.analyses.satisfaction.spec import DETRACTOR_MAX, PROMOTER_MIN
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    from funnelscope.analyses.satisfaction.spec import SatisfactionSpec

NONE_LABEL = "(none)"


def answers_sql(spec: SatisfactionSpec, nps: str | None, csat: str | None) -> str:
    """One row per NPS / CSAT answer: user_id, ts, survey, score, kind ('nps' | 'csat') and
    the answer's other columns (``r.*``)."""
    kinds = []
    if nps is not None:
        kinds.append(f"WHEN question = {literal(nps)} THEN 'nps'")
    if csat is not None:
        kinds.append(f"WHEN question = {literal(csat)} THEN 'csat'")
    kind = f"CASE {' '.join(kinds)} END" if kinds else "CAST(NULL AS VARCHAR)"
    names = [n for n in (nps, csat) if n is not None]
    where = [f"question IN ({', '.join(literal(n) for n in names)})" if names else "FALSE"]
    if spec.surveys:
        where.append(f"survey IN ({', '.join(literal(s) for s in spec.surveys)})")
    return (f"SELECT r.*, {kind} AS kind FROM {ident('responses')} AS r "  # noqa: S608
            f"WHERE {' AND '.join(where)}")


def invalid_sql(answers: str, spec: SatisfactionSpec) -> str:
    """Per kind: answers whose score is outside the scale or not a whole number, their count
    and up to three of the offending scores."""
    (nlo, nhi), (clo, chi) = spec.nps_range, spec.csat_range
    bad = (f"(score IS NULL OR score <> floor(score) OR "
           f"(kind = 'nps' AND (score < {nlo} OR score > {nhi})) OR "
           f"(kind = 'csat' AND (score < {clo} OR score > {chi})))")
    return (f"SELECT kind, count(*) AS bad, list(DISTINCT score ORDER BY score)[1:3] AS examples "  # noqa: S608
            f"FROM ({answers}) WHERE {bad} GROUP BY kind ORDER BY kind")


def counts_sql(answers: str, key: str, satisfied: int, join: str = "") -> str:
    """Answer counts per ``key`` (an SQL expression over ``a`` and the ``join``ed ``g``):
    respondents, nps_answers, promoters, passives, detractors, csat_answers, satisfied,
    mean_nps_score, mean_csat_score; a CSAT answer of at least ``satisfied`` is satisfied."""
    return f"""SELECT {key} AS key,
  count(DISTINCT a.user_id) AS respondents,
  count(*) FILTER (WHERE a.kind = 'nps') AS nps_answers,
  count(*) FILTER (WHERE a.kind = 'nps' AND a.score >= {PROMOTER_MIN}) AS promoters,
  count(*) FILTER (WHERE a.kind = 'nps' AND a.score > {DETRACTOR_MAX}
                   AND a.score < {PROMOTER_MIN}) AS passives,
  count(*) FILTER (WHERE a.kind = 'nps' AND a.score <= {DETRACTOR_MAX}) AS detractors,
  count(*) FILTER (WHERE a.kind = 'csat') AS csat_answers,
  count(*) FILTER (WHERE a.kind = 'csat' AND a.score >= {int(satisfied)}) AS satisfied,
  avg(a.score) FILTER (WHERE a.kind = 'nps') AS mean_nps_score,
  avg(a.score) FILTER (WHERE a.kind = 'csat') AS mean_csat_score
FROM ({answers}) AS a {join}
GROUP BY 1 ORDER BY 1"""  # noqa: S608 - names via ident, values via literal


def group_join(table: str, column: str) -> str:
    """LEFT JOIN of one value of ``table.column`` per user as ``g.grp`` (text; the smallest
    when a user has several rows)."""
    return (f"LEFT JOIN (SELECT user_id, min(CAST({ident(column)} AS VARCHAR)) AS grp "  # noqa: S608
            f"FROM {ident(table)} GROUP BY user_id) AS g ON g.user_id = a.user_id")


def group_key(source: str, column: str) -> str:
    """The breakdown value of an answer: its own column, or the joined ``g.grp``."""
    value = f"CAST(a.{ident(column)} AS VARCHAR)" if source == "responses" else "g.grp"
    return f"coalesce({value}, {literal(NONE_LABEL)})"


def period_key(period: str, timezone: str) -> str:
    """The answer's week (Monday) or month start in the reporting time zone, as YYYY-MM-DD."""
    return (f"strftime(date_trunc({literal(period)}, timezone({literal(timezone)}, a.ts)), "
            "'%Y-%m-%d')")


def data_end_sql(tables: list[str]) -> str:
    """The data's end: the latest ``ts`` of the given tables (events, orders, responses), in
    microseconds since the epoch (UTC)."""
    parts = " UNION ALL ".join(f"SELECT max(ts) AS ts FROM {ident(t)}" for t in tables)  # noqa: S608
    return f"SELECT epoch_us(max(ts)) FROM ({parts})"  # noqa: S608


def churn_sql(answers: str, horizon_us: int) -> str:
    """Per NPS category of each user's first NPS answer (earliest ts; the lowest score on a
    tie): users, censored (answer + horizon after the data's end, bound as ``$data_end_us``, µs),
    observed, ordered_again (an order with answer < ts <= answer + horizon), orders and
    revenue in that span (observed users only; amounts summed as DECIMAL(38, 6), so the
    total is exact and the same on every run)."""
    h = f"INTERVAL ({int(horizon_us)}) MICROSECOND"
    return f"""WITH first AS (
  SELECT user_id, ts, score FROM (
    SELECT user_id, ts, score,
           row_number() OVER (PARTITION BY user_id ORDER BY ts, score) AS rn
    FROM ({answers}) WHERE kind = 'nps') WHERE rn = 1
), linked AS (
  SELECT f.user_id,
         CASE WHEN f.score >= {PROMOTER_MIN} THEN 'promoter'
              WHEN f.score > {DETRACTOR_MAX} THEN 'passive' ELSE 'detractor' END AS category,
         epoch_us(f.ts) + {int(horizon_us)} > $data_end_us AS censored,
         count(o.ts) AS orders_after,
         coalesce(sum(CAST(o.amount AS DECIMAL(38, 6))), 0) AS revenue_after
  FROM first AS f
  LEFT JOIN {ident('orders')} AS o
    ON o.user_id = f.user_id AND o.ts > f.ts AND o.ts <= f.ts + {h}
  GROUP BY f.user_id, f.ts, f.score
)
SELECT category,
  count(*) AS users,
  count(*) FILTER (WHERE censored) AS censored,
  count(*) FILTER (WHERE NOT censored) AS observed,
  count(*) FILTER (WHERE NOT censored AND orders_after > 0) AS ordered_again,
  coalesce(sum(orders_after) FILTER (WHERE NOT censored), 0) AS orders_after,
  CAST(coalesce(sum(revenue_after) FILTER (WHERE NOT censored), 0) AS DOUBLE) AS revenue_after
FROM linked GROUP BY category"""  # noqa: S608 - names via ident, values via literal
