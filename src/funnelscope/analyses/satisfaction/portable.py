"""The satisfaction queries as Ibis expressions: the SQL text of :mod:`.sql` on any engine
(PySpark, and DuckDB through Ibis).

Same relations, same semantics as :mod:`.sql` (held equal by
``tests/satisfaction/test_spark_backends.py``): the questions present, the out-of-scale
answers, the answer counts per key (overall, a group, a period, a survey) and the churn link
per NPS category. Every query aggregates in the engine; only small results come back to
Python (one row per survey × question, group, period, survey or NPS category, and at most
three example scores per kind). User values enter as Ibis literals, never as SQL text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt

from funnelscope.analyses.satisfaction.spec import DETRACTOR_MAX, PROMOTER_MIN
from funnelscope.engine.timezones import epoch_us, local_time

if TYPE_CHECKING:
    from funnelscope.analyses.satisfaction.spec import SatisfactionSpec

NONE_LABEL = "(none)"
#: Engines the Ibis path is tested on (besides DuckDB's own SQL text).
ENGINES = ("duckdb", "pyspark")


def _rows(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def question_rows(ws: Any) -> list[tuple[Any, Any, int]]:
    """(survey, question, answers) of the responses, sorted like DuckDB's ``ORDER BY ALL``
    (ascending, NULLs last)."""
    r = ws.table("responses")
    g = r.group_by(["survey", "question"]).agg(n=r.count())
    rows = [(x["survey"], x["question"], int(x["n"])) for x in _rows(g)]
    return sorted(rows, key=lambda x: (x[0] is None, x[0] if x[0] is not None else "",
                                       x[1] is None, x[1] if x[1] is not None else ""))


def answers(ws: Any, spec: SatisfactionSpec, nps: str | None, csat: str | None) -> Any:
    """:func:`.sql.answers_sql`: one row per NPS / CSAT answer, with ``kind`` ('nps' |
    'csat') after the responses' own columns."""
    r = ws.table("responses")
    cases = [(r.question == name, kind) for name, kind in ((nps, "nps"), (csat, "csat"))
             if name is not None]
    kind = ibis.cases(*cases) if cases else ibis.literal(None, "string")
    names = [n for n in (nps, csat) if n is not None]
    preds = [r.question.isin(names) if names else ibis.literal(False)]
    if spec.surveys:
        preds.append(r.survey.isin(list(spec.surveys)))
    return r.filter(*preds).mutate(kind=kind)


def invalid_rows(a: Any, spec: SatisfactionSpec) -> list[tuple[str, int, list]]:
    """:func:`.sql.invalid_sql`: per kind (sorted), the answers outside the scale or not
    whole, and up to three of the offending scores (ascending, NULL last)."""
    (nlo, nhi), (clo, chi) = spec.nps_range, spec.csat_range
    s = a.score
    bad = (s.isnull() | (s != s.floor())
           | ((a.kind == "nps") & ((s < nlo) | (s > nhi)))
           | ((a.kind == "csat") & ((s < clo) | (s > chi))))
    b = a.filter(bad).select("kind", "score")
    counts = _rows(b.group_by("kind").agg(bad=b.count()))
    if not counts:
        return []
    d = b.distinct()
    w = ibis.window(group_by=d.kind, order_by=[d.score.isnull(), d.score])
    d = d.mutate(rn=ibis.row_number().over(w))
    examples: dict[str, list] = {}
    for x in _rows(d.filter(d.rn < 3).order_by(["kind", "rn"])):
        examples.setdefault(x["kind"], []).append(x["score"])
    return [(x["kind"], int(x["bad"]), examples.get(x["kind"], []))
            for x in sorted(counts, key=lambda x: x["kind"])]


