"""Bottleneck ranking: "fix what is important and controllable first".

For each transition s -> s+1 (s = every stage but the last):

* lost = deals lost at s (closed lost, furthest stage s);
* value_if_passed = the expected won amount of a deal that reached s+1: won amount ÷ number
  of closed (won or lost) deals among those that reached s+1 — so a loss early in the funnel
  weighs what such a deal would on average have become, not its face amount;
* lost_value = lost × value_if_passed;
* controllability = the stage's score 1..5 (the analyst's; default 3);
* priority = lost_value × controllability; rank 1 = highest priority (ties: earlier stage).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from funnelscope.analyses.pipeline.intervals import rate
from funnelscope.analyses.pipeline.spec import PipelineSpec


def expected_won_value(d: pd.DataFrame, mask: np.ndarray) -> tuple[float | None, float | None]:
    """(P(won), expected won amount) per closed deal among ``mask``; None, None if none closed."""
    closed = d["closed"].to_numpy(dtype=object)
    won = closed == "won"
    done = mask & np.isin(closed, ["won", "lost"])
    n = int(done.sum())
    if n == 0:
        return None, None
    amount = np.nan_to_num(d["amount"].to_numpy(dtype="float64"), nan=0.0)
    return int((won & done).sum()) / n, float(amount[won & done].sum()) / n


def bottleneck_table(d: pd.DataFrame, spec: PipelineSpec,
                     controllability: dict[str, int] | None = None) -> pd.DataFrame:
    """Transitions ranked by priority; ``controllability`` overrides the spec's scores."""
    furthest = d["furthest_idx"].to_numpy()
    lost = d["closed"].to_numpy(dtype=object) == "lost"
    scores = dict(spec.controllability)
    scores.update(controllability or {})
    rows = []
    for i in range(spec.k - 1):
        reached = furthest >= i
        n_lost = int((lost & (furthest == i)).sum())
        _, value = expected_won_value(d, furthest >= i + 1)
        lost_value = n_lost * value if value is not None else None
        score = int(scores.get(spec.stages[i], 3))
        rows.append({
            "from_stage": spec.stages[i], "to_stage": spec.stages[i + 1],
            "reached": int(reached.sum()), "lost": n_lost,
            "loss_rate": rate(n_lost, int(reached.sum())),
            "value_if_passed": value, "lost_value": lost_value, "controllability": score,
            "priority": lost_value * score if lost_value is not None else None,
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    order = sorted(range(len(out)), key=lambda j: (
        -(out["priority"].iloc[j] if pd.notna(out["priority"].iloc[j]) else -np.inf), j))
    out = out.iloc[order].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


BY_COLUMNS = ["group", "deals", "from_stage", "to_stage", "reached", "lost", "loss_rate",
              "value_if_passed", "lost_value", "controllability", "priority"]


def bottlenecks_by(d: pd.DataFrame, spec: PipelineSpec, groups: np.ndarray) -> pd.DataFrame:
    """Per segment (``groups``: one label per deal, e.g. the owner): its own bottleneck, the
    rank-1 transition of :func:`bottleneck_table` computed on that segment's deals alone
    (value_if_passed from the segment's own won deals; the same controllability scores).
    Segments by deals, most first (ties: by name); a segment whose transitions have no
    priority (nothing lost, or no closed deal past the step) has its rank-1 row all the same,
    ordered by stage."""
    from funnelscope.analyses.pipeline.stages import group_positions

    rows = []
    labels = np.asarray(groups, dtype=object).astype(str)
    positions = group_positions(labels)
    d = d[["furthest_idx", "closed", "amount"]]
    for group in sorted(positions, key=lambda g: (-len(positions[g]), g)):
        ranked = bottleneck_table(d.take(positions[group]).reset_index(drop=True), spec)
        if ranked.empty:
            continue
        top = ranked.iloc[0].to_dict()
        rows.append({"group": group, "deals": len(positions[group]),
                     **{c: top[c] for c in BY_COLUMNS[2:]}})
    return pd.DataFrame(rows, columns=BY_COLUMNS)
