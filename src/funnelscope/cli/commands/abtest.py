"""``funnelscope abtest`` (compare conversion counts) and ``funnelscope sample-size`` (plan a
test): experiments from counts alone, no workspace. Methods: docs/experiments.md."""

from __future__ import annotations

from pathlib import Path

import typer

from funnelscope.cli.common import FormatOpt


def abtest(
    control: str = typer.Option(..., "--control", "-c", help="Control counts CONVERSIONS/USERS, e.g. 200/1000 (named A)."),
    treatment: list[str] = typer.Option(..., "--treatment", "-t", help="Treatment counts CONVERSIONS/USERS or NAME=CONVERSIONS/USERS; repeat for more (default names B, C, ...)."),
    alpha: float = typer.Option(0.05, "--alpha", min=0.0001, max=0.5, help="Two-sided significance level; intervals are 1 - alpha."),
    split: str = typer.Option(None, "--split", help="Planned share of users per variant, control first (e.g. 50,25,25), for the sample-ratio check; default equal."),
    tuning: float = typer.Option(5000.0, "--tuning", min=1.0, help="Sequential tuning parameter N* (GrowthBook's default 5000)."),
    fmt: str = FormatOpt,
) -> None:
    """Compare the conversion rate of treatments with a control from counts alone.

    Absolute and relative lift with confidence intervals, always-valid (sequential) interval,
    Bayesian chance to win and expected loss, z / chi-square / Fisher tests, Holm-adjusted
    p-values across treatments and a sample-ratio-mismatch check. Methods: docs/experiments.md.

    Example:
      funnelscope abtest --control 200/1000 --treatment 250/1000
      funnelscope abtest --control 200/1000 --treatment B=260/1000 --treatment C=215/1000 --format json
    """
    from funnelscope.analyses.experiment.requests import abtest_from_text
    from funnelscope.analyses.experiment.result import flat_comparisons
    from funnelscope.cli.output import check_format, print_csv, print_json

    check_format(fmt)
    result = abtest_from_text(control, list(treatment), alpha=alpha, split=split, tuning=tuning)
    if fmt == "json":
        print_json(result)
    elif fmt == "csv":
        print_csv(flat_comparisons(result))
    else:
        _print_abtest(result)


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "–"
    return f"{x:+.2%}" if signed else f"{x:.2%}"


def _points(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.3f} pts"


def _p(x: float | None) -> str:
    return "–" if x is None else (f"{x:.3f}" if x >= 0.001 else f"{x:.1e}")


def print_srm(console, srm: dict) -> None:
    """The sample-ratio check in one line (abtest and experiment)."""
    if srm["ok"]:
        console.print(f"Sample ratio OK (chi-square p = {_p(srm['p_value'])}).")
    else:
        console.print(f"[bold red]Sample ratio mismatch[/bold red]: chi-square p = "
                      f"{_p(srm['p_value'])} < 0.001 — the users were not split as planned; "
                      "do not trust these comparisons until the assignment is fixed.")


def _print_abtest(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))
    level = f"{1 - result['alpha']:.0%}"
    variants = Table(title="Variants", title_justify="left", header_style="bold")
    for col in ("variant", "users", "conversions", "rate"):
        variants.add_column(col, justify="left" if col == "variant" else "right")
    for v in result["variants"]:
        variants.add_row(v["variant"], f"{v['users']:,}", f"{v['conversions']:,}", _pct(v["rate"]))
    console.print(variants)

    table = Table(title=f"Treatment vs control ({level} intervals, two-sided p-values)",
                  title_justify="left", header_style="bold")
    cols = ("variant", "abs. lift", f"{level} CI", "p", "rel. lift", f"{level} CI ",
            "sequential CI", "seq. p", "chance to win", "exp. loss", "p (Holm)")
    for col in cols:
        table.add_column(col, justify="left" if col == "variant" else "right")
    for c in result["comparisons"]:
        a, r, s, b = c["absolute"], c["relative"], c["sequential"], c["bayesian"]
        table.add_row(
            f"{c['variant']} vs {c['control']}",
            _pct(a["estimate"], True), f"{_pct(a['ci_low'], True)} to {_pct(a['ci_high'], True)}",
            _p(a["p_value"]),
            _pct(r["estimate"], True), f"{_pct(r['ci_low'], True)} to {_pct(r['ci_high'], True)}",
            f"{_pct(s['ci_low'], True)} to {_pct(s['ci_high'], True)}", _p(s["p_value"]),
            _pct(b["chance_to_win"]), _points(b["expected_loss"]), _p(c["p_adjusted"]),
        )
    console.print(table)
    print_srm(console, result["srm"])
    console.print("abs. = percentage points; rel. = treatment/control − 1; exp. loss = expected "
                  "loss of shipping the treatment (rate points). Methods: docs/experiments.md")


