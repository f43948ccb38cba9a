"""Load files and data frames into the canonical tables: validate, quarantine, dedupe, atomically.

One load = one DuckDB transaction:

1. the source streams into a staging table (CSV/TSV are read as text so every value can be
   checked and kept exactly; Parquet, JSON lines and Arrow keep their types); a row's number is
   its position in the input, row 1 being the first data row after the header;
2. one pass over the staging table computes, per row, every column's typed value, the first
   check the row fails (if any) and its dedupe key (the table's id columns when the input has
   them, else the row's full content);
3. a row failing a check goes to ``_rejected`` with the file, row number, column, raw value,
   reason and the whole raw row as JSON (nothing is lost);
4. rows whose key is already in the table, or earlier in the same input, are duplicates;
5. the new rows are inserted, the load is logged in ``_loads``, and the transaction commits.

A failure or a killed process leaves the workspace exactly as before. ``read = loaded +
duplicates + rejected`` always holds. No user-supplied name or value reaches SQL unquoted:
identifiers go through :func:`funnelscope.sqlsafe.ident`, values through bound parameters or
:func:`funnelscope.sqlsafe.literal`. The exact rules are documented in docs/data-model.md.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelscope.data import schema as sc
from funnelscope.data.timeparse import check_epoch_unit, is_numeric_type, timestamp_sql
from funnelscope.errors import ConfigError, InputError, MissingColumnsError, ValidationError
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    import duckdb

STAGE = "__fs_stage"  # the input as read (temporary)
TYPED = "__fs_typed"  # typed values, first failed check and key per input row (temporary)
BAD = "__fs_bad"  # the rejected rows of this load (temporary)
ROW = "__fs_row"
FAIL = "__fs_fail"
INTERNAL_COLUMNS = ("_key", "_load")  # kept in every canonical table, hidden by ws.table()
REJECTED = "_rejected"
LOADS = "_loads"
MAX_REPORTED_REJECTIONS = 100
FILE_FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
    ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}
_READERS = {  # each takes the path as its one bound parameter
    "csv": "read_csv(?, all_varchar = true, header = true, skip = 0, auto_detect = true)",
    "tsv": "read_csv(?, all_varchar = true, header = true, skip = 0, delim = '\t', quote = '\"')",
    "parquet": "read_parquet(?)",
    "jsonl": "read_json(?, format = 'newline_delimited')",
}
_DELIMITERS = ",;\t|"


@dataclass
class Rejection:
    """One rejected input row: where it was, which column failed, its raw value and why."""

    row: int
    column: str | None
    value: str | None
    reason: str


@dataclass
class LoadReport:
    """What a load did. ``read == loaded + duplicates + rejected`` always.

    ``rejections`` holds the first 100 rejected rows (all are in ``_rejected``);
    ``new_rejections`` counts those not already recorded by an earlier load of the same input.
    """

    table: str
    source: str
    read: int
    loaded: int
    duplicates: int
    rejected: int
    rejections: list[Rejection] = field(default_factory=list)
    new_rejections: int = 0
    load_id: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape of ``funnelscope load --format json``."""
        return {
            "table": self.table,
            "source": self.source,
            "read": self.read,
            "loaded": self.loaded,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejections": [
                {"row": r.row, "column": r.column, "value": r.value, "reason": r.reason}
                for r in self.rejections
            ],
        }


@dataclass(frozen=True)
class _Check:
    """One validation rule of a load.

    ``test``: ``empty`` (required value missing), ``invalid`` (a value that does not convert),
    ``stage`` (not one of the workspace's stages) or ``json`` (properties not a JSON object).
    """

    column: str  # canonical name, for the report
    source: str  # source column name, for the raw value
    test: str
    reason: str


@dataclass(frozen=True)
class _Value:
    """One stored column of a load: its name, typed SQL over the staging table, storage type.

    ``key_text``: SQL text form used in the full-content dedupe key when it differs from the
    typed value (property columns typed by inference are keyed on their text, so a value keys
    the same whichever type its column was given).
    """

    name: str
    expr: str
    storage: str
    key_text: str | None = None


@dataclass(frozen=True)
class _Staged:
    display: str  # file path as given, or <DataFrame>
    types: dict[str, str]  # input column -> DuckDB type
    row_sql: str  # SQL giving the input row number of staging alias ``s``


