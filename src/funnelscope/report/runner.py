"""Call an analysis by name for the report and the dashboard (which never compute themselves).

Everything comes from :mod:`funnelscope.analyses.registry`: which function runs, which tables
it needs, how a request's values become keyword arguments (``request``), so the report,
the dashboard, the CLI and the API resolve the same request the same way.
"""

from __future__ import annotations

from typing import Any

from funnelscope.analyses import registry


def function(name: str):
    """The analysis function ``f(ws, **options)`` called ``name``."""
    return registry.get(name).run_function()


def has_data(ws: Any, name: str) -> bool:
    """Whether ``ws`` holds every table analysis ``name`` needs."""
    return registry.has_data(ws, registry.get(name))


def tables(name: str) -> tuple[str, ...]:
    """The canonical tables analysis ``name`` needs."""
    return registry.get(name).tables


def run(ws: Any, name: str, **options: Any):
    """Run analysis ``name`` with Python keyword arguments (as ``ws.<name>(**options)``)."""
    return registry.call_python(registry.get(name), ws, (), options)


def request(ws: Any, name: str, raw: dict[str, Any], definitions: Any = None):
    """Run analysis ``name`` from request values by public name (the CLI's and API's parser):
    returns ``(result, json, call)``."""
    entry = registry.get(name)
    call = registry.parse(entry, raw, definitions, ws.config)
    result = registry.run(ws, call)
    return result, registry.to_json(result, call), call
