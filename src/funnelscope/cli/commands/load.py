"""``funnelscope load``: validate a file and add it to a workspace table."""

from __future__ import annotations

from pathlib import Path

import typer

from funnelscope.cli.common import FormatOpt


def load(
    file: Path = typer.Argument(..., help="CSV, TSV, Parquet or JSON-lines file.", show_default=False),
    workspace: Path = typer.Option(..., "--workspace", "-w", help="DuckDB workspace file; created if missing."),
    table: str = typer.Option("events", "--table", "-t", help="events | customers | orders | deals | spend | exposures | responses"),
    map_: str = typer.Option(None, "--map", help="Your column names: canonical=yours, comma-separated, e.g. user_id=uid,ts=time,event=event_name. Remembered for the next load."),
    tz: str = typer.Option(None, "--tz", help="Time zone of times without an offset, e.g. Asia/Shanghai (default: the workspace's, UTC unless set)."),
    epoch_unit: str = typer.Option(None, "--epoch-unit", help="s | ms | us | ns for numeric times (default: detected from each value's magnitude)."),
    strict: bool = typer.Option(False, "--strict", help="Fail the whole load on the first invalid row instead of quarantining rows in _rejected."),
    stages: str = typer.Option(None, "--stages", help="deals: the ordered stage list, comma-separated (default: target,potential,contacted,intent,signed,installed,paying,active)."),
    input_format: str = typer.Option(None, "--input-format", help="csv | tsv | parquet | jsonl when the file name does not tell."),
    encoding: str = typer.Option(None, "--encoding", help="Text encoding of a CSV/TSV/JSON-lines file that is not UTF-8, e.g. gbk, gb18030, utf-16, cp1252."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Draw no progress bar (it is drawn on stderr only at a terminal, for loads over a second)."),
    fmt: str = FormatOpt,
) -> None:
    """Validate FILE and load it into a workspace table.

    Invalid rows (empty id, unreadable time, non-numeric amount, unknown stage) and conflicts
    (an id loaded before with other values) are kept in the _rejected table with file, row,
    column, value and reason; loading the same file twice adds nothing, whatever --tz. The load
    is atomic: if it fails, the workspace is unchanged (a workspace file this command created
    is removed).

    Example:
      funnelscope load events.csv --workspace shop.duckdb --table events --map user_id=uid,ts=time,event=event_name --tz Asia/Shanghai
    """
    import funnelscope as fs
    from funnelscope.cli.output import check_format, print_json, print_table
    from funnelscope.data.ingest import parse_column_map
    from funnelscope.progress import query_progress

    check_format(fmt)
    stage_list = [s.strip() for s in stages.split(",") if s.strip()] if stages else None
    columns = parse_column_map(map_) or None
    created = _new_paths(workspace)
    ws = None
    try:
        ws = fs.connect(str(workspace))
        with query_progress(ws.duckdb, f"loading {file.name}", enabled=not quiet):
            report = ws.load(
                file, table, columns=columns, tz=tz, strict=strict, epoch_unit=epoch_unit,
                format=input_format, stages=stage_list, encoding=encoding,
            )
    except BaseException:
        if created:
            if ws is not None:
                ws.close()
            _remove(created)
        raise
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
        f"[{'red' if data['conflicts'] else 'green'}]conflicts {data['conflicts']:,}[/] · "
        f"[{'red' if data['rejected'] else 'green'}]rejected {data['rejected']:,}[/]"
    )
    if data["conflicts"]:
        console.print(f"[red]{data['conflicts']:,} row(s) reuse an id with different values; "
                      "the first row was kept, the others are in table _rejected[/red]")
    if data["loaded"] == 0 and data["duplicates"] > 0:
        console.print("[dim]nothing new: every valid row is already in the workspace[/dim]")
    if data["rejections"]:
        print_table(data["rejections"][:20], title="first rejected rows (all in table _rejected)")


def _new_paths(workspace: Path) -> list[Path]:
    """What connecting to ``workspace`` would create: the file, its WAL and missing folders.

    Empty when the workspace file already exists (a failed load must then leave it alone).
    """
    path = workspace.expanduser()
    if path.exists():
        return []
    folders = [p for p in path.parents if not p.exists()]
    return [path, path.with_name(path.name + ".wal"), *folders]  # folders innermost first


def _remove(paths: list[Path]) -> None:
    """Delete the files and (empty) folders a failed load created."""
    import contextlib

    for p in paths:
        with contextlib.suppress(OSError):
            if p.is_dir():
                p.rmdir()
            else:
                p.unlink(missing_ok=True)


def register(app: typer.Typer) -> None:
    app.command("load")(load)
