"""Every pipeline output on the b2b demo dataset, checked against the reference and the
parameters that generated the data (``ground_truth("b2b")``)."""

from __future__ import annotations

import functools
import json
import math

import pytest

import funnelscope as fs
from funnelscope.analyses.pipeline import pipeline

from . import oracle

demo = pytest.importorskip("funnelscope.data.demo")

AS_OF = "2026-04-01"  # the demo's data end: start (2026-01-01) + 90 days


@functools.cache
def loaded():
    deals = demo.generate("b2b", users=20_000, seed=42)["deals"]
    ws = fs.connect()
    ws.load(deals, "deals")
    rows = [{**r, "ts": int(r["stage_entered_at"].timestamp() * 1_000_000)}
            for r in deals.to_pylist()]
    stages = tuple(ws.config.deal_stages)
    return ws, oracle.build(rows, stages, "paying"), stages


@functools.cache
def result():
    ws, _, _ = loaded()
    return pipeline(ws, by="owner", period="quarter", as_of=AS_OF)


def test_demo_funnel_matches_reference():
    _, deals, stages = loaded()
    r = result()
    assert r.spec.win_stage == "paying"
    want = oracle.funnel(deals, stages)
    got = r.funnel.to_dict(orient="records")
    for g, w in zip(got, want, strict=True):
        for key in ("deals", "lost", "still_open", "regressions", "won_after"):
            assert g[key] == w[key], (key, g, w)
        assert g["amount"] == pytest.approx(w["amount"])
    assert r.funnel["regressions"].sum() > 0  # the demo has regressions ...
    assert (r.funnel["deals"].diff().dropna() <= 0).all()  # ... counted once per stage


def test_demo_matured_cohorts_convert_at_the_generating_win_rate():
    """Deals created in the first half year have finished moving; the share reaching paying
    must match the generator's expected win rate (owners uniform) within 3 standard errors."""
    truth = demo.ground_truth("b2b")["expected_win_rate_by_owner"]
    p = sum(truth.values()) / len(truth)
    f = result().tables["funnel_by_period"]
    old = f[f["cohort"].isin(["2025Q2", "2025Q3"])]
    n = old.loc[old["stage"] == "target", "deals"].sum()
    won = old.loc[old["stage"] == "paying", "deals"].sum()
    assert abs(won / n - p) < 3 * math.sqrt(p * (1 - p) / n)


def test_demo_exercises_every_output():
    r = result()
    v = r.velocity.set_index("stage")
    assert v.loc["intent", "median_days_in_stage"] > v.loc["target", "median_days_in_stage"]
    assert len(r.tables["stalled"]) > 0  # stalled deals stay open in the demo
    assert r.tables["pipeline_velocity"]["pipeline_velocity_per_day"].iloc[0] > 0
    w = r.win_rates
    assert set(w["group"]) >= set(demo.ground_truth("b2b")["owners"])
    assert r.bottlenecks()["rank"].tolist() == list(range(1, len(r.spec.stages)))
    best = r.what_if("signed", to="best_owner")
    assert best["best_owner"] in {"li.wei", "chen.jie"}  # the two most skilled owners
    assert best["change_won_amount"] > 0
    f = r.forecast("2026Q2")
    assert f.meta["open_deals"] > 0 and f.meta["learned_forecast"] > 0
    bt = r.backtest()
    assert len(bt.cutoffs) >= 2
    assert bt.meta["more_accurate"] in {"learned", "weighted", "tie"}
    data = r.to_dict(forecast_period="2026Q2")
    assert json.loads(json.dumps(data))["backtest_summary"]["horizon"] == bt.meta["horizon"]
