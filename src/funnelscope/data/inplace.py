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
    ws: Workspace, table: str, file: str | Path, columns: Mapping[str, str], fmt: str | None = None
) -> None:
    """Create view ``table`` over ``file`` with canonical columns (DuckDB workspaces)."""
    if ws.engine != "duckdb":
        raise BackendNotSupported("files can be analysed in place on DuckDB workspaces only.")
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
    exprs, _, _, _ = _canonical_exprs(spec, resolved, types, ws.config.timezone, None)
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
    taken = {n.lower() for n in (*spec.names, *INTERNAL_COLUMNS)}
    select += [
        f"{ident(c)} AS {ident(_unique_name(c, taken, spec.extra_columns + '.'))}"
        for c in types if c not in used
    ]
    required = " AND ".join(f"{ident(c)} IS NOT NULL" for c in spec.required) or "TRUE"
    unfiltered = f"SELECT {', '.join(select)} FROM {reader}"  # noqa: S608
    con.execute(
        f"CREATE OR REPLACE VIEW {ident(table)} AS SELECT * FROM ("  # noqa: S608
        f"{unfiltered}) WHERE {required}"
    )
    ts_source = types.get(resolved.get("ts", ""), "").upper()
    # `ts` is the file's own column only for a TIMESTAMPTZ source; Parquet keeps its min/max
    statistics = fmt_name == "parquet" and ts_source in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")
    ws.in_place[table] = InPlaceView(unfiltered, statistics)


def _is_integer(source_type: str) -> bool:
    return source_type.upper() in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                                   "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
