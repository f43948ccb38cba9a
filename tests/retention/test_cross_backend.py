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
def frames():
    return _tables()


def _workspaces(make_workspace, frames, tz="America/New_York"):
    loads = {"deals": {"stages": ["lead", "mql", "sql", "opportunity", "won", "renewed"]}}
    return {b: make_workspace(frames, backend=b, tz=tz, **loads) for b in ("duckdb", "pyspark")}


def _same(a, b):
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name].reset_index(drop=True),
                                      b.tables[name].reset_index(drop=True), check_dtype=False,
                                      obj=name)


@pytest.mark.spark
def test_retention_and_activity_agree(make_workspace, frames):
    ws = _workspaces(make_workspace, frames)
    cases = [
        dict(period="day", periods=10, brackets=[1, (2, 7)]),
        dict(start="signup", returning="buy", period="week", periods=4, by="platform"),
        dict(period="month", periods=2, kind="on_or_after", by="channel", first_time=False),
    ]
    for case in cases:
        _same(retention(ws["duckdb"], **case), retention(ws["pyspark"], **case))
    _same(activity(ws["duckdb"], period="week", repurchase_within=14),
          activity(ws["pyspark"], period="week", repurchase_within=14))


@pytest.mark.spark
def test_churn_aarrr_and_b2b_agree(make_workspace, frames):
    ws = _workspaces(make_workspace, frames, tz="Asia/Shanghai")
    _same(churn(ws["duckdb"], inactivity_days=14, period="week", by="channel"),
          churn(ws["pyspark"], inactivity_days=14, period="week", by="channel"))
    _same(churn(ws["duckdb"], cancel_event="cancel"), churn(ws["pyspark"], cancel_event="cancel"))
    opts = dict(signup="signup", activation_event="buy", referral_event="invite", since="2024-02-22")
    _same(aarrr(ws["duckdb"], **opts), aarrr(ws["pyspark"], **opts))
    _same(b2b_chain(ws["duckdb"], by="team"), b2b_chain(ws["pyspark"], by="team"))
