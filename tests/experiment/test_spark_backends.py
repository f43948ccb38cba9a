"""Experiments, funnel comparison, watch and benchmark give the same JSON on DuckDB and on
PySpark (local[2]) for the same data.

One small shop (events, orders, exposures, customers) is loaded into a DuckDB and a Spark
workspace once per module. Every request runs on both and the JSON must be equal, floats to
12 significant digits (aggregation order differs between engines), except what says which
engine ran and how long it took. Equality alone could hide a bug shared by both engines, so
the headline numbers are also checked against a plain-Python reference written here: each
user's first exposure, whether they paid within the window after it, their revenue in it;
the entrants of each compared period; the day with the injected drop.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.errors import ConfigError, FunnelscopeError
from tests.cross_backend import assert_same, duckdb_and_spark

pytestmark = pytest.mark.spark

T0 = pd.Timestamp("2026-01-05T00:00:00Z")  # a Monday
DAYS, PER_DAY, DROP_DAY = 42, 10, 38  # the drop: nobody who enters on DROP_DAY pays
WINDOW = timedelta(days=1)


def shop(seed: int = 3) -> dict[str, pd.DataFrame]:
    """Users enter one a time each day (a ``view`` with the user's ``platform`` and
    ``variant``), are exposed to ``checkout`` five minutes before, may ``cart`` and ``pay``
    (B pays more often); some carted and ordered the day before (the CUPED pre-period); a
    fifth come back to ``login`` in March (so whole months of churn are measurable)."""
    rng = np.random.default_rng(seed)
    events, exposures, orders, customers = [], [], [], []

    def minutes(m):
        return pd.Timedelta(minutes=int(m))

    for day in range(DAYS):
        for i in range(PER_DAY):
            user = f"u{day}_{i}"
            variant = "B" if rng.random() < 0.5 else "A"
            platform = ("web", "app")[i % 2]
            t = T0 + pd.Timedelta(days=day) + minutes(rng.integers(0, 1380))
            customers.append((user, variant, ("gold", "silver", "bronze")[i % 3]))
            exposures.append((user, "checkout", variant, t - minutes(5)))
            events.append((user, "view", t, variant, platform))
            if rng.random() < 0.5:
                events.append((user, "cart", t - minutes(rng.integers(60, 1400)), None, None))
                orders.append((user, t - minutes(rng.integers(60, 1400)), float(rng.integers(5, 50))))
            if rng.random() < 0.7:
                cart = t + minutes(rng.integers(1, 120))
                events.append((user, "cart", cart, None, None))
                paid = (0.8 if variant == "B" else 0.6) * (day != DROP_DAY)
                if rng.random() < paid:
                    pay = cart + minutes(rng.integers(1, 300))
                    events.append((user, "pay", pay, None, None))
                    orders.append((user, pay, float(rng.integers(10, 200))))
            if i % 5 == 0:
                events.append((user, "login", T0 + pd.Timedelta(days=int(rng.integers(60, 95))),
                               None, None))
    ev = pd.DataFrame(events, columns=["user_id", "event", "ts", "variant", "platform"])
    ev.insert(0, "event_id", [f"e{i}" for i in range(len(ev))])
    od = pd.DataFrame(orders, columns=["user_id", "ts", "amount"])
    od.insert(0, "order_id", [f"o{i}" for i in range(len(od))])
    return {"events": ev, "orders": od,
            "exposures": pd.DataFrame(exposures, columns=["user_id", "experiment", "variant", "ts"]),
            "customers": pd.DataFrame(customers, columns=["user_id", "arm", "tier"])}


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return shop()


@pytest.fixture(scope="module")
def workspaces(spark_session, data):
    """{"duckdb": ws, "pyspark": ws} holding the same tables (one Spark database per module)."""
    yield from duckdb_and_spark(spark_session, data, prefix="fs_exp")


def both(workspaces, call) -> dict:
    """The JSON of ``call(ws)`` on DuckDB, after checking Spark gives the same."""
    duck = call(workspaces["duckdb"]).to_dict()
    spark = call(workspaces["pyspark"]).to_dict()
    assert duck["meta"].get("engine", "duckdb") == "duckdb"  # watch's meta names no engine
    assert spark["meta"].get("engine", "pyspark") == "pyspark"
    assert_same(duck, spark, "")
    return duck


# ----- the plain-Python reference ---------------------------------------------------------------
def exposed_users(data) -> dict[str, dict]:
    """Per user of ``checkout``: variant, paid (a view then a pay, in order, within the window
    after the first exposure), revenue in [exposure, exposure + window]."""
    x = data["exposures"]
    first = x.sort_values("ts").groupby("user_id").first()
    ev, od = data["events"], data["orders"]
    out = {}
    for user, row in first.iterrows():
        lo, hi = row["ts"], row["ts"] + WINDOW
        mine = ev[(ev.user_id == user) & (ev.ts >= lo) & (ev.ts <= hi)]
        views = mine[mine.event == "view"].ts
        pays = mine[mine.event == "pay"].ts
        paid = any((pays >= v).any() for v in views)
        o = od[(od.user_id == user) & (od.ts >= lo) & (od.ts <= hi)]
        out[user] = {"variant": row["variant"], "paid": paid, "revenue": float(o.amount.sum())}
    return out


# ----- experiments ------------------------------------------------------------------------------
def test_experiment_from_exposures_all_metrics_and_cuped(workspaces, data):
    got = both(workspaces, lambda ws: ws.experiment(
        experiment="checkout", steps=["view", "pay"], window="1d", cuped=True,
        metrics=["conversion", "count:cart", "revenue"]))
    ref = exposed_users(data)
    variants = {(v["metric"], v["variant"]): v for v in got["variants"]}
    for arm in ("A", "B"):
        users = [u for u in ref.values() if u["variant"] == arm]
        conv = variants[("conversion", arm)]
        assert (conv["users"], conv["conversions"]) == (len(users), sum(u["paid"] for u in users))
        revenue = variants[("revenue", arm)]
        assert revenue["mean"] == pytest.approx(np.mean([u["revenue"] for u in users]), rel=1e-12)
    assert {c["metric"] for c in got["comparisons"]} == {"conversion", "count:cart", "revenue"}
    assert all(c.get("cuped") for c in got["comparisons"] if c["metric"] != "conversion")


def test_experiment_any_order_within_dates(workspaces):
    both(workspaces, lambda ws: ws.experiment(
        experiment="checkout", steps=["cart", "pay"], window="1d", mode="any",
        start="2026-01-10", end="2026-02-01", correction="bh"))


def test_experiment_by_an_events_variant_column(workspaces):
    got = both(workspaces, lambda ws: ws.experiment(
        variant_column="variant", steps=["view", "pay"], window="1d",
        metrics=["conversion", "revenue"], cuped=True))
    assert got["meta"]["variant_source"] == "events"
    assert got["meta"]["users_entered"] == DAYS * PER_DAY


def test_experiment_by_a_customers_column_strict(workspaces):
    got = both(workspaces, lambda ws: ws.experiment(
        variant_column="arm", steps=["view", "cart", "pay"], window="1d", mode="strict",
        metrics=["conversion", "count:pay"]))
    assert got["meta"]["variant_source"] == "customers"


def test_sample_size_traffic(workspaces, data):
    from funnelscope.analyses.experiment.requests import daily_entrants

    duck, spark = (daily_entrants(workspaces[e], "view", days=14) for e in ("duckdb", "pyspark"))
    assert_same(duck, spark)
    views = data["events"][data["events"].event == "view"]
    recent = views[views.ts > views.ts.max() - pd.Timedelta(days=14)]
    assert duck["users"] == recent.user_id.nunique() and duck["daily_users"] == duck["users"] / 14


@pytest.mark.parametrize("engine", ["duckdb", "pyspark"])
def test_experiment_errors_are_the_same(workspaces, engine):
    ws = workspaces[engine]
    with pytest.raises(FunnelscopeError, match="pya"):
        ws.experiment(experiment="checkout", steps=["view", "pya"])
    with pytest.raises(ConfigError, match="no experiment named 'chekout'.*checkout"):
        ws.experiment(experiment="chekout", steps=["pay"])
    with pytest.raises(ConfigError, match="variant-column: no column 'arms'"):
        ws.experiment(variant_column="arms", steps=["view", "pay"])


EXPERIMENTS = {
    "exposures": dict(experiment="checkout", steps=["view", "pay"], window="1d", cuped=True,
                      metrics=["conversion", "count:cart", "revenue"]),
    "any order": dict(experiment="checkout", steps=["cart", "pay"], window="1d", mode="any",
                      start="2026-01-10", end="2026-02-01", cuped=True),
    "events column": dict(variant_column="variant", steps=["view", "pay"], window="1d",
                          metrics=["conversion", "revenue"], cuped=True),
    "customers column": dict(variant_column="arm", steps=["view", "cart", "pay"], window="1d",
                             mode="strict", metrics=["conversion", "count:pay"]),
}


@pytest.mark.parametrize("request_name", list(EXPERIMENTS))
def test_the_ibis_twin_equals_the_duckdb_sql(data, monkeypatch, request_name):
    """DuckDB runs SQL text, Spark the Ibis relations of experiment/portable.py: the Ibis
    relations run on DuckDB too and give the SQL text's JSON (no Spark needed)."""
    from funnelscope.analyses.experiment import run as experiment_run

    ws = fs.connect()
    for name, frame in data.items():
        ws.load(frame, name)
    sql = ws.experiment(**EXPERIMENTS[request_name]).to_dict()
    monkeypatch.setattr(experiment_run, "SQL_ON_DUCKDB", False)
    assert_same(sql, ws.experiment(**EXPERIMENTS[request_name]).to_dict(), "")


