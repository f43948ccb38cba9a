"""SQL expressions that turn raw input values into canonical UTC instants.

Accepted (see docs/data-model.md): ISO-8601 with or without offset (``Z``, ``+08:00``),
``YYYY-MM-DD HH:MM:SS[.ffffff]``, dates, and epoch seconds / milliseconds / microseconds.
Epoch values are UTC by definition; naive wall-clock times are read in the given IANA time zone.
Every function returns DuckDB SQL text built only from quoted identifiers and escaped literals.
"""

from __future__ import annotations

from datetime import tzinfo

from funnelscope.errors import ConfigError
from funnelscope.sqlsafe import literal

EPOCH_FACTORS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE")
_INTEGERS = _NUMERIC[:-2]


def check_epoch_unit(unit: str | None) -> str | None:
    """Return a valid epoch unit (s, ms, us, ns) or None (detect from magnitude)."""
    if unit is None or unit in EPOCH_FACTORS:
        return unit
    raise ConfigError(f"unknown epoch unit {unit!r}.", hint="Use s, ms, us or ns.")


def epoch_sql(number_sql: str, unit: str | None, integral: bool = False) -> str:
    """Epoch number -> TIMESTAMPTZ; NULL beyond ±2.5e17 µs (about years -5950 to 9890).

    Without ``unit`` each value's magnitude decides it: |x| < 1e11 is seconds (until year
    5138), < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds. ``integral``: the value
    is a whole number, converted exactly in integer arithmetic (nanoseconds are truncated to
    microseconds); otherwise through DOUBLE, rounded to the nearest microsecond.
    """
    if integral:
        x = f"CAST({number_sql} AS HUGEINT)"
        scale = {"s": f"{x} * 1000000", "ms": f"{x} * 1000", "us": x, "ns": f"{x} // 1000"}
    else:
        x = f"CAST({number_sql} AS DOUBLE)"
        scale = {u: f"{x} * {f}" for u, f in EPOCH_FACTORS.items()}
    if unit is not None:
        micros = f"({scale[unit]})"
    else:
        # integer literals for whole numbers: 1e17 - 1 as a DOUBLE would round up to 1e17
        s_max, ms_max, us_max = (
            ("100000000000", "100000000000000", "100000000000000000") if integral
            else ("1e11", "1e14", "1e17")
        )
        micros = (
            f"(CASE WHEN abs({x}) < {s_max} THEN {scale['s']} "
            f"WHEN abs({x}) < {ms_max} THEN {scale['ms']} "
            f"WHEN abs({x}) < {us_max} THEN {scale['us']} ELSE {scale['ns']} END)"
        )
    as_int = micros if integral else f"round({micros})"
    return (
        f"(CASE WHEN abs({micros}) < 2.5e17 "
        f"THEN timezone('UTC', make_timestamp(CAST({as_int} AS BIGINT))) END)"
    )


def text_timestamp_sql(text_sql: str, tz: str, unit: str | None) -> str:
    """Text -> TIMESTAMPTZ (NULL when it cannot be parsed or is empty).

    Digits only (optional sign): epoch, exact. Digits with a fraction: epoch via DOUBLE. Text
    ending in ``Z`` or a ``±HH[:MM]`` offset after a time: that instant. Other text is a
    wall-clock time read in ``tz`` (DuckDB/ICU resolve DST gaps and overlaps; see
    docs/data-model.md).
    """
    v = f"NULLIF(TRIM(CAST({text_sql} AS VARCHAR)), '')"
    return (
        f"(CASE WHEN {v} IS NULL THEN NULL "
        f"WHEN regexp_full_match({v}, '-?[0-9]{{1,30}}') THEN {epoch_sql(v, unit, integral=True)} "
        f"WHEN regexp_full_match({v}, '-?[0-9]+\\.[0-9]+') THEN {epoch_sql(v, unit)} "
        f"WHEN regexp_matches({v}, '[T ][0-9].*([Zz]|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$') "
        f"THEN TRY_CAST(regexp_replace({v}, 'z$', 'Z') AS TIMESTAMPTZ) "
        f"ELSE timezone({literal(tz)}, TRY_CAST({v} AS TIMESTAMP)) END)"
    )


