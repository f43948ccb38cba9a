"""Watched series, same-weekday robust baselines and alerts (see docs/monitoring.md)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from funnelscope.analyses.monitor.baseline import (
    MIN_POINTS,
    band,
    baseline,
    top_segments,
)
from funnelscope.analyses.monitor.clock import EVERY, Clock
from funnelscope.analyses.monitor.result import WatchResult
from funnelscope.analyses.monitor.series import (
    Series,
    entry_frame,
    funnel_counts,
    funnel_metric_names,
    funnel_series,
    metric_series,
    segment_values,
)
from funnelscope.analyses.monitor.spec import WatchSpec
from funnelscope.errors import ConfigError

COLUMNS = ("metric", "date", "observed", "expected", "low", "high", "entrants", "judged")
ALERT_COLUMNS = ("metric", "date", "observed", "expected", "low", "high", "direction", "size",
                 "top_segments")
TOP_GROUPS = 20  # as the funnel's groups table: larger breakdowns fold into "other"
#: kept for callers of the first version
metric_names = funnel_metric_names


def watch(ws, steps=None, window="7d", since="14d", by=None, weeks=4, threshold=3.0,
          min_entrants=30, mode="ordered", count="uniques", entity="user", exclude=None,
          where=None, first_time=False, every="day", metrics=None, webhook=None,
          metric_definitions=None) -> WatchResult:
    """Monitor a funnel and metrics day by day (or hour by hour): a :class:`WatchResult`
    with ``alerts`` and ``series``.

    steps, window, mode, count, entity, exclude, where, first_time: the funnel, as
    ``ws.funnel`` (optional when ``metrics`` are given). since: the buckets judged, back from
    the last one of the data (14d). by: a column whose groups explain each funnel alert
    (``top_segments``). weeks: same-weekday (same hour-of-week) history of the baseline (4).
    threshold: k in median ± k·max(φ, 1)·sampling error (3). min_entrants: conversion is
    judged only on buckets with at least this many entrants (30). every: ``day`` or ``hour`` (calendar days
    or wall-clock hours of the reporting time zone). metrics: names of metrics of
    funnelscope.yml watched per bucket (their ``dimension`` is replaced by the bucket).
    webhook: an http(s) URL that receives ``{"alerts", "spec", "workspace"}`` as a JSON POST
    when at least one alert fires (timeout 10 s); the outcome is ``meta["webhook"]``, a
    failure never hides the alerts. metric_definitions: name -> MetricDefinition (default:
    ``ws.definitions.metrics``, i.e. funnelscope.yml).

    >>> ws.watch(["view", "add_to_cart", "pay"], window="1d", since="14d")
    >>> ws.watch(metrics=["average_order_value"], every="hour", since="2d")
    """
    from funnelscope.durations import to_microseconds

    started = time.perf_counter()
    steps = [steps] if isinstance(steps, str) else list(steps or [])
    wanted = [metrics] if isinstance(metrics, str) else list(dict.fromkeys(metrics or []))
    if every not in EVERY:
        from funnelscope.analyses.registry import suggest

        raise ConfigError(f"--every: unknown value {every!r}.{suggest(str(every), EVERY)}",
                          hint="Use day or hour.")
    if webhook is not None:
        from funnelscope.analyses.monitor.webhook import check_url

        webhook = check_url(webhook)
    if (steps or not wanted) and len(steps) < 2:
        raise ConfigError("watch needs at least two steps (--steps view,pay), a named funnel "
                          "(--name checkout) or a metric of funnelscope.yml (--metric NAME).")
    if by and not steps:
        raise ConfigError("--by explains funnel alerts: give the funnel too (--steps or --name).",
                          hint="Metrics are watched as totals; drop --by or add --steps.")
    if int(weeks) < MIN_POINTS:
        raise ConfigError(f"weeks must be at least {MIN_POINTS} (the baseline needs "
                          f"{MIN_POINTS} same-weekday days).")
    defined = _definitions(ws, wanted, metric_definitions)
    clock = Clock(every, ws.config.timezone)
    since_units = max(1, math.ceil(to_microseconds(since) / clock.unit_us))

    series: dict[str, Series] = {}
    segments: dict[str, dict] = {}
    names: list[str] = []
    data_end = None
    if steps:
        result = ws.funnel(list(steps), window, mode=mode, by=by, entity=entity, count=count,
                           exclude=exclude, where=where, first_time=first_time, censor=True)
        names = [str(r["step"]) for r in result.records("steps")]
        data_end = result.meta.get("data_end_us")
        frame = entry_frame(result, clock, TOP_GROUPS if by else None)
        counts = funnel_counts(frame, len(names), clock)
        keys = clock.span(min(counts), max(counts)) if counts else []
        settled = None if data_end is None else data_end - to_microseconds(window)
        series.update(funnel_series(counts, funnel_metric_names(names), keys, data_end,
                                    settled, clock))
        if by:
            segments = segment_values(frame, len(names), funnel_metric_names(names), clock)
    for name, definition in defined.items():
        if name in series:
            raise ConfigError(f"metric {name!r} has the name of a funnel series.",
                              hint="Rename the metric in funnelscope.yml.")
        series[name] = metric_series(ws, definition, clock)
    if not steps:
        data_end = max((s.data_end_us for s in series.values() if s.data_end_us is not None),
                       default=None)
    spec = WatchSpec(steps=tuple(names), window=window, since=since, by=by, weeks=int(weeks),
                     threshold=float(threshold), min_entrants=int(min_entrants), mode=mode,
                     count=count, entity=entity, exclude=exclude, where=where,
                     first_time=bool(first_time), every=every, metrics=tuple(defined))
    meta: dict[str, Any] = {"timezone": ws.config.timezone, "data_end_us": data_end,
                            "every": every, "first_day": None, "last_day": None,
                            "days_judged": 0, "buckets_judged": 0}
    known = [k for s in series.values() for k in s.values]
    rows: list[dict] = []
    alerts: list[dict] = []
    if known:
        first, last = min(known), max(known)
        watched = [k for k in clock.span(first, last)
                   if clock.units_between(k, last) < since_units]
        entrants = series.get("entrants")
        for s in series.values():
            eligible = {k: _eligible(s, k, entrants, spec.min_entrants, clock) for k in s.values}
            cache: dict = {}  # the window's leave-one-out errors, by weekday (hour) class
            for key in watched:
                row, alert = _judge(s, key, eligible, entrants, spec, clock,
                                    segments.get(s.name, {}), cache)
                rows.append(row)
                if alert:
                    alerts.append(alert)
        judged = {r["date"] for r in rows if r["judged"]}
        meta.update(first_day=clock.label(watched[0]), last_day=clock.label(last),
                    days_judged=len({d[:10] for d in judged}), buckets_judged=len(judged))
    out = _result(spec, rows, alerts, meta, started)
    if webhook is not None:
        out.meta["webhook"] = _deliver(ws, webhook, out)
    return out


def _definitions(ws: Any, wanted: list[str], given: Mapping | None) -> dict[str, Any]:
    """The metric definitions named ``wanted`` (an unknown name: error with a suggestion)."""
    if not wanted:
        return {}
    from funnelscope.analyses.registry import suggest
    from funnelscope.definitions import FILENAME, UnknownDefinition

    if given is None:
        defs = getattr(ws, "definitions", None)
        given = getattr(defs, "metrics", None) or {}
        source = getattr(defs, "path", None) or FILENAME
    else:
        source = FILENAME
    out = {}
    for name in wanted:
        if name not in given:
            raise UnknownDefinition(
                f"--metric: no metric named {name!r} in {source}.{suggest(name, list(given))}",
                hint=f"Defined metrics: {', '.join(given) or '(none)'}. Declare metrics under "
                     "`metrics:` in funnelscope.yml.")
        out[name] = given[name]
    return out


def _eligible(s: Series, key: Any, entrants: Series | None, min_entrants: int,
              clock: Clock) -> bool:
    """Whether bucket ``key`` of ``s`` can be judged (and serve as a baseline)."""
    if not s.complete.get(key) or s.values.get(key) is None or not clock.judgeable(key):
        return False
    if s.kind == "conversion":
        return entrants is not None and entrants.values.get(key, 0) >= min_entrants
    return True


def _judge(s: Series, key: Any, eligible: dict, entrants: Series | None, spec: WatchSpec,
           clock: Clock, groups: dict, cache: dict) -> tuple[dict, dict | None]:
    """The series row of bucket ``key`` and its alert (or None): see :mod:`.baseline`."""
    observed = s.values.get(key)
    funnel = s.kind in ("entrants", "conversion")
    n = entrants.values.get(key, 0) if funnel and entrants is not None else None
    row = {"metric": s.name, "date": clock.label(key), "observed": observed, "expected": None,
           "low": None, "high": None, "entrants": n, "judged": False}
    row_entrants = n
    sizes = entrants.values if s.kind == "conversion" and entrants is not None else s.sizes
    base = baseline(s.kind, key, s.values, eligible, spec.weeks, sizes, cache)
    if base is None:
        return row, None
    expected, low, high = band(s.kind, base, spec.threshold)
    row.update(expected=expected, low=low, high=high, judged=bool(eligible.get(key)))
    if not row["judged"] or low <= observed <= high:
        return row, None
    size = observed - expected
    alert = {k: row[k] for k in ("metric", "date", "observed", "expected", "low", "high")}
    alert.update(direction="up" if size > 0 else "down", size=size,
                 top_segments=top_segments(s.kind, groups, key, row_entrants or 0, size,
                                           spec.weeks)
                 if funnel else [])
    return row, alert


def _deliver(ws: Any, url: str, result: WatchResult) -> dict[str, Any]:
    """POST the alerts (when any fired): the delivery outcome for ``meta["webhook"]``."""
    from pathlib import Path

    from funnelscope.analyses.monitor.webhook import post, shown

    data = result.to_dict()
    if not data["alerts"]:
        return {"url": shown(url), "status": None, "error": None, "sent": False}
    path = getattr(ws, "path", None)
    payload = {"alerts": data["alerts"], "spec": data["spec"],
               "workspace": Path(path).name if path else None}
    return post(url, payload)


def _result(spec: WatchSpec, rows: list, alerts: list, meta: dict, started: float) -> WatchResult:
    import pandas as pd

    meta["alerts"] = len(alerts)
    meta["seconds"] = round(time.perf_counter() - started, 4)
    tables = {"alerts": pd.DataFrame(alerts, columns=list(ALERT_COLUMNS)),
              "series": pd.DataFrame(rows, columns=list(COLUMNS))}
    for name, records in (("alerts", alerts), ("series", rows)):  # counts stay whole numbers
        tables[name]["observed"] = pd.Series([r["observed"] for r in records], dtype=object)
    tables["series"]["entrants"] = pd.Series([r["entrants"] for r in rows], dtype=object)
    return WatchResult(spec=spec, tables=tables, meta=meta)


def prepare(given: dict[str, Any], definitions: Any, ws_config: Any = None) -> dict[str, Any]:
    """The registry's request hook: a named funnel (``name``) merged as for ``funnel``
    (:func:`funnelscope.analyses.funnel.request.prepare`) without its period (a watch has its
    own buckets, ``every``); with ``metric``, funnelscope.yml's metric definitions are passed
    to the run. Only metrics are watched when no funnel is named."""
    from funnelscope.analyses.funnel.request import prepare as funnel_prepare

    out = dict(given)
    if out.get("metric"):
        out["metric_definitions"] = dict(getattr(definitions, "metrics", None) or {})
        if not out.get("steps") and not out.get("name"):
            return out
    out = funnel_prepare(out, definitions, ws_config)
    out.pop("period", None)
    return out


__all__ = ["watch", "prepare", "metric_names"]
