"""Time buckets of a watch: calendar days or wall-clock hours in the reporting time zone.

A bucket is keyed by its local start: a :class:`datetime.date` (``every="day"``) or a naive
:class:`datetime.datetime` on the hour (``every="hour"``). Keys one week apart are the same
weekday (and hour): ``key - timedelta(weeks=w)`` is the baseline bucket of week ``w``.

Daylight-saving time (hourly only): the wall hour skipped in spring does not exist and is
never a bucket; the wall hour repeated in autumn is one bucket holding both hours' data and is
never judged (:meth:`Clock.judgeable`). Instants (µs UTC) of a wall time use the first
occurrence (``fold=0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
EVERY = ("day", "hour")


@dataclass(frozen=True)
class Clock:
    """Buckets of one size (``every``: day | hour) in the time zone ``timezone``."""

    every: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def step(self) -> timedelta:
        return timedelta(days=1) if self.every == "day" else timedelta(hours=1)

    @property
    def unit_us(self) -> int:
        return DAY_US if self.every == "day" else HOUR_US

    def key(self, value: Any) -> Any:
        """The key of a local wall time (pandas Timestamp, datetime or ISO text) already
        truncated to its bucket."""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        if self.every == "day":
            return value if type(value) is date else value.date()
        return value.replace(minute=0, second=0, microsecond=0, tzinfo=None)

    def start(self, key: Any) -> datetime:
        """The bucket's local start, time-zone aware (first occurrence of the wall time)."""
        wall = datetime(key.year, key.month, key.day) if self.every == "day" else key
        return wall.replace(tzinfo=self.zone)

    def start_us(self, key: Any) -> int:
        return _us(self.start(key))

    def end_us(self, key: Any) -> int:
        """The bucket's end (the next bucket's start), µs UTC."""
        return self.start_us(key + self.step)

    def exists(self, key: Any) -> bool:
        """False for a wall hour skipped by a daylight-saving change."""
        if self.every == "day":
            return True
        there = self.start(key).astimezone(UTC).astimezone(self.zone).replace(tzinfo=None)
        return there == key

    def judgeable(self, key: Any) -> bool:
        """False for a wall hour that happens twice (autumn daylight-saving change): its
        bucket mixes two hours."""
        if self.every == "day":
            return True
        first = key.replace(tzinfo=self.zone, fold=0).utcoffset()
        return first == key.replace(tzinfo=self.zone, fold=1).utcoffset()

    def label(self, key: Any) -> str:
        """What JSON shows: ``2026-02-18`` (day) or the ISO hour start with its UTC offset,
        ``2026-02-18T14:00:00+08:00`` (hour)."""
        return key.isoformat() if self.every == "day" else self.start(key).isoformat()

    def span(self, first: Any, last: Any) -> list:
        """Every existing bucket from ``first`` to ``last`` (inclusive)."""
        out, key = [], first
        while key <= last:
            if self.exists(key):
                out.append(key)
            key += self.step
        return out

    def units_between(self, earlier: Any, later: Any) -> int:
        """Whole buckets from ``earlier`` to ``later`` on the wall clock."""
        return (later - earlier) // self.step


def _us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond
