"""DuckDB SQL of the events as (user, epoch µs, local epoch day), in integer arithmetic.

The fast local path of retention, activity and churn (``fast_*.py``) reads the events through
this module instead of converting every row with ICU's ``timezone()``:

- the time is BIGINT epoch microseconds: a file in place whose view has a ``ts_us`` column
  (times converted from epochs or naive local times, see ``data/inplace.py``) is read through
  its projection and that column; otherwise ``epoch_us(ts)``;
- the local date of instant t in the reporting zone is ``floor((t + offset(t)) / 1 day)``, the
  offset (µs) a constant, or a short CASE tree over the zone's offset changes between the
  data's first and last instant (from ``zoneinfo``, checked against DuckDB's own zone data at
  every change and at noon of each day; on any disagreement, or outside that span, ICU
  decides row by row, so the day is always the one ``timezone()`` gives).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from funnelscope.data.schema import get_schema
from funnelscope.data.timeparse import offset_changes, offset_tree
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

DAY_US = 86_400_000_000
#: Offsets are checked at noon of at most this many days (spread over the span).
_CHECK_DAYS = 20_000

#: [(from_instant_us, offset_us), ...] sorted, and the instant the last range ends (exclusive).
OffsetRanges = tuple[list[tuple[int, int]], int]


@dataclass(frozen=True)
class EventRows:
    """The events relation for a fast path: ``sql`` has the canonical columns and, when the
    time is converted, the µs column ``us`` names; ``where`` keeps the view's rows."""

    sql: str
    us: str        # SQL of the time as BIGINT epoch µs
    where: str     # predicate of the analysed rows (TRUE for a table)


def event_rows(ws: Workspace) -> EventRows:
    """The events table (or file in place) as :class:`EventRows`."""
    view = ws.in_place.get("events")
    if view is not None and view.ts_us is not None:
        required = get_schema("events").required
        preds = [f"{ident(view.ts_us if c == 'ts' else c)} IS NOT NULL" for c in required]
        return EventRows(view.unfiltered, ident(view.ts_us), " AND ".join(preds) or "TRUE")
    return EventRows(f"SELECT * FROM {ident('events')}", "epoch_us(ts)", "TRUE")  # noqa: S608


def floor_day(local_us: str) -> str:
    """SQL: floor(local_us / one day) for a BIGINT (DuckDB's ``//`` truncates towards 0)."""
    return (f"(CASE WHEN {local_us} >= 0 THEN {local_us} // {DAY_US} "
            f"ELSE ({local_us} + 1) // {DAY_US} - 1 END)")


def local_day_sql(us: str, tz: str, ranges: OffsetRanges | None) -> str:
    """SQL: local epoch day in ``tz`` of the instant ``us`` (BIGINT µs).

    UTC: plain floor division. Else within ``ranges`` the offset comes from the ranges; outside
    them (or with no ranges) from ICU, row by row.
    """
    if tz == "UTC":
        return floor_day(us)
    icu = (f"(CAST(timezone({literal(tz)}, timezone('UTC', make_timestamp({us}))) AS DATE) "
           "- DATE '1970-01-01')")
    if not ranges:
        return icu
    spans, end = ranges
    fast = floor_day(f"({us} + {offset_tree(us, spans)})")
    return f"(CASE WHEN {us} >= {spans[0][0]} AND {us} < {end} THEN {fast} ELSE {icu} END)"


