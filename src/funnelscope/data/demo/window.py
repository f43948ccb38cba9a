"""The demo's time window and when people arrive in it (day-of-week, hour-of-day, promotions).

A window is ``[start, start + days)`` in UTC microseconds. Hour-of-day profiles are written in
China Standard Time (UTC+8), where the demo's customers live, and rotated to UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from funnelscope.data.demo.sampling import US, categorical
from funnelscope.errors import ConfigError

DAY_US = 86_400 * US
HOUR_US = 3_600 * US
LOCAL_OFFSET_HOURS = 8  # China Standard Time

# Share of daily arrivals in each local hour 0..23.
CONSUMER_HOURS = (
    1.2, 0.7, 0.4, 0.3, 0.3, 0.4, 0.8, 1.6, 2.6, 3.4, 4.0, 4.4,
    5.2, 5.0, 4.2, 4.0, 4.2, 4.6, 5.0, 6.0, 7.2, 7.8, 6.6, 3.6,
)
OFFICE_HOURS = (
    0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 1.0, 3.0, 7.0, 8.4, 8.4,
    5.0, 5.6, 8.4, 8.6, 8.2, 7.6, 5.0, 3.0, 2.2, 1.8, 1.2, 0.5,
)

# Shopping festivals, by (month, first day, last day) inclusive, local calendar.
PROMOTIONS = (
    ("年货节大促", 1, 10, 25),
    ("618大促", 6, 1, 18),
    ("双11大促", 11, 1, 11),
    ("双12大促", 12, 1, 12),
)


@dataclass(frozen=True)
class Window:
    """``[start_us, end_us)`` in UTC microseconds, ``days`` whole days long."""

    start_us: int
    days: int

    @property
    def end_us(self) -> int:
        return self.start_us + self.days * DAY_US

    def day_starts(self) -> np.ndarray:
        """UTC microsecond at which each of the window's days begins (int64, length ``days``)."""
        return self.start_us + np.arange(self.days, dtype=np.int64) * DAY_US

    def weekdays(self) -> np.ndarray:
        """Day of week of each day, Monday = 0 (int64)."""
        epoch_days = self.day_starts() // DAY_US
        return (epoch_days + 3) % 7  # 1970-01-01 was a Thursday

    def dates(self) -> np.ndarray:
        """Each day as ``datetime64[D]``."""
        return (self.day_starts() // DAY_US).astype("datetime64[D]")

    def promotion_of_day(self) -> np.ndarray:
        """Index into PROMOTIONS of the festival running on each day, or -1 (int64)."""
        dates = self.dates()
        month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
        day = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
        out = np.full(self.days, -1, dtype=np.int64)
        for i, (_, m, first, last) in enumerate(PROMOTIONS):
            out[(month == m) & (day >= first) & (day <= last)] = i
        return out


def parse_window(start: str, days: int) -> Window:
    """Validate ``start`` (ISO-8601 date or date-time; naive = UTC) and ``days`` (>= 1)."""
    if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 1:
        raise ConfigError(
            f"demo window length days={days!r} is not a positive whole number of days.",
            hint="Pass days as an integer >= 1, e.g. days=90.",
        )
    if days > 3660:
        raise ConfigError(
            f"demo window days={days} is longer than ten years.",
            hint="Use at most 3660 days.",
        )
    try:
        moment = datetime.fromisoformat(str(start))
    except ValueError:
        raise ConfigError(
            f"demo start {start!r} is not an ISO-8601 date.",
            hint="Pass a date such as '2026-01-01' (read as UTC midnight).",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    start_us = int(round(moment.timestamp() * US))
    return Window(start_us=start_us, days=int(days))


def hour_weights_utc(local_profile) -> np.ndarray:
    """A local-time hour profile re-indexed by UTC hour (UTC hour h = local hour h + 8)."""
    local = np.asarray(local_profile, dtype=np.float64)
    return np.roll(local, -LOCAL_OFFSET_HOURS)


def arrival_times(
    rng: np.random.Generator, window: Window, day_of: np.ndarray, hour_profile
) -> np.ndarray:
    """A UTC instant (int64 µs) inside day ``day_of[i]`` of the window, hour by ``hour_profile``."""
    hours = categorical(rng, hour_weights_utc(hour_profile), len(day_of)).astype(np.int64)
    within = rng.integers(0, HOUR_US, len(day_of), dtype=np.int64)
    return window.start_us + day_of.astype(np.int64) * DAY_US + hours * HOUR_US + within


def day_weights(window: Window, weekend: float, growth: float) -> np.ndarray:
    """Relative arrival volume per day: ``weekend`` factor on Sat/Sun, linear ``growth`` over the window.

    ``growth`` = 0.3 means the last day gets 1.3 times the first day's volume.
    """
    wd = window.weekdays()
    w = np.where(wd >= 5, weekend, 1.0)
    return w * (1.0 + growth * np.arange(window.days) / max(window.days - 1, 1))


def joint_channel_day(
    rng: np.random.Generator, volume: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` (channel, day) pairs with probability proportional to ``volume[channel, day]``."""
    codes = categorical(rng, volume.ravel(), n).astype(np.int64)
    channel, day = np.divmod(codes, volume.shape[1])
    return channel.astype(np.int16), day
