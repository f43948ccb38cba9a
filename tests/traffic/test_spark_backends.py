"""Traffic gives the same JSON on DuckDB and on PySpark (local[2]) for the same data.

One small site (events with a channel and event ids, customers with a tier, a spend table
with impressions and clicks) is loaded into a DuckDB and a Spark workspace once per module.
Every request runs on both and the JSON must be equal, floats to 12 significant digits
(aggregation order differs between engines), except what says which engine ran and how long
it took. Equality alone could hide a bug shared by both engines, so the counts are also
checked against the deliberately simple per-user reference of ``tests/traffic/oracle.py``
and the spend against sums written here.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from funnelscope.analyses.traffic import run as traffic_run
from tests.cross_backend import assert_same, duckdb_and_spark
from tests.traffic import oracle
from tests.traffic.oracle import Ev

pytestmark = pytest.mark.spark

T0 = pd.Timestamp("2026-03-02T00:00:00Z")  # a Monday
DAYS, USERS = 20, 30
MINUTE = 60_000_000
CHANNELS = ["ads", "search", "email", None]


def site(seed: int = 11) -> dict[str, pd.DataFrame]:
    """Users come back on a few days through a channel (sometimes none), view pages (some
    events share a time, some lack an event id), and sometimes pay; a customers tier per
    user (some missing); spend per day, channel and campaign (one row lacks clicks)."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(USERS):
        user = f"u{u:02d}"
        for day in sorted(rng.choice(DAYS, size=int(rng.integers(1, 5)), replace=False)):
            channel = CHANNELS[int(rng.integers(0, len(CHANNELS)))]
            t = int(day) * 1440 + int(rng.integers(0, 1300))
            for k in range(int(rng.integers(1, 6))):
                name = "visit" if k == 0 else ("view", "view", "cart", "pay")[int(rng.integers(0, 4))]
                rows.append((user, name, t, channel if k == 0 or rng.random() < 0.7 else None))
                t += int(rng.choice([0, 1, 5, 29, 30, 31, 90]))  # ties, the 30m edge, new sessions
    ev = pd.DataFrame(rows, columns=["user_id", "event", "minute", "channel"])
    ev["ts"] = T0 + pd.to_timedelta(ev.pop("minute"), unit="min")
    ids = [f"e{i:04d}" for i in range(len(ev))]
    ev.insert(0, "event_id", pd.Series([None if i % 7 == 3 else x for i, x in enumerate(ids)],
                                       dtype="string"))
    ev["channel"] = ev["channel"].astype("string")
    customers = pd.DataFrame({
        "user_id": [f"u{u:02d}" for u in range(USERS)],
        "tier": pd.Series([(None, "gold", "silver")[u % 3] for u in range(USERS)],
                          dtype="string")})
    spend = []
    for day in range(DAYS + 3):
        d = (T0 + pd.Timedelta(days=day)).date()
        spend.append((d, "ads", "feed", 10.0 + day, 1000 + 10 * day, 30 + day))
        spend.append((d, "search", "bid", 4.5, 300, None if day == 5 else 12))
        if day % 2:
            spend.append((d, "email", "news", 1.25, 800, 9))
    sp = pd.DataFrame(spend, columns=["date", "channel", "campaign", "cost", "impressions",
                                      "clicks"])
    sp["clicks"] = sp["clicks"].astype("Int64")
    return {"events": ev, "customers": customers, "spend": sp}


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return site()


@pytest.fixture(scope="module")
def workspaces(spark_session, data):
    """{"duckdb": ws, "pyspark": ws} holding the same tables (one Spark database per module)."""
    yield from duckdb_and_spark(spark_session, data, prefix="fs_traffic")


def both(workspaces, **request) -> dict:
    """The JSON of ``ws.traffic(**request)`` on DuckDB, after checking Spark gives the same."""
    duck = workspaces["duckdb"].traffic(**request).to_dict()
    spark = workspaces["pyspark"].traffic(**request).to_dict()
    assert duck["meta"]["engine"] == "duckdb"
    assert spark["meta"]["engine"] == "pyspark"
    assert_same(duck, spark, "")
    return duck


# ----- the plain-Python reference ---------------------------------------------------------------
def evs(data) -> list[Ev]:
    ev = data["events"]
    return [Ev(r.user_id, r.event, int(r.ts.value // 1000),
               None if pd.isna(r.channel) else r.channel,
               None if pd.isna(r.event_id) else r.event_id) for r in ev.itertuples()]


def us(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value // 1000)


def check(got: dict, want: dict) -> None:
    for k in ("sessions", "uv", "new_visitors", "bounces", "events", "pv", "conversions",
              "converting_users"):
        assert got[k] == want[k], k
    s = want["sessions"]
    assert got["bounce_rate"] == pytest.approx(want["bounces"] / s)
    assert got["pages_per_session"] == pytest.approx(want["pv"] / s)
    assert got["avg_session_seconds"] == pytest.approx(want["duration_us"] / s / 1e6)
    assert got["conversion_rate"] == pytest.approx(want["converting_users"] / want["uv"])


def monday(day: str) -> str:
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


# ----- the tests --------------------------------------------------------------------------------
def test_summary(workspaces, data):
    got = both(workspaces)
    want = oracle.counts(oracle.sessions(evs(data), 30 * MINUTE), {"view"}, {"pay"})
    check(got["summary"][0], want)
    assert want["sessions"] > want["uv"] > 0 and want["bounces"] > 0  # the data is not trivial


def test_by_channel_with_spend_impressions_and_clicks(workspaces, data):
    got = both(workspaces, by="channel")
    sess = oracle.sessions(evs(data), 30 * MINUTE)
    expected = oracle.grouped(sess, lambda s: s["group"], {"view"}, {"pay"})
    groups = {g["group"]: g for g in got["groups"]}
    assert set(groups) == set(expected) and "(none)" in groups
    for k, w in expected.items():
        check(groups[k], w)
    assert got["meta"]["spend_key"] == "channel"
    sp = data["spend"]
    for channel in ("ads", "email"):
        mine = sp[sp.channel == channel]
        g = groups[channel]
        assert g["cost"] == pytest.approx(mine.cost.sum())
        assert g["impressions"] == pytest.approx(mine.impressions.sum())
        assert g["clicks"] == pytest.approx(mine.clicks.sum())
        assert g["ctr"] == pytest.approx(mine.clicks.sum() / mine.impressions.sum())
        assert g["cpm"] == pytest.approx(1000 * mine.cost.sum() / mine.impressions.sum())
        assert g["cost_per_conversion"] == (
            pytest.approx(mine.cost.sum() / g["conversions"]) if g["conversions"] else None)
    # search has a row without clicks: clicks, CTR and CPC are null, never 0
    assert groups["search"]["clicks"] is None and groups["search"]["cpc"] is None
    assert groups["search"]["impressions"] == pytest.approx(sp[sp.channel == "search"]
                                                            .impressions.sum())
    assert any("lacks clicks" in n for n in got["meta"]["notes"])


def test_by_campaign_spend_in_a_range(workspaces, data):
    got = both(workspaces, by="customers.tier", start="2026-03-04", end="2026-03-15")
    assert got["meta"]["spend_days"] == {"first": "2026-03-04", "last": "2026-03-14"}
    sp = data["spend"]
    inside = sp[(sp.date >= date(2026, 3, 4)) & (sp.date <= date(2026, 3, 14))]
    assert got["summary"][0]["cost"] == pytest.approx(inside.cost.sum())
    sess = oracle.sessions(evs(data), 30 * MINUTE, us("2026-03-04"), us("2026-03-15"),
                           dict(zip(data["customers"].user_id,
                                    [None if pd.isna(t) else t for t in data["customers"].tier],
                                    strict=True)))
    expected = oracle.grouped(sess, lambda s: s["group"], {"view"}, {"pay"})
    groups = {g["group"]: g for g in got["groups"]}
    assert set(groups) == set(expected)
    for k, w in expected.items():
        check(groups[k], w)
        assert groups[k]["cost"] is None  # spend is not split by tier


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_period_alone_and_by_channel(workspaces, data, period):
    sess = oracle.sessions(evs(data), 30 * MINUTE)
    key = {"day": lambda d: d, "week": monday, "month": lambda d: d[:8] + "01"}[period]
    got = both(workspaces, period=period)
    rows = {p["period"]: p for p in got["periods"]}
    expected = oracle.grouped(sess, lambda s: key(s["day"]), {"view"}, {"pay"})
    assert list(rows) == sorted(expected)
    for k, w in expected.items():
        check(rows[k], w)
    got = both(workspaces, period=period, by="channel")
    rows = {(p["period"], p["group"]): p for p in got["periods"]}
    expected = oracle.grouped(sess, lambda s: (key(s["day"]), s["group"]), {"view"}, {"pay"})
    assert list(rows) == sorted(expected)
    for k, w in expected.items():
        check(rows[k], w)


def test_other_gap_and_event_names(workspaces, data):
    got = both(workspaces, by="channel", session_gap="10m", page_event=["view", "visit"],
               conversion_event="cart")
    sess = oracle.sessions(evs(data), 10 * MINUTE)
    check(got["summary"][0], oracle.counts(sess, {"view", "visit"}, {"cart"}))


def test_the_portable_code_on_duckdb_is_the_sql(workspaces, monkeypatch):
    """The Ibis relations run on DuckDB too (SQL_ON_DUCKDB off) and give the SQL's JSON."""
    ws = workspaces["duckdb"]
    request = {"by": "channel", "period": "week", "start": "2026-03-03"}
    want = ws.traffic(**request).to_dict()
    monkeypatch.setattr(traffic_run, "SQL_ON_DUCKDB", False)
    assert_same(want, ws.traffic(**request).to_dict(), "")
