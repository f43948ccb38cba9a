"""PipelineResult: the stage funnel, velocity and win rates, with forecast, backtest,
bottleneck and what-if methods computed on demand from the same deal history."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from funnelscope.analyses.pipeline.backtest import BacktestResult, backtest
from funnelscope.analyses.pipeline.bottlenecks import bottleneck_table
from funnelscope.analyses.pipeline.forecast import ForecastResult, forecast
from funnelscope.analyses.pipeline.history import DealHistory
from funnelscope.analyses.pipeline.periods import bounds, label, period_of
from funnelscope.analyses.pipeline.what_if import what_if
from funnelscope.analyses.result import Result, jsonable


class PipelineResult(Result):
    """Tables: funnel, funnel_by, funnel_by_period, velocity, cycle, stalled,
    pipeline_velocity, win_rates, coverage, bottlenecks (definitions: docs/pipeline.md).

    ``forecast(period)``, ``backtest()``, ``bottlenecks(controllability)`` and
    ``what_if(stage, points)`` compute more from the same deal history.
    """

    def __init__(self, spec: Any, tables: dict[str, pd.DataFrame], meta: dict[str, Any],
                 history: DealHistory) -> None:
        super().__init__(spec=spec, tables=tables, meta=meta)
        self.history = history

    # ----- tables -------------------------------------------------------------------------
    @property
    def funnel(self) -> pd.DataFrame:
        """One row per stage: deals, amount, conversion, losses, regressions."""
        return self.tables["funnel"]

    @property
    def velocity(self) -> pd.DataFrame:
        """One row per stage: time in stage (days), open and stalled deals."""
        return self.tables["velocity"]

    @property
    def win_rates(self) -> pd.DataFrame:
        """Win rate and average deal size by group and close period."""
        return self.tables["win_rates"]

    @property
    def deals(self) -> pd.DataFrame:
        """The per-deal table the analysis was computed from (times in epoch µs)."""
        return self.history.deals

    # ----- on demand ----------------------------------------------------------------------
    def default_forecast_period(self) -> str:
        """The first calendar quarter starting at or after as_of (reporting time zone)."""
        h = self.history
        q = period_of(h.as_of_us, h.tz, "quarter")
        start, _ = bounds(q, h.tz)
        return label(q if start == h.as_of_us else q + 1)

    def _history_with(self, **changes: Any) -> DealHistory:
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self.history
        return self.history.with_spec(dataclasses.replace(self.history.spec, **changes))

    def forecast(self, period: Any = None, probabilities: Any = None,
                 categories: dict[str, str] | None = None) -> ForecastResult:
        """Weighted-pipeline and learned forecast of the amount won in ``period``
        (``"2026Q1"``, ``"2026-03"``, ``"2026"``; default: the next quarter)."""
        probs = tuple(sorted(probabilities.items())) if isinstance(probabilities, dict) else probabilities
        cats = tuple(sorted(categories.items())) if categories else None
        h = self._history_with(probabilities=probs, categories=cats)
        return forecast(h, period if period is not None else self.default_forecast_period())

    def backtest(self, horizon: str | None = None, periods: int = 4,
                 probabilities: Any = None) -> BacktestResult:
        """Replay the last ``periods`` months/quarters and score both forecasts (MAPE)."""
        probs = tuple(sorted(probabilities.items())) if isinstance(probabilities, dict) else probabilities
        return backtest(self._history_with(probabilities=probs), horizon, periods)

    def bottlenecks(self, controllability: dict[str, int] | None = None) -> pd.DataFrame:
        """Transitions ranked by lost deals × value if passed × controllability (1..5)."""
        spec = self.spec
        if controllability:
            merged = dict(spec.controllability)
            merged.update(controllability)
            spec = dataclasses.replace(spec, controllability=tuple(sorted(merged.items())))
        return bottleneck_table(self.history.deals, spec)

    def what_if(self, stage: str, points: float | None = None, to: str | None = None) -> dict:
        """Won deals and amount if ``stage``'s conversion rose by ``points`` percentage
        points (or ``to="best_owner"``), everything else equal."""
        return what_if(self.history.deals, self.spec, stage, points, to)

    # ----- output -------------------------------------------------------------------------
    def to_dict(self, forecast_period: Any = None, include_backtest: bool = True,
                backtest_horizon: str | None = None) -> dict[str, Any]:
        """The documented JSON (docs/pipeline.md#json): funnel, velocity, win_rates, forecast,
        backtest, bottlenecks, then the other tables, the backtest summary, spec and meta."""
        out: dict[str, Any] = {
            "funnel": jsonable(self.funnel),
            "velocity": jsonable(self.velocity),
            "win_rates": jsonable(self.win_rates),
            "forecast": self.forecast(forecast_period).to_dict(),
        }
        summary = None
        if include_backtest:
            bt = self.backtest(backtest_horizon)
            out["backtest"] = bt.to_records()
            summary = jsonable(bt.meta)
        else:
            out["backtest"] = []
        out["bottlenecks"] = jsonable(self.tables["bottlenecks"])
        out["backtest_summary"] = summary
        for name in ("funnel_by", "funnel_by_period", "cycle", "pipeline_velocity", "stalled",
                     "coverage", "bottlenecks_by"):
            out[name] = jsonable(self.tables[name])
        out["spec"] = jsonable(self.spec.to_dict())
        out["meta"] = jsonable(self.meta)
        return out
