"""Satisfaction gives the same JSON on DuckDB and on PySpark (local[2]) for the same data.

One small survey data set (responses of two surveys with NPS and CSAT answers, customers with
a ``tier``, orders) is loaded into a DuckDB and a Spark workspace once per module. Every
request runs on both and the JSON must be equal, floats to 12 significant digits
(aggregation order differs between engines), except what says which engine ran and how long
it took. Equality alone could hide a bug shared by both engines, so the headline numbers are
also checked against a plain-Python reference written here, answer by answer: the counts
overall and per tier, each answer's ISO week in the reporting time zone, each user's first
NPS answer and whether they ordered in the horizon after it.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.errors import ConfigError, InputError
from tests.cross_backend import assert_same, duckdb_and_spark

pytestmark = pytest.mark.spark

T0 = pd.Timestamp("2026-03-02T00:00:00Z")  # a Monday
USERS, DAYS = 120, 50
HORIZON = timedelta(days=30)
TIERS = ("gold", "silver", "bronze")


def surveys(seed: int = 5) -> dict[str, pd.DataFrame]:
    """Each user answers one or two NPS questions (some twice, one of them tied on time) and
    maybe a CSAT question, at random minutes over DAYS days; promoters order again more often
    than detractors; a tenth of the users have no customers row."""
    rng = np.random.default_rng(seed)
    responses, customers, orders = [], [], []
    for i in range(USERS):
        user = f"u{i}"
        if i % 10:
            customers.append((user, T0 - pd.Timedelta(days=60), TIERS[i % 3]))
        survey = ("post_purchase", "quarterly")[i % 2]
        t = T0 + pd.Timedelta(minutes=int(rng.integers(0, DAYS * 1440)))
        score = int(rng.integers(0, 11))
        responses.append((user, t, survey, "nps", score))
        if i % 7 == 0:  # a second answer at the same instant: the lower score is the first
            # (a different score: the loader drops exact duplicate rows)
            responses.append((user, t, survey, "nps", (score + int(rng.integers(1, 11))) % 11))
        if i % 4 == 0:
            responses.append((user, t + pd.Timedelta(days=int(rng.integers(1, 20))), survey,
                              "nps", int(rng.integers(0, 11))))
        if rng.random() < 0.6:
            responses.append((user, t + pd.Timedelta(minutes=1), survey, "csat",
                              int(rng.integers(1, 6))))
        p = 0.7 if score >= 9 else 0.45 if score >= 7 else 0.25
        for _ in range(int(rng.integers(1, 4))):
            if rng.random() < p:
                when = t + pd.Timedelta(minutes=int(rng.integers(-5000, 50000)))
                orders.append((user, when, round(float(rng.uniform(5, 200)), 2)))
    return {"responses": pd.DataFrame(responses, columns=["user_id", "ts", "survey", "question",
                                                          "score"]),
            "customers": pd.DataFrame(customers, columns=["user_id", "first_seen", "tier"]),
            "orders": pd.DataFrame(orders, columns=["user_id", "ts", "amount"])}


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return surveys()


@pytest.fixture(scope="module")
def workspaces(spark_session, data):
    """{"duckdb": ws, "pyspark": ws} holding the same tables (one Spark database per module)."""
    yield from duckdb_and_spark(spark_session, data, tz="Asia/Shanghai", prefix="fs_sat")


def both(workspaces, call) -> dict:
    """The JSON of ``call(ws)`` on DuckDB, after checking Spark gives the same."""
    duck = call(workspaces["duckdb"]).to_dict()
    spark = call(workspaces["pyspark"]).to_dict()
    assert duck["meta"]["engine"] == "duckdb" and spark["meta"]["engine"] == "pyspark"
    assert_same(duck, spark, "")
    return duck


# ----- the plain-Python reference ---------------------------------------------------------------
def reference_counts(rows: pd.DataFrame) -> dict:
    """Counts of a set of answers, answer by answer."""
    nps = [s for q, s in zip(rows.question, rows.score, strict=True) if q == "nps"]
    csat = [s for q, s in zip(rows.question, rows.score, strict=True) if q == "csat"]
    return {"respondents": rows.user_id.nunique(), "nps_answers": len(nps),
            "promoters": sum(s >= 9 for s in nps), "passives": sum(7 <= s <= 8 for s in nps),
            "detractors": sum(s <= 6 for s in nps), "csat_answers": len(csat),
            "satisfied": sum(s >= 4 for s in csat)}


def check_counts(row: dict, want: dict) -> None:
    assert {k: row[k] for k in want} == want
    n = want["nps_answers"]
    assert row["nps"] == pytest.approx(100 * (want["promoters"] - want["detractors"]) / n)


def week_of(ts: pd.Timestamp) -> str:
    local = ts.tz_convert("Asia/Shanghai").date()
    return (local - timedelta(days=local.weekday())).isoformat()


def reference_churn(data) -> dict[str, dict]:
    """Per category of each user's first NPS answer (earliest, lowest score on a tie): users,
    censored, observed, ordered_again, revenue_after."""
    r, o = data["responses"], data["orders"]
    end = max(r.ts.max(), o.ts.max())
    out = {c: {"users": 0, "censored": 0, "observed": 0, "ordered_again": 0,
               "revenue_after": 0.0} for c in ("promoter", "passive", "detractor")}
    for _user, rows in r[r.question == "nps"].groupby("user_id"):
        first = min(zip(rows.ts, rows.score, rows.user_id, strict=True))
        t, score, user = first
        c = out["promoter" if score >= 9 else "passive" if score >= 7 else "detractor"]
        c["users"] += 1
        if t + HORIZON > end:
            c["censored"] += 1
            continue
        c["observed"] += 1
        mine = o[(o.user_id == user) & (o.ts > t) & (o.ts <= t + HORIZON)]
        c["ordered_again"] += int(len(mine) > 0)
        c["revenue_after"] += float(mine.amount.sum())
    return out


# ----- the requests -----------------------------------------------------------------------------
def test_summary_and_surveys(workspaces, data):
    got = both(workspaces, lambda ws: ws.satisfaction())
    r = data["responses"]
    check_counts(got["summary"][0], reference_counts(r))
    assert [s["survey"] for s in got["surveys"]] == ["post_purchase", "quarterly"]
    for row in got["surveys"]:
        check_counts(row, reference_counts(r[r.survey == row["survey"]]))


def test_by_a_customers_column(workspaces, data):
    got = both(workspaces, lambda ws: ws.satisfaction(by="tier"))
    assert got["meta"]["by_source"] == "customers.tier"
    r = data["responses"]
    tier = dict(zip(data["customers"].user_id, data["customers"].tier, strict=True))
    labels = r.user_id.map(lambda u: tier.get(u, "(none)"))
    assert [g["group"] for g in got["groups"]] == sorted(set(labels))
    for row in got["groups"]:
        check_counts(row, reference_counts(r[labels == row["group"]]))


def test_period_week_in_the_reporting_zone(workspaces, data):
    got = both(workspaces, lambda ws: ws.satisfaction(period="week", survey="quarterly",
                                                      csat_satisfied=5))
    r = data["responses"]
    r = r[r.survey == "quarterly"]
    weeks = r.ts.map(week_of)
    assert [p["period"] for p in got["periods"]] == sorted(set(weeks))
    for row in got["periods"]:
        mine = r[weeks == row["period"]]
        want = reference_counts(mine)
        want["satisfied"] = int(((mine.question == "csat") & (mine.score == 5)).sum())
        check_counts(row, want)


def test_month_by_a_segment_column_nps_only(workspaces):
    both(workspaces, lambda ws: ws.satisfaction(by="customers.tier", period="month",
                                                csat_question=None, nps_scale="0-10"))


@pytest.mark.parametrize("horizon", ["30d", "7d"])
def test_churn_and_revenue_link(workspaces, data, horizon):
    got = both(workspaces, lambda ws: ws.satisfaction(horizon=horizon))
    if horizon != "30d":
        return
    ref = reference_churn(data)
    rows = {c["category"]: c for c in got["churn"]}
    for category, want in ref.items():
        row = rows[category]
        assert {k: row[k] for k in ("users", "censored", "observed", "ordered_again")} == \
            {k: want[k] for k in ("users", "censored", "observed", "ordered_again")}
        assert row["revenue_after"] == pytest.approx(want["revenue_after"], rel=1e-12)
    test = got["churn_test"][0]
    assert test["difference"] == pytest.approx(
        rows["detractor"]["repurchase_rate"] - rows["promoter"]["repurchase_rate"])


@pytest.mark.parametrize("engine", ["duckdb", "pyspark"])
def test_errors_are_the_same(workspaces, engine):
    ws = workspaces[engine]
    with pytest.raises(ConfigError, match="survey: no survey 'quartely'.*quarterly"):
        ws.satisfaction(survey="quartely")
    with pytest.raises(ConfigError, match="nps_question: no question 'npss'"):
        ws.satisfaction(nps_question="npss")
    with pytest.raises(ConfigError, match="by: no column 'tiers'"):
        ws.satisfaction(by="tiers")
    with pytest.raises(InputError, match=r"scores out of scale: \d+ answers of question 'csat' "
                                         r"outside 1-3 or not whole \(e\.g\. 4, 5\)"):
        ws.satisfaction(csat_scale="1-3", nps_question="nps")


REQUESTS = {
    "summary": {},
    "customers column": dict(by="tier", survey="post_purchase"),
    "week": dict(period="week", horizon="7d"),
    "month": dict(period="month", csat_satisfied=5),
}


@pytest.mark.parametrize("request_name", list(REQUESTS))
def test_the_ibis_twin_equals_the_duckdb_sql(data, monkeypatch, request_name):
    """DuckDB runs SQL text, Spark the Ibis expressions of satisfaction/portable.py: those run
    on DuckDB too and give the SQL text's JSON (no Spark needed)."""
    from funnelscope.analyses.satisfaction import run as satisfaction_run

    ws = fs.connect(tz="America/New_York")
    for name, frame in data.items():
        ws.load(frame, name)
    sql = ws.satisfaction(**REQUESTS[request_name]).to_dict()
    monkeypatch.setattr(satisfaction_run, "SQL_ON_DUCKDB", False)
    assert_same(sql, ws.satisfaction(**REQUESTS[request_name]).to_dict(), "")
