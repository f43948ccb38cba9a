"""Print results for people (rich tables) or programs (JSON, CSV). Never computes."""

from __future__ import annotations

import json
import sys
from typing import Any

FORMATS = ("table", "json", "csv")


def check_format(fmt: str) -> str:
    from funnelscope.errors import ConfigError

    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}.", hint="Use table, json or csv.")
    return fmt


def print_json(data: Any) -> None:
    from funnelscope.analyses.result import jsonable

    sys.stdout.write(json.dumps(jsonable(data), ensure_ascii=False, indent=2) + "\n")


def _cell(value: Any, column: str) -> str:
    from funnelscope.analyses.result import jsonable

    value = jsonable(value)
    if value is None:
        return "–"
    if isinstance(value, float):
        if column in ("p_value", "p-value"):
            return f"{value:.2g}"
        if any(w in column for w in ("conversion", "rate", "share", "ci_", "probability")):
            return f"{value:.1%}"
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(rows: list[dict] | Any, title: str | None = None, columns: list[str] | None = None) -> None:
    """Print a list of records (or a DataFrame) as a rich table."""
    from rich.console import Console
    from rich.table import Table

    if hasattr(rows, "to_dict"):
        rows = rows.to_dict(orient="records")
    console = Console()
    if rows and not console.is_terminal:
        # piped or captured output: never truncate, size the table to its content
        cols = columns or list(rows[0].keys())
        natural = sum(max(len(str(c)), *(len(_cell(r.get(c), c)) for r in rows)) + 3 for c in cols) + 1
        console = Console(width=max(console.width, natural, len(title or "") + 1))
    if not rows:
        console.print(f"[dim]{title or 'result'}: no rows[/dim]")
        return
    columns = columns or list(rows[0].keys())
    table = Table(title=title, title_justify="left", header_style="bold",
                  min_width=min(len(title or ""), console.width))
    for c in columns:
        numeric = isinstance(rows[0].get(c), (int, float)) and not isinstance(rows[0].get(c), bool)
        table.add_column(c, justify="right" if numeric else "left", overflow="fold")
    for r in rows:
        table.add_row(*(_cell(r.get(c), c) for c in columns))
    console.print(table)


def print_csv(rows: list[dict] | Any) -> None:
    """Print records (or a DataFrame) as CSV: UTF-8, a header row, every row (the CLI never
    cuts), text cells a spreadsheet would run as formulas escaped (funnelscope.tabular)."""
    from funnelscope.tabular import to_csv

    text, _ = to_csv(rows)
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        out.write(text)
        return
    out.flush()
    buffer.write(text.encode("utf-8"))  # UTF-8 whatever the locale's encoding
    buffer.flush()