def timestamp_sql(column_sql: str, source_type: str, tz: str, unit: str | None) -> str:
    """Any supported source column type -> TIMESTAMPTZ SQL expression."""
    t = source_type.upper()
    if t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return column_sql
    if t.startswith("TIMESTAMP") or t == "DATE":
        return f"timezone({literal(tz)}, CAST({column_sql} AS TIMESTAMP))"
    if t in _INTEGERS:
        return epoch_sql(column_sql, unit, integral=True)
    if t in _NUMERIC or t.startswith("DECIMAL"):
        return epoch_sql(column_sql, unit)
    return text_timestamp_sql(column_sql, tz, unit)


def is_numeric_type(source_type: str) -> bool:
    t = source_type.upper()
    return t in _NUMERIC or t.startswith("DECIMAL")


def timestamp_key_sql(column_sql: str, source_type: str, unit: str | None) -> str:
    """The dedupe form of a time value: epoch µs as text, with naive times read as UTC.

    Independent of the load's time zone, so loading the same file with another ``--tz`` finds
    the same keys. Values with an offset, epoch numbers and TIMESTAMPTZ columns key on their
    instant; for a load in UTC this equals the stored instant's epoch µs.
    """
    return f"CAST(epoch_us({timestamp_sql(column_sql, source_type, 'UTC', unit)}) AS VARCHAR)"


# ----- fast epoch-microsecond expressions (files analysed in place) ------------------------
#
# The expressions above build TIMESTAMPTZ values (what ``load`` stores). A file analysed in
# place only needs each event's instant as epoch microseconds (BIGINT), and building a
# TIMESTAMPTZ per row through make_timestamp + ICU's timezone() costs 4-20x the funnel
# itself. The functions below give the same instants, as epoch µs, in integer arithmetic:
# ``epoch_us(timestamp_sql(...))`` and ``time_us_sql(...)`` are equal for every value.

# Largest |µs| inside the accepted range: epoch_sql keeps abs(µs) < 2.5e17 compared as DOUBLE,
# and 2.5e17 - 16 already rounds to 2.5e17 (ties to even).
_MAX_US = 250_000_000_000_000_000 - 17
_BIGINT_SAFE = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_DAY_US = 86_400_000_000


def epoch_us_sql(number_sql: str, source_type: str, unit: str | None) -> str:
    """Epoch number column -> BIGINT epoch µs, NULL out of range: ``epoch_sql`` without the
    TIMESTAMPTZ.

    Same units, magnitude detection and range as :func:`epoch_sql` (so the same instants and
    the same NULLs); integer columns that fit a BIGINT are converted with BIGINT comparisons
    and one multiplication or division per row.
    """
    t = source_type.upper()
    if t not in _BIGINT_SAFE:
        # HUGEINT, UBIGINT, FLOAT, DOUBLE, DECIMAL: epoch_sql's own arithmetic, minus the
        # TIMESTAMPTZ round trip (make_timestamp is exact on its accepted range)
        integral = t in _INTEGERS
        if integral:
            x = f"CAST({number_sql} AS HUGEINT)"
            scale = {"s": f"{x} * 1000000", "ms": f"{x} * 1000", "us": x, "ns": f"{x} // 1000"}
            bounds = ("100000000000", "100000000000000", "100000000000000000")
        else:
            x = f"CAST({number_sql} AS DOUBLE)"
            scale = {u: f"{x} * {f}" for u, f in EPOCH_FACTORS.items()}
            bounds = ("1e11", "1e14", "1e17")
        micros = f"({scale[unit]})" if unit is not None else (
            f"(CASE WHEN abs({x}) < {bounds[0]} THEN {scale['s']} "
            f"WHEN abs({x}) < {bounds[1]} THEN {scale['ms']} "
            f"WHEN abs({x}) < {bounds[2]} THEN {scale['us']} ELSE {scale['ns']} END)")
        as_int = micros if integral else f"round({micros})"
        return f"(CASE WHEN abs({micros}) < 2.5e17 THEN CAST({as_int} AS BIGINT) END)"
    x = f"CAST({number_sql} AS BIGINT)"

    def within(limit: int) -> str:  # |x| < limit, without abs() (which overflows on -2^63)
        return f"{x} > {-limit} AND {x} < {limit}"

    if unit == "s":  # |x| * 10^6 is exact as a DOUBLE, so epoch_sql's test is |x| < 2.5e11
        return f"(CASE WHEN {within(250_000_000_000)} THEN {x} * 1000000 END)"
    if unit == "ms":  # no multiple of 1000 lies within 16 of 2.5e17: |x| < 2.5e14
        return f"(CASE WHEN {within(250_000_000_000_000)} THEN {x} * 1000 END)"
    if unit == "us":
        return f"(CASE WHEN {within(_MAX_US + 1)} THEN {x} END)"
    if unit == "ns":  # every BIGINT / 1000 is in range
        return f"({x} // 1000)"
    # detected: every branch is in range (|x| < 1e11 s, < 1e14 ms, < 1e17 µs, else ns)
    return (f"(CASE WHEN {within(100_000_000_000)} THEN {x} * 1000000 "
            f"WHEN {within(100_000_000_000_000)} THEN {x} * 1000 "
            f"WHEN {within(100_000_000_000_000_000)} THEN {x} ELSE {x} // 1000 END)")


