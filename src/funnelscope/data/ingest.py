"""Load files and data frames into the canonical tables: validate, quarantine, dedupe, atomically.

One load = one DuckDB transaction:

1. the source streams into a staging table (CSV/TSV are read as text so every value can be
   checked and kept exactly; Parquet and Arrow keep their types), numbered by input row;
2. each canonical column gets a typed expression and a validity check; a row failing any check
   goes to ``_rejected`` with the file, row number, column, raw value, reason and the whole raw
   row as JSON (nothing is lost);
3. each valid row gets a key (the table's id columns when present, else its full content);
   rows whose key is already in the table, or earlier in the same input, are duplicates;
4. the new rows are inserted, the load is logged in ``_loads``, and the transaction commits.

A failure or a killed process leaves the workspace exactly as before. ``read = loaded +
duplicates + rejected`` always holds. No user-supplied name or value reaches SQL unquoted:
identifiers go through :func:`funnelscope.sqlsafe.ident`, values through bound parameters or
:func:`funnelscope.sqlsafe.literal`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelscope.data import schema as sc
from funnelscope.data.timeparse import check_epoch_unit, is_numeric_type, timestamp_sql
from funnelscope.errors import ConfigError, InputError, MissingColumnsError, ValidationError
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    import duckdb

STAGE = "__fs_stage"
ROW = "__fs_row"
REJECTED = "_rejected"
LOADS = "_loads"
MAX_REPORTED_REJECTIONS = 100
FILE_FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
    ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}


@dataclass
class Rejection:
    """One rejected input row: where it was, which column failed, its raw value and why."""

    row: int
    column: str | None
    value: str | None
    reason: str


@dataclass
class LoadReport:
    """What a load did. ``read == loaded + duplicates + rejected`` always."""

    table: str
    source: str
    read: int
    loaded: int
    duplicates: int
    rejected: int
    rejections: list[Rejection] = field(default_factory=list)
    new_rejections: int = 0

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
    column: str  # canonical name, for the report
    source: str  # source column name, for the raw value
    fails: str  # SQL boolean: TRUE when this row fails
    reason: str  # SQL text expression giving the reason


def detect_format(path: Path, fmt: str | None) -> str:
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


def _stage_source(con: duckdb.DuckDBPyConnection, source: Any, fmt: str | None) -> str:
    """Create the staging table from a file path or a data frame; return a display name."""
    con.execute(f"DROP TABLE IF EXISTS {ident(STAGE)}")
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if not path.exists():
            raise InputError(f"file not found: {path}", hint="Check the path.", source=str(path))
        kind = detect_format(path, fmt)
        reader = {
            "csv": "read_csv(?, all_varchar = true, header = true, auto_detect = true)",
            "tsv": "read_csv(?, all_varchar = true, header = true, delim = '\t', quote = '\"')",
            "parquet": "read_parquet(?)",
            "jsonl": "read_json(?, format = 'newline_delimited')",
        }[kind]
        try:
            con.execute(
                f"CREATE TEMP TABLE {ident(STAGE)} AS "  # noqa: S608 - reader is a constant
                f"SELECT row_number() OVER () AS {ident(ROW)}, * FROM {reader}",
                [str(path)],
            )
        except Exception as exc:  # duckdb raises several error types for unreadable files
            raise InputError(
                f"cannot read {path.name} as {kind}: {_first_line(exc)}",
                hint="Check the file's format and encoding (UTF-8).",
                source=str(path),
            ) from None
        return str(path)
    arrow = _to_arrow(source)
    view = "__fs_input"
    con.register(view, arrow)
    try:
        con.execute(
            f"CREATE TEMP TABLE {ident(STAGE)} AS "
            f"SELECT row_number() OVER () AS {ident(ROW)}, * FROM {ident(view)}"
        )
    finally:
        con.unregister(view)
    return f"<{type(source).__name__}>"


def _to_arrow(obj: Any) -> Any:
    """pandas / polars / pyarrow object -> something DuckDB can scan (Arrow)."""
    import pyarrow as pa

    if isinstance(obj, (pa.Table, pa.RecordBatchReader)):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    mod = type(obj).__module__.split(".")[0]
    if mod == "pandas":
        return pa.Table.from_pandas(obj, preserve_index=False)
    if mod == "polars":
        return obj.to_arrow()
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.table(obj)
    raise InputError(
        f"cannot load an object of type {type(obj).__name__}.",
        hint="Pass a file path, a pandas or polars DataFrame, or a pyarrow Table.",
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _stage_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {ident(STAGE)}").fetchall()
    return {r[0]: r[1] for r in rows if r[0] != ROW}


def resolve_columns(
    table: sc.TableSchema, available: dict[str, str], mapping: Mapping[str, str], source: str
) -> dict[str, str]:
    """canonical name -> source column, for canonical columns the input has.

    ``mapping`` is canonical -> source (``user_id=uid``). Unmapped canonical names are looked up
    as-is. Raise MissingColumnsError naming what is missing, what the file has, and ``--map``.
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
    resolved = {}
    for col in table.columns:
        src = mapping.get(col.name, col.name)
        if src in available:
            resolved[col.name] = src
    if "properties" in available or "properties" in mapping:
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
    return f"NULLIF(TRIM(CAST({src_sql} AS VARCHAR)), '')"