def detect_format(path: Path, fmt: str | None) -> str:
    """``csv`` | ``tsv`` | ``parquet`` | ``jsonl`` from ``fmt`` or the file name's suffix."""
    if fmt:
        if fmt not in {"csv", "tsv", "parquet", "jsonl"}:
            raise ConfigError(f"unknown format {fmt!r}.", hint="Use csv, tsv, parquet or jsonl.")
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    for s in reversed(suffixes):
        if s in FILE_FORMATS:
            return FILE_FORMATS[s]
        if s in (".gz", ".zst"):
            continue
    raise InputError(
        f"cannot tell the format of {path.name!r} from its name.",
        hint="Name it .csv, .tsv, .parquet or .jsonl, or pass --format.",
        source=str(path),
    )


# ----- staging -------------------------------------------------------------------------------
def _stage_source(con: duckdb.DuckDBPyConnection, source: Any, fmt: str | None) -> _Staged:
    """Create the staging table from a file path or a data frame."""
    import duckdb

    con.execute(f"DROP TABLE IF EXISTS {ident(STAGE)}")
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if not path.exists():
            raise InputError(f"file not found: {path}", hint="Check the path.", source=str(path))
        if path.is_dir():
            raise InputError(f"{path} is a folder, not a file.", hint="Pass one file.",
                             source=str(path))
        kind = detect_format(path, fmt)
        try:
            names = _input_columns(con, _READERS[kind], [str(path)])
            if kind in ("csv", "tsv"):
                _check_csv_split(path, names)
            row_sql = _create_stage(con, _READERS[kind], [str(path)], names)
        except duckdb.Error as exc:
            raise InputError(
                f"cannot read {path.name} as {kind}: {_read_error(exc)}",
                hint="Check the file's format and encoding (UTF-8).",
                source=str(path),
            ) from None
        return _Staged(str(path), _stage_types(con, row_sql), row_sql)
    arrow = _to_arrow(source)
    view = "__fs_input"
    con.register(view, arrow)
    try:
        names = _input_columns(con, ident(view), None)
        row_sql = _create_stage(con, ident(view), None, names)
    finally:
        con.unregister(view)
    return _Staged(f"<{type(source).__name__}>", _stage_types(con, row_sql), row_sql)


def _input_columns(con: duckdb.DuckDBPyConnection, from_sql: str, params: list | None) -> list[str]:
    cur = con.execute(f"SELECT * FROM {from_sql} LIMIT 0", params)  # noqa: S608 - constant reader
    return [d[0] for d in cur.description]


def _create_stage(
    con: duckdb.DuckDBPyConnection, from_sql: str, params: list | None, names: list[str]
) -> str:
    """Copy the input into STAGE in input order; return the SQL of a row's number (alias s).

    The row number is the table's ``rowid`` counted from its first row (a fresh table keeps
    insertion order, and uncommitted rows get ids from a high base); only when the input has a
    column called ``rowid`` (which hides it) is a number column added instead.
    """
    if not any(n.lower() == "rowid" for n in names):
        con.execute(f"CREATE TEMP TABLE {ident(STAGE)} AS SELECT * FROM {from_sql}", params)  # noqa: S608
        first = con.execute(f"SELECT min(rowid) FROM {ident(STAGE)}").fetchone()[0]  # noqa: S608
        return f"(s.rowid - {int(first or 0) - 1})"
    row_col = ROW
    while any(n.lower() == row_col.lower() for n in names):
        row_col += "_"
    con.execute(
        f"CREATE TEMP TABLE {ident(STAGE)} AS "  # noqa: S608 - constant reader
        f"SELECT row_number() OVER () AS {ident(row_col)}, * FROM {from_sql}",
        params,
    )
    return f"s.{ident(row_col)}"


