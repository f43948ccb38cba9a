"""``funnelscope tables``: what a workspace holds."""

from __future__ import annotations

from pathlib import Path

import typer

from funnelscope.cli.common import FormatOpt


def tables(
    workspace: Path = typer.Option(..., "--workspace", "-w", help="DuckDB workspace file."),
    all_: bool = typer.Option(False, "--all", help="Include internal tables (_rejected, _loads)."),
    fmt: str = FormatOpt,
) -> None:
    """List the workspace's tables and their row counts.

    Example:
      funnelscope tables --workspace demo/funnelscope.duckdb --format json
    """
    from funnelscope.cli.common import open_workspace
    from funnelscope.cli.output import check_format, print_csv, print_json, print_table

    check_format(fmt)
    ws = open_workspace(workspace, read_only=True)
    rows = [{"name": t.name, "rows": t.rows} for t in ws.tables(include_internal=all_)]
    if fmt == "json":
        print_json({"tables": rows})
    elif fmt == "csv":
        print_csv(rows)
    else:
        print_table(rows, title=str(workspace))


def register(app: typer.Typer) -> None:
    app.command("tables")(tables)
