"""Replaying the pipeline as of a past time t, using only what was visible at t.

Visible at t: the stage entries with ``stage_entered_at <= t``. The final ``closed`` status is
*not* visible (it may have been set after t). So, at t, a deal that exists (first entry <= t) is

* **won by t** when its win time is <= t (it entered the win stage or a later one by t; a
  closed-won deal that never entered one is taken as won at its last entry);
* otherwise **presumed dead** when it has sat in its current stage (since its latest visible
  entry) longer than ``stale_factor`` × that stage's p90 first-stay length, computed from the
  first stays that had ended by t (< 5 such stays: all stages' ended first stays pooled; none:
  never presumed dead);
* otherwise **open at t**.

A deal presumed dead at t that later comes back (a reopened deal) is simply not part of the
pipeline at t. Nothing here reads a value that was only known after t.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from funnelscope.analyses.pipeline.spec import PipelineSpec

MIN_STAYS = 5


def _arr(s: pd.Series) -> np.ndarray:
    return pd.array(s, dtype="Int64").to_numpy(dtype="float64", na_value=np.nan)


def first_stays(d: pd.DataFrame, spec: PipelineSpec) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per stage: (end time, length) of every deal's first stay there that ended, in µs."""
    out = []
    for i in range(spec.k):
        start, end = _arr(d[f"entered_{i}"]), _arr(d[f"left_{i}"])
        ok = ~np.isnan(end)
        out.append((end[ok], end[ok] - start[ok]))
    return out


def dead_after_us(stays: list[tuple[np.ndarray, np.ndarray]], t: int, factor: float) -> np.ndarray:
    """Per stage, the time in stage (µs) after which a deal is presumed dead at t (inf: never)."""
    lengths = [length[end <= t] for end, length in stays]
    pooled = np.concatenate(lengths) if lengths else np.array([])
    out = np.full(len(stays), np.inf)
    for i, x in enumerate(lengths):
        base = x if len(x) >= MIN_STAYS else pooled
        if len(base):
            out[i] = factor * float(np.quantile(base, 0.9))
    return out


def max_dead_after_us(stays: list[tuple[np.ndarray, np.ndarray]], factor: float) -> int | None:
    """An upper bound of every dead-after threshold at any t (for the engine pre-filter)."""
    lengths = [length for _, length in stays if len(length)]
    if not lengths:
        return None
    return int(np.ceil(factor * float(np.concatenate(lengths).max()))) + 1


def open_rows(states: pd.DataFrame, d: pd.DataFrame, spec: PipelineSpec,
              stays: list[tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """The rows of ``as_of_states`` (any number of snapshot times) whose deal was open at
    that time, with ``deal_id`` (from ``d``, in place of ``deal_row``) and ``age_us`` (time
    in its current stage at t)."""
    t = states["t"].to_numpy(dtype="int64")
    pos = states["deal_row"].to_numpy(dtype="int64")
    win = _arr(d["win_us"])[pos]
    not_won = np.isnan(win) | (win > t)
    times, which = np.unique(t, return_inverse=True)
    limits = np.array([dead_after_us(stays, int(x), spec.stale_factor) for x in times])
    age = t - states["last_us"].to_numpy(dtype="int64")
    limit = limits[which, states["current_idx"].to_numpy()] if len(t) else np.zeros(0)
    keep = not_won & (age <= limit)
    out = states[keep].drop(columns="deal_row")
    out.insert(1, "deal_id", d["deal_id"].to_numpy(dtype=object)[pos[keep]])
    out["age_us"] = age[keep]
    return out.reset_index(drop=True)