def _stage_types(con: duckdb.DuckDBPyConnection, row_sql: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {ident(STAGE)}").fetchall()
    hidden = row_sql[2:] if row_sql.startswith("s.") else None
    return {r[0]: r[1] for r in rows if ident(r[0]) != hidden}


def _check_csv_split(path: Path, names: list[str]) -> None:
    """Refuse a CSV the reader could not split into columns (rows with differing field counts)."""
    if len(names) != 1 or not any(d in names[0] for d in _DELIMITERS):
        return
    delim = max(_DELIMITERS, key=names[0].count)
    problem = "its rows cannot be split into columns"
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
        rows = csv.reader(f, delimiter=delim)
        header = next(rows, [])
        for n, rec in enumerate(rows, start=1):
            if rec and len(rec) != len(header):
                problem = (
                    f"row {n} (line {rows.line_num}) has {len(rec)} fields but the header has "
                    f"{len(header)}"
                )
                break
    raise InputError(
        f"cannot read {path.name} as csv: {problem}.",
        hint="Every row needs as many fields as the header; quote fields that contain the "
        "delimiter.",
        source=str(path),
    )


def _read_error(exc: Exception) -> str:
    """DuckDB's reader error as one line: the line number and what was wrong when it says so."""
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    if line:
        counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
        original = re.search(r"Original Line: (.*)", text)
        what = (
            f"line {line.group(1)} has {counts.group(2)} fields but the header has "
            f"{counts.group(1)}" if counts else f"line {line.group(1)} is not valid CSV"
        )
        return what + (f": {original.group(1)[:200]!r}" if original else "")
    return _first_line(exc)


def _to_arrow(obj: Any) -> Any:
    """pandas / polars / pyarrow object -> something DuckDB can scan (Arrow)."""
    import pyarrow as pa

    if isinstance(obj, (pa.Table, pa.RecordBatchReader)):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    mod = type(obj).__module__.split(".")[0]
    try:
        if mod == "pandas":
            return pa.Table.from_pandas(obj, preserve_index=False)
        if mod == "polars":
            return obj.to_arrow()
        if hasattr(obj, "__arrow_c_stream__"):
            return pa.table(obj)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise InputError(
            f"cannot convert the {type(obj).__name__} to Arrow: {_first_line(exc)}",
            hint="Give each column one type (e.g. .astype(str) for mixed text/number columns).",
        ) from None
    raise InputError(
        f"cannot load an object of type {type(obj).__name__}.",
        hint="Pass a file path, a pandas or polars DataFrame, or a pyarrow Table.",
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ----- columns -------------------------------------------------------------------------------
def resolve_columns(
    table: sc.TableSchema,
    available: dict[str, str],
    mapping: Mapping[str, str],
    source: str,
    remembered: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """canonical name -> source column, for canonical columns the input has.

    ``mapping`` is canonical -> source (``user_id=uid``), given for this load: every entry must
    name an input column. ``remembered`` is the map saved by an earlier load of the table: an
    entry applies only when the input has its column and ``mapping`` does not set it.
    Unmapped canonical names are looked up as-is. Raise MissingColumnsError naming what is
    missing, what the input has, and ``--map``.
    """
    for canon, src in mapping.items():
        if table.column(canon) is None and canon != "properties":
            raise ConfigError(
                f"--map names {canon!r}, which is not a column of the {table.name} table.",
                hint=f"Its columns are: {', '.join(table.names)}.",
            )
        if src not in available:
            raise MissingColumnsError(
                f"{Path(source).name}: --map {canon}={src} names a column the input does not "
                f"have.",
                hint=f"Its columns are: {', '.join(available)}.",
                source=source,
                column=src,
            )
    mapping = dict(mapping)
    for canon, src in (remembered or {}).items():
        known = table.column(canon) is not None or canon == "properties"
        if known and canon not in mapping and src in available:
            mapping[canon] = src
    resolved = {}
    for col in table.columns:
        src = mapping.get(col.name, col.name)
        if src in available:
            resolved[col.name] = src
    if mapping.get("properties", "properties") in available:
        resolved["properties"] = mapping.get("properties", "properties")
    missing = [c for c in table.required if c not in resolved]
    if missing:
        example = ",".join(f"{c}=<your column>" for c in missing)
        raise MissingColumnsError(
            f"{Path(source).name}: the {table.name} table needs column(s) "
            f"{', '.join(missing)}, which the input does not have. It has: "
            f"{', '.join(available)}.",
            hint=f"Tell funnelscope which of your columns to use, e.g. --map {example}",
            source=source,
        )
    return resolved


def _text(src_sql: str) -> str:
    """The trimmed text of a value; NULL when empty."""
    return f"NULLIF(TRIM(CAST({src_sql} AS VARCHAR)), '')"


def _canonical_exprs(
    table: sc.TableSchema,
    resolved: dict[str, str],
    types: dict[str, str],
    tz: str,
    epoch_unit: str | None,
) -> tuple[dict[str, str], dict[str, str], list[_Check]]:
    """Typed SQL expression (over the input's columns) and storage type per canonical column,
    and the checks, in the order they are tried (schema column order; for each column, empty
    before invalid)."""
    exprs: dict[str, str] = {}
    storage: dict[str, str] = {}
    checks: list[_Check] = []
    reasons = {
        sc.TIMESTAMP: "not a time funnelscope can read (ISO-8601, 'YYYY-MM-DD HH:MM:SS' "
        "or epoch seconds/ms/µs)",
        sc.NUMBER: "not a number",
        sc.DATE: "not a date (YYYY-MM-DD)",
        sc.CLOSED_STATUS: "closed must be won, lost or open",
    }
    for col in table.columns:
        if col.name not in resolved:
            continue
        src = resolved[col.name]
        s = ident(src)
        raw_text = _text(s)
        if col.kind == sc.TEXT or col.kind == sc.STAGE:
            expr, typ = raw_text, "VARCHAR"
        elif col.kind == sc.TIMESTAMP:
            expr, typ = timestamp_sql(s, types[src], tz, epoch_unit), "TIMESTAMPTZ"
        elif col.kind == sc.NUMBER:
            typed = s if is_numeric_type(types[src]) else f"TRY_CAST({raw_text} AS DOUBLE)"
            expr = f"(CASE WHEN isfinite(CAST({typed} AS DOUBLE)) THEN CAST({typed} AS DOUBLE) END)"
            typ = "DOUBLE"
        elif col.kind == sc.DATE:
            expr = (
                s if types[src].upper() == "DATE"
                else f"TRY_CAST(TRY_CAST({raw_text} AS TIMESTAMP) AS DATE)"
            )
            typ = "DATE"
        elif col.kind == sc.CLOSED_STATUS:
            expr = (
                f"(CASE lower(coalesce({raw_text}, '')) WHEN 'won' THEN 'won' "
                f"WHEN 'lost' THEN 'lost' WHEN 'open' THEN 'open' WHEN '' THEN 'open' END)"
            )
            typ = "VARCHAR"
        else:  # pragma: no cover - schema kinds are closed
            raise AssertionError(col.kind)
        exprs[col.name], storage[col.name] = expr, typ
        what = f"{col.name} ({src})" if src != col.name else col.name
        if col.required:
            checks.append(_Check(col.name, src, "empty", f"{what} is empty"))
        if col.kind in reasons:
            checks.append(_Check(col.name, src, "invalid", f"{what}: {reasons[col.kind]}"))
        if col.kind == sc.STAGE:
            checks.append(_Check(col.name, src, "stage", "set them with --stages"))
    return exprs, storage, checks


_LEADING_ZERO = r"^[+-]?0[0-9]"
_INTEGER = r"^[+-]?[0-9]+$"
_DECIMAL = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def _infer_text_types(con: duckdb.DuckDBPyConnection, cols: dict[str, str]) -> dict[str, str]:
    """For text property columns (name -> SQL text): the narrowest type every value fits.

    Values are trimmed and empty ones ignored. BIGINT when every value is a whole number in
    range (digits with an optional sign), then DOUBLE (decimal or exponent notation), then
    BOOLEAN (true/false, any case), else VARCHAR. A value with a leading zero ("007", "-01")
    keeps the whole column as text so identifiers and codes round-trip exactly; a column with
    no values is VARCHAR.
    """
    if not cols:
        return {}
    parts = []
    for i, sql in enumerate(cols.values()):
        v = _text(sql)
        parts.append(
            f"count({v}) AS n{i}, "
            f"count(CASE WHEN regexp_full_match({v}, {literal(_INTEGER)}) "
            f"THEN TRY_CAST({v} AS BIGINT) END) AS i{i}, "
            f"count(CASE WHEN regexp_full_match({v}, {literal(_DECIMAL)}) THEN 1 END) AS d{i}, "
            f"count(CASE WHEN lower({v}) IN ('true', 'false') THEN 1 END) AS b{i}, "
            f"count(CASE WHEN regexp_matches({v}, {literal(_LEADING_ZERO)}) THEN 1 END) AS z{i}"
        )
    row = con.execute(f"SELECT {', '.join(parts)} FROM {ident(STAGE)} AS s").fetchone()  # noqa: S608
    out = {}
    for i, name in enumerate(cols):
        n, as_int, as_dbl, as_bool, zeros = row[5 * i: 5 * i + 5]
        if n == 0 or zeros:
            out[name] = "VARCHAR"
        elif as_int == n:
            out[name] = "BIGINT"
        elif as_dbl == n:
            out[name] = "DOUBLE"
        elif as_bool == n:
            out[name] = "BOOLEAN"
        else:
            out[name] = "VARCHAR"
    return out


def _json_text(col_sql: str, typ: str) -> str:
    """The JSON text of a properties column (text, or a nested value read from JSON lines)."""
    t = typ.upper()
    nested = t.startswith(("STRUCT", "MAP", "UNION")) or t.endswith("]")
    return f"CAST(to_json({col_sql}) AS VARCHAR)" if nested else f"CAST({col_sql} AS VARCHAR)"


def _json_object(text_sql: str) -> str:
    """``text_sql`` when it is a JSON object, else NULL (never raises on malformed JSON)."""
    t = f"NULLIF(TRIM({text_sql}), '')"
    return (
        f"(CASE WHEN json_valid({t}) THEN "
        f"(CASE WHEN json_type({t}) = 'OBJECT' THEN {t} END) END)"
    )


def _unique_name(name: str, taken: set[str], prefix: str) -> str:
    """``name``, or ``prefix + name`` (then ``_2``, ``_3``...) when taken, case-insensitively."""
    cand = name if name.lower() not in taken else prefix + name
    base, i = cand, 2
    while cand.lower() in taken:
        cand, i = f"{base}_{i}", i + 1
    taken.add(cand.lower())
    return cand


def _property_values(
    con: duckdb.DuckDBPyConnection,
    table: sc.TableSchema,
    resolved: dict[str, str],
    types: dict[str, str],
    checks: list[_Check],
) -> list[_Value]:
    """The extra input columns and the keys of a JSON ``properties`` column, typed.

    A name already used (case-insensitively) by a canonical column or an internal column, or by
    an earlier property, gets the prefix ``properties.`` (``attributes.`` for the tables that
    call them attributes), then a ``_2``... suffix.
    """
    prefix = f"{table.extra_columns}."
    taken = {n.lower() for n in (*table.names, *INTERNAL_COLUMNS)}
    used = set(resolved.values())
    text_cols: dict[str, str] = {}  # name -> SQL text, typed by inference
    typed: dict[str, _Value] = {}
    order: list[str] = []
    for src in types:
        if src in used:
            continue
        name = _unique_name(src, taken, prefix)
        order.append(name)
        typ = types[src].upper()
        if typ == "VARCHAR" or typ.startswith("ENUM"):
            text_cols[name] = f"CAST({ident(src)} AS VARCHAR)"
        else:
            typed[name] = _Value(name, ident(src), types[src], f"CAST({ident(src)} AS VARCHAR)")
    json_src = resolved.get("properties")
    if json_src is not None:
        obj = _json_object(_json_text(ident(json_src), types[json_src]))
        checks.append(_Check("properties", json_src, "json", "properties is not a JSON object"))
        keys = con.execute(
            f"SELECT DISTINCT unnest(json_keys({obj})) AS k FROM {ident(STAGE)} ORDER BY k"  # noqa: S608
        ).fetchall()
        for (key,) in keys:
            name = _unique_name(key, taken, prefix)
            order.append(name)
            text_cols[name] = (
                f"json_extract_string({obj}, {literal('$.' + _json_path(key))})"
            )
    inferred = _infer_text_types(con, text_cols)
    out = []
    for name in order:
        if name in typed:
            out.append(typed[name])
            continue
        sql, typ = text_cols[name], inferred[name]
        keep = f"NULLIF({sql}, '')"
        v = _text(sql)
        if typ == "VARCHAR":
            out.append(_Value(name, keep, "VARCHAR"))
        elif typ == "BOOLEAN":
            out.append(_Value(name, f"(lower({v}) = 'true')", typ, keep))
        else:
            out.append(_Value(name, f"CAST({v} AS {typ})", typ, keep))
    return out


def _json_path(key: str) -> str:
    """A JSONPath member for ``key`` (quoted, so any characters are allowed)."""
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ----- keys ----------------------------------------------------------------------------------
def _content_key(parts: list[tuple[str, str, str]]) -> str:
    """md5 (128-bit) of (name, value) pairs, skipping missing values.

    ``parts``: (column name, SQL value, storage type). A column that is absent and one whose
    value is empty key the same. Instants are keyed on their epoch microseconds.
    """
    items = []
    for name, sql, typ in parts:
        text = f"CAST(epoch_us({sql}) AS VARCHAR)" if typ == "TIMESTAMPTZ" else (
            f"CAST({sql} AS VARCHAR)"
        )
        items.append(f"(CASE WHEN {sql} IS NOT NULL THEN {literal(name)} || chr(30) || {text} END)")
    if not items:
        return "md5_number('')"
    return "md5_number(concat_ws(chr(31), " + ", ".join(items) + "))"


def _key_sql(table: sc.TableSchema, values: list[_Value], alias: dict[str, str],
             key_alias: dict[str, str]) -> str:
    """The dedupe key of a typed row (SQL over the typed pass's aliases).

    Single-column keys (event_id, order_id, user_id): the id when the row has one, else the
    full content. Multi-column keys (deals, spend): the key columns the input has.
    """
    full = _content_key([
        (v.name, key_alias.get(v.name, alias[v.name]),
         "VARCHAR" if v.name in key_alias else v.storage)
        for v in values
    ])
    by_name = {v.name: v for v in values}
    present = [k for k in table.key if k in by_name]
    if len(table.key) == 1:
        if not present:
            return full
        k = alias[present[0]]
        return (
            f"(CASE WHEN {k} IS NOT NULL THEN md5_number('id' || chr(31) || CAST({k} AS VARCHAR)) "
            f"ELSE {full} END)"
        )
    return _content_key([(k, alias[k], by_name[k].storage) for k in present])


# ----- target tables -------------------------------------------------------------------------
def _existing_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return {r[0]: r[1] for r in rows} or None


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_NUMBERS = _INTEGERS | {"FLOAT", "DOUBLE", "UBIGINT", "HUGEINT"}


def _unify(old: str, new: str) -> str:
    """The type a property column needs to hold values of types ``old`` and ``new``.

    Same type: unchanged. Two integer types: BIGINT. Two numeric types: DOUBLE. Else VARCHAR.
    """
    if old == new:
        return old
    if old in _INTEGERS and new in _INTEGERS:
        return "BIGINT"
    if old in _NUMBERS and new in _NUMBERS:
        return "DOUBLE"
    return "VARCHAR"


def _ensure_table(
    con: duckdb.DuckDBPyConnection, table: sc.TableSchema, storage: dict[str, str]
) -> dict[str, str]:
    """Create the target table or widen it to hold the new columns; return its final types."""
    existing = _existing_columns(con, table.name)
    if existing is None:
        cols = [(c.name, storage.get(c.name) or _storage_type(c.kind)) for c in table.columns]
        cols += [(n, t) for n, t in storage.items() if table.column(n) is None]
        cols += [("_key", "UHUGEINT"), ("_load", "BIGINT")]
        ddl = ", ".join(f"{ident(n)} {t}" for n, t in cols)
        con.execute(f"CREATE TABLE {ident(table.name)} ({ddl})")
        return dict(cols)
    lower = {n.lower(): n for n in existing}
    for name, typ in storage.items():
        have = lower.get(name.lower())
        if have is None:
            con.execute(f"ALTER TABLE {ident(table.name)} ADD COLUMN {ident(name)} {typ}")
            existing[name] = typ
            lower[name.lower()] = name
        elif table.column(name) is None and _unify(existing[have], typ) != existing[have]:
            wider = _unify(existing[have], typ)
            con.execute(
                f"ALTER TABLE {ident(table.name)} ALTER COLUMN {ident(have)} TYPE {wider}"
            )
            existing[have] = wider
    return {name: existing[lower[name.lower()]] for name in storage} | existing


def _storage_type(kind: str) -> str:
    return {sc.TIMESTAMP: "TIMESTAMPTZ", sc.NUMBER: "DOUBLE", sc.DATE: "DATE"}.get(kind, "VARCHAR")


def _ensure_meta_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {ident(REJECTED)} (load_id BIGINT, \"table\" VARCHAR, "
        "source VARCHAR, \"row\" BIGINT, \"column\" VARCHAR, value VARCHAR, reason VARCHAR, "
        "raw JSON, rejected_at TIMESTAMPTZ, _key UHUGEINT)"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {ident(LOADS)} (load_id BIGINT, \"table\" VARCHAR, "
        "source VARCHAR, loaded_at TIMESTAMPTZ, \"read\" BIGINT, loaded BIGINT, "
        "duplicates BIGINT, rejected BIGINT)"
    )


# ----- the load ------------------------------------------------------------------------------
def load_into_duckdb(
    con: duckdb.DuckDBPyConnection,
    source: Any,
    table: str,
    *,
    columns: Mapping[str, str] | None = None,
    remembered_columns: Mapping[str, str] | None = None,
    tz: str = "UTC",
    strict: bool = False,
    epoch_unit: str | None = None,
    fmt: str | None = None,
    stages: list[str] | None = None,
    before_commit: Callable[[duckdb.DuckDBPyConnection, LoadReport], None] | None = None,
) -> LoadReport:
    """Load ``source`` into canonical ``table`` of the DuckDB connection, in one transaction.

    ``columns``: this load's column map (canonical -> input name); ``remembered_columns``: the
    map of an earlier load, applied where the input has the column. ``before_commit`` runs
    inside the transaction after the rows are written (the workspace saves its settings there,
    so they commit or roll back with the data).
    """
    from zoneinfo import ZoneInfo

    spec = sc.get_schema(table)
    epoch_unit = check_epoch_unit(epoch_unit)
    try:
        ZoneInfo(tz)
    except Exception:
        raise ConfigError(f"unknown time zone {tz!r}.",
                          hint="Use an IANA name such as UTC or Asia/Shanghai.") from None
    mapping = dict(columns or {})
    con.execute("BEGIN TRANSACTION")
    try:
        report = _load(con, source, spec, mapping, dict(remembered_columns or {}), tz, strict,
                       epoch_unit, fmt, list(stages or []))
        if before_commit is not None:
            before_commit(con, report)
        for temp in (BAD, TYPED, STAGE):
            con.execute(f"DROP TABLE IF EXISTS {ident(temp)}")
        con.execute("COMMIT")
        return report
    except BaseException:
        with contextlib.suppress(Exception):  # the original error is the one to report
            con.execute("ROLLBACK")
        raise


def _load(con, source, spec, mapping, remembered, tz, strict, epoch_unit, fmt, stages) -> LoadReport:
    staged = _stage_source(con, source, fmt)
    types = staged.types
    resolved = resolve_columns(spec, types, mapping, staged.display, remembered)
    exprs, storage, checks = _canonical_exprs(spec, resolved, types, tz, epoch_unit)
    values = [_Value(n, exprs[n], storage[n]) for n in exprs]
    values += _property_values(con, spec, resolved, types, checks)

    # One pass: typed values, first failed check, key. Aliases avoid any clash with input names.
    alias = {v.name: f"__fs_v{i}" for i, v in enumerate(values)}
    key_alias = {v.name: f"__fs_k{i}" for i, v in enumerate(values) if v.key_text}
    raw_alias = {c: f"__fs_t{i}" for i, c in enumerate(resolved) if c != "properties"}
    inner = [f"{staged.row_sql} AS {ident(ROW)}"]
    inner += [f"{v.expr} AS {alias[v.name]}" for v in values]
    inner += [f"{v.key_text} AS {key_alias[v.name]}" for v in values if v.key_text]
    inner += [f"{_text(ident(resolved[c]))} AS {a}" for c, a in raw_alias.items()]
    if "properties" in resolved:
        jtext = _json_text(ident(resolved["properties"]), types[resolved["properties"]])
        inner += [f"NULLIF(TRIM({jtext}), '') AS __fs_jt", f"{_json_object(jtext)} AS __fs_jo"]
    stage_list = "CAST([" + ", ".join(literal(s) for s in stages) + "] AS VARCHAR[])"
    fails = []
    for c in checks:
        if c.test == "empty":
            fails.append(f"{raw_alias[c.column]} IS NULL")
        elif c.test == "invalid":
            fails.append(f"{raw_alias[c.column]} IS NOT NULL AND {alias[c.column]} IS NULL")
        elif c.test == "stage":
            r = raw_alias[c.column]
            fails.append(f"{r} IS NOT NULL AND NOT list_contains({stage_list}, {r})")
        else:
            fails.append("__fs_jt IS NOT NULL AND __fs_jo IS NULL")
    fail_sql = (
        "CASE " + " ".join(f"WHEN {f} THEN {i}" for i, f in enumerate(fails, 1)) + " END"
        if fails else "CAST(NULL AS INTEGER)"
    )
    key = _key_sql(spec, values, alias, key_alias)
    con.execute(f"DROP TABLE IF EXISTS {ident(TYPED)}")
    con.execute(
        f"CREATE TEMP TABLE {ident(TYPED)} AS SELECT {ident(ROW)}, {fail_sql} AS {FAIL}, "  # noqa: S608
        f"{key} AS _key, {', '.join(alias.values())} "
        f"FROM (SELECT {', '.join(inner)} FROM {ident(STAGE)} AS s)"
    )

    typed, stage = ident(TYPED), ident(STAGE)
    read = con.execute(f"SELECT count(*) FROM {stage}").fetchone()[0]  # noqa: S608
    rejected = con.execute(f"SELECT count(*) FROM {typed} WHERE {FAIL} IS NOT NULL").fetchone()[0]  # noqa: S608
    rejections: list[Rejection] = []
    if rejected:
        _collect_rejected(con, staged, checks, types, stages)
        rows = con.execute(
            f"SELECT r, c, v, why FROM {ident(BAD)} ORDER BY r LIMIT {MAX_REPORTED_REJECTIONS}"  # noqa: S608
        ).fetchall()
        rejections = [Rejection(int(r), c, v, why) for r, c, v, why in rows]
        if strict:
            first = rejections[0]
            raise ValidationError(
                f"{Path(staged.display).name}: row {first.row}, column {first.column}: "
                f"{first.reason} (value {first.value!r}); {rejected} row(s) failed, nothing was "
                f"loaded.",
                hint="Fix the rows, or load without --strict to quarantine them in _rejected.",
                source=staged.display, row=first.row, column=first.column,
            )

    _ensure_meta_tables(con)
    load_id = con.execute(f"SELECT coalesce(max(load_id), 0) + 1 FROM {ident(LOADS)}").fetchone()[0]  # noqa: S608
    final_types = _ensure_table(con, spec, {v.name: v.storage for v in values})
    target = ident(spec.name)
    insert_cols = ", ".join(ident(v.name) for v in values)
    select_cols = ", ".join(f"CAST({alias[v.name]} AS {final_types[v.name]})" for v in values)
    loaded = con.execute(
        f"INSERT INTO {target} ({insert_cols}, _key, _load) "  # noqa: S608
        f"SELECT {select_cols}, _key, {int(load_id)} FROM {typed} "
        f"WHERE {FAIL} IS NULL "
        f"AND {ident(ROW)} IN (SELECT min({ident(ROW)}) FROM {typed} WHERE {FAIL} IS NULL "
        f"GROUP BY _key) "
        f"AND _key NOT IN (SELECT _key FROM {target} WHERE _key IS NOT NULL) "
        f"ORDER BY {ident(ROW)}"
    ).fetchone()[0]  # DuckDB's INSERT returns the number of rows inserted
    new_rejections = 0
    if rejected:
        rej = ident(REJECTED)
        new_rejections = con.execute(
            f"INSERT INTO {rej} SELECT {int(load_id)}, {literal(spec.name)}, "  # noqa: S608
            f"{literal(staged.display)}, r, c, v, why, raw, now(), k FROM ("
            f"SELECT *, md5_number(concat_ws(chr(31), {literal(spec.name)}, "
            f"{literal(staged.display)}, CAST(r AS VARCHAR), CAST(raw AS VARCHAR))) AS k "
            f"FROM {ident(BAD)}) WHERE k NOT IN (SELECT _key FROM {rej} WHERE _key IS NOT NULL) "
            f"ORDER BY r"
        ).fetchone()[0]
    duplicates = read - rejected - loaded
    con.execute(
        f"INSERT INTO {ident(LOADS)} VALUES (?, ?, ?, now(), ?, ?, ?, ?)",  # noqa: S608
        [load_id, spec.name, staged.display, read, loaded, duplicates, rejected],
    )
    return LoadReport(
        spec.name, staged.display, read, loaded, duplicates, rejected, rejections,
        new_rejections, int(load_id),
    )


def _collect_rejected(con, staged: _Staged, checks: list[_Check], types: dict[str, str],
                      stages: list[str]) -> None:
    """Fill BAD with the rejected rows: row, column, raw value, reason and the raw row (JSON)."""
    col_case, val_case, why_case = [], [], []
    for i, c in enumerate(checks, 1):
        src = ident(c.source)
        raw = (_json_text(f"s.{src}", types[c.source]) if c.test == "json"
               else f"CAST(s.{src} AS VARCHAR)")
        col_case.append(f"WHEN {i} THEN {literal(c.column)}")
        val_case.append(f"WHEN {i} THEN {raw}")
        if c.test == "stage":
            known = ", ".join(stages) or "none"
            why = (
                f"'unknown stage ' || {_text('s.' + src)} || "
                f"{literal(' (the workspace' + chr(39) + f's stages are: {known}; {c.reason})')}"
            )
        else:
            why = literal(c.reason)
        why_case.append(f"WHEN {i} THEN {why}")
    raw_row = "json_object(" + ", ".join(
        f"{literal(name)}, s.{ident(name)}" for name in types
    ) + ")"
    con.execute(f"DROP TABLE IF EXISTS {ident(BAD)}")
    con.execute(
        f"CREATE TEMP TABLE {ident(BAD)} AS SELECT t.{ident(ROW)} AS r, "  # noqa: S608
        f"CASE t.{FAIL} {' '.join(col_case)} END AS c, "
        f"CASE t.{FAIL} {' '.join(val_case)} END AS v, "
        f"CASE t.{FAIL} {' '.join(why_case)} END AS why, {raw_row} AS raw "
        f"FROM {ident(STAGE)} AS s JOIN (SELECT {ident(ROW)}, {FAIL} FROM {ident(TYPED)} "
        f"WHERE {FAIL} IS NOT NULL) AS t ON {staged.row_sql} = t.{ident(ROW)}"
    )


_MAP_ITEM = re.compile(r"^\s*([^=\s]+)\s*=\s*(.+?)\s*$")


def parse_column_map(text: str | None) -> dict[str, str]:
    """Parse ``user_id=uid,ts=time`` into ``{"user_id": "uid", "ts": "time"}``."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        m = _MAP_ITEM.match(item)
        if not m:
            raise ConfigError(
                f"cannot read --map item {item!r}.",
                hint="Write canonical=yours pairs, e.g. --map user_id=uid,ts=time,event=event_name",
            )
        out[m.group(1)] = m.group(2)
    return out
