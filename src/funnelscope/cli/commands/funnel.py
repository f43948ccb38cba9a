"""Terminal and CSV output of ``funnelscope funnel`` (the command is generated from the
analysis registry: funnelscope.analyses.registry.FUNNEL)."""

from __future__ import annotations

from typing import Any


def csv_rows(result, data: dict, view: dict, name: str) -> list[dict] | None:
    """CSV tables: steps as in the JSON; groups and periods with step names as columns."""
    if name in ("groups", "periods"):
        key = "group" if name == "groups" else "period"
        if not result.records(name):
            return None  # the registry says which option the table needs
        return _breakdown_rows(result.records(name), result.spec, key, formatted=False)
    return None


def render(result, data: dict[str, Any], view: dict[str, Any]) -> None:
    from rich.console import Console

    from funnelscope.analyses.display import duration
    from funnelscope.cli.output import print_table

    spec = result.spec
    rows = []
    for r in result.records("steps"):
        ci = "–" if r["ci_low"] is None else f"{r['ci_low']:.1%}–{r['ci_high']:.1%}"
        rows.append({
            "step": r["step"], "entities": r["entities"],
            "from start": _pct(r["conversion_from_start"]), "95% CI": ci,
            "from previous": _pct(r["conversion_from_previous"]),
            "dropped": r["dropped"], "still converting": r["still_converting"],
            "median time": duration(r["median_seconds_from_previous"]),
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


def _breakdown_rows(records: list[dict], spec, key: str, formatted: bool = True) -> list[dict]:
    """Breakdown records with the step names as column names (step_1 -> view)."""
    names = spec.step_names
    rows = []
    for r in records:
        row = {key: r[key]}
        for j, name in enumerate(names, 1):
            row[name] = r[f"step_{j}"]
        row["conversion"] = r["conversion"]
        if formatted:
            row["95% CI"] = "–" if r["ci_low"] is None else f"{r['ci_low']:.1%}–{r['ci_high']:.1%}"
        else:
            row["ci_low"], row["ci_high"] = r["ci_low"], r["ci_high"]
        for extra in ("p_value", "still_converting"):
            if extra in r and (formatted is False or extra == "p_value"):
                row[extra] = r[extra]
        rows.append(row)
    return rows


def _pct(x) -> str:
    return "–" if x is None or x != x else f"{x:.1%}"


