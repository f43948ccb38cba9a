"""Synthetic journeys for the watch tests, and a plain-Python oracle of the watch rules.

Journeys read like the domain: ``{"u1": [("view", datetime), ("pay", datetime)], ...}``
(aware datetimes). The oracle knows nothing of the engine: it buckets each user's first
``view`` by local day or hour with ``zoneinfo``, counts who paid within the window, and
applies docs/monitoring.md's rules with ``statistics.median`` by hand (:func:`oracle_band`: the
same-weekday median, and the dispersion of the window's leave-one-out errors).
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

import funnelscope as fs

MAD_SCALE = 1.4826


def frame(journeys: dict[str, list[tuple[str, datetime]]], **columns) -> pd.DataFrame:
    """Events DataFrame (user_id, event, ts[, extra columns per user])."""
    rows = []
    for user, events in journeys.items():
        extra = {k: v[user] for k, v in columns.items()}
        rows += [{"user_id": user, "event": e, "ts": t.astimezone(UTC), **extra}
                 for e, t in events]
    return pd.DataFrame(rows)


def workspace(path, journeys, tz: str = "UTC", yml: str = "", orders: pd.DataFrame | None = None,
              **columns):
    """A DuckDB workspace file with the journeys (and orders), and a funnelscope.yml beside
    it (reporting time zone ``tz``, plus ``yml``)."""
    ws = fs.connect(str(path))
    ws.load(frame(journeys, **columns), "events")
    if orders is not None:
        ws.load(orders, "orders")
    ws.close()
    (path.parent / "funnelscope.yml").write_text(f"timezone: {tz}\n{yml}", encoding="utf-8")
    return path


# ----- oracle ---------------------------------------------------------------------------------
def oracle_counts(journeys, tz: str, every: str, window: timedelta):
    """bucket -> (entrants, converted): users by the local day/hour of their first view;
    converted = paid within ``window`` after it."""
    zone = ZoneInfo(tz)
    out: dict = {}
    for events in journeys.values():
        views = sorted(t for e, t in events if e == "view")
        if not views:
            continue
        start = views[0]
        local = start.astimezone(zone).replace(tzinfo=None)
        key = local.date() if every == "day" else local.replace(minute=0, second=0, microsecond=0)
        paid = any(e == "pay" and start <= t <= start + window for e, t in events)
        n, c = out.get(key, (0, 0))
        out[key] = (n + 1, c + int(paid))
    return out


def oracle_rows(journeys, tz: str, every: str, window: timedelta, weeks: int = 4, k: float = 3.0,
                min_entrants: int = 30) -> dict:
    """(metric, bucket) -> (expected, low, high) or None, for ``entrants`` and
    ``conversion:pay``: the same weekday (and hour) of the previous ``weeks`` weeks, judged
    buckets only (over in the data; conversion: window closed and >= min_entrants)."""
    zone = ZoneInfo(tz)
    counts = oracle_counts(journeys, tz, every, window)
    last_event = max(t for events in journeys.values() for _, t in events)
    step = timedelta(days=1) if every == "day" else timedelta(hours=1)

    def end(key):
        start = datetime(key.year, key.month, key.day) if every == "day" else key
        return (start + step).replace(tzinfo=zone)

    first, last = min(counts), max(counts)
    keys = []
    key = first
    while key <= last:
        keys.append(key)
        key += step
    entrants = {b: counts.get(b, (0, 0))[0] for b in keys}
    rate = {b: counts[b][1] / counts[b][0] for b in keys if b in counts}
    ok_entrants = {b: end(b) <= last_event for b in keys}
    ok_rate = {b: end(b) + window <= last_event and entrants[b] >= min_entrants and b in rate
               for b in keys}
    out = {}
    for b in keys:
        for metric, kind, values, ok in (("entrants", "entrants", entrants, ok_entrants),
                                         ("conversion:pay", "conversion", rate, ok_rate)):
            found = oracle_band(kind, b, values, ok, entrants, weeks, k)
            out[(metric, b)] = None if found is None else (*found, ok[b])
    return out


def sampling_error(kind: str, level: float, n) -> float:
    """docs/monitoring.md's sampling error of one bucket, by hand."""
    if kind in ("entrants", "count"):
        return math.sqrt(max(level, 1))
    if kind == "conversion":
        n = max(n, 1)
        p = min(max(level, 0.5 / n), 1 - 0.5 / n)
        return math.sqrt(p * (1 - p) / n)
    if kind == "sum":
        return abs(level) / math.sqrt(max(n, 1))
    return 0.02 * abs(level)


def oracle_band(kind: str, b, values: dict, ok: dict, sizes: dict, weeks: int = 4, k: float = 3.0):
    """(expected, low, high) of bucket ``b`` as docs/monitoring.md states it, or None.

    expected = median of the same weekday (hour) 1..weeks weeks before (>= 3 usable).
    Every usable bucket d of the ``weeks`` weeks before b is predicted by the median of the
    other usable buckets of its weekday (hour of the week) in that window (>= 2 of them);
    z = (value - that median) / sampling error; phi = 1.4826 * median |z|;
    band = expected +- k * max(phi, 1) * sampling error of b. ``sizes``: entrants
    (conversion) or rows summed (sum: n = median over the predicting buckets)."""
    week = timedelta(weeks=1)
    usable = {p for p, v in values.items() if ok.get(p) and v is not None}
    past = [values[b - w * week] for w in range(1, weeks + 1) if b - w * week in usable]
    if len(past) < 3:
        return None

    def size(d, predictors):
        if kind == "conversion":
            return sizes[d]
        if kind == "sum":
            return statistics.median([sizes[p] for p in predictors])
        return None

    window = [p for p in usable if b - weeks * week <= p < b]
    classes: dict = {}  # (b - p) modulo a week: the weekday (hour of the week) of p
    for p in window:
        classes.setdefault((b - p) % week, []).append(p)
    errors = []
    for d in window:
        others = [p for p in classes[(b - d) % week] if p != d]
        if len(others) < 2:
            continue
        med = statistics.median([values[p] for p in others])
        se = sampling_error(kind, med, size(d, others))
        if se > 0:
            errors.append((values[d] - med) / se)
    phi = MAD_SCALE * statistics.median([abs(z) for z in errors]) if errors else 1.0
    expected = statistics.median(past)
    past_keys = [b - w * week for w in range(1, weeks + 1) if b - w * week in usable]
    width = k * max(phi, 1.0) * sampling_error(kind, expected, size(b, past_keys))
    low, high = expected - width, expected + width
    if kind in ("entrants", "count", "conversion"):
        low = max(0.0, low)
    if kind == "conversion":
        high = min(1.0, high)
    return expected, low, high


def label(key, tz: str) -> str:
    """The JSON ``date`` of a bucket key: ISO day, or ISO hour start with its offset."""
    if isinstance(key, datetime):
        return key.replace(tzinfo=ZoneInfo(tz)).isoformat()
    assert isinstance(key, date)
    return key.isoformat()
