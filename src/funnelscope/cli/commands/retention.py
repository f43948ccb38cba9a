"""``funnelscope retention | activity | churn | aarrr``: do customers come back, and what are they worth.

Each command reads a workspace (``--workspace W``) or files in place (``--events FILE``, plus
``--customers`` / ``--orders`` / ``--spend`` where they matter) and prints a table, JSON or CSV.
Exact definitions of every number: docs/metrics.md.
"""

from __future__ import annotations

from pathlib import Path

import typer

from funnelscope.cli.common import FormatOpt

WorkspaceOpt = typer.Option(None, "--workspace", "-w", help="DuckDB workspace file.", envvar="FUNNELSCOPE_WORKSPACE")
EventsOpt = typer.Option(None, "--events", help="Analyse an events file (CSV/Parquet/JSONL) in place instead of a workspace.")
CustomersOpt = typer.Option(None, "--customers", help="With --events: a customers file (user_id, first_seen, channel, ...).")
MapOpt = typer.Option(None, "--map", help="With --events: your column names, canonical=yours (user_id=uid,ts=time,event=event_name).")
TzOpt = typer.Option(None, "--tz", help="Reporting time zone for day/week/month boundaries (and naive times in --events), e.g. Asia/Shanghai.")
OrdersOpt = typer.Option(None, "--orders", help="With --events: an orders file (repurchase, revenue).")
SpendOpt = typer.Option(None, "--spend", help="With --events: a spend file (CAC).")
ByOpt = typer.Option(None, "--by", help="Break down by a column of the start event or of the customers table (customers.plan / event.channel to choose).")


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names or None


def _open(workspace, events, map_, tz, **files):
    from funnelscope.cli.common import open_workspace
    from funnelscope.data.ingest import parse_column_map

    return open_workspace(
        workspace, read_only=True, events=events,
        columns={"events": parse_column_map(map_)} if map_ else None, tz=tz, **files,
    )


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


# ----- retention -----------------------------------------------------------------------------
def retention(
    workspace: Path = WorkspaceOpt,
    events: Path = EventsOpt,
    customers: Path = CustomersOpt,
    map_: str = MapOpt,
    tz: str = TzOpt,
    start: str = typer.Option(None, "--start", help="What puts a user in a cohort: an event name, 'signup' (customers.first_seen, else the signup event), or nothing for the first event of any kind."),
    returning: str = typer.Option("any", "--returning", help="What counts as coming back: 'any' or event names, comma-separated."),
    period: str = typer.Option("day", "--period", help="day | week (Monday to Sunday) | month, in the reporting time zone."),
    periods: int = typer.Option(30, "--periods", help="Report periods 0..N after the cohort's own period 0."),
    kind: str = typer.Option("on", "--kind", help="on (active in period k) | on_or_after (active in period k or later)."),
    by: str = ByOpt,
    recurring: bool = typer.Option(False, "--recurring", help="Every period with a start event is a cohort entry (default: only the user's first)."),
    brackets: str = typer.Option(None, "--brackets", help="Custom period groups, e.g. 1,2-7,8-30."),
    values: str = typer.Option("rate", "--values", help="table/csv: show rate (share of the cohort) or retained (users)."),
    fmt: str = FormatOpt,
) -> None:
    """Cohort retention triangle: of the users who started in a period, how many came back k periods later.

    Cells whose period is not fully inside the data are left empty (–, null), never shown as
    0%. The average row weights cohorts by size over complete cells.

    Example:
      funnelscope retention --workspace demo/funnelscope.duckdb --period week --periods 8
      funnelscope retention --events events.parquet --period day --periods 7 --format json
    """
    from funnelscope.cli.output import check_format, print_csv, print_json, print_table
    from funnelscope.errors import ConfigError

    check_format(fmt)
    if values not in ("rate", "retained"):
        raise ConfigError(f"unknown --values {values!r}.", hint="Use rate or retained.")
    ws = _open(workspace, events, map_, tz, customers=customers)
    starts = _names(start)
    result = ws_call(ws, "retention", start=starts[0] if starts and len(starts) == 1 else starts,
                     returning=_names(returning) if returning != "any" else "any",
                     period=period, periods=periods, kind=kind, by=by,
                     first_time=not recurring, brackets=brackets)
    if fmt == "json":
        print_json(result.to_dict())
        return
    wide = result.triangle(values)
    if fmt == "csv":
        print_csv(wide)
        return
    from rich.console import Console

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


