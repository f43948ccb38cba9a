"""``funnelscope demo``: generate the demo datasets, load them, print a first funnel."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

import typer

DEMO_FUNNEL = ["view", "add_to_cart", "checkout", "pay"]
DEMO_START = "2026-01-01"  # first day of the generated data


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def funnelscope_command(cwd: str | Path | None = None) -> str:
    """How to run this funnelscope from ``cwd`` in a shell.

    ``funnelscope`` when that name already reaches this installation (its virtual
    environment is activated: VIRTUAL_ENV is sys.prefix, or PATH finds its script);
    otherwise the script's path, relative when under ``cwd`` (``.venv/bin/funnelscope``);
    ``python -m funnelscope`` when there is no script.
    """
    cwd = Path.cwd() if cwd is None else Path(cwd)
    script = Path(sys.prefix) / ("Scripts/funnelscope.exe" if os.name == "nt" else "bin/funnelscope")
    active = os.environ.get("VIRTUAL_ENV")
    if sys.prefix != sys.base_prefix and active and _same_file(active, sys.prefix):
        return "funnelscope"
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m funnelscope"
    found = shutil.which("funnelscope")
    if found and _same_file(found, script):
        return "funnelscope"
    absolute = Path(os.path.abspath(script))
    try:
        relative = absolute.relative_to(os.path.abspath(cwd))
    except ValueError:
        return shlex.quote(str(absolute))
    return shlex.quote(str(relative) if len(relative.parts) > 1 else f"./{relative}")


def split_day(start: str = DEMO_START, days: int = 90) -> date:
    """First day of the "later" period in the demo's next steps: two thirds into the data,
    moved back to the first of its month if that is still in the second half
    (2026-03-01 for the default 90 days from 2026-01-01)."""
    first = date.fromisoformat(start)
    cut = first + timedelta(days=max(days * 2 // 3, 1))
    month_start = cut.replace(day=1)
    return month_start if month_start >= first + timedelta(days=max(days // 2, 1)) else cut


def next_steps(workspace: str | Path, *, start: str = DEMO_START, days: int = 90,
               deals: bool = True, cwd: str | Path | None = None) -> list[str]:
    """Shell commands to try after the demo, runnable as printed from ``cwd``."""
    fs_cmd = funnelscope_command(cwd)
    ws = shlex.quote(str(workspace))
    cut = split_day(start, days)
    lines = [
        f"{fs_cmd} funnel --workspace {ws} --steps {','.join(DEMO_FUNNEL)} --window 7d "
        "--by channel",
        f"{fs_cmd} retention --workspace {ws} --period week --periods 6",
        f"{fs_cmd} rfm --workspace {ws} --as-of {cut - timedelta(days=1)} --save",
        f"{fs_cmd} funnel --workspace {ws} --steps view,add_to_cart,pay --start {cut} "
        "--by rfm_segment",
    ]
    if deals:
        lines.append(f"{fs_cmd} pipeline --workspace {ws} --by owner")
    return lines


def demo(
    dataset: str = typer.Option("ecommerce", "--dataset", "-d", help="ecommerce | saas | finance | b2b | all"),
    users: int = typer.Option(20_000, "--users", help="Users (or accounts) to simulate; 1,000,000 users ≈ 10M+ events."),
    seed: int = typer.Option(42, "--seed", help="Random seed: the same seed gives the same data."),
    workspace: Path = typer.Option(Path("demo/funnelscope.duckdb"), "--workspace", "-w", help="Workspace file to load into."),
    export: Path = typer.Option(None, "--export", help="Also write the raw input files here (CSV + Parquet), to learn the input format."),
    days: int = typer.Option(90, "--days", help="Days of history to simulate."),
) -> None:
    """Generate seeded demo data (known ground truth), load it and print a first funnel.

    With --dataset all, the workspace holds the e-commerce events, customers, orders and spend
    plus the b2b deals; saas and finance go to their own workspaces beside it
    (demo/saas.duckdb, demo/finance.duckdb). Ground truth: docs/demo-data.md.

    Example:
      funnelscope demo --dataset all --workspace demo/funnelscope.duckdb --export demo/data
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    import funnelscope as fs
    from funnelscope.data.demo import DATASETS, generate
    from funnelscope.data.demo import export as export_tables
    from funnelscope.errors import ConfigError

    if dataset != "all" and dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {dataset!r}.", hint=f"Use one of: {', '.join(DATASETS)}, all.")
    if users < 1:
        raise ConfigError("--users must be at least 1.")
    console = Console(stderr=True)
    names = list(DATASETS) if dataset == "all" else [dataset]
    plan: dict[Path, list[tuple[str, str]]] = {}
    for name in names:
        if dataset == "all" and name in ("saas", "finance"):
            target = workspace.with_name(f"{name}.duckdb")
            plan.setdefault(target, []).extend((name, t) for t in ("events", "customers", "orders", "spend"))
        elif dataset == "all" and name == "b2b":
            plan.setdefault(workspace, []).append((name, "deals"))
        else:
            plan.setdefault(workspace, []).extend(
                (name, t) for t in ("events", "customers", "orders", "deals", "spend", "exposures",
                                    "responses"))
    generated: dict[str, dict] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("generating", total=len(names) + sum(len(v) for v in plan.values()))
        for name in names:
            progress.update(task, description=f"generating {name}")
            generated[name] = generate(name, users=users, seed=seed, start=DEMO_START, days=days)
            if export:
                export_tables(generated[name], export / name, fmt="csv")
                export_tables(generated[name], export / name, fmt="parquet")
            progress.advance(task)
        for target, items in plan.items():
            for old in (target, target.with_name(target.name + ".wal")):
                old.unlink(missing_ok=True)
            ws = fs.connect(str(target))
            for name, table in items:
                if table not in generated[name]:
                    progress.advance(task)
                    continue
                progress.update(task, description=f"loading {name}.{table} → {target.name}")
                report = ws.load(generated[name][table], table)
                if report.rejected:
                    console.print(f"[red]{name}.{table}: {report.rejected} rows rejected[/red]")
                progress.advance(task)
            ws.close()
    for target in plan:
        console.print(f"workspace [bold]{target}[/bold]")
    if export:
        console.print(f"raw input files in [bold]{export}[/bold]")
    main = workspace if workspace in plan and any(n == "ecommerce" for n, _ in plan[workspace]) else None
    if main is None:
        return
    from funnelscope.cli.commands.funnel import render

    ws = fs.connect(str(main), read_only=True)
    result = ws.funnel(DEMO_FUNNEL, "7d")
    render(result, {}, {})
    deals = ws.has_table("deals")
    ws.close()
    from funnelscope.report.demo import write_demo_report

    report, problems = write_demo_report(main)
    for p in problems:
        console.print(f"[yellow]report: {p}[/yellow]")
    console.print(f"report [bold]{report}[/bold] (definitions: {report.parent / 'funnelscope.yml'})")
    console.print("Next steps (from this directory):")
    for line in next_steps(main, days=days, deals=deals):
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