def _canonical_exprs(
    table: sc.TableSchema,
    resolved: dict[str, str],
    types: dict[str, str],
    tz: str,
    epoch_unit: str | None,
) -> tuple[dict[str, str], dict[str, str], list[_Check]]:
    """Typed SQL expression and storage type per canonical column, and the row checks."""
    exprs: dict[str, str] = {}
    storage: dict[str, str] = {}
    checks: list[_Check] = []
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
            checks.append(_Check(col.name, src, f"{raw_text} IS NULL", literal(f"{what} is empty")))
        reasons = {
            sc.TIMESTAMP: "not a time funnelscope can read (ISO-8601, 'YYYY-MM-DD HH:MM:SS' "
            "or epoch seconds/ms/µs)",
            sc.NUMBER: "not a number",
            sc.DATE: "not a date (YYYY-MM-DD)",
            sc.CLOSED_STATUS: "closed must be won, lost or open",
        }
        if col.kind in reasons:
            checks.append(_Check(
                col.name, src, f"{raw_text} IS NOT NULL AND ({expr}) IS NULL",
                literal(f"{what}: {reasons[col.kind]}"),
            ))
        if col.kind == sc.STAGE:
            checks.append(_Check(
                col.name, src,
                f"{raw_text} IS NOT NULL AND NOT list_contains($stages, {raw_text})",
                f"'unknown stage ' || {raw_text} || ' (the workspace''s stages are: ' || "
                f"array_to_string($stages, ', ') || '; set them with --stages)'",
            ))
    return exprs, storage, checks


_LEADING_ZERO = r"^[+-]?0[0-9]"


def _infer_text_types(con: duckdb.DuckDBPyConnection, cols: dict[str, str]) -> dict[str, str]:
    """For text property columns: the narrowest type every non-empty value fits.

    BIGINT, then DOUBLE, then BOOLEAN, else VARCHAR. Values with a leading zero ("007") keep
    the column as text so identifiers and codes round-trip exactly.
    """
    if not cols:
        return {}
    parts = []
    for i, src in enumerate(cols.values()):
        v = _text(ident(src))
        parts.append(
            f"count({v}) AS n{i}, count(TRY_CAST({v} AS BIGINT)) AS i{i}, "
            f"count(TRY_CAST({v} AS DOUBLE)) AS d{i}, "
            f"count(CASE WHEN lower({v}) IN ('true', 'false') THEN 1 END) AS b{i}, "
            f"count(CASE WHEN regexp_matches({v}, {literal(_LEADING_ZERO)}) THEN 1 END) AS z{i}"
        )
    row = con.execute(f"SELECT {', '.join(parts)} FROM {ident(STAGE)}").fetchone()  # noqa: S608
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


