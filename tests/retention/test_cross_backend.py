"""Retention, activity, churn, AARRR and the B2B chain give identical answers on DuckDB and PySpark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnelscope.analyses.retention import aarrr, activity, b2b_chain, churn, retention


def _tables(seed: int = 3, users: int = 120) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = users * 10
    start = pd.Timestamp("2024-02-20", tz="UTC")  # spans the US DST change and month ends
    ts = start + pd.to_timedelta(rng.integers(0, 70 * 86400, n), unit="s")
    events = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "user_id": [f"u{u}" for u in rng.integers(0, users, n)],
        "event": np.array(["open", "signup", "buy", "invite", "cancel"])[rng.choice(5, n, p=[.6, .15, .1, .1, .05])],
        "ts": ts,
        "platform": np.array(["ios", "android", "网页"])[rng.integers(0, 3, n)],
    })
    customers = pd.DataFrame({"user_id": [f"u{u}" for u in range(users)],
                              "channel": np.array(["ads", "seo", "referral"])[rng.integers(0, 3, users)]})
    m = users * 2
    orders = pd.DataFrame({"order_id": [f"o{i}" for i in range(m)],
                           "user_id": [f"u{u}" for u in rng.integers(0, users, m)],
                           "ts": start + pd.to_timedelta(rng.integers(0, 70 * 86400, m), unit="s"),
                           "amount": rng.integers(1, 100, m).astype(float)})
    spend = pd.DataFrame({"date": pd.date_range("2024-02-20", periods=10).date.astype(str).tolist() * 2,
                          "channel": ["ads"] * 10 + ["seo"] * 10, "cost": rng.integers(5, 50, 20).astype(float)})
    stages = ["lead", "mql", "sql", "opportunity", "won", "renewed"]
    deals = []
    for d in range(40):
        top = int(rng.integers(0, len(stages)))
        for k in range(top + 1):
            deals.append({"deal_id": f"d{d}", "stage": stages[k], "team": ["east", "west"][d % 2],
                          "stage_entered_at": (start + pd.Timedelta(days=d + k)).isoformat(),
                          "amount": float(10 * d)})
    return {"events": events, "customers": customers, "orders": orders, "spend": spend,
            "deals": pd.DataFrame(deals)}


@pytest.fixture(scope="module")
def workspaces(request):
    """The same tables in DuckDB (loaded and validated) and in PySpark.

    The Spark side gets the DuckDB workspace's canonical tables as temporary views (writing
    managed tables through ``load`` takes most of a minute on a small machine); the data, types
    and time zone handling (UTC instants, session time zone UTC) are the same as after a load.
    """
    import funnelscope as fs

    spark = request.getfixturevalue("spark_session")
    duck = fs.connect(tz="America/New_York")
    stages = ["lead", "mql", "sql", "opportunity", "won", "renewed"]
    for name, frame in _tables().items():
        duck.load(frame, name, **({"stages": stages} if name == "deals" else {}))
    views = [f"{name}" for name in ("events", "customers", "orders", "spend", "deals")]
    for name in views:
        spark.createDataFrame(duck.table(name).to_pandas()).createOrReplaceTempView(name)
    ws = fs.connect(spark, tz="America/New_York")
    ws.config.deal_stages = list(duck.config.deal_stages)
    yield {"duckdb": duck, "pyspark": ws}
    for name in views:
        spark.catalog.dropTempView(name)


def _same(a, b):
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name].reset_index(drop=True),
                                      b.tables[name].reset_index(drop=True), check_dtype=False,
                                      obj=name)


def _both(workspaces, fn, tz, **kwargs):
    for ws in workspaces.values():
        ws.config.timezone = tz
    return fn(workspaces["duckdb"], **kwargs), fn(workspaces["pyspark"], **kwargs)


@pytest.mark.spark
def test_retention_and_activity_agree(workspaces):
    _same(*_both(workspaces, retention, "America/New_York", start="signup", returning="buy",
                 period="week", periods=4, by="platform", brackets=[1, (2, 4)]))
    _same(*_both(workspaces, retention, "Asia/Shanghai", period="month", periods=2,
                 kind="on_or_after", by="channel", first_time=False))
    _same(*_both(workspaces, activity, "America/New_York", period="week", repurchase_within=14))


@pytest.mark.spark
def test_churn_aarrr_and_b2b_agree(workspaces):
    _same(*_both(workspaces, churn, "Asia/Shanghai", cancel_event="cancel", period="week",
                 by="channel"))
    _same(*_both(workspaces, aarrr, "Asia/Shanghai", signup="signup", activation_event="buy",
                 referral_event="invite", since="2024-02-22"))
    _same(*_both(workspaces, b2b_chain, "UTC", by="team"))
