"""Run the analyses a report shows, each only when its data exists, each failure isolated.

``collect(ws, definitions)`` returns :class:`ReportData`: per section, the Results (or the
error that stopped one part, as text). Rendering (:mod:`funnelscope.report.compose`) never
runs an analysis; this module only calls them.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

from funnelscope.definitions import Definitions, FunnelDefinition
from funnelscope.errors import FunnelscopeError
from funnelscope.report import runner

#: Options the report uses where the analyses' defaults are made for other purposes.
RETENTION_OPTIONS = {"period": "week", "periods": 12}


@dataclass
class Part:
    """One analysis run for the report: its Result, or the error message that stopped it."""

    name: str
    result: Any = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result is not None


@dataclass
class FunnelPart:
    """A defined funnel: the main run (with trend) and one run per breakdown."""

    definition: FunnelDefinition
    main: Part
    breakdowns: dict[str, Part] = field(default_factory=dict)


@dataclass
class ReportData:
    """Everything a report shows, before it is put into words and pictures."""

    workspace: str
    timezone: str
    tables: list[tuple[str, int]]
    definitions: Definitions
    funnels: list[FunnelPart] = field(default_factory=list)
    parts: dict[str, Part] = field(default_factory=dict)
    metrics: dict[str, Part] = field(default_factory=dict)

    @property
    def errors(self) -> list[str]:
        """Every part that failed, as ``name: message``."""
        out = []
        for f in self.funnels:
            for p in [f.main, *f.breakdowns.values()]:
                if p.error:
                    out.append(f"{p.name}: {p.error}")
        for p in [*self.parts.values(), *self.metrics.values()]:
            if p.error:
                out.append(f"{p.name}: {p.error}")
        return out


def attempt(name: str, f, *args: Any, **kw: Any) -> Part:
    """Run ``f`` into a Part; an error becomes its message (the report goes on without it)."""
    try:
        return Part(name, result=f(*args, **kw))
    except FunnelscopeError as exc:
        return Part(name, error=str(exc))
    except Exception as exc:  # a bug in one analysis must not lose the whole report
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return Part(name, error=f"{type(exc).__name__}: {exc} ({last.filename}:{last.lineno})")


def _funnel(ws: Any, d: FunnelDefinition, defs: Definitions) -> FunnelPart:
    period = d.period or "week"
    main = attempt(f"funnel {d.name}", d.run, ws, period=period)
    part = FunnelPart(d, main)
    for b in d.breakdowns:
        column = defs.breakdown_column(b)
        part.breakdowns[b] = attempt(f"funnel {d.name} by {b}", d.run, ws, by=column)
    return part


def _pipeline(ws: Any, defs: Definitions, overrides: dict[str, Any]) -> Part:
    options: dict[str, Any] = {"period": "quarter"}
    name = overrides.pop("name", None)
    if name or defs.pipelines:
        options.update((defs.pipeline(name) if name else next(iter(defs.pipelines.values()))).options())
    options.update({k: v for k, v in overrides.items() if k != "forecast"})
    part = attempt("pipeline", runner.run, ws, "pipeline", **options)
    if part.ok:
        forecast = attempt("forecast", part.result.forecast, overrides.get("forecast"))
        backtest = attempt("backtest", part.result.backtest)
        part.extra = {"forecast": forecast, "backtest": backtest}
    return part


def collect(ws: Any, definitions: Definitions | None = None,
            only: tuple[str, ...] | None = None,
            options: dict[str, dict[str, Any]] | None = None) -> ReportData:
    """Run every analysis whose data exists on ``ws``.

    ``only``: restrict to these analysis names ("funnel", "retention", ..., "metrics").
    ``options``: per analysis name, options replacing the report's defaults (the dashboard's
    form fields); for "pipeline" also ``name`` (a stage list of the definitions) and
    ``forecast`` (the period to forecast).
    """
    defs = definitions or Definitions()
    options = options or {}
    defs.apply(ws)
    data = ReportData(
        workspace=str(ws.path or ":memory:"), timezone=ws.config.timezone,
        tables=[(t.name, t.rows) for t in ws.tables()], definitions=defs,
    )

    def wanted(name: str) -> bool:
        return (only is None or name in only) and runner.has_data(ws, name) and \
            runner.function(name) is not None

    if wanted("funnel"):
        data.funnels = [_funnel(ws, d, defs) for d in defs.funnels.values()]
    plans = {
        "retention": RETENTION_OPTIONS, "activity": {}, "churn": {},
        "rfm": {}, "clusters": {}, "clv": {}, "acquisition": {},
    }
    for name, plan in plans.items():
        if wanted(name):
            merged = {**plan, **options.get(name, {})}
            data.parts[name] = attempt(name, runner.run, ws, name, **merged)
    if wanted("pipeline"):
        data.parts["pipeline"] = _pipeline(ws, defs, dict(options.get("pipeline", {})))
    for name, m in defs.metrics.items():
        if (only is None or "metrics" in only) and ws.has_table(m.table):
            data.metrics[name] = attempt(f"metric {name}", m.run, ws)
    return data
