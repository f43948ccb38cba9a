"""How often does ``funnelscope watch`` cry wolf? False alarms on clean seasonal series and
detection of injected drops, for the old band and the current one.

    python benchmarks/watch_false_alarms.py [--series 300] [--hourly-series 8] [--seed 1]
        [--weeks 4] [--threshold 3]

Simulated series (numpy, seed ``--seed``), judged by the engine's own functions
(:func:`funnelscope.analyses.monitor.baseline.baseline` and ``band``) exactly as
``ws.watch`` judges a series: the same eligibility (conversion needs ``--min-entrants`` 30,
hourly 10), ``--weeks`` weeks of history, k = ``--threshold``.

Daily series: 8 weeks from a Monday; the last 4 weeks are judged (28 days per series).

* ``entrants``: Poisson(volume × weekday factor), volume = 50, 200 or 2,000 a day, weekday
  factors 1.0 1.05 1.05 1.0 0.95 0.75 0.7 (Monday first).
* ``conversion``: Binomial(entrants, p × weekday factor), p = 10 %, 30 % or 50 %, weekday
  factors 1.0 1.05 1.05 1.0 0.95 0.8 0.75.
* ``+ day effect``: the same with extra day-to-day variation beyond sampling (conversion ×
  exp(N(0, 0.08²)), entrants × exp(N(0, 0.05²))), as real sites have; there the old band's
  4-point MAD is the only thing between a normal day and an alert.
* ``order value``: the mean of Poisson(40 × weekday factor) log-normal order amounts
  (σ_log = 0.8), a yml ``mean`` metric (floor 2 %).

Detection: the same series with one judged day (a random day of the last 4 weeks) whose
conversion probability is multiplied by 0.8 (−20 %) or 0.6 (−40 %); a hit is an alert on
that day. ``ideal`` is what a band that knows the true level and sampling error would do
(|observed − true level| > k · true standard error): the limit set by the sampling noise
(not shown with the day effect, which it ignores).

Hourly series: 8 weeks of hours, traffic 2,000 entrants a day shaped by hour of day (night
~0.3 % of the day per hour, evening peak ~8 %) and weekday, conversion 30 % × hour factor ×
weekday factor; the last 2 weeks (336 hours) are judged.

Methods: ``old`` = the first version (median ± k · max(1.4826 · MAD of the same 4 weekdays,
floor)), re-implemented here; ``new`` = the engine (median ± k · max(φ, 1) · sampling error,
φ from the pooled leave-one-out errors of the whole window, docs/monitoring.md).
Prints one markdown table; rates are per judged bucket, with the number of buckets.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from datetime import date, datetime, timedelta

import numpy as np

from funnelscope.analyses.monitor.baseline import (
    MAD_SCALE,
    MIN_POINTS,
    band,
    baseline,
    baseline_keys,
    sampling_error,
)

START = date(2026, 1, 5)  # a Monday
WEEKS_SIMULATED = 8
ENTRANTS_BY_WEEKDAY = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.75, 0.7])
RATE_BY_WEEKDAY = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.8, 0.75])
#: share of a day's entrants per hour of day (sums to 1): quiet nights, lunch and evening peaks
HOUR_SHAPE = np.array([0.6, 0.4, 0.3, 0.3, 0.3, 0.5, 1.0, 2.0, 3.5, 5.0, 5.5, 6.0, 7.0, 6.5,
                       5.5, 5.0, 5.0, 5.5, 6.5, 7.5, 8.0, 7.0, 4.5, 2.0])
HOUR_SHAPE = HOUR_SHAPE / HOUR_SHAPE.sum()
RATE_BY_HOUR = np.where((np.arange(24) >= 18) & (np.arange(24) <= 22), 1.2, 1.0)


# ----- the two methods ---------------------------------------------------------------------------
def old_band(kind, key, values, eligible, weeks, sizes, k):
    """The first version: median ± k · max(1.4826 · MAD of the same-weekday points, floor)."""
    points = baseline_keys(key, values, eligible, weeks)
    if len(points) < MIN_POINTS:
        return None
    past = [values[p] for p in points]
    median = statistics.median(past)
    mad = statistics.median(abs(v - median) for v in past)
    n = sizes.get(key) if kind == "conversion" else \
        statistics.median(sizes[p] for p in points) if kind == "sum" else None
    width = k * max(MAD_SCALE * mad, sampling_error(kind, median, n))
    lo = 0.0 if kind in ("conversion", "entrants", "count") else -math.inf
    hi = 1.0 if kind == "conversion" else math.inf
    return median, max(lo, median - width), min(hi, median + width)


def new_band(kind, key, values, eligible, weeks, sizes, k, cache):
    base = baseline(kind, key, values, eligible, weeks, sizes, cache)
    return None if base is None else band(kind, base, k)


def judge(kind, values, eligible, sizes, judged, weeks, k):
    """{method: set of judged keys that alert} and the judged keys that had a band."""
    alerts = {"old": set(), "new": set()}
    cache: dict = {}
    had = []
    for key in judged:
        if not eligible.get(key):
            continue
        for method in alerts:
            found = old_band(kind, key, values, eligible, weeks, sizes, k) if method == "old" \
                else new_band(kind, key, values, eligible, weeks, sizes, k, cache)
            if found is None:
                break
            if not found[1] <= values[key] <= found[2]:
                alerts[method].add(key)
        else:
            had.append(key)
    return alerts, had


# ----- simulated series --------------------------------------------------------------------------
def daily_keys():
    return [START + timedelta(days=i) for i in range(7 * WEEKS_SIMULATED)]


def hourly_keys():
    first = datetime(START.year, START.month, START.day)
    return [first + timedelta(hours=h) for h in range(24 * 7 * WEEKS_SIMULATED)]


def simulate_funnel(rng, keys, expected_entrants, rate, day_effect=0.0, drop=None,
                    factor=1.0):
    """(entrants by key, conversion by key): Poisson entrants, binomial converters; ``drop``:
    the key whose conversion probability is multiplied by ``factor``."""
    lam = expected_entrants * (np.exp(rng.normal(0, day_effect / 1.6, len(keys)))
                               if day_effect else 1.0)
    n = rng.poisson(lam)
    p = rate * (np.exp(rng.normal(0, day_effect, len(keys))) if day_effect else 1.0)
    if drop is not None:
        p = p.copy()
        p[keys.index(drop)] *= factor
    converted = rng.binomial(n, np.clip(p, 0, 1))
    entrants = {key: int(v) for key, v in zip(keys, n, strict=True)}
    conversion = {key: (c / v if v else None) for key, v, c in zip(keys, n, converted,
                                                                 strict=True)}
    return entrants, conversion


def eligible_for(kind, values, sizes, min_entrants):
    if kind == "conversion":
        return {key: v is not None and sizes[key] >= min_entrants for key, v in values.items()}
    return {key: v is not None for key, v in values.items()}


def daily_shapes(volume, base_rate):
    keys = daily_keys()
    weekday = np.array([d.weekday() for d in keys])
    return keys, volume * ENTRANTS_BY_WEEKDAY[weekday], base_rate * RATE_BY_WEEKDAY[weekday]


def hourly_shapes(volume, base_rate):
    keys = hourly_keys()
    weekday = np.array([d.weekday() for d in keys])
    hour = np.array([d.hour for d in keys])
    lam = volume * ENTRANTS_BY_WEEKDAY[weekday] * HOUR_SHAPE[hour]
    return keys, lam, base_rate * RATE_BY_WEEKDAY[weekday] * RATE_BY_HOUR[hour]


# ----- the experiments ---------------------------------------------------------------------------
class Tally:
    def __init__(self):
        self.buckets = 0
        self.alerts = {"old": 0, "new": 0, "ideal": 0}

    def add(self, had, alerts, ideal=0):
        self.buckets += len(had)
        for method, keys in alerts.items():
            self.alerts[method] += len(keys & set(had))
        self.alerts["ideal"] += ideal

    def rate(self, method):
        return self.alerts[method] / self.buckets if self.buckets else math.nan


def false_alarms(rng, series, shapes, kinds, day_effect, weeks, k, min_entrants, judged_weeks):
    keys, lam, rate = shapes
    judged = keys[-judged_weeks * len(keys) // WEEKS_SIMULATED:]
    tallies = {kind: Tally() for kind in kinds}
    for _ in range(series):
        entrants, conversion = simulate_funnel(rng, keys, lam, rate, day_effect)
        for kind in kinds:
            values = entrants if kind == "entrants" else conversion
            sizes = entrants
            eligible = eligible_for(kind, values, sizes, min_entrants)
            alerts, had = judge(kind, values, eligible, sizes, judged, weeks, k)
            tallies[kind].add(had, alerts)
    return tallies


def detection(rng, series, shapes, factor, day_effect, weeks, k, min_entrants):
    keys, lam, rate = shapes
    judged = keys[-4 * len(keys) // WEEKS_SIMULATED:]
    tally = Tally()
    for _ in range(series):
        drop = judged[rng.integers(len(judged))]
        entrants, conversion = simulate_funnel(rng, keys, lam, rate, day_effect, drop, factor)
        eligible = eligible_for("conversion", conversion, entrants, min_entrants)
        alerts, had = judge("conversion", conversion, eligible, entrants, [drop], weeks, k)
        true_p = rate[keys.index(drop)]
        se = math.sqrt(true_p * (1 - true_p) / max(entrants[drop], 1))
        ideal = int(bool(had) and abs(conversion[drop] - true_p) > k * se)
        tally.add(had, alerts, ideal)
    return tally


def order_values(rng, series, weeks, k):
    keys = daily_keys()
    weekday = np.array([d.weekday() for d in keys])
    judged = keys[-28:]
    tally = Tally()
    for _ in range(series):
        orders = rng.poisson(40 * ENTRANTS_BY_WEEKDAY[weekday])
        values = {key: float(np.mean(rng.lognormal(5.0, 0.8, n))) if n else None
                  for key, n in zip(keys, orders, strict=True)}
        eligible = eligible_for("value", values, {}, 0)
        alerts, had = judge("value", values, eligible, {}, judged, weeks, k)
        tally.add(had, alerts)
    return tally


def pct(x):
    return "–" if x != x else f"{100 * x:.1f} %"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, default=300, help="daily series per scenario")
    ap.add_argument("--hourly-series", type=int, default=8, help="hourly series per scenario")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--weeks", type=int, default=4)
    ap.add_argument("--threshold", type=float, default=3.0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    w, k, s = args.weeks, args.threshold, args.series
    started = time.perf_counter()
    print(f"weeks={w} k={k} seed={args.seed}; daily: {s} series × 28 judged days per row; "
          f"hourly: {args.hourly_series} series × 336 judged hours\n")
    print("| series | noise | volume | judged | false alarms old | false alarms new |")
    print("|---|---|---|---:|---:|---:|")
    for effect, noise in ((0.0, "sampling only"), (0.08, "+ day effect")):
        for volume in (50, 200, 2000):
            t = false_alarms(rng, s, daily_shapes(volume, 0.3), ("entrants", "conversion"),
                             effect, w, k, 30, 4)
            for kind in ("entrants", "conversion"):
                name = "conversion (30 %)" if kind == "conversion" else kind
                print(f"| daily {name} | {noise} | {volume}/day | {t[kind].buckets} | "
                      f"{pct(t[kind].rate('old'))} | {pct(t[kind].rate('new'))} |")
    t = order_values(rng, s, w, k)
    print(f"| daily order value (mean) | log-normal amounts | ~40 orders/day | {t.buckets} | "
          f"{pct(t.rate('old'))} | {pct(t.rate('new'))} |")
    for effect, noise in ((0.0, "sampling only"), (0.08, "+ day effect")):
        t = false_alarms(rng, args.hourly_series, hourly_shapes(2000, 0.3),
                         ("entrants", "conversion"), effect, w, k, 10, 2)
        for kind in ("entrants", "conversion"):
            print(f"| hourly {kind} | {noise} | 2000/day | {t[kind].buckets} | "
                  f"{pct(t[kind].rate('old'))} | {pct(t[kind].rate('new'))} |")

    print("\n| injected drop | conversion | volume | noise | days | detected old | "
          "detected new | ideal |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    for factor in (0.8, 0.6):
        for base_rate in (0.1, 0.3, 0.5):
            for volume in (50, 200, 2000):
                t = detection(rng, s, daily_shapes(volume, base_rate), factor, 0.0, w, k, 30)
                print(f"| {round(100 * (factor - 1))} % | {round(100 * base_rate)} % | "
                      f"{volume}/day | sampling only | {t.buckets} | {pct(t.rate('old'))} | "
                      f"{pct(t.rate('new'))} | {pct(t.rate('ideal'))} |")
        t = detection(rng, s, daily_shapes(2000, 0.3), factor, 0.08, w, k, 30)
        print(f"| {round(100 * (factor - 1))} % | 30 % | 2000/day | + day effect | {t.buckets} | "
              f"{pct(t.rate('old'))} | {pct(t.rate('new'))} | – |")  # ideal: sampling only
    print(f"\n{time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
