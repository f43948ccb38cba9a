"""The watched series, bucket by bucket (:mod:`.clock`): a funnel's entrants and conversion
per step, the same per ``by`` group, and the metrics of funnelscope.yml.

Funnel series come from the funnel's per-entry arrays (entry time = the first step's time in
the reporting time zone); metric series are the metric's own Ibis expression
(:meth:`funnelscope.definitions.MetricDefinition.expression`) with its dimension set to the
bucket, aggregated in the engine: one small row per bucket comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from funnelscope.analyses.monitor.clock import Clock
from funnelscope.errors import ConfigError

#: aggregations whose value is a count: an empty bucket is 0, the band has a Poisson floor
COUNTS = ("count", "count_distinct")
#: aggregations where an empty bucket is 0 (else: no value)
ZERO_WHEN_EMPTY = (*COUNTS, "sum")
#: the column a watch adds to a metric's table for hourly buckets
HOUR_COLUMN = "__funnelscope_watch_hour"


@dataclass
class Series:
    """One watched metric: its kind (``entrants``, ``conversion``, ``count``, ``sum`` or
    ``value``), its value by bucket key, the buckets that can be judged (complete data) and,
    for a sum, the number of rows summed by bucket (``sizes``)."""

    name: str
    kind: str
    values: dict = field(default_factory=dict)
    complete: dict = field(default_factory=dict)
    data_end_us: int | None = None
    sizes: dict = field(default_factory=dict)


# ----- funnel ---------------------------------------------------------------------------------
def funnel_metric_names(steps: list[str]) -> list[str]:
    """``entrants`` and ``conversion:<step>`` for each later step (``#k`` on repeats)."""
    out = ["entrants"]
    for k, step in enumerate(steps[1:], start=2):
        name = f"conversion:{step}"
        out.append(name if name not in out else f"{name}#{k}")
    return out


def entry_frame(result: Any, clock: Clock, top_groups: int | None = None):
    """pandas frame of the funnel's entries: ``bucket`` (key), ``level`` and, with a
    breakdown, ``group`` (no value: ``(none)``; beyond ``top_groups`` by entrants: ``other``,
    as the funnel's groups table)."""
    import numpy as np
    import pandas as pd

    from funnelscope.analyses.funnel.result import NO_VALUE, OTHER

    paths = result.paths
    sel = paths.level >= 1
    local = pd.to_datetime(paths.step_ts[sel, 0], unit="us", utc=True)
    local = local.tz_convert(clock.timezone).tz_localize(None)
    bucket = local.normalize() if clock.every == "day" else local.floor("h")
    frame = pd.DataFrame({"bucket": bucket, "level": paths.level[sel]})
    if paths.by_value is not None:
        raw = paths.by_value[sel]
        group = pd.Series(np.where(pd.isna(raw), NO_VALUE, raw.astype(str)), dtype=object)
        if top_groups is not None:
            sizes = group.value_counts()
            ranked = sorted(sizes.index, key=lambda g: (-sizes[g], g))
            group = group.where(group.isin(ranked[:top_groups]), OTHER)
        frame["group"] = group.to_numpy()
    return frame


def funnel_counts(frame: Any, k: int, clock: Clock) -> dict[Any, list[int]]:
    """bucket key -> [entities reaching step 1, ..., step k] (buckets with entrants only)."""
    if not len(frame):
        return {}
    grouped: dict[Any, list[int]] = {}
    for j in range(1, k + 1):
        sums = (frame["level"] >= j).groupby(frame["bucket"]).sum()
        for bucket, n in sums.items():
            grouped.setdefault(clock.key(bucket), [0] * k)[j - 1] = int(n)
    return grouped


def funnel_series(counts: dict[Any, list[int]], names: list[str], keys: list,
                  complete_until: int | None, settled_until: int | None, clock: Clock,
                  ) -> dict[str, Series]:
    """``entrants`` (0 on buckets without entrants) and each conversion (None without
    entrants) over ``keys``. A bucket is complete for entrants when it ended by
    ``complete_until`` (the data end) and for conversion when it ended by ``settled_until``
    (data end - window: every entrant's window has closed)."""
    out = {n: Series(n, "entrants" if n == "entrants" else "conversion",
                     data_end_us=complete_until) for n in names}
    for key in keys:
        reached = counts.get(key)
        n = reached[0] if reached else 0
        end = clock.end_us(key)
        out["entrants"].values[key] = n
        out["entrants"].complete[key] = complete_until is not None and end <= complete_until
        for i, name in enumerate(names[1:], start=1):
            out[name].values[key] = reached[i] / n if n else None
            out[name].complete[key] = settled_until is not None and end <= settled_until
    return out


def segment_values(frame: Any, k: int, names: list[str], clock: Clock):
    """metric -> group -> (value by bucket, entrants by bucket), from :func:`entry_frame`."""
    out: dict[str, dict[str, tuple[dict, dict]]] = {m: {} for m in names}
    if "group" not in frame or not len(frame):
        return out
    for group, rows in frame.groupby("group", sort=True):
        counts = funnel_counts(rows, k, clock)
        entrants = {b: c[0] for b, c in counts.items()}
        out["entrants"][str(group)] = ({b: float(n) for b, n in entrants.items()}, entrants)
        for i, m in enumerate(names[1:], start=1):
            out[m][str(group)] = ({b: c[i] / c[0] for b, c in counts.items()}, entrants)
    return out


# ----- metrics of funnelscope.yml ---------------------------------------------------------------
class _WithHourColumn:
    """The workspace as a metric expression sees it, its ``table`` having one more column:
    the local wall-clock hour of the table's time column (a timestamp truncated to the hour,
    reporting time zone). Everything else is the workspace's."""

    def __init__(self, ws: Any, table: str, column: str) -> None:
        self._ws, self._table, self._column = ws, table, column

    def table(self, name: str):
        from funnelscope.engine.timezones import local_time

        t = self._ws.table(name)
        if name != self._table:
            return t
        local = local_time(self._ws, t[self._column])
        return t.mutate(**{HOUR_COLUMN: local.truncate("h")})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


def metric_series(ws: Any, metric: Any, clock: Clock) -> Series:
    """The yml ``metric`` per bucket: its aggregation of its measure over its table (its
    ``where``), grouped by the day or hour of the table's time column in the reporting time
    zone (the metric's own ``dimension`` is replaced). Empty buckets between the first and
    last are 0 for count, count_distinct and sum, and have no value otherwise. A bucket is
    complete when it ended by the latest time in the table."""
    from funnelscope.definitions import TIME_COLUMNS

    column = TIME_COLUMNS.get(metric.table)
    t = ws.table(metric.table)
    if column is None or column not in t.columns:
        raise ConfigError(f"metric {metric.name!r}: the {metric.table} table has no time column "
                          "to watch it by.", hint="Watch metrics of events, orders, deals, "
                                                  "spend, customers or exposures.")
    dtype = t[column].type()
    # an instant: TIMESTAMPTZ on DuckDB; on Spark every timestamp is a naive UTC instant
    instant = dtype.is_timestamp() and (bool(dtype.timezone) or ws.engine == "pyspark")
    if clock.every == "hour" and not instant:
        raise ConfigError(f"metric {metric.name!r}: --every hour needs times of day, but "
                          f"{metric.table}.{column} holds {dtype}.",
                          hint="Watch this metric with --every day.")
    kind = "count" if metric.aggregation in COUNTS else \
        "sum" if metric.aggregation == "sum" else "value"
    latest = t[column].max().execute()
    out = Series(metric.name, kind, data_end_us=_end_of_data(latest, clock, instant))
    found = _per_bucket(ws, metric, clock, column)
    if not found:
        return out
    sizes = _per_bucket(ws, replace(metric, aggregation="count"), clock, column) \
        if kind == "sum" else {}
    empty = 0 if metric.aggregation in ZERO_WHEN_EMPTY else None
    for key in clock.span(min(found), max(found)):
        value = found.get(key, empty)
        out.values[key] = value
        if kind == "sum":
            out.sizes[key] = sizes.get(key, 0)
        out.complete[key] = (out.data_end_us is not None and value is not None
                             and clock.end_us(key) <= out.data_end_us)
    return out


def _per_bucket(ws: Any, metric: Any, clock: Clock, column: str) -> dict:
    """bucket key -> the metric's value, evaluated by the metric's own expression with the
    bucket as its dimension (buckets without rows are absent)."""
    if clock.every == "hour":
        expr = replace(metric, dimension=HOUR_COLUMN).expression(
            _WithHourColumn(ws, metric.table, column))
    else:
        expr = replace(metric, dimension="day").expression(ws)
    rows = expr.execute()
    return {clock.key(d): _number(v, metric.aggregation)
            for d, v in zip(rows["dimension"], rows["value"], strict=True) if d is not None}


def _number(value: Any, aggregation: str) -> int | float | None:
    import math

    if value is None:
        return None
    number = float(value)
    if math.isnan(number):
        return None
    return int(number) if aggregation in COUNTS else number


def _end_of_data(latest: Any, clock: Clock, instant: bool = False) -> int | None:
    """µs UTC up to which the table has data: its latest instant (``instant``: the column
    holds instants, naive ones in UTC as on Spark), or the end of its latest date (a date
    column: that day is taken as complete)."""
    import pandas as pd

    if latest is None or latest is pd.NaT:
        return None
    if isinstance(latest, pd.Timestamp) and latest.tzinfo is not None:
        return int(latest.value // 1000)
    if instant:
        return int(pd.Timestamp(latest).tz_localize("UTC").value // 1000)
    day = pd.Timestamp(latest).date()
    return Clock("day", clock.timezone).end_us(day)
