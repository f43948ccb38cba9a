"""The traffic engine (DuckDB window functions) equals the per-user walk of
``tests/traffic/oracle.py`` on hypothesis-generated logs: the summary, every group (by an
events column, the session's first event's value, or by a customers column) and every day of
the trend, with start/end bounds and several session gaps.

The logs hit the edges: times on a 5-minute grid with an occasional extra microsecond (gaps
of exactly the session gap and of the gap + 1 µs both occur), ties on ts broken by event_id,
by name, or by the channel itself, events before the start (so first-ever events fall outside
the range), missing channels, and names and values that need quoting in SQL.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelscope as fs

from . import oracle
from .oracle import NONE, Ev

SETTINGS = settings(max_examples=int(os.environ.get("FUNNELSCOPE_EXAMPLES", "60")),
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NAMES = ["visit", "view", "pay", "it's"]
CHANNELS = ["ads", "search", 'a"b', "渠道", None]
USERS = ["u1", "u2", "u3", "u4"]
BASE = 1_767_225_600_000_000  # 2026-01-01 00:00 UTC, µs
MINUTE = 60_000_000
DAY = 1440 * MINUTE


@st.composite
def logs(draw, max_events: int = 30) -> list[Ev]:
    n = draw(st.integers(0, max_events))
    ids = draw(st.permutations(range(n)))
    rows: list[Ev] = []
    seen: set = set()
    for i in range(n):
        user = draw(st.sampled_from(USERS))
        name = draw(st.sampled_from(NAMES))
        channel = draw(st.sampled_from(CHANNELS))
        # 5-minute grid over three days (so sessions cross UTC midnight), + 1 µs sometimes
        ts = BASE + draw(st.integers(0, 3 * 288)) * 5 * MINUTE \
            + draw(st.sampled_from([0, 0, 0, 1]))
        event_id = f"e{ids[i]:02d}" if draw(st.booleans()) else None
        if event_id is None:  # ingest keeps one of identical id-less rows: so does the oracle
            if (user, name, ts, channel) in seen:
                continue
            seen.add((user, name, ts, channel))
        rows.append(Ev(user, name, ts, channel, event_id))
    return rows


def workspace(events: list[Ev], tiers: dict[str, str | None] | None = None):
    ws = fs.connect(tz="UTC")
    if events:
        ws.load(pd.DataFrame({
            "event_id": pd.Series([e.event_id for e in events], dtype="string"),
            "user_id": [e.user for e in events], "event": [e.event for e in events],
            "ts": pd.to_datetime([e.ts for e in events], unit="us", utc=True),
            "channel": pd.Series([e.channel for e in events], dtype="string")}), "events")
    if tiers is not None:
        ws.load(pd.DataFrame({"user_id": list(tiers),
                              "tier": pd.Series(list(tiers.values()), dtype="string")}),
                "customers")
    return ws


requests = st.fixed_dictionaries({
    "by": st.sampled_from([None, "channel", "customers.tier"]),
    "gap": st.sampled_from([30 * MINUTE, 10 * MINUTE, 5 * MINUTE + 1, 2 * 60 * MINUTE]),
    "start": st.sampled_from([None, 0, 12 * 60 * MINUTE, DAY]),
    "end": st.sampled_from([None, 2 * DAY, 2 * DAY + 7 * MINUTE]),
    "period": st.sampled_from([None, "day"]),
    "pages": st.sampled_from([["view"], ["view", "it's"]]),
})

tier_maps = st.dictionaries(st.sampled_from(USERS), st.sampled_from(["gold", "it's", None]),
                            max_size=3)


def iso(offset: int | None) -> str | None:
    if offset is None:
        return None
    return pd.Timestamp(BASE + offset, unit="us", tz="UTC").isoformat()


def check(got: dict, want: dict) -> None:
    """Every column of one engine row against the oracle's counts."""
    assert got["sessions"] == want["sessions"]
    assert got["uv"] == want["uv"]
    assert got["new_visitors"] == want["new_visitors"]
    assert got["bounces"] == want["bounces"]
    assert got["events"] == want["events"]
    assert got["pv"] == want["pv"]
    assert got["conversions"] == want["conversions"]
    assert got["converting_users"] == want["converting_users"]
    s = want["sessions"]
    assert got["bounce_rate"] == (pytest.approx(want["bounces"] / s) if s else None)
    assert got["pages_per_session"] == (pytest.approx(want["pv"] / s) if s else None)
    assert got["avg_session_seconds"] == (
        pytest.approx(want["duration_us"] / s / 1e6) if s else None)
    assert got["conversion_rate"] == (
        pytest.approx(want["converting_users"] / want["uv"]) if want["uv"] else None)


