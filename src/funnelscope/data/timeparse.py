"""SQL expressions that turn raw input values into canonical UTC instants.

Accepted (see docs/data-model.md): ISO-8601 with or without offset (``Z``, ``+08:00``),
``YYYY-MM-DD HH:MM:SS[.ffffff]``, dates, and epoch seconds / milliseconds / microseconds.
Epoch values are UTC by definition; naive wall-clock times are read in the given IANA time zone.
Every function returns DuckDB SQL text built only from quoted identifiers and escaped literals.
"""

from __future__ import annotations

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
