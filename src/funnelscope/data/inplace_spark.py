"""Analyse data in place on Spark: a path or a metastore table as a canonical temp view.

The Spark twin of :mod:`funnelscope.data.inplace`. Nothing is copied: ``fs.connect(spark,
events=...)`` registers a temporary view named after the canonical table, with the canonical
columns under their canonical names and the types ``load`` stores (text trimmed, empty text
NULL; times as instants; numbers as DOUBLE), so every analysis that runs on a Spark workspace
runs on it. The same column maps apply (canonical -> yours), canonical columns the data lacks
are NULL, and rows whose required columns are empty or unreadable are left out. Other columns
keep Spark's own types; a clash with a canonical name gets the ``properties.`` /
``attributes.`` prefix.

Times, as ``load`` reads them: TIMESTAMP is the instant; TIMESTAMP_NTZ and DATE are wall-clock
times in the workspace's time zone; integers are epoch seconds / ms / µs / ns (``epoch_unit``,
else each value's magnitude: below 1e11 seconds, 1e14 ms, 1e17 µs, else ns), converted in
integer arithmetic; fractional numbers round to the nearest µs; text is epoch digits, ISO-8601
with an offset (that instant) or a wall-clock time in the time zone. Values beyond ±2.5e17 µs
are NULL, as in ``load``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelscope.data import schema as sc
from funnelscope.data import timeparse
from funnelscope.data.ingest import INTERNAL_COLUMNS, _unique_name, resolve_columns
from funnelscope.errors import InputError
from funnelscope.sqlsafe import literal

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

#: format by file name ending; a directory takes its first data file's
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".orc": "orc", ".csv": "csv", ".tsv": "tsv",
           ".json": "json", ".jsonl": "json", ".ndjson": "json"}
_STORAGE = {sc.TEXT: "STRING", sc.STAGE: "STRING", sc.CLOSED_STATUS: "STRING",
            sc.TIMESTAMP: "TIMESTAMP", sc.NUMBER: "DOUBLE", sc.DATE: "DATE"}
_INTEGERS = ("tinyint", "smallint", "int", "bigint")
_MAX_US = 250_000_000_000_000_000  # |µs| accepted, as in load (timeparse.epoch_sql)


def register_spark(ws: Workspace, table: str, source: str | Path, columns: Mapping[str, str],
                   fmt: str | None = None, epoch_unit: str | None = None) -> None:
    """Create temporary view ``table`` over ``source`` (a path or a Spark table name) with the
    canonical columns, on the Spark session of ``ws``.

    ``source``: a file or directory (Parquet, ORC, CSV/TSV with a header, JSON lines; Delta
    when the session has Delta Lake and ``fmt="delta"`` or the directory has ``_delta_log``),
    any URL Spark reads (``s3a://...``, ``hdfs://...``), or a table of the session's catalog
    (``events_raw``, ``db.events_raw``). ``fmt`` overrides the detected format.
    """
    epoch_unit = timeparse.check_epoch_unit(epoch_unit)
    spec = sc.get_schema(table)
    session = ws.backend._session
    df, where = _read(session, source, fmt)
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    resolved = resolve_columns(spec, types, dict(columns), where)
    resolved.pop("properties", None)  # a JSON properties column stays one text column
    tz = ws.config.timezone
    select = []
    for col in spec.columns:
        if col.name in resolved:
            src = resolved[col.name]
            expr = _canonical(col.kind, _q(src), types[src], tz, epoch_unit)
        else:
            expr = f"CAST(NULL AS {_STORAGE[col.kind]})"
        select.append(f"{expr} AS {_q(col.name)}")
    used = set(resolved.values())
    taken = {n.lower() for n in (*spec.names, *INTERNAL_COLUMNS)}
    select += [f"{_q(c)} AS {_q(_unique_name(c, taken, spec.extra_columns + '.'))}"
               for c in types if c not in used]
    view = df.selectExpr(*select).where(" AND ".join(f"{_q(c)} IS NOT NULL" for c in spec.required))
    view.createOrReplaceTempView(table)


def missing_file(source: str) -> Path | None:
    """The local path ``source`` names when it is one (not a URL, not a catalog table name:
    it has a ``/`` or a known file suffix) and does not exist; else None. The CLI asks before
    it starts a Spark session (seconds) only to be told the file is not there."""
    local = Path(source).expanduser()
    if "://" in source or local.exists():
        return None
    return local if "/" in source or local.suffix.lower() in FORMATS else None


def _read(session: Any, source: str | Path, fmt: str | None) -> tuple[Any, str]:
    """The DataFrame of ``source`` and how to name it in messages."""
    text = str(source)
    local = Path(text).expanduser()
    is_path = isinstance(source, Path) or "/" in text or "://" in text or local.exists() \
        or local.suffix.lower() in FORMATS
    if not is_path:
        if not session.catalog.tableExists(text):
            raise InputError(
                f"{text!r} is neither a file nor a table of the Spark catalog.",
                hint="Pass a path (Parquet, ORC, CSV, JSON lines, Delta) or an existing table "
                     "name, e.g. db.events.", source=text,
            )
        return session.table(text), text
    where = text if "://" in text else str(local)
    if "://" not in text and not local.exists():
        raise InputError(f"file not found: {local}", hint="Check the path.", source=where)
    fmt = (fmt or _detect(local if "://" not in text else Path(text))).lower()
    reader = session.read
    if fmt in ("csv", "tsv"):
        reader = reader.option("header", True).option("inferSchema", True)
        if fmt == "tsv":
            reader = reader.option("sep", "\t")
        fmt = "csv"
    try:
        return reader.format(fmt).load(where), where
    except Exception as exc:  # Py4J / analysis errors: the first line says what
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"Spark cannot read {where} as {fmt}: {first}",
                         hint="Check the path and format (fmt='parquet', 'orc', 'csv', "
                              "'json' or 'delta').", source=where) from None


def _detect(path: Path) -> str:
    if path.is_dir():
        if (path / "_delta_log").is_dir():
            return "delta"
        for child in sorted(path.rglob("*")):
            if child.is_file() and not child.name.startswith(("_", ".")) \
                    and child.suffix.lower() in FORMATS:
                return FORMATS[child.suffix.lower()]
        return "parquet"
    return FORMATS.get(path.suffix.lower(), "parquet")


def _q(name: str) -> str:
    """A Spark SQL identifier (backquoted; backquotes doubled)."""
    return "`" + name.replace("`", "``") + "`"


def _text(col: str) -> str:
    return f"NULLIF(TRIM(CAST({col} AS STRING)), '')"


def _canonical(kind: str, col: str, source_type: str, tz: str, unit: str | None) -> str:
    """Spark SQL of one canonical column from the source column ``col``."""
    t = source_type.lower()
    if kind in (sc.TEXT, sc.STAGE):
        return _text(col)
    if kind == sc.TIMESTAMP:
        return _instant(col, t, tz, unit)
    if kind == sc.NUMBER:
        x = f"CAST({col} AS DOUBLE)" if _numeric(t) else f"TRY_CAST({_text(col)} AS DOUBLE)"
        return f"(CASE WHEN isnan({x}) OR abs({x}) = double('infinity') THEN NULL ELSE {x} END)"
    if kind == sc.DATE:
        return col if t == "date" else f"CAST(TRY_CAST({_text(col)} AS TIMESTAMP_NTZ) AS DATE)"
    if kind == sc.CLOSED_STATUS:
        return (f"(CASE lower(coalesce({_text(col)}, '')) WHEN 'won' THEN 'won' "
                "WHEN 'lost' THEN 'lost' WHEN 'open' THEN 'open' WHEN '' THEN 'open' END)")
    raise AssertionError(kind)  # pragma: no cover - schema kinds are closed


def _numeric(t: str) -> bool:
    return t in (*_INTEGERS, "float", "double") or t.startswith("decimal")


def _wall_clock(ntz: str, tz: str) -> str:
    """A TIMESTAMP_NTZ read as a wall-clock time in ``tz``, as an instant."""
    return f"CAST(convert_timezone({literal(tz, 'spark')}, current_timezone(), {ntz}) AS TIMESTAMP)"


def _instant(col: str, t: str, tz: str, unit: str | None) -> str:
    if t == "timestamp":
        return col
    if t in ("timestamp_ntz", "date"):
        return _wall_clock(f"CAST({col} AS TIMESTAMP_NTZ)", tz)
    if t in _INTEGERS:
        return _epoch(f"CAST({col} AS DECIMAL(38, 0))", unit, integral=True)
    if _numeric(t):
        return _epoch(f"CAST({col} AS DOUBLE)", unit, integral=False)
    v = _text(col)
    return (
        f"(CASE WHEN {v} IS NULL THEN NULL "
        f"WHEN {v} RLIKE '^-?[0-9]{{1,30}}$' "
        f"THEN {_epoch(f'TRY_CAST({v} AS DECIMAL(38, 0))', unit, integral=True)} "
        f"WHEN {v} RLIKE '^-?[0-9]+[.][0-9]+$' "
        f"THEN {_epoch(f'TRY_CAST({v} AS DOUBLE)', unit, integral=False)} "
        f"WHEN {v} RLIKE '[T ][0-9].*([Zz]|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$' "
        f"THEN TRY_CAST({v} AS TIMESTAMP) "
        f"ELSE {_wall_clock(f'TRY_CAST({v} AS TIMESTAMP_NTZ)', tz)} END)"
    )


def _epoch(x: str, unit: str | None, integral: bool) -> str:
    """Epoch number ``x`` (DECIMAL(38,0) when ``integral``, else DOUBLE) -> TIMESTAMP; NULL
    beyond ±2.5e17 µs. Whole numbers convert exactly (ns truncated toward zero, as DuckDB's
    integer division); fractions round to the nearest µs."""
    if integral:
        scale = {"s": f"{x} * 1000000", "ms": f"{x} * 1000", "us": x,
                 "ns": f"(CASE WHEN {x} >= 0 THEN floor({x} / 1000) ELSE ceil({x} / 1000) END)"}
    else:
        scale = {u: f"{x} * {f}" for u, f in timeparse.EPOCH_FACTORS.items()}
    if unit is not None:
        micros = f"({scale[unit]})"
    else:
        micros = (f"(CASE WHEN abs({x}) < 100000000000 THEN {scale['s']} "
                  f"WHEN abs({x}) < 100000000000000 THEN {scale['ms']} "
                  f"WHEN abs({x}) < 100000000000000000 THEN {scale['us']} ELSE {scale['ns']} END)")
    whole = micros if integral else f"round({micros})"
    return (f"(CASE WHEN abs({micros}) < {_MAX_US} "
            f"THEN timestamp_micros(CAST({whole} AS BIGINT)) END)")
