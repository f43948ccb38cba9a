"""Calendar periods (day / week / month) in the reporting time zone, as whole numbers.

Every analysis of this package buckets time the same way: an instant is converted to the
wall-clock time of the workspace's reporting zone (:func:`funnelscope.engine.timezones.local_time`),
and its local calendar date gives the period. Periods are numbered so that consecutive periods
differ by one, which makes "period k after the cohort" plain integer arithmetic that runs the
same on every backend:

- day: days since 1970-01-01 (the local date's epoch day);
- week: weeks since the Monday 1969-12-29; weeks start on **Monday** (ISO 8601);
- month: ``year * 12 + month - 1``.

The Python helpers turn a period number back into its first and last local date, and decide
whether a period is *complete*: all its days lie within the data's first and last local date.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from funnelscope.errors import SpecError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import WorkspaceBase as Workspace

PERIODS = ("day", "week", "month")
EPOCH = date(1970, 1, 1)
#: Epoch day of the Monday that starts week 0 (1969-12-29); 1970-01-01 was a Thursday.
_WEEK0_OFFSET = 3


def check_period(period: str, what: str = "period") -> str:
    """Return ``period`` if it is day, week or month; else raise SpecError."""
    if period not in PERIODS:
        raise SpecError(f"unknown {what} {period!r}.", hint="Use day, week or month.")
    return period


# ----- Ibis expressions ---------------------------------------------------------------------
def local_day(ws: Workspace, ts: ir.TimestampValue) -> ir.IntegerValue:
    """Epoch day (days since 1970-01-01) of the local date of UTC instant ``ts``."""
    from funnelscope.engine.timezones import local_time
    return local_time(ws, ts).date().epoch_days()


def period_of(ws: Workspace, ts: ir.TimestampValue, period: str) -> ir.IntegerValue:
    """Period number of UTC instant ``ts`` in the reporting time zone (see module doc)."""
    from funnelscope.engine.timezones import local_time
    lt = local_time(ws, ts)
    if period == "month":
        return lt.year() * 12 + lt.month() - 1
    day = lt.date().epoch_days()
    return day if period == "day" else (day + _WEEK0_OFFSET) // 7


def period_of_day_expr(day: ir.IntegerValue, period: str) -> ir.IntegerValue:
    """Period number of an epoch-day expression (day and week only)."""
    if period == "day":
        return day
    if period == "week":
        return (day + _WEEK0_OFFSET) // 7
    raise ValueError("months need the local timestamp; use period_of")


# ----- Python helpers -----------------------------------------------------------------------
def day_to_date(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


def date_to_day(d: date) -> int:
    return (d - EPOCH).days


def period_of_day(day: int, period: str) -> int:
    """Period number of epoch day ``day``."""
    if period == "day":
        return int(day)
    if period == "week":
        return (int(day) + _WEEK0_OFFSET) // 7
    d = day_to_date(day)
    return d.year * 12 + d.month - 1


def first_day(p: int, period: str) -> int:
    """Epoch day of the first local date of period ``p``."""
    if period == "day":
        return int(p)
    if period == "week":
        return int(p) * 7 - _WEEK0_OFFSET
    year, month = divmod(int(p), 12)
    return date_to_day(date(year, month + 1, 1))


def last_day(p: int, period: str) -> int:
    """Epoch day of the last local date of period ``p``."""
    return first_day(int(p) + 1, period) - 1


def start_date(p: int, period: str) -> date:
    """First local date of period ``p`` (a Monday for weeks, the 1st for months)."""
    return day_to_date(first_day(p, period))


def label(p: int, period: str) -> str:
    """``YYYY-MM-DD`` of the period's first day."""
    return start_date(p, period).isoformat()


def is_complete(p: int, period: str, first: int, end: int) -> bool:
    """True when every day of period ``p`` lies within the data's days ``first..end`` (epoch days).

    ``end`` is the local date of the last event (that day counts as fully observed); ``first``
    the local date of the first event.
    """
    return first_day(p, period) >= first and last_day(p, period) <= end
