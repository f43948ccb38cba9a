"""``funnelscope abtest`` (compare conversion counts) and ``funnelscope sample-size`` (plan a
test): experiments from counts alone, no workspace. Methods: docs/experiments.md."""

from __future__ import annotations

import math
import re

import typer

from funnelscope.cli.common import FormatOpt

_COUNTS = re.compile(r"^\s*(?:(?P<name>[^=]+?)\s*=\s*)?(?P<conv>[^/=]+?)\s*/\s*(?P<users>[^/=]+?)\s*$")


def parse_counts(text: str, option: str) -> tuple[str | None, int, int]:
    """``[NAME=]CONVERSIONS/USERS`` -> (name or None, conversions, users); ConfigError if not."""
    from funnelscope.errors import ConfigError

    hint = f"Write {option} CONVERSIONS/USERS (e.g. 250/1000) or {option} NAME=CONVERSIONS/USERS."
    m = _COUNTS.match(text or "")
    if not m:
        raise ConfigError(f"{option}: cannot read {text!r} as conversions/users.", hint=hint)
    values = []
    for part in ("conv", "users"):
        raw = m.group(part).replace(",", "").replace("_", "")
        if not raw.isdigit():
            raise ConfigError(f"{option}: {m.group(part)!r} in {text!r} is not a whole "
                              "number.", hint=hint)
        values.append(int(raw))
    conv, users = values
    if users == 0:
        raise ConfigError(f"{option}: {text!r} has zero users.", hint="Each variant needs users.")
    if conv > users:
        raise ConfigError(f"{option}: {text!r} has more conversions ({conv}) than users "
                          f"({users}).", hint=hint)
    return m.group("name"), conv, users


def _default_name(i: int) -> str:
    """B, C, ..., Z, then T27, T28 ... (the control is A)."""
    return chr(ord("B") + i) if i < 25 else f"T{i + 2}"


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
    from funnelscope.analyses.experiment.abtest import compare_counts
    from funnelscope.analyses.experiment.result import flat_comparisons
    from funnelscope.cli.output import check_format, print_csv, print_json
    from funnelscope.errors import ConfigError

    check_format(fmt)
    _, xc, nc = parse_counts(control, "--control")
    treatments = []
    for i, text in enumerate(treatment):
        name, x, n = parse_counts(text, "--treatment")
        treatments.append((name or _default_name(i), x, n))
    shares = None
    if split:
        try:
            shares = [float(s) for s in re.split(r"[,，、:]", split) if s.strip()]
        except ValueError:
            raise ConfigError(f"--split: cannot read {split!r} as numbers.",
                              hint="e.g. --split 50,50") from None
    result = compare_counts((xc, nc), treatments, alpha=alpha, expected_split=shares,
                            sequential_tuning=tuning)
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
    srm = result["srm"]
    if srm["ok"]:
        console.print(f"Sample ratio OK (chi-square p = {_p(srm['p_value'])}).")
    else:
        console.print(f"[bold red]Sample ratio mismatch[/bold red]: chi-square p = "
                      f"{_p(srm['p_value'])} < 0.001 — the users were not split as planned; "
                      "do not trust these comparisons until the assignment is fixed.")
    console.print("abs. = percentage points; rel. = treatment/control − 1; exp. loss = expected "
                  "loss of shipping the treatment (rate points). Methods: docs/experiments.md")


def sample_size(
    baseline: float = typer.Option(..., "--baseline", "-b", help="Control conversion rate, a fraction (0.2 = 20%)."),
    mde: float = typer.Option(..., "--mde", help="Smallest effect worth detecting: absolute rate points (0.05 = +5 points), or relative with --relative (0.05 = +5%)."),
    relative: bool = typer.Option(False, "--relative", help="--mde is relative to the baseline (target = baseline x (1 + mde))."),
    power: float = typer.Option(0.8, "--power", min=0.01, max=0.9999, help="Power, 1 - type II error."),
    alpha: float = typer.Option(0.05, "--alpha", min=0.0001, max=0.5, help="Two-sided significance level."),
    variants: int = typer.Option(2, "--variants", min=2, help="Number of variants, control included."),
    daily_users: float = typer.Option(None, "--daily-users", min=0.0, help="Users entering the experiment per day (all variants): adds the run time in days."),
    fmt: str = FormatOpt,
) -> None:
    """Users per variant to detect a change in conversion rate (R's power.prop.test).

    Two-sided test of two proportions at --alpha with --power; per_variant is rounded up.

    Example:
      funnelscope sample-size --baseline 0.2 --mde 0.05
      funnelscope sample-size --baseline 0.2 --mde 0.1 --relative --daily-users 2000 --format json
    """
    from funnelscope.analyses.experiment import stats as S
    from funnelscope.cli.output import check_format, print_csv, print_json, print_table
    from funnelscope.errors import ConfigError

    check_format(fmt)
    if not 0 < baseline < 1:
        raise ConfigError(f"--baseline must be a rate between 0 and 1, got {baseline}.",
                          hint="e.g. --baseline 0.2 for 20%.")
    if mde == 0:
        raise ConfigError("--mde must not be 0.", hint="e.g. --mde 0.05")
    target = baseline * (1 + mde) if relative else baseline + mde
    if not 0 < target < 1:
        raise ConfigError(f"baseline {baseline} with --mde {mde}{' (relative)' if relative else ''} "
                          f"gives a target rate of {target:.4g}, outside 0-1.",
                          hint="Use a smaller --mde (a fraction: 0.05 = 5 points, or 5% with --relative).")
    if daily_users is not None and daily_users <= 0:
        raise ConfigError("--daily-users must be positive.", hint="e.g. --daily-users 2000")
    exact = S.sample_size_two_proportions(baseline, target, power=power, alpha=alpha)
    per_variant = int(math.ceil(exact - 1e-9))
    out = {
        "per_variant": per_variant,
        "total": per_variant * variants,
        "per_variant_exact": exact,
        "variants": variants,
        "baseline": baseline,
        "target": target,
        "mde": mde,
        "relative": relative,
        "mde_absolute": target - baseline,
        "power": power,
        "alpha": alpha,
        "method": "R power.prop.test: two-sided two-proportion test, n per group solving "
                  "power = pnorm((sqrt(n)|p1-p2| - z(1-alpha/2) sqrt((p1+p2)(q1+q2)/2)) / "
                  "sqrt(p1 q1 + p2 q2))",
    }
    if daily_users is not None:
        out["daily_users"] = daily_users
        out["days"] = S.run_days(per_variant, variants, daily_users)
    if fmt == "json":
        print_json(out)
    elif fmt == "csv":
        print_csv([{k: v for k, v in out.items() if k != "method"}])
    else:
        rows = [
            {"": "baseline rate", "value": f"{baseline:.2%}"},
            {"": "target rate", "value": f"{target:.2%} ({(target - baseline) * 100:+.2f} points, "
                                         f"{target / baseline - 1:+.1%})"},
            {"": "power / alpha", "value": f"{power:.0%} / {alpha:g} (two-sided)"},
            {"": "users per variant", "value": f"{per_variant:,}"},
            {"": f"total ({variants} variants)", "value": f"{per_variant * variants:,}"},
        ]
        if daily_users is not None:
            rows.append({"": f"days at {daily_users:,.0f} users/day", "value": f"{out['days']:,}"})
        print_table(rows, title="Sample size (R power.prop.test)")


def register(app: typer.Typer) -> None:
    app.command("abtest")(abtest)
    app.command("sample-size")(sample_size)
