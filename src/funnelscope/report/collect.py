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


def _fill(name: str, ws: Any, defs: Definitions, raw: dict[str, Any]) -> dict[str, Any] | None:
    """The request of analysis ``name`` through its :data:`REQUESTS` hook (None: not in the
    report, also when the workspace cannot say, e.g. an unreadable exposures table)."""
    try:
        return REQUESTS[name](ws, defs, raw)
    except FunnelscopeError:
        return None


def _pipeline(ws: Any, defs: Definitions, raw: dict[str, Any]) -> Part:
    part = _request("pipeline", ws, raw, defs)
    if part.ok:
        forecast = attempt("forecast", part.result.forecast, part.extra["view"].get("forecast"))
        backtest = attempt("backtest", part.result.backtest)
        part.extra.update(forecast=forecast, backtest=backtest)
    return part


def default_funnel(ws: Any, defs: Definitions) -> dict[str, Any] | None:
    """The funnel the watch and experiment sections use: funnelscope.yml's first named funnel
    (``name``, and ``by`` = its first breakdown), else the dashboard builder's default funnel
    (the two events with the most users, window 7d). None without two events."""
    if defs.funnels:
        d = next(iter(defs.funnels.values()))
        out: dict[str, Any] = {"name": d.name, "steps": list(d.steps), "window": d.window}
        if d.breakdowns:
            out["by"] = d.breakdowns[0]
        return out
    from funnelscope.web.catalog import events  # the builder's default steps, one query

    top = events(ws)
    if len(top) < 2:
        return None
    return {"name": None, "steps": [top[0]["event"], top[1]["event"]], "window": "7d"}


def first_experiment(ws: Any) -> str | None:
    """The experiment of the ``exposures`` table with the most exposures (ties: by name), as
    ``funnelscope experiment`` lists them; None without the table or rows."""
    if not ws.has_table("exposures"):
        return None
    import ibis

    t = ws.table("exposures")
    known = t.filter(t.experiment.notnull())
    df = (known.group_by("experiment").aggregate(n=known.count())
          .order_by([ibis.desc("n"), "experiment"]).limit(1).execute())
    return None if df.empty else str(df["experiment"].iloc[0])


def watch_request(ws: Any, defs: Definitions, raw: dict[str, Any]) -> dict[str, Any] | None:
    """The report's watch request: ``raw`` as given when it names what to watch (steps, a
    named funnel or yml metrics), else the :func:`default_funnel` (by name, or its steps)
    explained by its first breakdown, under ``raw``."""
    if any(raw.get(k) for k in ("steps", "name", "metric")):
        return raw
    f = default_funnel(ws, defs)
    if f is None:
        return None
    base = {"name": f["name"]} if f["name"] else {"steps": f["steps"], "window": f["window"]}
    if f.get("by"):
        base["by"] = f["by"]
    return {**base, **raw}


def experiment_request(ws: Any, defs: Definitions, raw: dict[str, Any]) -> dict[str, Any] | None:
    """The report's experiment request: ``raw`` as given when it names the variants
    (``variant_column`` or ``experiment``), else the :func:`first_experiment` of the
    exposures table; without ``steps``, the conversion is reaching the last step of the
    :func:`default_funnel` within that funnel's window after the first exposure. None (not in
    the report) without an exposures table, or while the experiment analysis has no
    ``experiment`` option."""
    from funnelscope.analyses.registry import get

    if raw.get("variant_column"):
        return raw
    if not raw.get("experiment"):
        if "experiment" not in {p.name for p in get("experiment").params}:
            return None
        name = first_experiment(ws)
        if name is None:
            return None
        raw = {"experiment": name, **raw}
    if not raw.get("steps"):
        f = default_funnel(ws, defs)
        if f is None:
            return None
        last = f["steps"][-1]
        raw = {"steps": [last if isinstance(last, str) else last["event"]],
               "window": f["window"], **raw}
    return raw


#: analyses whose report request depends on the workspace (named funnels, exposures):
#: ``f(ws, definitions, raw) -> request values`` over the registry's ``report`` options and
#: the caller's options (``raw``); None leaves the analysis out of the report
REQUESTS = {"watch": watch_request, "experiment": experiment_request}


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
        if entry.name in REQUESTS:
            filled = _fill(entry.name, ws, defs, raw)
            if filled is None:
                continue
            raw = filled
        if entry.name == "pipeline":
            data.parts["pipeline"] = _pipeline(ws, defs, raw)
        else:
            data.parts[entry.name] = _request(entry.name, ws, raw, defs)
    for name, m in defs.metrics.items():
        if (only is None or "metrics" in only) and ws.has_table(m.table):
            data.metrics[name] = attempt(f"metric {name}", m.run, ws)
    return data
