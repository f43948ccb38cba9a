"""Quote names and values for the few places that build SQL text.

Analyses use Ibis expressions where they must run on every engine; the DuckDB fast paths and
ingest build DuckDB SQL text. Wherever SQL text is built, every user-supplied name goes
through :func:`ident` and every value through :func:`literal`, never through an f-string alone.

The DuckDB dialect is quoted here directly (standard SQL: ``"`` doubled inside identifiers,
``'`` doubled inside strings; DuckDB does not treat backslashes in string literals as escapes),
so the command line does not pay sqlglot's import time; other dialects go through sqlglot.
"""

from __future__ import annotations

import math
from typing import Any

from funnelscope.errors import ConfigError


class UnsafeSQLText(ConfigError, ValueError):
    """A name or value that cannot be written in SQL (a NUL character, an empty name).

    A ConfigError, so the CLI exits 2 and the API answers 400 with the one error shape; also a
    ValueError, as before.
    """


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:60] + "…")


def ident(name: str, dialect: str = "duckdb") -> str:
    """Return ``name`` as a double-quoted SQL identifier, safe for any content."""
    if not isinstance(name, str) or name == "":
        raise UnsafeSQLText(f"a name must be a non-empty string, got {name!r}.")
    if "\x00" in name:
        raise UnsafeSQLText(f"a name must not contain a NUL character (\\x00), got {_shown(name)}.",
                            hint="Remove the NUL character (%00 in a URL).")
    if dialect == "duckdb":
        return '"' + name.replace('"', '""') + '"'
    import sqlglot.expressions as exp

    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def literal(value: Any, dialect: str = "duckdb") -> str:
    """Return ``value`` (str, int, float, bool or None) as a SQL literal with escaping."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if dialect == "duckdb":
        if isinstance(value, int):
            return str(int(value))
        if isinstance(value, float):
            if math.isfinite(value):
                return repr(value)
            return f"CAST('{value!r}' AS DOUBLE)"  # nan, inf, -inf
        text = str(value)
        if "\x00" in text:
            raise UnsafeSQLText(f"a value must not contain a NUL character (\\x00), got {_shown(text)}.",
                                hint="Remove the NUL character (%00 in a URL).")
        return "'" + text.replace("'", "''") + "'"
    import sqlglot.expressions as exp

    if isinstance(value, (int, float)):
        return exp.Literal.number(value).sql(dialect=dialect)
    return exp.Literal.string(str(value)).sql(dialect=dialect)