@SETTINGS
@given(logs(), requests, tier_maps)
def test_traffic_matches_the_per_user_oracle(events, req, tiers):
    with_pay = any(e.event == "pay" for e in events)
    # name only page events the log has (an unknown one is an error, tested elsewhere); none:
    # the default, view, which may be absent too
    present = [p for p in req["pages"] if any(e.event == p for e in events)]
    req = {**req, "pages": present or None}
    ws = workspace(events, tiers if req["by"] == "customers.tier" else None)
    try:
        if not events:
            with pytest.raises(Exception):  # noqa: B017 - the workspace's "no events" error
                ws.traffic()
            return
        r = ws.traffic(by=req["by"], period=req["period"], start=iso(req["start"]),
                       end=iso(req["end"]), page_event=req["pages"],
                       session_gap=f"{req['gap']}us" if req["gap"] % 1_000_000 else
                       f"{req['gap'] // 1_000_000}s")
        data = r.to_dict()
    finally:
        ws.close()
    start = None if req["start"] is None else BASE + req["start"]
    end = None if req["end"] is None else BASE + req["end"]
    user_group = None
    if req["by"] == "customers.tier":
        user_group = {u: tiers.get(u) for u in USERS}
    sess = oracle.sessions(events, req["gap"], start, end, user_group)
    pages = set(req["pages"] or (["view"] if any(e.event == "view" for e in events) else []))
    conversions = {"pay"} if with_pay else set()
    want = oracle.counts(sess, pages, conversions)
    summary = data["summary"][0]
    if req["pages"] is None and not pages:
        assert summary["pv"] is None and summary["pages_per_session"] is None
        assert any("--page-event" in n for n in data["meta"]["notes"])
        summary = {**summary, "pv": 0, "pages_per_session": 0 if want["sessions"] else None}
    if not with_pay:
        assert summary["conversions"] is None and summary["conversion_rate"] is None
        summary = {**summary, "conversions": 0, "converting_users": 0,
                   "conversion_rate": 0.0 if want["uv"] else None}
    check(summary, want)
    if not (pages and with_pay):
        return  # the group rows have the same nulls; their counts are checked above
    if req["by"] is not None:
        groups = {g["group"]: g for g in data["groups"]}
        expected = oracle.grouped(sess, lambda s: s["group"], pages, conversions)
        assert set(groups) == set(expected)
        for k, w in expected.items():
            check(groups[k], w)
        assert [g["group"] for g in data["groups"]] == sorted(
            expected, key=lambda k: (-expected[k]["sessions"], k))
    if req["period"] is not None:
        if req["by"] is None:
            rows = {p["period"]: p for p in data["periods"]}
            expected = oracle.grouped(sess, lambda s: s["day"], pages, conversions)
        else:
            rows = {(p["period"], p["group"]): p for p in data["periods"]}
            expected = oracle.grouped(sess, lambda s: (s["day"], s["group"]), pages,
                                      conversions)
        assert set(rows) == set(expected)
        for k, w in expected.items():
            check(rows[k], w)


def test_a_gap_exactly_the_session_gap_stays_in_the_session():
    """30 minutes apart: one session; 30 minutes + 1 µs: two (the paths rule)."""
    events = [Ev("a", "view", BASE, "ads"), Ev("a", "view", BASE + 30 * MINUTE, "search"),
              Ev("b", "view", BASE, "ads"), Ev("b", "view", BASE + 30 * MINUTE + 1, "search")]
    ws = workspace(events)
    r = ws.traffic(by="channel").to_dict()
    ws.close()
    groups = {g["group"]: g for g in r["groups"]}
    assert r["summary"][0]["sessions"] == 3
    # a's one session and b's first start on ads; b's second starts on search
    assert groups["ads"]["sessions"] == 2 and groups["search"]["sessions"] == 1
    assert groups["search"]["bounces"] == 1 and groups["ads"]["bounces"] == 1
    assert groups["ads"]["pv"] == 3 and groups["search"]["pv"] == 1
    assert NONE not in groups
