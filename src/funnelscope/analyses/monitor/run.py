"""Daily conversion series, same-weekday robust baselines and alerts (see docs/monitoring.md)."""

from __future__ import annotations

import math
import statistics
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from funnelscope.analyses.monitor.result import WatchResult
from funnelscope.analyses.monitor.spec import WatchSpec
from funnelscope.errors import ConfigError

DAY_US = 86_400_000_000
MAD_SCALE = 1.4826  # MAD -> standard deviation of a normal distribution
MIN_POINTS = 3  # baseline days needed before a day is judged
TOP_SEGMENTS = 3
COLUMNS = ("metric", "date", "observed", "expected", "low", "high", "entrants", "judged")
ALERT_COLUMNS = ("metric", "date", "observed", "expected", "low", "high", "direction", "size",
                 "top_segments")


def watch(ws, steps, window="7d", since="14d", by=None, weeks=4, threshold=3.0,
          min_entrants=30, mode="ordered", count="uniques", entity="user", exclude=None,
          where=None, first_time=False) -> WatchResult:
    """Monitor a funnel day by day: a :class:`WatchResult` with ``alerts`` and ``series``.

    steps, window, mode, count, entity, exclude, where, first_time: the funnel, as
    ``ws.funnel``. since: the days judged, back from the last day of the data (14d). by: a
    column whose groups explain each alert (``top_segments``). weeks: same-weekday history
    of the baseline (4). threshold: k in median ± k·1.4826·MAD (3). min_entrants: conversion
    is judged only on days with at least this many entrants (30).

    >>> ws.watch(["view", "add_to_cart", "pay"], window="1d", since="14d")
    """
    from funnelscope.durations import to_microseconds

    started = time.perf_counter()
    if isinstance(steps, str):
        steps = [steps]
    if not steps or len(steps) < 2:
        raise ConfigError("watch needs at least two steps (--steps view,pay) or a named funnel "
                          "(--name checkout).")
    if int(weeks) < MIN_POINTS:
        raise ConfigError(f"weeks must be at least {MIN_POINTS} (the baseline needs "
                          f"{MIN_POINTS} same-weekday days).")
    since_days = max(1, math.ceil(to_microseconds(since) / DAY_US))
    window_us = to_microseconds(window)
    result = ws.funnel(list(steps), window, mode=mode, by=by, entity=entity, count=count,
                       exclude=exclude, where=where, period="day", first_time=first_time,
                       censor=True)
    names = [str(r["step"]) for r in result.records("steps")]
    spec = WatchSpec(steps=tuple(names), window=window, since=since, by=by, weeks=int(weeks),
                     threshold=float(threshold), min_entrants=int(min_entrants), mode=mode,
                     count=count, entity=entity, exclude=exclude, where=where,
                     first_time=bool(first_time))
    tz = ZoneInfo(ws.config.timezone)
    data_end = result.meta.get("data_end_us")
    periods = {r["period"]: r for r in result.records("periods")}
    metrics = metric_names(names)
    days, series = daily(periods, len(names), metrics)
    meta: dict[str, Any] = {"timezone": ws.config.timezone, "data_end_us": data_end,
                            "first_day": None, "last_day": None, "days_judged": 0}
    if not days:
        return _result(spec, [], [], meta, started)
    complete = {d: _end_us(d, tz) <= data_end for d in days}
    settled = {d: _end_us(d, tz) + window_us <= data_end for d in days}
    eligible = {m: {d: _eligible(m, d, series, complete, settled, spec.min_entrants)
                    for d in days} for m in metrics}
    last = days[-1]
    watched = [d for d in days if (last - d).days < since_days]
    segments = _segment_series(result, tz, len(names), metrics) if by else {}
    rows, alerts = [], []
    for m in metrics:
        for d in watched:
            observed = series[m].get(d)
            entrants = series["entrants"].get(d, 0)
            base = baseline(m, d, series[m], eligible[m], spec.weeks)
            row = {"metric": m, "date": d.isoformat(), "observed": observed, "expected": None,
                   "low": None, "high": None, "entrants": entrants, "judged": False}
            if base is not None:
                expected, low, high = band(m, base, entrants, spec.threshold)
                row.update(expected=expected, low=low, high=high,
                           judged=bool(eligible[m][d]))
            rows.append(row)
            if row["judged"] and not row["low"] <= observed <= row["high"]:
                alerts.append(_alert(row, segments.get(m, {}), d, entrants, spec.weeks,
                                     spec.min_entrants))
    meta.update(first_day=watched[0].isoformat(), last_day=last.isoformat(),
                days_judged=len({r["date"] for r in rows if r["judged"]}))
    return _result(spec, rows, alerts, meta, started)