def sample_size(
    baseline: float = typer.Option(..., "--baseline", "-b", help="Control conversion rate, a fraction (0.2 = 20%)."),
    mde: float = typer.Option(None, "--mde", help="Smallest effect worth detecting: absolute rate points (0.05 = +5 points), or relative with --relative (0.05 = +5%). Gives the users needed."),
    users: int = typer.Option(None, "--users", min=2, help="Users per variant you can get: gives the smallest effect they detect (the MDE) instead."),
    relative: bool = typer.Option(False, "--relative", help="--mde (and the MDE found) is relative to the baseline (target = baseline x (1 + mde))."),
    power: float = typer.Option(0.8, "--power", min=0.01, max=0.9999, help="Power, 1 - type II error."),
    alpha: float = typer.Option(0.05, "--alpha", min=0.0001, max=0.5, help="Two-sided significance level."),
    variants: int = typer.Option(2, "--variants", min=2, help="Number of variants, control included."),
    daily_users: float = typer.Option(None, "--daily-users", min=0.0, help="Users entering the experiment per day (all variants): adds the run time in days."),
    workspace: Path = typer.Option(None, "--workspace", "-w", help="Measure the daily users from this workspace instead (with --entry-event)."),
    entry_event: str = typer.Option(None, "--entry-event", metavar="EVENT", help="With --workspace: users entering per day = distinct users of EVENT in the last 28 days / 28."),
    fmt: str = FormatOpt,
) -> None:
    """Users per variant to detect a change in conversion rate, or the change a number of
    users detects (R's power.prop.test), and how long the test runs.

    Two-sided test of two proportions at --alpha with --power; per_variant is rounded up.
    The run time divides the users all variants need by the users entering per day: given
    (--daily-users) or measured on a workspace's current traffic (--workspace --entry-event).

    Example:
      funnelscope sample-size --baseline 0.2 --mde 0.05
      funnelscope sample-size --baseline 0.2 --mde 0.1 --relative --daily-users 2000 --format json
      funnelscope sample-size --baseline 0.12 --users 3000 --relative
      funnelscope sample-size --baseline 0.12 --mde 0.1 --relative --workspace demo/funnelscope.duckdb --entry-event view
    """
    from funnelscope.analyses.experiment.requests import daily_entrants, sample_size_plan
    from funnelscope.cli.output import check_format, print_csv, print_json, print_table
    from funnelscope.errors import ConfigError

    check_format(fmt)
    traffic = None
    if entry_event is not None or workspace is not None:
        if entry_event is None or workspace is None:
            raise ConfigError("measuring traffic needs both --workspace and --entry-event.",
                              hint="e.g. --workspace demo/funnelscope.duckdb --entry-event view")
        if daily_users is not None:
            raise ConfigError("give --daily-users or --workspace/--entry-event, not both.")
        import funnelscope as fs

        ws = fs.connect(str(workspace), read_only=True)
        try:
            traffic = daily_entrants(ws, entry_event)
        finally:
            ws.close()
        daily_users = traffic["daily_users"]
    out = sample_size_plan(baseline, mde, relative=relative, power=power, alpha=alpha,
                           variants=variants, daily_users=daily_users, users=users,
                           traffic=traffic)
    target, per_variant = out["target"], out["per_variant"]
    if fmt == "json":
        print_json(out)
    elif fmt == "csv":
        print_csv([{k: v for k, v in out.items() if k not in ("method", "traffic")}])
    else:
        effect = (f"{target:.2%} ({(target - baseline) * 100:+.2f} points, "
                  f"{target / baseline - 1:+.1%})")
        rows = [
            {"": "baseline rate", "value": f"{baseline:.2%}"},
            {"": "detectable target rate" if users is not None else "target rate",
             "value": effect},
            {"": "power / alpha", "value": f"{power:.0%} / {alpha:g} (two-sided)"},
            {"": "users per variant", "value": f"{per_variant:,}"},
            {"": f"total ({variants} variants)", "value": f"{per_variant * variants:,}"},
        ]
        if daily_users is not None:
            source = (f" ({traffic['event']}: {traffic['users']:,} users in the last "
                      f"{traffic['days']} days)" if traffic else "")
            rows.append({"": f"days at {daily_users:,.0f} users/day{source}",
                         "value": f"{out['days']:,}"})
        print_table(rows, title="Sample size (R power.prop.test)" if users is None
                    else "Minimum detectable effect (R power.prop.test)")


def register(app: typer.Typer) -> None:
    app.command("abtest")(abtest)
    app.command("sample-size")(sample_size)
