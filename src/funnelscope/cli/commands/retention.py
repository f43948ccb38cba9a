"""Terminal and CSV output of ``funnelscope retention | activity | churn | aarrr``.

The commands themselves are generated from the analysis registry
(:mod:`funnelscope.analyses.registry`); this module only shows their results to people.
Exact definitions of every number: docs/metrics.md.
"""

from __future__ import annotations

from typing import Any


def _pct(x) -> str:
    return "–" if x is None or x != x else f"{x:.1%}"


def _num(x) -> str:
    if x is None or x != x:
        return "–"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.4g}" if abs(x) < 1e6 else f"{x:,.0f}"
    return f"{int(x):,}"


PERCENT_WORDS = ("rate", "share", "retention", "conversion", "stickiness", "survival", "ci_")


def _for_people(table):
    """Records for a rich table: percentages for ratios, yes/no for flags, – for missing."""
    rows = table if isinstance(table, list) else table.to_dict(orient="records")
    out = []
    for r in rows:
        row = {}
        for k, v in r.items():
            if isinstance(v, bool) or type(v).__name__ == "bool_":
                row[k] = "yes" if v else "no"
            elif any(w in k for w in PERCENT_WORDS) and isinstance(v, (int, float)) \
                    and not isinstance(v, bool) and "days" not in k:
                row[k] = _pct(v)
            elif v is None or (isinstance(v, float) and v != v):
                row[k] = "–"
            else:
                row[k] = v
        out.append(row)
    return out


def _shown(view: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    from funnelscope.errors import ConfigError

    parts = view.get("show") or []
    parts = [parts] if isinstance(parts, str) else list(parts)
    bad = [p for p in parts if p not in allowed]
    if bad:
        raise ConfigError(f"unknown --show {', '.join(bad)}.", hint=f"Use {', '.join(allowed)}.")
    return parts


# ----- retention -----------------------------------------------------------------------------
def csv_retention(result, data: dict, view: dict, name: str):
    """``triangle``: one row per cohort, a column per period (rates or users by --values)."""
    if name == "triangle":
        return result.triangle(view.get("values") or "rate")
    return None


def render_retention(result, data: dict, view: dict) -> None:
    from rich.console import Console

    from funnelscope.cli.output import print_table

    values = view.get("values") or "rate"
    wide = result.triangle(values)
    shown = [c for c in wide.columns if isinstance(c, int)]
    show = _pct if values == "rate" else _num
    rows = []
    for r in wide.to_dict(orient="records"):
        row = {"cohort": r["cohort"]} | ({"group": r["group"]} if "group" in r else {})
        row["size"] = _num(r["size"])
        row |= {str(k): show(None if r[k] is None or r[k] != r[k] else r[k]) for k in shown}
        rows.append(row)
    avg = {int(a["period"]): a for a in result.tables["average"].to_dict(orient="records")}
    mean = {"cohort": "average"} | ({"group": ""} if result.by else {}) | {"size": ""}
    mean |= {str(k): (_pct(avg[k]["rate"]) if values == "rate" else _num(avg[k]["retained"]))
             if k in avg else "–" for k in shown}
    rows.append(mean)
    spec = result.spec
    print_table(rows, title=f"Retention by {spec.period} ({spec.kind}; {result.meta['start']} → "
                            f"{result.meta['returning']}; data end {result.meta['data_end']})")
    if "average_brackets" in result.tables:
        print_table([{"bracket": b["bracket"], "cohorts": b["cohorts"], "users": b["size"],
                      "retained": b["retained"], "rate": _pct(b["rate"])}
                     for b in result.tables["average_brackets"].to_dict(orient="records")],
                    title="brackets (size-weighted over complete cohorts)")
    Console().print("[dim]– = period not complete in the data (not churn). "
                    "Definitions: docs/metrics.md[/dim]")


# ----- activity ------------------------------------------------------------------------------
ACTIVITY_PARTS = ("summary", "monthly", "weekly", "daily", "lifecycle", "streaks", "frequency",
                  "repurchase")


def _activity_tables(result) -> dict[str, Any]:
    tables = dict(result.tables)
    tables["summary"] = [result.meta["summary"] | {
        "repurchase_rate": (result.meta.get("repurchase") or {}).get("repurchase_rate")}]
    return tables


def csv_activity(result, data: dict, view: dict, name: str):
    """``summary`` is one row of the headline numbers; the rest are the result's tables."""
    return _activity_tables(result).get(name)


def render_activity(result, data: dict, view: dict) -> None:
    from funnelscope.cli.output import print_table

    tables = _activity_tables(result)
    for p in _shown(view, ACTIVITY_PARTS):
        if p in tables:
            print_table(_for_people(tables[p]), title=f"{p} (data {result.meta['data_first_day']} to "
                                                      f"{result.meta['data_end']}, {result.meta['timezone']})")


# ----- churn ---------------------------------------------------------------------------------
def render_churn(result, data: dict, view: dict) -> None:
    from funnelscope.cli.output import print_table

    for p in _shown(view, ("lifetime", "periods", "survival")):
        print_table(_for_people(result.tables[p]), title=f"{p} — {result.meta['definition']} "
                                                         f"(data end {result.meta['data_end']})")


# ----- aarrr ---------------------------------------------------------------------------------
def render_aarrr(result, data: dict, view: dict) -> None:
    from funnelscope.cli.output import print_table

    parts = _shown(view, ("metrics", "channels"))
    if "metrics" in parts:
        rows = []
        for m in result.tables["metrics"].to_dict(orient="records"):
            ratio = m["denominator"] is not None and m["aggregation"] != "ratio of sums"
            rows.append({"stage": m["stage"], "metric": m["metric"],
                         "value": _pct(m["value"]) if ratio else _num(m["value"]),
                         "n / of": "" if m["denominator"] is None else
                         f"{_num(m['numerator'])} / {_num(m['denominator'])}",
                         "measure": m["measure"]})
        print_table(rows, title=f"AARRR — {_first_dimension(result)}")
    if "channels" in parts and not result.tables["channels"].empty:
        print_table(_for_people(result.tables["channels"]), title="by channel")


def _first_dimension(result) -> str:
    m = result.tables["metrics"]
    return str(m["dimension"].iloc[0]) if len(m) else ""
