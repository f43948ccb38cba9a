"""What-if: raise one stage's conversion and see won deals and won amount change.

A stage's conversion is the funnel's ``conversion_from_previous`` of that stage: deals that
reached it ÷ deals that reached the stage before. Raising it by x points (or to the best
owner's rate) moves extra = reached(previous) × (new − current) deals, at most all of those
that stopped at the previous stage, from "stopped at the previous stage" to "reached this
stage". Everything else equal, each moved deal's outcome changes from that of a closed deal
that stopped at the previous stage to that of a closed deal that reached this stage:

    change in won deals  = extra × (P(won | reached) − P(won | stopped before))
    change in won amount = extra × (E[won amount | reached] − E[won amount | stopped before])

with P and E taken over closed (won or lost) deals. Baselines are the deals closed won now.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from funnelscope.analyses.pipeline.bottlenecks import expected_won_value
from funnelscope.analyses.pipeline.spec import PipelineSpec, UnknownStageError, stage_text
from funnelscope.analyses.pipeline.stages import NONE_LABEL, group_labels, group_positions
from funnelscope.errors import SpecError


def best_owner_rate(d: pd.DataFrame, spec: PipelineSpec, i: int) -> tuple[str | None, float | None]:
    """Owner with the highest conversion into stage i among owners with at least
    ``min_owner_deals`` deals reaching stage i-1 (ties: owner name; deals without an owner
    are not an owner)."""
    if "owner" not in d:
        return None, None
    furthest = d["furthest_idx"].to_numpy()
    positions = group_positions(group_labels(d["owner"]))
    best = (None, None)
    for o in sorted(set(positions) - {NONE_LABEL}):
        f = furthest[positions[o]]
        base = int((f >= i - 1).sum())
        if base < spec.min_owner_deals:
            continue
        r = int((f >= i).sum()) / base
        if best[1] is None or r > best[1]:
            best = (o, r)
    return best


def what_if(d: pd.DataFrame, spec: PipelineSpec, stage: str, points: float | None = None,
            to: str | None = None) -> dict[str, Any]:
    """Effect of raising ``stage``'s conversion by ``points`` percentage points, or
    ``to="best_owner"``; returns one record (docs/pipeline.md#what-if)."""
    if stage not in spec.stages:
        raise UnknownStageError(f"what-if: unknown stage {stage_text(stage, spec.stages)}.",
                                hint=f"The stages are: {', '.join(spec.stages)}.")
    i = spec.stages.index(stage)
    if i == 0:
        raise SpecError(f"what-if: {stage!r} is the first stage; it has no conversion to raise.",
                        hint="Pick a later stage.")
    if (points is None) == (to is None):
        raise SpecError("what-if needs either points (e.g. 5 for +5 points) or to='best_owner'.")
    furthest = d["furthest_idx"].to_numpy()
    prev_n, n = int((furthest >= i - 1).sum()), int((furthest >= i).sum())
    current = n / prev_n if prev_n else None
    best_owner = None
    if to is not None:
        if to != "best_owner":
            raise SpecError(f"what-if: unknown target {to!r}.", hint="Use to='best_owner'.")
        best_owner, target = best_owner_rate(d, spec, i)
        if target is None:
            raise SpecError(
                f"what-if: no owner has {spec.min_owner_deals} or more deals entering "
                f"{spec.stages[i - 1]!r}.", hint="Lower min_owner_deals or give points instead.")
    else:
        if isinstance(points, bool) or not isinstance(points, (int, float)) or np.isnan(points):
            raise SpecError(f"what-if: points must be a number, got {points!r}.")
        target = None if current is None else current + points / 100
    new = None if target is None else float(min(1.0, max(current or 0.0, target)))
    extra = 0.0 if new is None else min(prev_n * (new - current), prev_n - n)
    p_new, v_new = expected_won_value(d, furthest >= i)
    p_old, v_old = expected_won_value(d, furthest == i - 1)
    closed = d["closed"].to_numpy(dtype=object)
    amount = np.nan_to_num(d["amount"].to_numpy(dtype="float64"), nan=0.0)
    base_won = int((closed == "won").sum())
    base_amount = float(amount[closed == "won"].sum())
    d_won = extra * ((p_new or 0.0) - (p_old or 0.0))
    d_amount = extra * ((v_new or 0.0) - (v_old or 0.0))
    return {
        "stage": stage, "previous_stage": spec.stages[i - 1], "points": points,
        "best_owner": best_owner, "current_conversion": current, "new_conversion": new,
        "extra_deals_reaching_stage": extra,
        "won_probability_if_reached": p_new, "won_probability_if_stopped_before": p_old,
        "won_deals": base_won, "new_won_deals": base_won + d_won, "change_won_deals": d_won,
        "won_amount": base_amount, "new_won_amount": base_amount + d_amount,
        "change_won_amount": d_amount,
    }
