"""Which funnel splits users into dropped / converted when the request does not list steps.

One rule for every surface (the registry's ``prepare`` hook for the CLI, API and report;
:func:`funnelscope.analyses.paths.run.paths` with ``ws.definitions`` for Python):

* ``steps`` given: those steps (a named ``funnel`` then only lends its window and mode when
  they are not given);
* else ``funnel`` given: that funnel of funnelscope.yml;
* else the first funnel of funnelscope.yml (in file order) whose steps are plain event names
  and include the anchor once, not as the last step;
* ``window`` / ``mode`` not given: the funnel's, else 7d / ordered.
"""

from __future__ import annotations

from typing import Any

from funnelscope.errors import SpecError

DEFAULT_WINDOW = "7d"
DEFAULT_MODE = "ordered"


def _plain(definition: Any) -> list[str] | None:
    steps = list(getattr(definition, "steps", ()) or ())
    return steps if steps and all(isinstance(s, str) for s in steps) else None


def resolve(definitions: Any, anchor: str | None, splits: bool, funnel: str | None,
            steps: list[str] | None, window: str | None,
            mode: str | None) -> tuple[list[str] | None, str, str, str | None]:
    """(steps, window, mode, funnel name) of the split; steps None when there is none."""
    if steps and window and mode:  # nothing left to fill (e.g. the prepare hook already did)
        return list(steps), str(window), str(mode), funnel
    funnels = dict(getattr(definitions, "funnels", None) or {})
    chosen = None
    if funnel is not None:
        if funnel not in funnels:
            from funnelscope.analyses.registry import suggest

            raise SpecError(f"funnel: no funnel named {funnel!r} in funnelscope.yml."
                            f"{suggest(funnel, list(funnels))}",
                            hint=f"Named funnels: {', '.join(funnels) or 'none'}; or give "
                                 "--steps.")
        chosen = funnels[funnel]
        if not steps and _plain(chosen) is None:
            raise SpecError(f"funnel {funnel!r} has steps with filters; paths split on plain "
                            "event names.", hint="Give --steps EVENTS instead.")
    elif not steps and splits and anchor is not None:
        for name, d in funnels.items():
            names = _plain(d)
            if names and names.count(anchor) == 1 and names[-1] != anchor:
                chosen, funnel = d, name
                break
    if chosen is not None and not steps:
        steps = _plain(chosen)
    window = window or (getattr(chosen, "window", None) if chosen is not None else None) \
        or DEFAULT_WINDOW
    mode = mode or (getattr(chosen, "mode", None) if chosen is not None else None) \
        or DEFAULT_MODE
    return (list(steps) if steps else None), str(window), str(mode), funnel


def prepare(given: dict[str, Any], definitions: Any, ws_config: Any = None) -> dict[str, Any]:
    """The registry's request hook: fill steps / window / mode from funnelscope.yml (see the
    module docstring)."""
    out = dict(given)
    splits = bool(out.get("dropped") or out.get("converted"))
    steps = out.get("steps")
    steps = [steps] if isinstance(steps, str) else steps
    anchor = out.get("after") or out.get("before")
    steps, window, mode, funnel = resolve(definitions, anchor, splits, out.get("funnel"),
                                          steps, out.get("window"), out.get("mode"))
    if steps:
        out["steps"] = steps
    out.update(window=window, mode=mode)
    if funnel is not None:
        out["funnel"] = funnel
    return out