OffsetTable = tuple[list[tuple[int, int]], int]
_FIRST_LOCAL_US = -2_208_988_800_000_000  # 1900-01-01: before it (LMT) values go through ICU
_LAST_LOCAL_US = 7_258_118_400_000_000    # 2200-01-01


def offset_changes(zone: tzinfo, lo_s: int, hi_s: int) -> tuple[int, list[tuple[int, int]]]:
    """The UTC offset (seconds) of the ``zoneinfo`` zone at instant ``lo_s`` (epoch seconds)
    and its changes up to ``hi_s``: ``[(first second with the new offset, new offset), ...]``.
    Found by stepping 6 hours and bisecting to the second (no zone changes twice in 6 hours).
    """
    from datetime import UTC, datetime

    def offset(second: int) -> int:
        return int(datetime.fromtimestamp(second, UTC).astimezone(zone).utcoffset()
                   .total_seconds())

    first = before = offset(lo_s)
    changes: list[tuple[int, int]] = []
    t, step = lo_s, 6 * 3600
    while t < hi_s:
        nxt = min(t + step, hi_s)
        if offset(nxt) == before:
            t = nxt
            continue
        a, b = t, nxt  # offset(a) == before != offset(b): bisect to the second
        while b - a > 1:
            mid = (a + b) // 2
            a, b = (mid, b) if offset(mid) == before else (a, mid)
        before = offset(b)
        changes.append((b, before))
        t = b
    return first, changes


def offset_ranges(tz: str, lo_us: int, hi_us: int) -> OffsetTable | None:
    """UTC offsets of ``tz`` for naive local times in [lo_us, hi_us), as DuckDB/ICU applies them.

    Returns ``(ranges, end)``: ``ranges`` is ``[(from_local_us, offset_us), ...]`` sorted by
    ``from_local_us``, covering local times [ranges[0][0], end) (``lo_us``/``hi_us`` clipped to
    the years 1900-2200); a naive local time n in it reads as the instant ``n - offset_us`` of
    the last range starting at or before n. From ``zoneinfo``'s transitions: a transition at
    instant T from offset b to offset a switches at local time T + a. That is ICU's rule (and
    so ``timezone(tz, naive)``'s): a local time skipped by a DST gap reads with the offset
    before the gap (02:30 in New York on a spring-forward day is 07:30 UTC, i.e. 03:30 EDT),
    and a local time repeated in an overlap reads with the offset after it (the later of the
    two instants). None when the zone is unknown to zoneinfo, the range is empty, or the
    transitions come too close together to make ordered ranges (the caller then converts
    through ICU per row).
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    lo_us, hi_us = max(lo_us, _FIRST_LOCAL_US), min(hi_us, _LAST_LOCAL_US)
    if lo_us >= hi_us:
        return None
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return None

    # UTC offsets stay within ±1 day: instants [lo - 2 d, hi + 2 d] hold every local time
    lo_s, hi_s = lo_us // 1_000_000 - 2 * 86_400, hi_us // 1_000_000 + 2 * 86_400
    first, changes = offset_changes(zone, lo_s, hi_s)
    ranges: list[tuple[int, int]] = [(lo_us, first * 1_000_000)]
    for b, new in changes:
        switch = (b + new) * 1_000_000
        if switch <= ranges[-1][0]:
            if len(ranges) > 1:
                return None  # transitions closer than their offsets' difference
            ranges[-1] = (lo_us, new * 1_000_000)  # the switch precedes the range
        elif switch < hi_us:
            ranges.append((switch, new * 1_000_000))
    return ranges, hi_us


def offset_tree(n_sql: str, ranges: list[tuple[int, int]]) -> str:
    """SQL of the offset (µs) over ``ranges`` (``[(from, offset_us), ...]`` sorted by ``from``)
    of the BIGINT ``n_sql``: a balanced CASE tree. ``from`` is a local time for the naive-time
    tables here and an instant for retention's local days."""
    if len(ranges) == 1:
        return str(ranges[0][1])
    mid = len(ranges) // 2
    return (f"(CASE WHEN {n_sql} < {ranges[mid][0]} THEN {offset_tree(n_sql, ranges[:mid])} "
            f"ELSE {offset_tree(n_sql, ranges[mid:])} END)")


