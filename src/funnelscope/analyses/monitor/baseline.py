"""Same-weekday (same hour-of-week) baselines, a pooled robust scale, bands and segment
attribution.

Pure functions over ``{bucket key: value}`` dicts (see :mod:`.clock`); docs/monitoring.md
states the rules ("Baseline and band", "How often does it cry wolf?").

The level of bucket B is the median of the same weekday (hour of the week) over the previous
``weeks`` weeks. The spread is *not* taken from those 3-4 points (a MAD of 4 points is so noisy
that ~18 % of clean buckets fell outside ±3 of it): it is measured on the whole window of
``weeks`` weeks before B. Every bucket d of the window is predicted the way B is (the median
of the other same-weekday buckets of the window), its error is divided by its sampling
standard error (:func:`sampling_error`), and the pooled ~7·weeks (hourly ~168·weeks) errors
give the dispersion φ = 1.4826·median|z|: how many sampling standard errors a prediction
is typically off, beyond 1 when the day-to-day variation exceeds the sampling noise.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MAD_SCALE = 1.4826  # MAD -> standard deviation of a normal distribution
MIN_POINTS = 3  # baseline buckets needed before a bucket is judged
#: value metrics (mean, median, min, max of a yml metric): the "sampling error" is this share
#: of |median| (no sampling model)
RELATIVE_FLOOR = 0.02
TOP_SEGMENTS = 3
#: kinds whose sampling error depends on a bucket size (conversion: its entrants; sum: the
#: typical number of rows summed)
SIZED = ("conversion", "sum")


@dataclass(frozen=True)
class Baseline:
    """What bucket B is compared with.

    expected: median of the same weekday (hour) over the previous weeks, in the metric's unit.
    points: how many baseline buckets that median has. dispersion: φ = 1.4826·median|z| of
    the pooled standardised leave-one-out errors of the window (unitless: sampling standard
    errors; ``nan`` when the window has none). residuals: how many errors were pooled.
    size: the n of B's sampling error (conversion: B's entrants; sum: median rows summed in
    the baseline buckets; else None).
    """

    expected: float
    points: int
    dispersion: float
    residuals: int
    size: float | None = None


def history(key: Any, weeks: int) -> list:
    """The baseline buckets of ``key``: the same weekday (and hour) 1..``weeks`` weeks
    before, most recent first."""
    return [key - timedelta(weeks=w) for w in range(1, weeks + 1)]


def baseline_keys(key: Any, values: dict, eligible: dict, weeks: int) -> list:
    """The buckets the baseline of ``key`` uses: :func:`history`, eligible ones with a value."""
    return [p for p in history(key, weeks) if eligible.get(p) and values.get(p) is not None]


def unit(key: Any) -> timedelta:
    """The bucket length of a key: an hour for a datetime key, a day for a date key."""
    return timedelta(hours=1) if isinstance(key, datetime) else timedelta(days=1)


def sampling_error(kind: str, expected: float, n: float | None) -> float:
    """The standard error of one bucket's value from sampling alone, in the metric's unit.

    ``conversion``: binomial sqrt(p(1-p)/n), p = ``expected`` kept at least 0.5/n away from
    0 and 1, n = the bucket's entrants. ``entrants``, ``count``: Poisson
    sqrt(max(expected, 1)). ``sum``: |expected| / sqrt(n), n = the typical number of rows
    summed (the Poisson noise of the row count alone, a lower bound of a compound-Poisson
    sum's standard deviation). ``value`` (mean, median, min, max): :data:`RELATIVE_FLOOR` ·
    |expected| (no sampling model: the spread is then measured relative to the level).
    """
    if kind in ("entrants", "count"):
        return math.sqrt(max(expected, 1.0))
    if kind == "conversion":
        size = max(n or 0, 1)
        p = min(max(expected, 0.5 / size), 1 - 0.5 / size)
        return math.sqrt(p * (1 - p) / size)
    if kind == "sum":
        return abs(expected) / math.sqrt(max(n or 0, 1))
    return RELATIVE_FLOOR * abs(expected)


def _size(kind: str, key: Any, points: list, sizes: dict | None) -> float | None:
    if kind == "conversion":
        return (sizes or {}).get(key, 0)
    if kind == "sum":
        return statistics.median((sizes or {}).get(p, 0) for p in points) if points else 0
    return None


def window_errors(kind: str, key: Any, values: dict, eligible: dict, weeks: int,
                  sizes: dict | None = None, cache: dict | None = None) -> list[float]:
    """The standardised leave-one-out errors of the ``weeks`` weeks before ``key``.

    The window holds, for each of the 7 weekdays (168 hours of the week), exactly ``weeks``
    buckets: ``key - o - j weeks`` for o = 1 .. one week of buckets, j = 0 .. weeks-1. For
    each eligible bucket d with a value and at least :data:`MIN_POINTS` - 1 other eligible
    buckets of its class in the window: z = (value(d) - median(others)) /
    :func:`sampling_error` (kind, median(others), n(d)); buckets whose sampling error is 0
    are skipped. ``cache`` (a dict reused over the keys of one series) memoises each class.
    """
    step, week = unit(key), timedelta(weeks=1)
    out: list[float] = []
    for o in range(1, week // step + 1):
        members = tuple(key - o * step - j * week for j in range(weeks))
        found = None if cache is None else cache.get(members)
        if found is None:
            found = _class_errors(kind, members, values, eligible, sizes)
            if cache is not None:
                cache[members] = found
        out.extend(found)
    return out


def _class_errors(kind: str, members: tuple, values: dict, eligible: dict,
                  sizes: dict | None) -> list[float]:
    usable = [p for p in members if eligible.get(p) and values.get(p) is not None]
    found = []
    for d in usable:
        others = [p for p in usable if p != d]
        if len(others) < MIN_POINTS - 1:
            continue
        median = statistics.median(values[p] for p in others)
        se = sampling_error(kind, median, _size(kind, d, others, sizes))
        if se > 0:
            found.append((values[d] - median) / se)
    return found


def baseline(kind: str, key: Any, values: dict, eligible: dict, weeks: int,
             sizes: dict | None = None, cache: dict | None = None) -> Baseline | None:
    """The :class:`Baseline` of ``key``, or None with fewer than :data:`MIN_POINTS` eligible
    same-weekday buckets with a value. ``sizes``: bucket -> entrants (conversion) or rows
    summed (sum)."""
    points = baseline_keys(key, values, eligible, weeks)
    if len(points) < MIN_POINTS:
        return None
    errors = window_errors(kind, key, values, eligible, weeks, sizes, cache)
    dispersion = MAD_SCALE * statistics.median(abs(z) for z in errors) if errors else math.nan
    return Baseline(expected=statistics.median(values[p] for p in points), points=len(points),
                    dispersion=dispersion, residuals=len(errors),
                    size=_size(kind, key, points, sizes))


def band(kind: str, base: Baseline, k: float) -> tuple[float, float, float]:
    """(expected, low, high) = expected ± k · max(φ, 1) · sampling error, in the metric's
    unit (:func:`sampling_error` of the expected value and ``base.size``; φ =
    ``base.dispersion``, taken as 1 when the window had no error). The sampling error is the
    floor: the band is never narrower than ± k sampling standard errors. Clipping:
    conversion to [0, 1], entrants and counts at 0 below."""
    se = sampling_error(kind, base.expected, base.size)
    phi = base.dispersion if base.dispersion == base.dispersion else 1.0  # nan: none measured
    width = k * max(phi, 1.0) * se
    lo, hi = {"conversion": (0.0, 1.0), "entrants": (0.0, math.inf),
              "count": (0.0, math.inf)}.get(kind, (-math.inf, math.inf))
    return base.expected, max(lo, base.expected - width), min(hi, base.expected + width)


def top_segments(kind: str, groups: dict, key: Any, entrants: int, size: float, weeks: int,
                 ) -> list[dict]:
    """The groups whose change explains most of ``size``: contribution = the group's share
    of the bucket's entrants × (its rate - its own same-weekday median); for entrants, its
    count - its own median. Only groups moving the same way as the alert (at least
    :data:`MIN_POINTS` baseline buckets with entrants of their own), largest first, at most
    :data:`TOP_SEGMENTS`."""
    found = []
    for group, (values, counts) in groups.items():
        n = counts.get(key, 0)
        observed = values.get(key, 0.0 if kind == "entrants" else None)
        if observed is None:
            continue
        past = {p: values[p] for p in history(key, weeks) if p in values}
        if kind != "entrants":
            past = {p: v for p, v in past.items() if counts.get(p, 0) > 0}
        if len(past) < MIN_POINTS:
            continue
        expected = statistics.median(past.values())
        change = observed - expected
        contribution = change if kind == "entrants" else (n / entrants if entrants else 0) * change
        if contribution * size > 0:
            found.append({"segment": group, "entrants": int(n), "observed": observed,
                          "expected": expected, "contribution": contribution,
                          "explains": contribution / size if size else None})
    found.sort(key=lambda s: -abs(s["contribution"]))
    return found[:TOP_SEGMENTS]
