"""Terminal output of ``funnelscope benchmark``: one row per metric, rates as percentages
(gaps in percentage points), amounts with the benchmark's currency, and the reason when a
figure is not measurable here."""

from __future__ import annotations

from typing import Any


def _value(value: Any, unit: str, gap: bool = False) -> str:
    from funnelscope.analyses.result import jsonable

    value = jsonable(value)
    if value is None:
        return "–"
    if unit == "rate":
        return f"{value * 100:+.1f} pp" if gap else f"{value:.1%}"
    return f"{value:+,.0f} {unit}" if gap else f"{value:,.0f} {unit}"


def render(result, data: dict, view: dict) -> None:
    from funnelscope.cli.output import print_table

    rows = []
    for r in result.tables["comparison"].to_dict(orient="records"):
        unit = r["unit"]
        rows.append({
            "metric": r["metric"], "yours": _value(r["yours"], unit),
            "benchmark": _value(r["benchmark"], unit), "gap": _value(r["gap"], unit, gap=True),
            "better": r["better"] or "–", "direction": r["direction"],
            "note": r["note"] or ("from funnelscope.yml" if r["source"] != "default" else ""),
        })
    meta = result.meta
    print_table(rows, title=f"Benchmark: {meta['industry']} (gap = yours − benchmark; better: "
                            "above | below | on par within 5% of the benchmark)")
    print("Definitions: funnelscope benchmark --format json, or docs/metrics.md (Benchmarks).")
