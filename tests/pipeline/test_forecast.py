"""Forecast and backtest against the reference, and the backtest's no-peeking guarantee."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

import funnelscope as fs
from funnelscope.analyses.pipeline import pipeline
from funnelscope.errors import SpecError

from . import oracle
from .cases import B2B, DAY_US, frame_to_rows, us
from .simulate import simulate_deals

AS_OF = "2025-01-01"  # the simulation's data end; fixed so replays do not depend on the data


@functools.cache
def simulated():
    df = simulate_deals(300, seed=3, start="2023-06-01", end=AS_OF)
    ws = fs.connect()
    ws.load(df, "deals", stages=list(B2B))
    rows = frame_to_rows(df)
    return ws, oracle.build(rows, B2B, "won"), df


def test_backtest_matches_reference():
    ws, deals, _ = simulated()
    bt = pipeline(ws, as_of=AS_OF).backtest("month", periods=3)
    rows = bt.cutoffs.to_dict(orient="records")
    assert len(rows) == 3
    k, win, as_of = len(B2B), B2B.index("won"), us(AS_OF)
    for row in rows:
        start = us(row["cutoff"])
        end = us(row["period_end"])
        want = oracle.backtest_row(deals, k, win, as_of, start, end)
        for key, value in want.items():
            assert row[key] == pytest.approx(value, rel=1e-9, abs=1e-9), (key, row, want)
        assert row["weighted_error"] == pytest.approx(abs(row["weighted_forecast"] - row["actual"])
                                                      / row["actual"])
    m = bt.meta
    assert m["weighted_mape"] == pytest.approx(np.mean([r["weighted_error"] for r in rows]))
    assert m["learned_mape"] == pytest.approx(np.mean([r["learned_error"] for r in rows]))
    assert m["more_accurate"] == ("learned" if m["learned_mape"] < m["weighted_mape"] else "weighted")


def test_backtest_does_not_peek_past_the_cutoff():
    """Forecasts made at a cut-off C use nothing recorded after C: the same data cut at
    X >= C (entries after X removed, deals still moving after X recorded as open, as a CRM
    export taken at X would show them) gives the same forecasts at every C <= X."""
    _, _, df = simulated()
    cut = "2024-10-01"
    ts = pd.to_datetime(df["stage_entered_at"], utc=True)
    moving = set(df.loc[ts > pd.Timestamp(cut, tz="UTC"), "deal_id"])
    earlier = df[ts <= pd.Timestamp(cut, tz="UTC")].copy()
    earlier.loc[earlier["deal_id"].isin(moving), "closed"] = "open"
    full = pipeline(_workspace(df), as_of=AS_OF).backtest("month", periods=6).cutoffs
    at_x = pipeline(_workspace(earlier), as_of=AS_OF).backtest("month", periods=6).cutoffs
    shared = full.merge(at_x, on="cutoff", suffixes=("", "_at_x"))
    shared = shared[pd.to_datetime(shared["cutoff"]) <= pd.Timestamp(cut, tz="UTC")]
    assert len(shared) >= 3
    for col in ("open_deals", "open_amount", "weighted_forecast", "learned_forecast",
                "learned_expected_deals", "training_rows"):
        np.testing.assert_allclose(shared[col], shared[f"{col}_at_x"], rtol=1e-12)


def alive(deals, pipe, as_of):
    """Open deals not presumed dead at as_of (in their stage <= 2 x its p90 first stay)."""
    limits = oracle.dead_after(deals, len(B2B), as_of, 2.0)
    return [d for d in pipe if as_of - d.last <= limits[d.current]]


def _workspace(df):
    ws = fs.connect()
    ws.load(df, "deals", stages=list(B2B))
    return ws


@pytest.mark.parametrize("table", ["historical", "ramp", "custom"])
def test_forecast_matches_reference(table):
    ws, deals, _ = simulated()
    custom = {"lead": 0.05, "mql": 0.1, "sql": 0.3, "opportunity": 0.7}
    probs = custom if table == "custom" else table
    r = pipeline(ws, as_of="2025-01-10", probabilities=probs)
    f = r.forecast("2025Q1")
    w = B2B.index("won")
    if table == "historical":
        p = [oracle.funnel(deals, B2B)[i]["win_rate_after"] for i in range(w)]
    elif table == "ramp":
        p = [(i + 1) / (w + 1) for i in range(w)]
    else:
        p = [custom[s] for s in B2B[:w]]
    as_of, start, end = us("2025-01-10"), us("2025-01-01"), us("2025-04-01")
    pipe = [d for d in deals if d.closed == "open" and d.win_time is None]
    assert f.meta["open_deals"] == len(pipe)
    pipe = alive(deals, pipe, as_of)
    assert f.meta["open_deals"] - f.meta["presumed_dead_deals"] == len(pipe) > 0
    assert f.meta["weighted_pipeline"] == pytest.approx(sum(oracle.amt(d) * p[d.current]
                                                            for d in pipe))
    won_in = [d for d in deals if d.win_time is not None and start <= d.win_time < end
              and d.win_time <= as_of]
    assert f.meta["closed_won_amount"] == pytest.approx(sum(oracle.amt(d) for d in won_in))
    first = min(d.created for d in deals)
    times = [t for t in oracle.grid(first, as_of) if t + (end - as_of) <= as_of]
    predict = oracle.learned_rates(deals, len(B2B), w, times, 0, end - as_of)
    assert f.meta["model_training_rows"] == predict.rows
    assert f.meta["learned_pipeline"] == pytest.approx(
        sum(oracle.amt(d) * predict(d.current, as_of - d.last) for d in pipe))
    cats = f.tables["categories"].set_index("category")
    assert cats["amount"].sum() == pytest.approx(f.meta["open_amount"] + f.meta["closed_won_amount"])
    assert cats.loc["Omitted", "amount"] == pytest.approx(f.meta["presumed_dead_amount"])
    assert f.meta["commit"] == pytest.approx(cats.loc["Closed", "amount"] + cats.loc["Commit", "amount"])
    assert f.meta["best_case"] == pytest.approx(f.meta["commit"] + cats.loc["Best Case", "amount"])


def test_forecast_of_a_future_period_with_a_gap_trains_on_shifted_windows():
    ws, deals, _ = simulated()
    f = pipeline(ws, as_of=AS_OF).forecast("2025-03")
    as_of, start, end = us(AS_OF), us("2025-03-01"), us("2025-04-01")
    gap, length = start - as_of, end - start
    first = min(d.created for d in deals)
    times = [t for t in oracle.grid(first, as_of) if t + gap + length <= as_of]
    predict = oracle.learned_rates(deals, len(B2B), B2B.index("won"), times, gap, length)
    pipe = alive(deals, [d for d in deals if d.closed == "open" and d.win_time is None], as_of)
    assert f.meta["gap_days"] == pytest.approx(gap / DAY_US)
    assert f.meta["learned_pipeline"] == pytest.approx(
        sum(oracle.amt(d) * predict(d.current, as_of - d.last) for d in pipe))


def test_forecast_categories_follow_the_analyst_mapping():
    ws, _, _ = simulated()
    r = pipeline(ws, as_of=AS_OF, probabilities="ramp",
                 categories={"lead": "Omitted", "opportunity": "Commit"})
    f = r.forecast("2025Q1")
    stages = f.tables["stages"].set_index("stage")
    assert stages.loc["lead", "category"] == "Omitted"
    assert stages.loc["opportunity", "category"] == "Commit"
    assert stages.loc["mql", "category"] == "Pipeline"  # ramp 2/5 = 0.4 < 0.5
    assert stages.loc["sql", "category"] == "Best Case"  # ramp 3/5 = 0.6
    cats = f.tables["categories"].set_index("category")
    dead = f.tables["deals"]
    dead = dead[dead["presumed_dead"] & (dead["stage"] != "lead")]["amount"].sum()
    assert cats.loc["Omitted", "amount"] == pytest.approx(stages.loc["lead", "amount"] + dead)
    assert f.tables["deals"].query("category == 'Omitted'")["weighted_amount"].sum() == 0
    assert f.meta["pipeline"] == pytest.approx(f.meta["open_amount"] - cats.loc["Omitted", "amount"])


def test_forecast_rejects_a_period_already_over():
    ws, _, _ = simulated()
    with pytest.raises(SpecError, match="ended before"):
        pipeline(ws, as_of=AS_OF).forecast("2024Q4")
    with pytest.raises(SpecError, match="cannot read the forecast period"):
        pipeline(ws, as_of=AS_OF).forecast("next quarter")
