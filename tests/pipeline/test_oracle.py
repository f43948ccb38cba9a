"""The pipeline analysis against the plain reference in oracle.py, on random deal histories.

One workspace holds 400 random deals (skips, regressions, repeats, equal times, changing
amounts and owners). The per-deal table is checked deal by deal; then hypothesis draws random
subsets of those deals (small funnels of every shape), an as-of time and parameters, and every
table is compared with the reference computed from the raw rows.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funnelscope as fs
from funnelscope.analyses.pipeline import pipeline
from funnelscope.analyses.pipeline.bottlenecks import bottleneck_table
from funnelscope.analyses.pipeline.spec import make_spec
from funnelscope.analyses.pipeline.stages import funnel_table
from funnelscope.analyses.pipeline.velocity import (
    cycle_table,
    stage_times,
    stalled_deals,
    velocity_summary,
)
from funnelscope.analyses.pipeline.what_if import what_if
from funnelscope.analyses.pipeline.win_rates import win_rate_table

from . import oracle
from .cases import B2B, DAY_US, random_rows, to_frame

ROWS = random_rows(seed=11, n_deals=400)
SETTINGS = settings(max_examples=150, deadline=None)


def close(a, b, tol=1e-9):
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or (isinstance(a, float) and math.isnan(a))) and (
            b is None or (isinstance(b, float) and math.isnan(b)))
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(b)))


@functools.cache
def _state():
    """(result, reference) built once per test session (kept out of hypothesis' arguments)."""
    ws = fs.connect()
    ws.load(to_frame(ROWS), "deals", stages=list(B2B))
    return pipeline(ws, by="owner"), {d.id: d for d in oracle.build(ROWS, B2B, "won")}


@pytest.fixture
def result():
    return _state()[0]


@pytest.fixture
def reference():
    return _state()[1]


def test_deal_table_matches_reference_deal_by_deal(result, reference):
    d = result.deals
    assert list(d["deal_id"]) == sorted(reference)
    for row in d.to_dict(orient="records"):
        ref = reference[row["deal_id"]]
        assert row["created_us"] == ref.created
        assert row["last_us"] == ref.last
        assert row["current_idx"] == ref.current
        assert row["furthest_idx"] == ref.furthest
        assert row["closed"] == ref.closed
        assert close(row["amount"], ref.amount)
        assert (row["owner"] if isinstance(row["owner"], str) else None) == ref.owner
        assert (None if pd.isna(row["win_us"]) else row["win_us"]) == ref.win_time
        assert row["regressions"] == sum(ref.regressions_into(i) for i in range(len(B2B)))
        for i in range(len(B2B)):
            t = row[f"time_in_{i}"]
            assert (None if pd.isna(t) else t) == ref.time_in(i)
            assert row[f"regressions_{i}"] == ref.regressions_into(i)
            fs_ = ref.first_stay(i)
            left = row[f"left_{i}"]
            assert (None if pd.isna(left) else left) == (None if fs_ is None else fs_[0])


def _subset(ids):
    result, reference = _state()
    d = result.deals
    sub = d[d["deal_id"].isin(ids)].reset_index(drop=True)
    deals = [reference[i] for i in sorted(ids)]
    return sub, deals, result.spec


deal_subsets = st.lists(st.integers(0, 399), min_size=1, max_size=60, unique=True).map(
    lambda xs: {f"r{x:04d}" for x in xs})


@SETTINGS
@given(ids=deal_subsets)
def test_stage_funnel(ids):
    sub, deals, spec = _subset(ids)
    got = funnel_table(sub, spec).to_dict(orient="records")
    want = oracle.funnel(deals, B2B)
    for g, w in zip(got, want, strict=True):
        for key, value in w.items():
            assert close(g[key], value) if key != "stage" else g[key] == value, (key, g, w)
        if g["deals"]:
            lo, hi = g["ci_low_from_start"], g["ci_high_from_start"]
            assert lo <= g["conversion_from_start"] <= hi


@SETTINGS
@given(ids=deal_subsets, extra_days=st.integers(0, 400))
def test_velocity_cycle_and_stalled(ids, extra_days):
    sub, deals, spec = _subset(ids)
    as_of = int(sub["last_us"].max()) + extra_days * DAY_US
    got = stage_times(sub, spec, as_of).to_dict(orient="records")
    want, want_stalled = oracle.velocity(deals, B2B, as_of)
    for g, w in zip(got, want, strict=True):
        for key, value in w.items():
            assert close(g[key], value) if key != "stage" else g[key] == value, (key, g, w)
    stalled = stalled_deals(sub, spec, as_of)
    assert sorted(stalled["deal_id"]) == sorted(x[0] for x in want_stalled)
    cyc = cycle_table(sub).set_index("outcome")
    for outcome, xs in oracle.cycles(deals).items():
        assert cyc.loc[outcome, "deals"] == len(xs)
        assert close(cyc.loc[outcome, "median_days"], oracle.quantile(xs, 0.5))
        assert close(cyc.loc[outcome, "p90_days"], oracle.quantile(xs, 0.9))
    vel = velocity_summary(sub, None).iloc[0]["pipeline_velocity_per_day"]
    assert close(vel, oracle.pipeline_velocity(deals))


@SETTINGS
@given(ids=deal_subsets)
def test_win_rates_by_owner(ids):
    sub, deals, spec = _subset(ids)
    spec = make_spec(B2B)
    table = win_rate_table(sub, spec, "UTC")
    want = oracle.win_rates_by_owner(deals)
    got = {r["group"]: r for r in table.to_dict(orient="records")}
    assert set(got) == set(want)
    for g, w in want.items():
        for key, value in w.items():
            assert close(got[g][key], value), (g, key, got[g], w)


@SETTINGS
@given(ids=deal_subsets, scores=st.lists(st.integers(1, 5), min_size=6, max_size=6))
def test_bottleneck_ranking(ids, scores):
    sub, deals, spec = _subset(ids)
    ctrl = dict(zip(B2B, scores, strict=True))
    got = bottleneck_table(sub, make_spec(B2B), ctrl).to_dict(orient="records")
    want = oracle.bottlenecks(deals, list(B2B), ctrl)
    assert [g["rank"] for g in got] == list(range(1, len(B2B)))
    for g, w in zip(got, want, strict=True):
        for key, value in w.items():
            assert close(g[key], value) if key != "from_stage" else g[key] == value, (key, g, w)


@SETTINGS
@given(ids=deal_subsets, stage=st.sampled_from(B2B[1:]), points=st.floats(-20, 60))
def test_what_if(ids, stage, points):
    sub, deals, spec = _subset(ids)
    i = B2B.index(stage)
    if not any(d.furthest >= i - 1 for d in deals):
        return  # no deal reached the previous stage: nothing to raise (checked elsewhere)
    got = what_if(sub, make_spec(B2B), stage, points)
    want = oracle.what_if(deals, list(B2B), stage, points)
    for key, value in want.items():
        assert close(got[key], value), (key, got, want)
    assert got["change_won_deals"] == pytest.approx(got["new_won_deals"] - got["won_deals"])


def test_replay_open_deals_match_reference(result, reference):
    """Deals open at t as the package replays them == the reference's, at 40 times."""
    h = result.history
    deals = list(reference.values())
    times = h.snapshot_times[:: max(1, len(h.snapshot_times) // 40)]
    assert len(times) >= 20
    for t in times:
        got = h.open_at(t)
        want = oracle.open_at(deals, len(B2B), t, result.spec.stale_factor)
        assert sorted(got["deal_id"]) == sorted(want)
        for row in got.to_dict(orient="records"):
            stage, age, amount = want[row["deal_id"]]
            assert (row["current_idx"], row["age_us"]) == (stage, age)
            assert close(row["amount"], amount)


def test_historical_probabilities_as_of_match_reference(result, reference):
    from funnelscope.analyses.pipeline.forecast import classic_probabilities

    h = result.history
    deals = list(reference.values())
    for t in h.snapshot_times[5::15]:
        ids = set(h.open_at(t)["deal_id"])
        got = classic_probabilities(h, t, ids)
        want = oracle.historical_probabilities_at(deals, len(B2B), B2B.index("won"), t, ids)
        np.testing.assert_allclose(got, want, rtol=1e-12)
