"""Run a satisfaction analysis on a workspace: small aggregates in the engine, then the scores
and their intervals from the counts (docs/metrics.md, "Satisfaction").

DuckDB runs the SQL text of :mod:`.sql`; PySpark (and DuckDB with ``SQL_ON_DUCKDB`` off) the
Ibis expressions of :mod:`.portable`, which compute the same small aggregates in the engine.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from funnelscope.analyses.satisfaction import sql as Q
from funnelscope.analyses.satisfaction.result import SatisfactionResult
from funnelscope.analyses.satisfaction.spec import CATEGORIES, CONFIDENCE, SatisfactionSpec
from funnelscope.errors import ConfigError, InputError, MissingTableError, SpecError

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

COUNTS = ["respondents", "nps_answers", "promoters", "passives", "detractors", "csat_answers",
          "satisfied", "mean_nps_score", "mean_csat_score"]
SCORES = ["nps", "nps_ci_low", "nps_ci_high", "promoter_share", "passive_share",
          "detractor_share", "csat", "csat_ci_low", "csat_ci_high"]
CHURN_COLUMNS = ["category", "users", "censored", "observed", "ordered_again",
                 "repurchase_rate", "repurchase_ci_low", "repurchase_ci_high", "churn_rate",
                 "orders_after", "revenue_after", "revenue_per_user"]
TEST_COLUMNS = ["comparison", "detractor_rate", "promoter_rate", "difference", "ci_low",
                "ci_high", "z", "p_value", "churn_difference", "revenue_per_user_difference"]
_RESPONSE_FIXED = {"response_id", "user_id", "ts", "question", "score", "comment"}
#: DuckDB runs the SQL text of :mod:`.sql` (True) or the Ibis expressions of :mod:`.portable`
#: that Spark runs (False). Both give the same JSON (tests/satisfaction/test_spark_backends.py);
#: the SQL text has no Ibis compilation cost, so DuckDB keeps it.
SQL_ON_DUCKDB = True


def nps_interval(promoters: int, detractors: int, answers: int,
                 confidence: float = CONFIDENCE) -> tuple[float | None, float | None, float | None]:
    """NPS in points (−100..100) with its normal interval: (nps, low, high).

    NPS = 100 (p_P − p_D) with p_P = promoters / answers, p_D = detractors / answers. Each
    answer scores +1, 0 or −1, so the estimate is a mean of a trinomial variable with variance
    p_P + p_D − (p_P − p_D)²; the standard error is sqrt(that / answers) and the interval
    NPS ± z·se, clipped to [−100, 100]. All None without answers.
    """
    if answers <= 0:
        return None, None, None
    p, d = promoters / answers, detractors / answers
    nps = p - d
    se = math.sqrt(max(p + d - nps * nps, 0.0) / answers)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    return 100 * nps, 100 * max(-1.0, nps - z * se), 100 * min(1.0, nps + z * se)


def scores(row: dict[str, Any]) -> dict[str, Any]:
    """The score columns of one row of counts: NPS (points) with its interval, the category
    shares (fractions of NPS answers) and CSAT (fraction of CSAT answers satisfied) with its
    95% Wilson interval."""
    from funnelscope.analyses.stats import wilson_interval

    n, c = int(row["nps_answers"]), int(row["csat_answers"])
    nps, low, high = nps_interval(int(row["promoters"]), int(row["detractors"]), n)
    csat_low, csat_high = wilson_interval(int(row["satisfied"]), c, CONFIDENCE)
    return {
        "nps": nps, "nps_ci_low": low, "nps_ci_high": high,
        "promoter_share": row["promoters"] / n if n else None,
        "passive_share": row["passives"] / n if n else None,
        "detractor_share": row["detractors"] / n if n else None,
        "csat": row["satisfied"] / c if c else None, "csat_ci_low": csat_low,
        "csat_ci_high": csat_high,
    }


def satisfaction(
    ws: Workspace,
    by: str | None = None,
    period: str | None = None,
    survey: str | list[str] | None = None,
    nps_question: str | None = None,
    csat_question: str | None = None,
    nps_scale: str = "0-10",
    csat_scale: str = "1-5",
    csat_satisfied: int | None = None,
    horizon: str = "30d",
) -> SatisfactionResult:
    """Customer satisfaction from the ``responses`` table: NPS and CSAT, by segment, over time,
    per survey, and linked to repurchase and revenue.

    NPS (points, −100..100) = % promoters (9-10) − % detractors (0-6) of the NPS answers, with
    a 95% interval from the trinomial variance; CSAT (fraction) = share of CSAT answers of at
    least ``csat_satisfied`` (default the top two boxes: 4-5 of 1-5), with a 95% Wilson
    interval. Every answer counts (a user answering twice counts twice). by: a customers
    column, a saved segment, or an extra responses column. period: week | month trend (by the
    answer's local date). survey: only these surveys. nps_question / csat_question: the
    question names (default ``nps`` / ``csat`` when present; a name given must exist).
    horizon: with an orders table, each user's first NPS answer is linked to their orders in
    (answer, answer + horizon]: per category the share who ordered again, the churn rate (1 −
    that) and the revenue per user, users whose horizon passes the data's end excluded; plus a
    two-proportion test of detractors against promoters. Runs on DuckDB and PySpark.

    >>> ws.satisfaction(by="channel", period="month")
    """
    started = time.perf_counter()
    spec = SatisfactionSpec(by=by, period=period, surveys=survey, nps_question=nps_question,
                            csat_question=csat_question, nps_scale=nps_scale,
                            csat_scale=csat_scale, csat_satisfied=csat_satisfied, horizon=horizon)
    sql = ws.engine == "duckdb" and SQL_ON_DUCKDB
    if ws.engine not in ("duckdb", "pyspark"):
        raise SpecError(f"satisfaction runs on DuckDB and PySpark, not on {ws.engine}.",
                        hint="Load the responses into a DuckDB workspace (funnelscope load FILE "
                             "--table responses --workspace W.duckdb) or connect to Spark.")
    if not ws.has_table("responses"):
        raise MissingTableError(
            "the workspace has no 'responses' table: satisfaction needs survey answers.",
            hint=f"Load them with: funnelscope load FILE --table responses --workspace "
                 f"{ws.path or 'W'} (columns user_id, ts, survey, question, score).")
    con = ws.duckdb if sql else None
    if not sql:  # imported here: the DuckDB SQL path never pays for Ibis compilation
        from funnelscope.analyses.satisfaction import portable as P
    nps_q, csat_q, present = _questions(con, spec, None if sql else P.question_rows(ws))
    answers: Any = Q.answers_sql(spec, nps_q, csat_q) if sql else \
        P.answers(ws, spec, nps_q, csat_q)
    _check_scores(con, answers, spec, nps_q, csat_q,
                  None if sql else P.invalid_rows(answers, spec))
    satisfied = spec.satisfied_min

    def table(key: str, join: str = "", name: str = "key", portable: tuple = ("all",)) -> Any:
        import pandas as pd

        if sql:
            cur = con.execute(Q.counts_sql(answers, key, satisfied, join))
            cols = [d[0] for d in cur.description]
            rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        else:
            rows = P.counts(ws, answers, portable[0], satisfied, *portable[1:])
        out = [{name: r["key"], **{c: r[c] for c in COUNTS}, **scores(r)} for r in rows]
        return pd.DataFrame(out, columns=[name, *COUNTS, *SCORES])

    tables = {"summary": table("'all'").drop(columns=["key"])}
    source = None
    if spec.by is not None:
        source, column = _group_source(ws, spec.by)
        join = "" if source == "responses" else Q.group_join(source, column)
        tables["groups"] = table(Q.group_key(source, column), join, "group",
                                 ("group", (source, column)))
    if spec.period is not None:
        tables["periods"] = table(Q.period_key(spec.period, ws.config.timezone), name="period",
                                  portable=("period", None, spec.period))
    tables["surveys"] = table(f"coalesce(a.survey, {Q.literal(Q.NONE_LABEL)})", name="survey",
                              portable=("survey",))
    meta: dict[str, Any] = {
        "nps_question": nps_q, "csat_question": csat_q, "questions_present": present,
        "nps_scale": spec.nps_scale, "csat_scale": spec.csat_scale, "csat_satisfied_min": satisfied,
        "confidence": CONFIDENCE, "by_source": f"{source}.{spec.by.split('.')[-1]}" if source else None,
        "timezone": ws.config.timezone, "engine": ws.engine,
    }
    if nps_q is not None and ws.has_table("orders"):
        churn, test, end = _churn(ws, answers, spec, sql)
        tables["churn"], tables["churn_test"] = churn, test
        meta.update(data_end=end, horizon=spec.horizon)
    else:
        meta["churn_note"] = ("no NPS question in the answers" if nps_q is None else
                              "no orders table: load orders to link answers to repurchase "
                              "and revenue")
    meta["elapsed_s"] = round(time.perf_counter() - started, 4)
    return SatisfactionResult(spec=spec, tables=tables, meta=meta)


def _questions(con: Any, spec: SatisfactionSpec, rows: list | None = None,
               ) -> tuple[str | None, str | None, dict[str, int]]:
    """(nps question, csat question, {question: answers}) after checking the names given;
    ``rows``: (survey, question, answers) already counted (the Ibis path), else by SQL."""
    from funnelscope.analyses.registry import suggest

    if rows is None:
        rows = con.execute(f"SELECT survey, question, count(*) FROM {Q.ident('responses')} "  # noqa: S608
                           "GROUP BY ALL ORDER BY ALL").fetchall()
    surveys = sorted({s for s, _, _ in rows if s is not None})
    for s in spec.surveys:
        if s not in surveys:
            raise ConfigError(f"survey: no survey {s!r} in the responses.{suggest(s, surveys)}",
                              hint=f"Surveys: {', '.join(surveys) or '(none named)'}.")
    present: dict[str, int] = {}
    for s, q, n in rows:
        if not spec.surveys or s in spec.surveys:
            present[q] = present.get(q, 0) + int(n)
    names = sorted(present)
    chosen = []
    for given, default, option in ((spec.nps_question, "nps", "nps_question"),
                                   (spec.csat_question, "csat", "csat_question")):
        if given is None:
            chosen.append(default if default in present else None)
        elif given not in present:
            where = f" of survey {', '.join(map(repr, spec.surveys))}" if spec.surveys else ""
            raise ConfigError(
                f"{option}: no question {given!r} in the responses{where}.{suggest(given, names)}",
                hint=f"Questions present: {', '.join(names) or '(none)'}.")
        else:
            chosen.append(given)
    if chosen == [None, None]:
        raise ConfigError(
            "no NPS or CSAT answers: the responses have no question 'nps' or 'csat'"
            + (" in the surveys asked for." if spec.surveys else "."),
            hint=f"Name yours with --nps-question / --csat-question; questions present: "
                 f"{', '.join(names) or '(none)'}.")
    return chosen[0], chosen[1], present


def _check_scores(con: Any, answers: Any, spec: SatisfactionSpec, nps: str | None,
                  csat: str | None, rows: list | None = None) -> None:
    """Raise InputError when an answer's score is outside its scale or not a whole number;
    ``rows``: (kind, bad, examples) already found (the Ibis path), else by SQL."""
    if rows is None:
        rows = con.execute(Q.invalid_sql(answers, spec)).fetchall()
    if not rows:
        return
    names = {"nps": (nps, spec.nps_scale, "--nps-scale"), "csat": (csat, spec.csat_scale,
                                                                    "--csat-scale")}
    parts, options = [], []
    for kind, bad, examples in rows:
        question, scale, option = names[kind]
        shown = ", ".join(f"{v:g}" if v is not None else "null" for v in examples)
        parts.append(f"{bad} answer{'s' if bad != 1 else ''} of question {question!r} "
                     f"outside {scale} or not whole (e.g. {shown})")
        options.append(option)
    raise InputError(
        f"scores out of scale: {'; '.join(parts)}. They are not dropped silently.",
        hint=f"Fix or remove those rows, or give the real scale with {' / '.join(options)} "
             "(e.g. --csat-scale 1-7).")


def _group_source(ws: Workspace, by: str) -> tuple[str, str]:
    """(table, column) that ``by`` names: an extra responses column, a customers column, or a
    saved segment (``responses.x`` / ``customers.x`` / ``segments.x`` to say which)."""
    from funnelscope.analyses.registry import suggest

    prefixes = ("responses.", "customers.", "segments.")
    table, _, column = by.partition(".") if by.startswith(prefixes) else ("", "", by)
    found: dict[str, list[str]] = {}
    for t in ("responses", "customers", "segments"):
        if ws.has_table(t):
            cols = [c for c in ws.columns(t) if c != "user_id"]
            found[t] = [c for c in cols if c not in _RESPONSE_FIXED] if t == "responses" else cols
    for t in ("responses", "customers", "segments"):
        if table in ("", t) and column in found.get(t, []):
            return t, column
    names = sorted({c for cols in found.values() for c in cols})
    raise ConfigError(
        f"by: no column {by!r} in the responses, the customers table or saved segments."
        f"{suggest(column, names)}",
        hint=f"Columns available: {', '.join(names) or '(none: load a customers table)'}.")


def _churn(ws: Workspace, answers: Any, spec: SatisfactionSpec,
           sql: bool = True) -> tuple[Any, Any, Any]:
    """The churn table (per NPS category), the detractor-vs-promoter test and the data's end
    (SQL text on DuckDB, else the Ibis expressions of :mod:`.portable`)."""
    import pandas as pd

    from funnelscope.analyses.experiment.stats import absolute_lift, z_test_pooled
    from funnelscope.analyses.stats import wilson_interval

    with_ts = [t for t in ("events", "orders", "responses") if ws.has_table(t)]
    if sql:
        con = ws.duckdb
        end = con.execute(Q.data_end_sql(with_ts)).fetchone()[0]
        cur = con.execute(Q.churn_sql(answers, spec.horizon_us), {"data_end_us": end})
        cols = [d[0] for d in cur.description]
        got = {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
    else:
        from funnelscope.analyses.satisfaction import portable as P

        end = P.data_end(ws, with_ts)
        got = {r["category"]: r for r in P.churn_rows(ws, answers, spec.horizon_us, end)}
    rows = []
    for category in CATEGORIES:
        r = got.get(category, {"users": 0, "censored": 0, "observed": 0, "ordered_again": 0,
                               "orders_after": 0, "revenue_after": 0.0})
        n, k = int(r["observed"]), int(r["ordered_again"])
        low, high = wilson_interval(k, n, CONFIDENCE)
        rows.append({
            "category": category, "users": int(r["users"]), "censored": int(r["censored"]),
            "observed": n, "ordered_again": k, "repurchase_rate": k / n if n else None,
            "repurchase_ci_low": low, "repurchase_ci_high": high,
            "churn_rate": 1 - k / n if n else None, "orders_after": int(r["orders_after"]),
            "revenue_after": float(r["revenue_after"]),
            "revenue_per_user": float(r["revenue_after"]) / n if n else None,
        })
    churn = pd.DataFrame(rows, columns=CHURN_COLUMNS)
    d, p = rows[2], rows[0]
    test: dict[str, Any] = dict.fromkeys(TEST_COLUMNS)
    test.update(comparison="detractor vs promoter", detractor_rate=d["repurchase_rate"],
                promoter_rate=p["repurchase_rate"])
    if d["observed"] and p["observed"]:
        lift = absolute_lift(p["ordered_again"], p["observed"], d["ordered_again"], d["observed"],
                             alpha=1 - CONFIDENCE)
        z, pv = z_test_pooled(p["ordered_again"], p["observed"], d["ordered_again"], d["observed"])
        test.update(difference=lift.estimate, ci_low=lift.ci_low, ci_high=lift.ci_high, z=z,
                    p_value=pv, churn_difference=-lift.estimate,
                    revenue_per_user_difference=d["revenue_per_user"] - p["revenue_per_user"])
    shown = None if end is None else \
        datetime.fromtimestamp(end / 1_000_000, UTC).isoformat()
    return churn, pd.DataFrame([test], columns=TEST_COLUMNS), shown
