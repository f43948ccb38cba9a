"""Win rate, average deal size and pipeline coverage, by group (owner by default) and period.

Win rate = won ÷ (won + lost) among closed deals; open deals are not in it. A deal closes in
the period of its win time (won) or of its last stage entry (lost), in the reporting time
zone. Average deal size = mean amount of won deals with an amount. Coverage = open pipeline
amount ÷ target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from funnelscope.analyses.pipeline.intervals import mean, rate, wilson
from funnelscope.analyses.pipeline.periods import period_labels
from funnelscope.analyses.pipeline.spec import PipelineSpec
from funnelscope.analyses.pipeline.stages import group_labels, group_positions, ordered_groups

ALL = "(all)"


def group_column(d: pd.DataFrame, spec: PipelineSpec) -> str | None:
    """The breakdown of win rates and coverage: ``by``, else owner when the deals have owners."""
    if spec.by is not None:
        return spec.by
    return "owner" if "owner" in d and d["owner"].notna().any() else None


def _row(closed: np.ndarray, amount: np.ndarray) -> dict:
    """Win-rate columns of the deals whose ``closed`` status and ``amount`` are given."""
    won, lost = closed == "won", closed == "lost"
    n_won, n_lost = int(won.sum()), int(lost.sum())
    amounts = amount[won]
    return {
        "closed_deals": n_won + n_lost, "won": n_won, "lost": n_lost,
        "win_rate": rate(n_won, n_won + n_lost),
        "won_amount": float(np.nansum(amounts)), "average_deal_size": mean(amounts),
    }


def close_periods(d: pd.DataFrame, tz: str, period: str) -> np.ndarray:
    """Close period label per deal: of the win time (won), last entry (lost); None if open."""
    closed = d["closed"].to_numpy(dtype=object)
    win = pd.array(d["win_us"], dtype="Int64").to_numpy(dtype="float64", na_value=np.nan)
    when = np.where(closed == "won", win, d["last_us"].to_numpy(dtype="float64"))
    when = np.where(closed == "open", np.nan, when)
    return period_labels(when, tz, period)


def win_rate_table(d: pd.DataFrame, spec: PipelineSpec, tz: str) -> pd.DataFrame:
    """Rows for every (group, period) pair, "(all)" included on both axes."""
    gcol = group_column(d, spec)
    every = np.arange(len(d))
    groups = [(ALL, every)]
    if gcol is not None and len(d):
        labels = group_labels(d[gcol])
        positions = group_positions(labels)
        groups += [(g, positions[g]) for g in ordered_groups(labels)]
    per = None
    names = [ALL]
    if spec.period is not None and len(d):
        per = close_periods(d, tz, spec.period)
        names += sorted({p for p in per if p is not None})
    closed = d["closed"].to_numpy(dtype=object)
    amount = d["amount"].to_numpy(dtype="float64")
    none = np.zeros(0, dtype="int64")
    rows = []
    for g, rows_g in groups:  # rows of the group, then of each close period within it
        in_period = group_positions(per[rows_g]) if per is not None else {}
        for p in names:
            sel = rows_g if p == ALL else rows_g[in_period.get(p, none)]
            rows.append({"group_by": None if g == ALL else gcol, "group": g, "period": p,
                         **_row(closed[sel], amount[sel])})
    out = pd.DataFrame(rows)
    lo, hi = wilson(out["won"].to_numpy(), out["closed_deals"].to_numpy())
    out.insert(out.columns.get_loc("win_rate") + 1, "ci_low", lo)
    out.insert(out.columns.get_loc("win_rate") + 2, "ci_high", hi)
    return out


def _target_for(targets, group: str):
    if targets is None:
        return None
    if isinstance(targets, (int, float)):
        return float(targets) if group == ALL else None
    return dict(targets).get(group)


def coverage_table(d: pd.DataFrame, spec: PipelineSpec) -> pd.DataFrame:
    """Open pipeline per group ("(all)" first): open deals, open amount, target, coverage."""
    gcol = group_column(d, spec)
    is_open = (d["closed"] == "open").to_numpy()
    open_amount = d["amount"].to_numpy(dtype="float64")[is_open]
    groups = [(ALL, np.arange(len(open_amount)))]
    if gcol is not None and len(d):
        labels = group_labels(d[gcol])
        positions = group_positions(labels[is_open])
        none = np.zeros(0, dtype="int64")
        groups += [(g, positions.get(g, none)) for g in ordered_groups(labels)]
    rows = []
    for g, sel in groups:
        amount = float(np.nansum(open_amount[sel]))
        target = _target_for(spec.targets, g)
        rows.append({"group_by": None if g == ALL else gcol, "group": g,
                     "open_deals": len(sel), "open_amount": amount, "target": target,
                     "coverage": amount / target if target else None})
    return pd.DataFrame(rows)
