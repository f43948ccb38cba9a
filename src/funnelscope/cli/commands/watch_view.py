"""Terminal output and CSV rows of ``funnelscope watch``: the alerts (with the segments that
explain them), then one row per day with each metric as observed (expected); ▼ / ▲ mark an
alert, ``·`` a day not judged (window still open, few entrants or no baseline)."""

from __future__ import annotations

from typing import Any


def _value(metric: str, value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if metric == "entrants" else f"{value:.1%}"


def _size(metric: str, value: float) -> str:
    return f"{value:+,.0f}" if metric == "entrants" else f"{value * 100:+.1f} pp"


def _segments(metric: str, segments: list[dict]) -> str:
    return ", ".join(f"{s['segment']} ({_size(metric, s['contribution'])})" for s in segments)


def render(result, data: dict, view: dict) -> None:
    from rich.console import Console

    from funnelscope.cli.output import print_table

    meta, spec = data["meta"], data["spec"]
    alerts = data["alerts"]
    console = Console()
    if alerts:
        print_table([{
            "date": a["date"], "metric": a["metric"], "observed": _value(a["metric"], a["observed"]),
            "expected": _value(a["metric"], a["expected"]),
            "band": f"{_value(a['metric'], a['low'])}–{_value(a['metric'], a['high'])}",
            "change": _size(a["metric"], a["size"]) + (" ▼" if a["direction"] == "down" else " ▲"),
            **({"explained by": _segments(a["metric"], a["top_segments"]) or "–"}
               if spec.get("by") else {}),
        } for a in alerts], title=f"Alerts: {len(alerts)}")
    marks = {(a["metric"], a["date"]): " ▼" if a["direction"] == "down" else " ▲" for a in alerts}
    days: dict[str, dict[str, str]] = {}
    for r in data["series"]:
        cell = _value(r["metric"], r["observed"])
        if r["expected"] is not None:
            cell += f" ({_value(r['metric'], r['expected'])})"
        cell += marks.get((r["metric"], r["date"]), "" if r["judged"] else " ·")
        days.setdefault(r["date"], {"date": r["date"]})[r["metric"]] = cell
    if days:
        print_table(list(days.values()),
                    title=f"Watch {' → '.join(spec['steps'])} (window {spec['window']}): observed "
                          f"(expected); ▼▲ alert, · not judged")
    if not alerts:
        judged = meta.get("days_judged", 0)
        console.print(f"No alerts from {meta.get('first_day')} to {meta.get('last_day')} "
                      f"({judged} day{'s' if judged != 1 else ''} judged, {meta['timezone']}).")


def csv_rows(result, data: dict, view: dict, name: str) -> list[dict] | None:
    """``alerts`` with top_segments as text (segment (contribution), ...); series as is."""
    if name != "alerts":
        return None
    if not data["alerts"]:  # no alert: the header alone, so a CSV reader still sees columns
        import pandas as pd

        return pd.DataFrame(columns=ALERT_COLUMNS)
    return [{**{k: v for k, v in a.items() if k != "top_segments"},
             "top_segments": _segments(a["metric"], a["top_segments"])} for a in data["alerts"]]


ALERT_COLUMNS = ["metric", "date", "observed", "expected", "low", "high", "direction", "size",
                 "top_segments"]
