"""Funnel requests from the CLI, API and report: named funnels and breakdown segments.

Called by :func:`funnelscope.analyses.registry.parse` (the one request parser) with the values
the user gave, by public name. Values given explicitly win over a named funnel's.
"""

from __future__ import annotations

from typing import Any

from funnelscope.errors import ConfigError

#: options a named funnel (funnelscope.yml) supplies when the request does not
NAMED = ("mode", "count", "entity", "exclude", "where", "period", "first_time")


def prepare(given: dict[str, Any], definitions: Any, ws_config: Any = None) -> dict[str, Any]:
    """Merge ``name`` (a funnel of funnelscope.yml) and resolve ``by`` through its segments."""
    from funnelscope.definitions import Definitions

    defs = definitions or Definitions()
    out = dict(given)
    name = out.pop("name", None)
    if name:
        named = defs.funnel(name)
        defined = named.options()
        comparing = bool(out.get("compare") or out.get("compare_by"))
        for key in NAMED:
            if key == "period" and comparing:
                continue  # a named funnel's trend period is not a request for one
            if key not in out and defined.get(key) not in (None, [], ()):
                out[key] = defined[key]
        out.setdefault("steps", list(named.steps))
        out.setdefault("window", named.window)
    if not out.get("steps"):
        raise ConfigError("give the funnel's steps (--steps view,pay) or a named funnel "
                          "(--name checkout).")
    if isinstance(out["steps"], str):
        out["steps"] = [out["steps"]]
    out.setdefault("window", "7d")
    for key in ("by", "compare_by"):
        if out.get(key):
            out[key] = defs.breakdown_column(out[key])
    return out