# ----- funnel comparison -------------------------------------------------------------------------
def test_compare_periods(workspaces, data):
    got = both(workspaces, lambda ws: ws.funnel(
        ["view", "cart", "pay"], "1d", compare="period:2026-01-05..2026-01-18,2026-01-19..2026-02-01"))
    views = data["events"][data["events"].event == "view"].ts
    expected = [int(((views >= pd.Timestamp(a, tz="UTC")) &
                     (views < pd.Timestamp(b, tz="UTC"))).sum())
                for a, b in (("2026-01-05", "2026-01-19"), ("2026-01-19", "2026-02-02"))]
    assert [f["steps"][0]["entities"] for f in got["funnels"]] == expected


def test_compare_before_and_by_groups(workspaces):
    both(workspaces, lambda ws: ws.funnel(["view", "pay"], "1d", compare="before:2026-01-26"))
    got = both(workspaces, lambda ws: ws.funnel(["view", "cart", "pay"], "1d",
                                                compare_by="platform"))
    assert [f["label"] for f in got["funnels"]] == ["app", "web"]
    got = both(workspaces, lambda ws: ws.funnel(["view", "pay"], "1d", compare_by="tier"))
    assert [f["label"] for f in got["funnels"]] == ["bronze", "gold", "silver"]


# ----- watch and benchmark ------------------------------------------------------------------------
def test_watch_finds_the_drop_on_both(workspaces):
    got = both(workspaces, lambda ws: ws.watch(["view", "pay"], window="1d", since="14d",
                                               min_entrants=5, by="platform"))
    drop = (T0 + pd.Timedelta(days=DROP_DAY)).date().isoformat()
    found = {a["date"]: a for a in got["alerts"] if a["metric"] == "conversion:pay"}
    assert drop in found  # (10 entrants a day: a noisy day may alert too, on both engines)
    assert found[drop]["observed"] == 0.0 and found[drop]["direction"] == "down"
    assert {s["segment"] for s in found[drop]["top_segments"]} == {"app", "web"}


