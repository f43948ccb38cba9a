"""Plotly figures for every Result: ``plot(result, kind=None, lang="en")``.

Builders are registered per Result class *name* (``"FunnelResult"``, ``"RetentionResult"``...),
so this package never imports an analysis: it reads the Result's tables. Each Result type has
one default chart kind and may have more (``kinds(result)``). Colours and number formats come
from :mod:`funnelscope.report.style`; every label exists in English and Chinese
(:mod:`funnelscope.report.i18n`).

>>> fig = ws.funnel(["view", "pay"], "7d").plot()            # the funnel chart
>>> fig = ws.funnel(["view", "pay"], "7d", period="week").plot("trend", lang="zh")
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from funnelscope.errors import ConfigError

#: Result class name -> {kind -> builder}. The first kind registered is the default.
BUILDERS: dict[str, dict[str, Callable[..., Any]]] = {}
#: Result class name -> {kind -> predicate(result) saying whether the data for it exists}.
AVAILABLE: dict[str, dict[str, Callable[[Any], bool]]] = {}
_MODULES = ("funnel", "pipeline", "retention", "value", "benchmark", "attribution", "paths",
            "experiment", "monitor", "satisfaction", "traffic", "leads")
_loaded = False


def chart(*class_names: str, kind: str, when: Callable[[Any], bool] | None = None):
    """Register a builder ``f(result, lang, **kw) -> go.Figure`` for Result classes by name.

    ``when(result)`` tells whether the result holds the data the chart needs (default: yes).
    """

    def register(f: Callable[..., Any]) -> Callable[..., Any]:
        for name in class_names:
            BUILDERS.setdefault(name, {})[kind] = f
            AVAILABLE.setdefault(name, {})[kind] = when or (lambda _r: True)
        return f

    return register


def _load() -> None:
    global _loaded
    if not _loaded:
        for m in _MODULES:
            importlib.import_module(f"funnelscope.report.charts.{m}")
        _loaded = True


def _name(result: Any) -> str:
    """The registered class name of ``result`` (its own, else its nearest registered base)."""
    _load()
    for cls in type(result).__mro__:
        if cls.__name__ in BUILDERS:
            return cls.__name__
    raise ConfigError(
        f"no chart is defined for {type(result).__name__}.",
        hint=f"Charts exist for: {', '.join(sorted(BUILDERS))}.",
    )


def supports(result: Any) -> bool:
    """Whether some chart is registered for ``result``'s class."""
    try:
        _name(result)
    except ConfigError:
        return False
    return True


def kinds(result: Any, available_only: bool = True) -> list[str]:
    """Chart kinds for ``result`` (default first); only those its data supports by default.
    None for a result type without charts (a new analysis may register some with
    :func:`chart`)."""
    if not supports(result):
        return []
    name = _name(result)
    out = list(BUILDERS[name])
    if available_only:
        out = [k for k in out if AVAILABLE[name][k](result)]
    return out


def plot(result: Any, kind: str | None = None, lang: str = "en", **kw: Any):
    """A plotly Figure of ``result``: its default chart, or the chart ``kind``.

    ``lang``: "en" or "zh" for titles, axes and hover labels. Other keywords go to the
    builder (e.g. ``bins`` for the time-to-convert histogram).
    """
    from funnelscope.report.i18n import check_lang

    check_lang(lang)
    name = _name(result)
    builders = BUILDERS[name]
    if kind is None:
        usable = kinds(result)
        kind = usable[0] if usable else next(iter(builders))
    if kind not in builders:
        raise ConfigError(
            f"{name} has no chart {kind!r}.", hint=f"Use one of: {', '.join(builders)}."
        )
    return builders[kind](result, lang, **kw)


def figure_json(fig: Any) -> str:
    """The figure as plotly JSON (what pages and the report embed)."""
    return fig.to_json()
