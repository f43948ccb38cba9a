"""``funnelscope pipeline``: the sales-pipeline stage funnel, velocity, forecast and bottlenecks."""

from __future__ import annotations

from pathlib import Path

import typer

from funnelscope.cli.common import FormatOpt, WorkspaceOpt

CSV_TABLES = ("funnel", "funnel_by", "funnel_by_period", "velocity", "cycle", "stalled",
              "pipeline_velocity", "win_rates", "coverage", "bottlenecks", "backtest",
              "forecast", "forecast_deals")


def pipeline(
    workspace: Path = WorkspaceOpt,
    stages: str = typer.Option(None, "--stages", help="Stage list: a preset (telecom, b2b, salesforce) or names in order, comma-separated (default: the workspace's)."),
    win_stage: str = typer.Option(None, "--win-stage", help="Entering this stage means won (default: paying / won / Closed Won for the presets, else a stage named won, else the last)."),
    by: str = typer.Option(None, "--by", help="Break down by a deals column: owner, team, segment, product ..."),
    period: str = typer.Option(None, "--period", help="month | quarter: creation cohorts (funnel) and close periods (win rates)."),
    forecast: str = typer.Option(None, "--forecast", help="Period to forecast: 2026Q1, 2026-03 or 2026 (default: the first quarter starting at or after as-of)."),
    as_of: str = typer.Option(None, "--as-of", help="The analysis' 'now' (ISO time, UTC unless it has an offset; default: the latest stage entry)."),
    probabilities: str = typer.Option("historical", "--probabilities", help="Stage probabilities of the weighted forecast: historical | ramp | salesforce | stage=p,stage=p..."),
    controllability: str = typer.Option(None, "--controllability", help="How fixable each stage's losses are, 1-5: stage=n,stage=n (default: the workspace's, else 3)."),
    target: float = typer.Option(None, "--target", help="Quota for pipeline coverage (open pipeline / target)."),
    backtest_horizon: str = typer.Option(None, "--backtest-horizon", help="month | quarter (default: quarters if two can be scored, else months)."),
    no_backtest: bool = typer.Option(False, "--no-backtest", help="Skip the backtest (faster)."),
    what_if: str = typer.Option(None, "--what-if", help="Raise one stage's conversion: STAGE=POINTS (e.g. intent=5) or STAGE=best_owner."),
    tz: str = typer.Option(None, "--tz", help="Reporting time zone for months and quarters (default: the workspace's)."),
    csv_table: str = typer.Option("funnel", "--table", help=f"With --format csv: which table ({', '.join(CSV_TABLES)})."),
    fmt: str = FormatOpt,
) -> None:
    """Sales pipeline: stage funnel with Wilson intervals, velocity, win rates, forecast (weighted vs learned, backtested), bottlenecks.

    A deal reached a stage when its furthest stage is that one or later (skipped stages count
    as passed); it is lost at its furthest stage. Definitions: docs/pipeline.md.

    Example:
      funnelscope pipeline --workspace demo/funnelscope.duckdb --by owner --period quarter --forecast 2026Q2
      funnelscope pipeline -w crm.duckdb --stages b2b --what-if sql=5 --format json
    """
    from funnelscope.analyses.pipeline import pipeline as run_pipeline
    from funnelscope.cli.common import open_workspace
    from funnelscope.cli.output import check_format
    from funnelscope.errors import ConfigError

    check_format(fmt)
    if fmt == "csv" and csv_table not in CSV_TABLES:
        raise ConfigError(f"unknown --table {csv_table!r}.", hint=f"Use one of: {', '.join(CSV_TABLES)}.")
    probs: object = probabilities
    if "=" in probabilities:
        probs = {k: _number(v, "--probabilities") for k, v in _pairs(probabilities, "--probabilities")}
    ctrl = None
    if controllability:
        ctrl = {k: _whole(v) for k, v in _pairs(controllability, "--controllability")}
    ws = open_workspace(workspace, read_only=True, tz=tz)
    result = run_pipeline(ws, stages=stages, by=by, period=period, win_stage=win_stage,
                          as_of=as_of, probabilities=probs, controllability=ctrl, targets=target)
    data = result.to_dict(forecast_period=forecast, include_backtest=not no_backtest,
                          backtest_horizon=backtest_horizon)
    if what_if:
        stage, _, amount = what_if.rpartition("=")
        if not stage:
            raise ConfigError(f"cannot read --what-if {what_if!r}.", hint="Use STAGE=POINTS or STAGE=best_owner.")
        if amount.strip() == "best_owner":
            data["what_if"] = result.what_if(stage.strip(), to="best_owner")
        else:
            data["what_if"] = result.what_if(stage.strip(), _number(amount, "--what-if"))
    render(data, fmt, csv_table, result)