def naive_us_sql(naive_sql: str, tz: str, table: OffsetTable | None) -> str:
    """Naive TIMESTAMP SQL read in ``tz`` -> BIGINT epoch µs, equal to
    ``epoch_us(timezone(tz, naive))``.

    Within ``table`` (from :func:`offset_ranges`) it is ``epoch_us(naive) - offset``, the offset
    a constant or a short CASE tree over the ranges; outside it (or with no table) each value
    goes through ICU as before, so the result is exact for any value.
    """
    icu = f"epoch_us(timezone({literal(tz)}, {naive_sql}))"
    if not table:
        return icu
    ranges, end = table
    n = f"epoch_us({naive_sql})"
    return (f"(CASE WHEN {n} >= {ranges[0][0]} AND {n} < {end} "
            f"THEN {n} - {offset_tree(n, ranges)} ELSE {icu} END)")


def is_naive_type(source_type: str) -> bool:
    """A naive wall-clock column: TIMESTAMP (any precision) or DATE, read in the time zone."""
    t = source_type.upper()
    return t not in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ") and (
        t.startswith("TIMESTAMP") or t == "DATE")


def time_us_sql(column_sql: str, source_type: str, tz: str, unit: str | None,
                table: OffsetTable | None = None) -> str:
    """Any supported source column -> BIGINT epoch µs: ``epoch_us(timestamp_sql(...))`` fast.

    Integer and numeric epochs in integer arithmetic (:func:`epoch_us_sql`); naive times
    through ``table``, the offset ranges of ``tz`` over the data's local times
    (:func:`naive_us_sql`; without one, ICU per row); TIMESTAMPTZ is ``epoch_us`` of the
    column; text keeps :func:`text_timestamp_sql`.
    """
    t = source_type.upper()
    if is_naive_type(t):
        return naive_us_sql(f"CAST({column_sql} AS TIMESTAMP)", tz, table)
    if t in _NUMERIC or t.startswith("DECIMAL"):
        return epoch_us_sql(column_sql, t, unit)
    return f"epoch_us({timestamp_sql(column_sql, source_type, tz, unit)})"


def check_ranges(con, tz: str, table: OffsetTable) -> bool:
    """True when ICU (DuckDB's ``timezone()``) gives the same instants as ``table`` at every
    range edge (the µs before and at it), inside every gap or overlap, and at noon of every
    local day covered (up to 20,000 days): a guard against a zoneinfo whose tz database
    differs from DuckDB's. One query over a VALUES list."""
    from bisect import bisect_right

    ranges, end = table
    starts = [r[0] for r in ranges]
    bounds = [*starts, end]
    points: dict[int, int] = {}
    for i, (start, off) in enumerate(ranges):
        points[start] = off
        points[bounds[i + 1] - 1] = off
        if i:  # local times just before the switch, and inside the gap or overlap
            prev = ranges[i - 1][1]
            points[start - 1] = prev
            mid = start - abs(off - prev) // 2
            if mid > bounds[i - 1]:
                points.setdefault(mid, prev)
    first = starts[0] - starts[0] % _DAY_US + _DAY_US // 2
    for day in range(first, min(end, first + 20_000 * _DAY_US), _DAY_US):
        if day >= starts[0]:
            points.setdefault(day, ranges[bisect_right(starts, day) - 1][1])
    rows = ", ".join(f"({n}, {n - off})" for n, off in points.items())
    bad = con.execute(
        f"SELECT count(*) FROM (VALUES {rows}) AS v(n, want) "  # noqa: S608
        f"WHERE epoch_us(timezone({literal(tz)}, make_timestamp(n))) IS DISTINCT FROM want"
    ).fetchone()[0]
    return bad == 0
