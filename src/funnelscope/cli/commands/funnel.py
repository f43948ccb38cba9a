"""Terminal and CSV output of ``funnelscope funnel`` (the command is generated from the
analysis registry: funnelscope.analyses.registry.FUNNEL)."""

from __future__ import annotations

from typing import Any


def _is_comparison(result) -> bool:
    # by class name: the comparison module (and scipy behind it) stays unimported for a plain funnel
    return type(result).__name__ == "FunnelComparison"


def csv_rows(result, data: dict, view: dict, name: str) -> list[dict] | None:
    """CSV tables: steps as in the JSON; groups and periods with step names as columns;
    compare (with --compare / --compare-by) in long format, one row per funnel and step."""
    if _is_comparison(result):
        if name in ("compare", "steps"):  # steps: the default table, so --format csv alone works
            return result.records("compare")
        from funnelscope.errors import ConfigError

        raise ConfigError(f"a funnel comparison has no {name!r} table.",
                          hint="Use --table compare (one row per funnel and step).")
    if name == "compare":
        return None  # the registry says which option the table needs
    if name in ("groups", "periods"):
        key = "group" if name == "groups" else "period"
        if not result.records(name):
            return None  # the registry says which option the table needs
        return _breakdown_rows(result.records(name), result.spec, key, formatted=False)
    return None


def render(result, data: dict[str, Any], view: dict[str, Any]) -> None:
    if _is_comparison(result):
        render_comparison(result, data, view)
        return
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




def render_comparison(result, data: dict[str, Any], view: dict[str, Any]) -> None:
    """Per step, each funnel's entities and conversion; for every funnel after the first its
    difference in conversion from start against the first (percentage points, unpooled Wald
    95% interval), the pooled two-proportion z test's p-value and the relative difference.
    Rows with p < 0.05 are marked *."""
    from rich.console import Console

    from funnelscope.cli.output import print_table

    spec = result.spec.funnel
    by_label = {c["label"]: {s["step"]: s for s in c["steps"]} for c in result.comparisons}
    reference = result.funnels[0]["label"]
    rows = []
    for j, step in enumerate(spec.step_names):
        for f in result.funnels:
            s = f["steps"][j]
            c = by_label.get(f["label"], {}).get(step)
            row = {"step": step, "funnel": f["label"], "entities": s["entities"],
                   "from start": _pct(s["from_start"]), "from previous": _pct(s["from_previous"])}
            if c is None:
                row.update({"vs reference": "reference", "95% CI": "", "p-value": "",
                            "relative": "", "sig.": ""})
            else:
                point = c["ci_low"] is None or c["ci_low"] == c["ci_high"]  # e.g. step 1: 100%
                ci = "–" if point else f"{_pp(c['ci_low'])} to {_pp(c['ci_high'])}"
                row.update({"vs reference": _pp(c["difference"]), "95% CI": ci,
                            "p-value": _p(c["p_value"]), "relative": _rel(c["relative"]),
                            "sig.": "*" if c["significant"] else ""})
            rows.append(row)
    what = {"by": f"by {result.spec.column}", "period": "by entry period",
            "before": "before / from a day"}[result.spec.kind]
    print_table(rows, title=f"Funnel comparison {what} ({spec.mode}, window {spec.window}, "
                            f"{spec.count} of {spec.entity}s); reference: {reference}")
    console = Console()
    console.print("vs reference: conversion from start minus the reference's, in percentage "
                  "points (95% CI: unpooled Wald); p-value: two-proportion z test (pooled); "
                  "* = p < 0.05, not corrected for the number of steps and funnels.")
    still = result.meta.get("still_converting") or 0
    if still:
        console.print(f"{still:,} entrants' windows are still open at the end of the data "
                      "(counted as not converted yet): recent entries look lower.")


def _pp(x) -> str:
    return "–" if x is None or x != x else f"{x * 100:+.1f} pp"


def _p(x) -> str:
    if x is None or x != x:
        return "–"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def _rel(x) -> str:
    return "–" if x is None or x != x else f"{x:+.1%}"
