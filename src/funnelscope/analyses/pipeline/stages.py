"""The stage funnel: deals and amount reaching each stage, conversion, losses and regressions.

Definitions (docs/pipeline.md): a deal *reached* stage s when its furthest stage is s or later
(skipped stages count as passed; a deal that moved back is still counted once per stage).
A deal is *lost at* s when it is closed lost and its furthest stage is s. Amount is each
deal's latest non-empty amount (missing counts as 0 in sums).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from funnelscope.analyses.pipeline.intervals import rate, wilson
from funnelscope.analyses.pipeline.spec import PipelineSpec

NONE_LABEL = "(none)"


def funnel_table(d: pd.DataFrame, spec: PipelineSpec) -> pd.DataFrame:
    """One row per stage; columns documented in docs/pipeline.md#stage-funnel."""
    furthest = d["furthest_idx"].to_numpy()
    closed = d["closed"].to_numpy(dtype=object)
    amount = np.nan_to_num(d["amount"].to_numpy(dtype="float64"), nan=0.0)
    won, lost = closed == "won", closed == "lost"
    first = int((furthest >= 0).sum())
    k = spec.k
    n = np.array([int((furthest >= i).sum()) for i in range(k)])
    prev = np.concatenate([[first], n[:-1]])
    n_lost = np.array([int((lost & (furthest == i)).sum()) for i in range(k)])
    lo, hi = wilson(n, np.full(k, first))
    plo, phi = wilson(n, prev)
    llo, lhi = wilson(n_lost, n)
    rows = []
    for i, stage in enumerate(spec.stages):
        reached = furthest >= i
        n_won_after = int((won & reached).sum())
        n_closed_after = n_won_after + int((lost & reached).sum())
        rows.append({
            "stage": stage,
            "stage_index": i + 1,
            "deals": int(n[i]),
            "amount": float(amount[reached].sum()),
            "conversion_from_previous": rate(int(n[i]), int(prev[i])),
            "ci_low_from_previous": plo[i],
            "ci_high_from_previous": phi[i],
            "conversion_from_start": rate(int(n[i]), first),
            "ci_low_from_start": lo[i],
            "ci_high_from_start": hi[i],
            "lost": int(n_lost[i]),
            "loss_rate": rate(int(n_lost[i]), int(n[i])),
            "loss_rate_ci_low": llo[i],
            "loss_rate_ci_high": lhi[i],
            "still_open": int(((closed == "open") & (furthest == i)).sum()),
            "won_after": n_won_after,
            "win_rate_after": rate(n_won_after, n_closed_after),
            "regressions": int(d[f"regressions_{i}"].sum()),
        })
    return pd.DataFrame(rows)


def group_labels(values: pd.Series | np.ndarray) -> np.ndarray:
    """Group values as strings, missing -> "(none)"."""
    v = pd.Series(values, dtype=object)
    return v.where(v.notna(), NONE_LABEL).astype(str).to_numpy(dtype=object)


def group_positions(labels: np.ndarray | pd.Series) -> dict:
    """Row positions of each distinct non-missing label, each in row order.

    One hash pass and one stable sort of the codes (O(N log N)), so per-group work costs the
    group's own rows, never a scan of every row per group (O(N x groups))."""
    codes, uniques = pd.factorize(pd.Series(labels, dtype=object), sort=False)
    keep = codes >= 0
    order = np.flatnonzero(keep)[np.argsort(codes[keep], kind="stable")]
    ends = np.cumsum(np.bincount(codes[keep], minlength=len(uniques)))
    starts = np.concatenate([[0], ends[:-1]])
    return {uniques[i]: order[starts[i]:ends[i]] for i in range(len(uniques))}


def ordered_groups(labels: np.ndarray) -> list[str]:
    """Distinct labels, largest first (ties by name)."""
    counts = pd.Series(labels).value_counts()
    return sorted(counts.index, key=lambda g: (-int(counts[g]), str(g)))


def funnel_by(d: pd.DataFrame, spec: PipelineSpec, labels: np.ndarray,
              column: str) -> pd.DataFrame:
    """The funnel table for each group of ``labels`` (one label per deal), in a column
    ``column``; groups largest first (cohort periods in time order)."""
    if len(d) == 0:
        return pd.DataFrame()
    groups = sorted(set(labels)) if column == "cohort" else ordered_groups(labels)
    d = d[["furthest_idx", "closed", "amount", *(f"regressions_{i}" for i in range(spec.k))]]
    rows = group_positions(labels)
    parts = []
    for g in groups:
        t = funnel_table(d.take(rows[g]), spec)
        t.insert(0, column, g)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)
