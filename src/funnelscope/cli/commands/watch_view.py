"""Terminal output, CSV rows and exit status of ``funnelscope watch``: the alerts (with the
segments that explain them), then one row per day (hour) with each metric as observed
(expected); ▼ / ▲ mark an alert, ``·`` a bucket not judged (window still open, few entrants
or no baseline). A webhook that could not be reached is reported on stderr."""

from __future__ import annotations

from typing import Any


def _value(metric: str, value: Any) -> str:
    if value is None:
        return "–"
    if metric == "entrants":
        return f"{value:,.0f}"
    if metric.startswith("conversion:"):
        return f"{value:.1%}"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"  # a yml metric


def _size(metric: str, value: float) -> str:
    if metric == "entrants":
        return f"{value:+,.0f}"
    return f"{value * 100:+.1f} pp" if metric.startswith("conversion:") else f"{value:+,.2f}"


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
    hourly = spec.get("every") == "hour"
    if days:
        watched = [f"{' → '.join(spec['steps'])} (window {spec['window']})"] if spec["steps"] \
            else []
        watched += list(spec.get("metrics") or [])
        print_table(list(days.values()),
                    title=f"Watch {', '.join(watched)} per {'hour' if hourly else 'day'}: "
                          f"observed (expected); ▼▲ alert, · not judged")
    if not alerts:
        judged = meta.get("buckets_judged", meta.get("days_judged", 0))
        unit = "hour" if hourly else "day"
        console.print(f"No alerts from {meta.get('first_day')} to {meta.get('last_day')} "
                      f"({judged} {unit}{'s' if judged != 1 else ''} judged, {meta['timezone']}).")


def exit_status(result) -> int:
    """The CLI's exit status (registry ``exit_status`` hook, called after printing): 1 when an
    alert fired, else 0. A webhook that failed is reported on stderr first; it never changes
    the status (the alerts were printed)."""
    import sys

    hook = (result.meta or {}).get("webhook") or {}
    if hook.get("error"):
        print(f"warning: webhook {hook.get('url')}: {hook['error']} (the alerts were not "
              f"delivered).", file=sys.stderr)
    return result.exit_status()


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
