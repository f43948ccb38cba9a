"""What a traffic request asks for: :class:`TrafficSpec`, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass

from funnelscope.analyses.event_names import name_tuple
from funnelscope.errors import SpecError

PERIODS = ("day", "week", "month")
DEFAULT_GAP = "30m"
#: the page-view and conversion events used when none are named (each only when present)
DEFAULT_PAGE_EVENT = "view"
DEFAULT_CONVERSION_EVENT = "pay"
#: the longest session gap accepted (a day: longer "sessions" are not visits)
MAX_GAP_US = 86_400_000_000


def _text(value: object, option: str, example: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{option}: expected text, got {value!r}.", hint=f"e.g. {example}")
    return value.strip()


@dataclass(frozen=True)
class TrafficSpec:
    """A validated traffic request.

    by: the column whose values are the groups: an events column (the session's first event's
    value) or a customers column (the user's value); ``events.x`` / ``customers.x`` say which;
    None: the overall summary only. period: day | week | month trend by the session's start
    (reporting time zone). start / end: only events at or after ``start`` and before ``end``
    (ISO dates or times; dates and naive times in the reporting time zone). page_events: the
    events that are page views (empty: ``view`` when the data has it). conversion_events:
    the events that are conversions (empty: ``pay`` when present). session_gap: inactivity
    (duration text) that ends a session; a gap exactly this long does not.
    """

    by: str | None = None
    period: str | None = None
    start: str | None = None
    end: str | None = None
    page_events: tuple[str, ...] = ()
    conversion_events: tuple[str, ...] = ()
    session_gap: str = DEFAULT_GAP

    def __post_init__(self) -> None:
        from funnelscope.durations import describe, to_microseconds

        object.__setattr__(self, "by", _text(self.by, "by", "--by channel"))
        if self.period is not None and self.period not in PERIODS:
            raise SpecError(f"period must be one of {', '.join(PERIODS)}, got {self.period!r}.")
        object.__setattr__(self, "start", _text(self.start, "start", "--start 2026-01-01"))
        object.__setattr__(self, "end", _text(self.end, "end", "--end 2026-02-01"))
        object.__setattr__(self, "page_events", name_tuple(self.page_events, "page_event"))
        object.__setattr__(self, "conversion_events",
                           name_tuple(self.conversion_events, "conversion_event"))
        us = to_microseconds(self.session_gap, "session_gap")
        if us <= 0 or us > MAX_GAP_US:
            raise SpecError(f"session_gap must be longer than 0 and at most 1 day, got "
                            f"{self.session_gap!r}.", hint="e.g. --session-gap 30m")
        if not isinstance(self.session_gap, str):
            object.__setattr__(self, "session_gap", describe(us))

    @property
    def session_gap_us(self) -> int:
        from funnelscope.durations import to_microseconds

        return to_microseconds(self.session_gap, "session_gap")

    def bounds_us(self, timezone: str) -> tuple[int | None, int | None]:
        """(start, end) as µs since the epoch (None: open); SpecError when start >= end."""
        from funnelscope.analyses.funnel.spec import instant_us

        lo = instant_us(self.start, timezone, "start") if self.start else None
        hi = instant_us(self.end, timezone, "end") if self.end else None
        if lo is not None and hi is not None and lo >= hi:
            raise SpecError(f"start ({self.start}) must be before end ({self.end}).",
                            hint="end is exclusive: --start 2026-01-01 --end 2026-02-01 is January.")
        return lo, hi

    def to_sql(self, dialect: str = "duckdb") -> str:
        """The SQL of the per-session table (DuckDB) over the ``events`` table, no data needed."""
        from funnelscope.analyses.traffic import sql

        if dialect != "duckdb":
            raise SpecError(f"traffic is written for DuckDB, not {dialect!r}.")
        pages = self.page_events or (DEFAULT_PAGE_EVENT,)
        conversions = self.conversion_events or (DEFAULT_CONVERSION_EVENT,)
        return sql.sessions_sql('SELECT * FROM "events"', "CAST(NULL AS VARCHAR)", "",
                                None, None, True, self.session_gap_us, pages, conversions)

    def to_dict(self) -> dict:
        return {"by": self.by, "period": self.period, "start": self.start, "end": self.end,
                "page_events": list(self.page_events),
                "conversion_events": list(self.conversion_events),
                "session_gap": self.session_gap}
