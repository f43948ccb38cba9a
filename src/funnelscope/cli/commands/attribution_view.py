"""Terminal output of ``funnelscope attribution``: conversions per channel under each model
(and revenue with ``--value revenue``), the Markov removal effects and a line on what was
counted (conversions without touches, journeys ending in null)."""

from __future__ import annotations

from typing import Any

MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position", "markov")


def _rows(records: list[dict[str, Any]], digits: int) -> list[dict[str, str]]:
    out = []
    for r in records:
        row = {"channel": str(r["channel"])}
        for m in MODELS:
            row[m] = f"{(r[m] or 0.0):,.{digits}f}"
        row["removal effect"] = f"{(r['removal_effect'] or 0.0):.1%}"
        row["touches"] = f"{int(r['touches']):,}"
        out.append(row)
    return out


def render(result, data: dict, view: dict) -> None:
    from funnelscope.cli.output import print_table

    meta, spec = data["meta"], data["spec"]
    touch = ", ".join(spec["touch_events"]) or "every event with a channel"
    print_table(_rows(data["channels"], 1),
                title=f"Attributed conversions of {', '.join(spec['conversion_events'])} "
                      f"(touches: {touch}; lookback {spec['lookback']}; "
                      f"half-life {spec['half_life']})")
    if "revenue" in data:
        print_table(_rows(data["revenue"], 0), title="Attributed revenue")
    line = (f"{meta['attributed_conversions']:,} of {meta['conversions']:,} conversions have a "
            f"touch in the lookback ({meta['conversions_without_touches']:,} without); "
            f"{meta['null_journeys']:,} journeys end without conversion; "
            f"P(conversion) of the Markov chain {meta['conversion_probability']:.2%}.")
    if "revenue" in meta:
        line += (f" Revenue {meta['attributed_revenue']:,.0f} of {meta['revenue']:,.0f} "
                 f"attributed ({meta['value_source']}).")
    print(line)
    print("Definitions: docs/attribution.md.")
