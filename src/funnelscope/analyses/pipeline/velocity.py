"""Velocity: time in each stage, sales-cycle length, stalled open deals, pipeline velocity.

Times are in days (float). Time in stage s of one deal = its total time in s over stays that
ended (a stay ends at the deal's next stage entry); deals that skipped s or are still in
their first stay there are not in s's distribution. Cycle length: created (first entry) to
win time for won deals, to the last stage entry for lost deals (a lower bound: the data has
no loss date). A deal is stalled when it is open and has been in its current stage (since
its latest entry, up to ``as_of``) longer than that stage's p90 time in stage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from funnelscope.analyses.pipeline.intervals import mean, quantile, rate
from funnelscope.analyses.pipeline.periods import days
from funnelscope.analyses.pipeline.spec import PipelineSpec
from funnelscope.analyses.pipeline.stages import group_labels, group_positions, ordered_groups


def _f(s: pd.Series) -> np.ndarray:
    return pd.array(s, dtype="Float64").to_numpy(dtype="float64", na_value=np.nan)


def stage_p90_days(d: pd.DataFrame, spec: PipelineSpec) -> list[float | None]:
    """p90 of time in stage (days) per stage, from the whole history."""
    return [quantile(days(_f(d[f"time_in_{i}"])), 0.9) for i in range(spec.k)]


def stalled_deals(d: pd.DataFrame, spec: PipelineSpec, as_of_us: int) -> pd.DataFrame:
    """Open deals in their current stage longer than the stage's p90, longest first."""
    p90 = np.array([np.nan if p is None else p for p in stage_p90_days(d, spec)])
    is_open = d["closed"].to_numpy(dtype=object) == "open"
    cur = d["current_idx"].to_numpy()[is_open]
    age = days(as_of_us - d["last_us"].to_numpy()[is_open])
    limit = p90[cur] if len(cur) else np.array([])
    flag = ~np.isnan(limit) & (age > limit)
    owner = d["owner"].to_numpy(dtype=object)[is_open] if "owner" in d else np.full(len(cur), None)
    out = pd.DataFrame({
        "deal_id": d["deal_id"].to_numpy(dtype=object)[is_open][flag],
        "stage": np.array(spec.stages, dtype=object)[cur[flag]] if flag.any() else [],
        "days_in_stage": age[flag],
        "stage_p90_days": limit[flag],
        "amount": d["amount"].to_numpy(dtype="float64")[is_open][flag],
        "owner": owner[flag],
    })
    return out.sort_values(["days_in_stage", "deal_id"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def stage_times(d: pd.DataFrame, spec: PipelineSpec, as_of_us: int) -> pd.DataFrame:
    """One row per stage: time in stage (median, p90, mean days), open and stalled deals."""
    stalled = stalled_deals(d, spec, as_of_us)
    is_open = d["closed"].to_numpy(dtype=object) == "open"
    cur = d["current_idx"].to_numpy()
    st_stage = stalled["stage"].to_numpy(dtype=object)
    st_amount = stalled["amount"].to_numpy(dtype="float64")
    rows = []
    for i, stage in enumerate(spec.stages):
        t = days(_f(d[f"time_in_{i}"]))
        here = st_stage == stage
        rows.append({
            "stage": stage,
            "stage_index": i + 1,
            "deals_timed": int((~np.isnan(t)).sum()),
            "median_days_in_stage": quantile(t, 0.5),
            "p90_days_in_stage": quantile(t, 0.9),
            "mean_days_in_stage": mean(t),
            "open_deals": int((is_open & (cur == i)).sum()),
            "stalled_deals": int(here.sum()),
            "stalled_amount": float(np.nansum(st_amount[here])),
        })
    return pd.DataFrame(rows)


def cycle_days(d: pd.DataFrame) -> dict[str, np.ndarray]:
    """Cycle length in days of won deals (to win time) and lost deals (to last entry)."""
    closed = d["closed"].to_numpy(dtype=object)
    created = d["created_us"].to_numpy(dtype="float64")
    won, lost = closed == "won", closed == "lost"
    return {
        "won": days(_f(d["win_us"])[won] - created[won]),
        "lost": days(d["last_us"].to_numpy(dtype="float64")[lost] - created[lost]),
    }


def cycle_table(d: pd.DataFrame) -> pd.DataFrame:
    """Rows won / lost: deals, median, p90 and mean cycle length in days."""
    rows = []
    for outcome, x in cycle_days(d).items():
        rows.append({"outcome": outcome, "deals": len(x), "median_days": quantile(x, 0.5),
                     "p90_days": quantile(x, 0.9), "mean_days": mean(x)})
    return pd.DataFrame(rows)


def _velocity_row(d: pd.DataFrame) -> dict:
    closed = d["closed"].to_numpy(dtype=object)
    n_won, n_lost = int((closed == "won").sum()), int((closed == "lost").sum())
    n_open = int((closed == "open").sum())
    win_rate = rate(n_won, n_won + n_lost)
    size = mean(d["amount"].to_numpy(dtype="float64")[closed == "won"])
    cycle = mean(cycle_days(d)["won"])
    vel = None
    if win_rate is not None and size is not None and cycle:
        vel = n_open * win_rate * size / cycle
    return {"open_deals": n_open, "win_rate": win_rate, "average_deal_size": size,
            "average_cycle_days": cycle, "pipeline_velocity_per_day": vel}


def velocity_summary(d: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """Pipeline velocity = open deals × win rate × average won deal size ÷ average won cycle
    (days): expected won amount per day. One row for all deals, then one per ``by`` group."""
    rows = [{"group": "(all)", **_velocity_row(d)}]
    if by is not None and len(d):
        labels = group_labels(d[by])
        d = d[["closed", "amount", "win_us", "created_us", "last_us"]]
        positions = group_positions(labels)
        for g in ordered_groups(labels):
            rows.append({"group": g, **_velocity_row(d.take(positions[g]))})
    out = pd.DataFrame(rows)
    out.insert(0, "group_by", [None if g == "(all)" else by for g in out["group"]])
    return out