def utc_offsets(tz: str, lo_us: int, hi_us: int) -> OffsetRanges | None:
    """Offsets (µs) of ``tz`` for instants in [lo_us, hi_us], by ``zoneinfo``; None when the
    zone is unknown to it or the span is outside the years 1900-2200."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if lo_us > hi_us or lo_us < -2_208_988_800_000_000 or hi_us > 7_258_118_400_000_000:
        return None
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return None

    first, changes = offset_changes(zone, lo_us // 1_000_000, hi_us // 1_000_000 + 1)
    ranges = [(lo_us, first * 1_000_000)] + [(b * 1_000_000, o * 1_000_000) for b, o in changes]
    return ranges, hi_us + 1


def check_offsets(con, tz: str, ranges: OffsetRanges) -> bool:
    """True when DuckDB's ICU gives the same local day as ``ranges`` at every offset change
    (the µs before and at it) and at noon UTC of each day in the span (sampled above 20,000
    days): a guard against zoneinfo's tz database differing from DuckDB's."""
    spans, end = ranges
    points = {spans[0][0], end - 1}
    for start, _ in spans[1:]:
        points.update((start - 1, start))
    first, last = spans[0][0] // DAY_US, (end - 1) // DAY_US
    step = max(1, (last - first) // _CHECK_DAYS)
    points.update(d * DAY_US + DAY_US // 2 for d in range(first, last + 1, step))
    points = {p for p in points if spans[0][0] <= p < end}
    values = ", ".join(str(p) for p in sorted(points))
    x = "fs_p.us"
    sql = (f"SELECT count(*) FROM (SELECT unnest([{values}]::BIGINT[]) AS us) AS fs_p "  # noqa: S608
           f"WHERE {local_day_sql(x, tz, None)} <> {local_day_sql(x, tz, ranges)}")
    return con.execute(sql).fetchone()[0] == 0


@dataclass(frozen=True)
class LocalDays:
    """The reporting zone's local day as SQL: ``sql(us)`` is the epoch day of the BIGINT µs
    column ``us`` (name it in a subquery: the SQL repeats it). ``monotonic``: a later instant
    never has an earlier local day within the data's span (no offset change moves the clock
    back across midnight), so the first and last day are the days of the first and last
    instant."""

    tz: str
    ranges: OffsetRanges | None
    #: the first and last instant (µs) of the rows, when asked for (None: not known / no rows)
    lo: int | None = None
    hi: int | None = None

    def sql(self, us: str) -> str:
        return local_day_sql(us, self.tz, self.ranges)

    @property
    def monotonic(self) -> bool:
        if self.tz == "UTC":
            return True
        if self.ranges is None:
            return False
        spans = self.ranges[0]
        return all((start - 1 + prev) // DAY_US <= (start + off) // DAY_US
                   for (_, prev), (start, off) in zip(spans, spans[1:], strict=False))

    def day(self, us: int) -> int:
        """The local day of instant ``us`` (within the ranges, or UTC)."""
        if self.tz == "UTC":
            return us // DAY_US
        spans, _ = self.ranges  # type: ignore[misc]
        off = next(o for start, o in reversed(spans) if start <= us)
        return (us + off) // DAY_US


def day_of(ws: Workspace, rows: EventRows, *, span: bool = False) -> LocalDays:
    """The local days of ``rows`` in the workspace's reporting zone (see :class:`LocalDays`).

    Outside UTC (or with ``span``) this asks the engine once for the first and last instant of
    ``rows`` (Parquet statistics or a BIGINT min/max), which build and check the zone's offset
    ranges and are kept as ``lo`` / ``hi``.
    """
    tz = ws.config.timezone
    if tz == "UTC" and not span:
        return LocalDays(tz, None)
    lo, hi = ws.duckdb.execute(
        f"SELECT min({rows.us}), max({rows.us}) FROM ({rows.sql}) AS fs_r "  # noqa: S608
        f"WHERE {rows.where}").fetchone()
    if lo is None:
        return LocalDays(tz, None)
    ranges = None
    if tz != "UTC":
        ranges = utc_offsets(tz, int(lo), int(hi))
        if ranges is not None and not check_offsets(ws.duckdb, tz, ranges):
            ranges = None
    return LocalDays(tz, ranges, int(lo), int(hi))


def period_sql(day: str, period: str) -> str:
    """SQL of the period number (see ``periods.py``) of the epoch-day SQL ``day``."""
    if period == "day":
        return day
    if period == "week":  # floor((day + 3) / 7), weeks from Monday
        return (f"(CASE WHEN {day} + 3 >= 0 THEN ({day} + 3) // 7 "
                f"ELSE ({day} + 4) // 7 - 1 END)")
    date = f"(DATE '1970-01-01' + CAST({day} AS INTEGER))"
    return f"(year({date}) * 12 + month({date}) - 1)"