def _property_exprs(
    con: duckdb.DuckDBPyConnection,
    resolved: dict[str, str],
    types: dict[str, str],
    reserved: set[str],
    checks: list[_Check],
) -> tuple[dict[str, str], dict[str, str]]:
    """Typed expressions for the extra columns (and the keys of a JSON ``properties`` column)."""
    used = set(resolved.values())
    extra = {name: name for name in types if name not in used}
    text_cols: dict[str, str] = {}
    exprs: dict[str, str] = {}
    storage: dict[str, str] = {}
    for name, src in extra.items():
        typ = types[src].upper()
        if typ == "VARCHAR":
            text_cols[name] = src
        else:
            exprs[name], storage[name] = ident(src), types[src]
    json_src = resolved.get("properties")
    if json_src is not None:
        j = ident(json_src)
        checks.append(_Check(
            "properties", json_src,
            f"{_text(j)} IS NOT NULL AND (NOT json_valid(CAST({j} AS VARCHAR)) OR "
            f"json_type(CAST({j} AS VARCHAR)) <> 'OBJECT')",
            literal("properties is not a JSON object"),
        ))
        keys = con.execute(
            f"SELECT DISTINCT unnest(json_keys(CAST({j} AS VARCHAR))) FROM {ident(STAGE)} "  # noqa: S608
            f"WHERE json_valid(CAST({j} AS VARCHAR)) AND json_type(CAST({j} AS VARCHAR)) = 'OBJECT' "
            f"ORDER BY 1"
        ).fetchall()
        for (key,) in keys:
            name = key if key not in reserved and key not in extra else f"properties.{key}"
            expr = f"json_extract_string(CAST({j} AS VARCHAR), {literal('$.' + _json_path(key))})"
            alias = f"__fs_json_{len(text_cols)}"
            con.execute(
                f"ALTER TABLE {ident(STAGE)} ADD COLUMN {ident(alias)} VARCHAR"
            )
            con.execute(f"UPDATE {ident(STAGE)} SET {ident(alias)} = {expr}")
            text_cols[name] = alias
    inferred = _infer_text_types(con, text_cols)
    for name, src in text_cols.items():
        typ = inferred[name]
        v = _text(ident(src))
        if typ == "VARCHAR":
            exprs[name] = f"NULLIF(CAST({ident(src)} AS VARCHAR), '')"
        elif typ == "BOOLEAN":
            exprs[name] = f"(lower({v}) = 'true')"
        else:
            exprs[name] = f"CAST({v} AS {typ})"
        storage[name] = typ
    return exprs, storage


def _json_path(key: str) -> str:
    """A JSONPath member for ``key`` (quoted, so any characters are allowed)."""
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key_expr(table: sc.TableSchema, exprs: dict[str, str], order: list[str]) -> str:
    """md5 (128-bit) of the table's id columns when all exist in the input, else of the row."""
    def content(cols: list[str]) -> str:
        parts = [f"coalesce(CAST(({exprs[c]}) AS VARCHAR), chr(0))" for c in cols]
        return "md5_number(concat_ws(chr(31), " + ", ".join(parts) + "))"

    full = content(order)
    if all(k in exprs for k in table.key):
        if len(table.key) == 1:
            k = table.key[0]
            return f"(CASE WHEN ({exprs[k]}) IS NOT NULL THEN md5_number('id' || chr(31) || ({exprs[k]})) ELSE {full} END)"
        return content(list(table.key))
    if table.name == "spend" and "campaign" not in exprs:
        return content(["date", "channel"])
    return full


def _existing_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return {r[0]: r[1] for r in rows} or None


def _unify(old: str, new: str) -> str:
    if old == new:
        return old
    numeric = {"BIGINT", "DOUBLE", "INTEGER"}
    if old in numeric and new in numeric:
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
    for name, typ in storage.items():
        if name not in existing:
            con.execute(f"ALTER TABLE {ident(table.name)} ADD COLUMN {ident(name)} {typ}")
            existing[name] = typ
        elif table.column(name) is None and _unify(existing[name], typ) != existing[name]:
            wider = _unify(existing[name], typ)
            con.execute(
                f"ALTER TABLE {ident(table.name)} ALTER COLUMN {ident(name)} TYPE {wider}"
            )
            existing[name] = wider
    return existing


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


