"""Quote names and values for the few places that build SQL text.

Analyses use Ibis expressions; ingest uses bound parameters where DuckDB accepts them.
Where SQL text is unavoidable (table-function arguments, DDL), every user-supplied name goes
through :func:`ident` and every value through :func:`literal`, never through an f-string alone.
"""

from __future__ import annotations

from typing import Any

import sqlglot.expressions as exp


def ident(name: str, dialect: str = "duckdb") -> str:
    """Return ``name`` as a double-quoted SQL identifier, safe for any content."""
    if not isinstance(name, str) or name == "":
        raise ValueError(f"identifier must be a non-empty string, got {name!r}")
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def literal(value: Any, dialect: str = "duckdb") -> str:
    """Return ``value`` (str, int, float, bool or None) as a SQL literal with escaping."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return exp.Literal.number(value).sql(dialect=dialect)
    return exp.Literal.string(str(value)).sql(dialect=dialect)
