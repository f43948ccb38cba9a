"""Parse durations analysts write: ``"30m"``, ``"1h"``, ``"7d"``, ``"2w"``, ``"3600s"``."""

from __future__ import annotations

import re
from datetime import timedelta

from funnelscope.errors import SpecError

_UNITS_US = {
    "us": 1, "ms": 1_000, "s": 1_000_000, "m": 60_000_000, "min": 60_000_000,
    "h": 3_600_000_000, "d": 86_400_000_000, "w": 7 * 86_400_000_000,
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|m|h|d|w)\s*$", re.IGNORECASE)


def to_microseconds(value: str | int | float | timedelta, what: str = "window") -> int:
    """Duration -> whole microseconds. Numbers are seconds; strings need a unit."""
    if isinstance(value, timedelta):
        us = int(round(value.total_seconds() * 1_000_000))
    elif isinstance(value, bool):
        raise SpecError(f"{what} must be a duration like '7d', got {value!r}.")
    elif isinstance(value, (int, float)):
        us = int(round(value * 1_000_000))
    elif isinstance(value, str):
        m = _PATTERN.match(value)
        if not m:
            raise SpecError(
                f"cannot read {what} {value!r}.",
                hint="Write a number and a unit: 30m, 1h, 7d, 2w, 3600s.",
            )
        us = int(round(float(m.group(1)) * _UNITS_US[m.group(2).lower()]))
    else:
        raise SpecError(f"{what} must be a duration like '7d', got {type(value).__name__}.")
    if us < 0:
        raise SpecError(f"{what} must not be negative, got {value!r}.")
    return us


def describe(us: int) -> str:
    """Short human form of a duration in microseconds: 7d, 1h, 90s."""
    for unit in ("d", "h", "m", "s", "ms"):
        size = _UNITS_US[unit]
        if us >= size and us % size == 0:
            return f"{us // size}{unit}"
    return f"{us}us"
