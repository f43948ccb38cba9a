"""Activity: DAU/WAU/MAU, stickiness, frequency, lifecycle, streaks and repurchase."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelscope.analyses.retention import activity

from . import oracle
from .helpers import event_tuples, fresh_workspace, load_events, utc

# Mon 2024-01-01 .. Sun 2024-01-14: two complete weeks.
JOURNEYS = {
    "ann": [("open", "2024-01-01 09:00"), ("open", "2024-01-01 18:00"), ("open", "2024-01-02 09:00"),
            ("open", "2024-01-09 09:00")],
    "bo": [("open", "2024-01-03 09:00"), ("buy", "2024-01-12 09:00")],
    "cy": [("open", "2024-01-14 22:00")],
}


def test_hand_checked_daily_weekly_and_frequency(make_workspace):
    ws = load_events(make_workspace, JOURNEYS)
    r = activity(ws)
    daily = r.tables["daily"].set_index("day")
    assert daily.loc["2024-01-01", "dau"] == 1  # ann twice on one day counts once
    assert daily.loc["2024-01-02", "dau"] == 1
    assert daily.loc["2024-01-04", "dau"] == 0
    assert pd.isna(daily.loc["2024-01-06", "wau_7d"])  # window reaches before Jan 1
    assert daily.loc["2024-01-07", "wau_7d"] == 2  # ann, bo in Jan 1..7
    weekly = r.tables["weekly"].set_index("week")
    assert weekly.loc["2024-01-01", "wau"] == 2 and weekly.loc["2024-01-08", "wau"] == 3
    # week 1 has 3 active user-days over 7 days
    assert weekly.loc["2024-01-01", "avg_dau"] == pytest.approx(3 / 7)
    assert weekly.loc["2024-01-01", "stickiness"] == pytest.approx(3 / 7 / 2)
    freq = r.tables["frequency"]
    week1 = freq[freq["week"] == "2024-01-01"].set_index("days_active")["users"].to_dict()
    assert week1 == {1: 1, 2: 1}  # bo 1 day, ann 2 days


def test_hand_checked_rolling_window(make_workspace):
    ws = load_events(make_workspace, JOURNEYS)
    daily = activity(ws).tables["daily"].set_index("day")
    # Jan 4..10 holds only ann's Jan 9 -> 1 user (bo's Jan 3 is outside)
    assert daily.loc["2024-01-10", "wau_7d"] == 1
    assert daily.loc["2024-01-14", "wau_7d"] == 3  # Jan 8..14: ann, bo, cy


def test_hand_checked_lifecycle_and_streaks(make_workspace):
    journeys = {
        "a": [("x", "2024-01-01 10:00"), ("x", "2024-01-08 10:00"), ("x", "2024-01-22 10:00")],
        "b": [("x", "2024-01-08 10:00"), ("x", "2024-01-15 10:00"), ("x", "2024-01-22 10:00")],
        "c": [("x", "2024-01-28 10:00")],
    }
    ws = load_events(make_workspace, journeys)
    r = activity(ws, period="week")
    life = r.tables["lifecycle"].set_index("period")
    # week 1: a new; week 2: a returning, b new; week 3: b returning, a dormant;
    # week 4: b returning, a resurrected, c new
    assert tuple(life.loc["2024-01-01", ["new", "returning", "resurrected", "dormant"]]) == (1, 0, 0, 0)
    assert tuple(life.loc["2024-01-08", ["new", "returning", "resurrected", "dormant"]]) == (1, 1, 0, 0)
    assert tuple(life.loc["2024-01-15", ["new", "returning", "resurrected", "dormant"]]) == (0, 1, 0, 1)
    assert tuple(life.loc["2024-01-22", ["new", "returning", "resurrected", "dormant"]]) == (1, 1, 1, 0)
    streaks = r.tables["streaks"].set_index("weeks")
    # a: runs of 2 and 1 -> longest 2; b: 3 consecutive weeks; c: 1
    assert streaks["users"].to_dict() == {1: 1, 2: 1, 3: 1}
    assert streaks["users_at_least"].to_dict() == {1: 3, 2: 2, 3: 1}


def test_hand_checked_repurchase(make_workspace):
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5"],
        "user_id": ["a", "a", "b", "c", "c"],
        "ts": ["2024-01-01 10:00", "2024-01-05 10:00", "2024-01-02 10:00", "2024-01-03 10:00",
               "2024-02-10 10:00"],
        "amount": [10, 20, 30, 40, 50],
    })
    ws = load_events(make_workspace, JOURNEYS, orders=orders)
    r = activity(ws, period="month", repurchase_within=7)
    s = r.meta["repurchase"]
    # buyers a, b, c; repeat a and c; within 7 days only a; everyone's window fits before Feb 10
    assert (s["buyers"], s["repeat_buyers"], s["eligible"], s["repeat_within"]) == (3, 2, 3, 1)
    assert s["repurchase_rate"] == pytest.approx(2 / 3)
    ref = oracle.repurchase([(u, utc(t)) for u, t in zip(orders.user_id, orders.ts, strict=True)], 7)
    assert ref == (3, 2, 3, 1)


def test_shanghai_days_and_dst_weeks(make_workspace):
    journeys = {"u": [("x", "2024-03-09 16:30"), ("x", "2024-03-10 15:30")],  # Mar 10 00:30, 23:30 CST
                "v": [("x", "2024-03-10 16:00")]}  # Mar 11 00:00 CST
    ws = load_events(make_workspace, journeys, tz="Asia/Shanghai")
    daily = activity(ws).tables["daily"].set_index("day")["dau"].to_dict()
    assert daily == {"2024-03-10": 1, "2024-03-11": 1}
    ws = load_events(make_workspace, journeys, tz="America/New_York")
    daily = activity(ws).tables["daily"].set_index("day")["dau"].to_dict()
    # New York: Mar 9 11:30 EST, Mar 10 11:30 EDT, Mar 10 12:00 EDT
    assert daily == {"2024-03-09": 1, "2024-03-10": 2}


USERS = ("u1", "u2", "u3", "u4")
BASE = utc("2024-02-20 00:00")


@st.composite
def journeys_strategy(draw):
    n = draw(st.integers(1, 30))
    out: dict[str, list] = {}
    for _ in range(n):
        u = draw(st.sampled_from(USERS))
        minutes = draw(st.integers(0, 75 * 24 * 60)) // 45 * 45
        e = draw(st.sampled_from(("open", "buy")))
        out.setdefault(u, []).append((e, (BASE + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M")))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journeys=journeys_strategy(), tz=st.sampled_from(("UTC", "Asia/Shanghai", "America/New_York")),
       period=st.sampled_from(("day", "week", "month")), only_open=st.booleans())
def test_matches_oracle(journeys, tz, period, only_open):
    events = event_tuples(journeys)
    names = {"open"} if only_open and any(e == "open" for _, e, _ in events) else None
    ws = fresh_workspace(journeys, tz)
    r = activity(ws, events=sorted(names) if names else None, period=period)
    daily, weekly, monthly, freq = oracle.activity(events, tz, names)
    got = {row["day"]: (row["dau"], None if pd.isna(row["wau_7d"]) else int(row["wau_7d"]),
                        None if pd.isna(row["mau_30d"]) else int(row["mau_30d"]))
           for row in r.tables["daily"].to_dict(orient="records")}
    assert got == daily
    w = r.tables["weekly"]
    assert {k: v for k, v in zip(w["week"], w["wau"], strict=True) if v} == weekly
    m = r.tables["monthly"]
    assert {k: v for k, v in zip(m["month"], m["mau"], strict=True) if v} == monthly
    f = r.tables["frequency"]
    assert {(wk, d): n for wk, d, n in zip(f["week"], f["days_active"], f["users"], strict=True)} == freq
    life = r.tables["lifecycle"]
    got_life = {row["period"]: (row["new"], row["returning"], row["resurrected"], row["dormant"])
                for row in life.to_dict(orient="records")}
    assert got_life == oracle.lifecycle(events, tz, period, names)
    # active = new + returning + resurrected, and the change between periods balances
    for prev, cur in zip(life.to_dict(orient="records"), life.to_dict(orient="records")[1:], strict=False):
        assert cur["active"] - prev["active"] == cur["new"] + cur["resurrected"] - cur["dormant"]
    s = r.tables["streaks"]
    assert {n: u for n, u in zip(s["weeks"], s["users"], strict=True) if u} == \
        oracle.longest_streaks(events, tz, names)