def _pairs(text: str, option: str) -> list[tuple[str, str]]:
    from funnelscope.errors import ConfigError

    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.rpartition("=")
        if not sep or not key.strip():
            raise ConfigError(f"cannot read {option} item {part!r}.", hint="Write stage=value, comma-separated.")
        out.append((key.strip(), value.strip()))
    return out


def _number(text: str, option: str) -> float:
    from funnelscope.errors import ConfigError

    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{option}: {text!r} is not a number.") from None


def _whole(text: str) -> int:
    from funnelscope.errors import ConfigError

    if not text.strip().isdigit():
        raise ConfigError(f"--controllability: {text!r} is not a whole number 1-5.")
    return int(text)


MONEY = ("amount", "forecast", "value", "priority", "actual", "size", "velocity")


def _for_people(rows: list[dict]) -> list[dict]:
    """Money columns rounded to whole units for the terminal tables."""
    out = []
    for r in rows:
        r = dict(r)
        for k, v in r.items():
            if isinstance(v, float) and any(m in k for m in MONEY) and "probability" not in k:
                r[k] = round(v)
        out.append(r)
    return out


def render(data: dict, fmt: str, csv_table: str, result) -> None:
    from funnelscope.cli.output import print_csv, print_json
    from funnelscope.cli.output import print_table as _print_table

    def print_table(rows, **kw):
        _print_table(_for_people(rows), **kw)

    if fmt == "json":
        print_json(data)
        return
    if fmt == "csv":
        if csv_table == "forecast":
            print_csv(data["forecast"]["stages"])
        elif csv_table == "forecast_deals":
            print_csv(result.forecast(data["forecast"]["period"]).tables["deals"])
        else:
            print_csv(data[csv_table])
        return
    from rich.console import Console

    console = Console()
    spec = data["spec"]
    print_table(data["funnel"], title=f"Stage funnel ({data['meta']['deals']:,} deals, won = "
                f"reached {spec['win_stage']})", columns=[
        "stage", "deals", "amount", "conversion_from_previous", "conversion_from_start", "lost",
        "loss_rate", "still_open", "regressions"])
    print_table(data["velocity"], title="Days in stage", columns=[
        "stage", "deals_timed", "median_days_in_stage", "p90_days_in_stage", "open_deals",
        "stalled_deals"])
    print_table(data["cycle"], title="Sales cycle (days)")
    print_table(data["pipeline_velocity"], title="Pipeline velocity (won amount per day)")
    rates = [r for r in data["win_rates"] if r["period"] == "(all)"]
    print_table(rates, title="Win rates", columns=[
        "group", "closed_deals", "won", "lost", "win_rate", "ci_low", "ci_high",
        "average_deal_size"])
    f = data["forecast"]
    print_table(f["stages"], title=f"Forecast {f['period']} (as of {f['as_of'][:10]})")
    learned = f["learned_forecast"]
    console.print(
        f"Weighted pipeline forecast: [bold]{f['weighted_forecast']:,.0f}[/bold] · learned: "
        f"[bold]{'–' if learned is None else f'{learned:,.0f}'}[/bold] · already won in the "
        f"period: {f['closed_won_amount']:,.0f}"
    )
    if data["backtest"]:
        s = data["backtest_summary"]
        print_table(data["backtest"], title=f"Backtest by {s['horizon']}", columns=[
            "period", "open_deals", "weighted_forecast", "learned_forecast", "actual",
            "weighted_error", "learned_error"])
        if s["more_accurate"]:
            console.print(
                f"MAPE weighted {s['weighted_mape']:.1%} vs learned {s['learned_mape']:.1%}: "
                f"[bold]{s['more_accurate']}[/bold] was more accurate on this data."
            )
    print_table(data["bottlenecks"], title="Bottlenecks: fix what is important and controllable first",
                columns=["rank", "from_stage", "to_stage", "lost", "value_if_passed",
                         "lost_value", "controllability", "priority"])
    if data.get("what_if"):
        w = data["what_if"]
        console.print(
            f"What if {w['previous_stage']} → {w['stage']} converted {w['new_conversion']:.1%} "
            f"instead of {w['current_conversion']:.1%}: won deals {w['change_won_deals']:+,.1f}, "
            f"won amount {w['change_won_amount']:+,.0f}."
        )


def register(app: typer.Typer) -> None:
    app.command("pipeline")(pipeline)