def counts(ws: Any, a: Any, key: str, satisfied: int, by: tuple[str, str] | None = None,
           period: str | None = None) -> list[dict[str, Any]]:
    """:func:`.sql.counts_sql`, one dict per key (sorted by key, as text): ``key`` is
    ``all`` (one row), ``group`` (``by`` = (table, column): an extra responses column, or
    the smallest text value per user of the customers / segments column), ``period``
    (``period``'s week Monday / month start of the answer's local date, YYYY-MM-DD) or
    ``survey``."""
    if key == "all":
        t = a.mutate(key=ibis.literal("all"))
    elif key == "group":
        source, column = by  # type: ignore[misc]
        if source == "responses":
            t = a.mutate(key=a[column].cast("string").fill_null(NONE_LABEL))
        else:
            u = ws.table(source)
            g = u.group_by(__uid=u.user_id).agg(__grp=u[column].cast("string").min())
            j = a.left_join(g, a.user_id == g["__uid"])
            t = j.mutate(key=j["__grp"].fill_null(NONE_LABEL)).drop("__uid", "__grp")
    elif key == "period":
        unit = {"week": "W", "month": "M"}[str(period)]
        t = a.mutate(key=local_time(ws, a.ts).truncate(unit).date().cast("string"))
    else:
        t = a.mutate(key=a.survey.cast("string").fill_null(NONE_LABEL))
    nps, csat = t.kind == "nps", t.kind == "csat"
    s = t.score
    g = t.group_by("key").agg(
        respondents=t.user_id.nunique(),
        nps_answers=t.count(where=nps),
        promoters=t.count(where=nps & (s >= PROMOTER_MIN)),
        passives=t.count(where=nps & (s > DETRACTOR_MAX) & (s < PROMOTER_MIN)),
        detractors=t.count(where=nps & (s <= DETRACTOR_MAX)),
        csat_answers=t.count(where=csat),
        satisfied=t.count(where=csat & (s >= int(satisfied))),
        mean_nps_score=s.cast("float64").mean(where=nps),
        mean_csat_score=s.cast("float64").mean(where=csat),
    )
    return sorted(_rows(g), key=lambda x: x["key"])


def data_end(ws: Any, tables: list[str]) -> int | None:
    """:func:`.sql.data_end_sql`: the latest ``ts`` of the tables, µs since the epoch."""
    ends = []
    for name in tables:
        t = ws.table(name)
        v = _rows(t.agg(m=epoch_us(ws, t.ts).max()))[0]["m"]
        if v is not None:
            ends.append(int(v))
    return max(ends) if ends else None


def churn_rows(ws: Any, a: Any, horizon_us: int, end_us: int | None) -> list[dict[str, Any]]:
    """:func:`.sql.churn_sql` per NPS category of each user's first NPS answer (earliest ts,
    lowest score on a tie): users, censored, observed, ordered_again, orders_after and
    revenue_after (DECIMAL(38, 6) sums, as float) of the observed users."""
    h = int(horizon_us)
    n = a.filter(a.kind == "nps")
    w = ibis.window(group_by=n.user_id, order_by=[n.ts, n.score])
    f = n.mutate(rn=ibis.row_number().over(w))
    f = f.filter(f.rn == 0)
    f = f.select(uid=f.user_id, t=epoch_us(ws, f.ts), score=f.score)
    o = ws.table("orders")
    o = o.select(ouid=o.user_id, ot=epoch_us(ws, o.ts),
                 amount=o.amount.cast(dt.Decimal(38, 6)))
    j = f.left_join(o, [f.uid == o.ouid, o.ot > f.t, o.ot <= f.t + h])
    per = j.group_by(["uid", "t", "score"]).agg(
        orders_after=j.ot.count(),
        revenue_after=j.amount.sum().fill_null(ibis.literal(0, dt.Decimal(38, 6))))
    category = ibis.cases((per.score >= PROMOTER_MIN, "promoter"),
                          (per.score > DETRACTOR_MAX, "passive"), else_="detractor")
    censored = (per.t + h > end_us) if end_us is not None else ibis.literal(None, "boolean")
    per = per.mutate(category=category, censored=censored)
    kept = ~per.censored
    g = per.group_by("category").agg(
        users=per.count(), censored=per.count(where=per.censored), observed=per.count(where=kept),
        ordered_again=per.count(where=kept & (per.orders_after > 0)),
        orders_after=per.orders_after.sum(where=kept),
        revenue_after=per.revenue_after.sum(where=kept).cast("float64"))
    out = []
    for x in _rows(g):
        x["orders_after"] = x["orders_after"] or 0
        x["revenue_after"] = x["revenue_after"] or 0.0
        out.append(x)
    return out