def test_watch_metrics_of_the_yml(workspaces, data):
    from funnelscope.definitions import MetricDefinition

    metrics = {"revenue": MetricDefinition("revenue", "orders", "sum", "amount"),
               "big_orders": MetricDefinition("big_orders", "orders", "count",
                                              where={"amount": [">", 100]}),
               "aov": MetricDefinition("aov", "orders", "mean", "amount")}
    got = both(workspaces, lambda ws: ws.watch(metrics=list(metrics), since="14d",
                                               metric_definitions=metrics))
    od = data["orders"]
    daily = od.groupby(od.ts.dt.date.map(lambda d: d.isoformat())).amount.sum()
    rows = [r for r in got["series"] if r["metric"] == "revenue"]
    assert len(rows) == 14
    assert all(r["observed"] == pytest.approx(daily.get(r["date"], 0.0), rel=1e-12) for r in rows)


def test_watch_hourly_funnel_and_metric(workspaces):
    from funnelscope.definitions import MetricDefinition

    metrics = {"orders": MetricDefinition("orders", "orders", "count")}
    got = both(workspaces, lambda ws: ws.watch(["view", "pay"], window="1d", every="hour",
                                               since="3d", min_entrants=1, metrics=["orders"],
                                               metric_definitions=metrics))
    assert {r["metric"] for r in got["series"]} == {"entrants", "conversion:pay", "orders"}


@pytest.mark.parametrize("kwargs", [
    dict(industry="ecommerce"),
    dict(industry="saas", signup_event="view", click_event="cart", activation_event="pay"),
])
def test_benchmark(workspaces, kwargs):
    got = both(workspaces, lambda ws: ws.benchmark(**kwargs))
    rows = {r["metric"]: r for r in got["comparison"]}
    assert rows["repurchase_rate"]["yours"] is not None
    assert rows["monthly_churn"]["yours"] is not None