def ws_call(ws, name: str, **kwargs):
    """Run analysis ``name`` of funnelscope.analyses.retention on ``ws``."""
    import funnelscope.analyses.retention as analyses

    return getattr(analyses, name)(ws, **kwargs)


# ----- activity ------------------------------------------------------------------------------
ACTIVITY_PARTS = ("summary", "monthly", "weekly", "daily", "lifecycle", "streaks", "frequency",
                  "repurchase")


def activity(
    workspace: Path = WorkspaceOpt,
    events: Path = EventsOpt,
    orders: Path = OrdersOpt,
    map_: str = MapOpt,
    tz: str = TzOpt,
    activity_event: str = typer.Option(None, "--activity-event", help="Event names that count as activity, comma-separated (default: any event)."),
    period: str = typer.Option("week", "--period", help="Lifecycle period: day | week | month."),
    repurchase_within: int = typer.Option(None, "--repurchase-within", help="Count a repurchase only when the second order is within this many days of the first."),
    show: str = typer.Option("summary,monthly,lifecycle,streaks", "--show", help=f"table/csv: which tables, comma-separated, from {', '.join(ACTIVITY_PARTS)}."),
    fmt: str = FormatOpt,
) -> None:
    """Active users: DAU/WAU/MAU, stickiness, lifecycle (new/returning/resurrected/dormant), streaks, frequency, repurchase.

    Example:
      funnelscope activity --workspace demo/funnelscope.duckdb --show summary,monthly,lifecycle
      funnelscope activity --events events.csv --tz Asia/Shanghai --format json
    """
    from funnelscope.cli.output import check_format, print_csv, print_json, print_table
    from funnelscope.errors import ConfigError

    check_format(fmt)
    parts = _names(show) or []
    bad = [p for p in parts if p not in ACTIVITY_PARTS]
    if bad:
        raise ConfigError(f"unknown --show {', '.join(bad)}.", hint=f"Use {', '.join(ACTIVITY_PARTS)}.")
    ws = _open(workspace, events, map_, tz, orders=orders)
    result = ws_call(ws, "activity", events=_names(activity_event), period=period,
                     repurchase_within=repurchase_within)
    if fmt == "json":
        print_json(result.to_dict())
        return
    tables = dict(result.tables)
    tables["summary"] = [result.meta["summary"] | {
        "repurchase_rate": (result.meta.get("repurchase") or {}).get("repurchase_rate")}]
    if fmt == "csv":
        if len(parts) != 1:
            raise ConfigError("--format csv prints one table.", hint="Choose it with --show, e.g. --show daily.")
        print_csv(tables[parts[0]] if parts[0] != "summary" else tables["summary"])
        return
    for p in parts:
        if p in tables:
            print_table(_for_people(tables[p]), title=f"{p} (data {result.meta['data_first_day']} to "
                                         f"{result.meta['data_end']}, {result.meta['timezone']})")


# ----- churn ---------------------------------------------------------------------------------
def churn(
    workspace: Path = WorkspaceOpt,
    events: Path = EventsOpt,
    customers: Path = CustomersOpt,
    map_: str = MapOpt,
    tz: str = TzOpt,
    activity_event: str = typer.Option(None, "--activity-event", help="Event names that count as activity, comma-separated (default: any event)."),
    inactivity_days: int = typer.Option(30, "--inactivity-days", help="Churned after this many days without activity."),
    cancel_event: str = typer.Option(None, "--cancel-event", help="Use a cancellation event instead of inactivity."),
    period: str = typer.Option("month", "--period", help="Churn-rate period: day | week | month."),
    by: str = typer.Option(None, "--by", help="Break down by a column of the user's first event or of the customers table."),
    show: str = typer.Option("lifetime,periods", "--show", help="table/csv: lifetime, periods, survival (comma-separated)."),
    fmt: str = FormatOpt,
) -> None:
    """Churn rate per period, Kaplan–Meier survival of customers (still-active ones censored) and median lifetime.

    Example:
      funnelscope churn --workspace demo/funnelscope.duckdb --inactivity-days 30 --period month
      funnelscope churn --events events.csv --cancel-event cancel_subscription --format json
    """
    from funnelscope.cli.output import check_format, print_csv, print_json, print_table
    from funnelscope.errors import ConfigError

    check_format(fmt)
    parts = _names(show) or []
    bad = [p for p in parts if p not in ("lifetime", "periods", "survival")]
    if bad:
        raise ConfigError(f"unknown --show {', '.join(bad)}.", hint="Use lifetime, periods, survival.")
    ws = _open(workspace, events, map_, tz, customers=customers)
    result = ws_call(ws, "churn", events=_names(activity_event), inactivity_days=inactivity_days,
                     cancel_event=_names(cancel_event), period=period, by=by)
    if fmt == "json":
        print_json(result.to_dict())
        return
    if fmt == "csv":
        if len(parts) != 1:
            raise ConfigError("--format csv prints one table.", hint="Choose it with --show, e.g. --show survival.")
        print_csv(result.tables[parts[0]])
        return
    for p in parts:
        print_table(_for_people(result.tables[p]), title=f"{p} — {result.meta['definition']} "
                                            f"(data end {result.meta['data_end']})")


