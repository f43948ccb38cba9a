"""``funnelscope load``: validate a file and add it to a workspace table."""

from __future__ import annotations

from pathlib import Path

import typer

from funnelscope.cli.common import FormatOpt


def load(
    file: Path = typer.Argument(..., help="CSV, TSV, Parquet or JSON-lines file.", show_default=False),
    workspace: Path = typer.Option(..., "--workspace", "-w", help="DuckDB workspace file; created if missing."),
    table: str = typer.Option("events", "--table", "-t", help="events | customers | orders | deals | spend"),
    map_: str = typer.Option(None, "--map", help="Your column names: canonical=yours, comma-separated, e.g. user_id=uid,ts=time,event=event_name. Remembered for the next load."),
    tz: str = typer.Option(None, "--tz", help="Time zone of times without an offset, e.g. Asia/Shanghai (default: the workspace's, UTC unless set)."),
    epoch_unit: str = typer.Option(None, "--epoch-unit", help="s | ms | us | ns for numeric times (default: detected from each value's magnitude)."),
    strict: bool = typer.Option(False, "--strict", help="Fail the whole load on the first invalid row instead of quarantining rows in _rejected."),
    stages: str = typer.Option(None, "--stages", help="deals: the ordered stage list, comma-separated (default: target,potential,contacted,intent,signed,installed,paying,active)."),
    input_format: str = typer.Option(None, "--input-format", help="csv | tsv | parquet | jsonl when the file name does not tell."),
    fmt: str = FormatOpt,
) -> None:
    """Validate FILE and load it into a workspace table.

    Invalid rows (empty id, unreadable time, non-numeric amount, unknown stage) are kept in the
    _rejected table with file, row, column, value and reason; loading the same file twice adds
    nothing. The load is atomic: if it fails, the workspace is unchanged.

    Example:
      funnelscope load events.csv --workspace shop.duckdb --table events --map user_id=uid,ts=time,event=event_name --tz Asia/Shanghai
    """
    import funnelscope as fs
    from funnelscope.cli.output import check_format, print_json, print_table
    from funnelscope.data.ingest import parse_column_map

    check_format(fmt)
    ws = fs.connect(str(workspace))
    stage_list = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    report = ws.load(
        file, table, columns=parse_column_map(map_) or None, tz=tz, strict=strict,
        epoch_unit=epoch_unit, format=input_format, stages=stage_list,
    )
    data = report.to_dict()
    if fmt == "json":
        print_json(data)
        return
    if fmt == "csv":
        from funnelscope.cli.output import print_csv

        print_csv(data["rejections"])
        return
    from rich.console import Console

    console = Console()
    console.print(
        f"[bold]{data['table']}[/bold] ← {file.name}: read {data['read']:,} · "
        f"[green]loaded {data['loaded']:,}[/green] · duplicates {data['duplicates']:,} · "
        f"[{'red' if data['rejected'] else 'green'}]rejected {data['rejected']:,}[/]"
    )
    if data["loaded"] == 0 and data["duplicates"] > 0:
        console.print("[dim]nothing new: every valid row is already in the workspace[/dim]")
    if data["rejections"]:
        print_table(data["rejections"][:20], title="first rejected rows (all in table _rejected)")


def register(app: typer.Typer) -> None:
    app.command("load")(load)
