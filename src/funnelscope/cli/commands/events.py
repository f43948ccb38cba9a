"""``funnelscope events``: which event names the data holds (to write steps that match)."""

from __future__ import annotations

from pathlib import Path

import typer

from funnelscope.cli.common import FormatOpt


def events(
    workspace: Path = typer.Option(None, "--workspace", "-w", help="DuckDB workspace file.", envvar="FUNNELSCOPE_WORKSPACE"),
    events_file: Path = typer.Option(None, "--events", help="List the events of a file (CSV/Parquet/JSONL) in place instead of a workspace."),
    map_: str = typer.Option(None, "--map", help="With --events: your column names, canonical=yours (user_id=uid,ts=time,event=event_name)."),
    tz: str = typer.Option(None, "--tz", help="Time zone of first_seen / last_seen (and of naive times in --events)."),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="Only the N events with the most users."),
    fmt: str = FormatOpt,
) -> None:
    """Event names with their users and events, first and last seen; most users first.

    Funnel steps, retention start events and the like must match these names exactly.

    Example:
      funnelscope events --workspace demo/funnelscope.duckdb
      funnelscope events --events events.csv --map user_id=uid,ts=time,event=event_name --format json
    """
    from funnelscope.analyses.event_names import event_counts
    from funnelscope.cli.common import open_workspace
    from funnelscope.cli.output import check_format, print_csv, print_json, print_table
    from funnelscope.data.ingest import parse_column_map

    check_format(fmt)
    ws = open_workspace(
        workspace, read_only=True, events=events_file,
        columns={"events": parse_column_map(map_)} if map_ else None, tz=tz,
    )
    rows = event_counts(ws, limit=limit)
    if fmt == "json":
        print_json({"events": rows})
    elif fmt == "csv":
        if rows:
            print_csv(rows)
        else:
            print("event,users,events,first_seen,last_seen")
    else:
        shown = [r | {"first_seen": _short(r["first_seen"]), "last_seen": _short(r["last_seen"])}
                 for r in rows]
        source = str(workspace) if workspace is not None else str(events_file)
        print_table(shown, title=f"Events in {source} ({ws.config.timezone})")


def _short(iso: str | None) -> str | None:
    """``2026-01-01T00:01:43.819784+00:00`` -> ``2026-01-01 00:01:43`` for people."""
    return None if iso is None else iso[:19].replace("T", " ")


def register(app: typer.Typer) -> None:
    app.command("events")(events)
