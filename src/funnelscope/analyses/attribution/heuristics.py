"""The five rule-based models: each conversion's credit shared out among its touches.

A converting journey has ``n`` touches ``1..n`` in time order (ties by channel name). Each
touch gets a share of the conversion; shares of one conversion sum to 1, and a channel's
credit is the sum over its touches (a channel touched twice earns twice):

* ``first_touch``: touch 1 gets 1.
* ``last_touch``: touch n gets 1.
* ``linear``: every touch gets 1/n (ChannelAttribution's ``linear_touch``: a channel seen k
  times in a path of length n earns k/n).
* ``time_decay``: touch i gets ``2^(-Δt_i/h) / Σ_j 2^(-Δt_j/h)``, Δt = conversion time -
  touch time, h = half-life. Computed relative to the last touch (the common factor
  ``2^(-(conversion - last touch)/h)`` cancels), so no weight underflows to 0.
* ``position``: 40/20/40 -- n = 1: 1; n = 2: 0.5 and 0.5; n >= 3: the first and the last
  touch 0.4 each, the n - 2 middle touches 0.2/(n - 2) each.

The shares are computed in DuckDB per touch (:func:`share_sql`); :func:`position_shares`
and :func:`time_decay_shares` state the same rules in Python, for one journey.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Position-based weights: first, all middle touches together, last.
FIRST, MIDDLE, LAST = 0.4, 0.2, 0.4
HEURISTICS = ("first_touch", "last_touch", "linear", "time_decay", "position")


def position_shares(n: int) -> list[float]:
    """Shares of touches 1..n under the 40/20/40 position-based model."""
    if n < 1:
        return []
    if n == 1:
        return [1.0]
    if n == 2:
        return [0.5, 0.5]
    return [FIRST] + [MIDDLE / (n - 2)] * (n - 2) + [LAST]


def time_decay_shares(ages_us: Sequence[float], half_life_us: float) -> list[float]:
    """Shares of touches whose ages (conversion time - touch time, µs) are ``ages_us``."""
    if not ages_us:
        return []
    youngest = min(ages_us)
    weights = [math.pow(2.0, -(a - youngest) / half_life_us) for a in ages_us]
    total = sum(weights)
    return [w / total for w in weights]


def share_sql(n: str, pos: str, w: str, wsum: str) -> dict[str, str]:
    """DuckDB expressions of each touch's share, given the journey's touch count ``n``, the
    touch's 1-based position ``pos``, its time-decay weight ``w`` and the weights' sum."""
    return {
        "first_touch": f"CASE WHEN {pos} = 1 THEN 1.0 ELSE 0.0 END",
        "last_touch": f"CASE WHEN {pos} = {n} THEN 1.0 ELSE 0.0 END",
        "linear": f"1.0 / {n}",
        "time_decay": f"{w} / {wsum}",
        "position": (f"CASE WHEN {n} = 1 THEN 1.0 WHEN {n} = 2 THEN 0.5 "
                     f"WHEN {pos} = 1 THEN {FIRST!r} WHEN {pos} = {n} THEN {LAST!r} "
                     f"ELSE {MIDDLE!r} / ({n} - 2) END"),
    }
