"""Analyse files in place: register a CSV/Parquet/JSON-lines file as a canonical view.

Nothing is copied: the view maps the file's columns onto the canonical names and types with
the same expressions ``load`` uses. Rows that ``load`` would reject (an empty id, an unreadable
time) are left out of the view; load the file to quarantine and inspect them instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from funnelscope.data import schema as sc
from funnelscope.data.ingest import _canonical_exprs, detect_format, resolve_columns
from funnelscope.errors import BackendNotSupported, InputError
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    from funnelscope.engine.workspace import Workspace

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
    reader = _READERS[detect_format(path, fmt)].format(path=literal(str(path)))
    con = ws.duckdb
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}  # noqa: S608
    resolved = resolve_columns(spec, types, dict(columns), str(path))
    resolved.pop("properties", None)
    exprs, _, _ = _canonical_exprs(spec, resolved, types, ws.config.timezone, None)
    used = set(resolved.values())
    select = [f"{e} AS {ident(n)}" for n, e in exprs.items()]
    select += [ident(c) for c in types if c not in used and c not in exprs]
    required = " AND ".join(f"{ident(c)} IS NOT NULL" for c in spec.required) or "TRUE"
    con.execute(
        f"CREATE OR REPLACE VIEW {ident(table)} AS SELECT * FROM ("  # noqa: S608
        f"SELECT {', '.join(select)} FROM {reader}) WHERE {required}"
    )
