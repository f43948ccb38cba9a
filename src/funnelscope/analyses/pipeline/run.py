"""Run the sales-pipeline analysis: the per-deal table in the engine, the rest in pandas."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from funnelscope.analyses.pipeline.result import PipelineResult
from funnelscope.analyses.pipeline.spec import PipelineSpec, make_spec

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace


def pipeline(ws: Workspace, stages: Any = None, by: str | None = None,
             period: str | None = None, *, win_stage: str | None = None, as_of: Any = None,
             controllability: dict[str, int] | None = None, probabilities: Any = "historical",
             categories: dict[str, str] | None = None, targets: Any = None,
             stale_factor: float = 2.0, min_owner_deals: int = 10,
             shrinkage: float = 10.0) -> PipelineResult:
    """Run the pipeline analysis on ``ws``'s deals table.

    stages: a preset name (telecom, b2b, salesforce), a comma-separated string or a list
    (default: the workspace's ``deal_stages``). by: a deals column (owner, team, segment,
    product, ...). period: month | quarter creation cohorts and close periods. win_stage,
    as_of, controllability (stage -> 1..5), probabilities, categories, targets, stale_factor,
    min_owner_deals, shrinkage: see :class:`PipelineSpec`. Controllability defaults to the
    workspace's ``controllability`` setting, then 3.
    """
    spec = make_spec(ws.config.deal_stages, ws.config.controllability, stages=stages, by=by,
                     period=period, win_stage=win_stage, as_of=as_of,
                     controllability=controllability, probabilities=probabilities,
                     categories=categories, targets=targets, stale_factor=stale_factor,
                     min_owner_deals=min_owner_deals, shrinkage=shrinkage)
    return run(ws, spec)


def run(ws: Workspace, spec: PipelineSpec) -> PipelineResult:
    """Evaluate ``spec`` on ``ws``: the per-deal table in the engine, the rest in pandas."""
    from funnelscope.analyses.pipeline.bottlenecks import bottleneck_table, bottlenecks_by
    from funnelscope.analyses.pipeline.deals import deal_table
    from funnelscope.analyses.pipeline.history import DealHistory
    from funnelscope.analyses.pipeline.periods import period_labels
    from funnelscope.analyses.pipeline.spec import check_stages_in_data
    from funnelscope.analyses.pipeline.stages import funnel_by, funnel_table, group_labels
    from funnelscope.analyses.pipeline.velocity import (
        cycle_table,
        stage_times,
        stalled_deals,
        velocity_summary,
    )
    from funnelscope.analyses.pipeline.win_rates import coverage_table, win_rate_table
    from funnelscope.errors import SpecError

    started = time.perf_counter()
    t = ws.deals
    per_stage = t.group_by("stage").aggregate(n=t.count()).to_pandas()
    counts = {str(s): int(n) for s, n in zip(per_stage["stage"], per_stage["n"], strict=True)
              if s is not None}
    check_stages_in_data(spec, counts)  # stage names that match nothing: an error, not zeros
    outside = sum(n for s, n in counts.items() if s not in spec.stages)
    d = deal_table(ws, spec)
    if d.empty:
        seen = sorted(str(s) for s in t.select("stage").distinct().to_pandas()["stage"])[:20]
        raise SpecError(
            f"no deal has a stage entry in the stages {list(spec.stages)}.",
            hint=f"The deals table's stages are: {', '.join(seen) or '(none)'}; pass stages=.",
        )
    latest = int(d["last_us"].max())
    as_of = spec.as_of_us if spec.as_of_us is not None else latest
    if as_of < latest:
        raise SpecError(
            "as_of is before the latest stage entry in the data.",
            hint="Leave as_of out (it defaults to the latest entry) or give a later time.",
        )
    tz = ws.config.timezone
    history = DealHistory(ws, spec, d, as_of, tz)
    history.detach()  # the as-of replays are read now: the result holds no workspace
    tables = {
        "funnel": funnel_table(d, spec),
        "funnel_by": (funnel_by(d, spec, group_labels(d[spec.by]), "group")
                      if spec.by else _empty()),
        "funnel_by_period": (funnel_by(d, spec, period_labels(d["created_us"], tz, spec.period),
                                       "cohort") if spec.period else _empty()),
        "velocity": stage_times(d, spec, as_of),
        "cycle": cycle_table(d),
        "stalled": stalled_deals(d, spec, as_of),
        "pipeline_velocity": velocity_summary(d, spec.by),
        "win_rates": win_rate_table(d, spec, tz),
        "coverage": coverage_table(d, spec),
        "bottlenecks": bottleneck_table(d, spec),
        "bottlenecks_by": (bottlenecks_by(d, spec, group_labels(d[spec.by]))
                           if spec.by else _empty()),
    }
    import pandas as pd

    meta = {
        "engine": ws.engine, "deals": len(d), "entries_outside_stages": outside,
        "as_of": pd.Timestamp(as_of * 1000, tz="UTC").tz_convert(tz).isoformat(),
        "timezone": tz, "win_stage": spec.win_stage,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return PipelineResult(spec=spec, tables=tables, meta=meta, history=history)


def _empty():
    import pandas as pd

    return pd.DataFrame()
