"""Call an analysis by name, for the report and the dashboard (which never compute themselves).

``run(ws, "retention", period="week")`` calls ``ws.retention(...)`` when the workspace has
that method, else the analysis module's function (``funnelscope.analyses.retention.retention(ws,
...)``). Which tables an analysis needs is listed here too, so surfaces can show a section only
when its data exists.
"""

from __future__ import annotations

import importlib
from typing import Any

from funnelscope.errors import ConfigError

#: analysis name -> (module, function, tables it needs)
ANALYSES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "funnel": ("funnelscope.analyses.funnel", "funnel", ("events",)),
    "retention": ("funnelscope.analyses.retention", "retention", ("events",)),
    "activity": ("funnelscope.analyses.retention", "activity", ("events",)),
    "churn": ("funnelscope.analyses.retention", "churn", ("events",)),
    "aarrr": ("funnelscope.analyses.retention", "aarrr", ("events",)),
    "rfm": ("funnelscope.analyses.value.run", "rfm", ("orders",)),
    "clusters": ("funnelscope.analyses.value.run", "clusters", ("orders",)),
    "clv": ("funnelscope.analyses.value.run", "clv", ("orders",)),
    "acquisition": ("funnelscope.analyses.value.run", "acquisition",
                    ("spend", "customers")),
    "churn_risk": ("funnelscope.analyses.value.run", "churn_risk", ("orders",)),
    "pipeline": ("funnelscope.analyses.pipeline", "pipeline", ("deals",)),
}


def function(name: str):
    """The analysis function ``f(ws, **options)`` called ``name``, or None if not installed."""
    if name not in ANALYSES:
        raise ConfigError(f"unknown analysis {name!r}.", hint=f"Use one of: {', '.join(ANALYSES)}.")
    module, func, _ = ANALYSES[name]
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    return getattr(mod, func, None)


def has_data(ws: Any, name: str) -> bool:
    """Whether ``ws`` holds every table analysis ``name`` needs."""
    return all(ws.has_table(t) for t in ANALYSES[name][2])


def run(ws: Any, name: str, **options: Any):
    """Run analysis ``name`` on ``ws`` with ``options``; returns its Result."""
    method = getattr(ws, name, None)
    if callable(method):
        return method(**options)
    f = function(name)
    if f is None:
        raise ConfigError(f"the {name} analysis is not available in this installation.")
    return f(ws, **options)
