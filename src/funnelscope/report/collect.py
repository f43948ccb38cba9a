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


@dataclass
class Part:
    """One analysis run for the report: its Result, or the error message that stopped it."""

    name: str
    result: Any = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None

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
    """A named funnel (with its trend, weekly unless it names a period) and its breakdowns."""
    main = _request("funnel", ws, {"name": d.name, "period": d.period or "week"}, defs,
                    label=f"funnel {d.name}")
    part = FunnelPart(d, main)
    for b in d.breakdowns:
        part.breakdowns[b] = _request("funnel", ws, {"name": d.name, "by": b}, defs,
                                      label=f"funnel {d.name} by {b}")
    return part


def _request(name: str, ws: Any, raw: dict[str, Any], defs: Definitions,
             label: str | None = None) -> Part:
    """Run a registry analysis from request values; the Part keeps its JSON too."""
    label = label or name
    try:
        result, data, call = runner.request(ws, name, raw, defs)
    except FunnelscopeError as exc:
        return Part(label, error=str(exc))
    except Exception as exc:  # a bug in one analysis must not lose the whole report
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return Part(label, error=f"{type(exc).__name__}: {exc} ({last.filename}:{last.lineno})")
    part = Part(label, result=result, json=data)
    part.extra["view"] = call.view
    return part


def _pipeline(ws: Any, defs: Definitions, raw: dict[str, Any]) -> Part:
    part = _request("pipeline", ws, raw, defs)
    if part.ok:
        forecast = attempt("forecast", part.result.forecast, part.extra["view"].get("forecast"))
        backtest = attempt("backtest", part.result.backtest)
        part.extra.update(forecast=forecast, backtest=backtest)
    return part


def collect(ws: Any, definitions: Definitions | None = None,
            only: tuple[str, ...] | None = None,
            options: dict[str, dict[str, Any]] | None = None) -> ReportData:
    """Run every registry analysis with report options whose data exists on ``ws``.

    ``only``: restrict to these analysis names ("funnel", "retention", ..., "metrics").
    ``options``: per analysis name, request values (public names, as the CLI and API take
    them) replacing the entry's report defaults: the dashboard's form fields. Settings resolve
    as everywhere: workspace, then funnelscope.yml, then the values given.
    """
    from funnelscope.analyses.registry import apply_settings, entries

    defs = definitions or Definitions()
    options = options or {}
    apply_settings(ws, defs)
    data = ReportData(
        workspace=str(ws.path or ":memory:"), timezone=ws.config.timezone,
        tables=[(t.name, t.rows) for t in ws.tables()], definitions=defs,
    )

    def wanted(name: str) -> bool:
        return (only is None or name in only) and runner.has_data(ws, name)

    if wanted("funnel"):
        data.funnels = [_funnel(ws, d, defs) for d in defs.funnels.values()]
    for entry in entries():
        if entry.report is None or entry.name == "funnel" or not wanted(entry.name):
            continue
        raw = {**entry.report, **{k: v for k, v in options.get(entry.name, {}).items()
                                  if v is not None}}
        if entry.name == "pipeline":
            data.parts["pipeline"] = _pipeline(ws, defs, raw)
        else:
            data.parts[entry.name] = _request(entry.name, ws, raw, defs)
    for name, m in defs.metrics.items():
        if (only is None or "metrics" in only) and ws.has_table(m.table):
            data.metrics[name] = attempt(f"metric {name}", m.run, ws)
    return data
