"""``--every hour``: wall-clock hours of the reporting time zone, baseline = the same hour of
the same weekday in the previous weeks.

Five weeks in Asia/Shanghai from Monday 2026-01-05, traffic from 09:00 to 20:59 local: each
hour has a fixed number of users by hour of the week (lunch busier, weekends quieter) ± 1,
and a pay rate by weekday and hour (evenings higher) ± 1 payer. Injected: nobody pays on
Wednesday 2026-02-04 14:00-15:00 (down), three times the users on Friday 2026-02-06
10:00-11:00 (up). Oracle: tests/monitor/synth.py by hand, hour by hour.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funnelscope as fs
from funnelscope.analyses.monitor.clock import Clock
from funnelscope.errors import ConfigError
from tests.monitor import synth

TZ = "Asia/Shanghai"
START = date(2026, 1, 5)  # a Monday
DAYS = 35
DROP = datetime(2026, 2, 4, 14)  # local wall hours
SURGE = datetime(2026, 2, 6, 10)
WINDOW = timedelta(hours=1)


def journeys(drop=DROP, surge=SURGE):
    zone = ZoneInfo(TZ)
    out = {}
    for i in range(DAYS):
        d = START + timedelta(days=i)
        weekend = d.weekday() >= 5
        for h in range(9, 21):
            wall = datetime(d.year, d.month, d.day, h)
            n = 20 + (10 if 12 <= h <= 14 else 0) - (5 if weekend else 0) + (i + h) % 3 - 1
            if wall == surge:
                n *= 3
            rate = (0.15 if weekend else 0.30) + (0.10 if h >= 18 else 0.0)
            payers = max(0, round(n * rate) + (i * 7 + h) % 3 - 1)
            if wall == drop:
                payers = 0
            for u in range(n):
                t = wall.replace(tzinfo=zone) + timedelta(seconds=40 * u)
                out[f"{i}-{h}-{u}"] = [("view", t)] + ([("pay", t + timedelta(minutes=15))]
                                                       if u < payers else [])
    return out


@pytest.fixture(scope="module")
def data():
    return journeys()


@pytest.fixture(scope="module")
def path(tmp_path_factory, data):
    return synth.workspace(tmp_path_factory.mktemp("hourly") / "w.duckdb", data, tz=TZ)


def run(path, **kw):
    ws = fs.connect(str(path), read_only=True)
    try:
        return ws.watch(["view", "pay"], window="1h", since="7d", every="hour",
                        min_entrants=10, **kw).to_dict()
    finally:
        ws.close()


def test_injected_hours_found_with_their_direction(path):
    out = run(path)
    assert [(a["metric"], a["date"], a["direction"]) for a in out["alerts"]] == [
        ("entrants", "2026-02-06T10:00:00+08:00", "up"),
        ("conversion:pay", "2026-02-04T14:00:00+08:00", "down")]
    assert out["spec"]["every"] == "hour"
    assert out["meta"]["every"] == "hour" and out["meta"]["buckets_judged"] > 100


def test_hourly_baseline_equals_the_hand_computed_one(path, data):
    out = run(path)
    truth = synth.oracle_rows(data, TZ, "hour", WINDOW, min_entrants=10)
    checked = 0
    for row in out["series"]:
        key = datetime.fromisoformat(row["date"]).replace(tzinfo=None)
        assert synth.label(key, TZ) == row["date"]  # the ISO hour start, with its offset
        expect = truth[(row["metric"], key)]
        if expect is None:
            assert row["expected"] is None and not row["judged"]
            continue
        assert (row["expected"], row["low"], row["high"]) == pytest.approx(expect[:3], abs=1e-12)
        assert row["judged"] == expect[3]
        checked += row["judged"]
    assert checked > 100


def test_clean_hours_give_no_alert(tmp_path):
    out = run(synth.workspace(tmp_path / "w.duckdb", journeys(drop=None, surge=None), tz=TZ))
    assert out["alerts"] == [] and out["meta"]["buckets_judged"] > 100


def test_cli_every_hour_exits_1_and_prints_the_same_json(path, capsys):
    from funnelscope.cli.app import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["watch", "--workspace", str(path), "--steps", "view,pay", "--window", "1h",
              "--since", "7d", "--every", "hour", "--min-entrants", "10", "--format", "json"])
    assert exited.value.code == 1
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(run(path)))
    ws = fs.connect(str(path), read_only=True)
    with pytest.raises(ConfigError, match="every"):
        ws.watch(["view", "pay"], every="minute")
    ws.close()


# ----- the clock around daylight-saving changes -------------------------------------------------
NY = Clock("hour", "America/New_York")


def test_spring_forward_hour_does_not_exist_and_autumn_hour_is_not_judged():
    keys = NY.span(datetime(2026, 3, 8, 0), datetime(2026, 3, 8, 4))
    assert [k.hour for k in keys] == [0, 1, 3, 4]  # 02:00 never happened
    assert NY.end_us(datetime(2026, 3, 8, 1)) == NY.start_us(datetime(2026, 3, 8, 3))
    assert NY.label(datetime(2026, 3, 8, 3)) == "2026-03-08T03:00:00-04:00"
    assert not NY.judgeable(datetime(2026, 11, 1, 1))  # 01:00-02:00 happened twice
    assert NY.judgeable(datetime(2026, 11, 1, 2)) and NY.judgeable(datetime(2026, 11, 1, 0))
    assert Clock("day", "America/New_York").label(date(2026, 3, 8)) == "2026-03-08"


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
       st.sampled_from(["America/New_York", "Asia/Kolkata", "Europe/London", "UTC"]))
def test_every_instant_falls_in_its_local_hour(moment, tz):
    """Property: the bucket of an instant's local wall hour starts at or before it and ends
    after it (except in a repeated autumn hour, which is never judged)."""
    clock = Clock("hour", tz)
    instant = moment.replace(tzinfo=UTC)
    key = clock.key(instant.astimezone(ZoneInfo(tz)).replace(tzinfo=None))
    us = int(instant.timestamp()) * 1_000_000 + instant.microsecond
    assert clock.exists(key)
    if clock.judgeable(key):
        assert clock.start_us(key) <= us < clock.end_us(key)
        assert datetime.fromisoformat(clock.label(key)).timestamp() * 1e6 == clock.start_us(key)