def load_into_duckdb(
    con: duckdb.DuckDBPyConnection,
    source: Any,
    table: str,
    *,
    columns: Mapping[str, str] | None = None,
    tz: str = "UTC",
    strict: bool = False,
    epoch_unit: str | None = None,
    fmt: str | None = None,
    stages: list[str] | None = None,
) -> LoadReport:
    """Load ``source`` into canonical ``table`` of the DuckDB connection, in one transaction."""
    spec = sc.get_schema(table)
    epoch_unit = check_epoch_unit(epoch_unit)
    mapping = dict(columns or {})
    con.execute("BEGIN TRANSACTION")
    try:
        report = _load(con, source, spec, mapping, tz, strict, epoch_unit, fmt, stages)
        con.execute(f"DROP TABLE IF EXISTS {ident(STAGE)}")
        con.execute("COMMIT")
        return report
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _load(con, source, spec, mapping, tz, strict, epoch_unit, fmt, stages) -> LoadReport:
    display = _stage_source(con, source, fmt)
    types = _stage_columns(con)
    resolved = resolve_columns(spec, types, mapping, display)
    exprs, storage, checks = _canonical_exprs(spec, resolved, types, tz, epoch_unit)
    reserved = set(spec.names) | {"_key", "_load"}
    prop_exprs, prop_storage = _property_exprs(con, resolved, types, reserved, checks)
    exprs.update(prop_exprs)
    storage.update(prop_storage)
    params = {"stages": list(stages or [])}
    if not any(c.column == "stage" for c in checks):
        params = {}

    fail_any = " OR ".join(f"({c.fails})" for c in checks) or "FALSE"
    first_col = "CASE " + " ".join(f"WHEN {c.fails} THEN {literal(c.column)}" for c in checks)
    first_val = "CASE " + " ".join(
        f"WHEN {c.fails} THEN CAST({ident(c.source)} AS VARCHAR)" for c in checks
    )
    first_reason = "CASE " + " ".join(f"WHEN {c.fails} THEN {c.reason}" for c in checks)
    if checks:
        first_col += " END"
        first_val += " END"
        first_reason += " END"
    else:
        first_col = first_val = first_reason = "NULL"

    stage = ident(STAGE)
    read = con.execute(f"SELECT count(*) FROM {stage}").fetchone()[0]  # noqa: S608
    _ensure_meta_tables(con)
    load_id = con.execute(f"SELECT coalesce(max(load_id), 0) + 1 FROM {ident(LOADS)}").fetchone()[0]  # noqa: S608

    bad_sql = (
        f"SELECT {ident(ROW)} AS r, {first_col} AS c, {first_val} AS v, {first_reason} AS why, "  # noqa: S608
        f"to_json(s) AS raw FROM {stage} AS s WHERE {fail_any}"
    )
    rejected = con.execute(f"SELECT count(*) FROM ({bad_sql})", params or None).fetchone()[0]  # noqa: S608
    rejections: list[Rejection] = []
    if rejected:
        rows = con.execute(f"{bad_sql} ORDER BY r LIMIT {MAX_REPORTED_REJECTIONS}", params or None).fetchall()
        rejections = [Rejection(int(r), c, v, why) for r, c, v, why, _ in rows]
        if strict:
            first = rejections[0]
            raise ValidationError(
                f"{Path(display).name}: row {first.row}, column {first.column}: {first.reason} "
                f"(value {first.value!r}); {rejected} row(s) failed, nothing was loaded.",
                hint="Fix the rows, or load without --strict to quarantine them in _rejected.",
                source=display, row=first.row, column=first.column,
            )

    final_types = _ensure_table(con, spec, storage)
    order = [c.name for c in spec.columns if c.name in exprs] + sorted(
        n for n in exprs if spec.column(n) is None
    )
    key = _key_expr(spec, exprs, order)
    target = ident(spec.name)
    select_cols = ", ".join(
        f"CAST(({exprs[n]}) AS {final_types[n]}) AS {ident(n)}" for n in order
    )
    valid = (
        f"SELECT {select_cols}, {key} AS _key, {ident(ROW)} AS __r FROM {stage} "  # noqa: S608
        f"WHERE NOT ({fail_any})"
    )
    insert_cols = ", ".join(ident(n) for n in order)
    before = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]  # noqa: S608
    con.execute(
        f"INSERT INTO {target} ({insert_cols}, _key, _load) "  # noqa: S608
        f"SELECT {insert_cols}, _key, {int(load_id)} FROM ("
        f"SELECT *, row_number() OVER (PARTITION BY _key ORDER BY __r) AS __n FROM ({valid})) "
        f"WHERE __n = 1 AND _key NOT IN (SELECT _key FROM {target} WHERE _key IS NOT NULL) "
        f"ORDER BY __r",
        params or None,
    )
    loaded = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0] - before  # noqa: S608
    new_rejections = 0
    if rejected:
        rej = ident(REJECTED)
        before_rej = con.execute(f"SELECT count(*) FROM {rej}").fetchone()[0]  # noqa: S608
        con.execute(
            f"INSERT INTO {rej} SELECT {int(load_id)}, {literal(spec.name)}, {literal(display)}, "  # noqa: S608
            f"r, c, v, why, raw, now(), k FROM (SELECT *, md5_number({literal(spec.name)} || "
            f"chr(31) || CAST(r AS VARCHAR) || chr(31) || CAST(raw AS VARCHAR)) AS k "
            f"FROM ({bad_sql})) WHERE k NOT IN (SELECT _key FROM {rej} WHERE _key IS NOT NULL)",
            params or None,
        )
        new_rejections = con.execute(f"SELECT count(*) FROM {rej}").fetchone()[0] - before_rej  # noqa: S608
    duplicates = read - rejected - loaded
    con.execute(
        f"INSERT INTO {ident(LOADS)} VALUES (?, ?, ?, now(), ?, ?, ?, ?)",
        [load_id, spec.name, display, read, loaded, duplicates, rejected],
    )
    return LoadReport(
        spec.name, display, read, loaded, duplicates, rejected, rejections, new_rejections
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
