"""Who the demo customers are: the shared vocabularies and attribute mixes.

Channel, platform and user type are fixed per person: every event of a user carries the same
values (first-touch = last-touch). ``user_type`` "returning" means the person was known before
the window opened; "new" people are the ones marketing spend acquired.
"""

from __future__ import annotations

import numpy as np

CHANNELS = ("search", "wechat_qr", "share", "ads", "organic")
PLATFORMS = ("ios", "android", "web", "miniprogram")
USER_TYPES = ("new", "returning")
CITIES = ("北京", "上海", "深圳", "广州", "杭州", "成都", "武汉", "南京")
CITY_SHARE = (0.18, 0.20, 0.14, 0.12, 0.12, 0.12, 0.07, 0.05)
CURRENCY = "CNY"


def mix_table(mix: dict[str, dict[str, float]], rows: tuple[str, ...], cols: tuple[str, ...]) -> np.ndarray:
    """``mix[row][col]`` as a (len(rows), len(cols)) float array."""
    return np.array([[mix[r][c] for c in cols] for r in rows], dtype=np.float64)


def returning_mix(returning_share: dict[str, float]) -> dict[str, dict[str, float]]:
    """``{channel: {"new": 1-s, "returning": s}}`` from the returning share per channel."""
    return {c: {"new": 1.0 - s, "returning": s} for c, s in returning_share.items()}


def same_for_every(groups: tuple[str, ...], shares: dict[str, float]) -> dict[str, dict[str, float]]:
    """A mix that does not depend on the group: ``{g: shares}`` for every ``g``."""
    return {g: dict(shares) for g in groups}


def amounts(rng: np.random.Generator, median: np.ndarray, sigma: float, minimum: float) -> np.ndarray:
    """Lognormal money amounts around ``median`` (per row), rounded to 0.01, at least ``minimum``."""
    raw = median * np.exp(sigma * rng.standard_normal(len(median)))
    return np.maximum(np.round(raw, 2), minimum)
