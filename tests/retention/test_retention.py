"""Cohort retention: hand-checked cases, the plain-Python oracle, time-zone edges, ClickHouse."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelscope.analyses.retention import retention
from funnelscope.errors import SpecError

from . import oracle
from .helpers import event_tuples, fresh_workspace, load_events, utc

# alice and bob start on Jan 1, carol on Jan 2 (her sign-up is Jan 3), dan on Jan 4 = data end.
JOURNEYS = {
    "alice": [("signup", "2024-01-01 09:00"), ("view", "2024-01-02 10:00"), ("view", "2024-01-04 08:00")],
    "bob": [("signup", "2024-01-01 20:00"), ("view", "2024-01-01 21:00")],
    "carol": [("view", "2024-01-02 12:00"), ("signup", "2024-01-03 12:00"), ("view", "2024-01-04 12:00")],
    "dan": [("view", "2024-01-04 23:00")],
}


def cohorts(result) -> dict[str, tuple[int, list]]:
    return {c["cohort"]: (c["size"], c["retained"]) for c in result.to_dict()["cohorts"]}


def test_hand_checked_first_event_any_return(make_workspace):
    ws = load_events(make_workspace, JOURNEYS)
    r = retention(ws, period="day", periods=3)
    # Jan 1: alice+bob; alice back Jan 2 and Jan 4. Jan 2: carol, back Jan 3 and 4; Jan 5 is
    # after the data end (Jan 4) so incomplete. Jan 4: dan, nothing after is observed.
    assert cohorts(r) == {
        "2024-01-01": (2, [2, 1, 0, 1]),
        "2024-01-02": (1, [1, 1, 1, None]),
        "2024-01-04": (1, [1, None, None, None]),
    }
    avg = r.tables["average"]
    assert list(avg["rate"]) == pytest.approx([4 / 4, 2 / 3, 1 / 3, 1 / 2])
    assert list(avg["cohorts"]) == [3, 2, 2, 1]
    assert r.meta["data_end"] == "2024-01-04"
    # the workspace method is the same analysis
    assert ws.retention(period="day", periods=3).to_dict()["cohorts"] == r.to_dict()["cohorts"]


def test_hand_checked_signup_start_counts_returns_after_the_start_only(make_workspace):
    ws = load_events(make_workspace, JOURNEYS)
    r = retention(ws, start="signup", returning="view", period="day", periods=3)
    # bob's view at 21:00 follows his 20:00 sign-up (period 0); carol's Jan 2 view precedes
    # her Jan 3 sign-up, so her period 0 is empty; alice views on day 1 and day 3.
    assert cohorts(r) == {
        "2024-01-01": (2, [1, 1, 0, 1]),
        "2024-01-03": (1, [0, 1, None, None]),
    }


def test_hand_checked_on_or_after(make_workspace):
    ws = load_events(make_workspace, JOURNEYS)
    r = retention(ws, period="day", periods=3, kind="on_or_after")
    # bob never returns after day 0; alice's last activity is day 3.
    assert cohorts(r)["2024-01-01"] == (2, [2, 1, 1, 1])
    assert cohorts(r)["2024-01-02"] == (1, [1, 1, 1, None])


def test_hand_checked_brackets(make_workspace):
    ws = load_events(make_workspace, JOURNEYS)
    r = retention(ws, period="day", periods=3, brackets=[1, "2-3"])
    b = r.tables["brackets"]
    got = {(row.cohort, row.bracket): (None if pd.isna(row.retained) else int(row.retained))
           for row in b.itertuples()}
    assert got[("2024-01-01", "1")] == 1
    assert got[("2024-01-01", "2-3")] == 1  # alice (day 3) only
    assert got[("2024-01-02", "2-3")] is None  # day 3 of carol's cohort is Jan 5: not observed
    assert got[("2024-01-04", "1")] is None


def test_week_starts_on_monday(make_workspace):
    # 2024-01-07 is a Sunday, 2024-01-08 a Monday.
    journeys = {"u": [("a", "2024-01-07 12:00"), ("a", "2024-01-08 12:00")],
                "v": [("a", "2024-01-21 12:00")]}
    ws = load_events(make_workspace, journeys)
    r = retention(ws, period="week", periods=2)
    got = cohorts(r)
    # the data starts on Sunday Jan 7, so the week of Jan 1 is not fully observed
    assert got["2024-01-01"] == (1, [None, 1, 0])
    # the data ends Sunday Jan 21, so the week of Jan 15 is complete
    assert got["2024-01-15"] == (1, [1, None, None])


def test_dst_change_new_york(make_workspace):
    """Local midnight moves from 05:00 UTC (EST) to 04:00 UTC (EDT) on 2024-03-10."""
    journeys = {
        "u": [("a", "2024-03-09 12:00"),  # Sat Mar 9 07:00 EST
              ("a", "2024-03-10 04:59"),  # Sat Mar 9 23:59 EST: still day 0
              ("a", "2024-03-11 04:30")],  # Mon Mar 11 00:30 EDT: day 2, not day 1
        "w": [("a", "2024-03-10 04:30"),  # Sat Mar 9 23:30 EST
              ("a", "2024-03-10 05:00")],  # Sun Mar 10 00:00 EST: day 1
        "end": [("a", "2024-03-12 12:00")],
    }
    ws = load_events(make_workspace, journeys, tz="America/New_York")
    r = retention(ws, period="day", periods=3)
    assert cohorts(r)["2024-03-09"] == (2, [2, 1, 1, 0])
    ref = oracle.retention(event_tuples(journeys), "America/New_York", period="day", periods=3)
    assert ref["2024-03-09"]["retained"] == [2, 1, 1, 0]


def test_asia_shanghai_days(make_workspace):
    """Shanghai is UTC+8: 15:59 UTC is still the same local day, 16:00 UTC is the next."""
    journeys = {
        "u": [("a", "2024-01-01 15:59"), ("a", "2024-01-01 16:00")],
        "v": [("a", "2023-12-31 16:00"), ("a", "2024-01-02 15:59")],
    }
    ws = load_events(make_workspace, journeys, tz="Asia/Shanghai")
    r = retention(ws, period="day", periods=2)
    assert cohorts(r) == {
        "2024-01-01": (2, [2, 2, None]),  # v: Jan 1 00:00 and Jan 2 23:59; u: Jan 1 23:59, Jan 2
    }
    assert r.meta["data_end"] == "2024-01-02"
    ref = oracle.retention(event_tuples(journeys), "Asia/Shanghai", period="day", periods=2)
    assert {c: (v["size"], v["retained"]) for c, v in ref.items()} == cohorts(r)


def test_by_start_event_column_and_customers_column(make_workspace):
    journeys = {
        "a": [("open", "2024-01-01 10:00", {"channel": "ads"}), ("open", "2024-01-02 10:00", {"channel": "seo"})],
        "b": [("open", "2024-01-01 11:00", {"channel": "seo"})],
        "c": [("open", "2024-01-02 11:00", {"channel": "ads"})],
    }
    customers = pd.DataFrame({"user_id": ["a", "b", "c"], "plan": ["pro", "free", "pro"]})
    ws = load_events(make_workspace, journeys, customers=customers)
    by_channel = {(c["cohort"], c["group"]): (c["size"], c["retained"])
                  for c in retention(ws, periods=1, by="channel").to_dict()["cohorts"]}
    assert by_channel == {("2024-01-01", "ads"): (1, [1, 1]), ("2024-01-01", "seo"): (1, [1, 0]),
                          ("2024-01-02", "ads"): (1, [1, None])}
    by_plan = {(c["cohort"], c["group"]): (c["size"], c["retained"])
               for c in retention(ws, periods=1, by="plan").to_dict()["cohorts"]}
    assert by_plan == {("2024-01-01", "free"): (1, [1, 0]), ("2024-01-01", "pro"): (1, [1, 1]),
                       ("2024-01-02", "pro"): (1, [1, None])}
    avg = retention(ws, periods=1, by="customers.plan").tables["average_by"]
    pro = avg[avg["group"] == "pro"].set_index("period")["rate"]
    assert pro[0] == 1.0 and pro[1] == 1.0


def test_signup_from_customers_first_seen(make_workspace):
    journeys = {"a": [("open", "2024-01-02 10:00")], "b": [("open", "2024-01-03 10:00")],
                "z": [("open", "2024-01-01 00:30"), ("open", "2024-01-05 10:00")]}
    customers = pd.DataFrame({"user_id": ["a", "b", "c"],
                              "first_seen": ["2024-01-01 08:00", "2024-01-01 09:00", "2024-01-02 09:00"]})
    ws = load_events(make_workspace, journeys, customers=customers)
    r = retention(ws, start="signup", periods=2)
    assert r.meta["start"] == "sign-up time (customers.first_seen)"
    # c signed up and never came back: counted in the cohort size, retained nowhere.
    assert cohorts(r) == {"2024-01-01": (2, [0, 1, 1]), "2024-01-02": (1, [0, 0, 0])}
    starts = {u: utc(s) for u, s in zip(customers.user_id, customers.first_seen, strict=True)}
    ref = oracle.retention(event_tuples(journeys), "UTC", periods=2, start_times=starts)
    assert {c: (v["size"], v["retained"]) for c, v in ref.items()} == cohorts(r)


def test_recurring_retention(make_workspace):
    journeys = {"a": [("buy", "2024-01-01 10:00"), ("buy", "2024-01-03 10:00"), ("x", "2024-01-04 10:00")],
                "b": [("buy", "2024-01-03 11:00"), ("x", "2024-01-05 10:00")]}
    ws = load_events(make_workspace, journeys)
    r = retention(ws, start="buy", period="day", periods=2, first_time=False)
    # a enters on Jan 1 and again on Jan 3; Jan 3's cohort has a and b.
    assert cohorts(r) == {"2024-01-01": (1, [1, 0, 1]), "2024-01-03": (2, [2, 1, 1])}


def test_errors_say_what_to_do(make_workspace):
    ws = load_events(make_workspace, JOURNEYS)
    with pytest.raises(SpecError, match="no event named 'pay'.*most frequent events"):
        retention(ws, start="pay")
    with pytest.raises(SpecError, match="no column 'plan'"):
        retention(ws, by="plan")
    with pytest.raises(SpecError, match="overlap"):
        retention(ws, brackets=[(1, 3), (2, 5)])
    with pytest.raises(SpecError, match="Set periods >= 40"):
        retention(ws, periods=30, brackets=["8-40"])
    with pytest.raises(SpecError, match="unknown period"):
        retention(ws, period="year")


# ----- property test against the oracle ---------------------------------------------------
USERS = ("u1", "u2", "u3", "张三", "u5")
NAMES = ("a", "b", "c")
ZONES = ("UTC", "Asia/Shanghai", "America/New_York", "Europe/Berlin")
BASE = utc("2024-03-01 00:00")  # spans the US (Mar 10) and EU (Mar 31) DST changes


@st.composite
def journeys_strategy(draw):
    from datetime import timedelta

    n = draw(st.integers(1, 25))
    out: dict[str, list] = {}
    for _ in range(n):
        u = draw(st.sampled_from(USERS))
        e = draw(st.sampled_from(NAMES))
        minutes = draw(st.integers(0, 62 * 24 * 60)) // 30 * 30
        ts = (BASE + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M")
        out.setdefault(u, []).append((e, ts))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    journeys=journeys_strategy(),
    tz=st.sampled_from(ZONES),
    period=st.sampled_from(("day", "week", "month")),
    kind=st.sampled_from(("on", "on_or_after")),
    first_time=st.booleans(),
    start=st.sampled_from((None, "a")),
    returning=st.sampled_from((None, "b")),
)
def test_matches_oracle(journeys, tz, period, kind, first_time, start, returning):
    events = event_tuples(journeys)
    if start is not None and not any(e == start for _, e, _ in events):
        start = None
    if returning is not None and not any(e == returning for _, e, _ in events):
        returning = None
    periods = {"day": 9, "week": 5, "month": 2}[period]
    brackets = {"day": [1, (2, 4), (6, 9)], "week": [(1, 2), 4], "month": [(1, 2)]}[period]
    ws = fresh_workspace(journeys, tz)
    r = retention(ws, start=start, returning=returning or "any", period=period, periods=periods,
                  kind=kind, first_time=first_time, brackets=brackets)
    ref = oracle.retention(events, tz, start=None if start is None else {start},
                           returning=None if returning is None else {returning}, period=period,
                           periods=periods, kind=kind, first_time=first_time,
                           brackets=[(b, b) if isinstance(b, int) else b for b in brackets])
    assert cohorts(r) == {c: (v["size"], v["retained"]) for c, v in ref.items()}
    got_br = {}
    for row in r.to_dict()["brackets"]:
        got_br.setdefault(row["cohort"], []).append(row["retained"])
    assert got_br == {c: v["brackets"] for c, v in ref.items()}
    rates = list(r.tables["average"]["rate"])
    expected = [x for x in oracle.average_curve(ref, periods) if x is not None]
    assert rates == pytest.approx(expected)


# ----- ClickHouse retention() through chdb ------------------------------------------------
chdb_session = pytest.importorskip("chdb.session")


@pytest.fixture(scope="module")
def ch():
    s = chdb_session.Session()
    yield s
    s.close()


def clickhouse_triangle(ch, journeys: dict, tz: str, periods: int, start: str | None,
                        returning: str | None) -> dict[str, tuple[int, list[int]]]:
    """Per first-start day: cohort size and ``sumForEach(retention(...))`` from ClickHouse.

    ClickHouse's ``retention(c0, c1, ..., cN)`` gives per user [c0, c0 and c1, ...]; with
    c0 = "a start event on the cohort day" and ck = "a returning event on cohort day + k" it is
    the "on" triangle for day periods (ClickHouse converts time zones itself).
    """
    from funnelscope.sqlsafe import literal

    rows = ", ".join(
        f"({literal(u, 'clickhouse')}, {literal(e, 'clickhouse')}, "
        f"{int(ts.timestamp() * 1_000_000)})" for u, e, ts in event_tuples(journeys))
    z = literal(tz, "clickhouse")
    s_cond = "1" if start is None else f"event = {literal(start, 'clickhouse')}"
    r_cond = "1" if returning is None else f"event = {literal(returning, 'clickhouse')}"
    conds = ", ".join([f"({s_cond}) AND t = entry"] + [
        f"({r_cond}) AND d = addDays(c, {k})" for k in range(1, periods + 1)])
    sql = f"""
        WITH ev AS (
            SELECT user, event, fromUnixTimestamp64Micro(us, 'UTC') AS t,
                   toDate(fromUnixTimestamp64Micro(us, 'UTC'), {z}) AS d
            FROM values('user String, event String, us Int64', {rows})),
        entries AS (SELECT user, min(t) AS entry, toDate(min(t), {z}) AS c
                    FROM ev WHERE {s_cond} GROUP BY user)
        SELECT toString(cohort_day) AS cohort, count() AS size, sumForEach(r) AS retained FROM (
            SELECT user, any(c) AS cohort_day, retention({conds}) AS r FROM (
                SELECT ev.user AS user, ev.event AS event, ev.t AS t, ev.d AS d,
                       entries.c AS c, entries.entry AS entry
                FROM ev INNER JOIN entries ON ev.user = entries.user)
            GROUP BY user)
        GROUP BY cohort_day ORDER BY cohort_day"""
    out = {}
    for line in ch.query(sql, "JSONEachRow").bytes().decode().splitlines():
        import json

        rec = json.loads(line)
        out[rec["cohort"]] = (int(rec["size"]), [int(x) for x in rec["retained"]])
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(journeys=journeys_strategy(), tz=st.sampled_from(ZONES),
       start=st.sampled_from((None, "a")), returning=st.sampled_from((None, "b")))
def test_matches_clickhouse_retention(ch, journeys, tz, start, returning):
    events = event_tuples(journeys)
    if start is not None and not any(e == start for _, e, _ in events):
        start = None
    if returning is not None and not any(e == returning for _, e, _ in events):
        returning = None
    periods = 6
    ws = fresh_workspace(journeys, tz)
    r = retention(ws, start=start, returning=returning or "any", period="day", periods=periods)
    ours = cohorts(r)
    theirs = clickhouse_triangle(ch, journeys, tz, periods, start, returning)
    assert set(ours) == set(theirs)
    for cohort, (size, retained) in ours.items():
        ch_size, ch_retained = theirs[cohort]
        assert size == ch_size
        # ClickHouse has no notion of completeness: compare the complete cells. Period 0 with
        # a returning event differs by definition (ours needs it at/after the start instant).
        for k, n in enumerate(retained):
            if n is not None and (k > 0 or returning is None):
                assert n == ch_retained[k], (cohort, k)
