"""Sales-pipeline analysis on the ``deals`` table (one row per stage entry).

``pipeline(ws, stages="b2b", by="owner", period="quarter")`` -> :class:`PipelineResult` with
the stage funnel, velocity and win rates, and on demand the forecast, backtest, bottleneck
ranking and what-if. Definitions: docs/pipeline.md.

Example::

    import funnelscope as fs
    from funnelscope.analyses.pipeline import pipeline
    ws = fs.connect()
    ws.load("deals.csv", "deals", stages=["lead", "mql", "sql", "opportunity", "won", "renewed"])
    r = pipeline(ws, by="owner", period="quarter")
    r.funnel; r.forecast("2026Q1"); r.backtest(); r.bottlenecks(); r.what_if("sql", 5)
"""

from __future__ import annotations

from funnelscope.analyses.pipeline.backtest import BacktestResult
from funnelscope.analyses.pipeline.forecast import ForecastResult
from funnelscope.analyses.pipeline.result import PipelineResult
from funnelscope.analyses.pipeline.run import pipeline, run
from funnelscope.analyses.pipeline.spec import PipelineSpec

__all__ = ["BacktestResult", "ForecastResult", "PipelineResult", "PipelineSpec", "pipeline",
           "run"]
