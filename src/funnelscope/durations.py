"""Parse durations analysts write: ``"30m"``, ``"1h"``, ``"7d"``, ``"2w"``, ``"3600s"``.

A duration becomes whole microseconds in an int64 (the engines' time type). Anything that
cannot be one — negative, not a number, infinite, or so long that adding it to a time up to
the year 9999 would overflow int64 microseconds — is a :class:`SpecError` naming the
parameter, never an ``OverflowError`` from deeper down.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

from funnelscope.errors import SpecError

_UNITS_US = {
    "us": 1, "ms": 1_000, "s": 1_000_000, "m": 60_000_000, "min": 60_000_000,
    "h": 3_600_000_000, "d": 86_400_000_000, "w": 7 * 86_400_000_000,
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|m|h|d|w)\s*$", re.IGNORECASE)
_HINT = "Write a number and a unit: 30m, 1h, 7d, 2w, 3600s."
_MAX_TEXT = 64  # longer text is not a duration anyone writes

INT64_MAX = 2**63 - 1
#: µs from 1970 to 9999-12-31: a window added to any time up to then still fits in int64 µs.
_LAST_TIME_US = 253_402_300_800_000_000
#: The longest duration accepted (about 284,000 years).
MAX_US = INT64_MAX - _LAST_TIME_US


def to_microseconds(value: str | int | float | timedelta, what: str = "window") -> int:
    """Duration -> whole microseconds. Numbers are seconds; strings need a unit.

    Raises SpecError for text that is not a duration, a negative, NaN or infinite value, and a
    duration longer than :data:`MAX_US`.
    """
    if isinstance(value, timedelta):
        amount = value // timedelta(microseconds=1)  # exact whole microseconds
    elif isinstance(value, bool):
        raise SpecError(f"{what} must be a duration like '7d', got {value!r}.")
    elif isinstance(value, (int, float)):
        amount = value * 1_000_000
    elif isinstance(value, str):
        m = _PATTERN.match(value) if len(value) <= _MAX_TEXT else None
        if not m:
            shown = value if len(value) <= _MAX_TEXT else value[:_MAX_TEXT] + "…"
            if value.strip().startswith("-") and _PATTERN.match(value.strip()[1:]):
                raise SpecError(f"{what} must not be negative, got {shown!r}.", hint=_HINT)
            raise SpecError(f"cannot read {what} {shown!r}.", hint=_HINT)
        number, unit = m.group(1), _UNITS_US[m.group(2).lower()]
        # whole numbers exactly (no float rounding of long ones)
        amount = float(number) * unit if "." in number else int(number) * unit
    else:
        raise SpecError(f"{what} must be a duration like '7d', got {type(value).__name__}.")
    if isinstance(amount, float):
        if math.isnan(amount):
            raise SpecError(f"{what} must be a duration, got {value!r}.", hint=_HINT)
        if math.isinf(amount):
            raise SpecError(f"{what} {value!r} is too long.", hint=_too_long_hint())
    if amount < 0:
        raise SpecError(f"{what} must not be negative, got {value!r}.")
    if amount > MAX_US:
        raise SpecError(f"{what} {value!r} is too long.", hint=_too_long_hint())
    return int(round(amount))


def _too_long_hint() -> str:
    return (f"The longest duration is {MAX_US // _UNITS_US['d']:,}d (microseconds must fit "
            "in a 64-bit integer).")


def describe(us: int) -> str:
    """Short human form of a duration in microseconds: 7d, 1h, 90s."""
    for unit in ("d", "h", "m", "s", "ms"):
        size = _UNITS_US[unit]
        if us >= size and us % size == 0:
            return f"{us // size}{unit}"
    return f"{us}us"