# ----- aarrr ---------------------------------------------------------------------------------
def aarrr(
    workspace: Path = WorkspaceOpt,
    events: Path = EventsOpt,
    customers: Path = CustomersOpt,
    orders: Path = OrdersOpt,
    spend: Path = SpendOpt,
    map_: str = MapOpt,
    tz: str = TzOpt,
    signup: str = typer.Option(None, "--signup", help="What acquires a user: an event, 'signup', or nothing for the first event."),
    since: str = typer.Option(None, "--since", help="First acquisition date (local), e.g. 2024-01-01."),
    until: str = typer.Option(None, "--until", help="Last acquisition date (local, inclusive)."),
    channel: str = typer.Option("channel", "--channel", help="Column with the acquisition channel (start event or customers)."),
    activation_event: str = typer.Option(None, "--activation-event", help="The event that means a user got value, e.g. create_project."),
    activation_days: int = typer.Option(7, "--activation-days", help="Activation must happen within this many days of acquisition."),
    retention_days: str = typer.Option("1,7,30", "--retention-days", help="Dk retention points, comma-separated."),
    referral_event: str = typer.Option(None, "--referral-event", help="The invite event, for invites per user and the K-factor."),
    referral_channel: str = typer.Option("referral", "--referral-channel", help="Channel value of users acquired by referral."),
    show: str = typer.Option("metrics,channels", "--show", help="table/csv: metrics, channels."),
    fmt: str = FormatOpt,
) -> None:
    """AARRR summary: acquisition (by channel, CAC), activation, D1/D7/D30 retention, revenue, referral.

    Every metric prints its definition: the population (dimension), the aggregation and the
    measure counted.

    Example:
      funnelscope aarrr --workspace demo/funnelscope.duckdb --activation-event add_to_cart --referral-event invite
      funnelscope aarrr --events events.csv --orders orders.csv --since 2024-01-01 --until 2024-03-31 --format json
    """
    from funnelscope.cli.output import check_format, print_csv, print_json, print_table
    from funnelscope.errors import ConfigError

    check_format(fmt)
    parts = _names(show) or []
    bad = [p for p in parts if p not in ("metrics", "channels")]
    if bad:
        raise ConfigError(f"unknown --show {', '.join(bad)}.", hint="Use metrics, channels.")
    try:
        days = [int(x) for x in _names(retention_days) or []]
    except ValueError:
        raise ConfigError(f"cannot read --retention-days {retention_days!r}.", hint="Write whole days: 1,7,30.") from None
    ws = _open(workspace, events, map_, tz, customers=customers, orders=orders, spend=spend)
    result = ws_call(ws, "aarrr", signup=signup, since=since, until=until, channel=channel,
                     activation_event=_names(activation_event), activation_days=activation_days,
                     retention_days=days, referral_event=_names(referral_event),
                     referral_channel=referral_channel)
    if fmt == "json":
        print_json(result.to_dict())
        return
    if fmt == "csv":
        if len(parts) != 1:
            raise ConfigError("--format csv prints one table.", hint="Choose it with --show metrics or --show channels.")
        print_csv(result.tables[parts[0]])
        return
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


def register(app: typer.Typer) -> None:
    app.command("retention")(retention)
    app.command("activity")(activity)
    app.command("churn")(churn)
    app.command("aarrr")(aarrr)
