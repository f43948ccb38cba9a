"""``funnelscope report``: one self-contained HTML report of everything the workspace supports."""

from __future__ import annotations

from pathlib import Path

import typer


def report(
    workspace: Path = typer.Option(None, "--workspace", "-w", help="DuckDB workspace file.", envvar="FUNNELSCOPE_WORKSPACE"),
    config: Path = typer.Option(None, "--config", "-c", help="Definitions file (default: funnelscope.yml beside the workspace, else in the current directory)."),
    lang: str = typer.Option("en", "--lang", help="Language of every label and sentence: en | zh."),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="HTML file to write."),
) -> None:
    """Write an HTML report (opens offline): headline numbers, funnels and their biggest leaks, breakdowns, trends, retention, segments, value, pipeline and forecast.

    Each section appears when the workspace has its data; named funnels, segments, stage lists
    and metrics come from funnelscope.yml (docs/report.md).

    Example:
      funnelscope report --workspace demo/funnelscope.duckdb --lang zh --out demo/report.zh.html
    """
    import sys

    from funnelscope.cli.common import open_workspace
    from funnelscope.definitions import load_for
    from funnelscope.report.html import write_report
    from funnelscope.report.i18n import check_lang

    check_lang(lang)
    definitions = load_for(workspace, config)
    ws = open_workspace(workspace, read_only=True)
    path, errors = write_report(ws, out, definitions, lang)
    for e in errors:
        sys.stderr.write(f"warning: part of the report could not be computed: {e}\n")
    sys.stderr.write(f"report written to {path}\n")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
