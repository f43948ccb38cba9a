"""Terminal output of ``funnelscope traffic``: traffic and channel quality overall, per group
(with spend: cost, CTR, CPC, CPM, cost per conversion) and per period; then the notes that say
which metrics are null and what would enable them."""

from __future__ import annotations

from typing import Any


def _num(value: Any, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _seconds(value: Any) -> str:
    return "–" if value is None else f"{value:,.0f}s"


def _rows(records: list[dict[str, Any]], keys: list[str], spend: bool) -> list[dict[str, str]]:
    out = []
    for r in records:
        row = {k: str(r[k]) for k in keys}
        row.update({
            "PV": _num(r["pv"], ",d"), "UV": f"{r['uv']:,}", "sessions": f"{r['sessions']:,}",
            "new visitors": f"{r['new_visitors']:,}",
            "bounce rate": _num(r["bounce_rate"], ".1%"),
            "pages/session": _num(r["pages_per_session"], ".2f"),
            "avg session": _seconds(r["avg_session_seconds"]),
            "conversions": _num(r["conversions"], ",d"),
            "conv. rate": _num(r["conversion_rate"], ".1%"),
        })
        if spend:
            row.update({
                "cost": _num(r["cost"], ",.2f"), "clicks": _num(r["clicks"], ",.0f"),
                "CTR": _num(r["ctr"], ".2%"), "CPC": _num(r["cpc"], ",.2f"),
                "CPM": _num(r["cpm"], ",.2f"),
                "cost/conv.": _num(r["cost_per_conversion"], ",.2f"),
            })
        out.append(row)
    return out


def render(result, data: dict, view: dict) -> None:
    from funnelscope.cli.output import print_table

    meta, spec = data["meta"], data["spec"]
    pages = ", ".join(meta["page_events"]) or "none"
    conv = ", ".join(meta["conversion_events"]) or "none"
    spend = any(r.get("cost") is not None for r in data["summary"]) or any(
        r.get("cost") is not None for r in data.get("groups", []))
    print_table(_rows(data["summary"], [], spend),
                title=f"Traffic (PV = {pages}; conversions = {conv}; sessions end after "
                      f"{spec['session_gap']} idle)")
    if "groups" in data:
        print_table(_rows(data["groups"], ["group"], spend),
                    title=f"By {meta['by_source']} (a session's group = "
                          + ("its first event's)" if meta["by_source"].startswith("events.")
                             else "the user's value)"))
    if "periods" in data:
        keys = ["period"] + (["group"] if spec["by"] else [])
        print_table(_rows(data["periods"], keys, False), title=f"By {spec['period']} of the "
                                                                "session start")
    for note in meta["notes"]:
        print(f"Note: {note}.")
    print("Definitions: docs/metrics.md (Traffic and channel quality).")