def metric_names(steps: list[str]) -> list[str]:
    """``entrants`` and ``conversion:<step>`` for each later step (``#k`` on repeats)."""
    out = ["entrants"]
    for k, step in enumerate(steps[1:], start=2):
        name = f"conversion:{step}"
        out.append(name if name not in out else f"{name}#{k}")
    return out


def daily(periods: dict[str, dict], k: int, metrics: list[str]):
    """Every calendar day from the first to the last entry day (days without entrants: 0)
    and each metric's value by day (conversion: None without entrants)."""
    if not periods:
        return [], {m: {} for m in metrics}
    first, last = (date.fromisoformat(p) for p in (min(periods), max(periods)))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    series: dict[str, dict[date, Any]] = {m: {} for m in metrics}
    for d in days:
        p = periods.get(d.isoformat())
        n = int(p["step_1"]) if p else 0
        series["entrants"][d] = n
        for i, m in enumerate(metrics[1:], start=2):
            series[m][d] = (int(p[f"step_{i}"]) / n) if p and n else None
    return days, series


def _end_us(d: date, tz: ZoneInfo) -> int:
    """The end of day ``d`` in the reporting time zone, µs UTC."""
    nxt = d + timedelta(days=1)
    return int(datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).timestamp() * 1_000_000)


def _eligible(m: str, d: date, series: dict, complete: dict, settled: dict,
              min_entrants: int) -> bool:
    if m == "entrants":
        return complete[d]
    return settled[d] and series["entrants"][d] >= min_entrants and series[m][d] is not None


def baseline(m: str, d: date, values: dict[date, Any], eligible: dict[date, bool],
             weeks: int) -> tuple[float, float] | None:
    """(median, MAD) of the same weekday over the previous ``weeks`` weeks (eligible days
    only), or None with fewer than :data:`MIN_POINTS`."""
    points = [values[p] for w in range(1, weeks + 1)
              if eligible.get(p := d - timedelta(weeks=w)) and values.get(p) is not None]
    if len(points) < MIN_POINTS:
        return None
    median = statistics.median(points)
    return median, statistics.median(abs(v - median) for v in points)


def band(m: str, base: tuple[float, float], entrants: int, k: float):
    """(expected, low, high): median ± k·max(1.4826·MAD, sampling floor). The floor is the
    binomial standard error sqrt(p(1-p)/n) of a conversion (p kept at least 0.5/n away from
    0 and 1) and the Poisson sqrt(median) of entrants."""
    median, mad = base
    if m == "entrants":
        floor = math.sqrt(max(median, 1.0))
        lo, hi = 0.0, math.inf
    else:
        n = max(entrants, 1)
        p = min(max(median, 0.5 / n), 1 - 0.5 / n)
        floor = math.sqrt(p * (1 - p) / n)
        lo, hi = 0.0, 1.0
    width = k * max(MAD_SCALE * mad, floor)
    high = median + width
    return median, max(lo, median - width), (high if hi == math.inf else min(hi, high))


