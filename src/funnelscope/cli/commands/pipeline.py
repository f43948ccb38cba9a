"""Terminal and CSV output of ``funnelscope pipeline`` (the command is generated from the
analysis registry: funnelscope.analyses.registry.PIPELINE)."""

from __future__ import annotations

from typing import Any

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


def csv_rows(result, data: dict[str, Any], view: dict[str, Any], name: str):
    """``forecast``: the forecast's stage table; ``forecast_deals``: its per-deal table."""
    if name == "forecast":
        return data["forecast"]["stages"]
    if name == "forecast_deals":
        return result.forecast(data["forecast"]["period"]).tables["deals"]
    return None


def render(result, data: dict[str, Any], view: dict[str, Any]) -> None:
    from rich.console import Console

    from funnelscope.cli.output import print_table as _print_table

    def print_table(rows, **kw):
        _print_table(_for_people(rows), **kw)

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
    if data.get("bottlenecks_by"):
        print_table(data["bottlenecks_by"],
                    title=f"Top bottleneck per {data['spec'].get('by') or 'segment'} (ranked on "
                          "each segment's own deals)")
    if data.get("what_if"):
        w = data["what_if"]
        console.print(
            f"What if {w['previous_stage']} → {w['stage']} converted {w['new_conversion']:.1%} "
            f"instead of {w['current_conversion']:.1%}: won deals {w['change_won_deals']:+,.1f}, "
            f"won amount {w['change_won_amount']:+,.0f}."
        )

