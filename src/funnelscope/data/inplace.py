"""Analyse files in place: register a CSV/Parquet/JSON-lines file as a canonical view.

Nothing is copied: the view maps the file's columns onto the canonical names and types with
the same expressions ``load`` uses; canonical columns the file lacks are NULL. Rows whose
required columns are empty or unreadable are left out of the view; load the file to quarantine
and inspect them instead. Other columns keep DuckDB's own type detection (no inference scan),
a clash with a canonical name gets the ``properties.`` / ``attributes.`` prefix, and a JSON
``properties`` column stays one text column.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from funnelscope.data import schema as sc
from funnelscope.data import timeparse
from funnelscope.data.ingest import (
    INTERNAL_COLUMNS,
    _canonical_exprs,
    _read_error,
    _storage_type,
    _unique_name,
    detect_format,
    resolve_columns,
)
from funnelscope.engine.workspace import InPlaceView
from funnelscope.errors import BackendNotSupported, InputError
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

_READERS = {
    "csv": "read_csv({path}, header = true, auto_detect = true)",
    "tsv": "read_csv({path}, header = true, delim = '\t')",
    "parquet": "read_parquet({path})",
    "jsonl": "read_json({path}, format = 'newline_delimited')",
}


def register_file(
    ws: Workspace, table: str, file: str | Path, columns: Mapping[str, str], fmt: str | None = None,
    epoch_unit: str | None = None,
) -> None:
    """Create view ``table`` over ``file`` with canonical columns (DuckDB workspaces).

    ``epoch_unit``: s, ms, us or ns for integer/numeric times (default: each value's
    magnitude decides, as in ``load``).
    """
    epoch_unit = timeparse.check_epoch_unit(epoch_unit)
    if ws.engine == "pyspark":  # paths and catalog tables, as a Spark temp view
        from funnelscope.data.inplace_spark import register_spark

        return register_spark(ws, table, file, columns, fmt, epoch_unit)
    if ws.engine != "duckdb":
        raise BackendNotSupported("files can be analysed in place on DuckDB and Spark "
                                  "workspaces only.")
    spec = sc.get_schema(table)
    path = Path(file).expanduser()
    if not path.exists():
        raise InputError(f"file not found: {path}", hint="Check the path.", source=str(path))
    fmt_name = detect_format(path, fmt)
    reader = _READERS[fmt_name].format(path=literal(str(path)))
    con = ws.duckdb
    try:
        types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}  # noqa: S608
    except duckdb.Error as exc:
        raise InputError(
            f"cannot read {path.name}: {_read_error(exc)}",
            hint="Check the file's format and encoding (UTF-8).", source=str(path),
        ) from None
    resolved = resolve_columns(spec, types, dict(columns), str(path))
    resolved.pop("properties", None)
    exprs, _, _, _ = _canonical_exprs(spec, resolved, types, ws.config.timezone, epoch_unit)
    for col in spec.columns:
        # integer ids stay integers in place: no string conversion per row, and the funnel
        # kernel uses them as entity codes directly
        if col.kind == sc.TEXT and col.name in resolved and _is_integer(types[resolved[col.name]]):
            exprs[col.name] = ident(resolved[col.name])
    used = set(resolved.values())
    select = [
        f"{exprs[c.name]} AS {ident(c.name)}" if c.name in exprs
        else f"CAST(NULL AS {_storage_type(c.kind)}) AS {ident(c.name)}"
        for c in spec.columns
    ]
    taken = {n.lower() for n in (*spec.names, *INTERNAL_COLUMNS, TS_US, TS_RAW)}
    extras = {c: _unique_name(c, taken, spec.extra_columns + ".") for c in types if c not in used}
    select += [f"{ident(c)} AS {ident(name)}" for c, name in extras.items()]
    shown = ", ".join(ident(n) for n in (*spec.names, *extras.values()))
    ts_us, window = _ts_us_sql(con, reader, fmt_name == "parquet", resolved.get("ts"), types,
                               ws.config.timezone, epoch_unit)
    if ts_us is not None:
        # the BIGINT twin of `ts` for the funnel feed and the row filter; not a view column
        select.append(f"{ts_us} AS {ident(TS_US)}")
    if window is not None:  # the file's own time value, for the data bounds' edge rows
        select.append(f"{ident(resolved['ts'])} AS {ident(TS_RAW)}")
    required = " AND ".join(
        f"{ident(TS_US if c == 'ts' and ts_us is not None else c)} IS NOT NULL"
        for c in spec.required) or "TRUE"
    unfiltered = f"SELECT {', '.join(select)} FROM {reader}"  # noqa: S608
    con.execute(
        f"CREATE OR REPLACE VIEW {ident(table)} AS SELECT {shown} "  # noqa: S608
        f"FROM ({unfiltered}) WHERE {required}"
    )
    ts_source = types.get(resolved.get("ts", ""), "").upper()
    # `ts` is the file's own column only for a TIMESTAMPTZ source; Parquet keeps its min/max
    statistics = fmt_name == "parquet" and ts_source in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")
    ws.in_place[table] = InPlaceView(unfiltered, statistics,
                                     TS_US if ts_us is not None else None, window)


TS_US = "__fs_ts_us"
TS_RAW = "__fs_ts_raw"
_WINDOW_INT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
                    "UINTEGER")
_EPOCH_BANDS = (10**11, 10**14, 10**17)


def _ts_us_sql(con: duckdb.DuckDBPyConnection, reader: str, parquet: bool, column: str | None,
               types: dict[str, str], tz: str, epoch_unit: str | None
               ) -> tuple[str | None, tuple[str, str, int, int] | None]:
    """SQL of the file's time column as BIGINT epoch µs, equal to ``epoch_us(ts)`` of the view,
    and the view's ``ts_window`` (see :class:`InPlaceView`; Parquet only).

    None when ``ts`` is the file's own TIMESTAMPTZ column (``epoch_us(ts)`` is already cheap and
    ``ts`` predicates reach the reader's filter pushdown) or the table has no ``ts``. Naive
    times read in ``tz`` use the zone's offset ranges over the column's min/max (Parquet
    answers it from its statistics; other formats: the first 100,000 rows' min/max widened by
    two years, rather than a second pass over the file), checked against DuckDB's own time
    zone data; values outside the ranges go through ICU one by one (exact, only slower). See
    :func:`timeparse.time_us_sql`.
    """
    if column is None:
        return None, None
    source_type = types[column].upper()
    if source_type in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return None, None
    col = ident(column)
    table = window = None
    if timeparse.is_naive_type(source_type):
        rows, margin = reader, 0
        if not parquet:  # no statistics: the first rows, and two years either side
            rows, margin = f"(SELECT {col} FROM {reader} LIMIT {_SAMPLE_ROWS})", _MARGIN_US  # noqa: S608
        lo, hi = con.execute(
            f"SELECT epoch_us(CAST(min({col}) AS TIMESTAMP)), "  # noqa: S608
            f"epoch_us(CAST(max({col}) AS TIMESTAMP)) FROM {rows}").fetchone()
        if lo is not None:
            table = timeparse.offset_ranges(tz, lo - margin, hi + 1 + margin)
            if table is not None and not timeparse.check_ranges(con, tz, table):
                table = None
        if parquet and table is not None and source_type == "TIMESTAMP" \
                and _extremes_convert_to_extremes(table, lo, hi):
            window = (f"{ident(TS_RAW)} = make_timestamp({lo})",
                      f"{ident(TS_RAW)} = make_timestamp({hi})", 2**62, -(2**62))
    elif parquet and source_type in _WINDOW_INT_TYPES:
        lo, hi = con.execute(f"SELECT min({col}), max({col}) FROM {reader}").fetchone()  # noqa: S608
        if lo is not None and (epoch_unit is not None or _band(lo) == _band(hi)):
            # one unit for every value: the conversion is increasing, so an analysed row
            # holding the column's min (max) is the first (last)
            window = (f"{ident(TS_RAW)} = {int(lo)}", f"{ident(TS_RAW)} = {int(hi)}",
                      2**62, -(2**62))
    return timeparse.time_us_sql(col, source_type, tz, epoch_unit, table), window


def _extremes_convert_to_extremes(table: timeparse.OffsetTable, lo: int, hi: int) -> bool:
    """True when the earliest local time ``lo`` reads as the earliest instant of all the
    column's values, and ``hi`` as the latest.

    A value n reads as n - offset, the offset within [least, most]. Beyond lo + (most - least)
    every value reads later than lo does; below it, when no switch of offset lies in
    (lo, lo + most - least], the offset is lo's and the reading increases with n. Likewise at
    hi. The table must cover [lo, hi] (no ICU fallback there).
    """
    ranges, end = table
    if not (ranges[0][0] <= lo and hi < end):
        return False
    offsets = [off for _, off in ranges]
    spread = max(offsets) - min(offsets)
    switches = [start for start, _ in ranges[1:]]
    return not any(lo < s <= lo + spread or hi - spread < s <= hi for s in switches)


def _band(x: int) -> tuple[int, int]:
    """Which unit magnitude detection gives x, and on which side of 0 (s covers both)."""
    band = next((i for i, b in enumerate(_EPOCH_BANDS) if abs(x) < b), len(_EPOCH_BANDS))
    return band, 0 if band == 0 else (1 if x > 0 else -1)


_SAMPLE_ROWS = 100_000
_MARGIN_US = 2 * 366 * 86_400_000_000


def _is_integer(source_type: str) -> bool:
    return source_type.upper() in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                                   "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