def _segment_series(result: Any, tz: ZoneInfo, k: int, metrics: list[str]):
    """metric -> group -> (values by day, entrants by day) from the funnel's entries."""
    import pandas as pd

    e = result.entries
    if not len(e):
        return {}
    day = pd.to_datetime(e["t1"].astype("int64"), unit="us", utc=True).dt.tz_convert(tz).dt.date
    frame = pd.DataFrame({"group": e["by_value"].astype(str), "day": day,
                          "level": e["level"].astype(int)})
    out: dict[str, dict[str, tuple[dict, dict]]] = {m: {} for m in metrics}
    for group, rows in frame.groupby("group", sort=True):
        counts = rows.groupby("day")["level"]
        entrants = counts.size().to_dict()
        out["entrants"][group] = ({d: float(n) for d, n in entrants.items()}, entrants)
        for i, m in enumerate(metrics[1:], start=2):
            reached = counts.apply(lambda s, i=i: int((s >= i).sum())).to_dict()
            out[m][group] = ({d: reached[d] / n for d, n in entrants.items()}, entrants)
    return out


def _alert(row: dict, groups: dict, d: date, entrants: int, weeks: int,
           min_entrants: int) -> dict:
    size = row["observed"] - row["expected"]
    alert = {k: row[k] for k in ("metric", "date", "observed", "expected", "low", "high")}
    alert.update(direction="up" if size > 0 else "down", size=size,
                 top_segments=top_segments(row["metric"], groups, d, entrants, size, weeks,
                                           min_entrants))
    return alert


def top_segments(m: str, groups: dict, d: date, entrants: int, size: float, weeks: int,
                 min_entrants: int) -> list[dict]:
    """The groups whose change explains most of ``size``: contribution = the group's share
    of the day's entrants × (its rate - its own same-weekday median); for entrants, its
    count - its own median. Only groups moving the same way as the alert, largest first."""
    found = []
    for group, (values, counts) in groups.items():
        n = counts.get(d, 0)
        observed = values.get(d, 0.0 if m == "entrants" else None)
        if observed is None:
            continue
        history = {p: values[p] for w in range(1, weeks + 1)
                   if (p := d - timedelta(weeks=w)) in values}
        if m != "entrants":
            history = {p: v for p, v in history.items() if counts.get(p, 0) > 0}
        if len(history) < MIN_POINTS:
            continue
        expected = statistics.median(history.values())
        change = observed - expected
        contribution = change if m == "entrants" else (n / entrants if entrants else 0) * change
        if contribution * size > 0:
            found.append({"segment": group, "entrants": int(n), "observed": observed,
                          "expected": expected, "contribution": contribution,
                          "explains": contribution / size if size else None})
    found.sort(key=lambda s: -abs(s["contribution"]))
    return found[:TOP_SEGMENTS]


def _result(spec: WatchSpec, rows: list, alerts: list, meta: dict, started: float) -> WatchResult:
    import pandas as pd

    meta["alerts"] = len(alerts)
    meta["seconds"] = round(time.perf_counter() - started, 4)
    tables = {"alerts": pd.DataFrame(alerts, columns=list(ALERT_COLUMNS)),
              "series": pd.DataFrame(rows, columns=list(COLUMNS))}
    for name, records in (("alerts", alerts), ("series", rows)):  # entrants stay whole numbers
        tables[name]["observed"] = pd.Series([r["observed"] for r in records], dtype=object)
    return WatchResult(spec=spec, tables=tables, meta=meta)


def prepare(given: dict[str, Any], definitions: Any, ws_config: Any = None) -> dict[str, Any]:
    """The registry's request hook: a named funnel (``name``) merged as for ``funnel``
    (:func:`funnelscope.analyses.funnel.request.prepare`), without its period (a watch is
    always daily)."""
    from funnelscope.analyses.funnel.request import prepare as funnel_prepare

    out = funnel_prepare(dict(given), definitions, ws_config)
    out.pop("period", None)
    return out
