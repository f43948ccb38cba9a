"""Planted stories in the ecommerce demo: an A/B test and a one-day payment outage.

Both change the conversion probabilities before journeys are drawn, and both draw their own
random numbers from a child stream of the dataset's generator (``rng.spawn``), so the rest of
the data (who arrives when, on which channel, with which delays) is the same as without them.

* ``checkout_redesign`` (:data:`EXPERIMENT`): every user whose first view falls in the last
  ``EXPERIMENT_DAYS`` days of the window is exposed at that first view, to ``control`` or
  ``treatment`` with equal chance. Treatment multiplies the checkout → pay probability by
  ``TREATMENT_PAY_LIFT``. The exposure log is the ``exposures`` table.
* The outage: users of the ``OUTAGE_PLATFORMS`` apps whose first view falls on ``OUTAGE_DAY``
  (a whole day in ``OUTAGE_TZ``) have their add_to_cart → checkout probability multiplied by
  ``OUTAGE_CHECKOUT_FACTOR``: an app release that broke the checkout button, found by
  ``funnelscope watch --by platform``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from funnelscope.data.demo import columns as col
from funnelscope.data.demo.sampling import DAY, US
from funnelscope.data.demo.window import Window

EXPERIMENT = "checkout_redesign"
VARIANTS = ("control", "treatment")
EXPERIMENT_DAYS = 30
TREATMENT_PAY_LIFT = 1.15

OUTAGE_DAY = date(2026, 3, 23)
OUTAGE_TZ = "Asia/Shanghai"
OUTAGE_PLATFORMS = ("android", "ios", "miniprogram")
OUTAGE_CHECKOUT_FACTOR = 0.05


def _outage_bounds_us() -> tuple[int, int]:
    """[start, end) of OUTAGE_DAY in OUTAGE_TZ, as µs since the epoch (UTC)."""
    start = datetime.combine(OUTAGE_DAY, datetime.min.time(), ZoneInfo(OUTAGE_TZ))
    end = start + timedelta(days=1)
    return int(start.timestamp()) * US, int(end.timestamp()) * US


def apply(rng: np.random.Generator, window: Window, p: np.ndarray, steps: tuple[str, ...],
          entry: np.ndarray, platform: np.ndarray, platforms: tuple[str, ...]) -> dict:
    """Plant both stories in ``p`` (n x steps conversion probabilities, changed in place;
    column j is the step ``steps[j]`` given the one before) and return ``{"exposed": bool
    array, "treated": bool array}``. ``entry`` is every user's first-view time (µs) and
    ``platform`` their platform code (index into ``platforms``).
    """
    aux = rng.spawn(1)[0]
    start_us = max(window.start_us, window.end_us - int(EXPERIMENT_DAYS * DAY) * US)
    exposed = entry >= start_us
    treated = exposed & (aux.random(len(entry)) < 0.5)
    p[treated, steps.index("pay")] *= TREATMENT_PAY_LIFT
    lo, hi = _outage_bounds_us()
    app = np.isin(platform, [platforms.index(x) for x in OUTAGE_PLATFORMS])
    p[app & (entry >= lo) & (entry < hi), steps.index("checkout")] *= OUTAGE_CHECKOUT_FACTOR
    np.clip(p, 0.0, 0.97, out=p)
    return {"exposed": exposed, "treated": treated}


def exposures(plan: dict, entry: np.ndarray, user_ids: pa.Array) -> pa.Table:
    """The ``exposures`` table: one row per exposed user (exposed at the first view)."""
    who = np.flatnonzero(plan["exposed"])
    variant = plan["treated"][who].astype(np.int64)
    return pa.table({
        "user_id": user_ids.take(pa.array(who)),
        "experiment": pa.repeat(pa.scalar(EXPERIMENT, pa.string()), len(who)),
        "variant": col.labels(VARIANTS, variant),
        "ts": col.timestamps(entry[who]),
    })


def ground_truth() -> dict:
    """The planted parameters (docs/demo-data.md)."""
    return {
        "experiment": {
            "name": EXPERIMENT, "variants": list(VARIANTS), "split": [0.5, 0.5],
            "exposed": f"users whose first view is in the last {EXPERIMENT_DAYS} days, at it",
            "treatment_effect": {"step": "pay", "multiplier_of_checkout_to_pay": TREATMENT_PAY_LIFT},
        },
        "anomaly": {
            "day": OUTAGE_DAY.isoformat(), "timezone": OUTAGE_TZ,
            "platforms": list(OUTAGE_PLATFORMS),
            "multiplier_of_add_to_cart_to_checkout": OUTAGE_CHECKOUT_FACTOR,
            "who": "users whose first view falls on that day",
        },
    }
