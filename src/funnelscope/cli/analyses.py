"""One ``funnelscope <command>`` per registry entry, generated from its parameters.

Every analysis command has the same frame: where the data is (``--workspace`` or files in
place with ``--map``), ``--tz`` and ``--config`` (settings: workspace, then funnelscope.yml,
then flags), the analysis' own options (from :mod:`funnelscope.analyses.registry`), and
``--format table|json|csv`` with ``--table`` for CSV. Values go through the registry's one
parser, so the CLI and the API accept and refuse exactly the same things.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import typer

from funnelscope.analyses.registry import Analysis, Param, entries

FILE_HELP = {
    "events": "Analyse an events file (CSV/Parquet/JSONL) in place instead of a workspace.",
    "customers": "A customers file (user_id, first_seen, channel, ...) read in place.",
    "orders": "An orders file (user_id, ts, amount[, currency]) read in place.",
    "spend": "A spend file (date, channel, campaign, cost) read in place.",
    "deals": "A deals file (deal_id, stage, stage_entered_at, amount, ...) read in place.",
}
METAVARS = {"int": "INTEGER", "float": "NUMBER", "duration": "DURATION", "date": "DATE",
            "names": "NAMES", "ints": "NUMBERS", "pairs": "NAME=VALUE,...", "text": "TEXT"}


def _option(p: Param) -> inspect.Parameter:
    decls = [p.option] + ([p.short] if p.short else [])
    name = f"opt_{p.name}"
    if p.kind == "bool":
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                                 default=typer.Option(False, *decls, help=p.help))
    if p.repeat:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=list[str],
                                 default=typer.Option(None, *decls, help=p.help,
                                                      metavar=p.metavar or "TEXT"))
    metavar = p.metavar or ("|".join(p.choices) if p.kind == "choice" else METAVARS.get(p.kind))
    shown = p.default if not isinstance(p.default, list) else ",".join(map(str, p.default))
    help_text = p.help + (f" [default: {shown}]" if shown not in (None, "") and
                          "[default" not in p.help else "")
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str,
                             default=typer.Option(None, *decls, help=help_text, metavar=metavar))


def _frame(entry: Analysis) -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY
    out = [inspect.Parameter("workspace", kw, annotation=Path, default=typer.Option(
        None, "--workspace", "-w", metavar="FILE",
        help="DuckDB workspace file (created by `funnelscope load`); with --spark, a Spark "
             "database.",
        envvar="FUNNELSCOPE_WORKSPACE"))]
    for table in entry.files:
        out.append(inspect.Parameter(f"file_{table}", kw, annotation=Path, default=typer.Option(
            None, f"--{table}", metavar="FILE", help=FILE_HELP[table],
            rich_help_panel="Files in place")))
    if entry.files:
        out.append(inspect.Parameter("map_", kw, annotation=str, default=typer.Option(
            None, "--map", metavar="CANONICAL=YOURS,...", rich_help_panel="Files in place",
            help=f"With files in place: your {entry.map_table} column names, canonical=yours "
                 "(e.g. user_id=uid,ts=time,event=event_name).")))
        out.append(inspect.Parameter("epoch_unit", kw, annotation=str, default=typer.Option(
            None, "--epoch-unit", metavar="s|ms|us|ns", rich_help_panel="Files in place",
            help="With files in place: the unit of integer (epoch) times. Default: each value's "
                 "magnitude decides, as `funnelscope load` does.")))
    out += [
        inspect.Parameter("tz", kw, annotation=str, default=typer.Option(
            None, "--tz", metavar="ZONE", help="Reporting time zone for day/week/month boundaries (and naive "
                               "times of files in place), e.g. Asia/Shanghai. Default: "
                               "funnelscope.yml's, else the workspace's.")),
        inspect.Parameter("config", kw, annotation=Path, default=typer.Option(
            None, "--config", "-c", metavar="FILE", help="Definitions file (default: funnelscope.yml beside "
                                         "the workspace, else in the current directory).")),
        inspect.Parameter("spark", kw, annotation=str, default=typer.Option(
            None, "--spark", metavar="MASTER", rich_help_panel="Spark",
            help="Run on Spark: the master URL, e.g. local[2] or spark://host:7077. Files "
                 "(--events ...) are then read in place by Spark (or name catalog tables), and "
                 "--workspace names a Spark database.")),
        inspect.Parameter("spark_conf", kw, annotation=list[str], default=typer.Option(
            None, "--spark-conf", metavar="KEY=VALUE", rich_help_panel="Spark",
            help="A Spark setting for --spark (repeatable), e.g. spark.driver.memory=4g.")),
    ]
    out += [_option(p) for p in entry.params if p.cli]
    out += [
        inspect.Parameter("fmt", kw, annotation=str, default=typer.Option(
            "table", "--format", "-f", metavar="table|json|csv",
            help="Output: table (for people), json or csv.")),
        inspect.Parameter("csv_table", kw, annotation=str, default=typer.Option(
            None, "--table", metavar="NAME", help=f"With --format csv: which table ({', '.join(entry.csv)}; "
                                  f"default {entry.csv[0] if entry.csv else 'the first'}).")),
        inspect.Parameter("quiet", kw, annotation=bool, default=typer.Option(
            False, "--quiet", "-q", help="No progress display.")),
    ]
    return out


def _help(entry: Analysis) -> str:
    text = entry.summary
    if entry.description:
        text += "\n\n" + entry.description
    if entry.examples:
        text += "\n\nExample:\n" + "\n".join(f"  {e}" for e in entry.examples)
    return text


def make_command(entry: Analysis):
    """A typer command function for ``entry``."""

    def command(**values: Any) -> None:
        raw: dict[str, Any] = {}
        for p in entry.params:
            if not p.cli:
                continue
            value = values.get(f"opt_{p.name}")
            if p.kind == "bool":
                value = (not p.invert) if value else None
            elif p.repeat:
                value = list(value) if value else None
            raw[p.name] = value
        files = {t: values.get(f"file_{t}") for t in entry.files}
        execute(entry, raw, workspace=values["workspace"], files=files,
                map_=values.get("map_"), epoch_unit=values.get("epoch_unit"),
                tz=values["tz"], config=values["config"],
                spark=values.get("spark"), spark_conf=values.get("spark_conf"),
                fmt=values["fmt"], csv_table=values["csv_table"], quiet=values["quiet"])

    command.__signature__ = inspect.Signature(_frame(entry))  # type: ignore[attr-defined]
    command.__doc__ = _help(entry)
    command.__name__ = entry.name
    return command


def execute(entry: Analysis, raw: dict[str, Any], *, workspace: Path | None,
            files: dict[str, Any], map_: str | None, tz: str | None, config: Path | None,
            fmt: str, csv_table: str | None, quiet: bool, epoch_unit: str | None = None,
            spark: str | None = None, spark_conf: list[str] | None = None) -> None:
    """Open the data, resolve settings, parse, run (with progress) and print; then exit with
    the entry's ``exit_status`` hook's code when it is not 0."""
    from funnelscope.analyses import registry
    from funnelscope.cli.common import open_workspace
    from funnelscope.cli.output import check_format
    from funnelscope.definitions import load_for
    from funnelscope.errors import ConfigError

    check_format(fmt)
    if csv_table is not None and csv_table not in entry.csv:
        raise ConfigError(f"unknown --table {csv_table!r}.{registry.suggest(csv_table, entry.csv)}",
                          hint=f"Use one of: {', '.join(entry.csv)}.")
    writes = bool(entry.writes and raw.get(entry.writes))
    if writes and workspace is None:
        raise ConfigError(f"--{entry.writes} needs --workspace W: segments are kept in a workspace.",
                          hint="Load the files first: funnelscope load FILE --workspace W.")
    columns = None
    if map_:
        from funnelscope.data.ingest import parse_column_map

        columns = {entry.map_table: parse_column_map(map_)}
    definitions = load_for(workspace, config)
    ws = open_workspace(workspace, read_only=not writes, tz=tz or definitions.timezone,
                        columns=columns, epoch_unit=epoch_unit, spark=spark,
                        spark_conf=spark_conf,
                        **{k: v for k, v in files.items() if v is not None})
    registry.apply_settings(ws, definitions, tz)
    call = registry.parse(entry, raw, definitions, ws.config)
    with working(ws, entry.title or entry.name, quiet):
        result = registry.run(ws, call)
        data = registry.to_json(result, call)
    emit(entry, result, data, call.view, fmt, csv_table)
    if entry.exit_status:  # e.g. watch: 1 when an alert fired (cron-friendly)
        import sys

        status = registry.load(entry.exit_status)(result)
        if status:
            sys.exit(status)  # not typer.Exit: click returns that code without standalone_mode


def working(ws: Any, label: str, quiet: bool):
    """Progress display while an analysis computes (on a terminal, after a short delay)."""
    import contextlib
    import sys

    if quiet or not sys.stderr.isatty():
        return contextlib.nullcontext()
    try:
        from funnelscope import progress
    except ImportError:
        return contextlib.nullcontext()
    if ws.engine == "duckdb" and hasattr(progress, "query_progress"):
        return progress.query_progress(ws.duckdb, label, enabled=True)
    if hasattr(progress, "spinner"):
        return progress.spinner(label, enabled=True)
    return contextlib.nullcontext()


def emit(entry: Analysis, result: Any, data: dict[str, Any], view: dict[str, Any], fmt: str,
         csv_table: str | None) -> None:
    """Print ``data`` (the JSON), one CSV table, or the tables for people."""
    from funnelscope.cli.output import print_csv, print_json

    if fmt == "json":
        print_json(data)
        return
    if fmt == "csv":
        print_csv(table_rows(entry, result, data, view, csv_table))
        return
    if entry.render:
        from funnelscope.analyses.registry import load

        load(entry.render)(result, data, view)
    else:
        render_generic(entry, data)
    saved = (getattr(result, "meta", None) or {}).get("saved_columns")
    if saved:
        from rich.console import Console

        Console().print(f"Saved {', '.join(saved)} in the workspace table [bold]segments[/bold]"
                        f" (use --by {saved[0]} in funnels and retention).")


def table_rows(entry: Analysis, result: Any, data: dict[str, Any], view: dict[str, Any],
               name: str | None) -> Any:
    """The rows ``--format csv --table NAME`` prints (records or a DataFrame)."""
    from funnelscope.errors import ConfigError

    if name is None:
        shown = view.get("show")
        shown = [shown] if isinstance(shown, str) else shown
        name = shown[0] if shown and len(shown) == 1 and shown[0] in entry.csv else \
            (entry.csv[0] if entry.csv else next(iter(data)))
    if entry.csv_rows:
        from funnelscope.analyses.registry import load

        rows = load(entry.csv_rows)(result, data, view, name)
        if rows is not None:
            return rows
    value = data.get(name)
    tables = getattr(result, "tables", {}) or {}
    if isinstance(value, list) and value:
        return value
    if isinstance(value, dict):
        return [value]
    if name in tables and len(getattr(tables[name], "columns", ())):
        return tables[name]
    if isinstance(value, list) and name not in entry.csv_needs:
        return value  # a table that is empty in this data
    needs = entry.csv_needs.get(name)
    raise ConfigError(f"this {entry.name} result has no {name!r} table"
                      + (f": it needs {needs}." if needs else "."),
                      hint=f"Tables here: {', '.join(k for k, v in data.items() if isinstance(v, list) and v)}.")


def render_generic(entry: Analysis, data: dict[str, Any]) -> None:
    """Terminal output for an analysis without its own renderer: every table, then facts."""
    from funnelscope.cli.output import print_table

    for name, value in data.items():
        if name in ("spec", "meta"):
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            print_table(value, title=f"{entry.title or entry.name}: {name}")


def register(app: typer.Typer) -> None:
    for entry in entries():
        app.command(entry.cli_name, help=_help(entry))(make_command(entry))
