"""``funnelscope funnel``: where customers leak out of an ordered sequence of steps."""

from __future__ import annotations

from pathlib import Path

import typer

from funnelscope.cli.common import FormatOpt


def funnel(
    steps: str = typer.Option(None, "--steps", "-s", help="Comma-separated event names in order, e.g. view,add_to_cart,checkout,pay."),
    name: str = typer.Option(None, "--name", "-n", help="A funnel named in funnelscope.yml (its steps, window, mode, period); other options override it."),
    config: Path = typer.Option(None, "--config", "-c", help="Definitions file for --name (default: funnelscope.yml beside the workspace, else in the current directory)."),
    window: str = typer.Option(None, "--window", help="Max time from the first step to the last: 30m, 1h, 7d, 2w, 3600s. [default: 7d]"),
    workspace: Path = typer.Option(None, "--workspace", "-w", help="DuckDB workspace file.", envvar="FUNNELSCOPE_WORKSPACE"),
    events: Path = typer.Option(None, "--events", help="Analyse an events file (CSV/Parquet/JSONL) in place instead of a workspace."),
    map_: str = typer.Option(None, "--map", help="With --events: your column names, canonical=yours (user_id=uid,ts=time,event=event_name)."),
    tz: str = typer.Option(None, "--tz", help="Reporting time zone (periods) and zone of naive times in --events."),
    mode: str = typer.Option(None, "--mode", help="ordered (later events may come between steps) | strict (nothing between) | any (any order). [default: ordered]"),
    by: str = typer.Option(None, "--by", help="Break down by a property of the first step (e.g. channel) or a customers column."),
    period: str = typer.Option(None, "--period", help="Conversion trend by entry period: day | week | month."),
    entity: str = typer.Option("user", "--entity", help="user | account (B2B: count companies)."),
    count: str = typer.Option("uniques", "--count", help="uniques (each entity once) | totals (every first-step event)."),
    exclude: list[str] = typer.Option(None, "--exclude", help="Event that disqualifies a path, optionally with steps: refund or refund:2:4. Repeatable."),
    start: str = typer.Option(None, "--start", help="Only events from this date/time (reporting time zone)."),
    end: str = typer.Option(None, "--end", help="Only events before this date/time."),
    first_time: bool = typer.Option(False, "--first-time", help="Only each entity's first first-step event can start the funnel."),
    no_censor: bool = typer.Option(False, "--no-censor", help="Count entities whose window is still open as dropped."),
    fmt: str = FormatOpt,
) -> None:
    """Conversion funnel: entities per step, conversion with 95% Wilson intervals, drop-off and time between steps.

    Example:
      funnelscope funnel --workspace demo/funnelscope.duckdb --steps view,add_to_cart,checkout,pay --window 7d --by channel
      funnelscope funnel --workspace demo/funnelscope.duckdb --name checkout --by channel
      funnelscope funnel --events events.parquet --steps view,pay --window 1d --format json
    """
    from funnelscope.cli.common import open_workspace
    from funnelscope.cli.output import check_format
    from funnelscope.data.ingest import parse_column_map
    from funnelscope.errors import ConfigError

    check_format(fmt)
    named = None
    if name:
        from funnelscope.definitions import load_for

        definitions = load_for(workspace, config)
        named = definitions.funnel(name)
        by = definitions.breakdown_column(by) if by else None
    elif not steps:
        raise ConfigError("give the funnel's steps (--steps view,pay) or a named funnel (--name checkout).")
    excl = []
    for item in exclude or []:
        parts = item.split(":")
        if len(parts) == 1:
            excl.append(parts[0])
        elif len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            excl.append((parts[0], int(parts[1]), int(parts[2])))
        else:
            raise ConfigError(f"cannot read --exclude {item!r}.", hint="Use EVENT or EVENT:FROM_STEP:TO_STEP, e.g. refund:2:4.")
    ws = open_workspace(
        workspace, read_only=True, events=events,
        columns={"events": parse_column_map(map_)} if map_ else None, tz=tz,
    )
    if named is not None and not tz:
        definitions.apply(ws)  # the file's reporting time zone
    options = dict(by=by, start=start, end=end, censor=not no_censor)
    given = dict(mode=mode, period=period, exclude=excl or None, first_time=first_time or None,
                 entity=entity if entity != "user" else None,
                 count=count if count != "uniques" else None)
    if named is not None:
        defined = named.options()
        options.update({k: v for k, v in defined.items() if v is not None})
        step_list = list(named.steps) if not steps else _split(steps)
        window = window or named.window
    else:
        step_list = _split(steps)
    options.update({k: v for k, v in given.items() if v is not None})
    result = ws.funnel(step_list, window or "7d", **options)
    render(result, fmt)


def _split(steps: str) -> list[str]:
    return [s.strip() for s in steps.split(",") if s.strip()]


def render(result, fmt: str) -> None:
    from funnelscope.cli.output import print_csv, print_json, print_table

    if fmt == "json":
        print_json(result.to_dict())
        return
    if fmt == "csv":
        print_csv(result.records("steps"))
        return
    from rich.console import Console

    spec = result.spec
    rows = []
    for r in result.records("steps"):
        ci = "–" if r["ci_low"] is None else f"{r['ci_low']:.1%}–{r['ci_high']:.1%}"
        rows.append({
            "step": r["step"], "entities": r["entities"],
            "from start": _pct(r["conversion_from_start"]), "95% CI": ci,
            "from previous": _pct(r["conversion_from_previous"]),
            "dropped": r["dropped"], "still converting": r["still_converting"],
            "median time": _human_seconds(r["median_seconds_from_previous"]) or "–",
        })
    title = f"Funnel ({spec.mode}, window {spec.window}, {spec.count} of {spec.entity}s)"
    print_table(rows, title=title)
    leak = result.biggest_leak()
    if leak:
        Console().print(
            f"Biggest leak: [bold]{leak['from']} → {leak['to']}[/bold] converts "
            f"{leak['conversion']:.1%} ({leak['lost']:,} lost)."
        )
    if result.records("groups"):
        print_table(_breakdown_rows(result.records("groups"), spec, "group"),
                    title=f"by {spec.by} (p-value: chi-square of the group's conversion vs the rest)")
    if result.records("periods"):
        print_table(_breakdown_rows(result.records("periods"), spec, "period"),
                    title=f"by entry {spec.period}")


def _breakdown_rows(records: list[dict], spec, key: str) -> list[dict]:
    names = spec.step_names
    rows = []
    for r in records:
        row = {key: r[key]}
        for j, name in enumerate(names, 1):
            row[name] = r[f"step_{j}"]
        row["conversion"] = r["conversion"]
        row["95% CI"] = "–" if r["ci_low"] is None else f"{r['ci_low']:.1%}–{r['ci_high']:.1%}"
        if "p_value" in r:
            row["p_value"] = r["p_value"]
        rows.append(row)
    return rows


def _pct(x) -> str:
    return "–" if x is None or x != x else f"{x:.1%}"


def _human_seconds(s) -> str | None:
    if s is None or s != s:
        return None
    s = float(s)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s / size:.1f}{unit}"
    return f"{s:.0f}s"


def register(app: typer.Typer) -> None:
    app.command("funnel")(funnel)
