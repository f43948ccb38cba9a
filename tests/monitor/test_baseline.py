"""The daily baseline against a plain-Python oracle, and clean seasonal data.

Six weeks of journeys in Asia/Shanghai from Monday 2026-01-05: each day's users view once
(local 08:00 onwards) and pay 20 minutes later at a rate that depends on the weekday (a weekly
pattern drawn per seed) plus noise. Oracle: tests/monitor/synth.py recomputes every day's
entrants and conversion from the journeys, the same-weekday median and the window's pooled
dispersion with ``statistics.median``; the engine's expected / low / high must equal it on
every day.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funnelscope as fs
from funnelscope.analyses.monitor.baseline import band, baseline, sampling_error
from tests.monitor import synth

TZ = "Asia/Shanghai"
START = date(2026, 1, 5)  # a Monday
DAYS = 42
WINDOW = timedelta(hours=1)


def journeys(seed: int, noise: float, drop: date | None = None, surge: date | None = None,
             boom: date | None = None):
    """Users per day 170 ± 10 (weekends 140 ± 10); pay rate = the weekday's level (0.15 to
    0.45, drawn from ``seed``) + uniform noise within ± ``noise``. ``drop``: nobody pays that
    day; ``surge``: three times the users that day; ``boom``: everybody pays that day."""
    rng = random.Random(seed)
    level = [rng.uniform(0.15, 0.45) for _ in range(7)]
    zone = ZoneInfo(TZ)
    out = {}
    for i in range(DAYS):
        d = START + timedelta(days=i)
        n = (140 if d.weekday() >= 5 else 170) + rng.randint(-10, 10)
        if d == surge:
            n *= 3
        payers = round(n * (level[d.weekday()] + rng.uniform(-noise, noise)))
        if d == drop:
            payers = 0
        if d == boom:
            payers = n
        for u in range(n):
            t = datetime(d.year, d.month, d.day, 8, tzinfo=zone) + timedelta(minutes=2 * u)
            out[f"{i}-{u}"] = [("view", t)] + ([("pay", t + timedelta(minutes=20))]
                                               if u < payers else [])
    return out


def run(path, **kw):
    ws = fs.connect(str(path), read_only=True)
    try:
        return ws.watch(["view", "pay"], window="1h", since="42d", **kw).to_dict()
    finally:
        ws.close()


def test_expected_low_high_equal_the_hand_computed_baseline(tmp_path):
    boom = START + timedelta(days=38)
    data = journeys(seed=7, noise=0.08, boom=boom)
    path = synth.workspace(tmp_path / "w.duckdb", data, tz=TZ)
    out = run(path)
    truth = synth.oracle_rows(data, TZ, "day", WINDOW)
    compared = wider = 0
    for row in out["series"]:
        key = date.fromisoformat(row["date"])
        expect = truth[(row["metric"], key)]
        if expect is None:
            assert row["expected"] is None and not row["judged"], row
            continue
        expected, low, high, judged = expect
        assert (row["expected"], row["low"], row["high"]) == pytest.approx((expected, low, high),
                                                                          rel=1e-12, abs=1e-12)
        assert row["judged"] == judged
        compared += 1
        if row["metric"] == "conversion:pay":
            n = row["entrants"]
            wider += (high - expected) > 3 * math.sqrt(expected * (1 - expected) / n) + 1e-12
    assert compared > 40 and wider > 0  # the dispersion went beyond the sampling error
    fired = {(a["metric"], a["date"]) for a in out["alerts"]}
    by_hand = {(m, k.isoformat()) for (m, k), v in truth.items()
               if v and v[3] and not v[1] <= _observed(out, m, k) <= v[2]}
    assert fired == by_hand
    assert ("conversion:pay", boom.isoformat()) in fired


def _observed(out, metric, key):
    return next(r["observed"] for r in out["series"]
                if r["metric"] == metric and r["date"] == key.isoformat())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_seasonal_data_gives_no_alert(tmp_path, seed):
    """A weekly pattern with noise inside the band's guarantee (entrants ± 10 < 3·sqrt(140);
    conversion ± 2.5 pp around the weekday's level: at most 5 pp + rounding apart, below
    3 binomial standard errors at n <= 180) never alerts, whatever the pattern."""
    data = journeys(seed=seed, noise=0.025)
    out = run(synth.workspace(tmp_path / "w.duckdb", data, tz=TZ))
    judged = [r for r in out["series"] if r["judged"]]
    assert len(judged) == 2 * 20  # weeks 4-6 (3 baseline weeks needed), the last day not over
    assert out["alerts"] == []
    assert out["meta"]["timezone"] == TZ


def test_injected_days_found_with_their_direction(tmp_path):
    drop, surge = START + timedelta(days=37), START + timedelta(days=39)
    data = journeys(seed=4, noise=0.025, drop=drop, surge=surge)
    out = run(synth.workspace(tmp_path / "w.duckdb", data, tz=TZ))
    assert [(a["metric"], a["date"], a["direction"]) for a in out["alerts"]] == [
        ("entrants", surge.isoformat(), "up"), ("conversion:pay", drop.isoformat(), "down")]
    for a in out["alerts"]:
        assert not a["low"] <= a["observed"] <= a["high"]
        assert a["size"] == pytest.approx(a["observed"] - a["expected"])


@settings(max_examples=200, deadline=None)
@given(levels=st.lists(st.floats(0.1, 0.9), min_size=7, max_size=7),
       n=st.integers(50, 5000), weeks=st.integers(3, 8),
       noise=st.lists(st.floats(-1, 1), min_size=7 * 9, max_size=7 * 9))
def test_bounded_noise_stays_inside_the_band(levels, n, weeks, noise):
    """Property: rates = a weekly pattern + noise within ± a, 2a below 3 binomial standard
    errors: no day of any weekday falls outside its band; a day moved down by 5 standard
    errors more than the noise always falls below it (the dispersion of such noise stays
    below 1.4826 · 0.9 · the worst standard error ratio)."""
    p_min = min(min(levels), 1 - max(levels))
    a = 0.45 * math.sqrt(p_min * (1 - p_min) / n)  # 2a + margin < 3 SE at the worst level
    days = [START + timedelta(days=i) for i in range(7 * (weeks + 1))]
    values = {d: levels[d.weekday()] + a * noise[i] for i, d in enumerate(days)}
    eligible = dict.fromkeys(days, True)
    sizes = dict.fromkeys(days, n)
    for d in days[7 * weeks:]:
        base = baseline("conversion", d, values, eligible, weeks, sizes)
        assert base.residuals == 7 * weeks and base.size == n
        expected, low, high = band("conversion", base, 3.0)
        assert low <= values[d] <= high
        moved = values[d] - 2 * a - 5 * sampling_error("conversion", expected, n)
        if moved > 0:
            assert moved < low
