"""``funnelscope rfm | clusters | clv | cac | churn-risk``: what customers are worth.

Each command reads a workspace (``--workspace W``; or files in place with ``--orders FILE``
and friends) and prints a table, JSON or CSV (CSV: the per-customer table, or CAC per
channel). ``--save`` keeps the segment column (rfm_segment, cluster, clv_tier, churn_risk) in
the workspace table ``segments`` so that funnels and retention can break down by it; it opens
the workspace writable, otherwise it is opened read-only. Definitions: docs/value.md.
"""

from __future__ import annotations

from pathlib import Path

import typer

from funnelscope.cli.common import FormatOpt

WorkspaceOpt = typer.Option(None, "--workspace", "-w", help="DuckDB workspace file.",
                            envvar="FUNNELSCOPE_WORKSPACE")
OrdersOpt = typer.Option(None, "--orders", help="Analyse an orders file (user_id, ts, amount[, currency]) in place instead of a workspace.")
CustomersOpt = typer.Option(None, "--customers", help="With --orders: a customers file (user_id, first_seen, channel, ...).")
SpendOpt = typer.Option(None, "--spend", help="With --orders: a spend file (date, channel, campaign, cost).")
EventsOpt = typer.Option(None, "--events", help="With --orders: an events file (activity features).")
MapOpt = typer.Option(None, "--map", help="With --orders: your orders column names, canonical=yours, e.g. user_id=customer_id,ts=order_date,amount=revenue.")
SaveOpt = typer.Option(False, "--save", help="Keep the segment column in the workspace table `segments` (for --by in funnels and retention). Opens the workspace writable.")
TopOpt = typer.Option(20, "--top", help="Table output: how many customers to list.")


def _open(workspace, save: bool, map_: str | None = None, **files):
    from funnelscope.cli.common import open_workspace
    from funnelscope.data.ingest import parse_column_map
    from funnelscope.errors import ConfigError

    if save and workspace is None:
        raise ConfigError("--save needs --workspace W: segments are kept in a workspace.",
                          hint="Load the files first: funnelscope load FILE --workspace W "
                               "--table orders.")
    columns = {"orders": parse_column_map(map_)} if map_ else None
    return open_workspace(workspace, read_only=not save, columns=columns, **files)


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names or None


def _emit(result, fmt: str, csv_table: str, show) -> None:
    from funnelscope.cli.output import check_format, print_csv, print_json

    check_format(fmt)
    if fmt == "json":
        print_json(result.to_dict())
    elif fmt == "csv":
        print_csv(result.tables[csv_table])
    else:
        show(result)
        saved = result.meta.get("saved_columns")
        if saved:
            from rich.console import Console

            Console().print(f"Saved {', '.join(saved)} in the workspace table [bold]segments[/bold]"
                            f" (use --by {saved[0]} in funnels and retention).")


def _note(text: str) -> None:
    from rich.console import Console

    Console().print(text)


def _people(value):
    """A cell for people: yes/no for flags, whole numbers for large amounts."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if isinstance(value, float) and value == value and abs(value) >= 1e4:
        return int(round(value))
    return value


def _rows(frame, columns: list[str] | None = None, limit: int | None = None) -> list[dict]:
    part = frame if columns is None else frame[columns]
    part = part if limit is None else part.head(limit)
    return [{k: _people(v) for k, v in r.items()} for r in part.to_dict(orient="records")]


# ----- rfm ----------------------------------------------------------------------------------
def rfm(
    workspace: Path = WorkspaceOpt,
    as_of: str = typer.Option(None, "--as-of", help="Analysis date (a day in the reporting time zone); default: the day of the latest order."),
    bins: int = typer.Option(5, "--bins", help="Score bins per measure (5 gives scores 1-5)."),
    binning: str = typer.Option("rfm", "--binning", help="rfm (the CRAN rfm package's quantile rule) | quantile (right-closed quantile bins)."),
    save: bool = SaveOpt,
    orders: Path = OrdersOpt,
    map_: str = MapOpt,
    fmt: str = FormatOpt,
) -> None:
    """RFM: recency, frequency and monetary scores per customer, named segments and what to do.

    CSV output is one row per customer (for a CRM export); JSON has every table.

    Example:
      funnelscope rfm --workspace demo/funnelscope.duckdb --save
      funnelscope rfm --orders orders.csv --map user_id=customer_id,ts=order_date,amount=revenue --format csv > rfm.csv
    """
    from funnelscope.cli.output import check_format

    check_format(fmt)
    ws = _open(workspace, save, map_, orders=orders)
    result = ws_call(ws, "rfm", analysis_date=as_of, recency_bins=bins, frequency_bins=bins,
                     monetary_bins=bins, binning=binning, save=save)
    _emit(result, fmt, "customers", _show_rfm)


def _show_rfm(result) -> None:
    from funnelscope.cli.output import print_table

    seg = result.segments
    seg = seg[seg["customers"] > 0]
    print_table(_rows(seg, ["segment", "customers", "customer_share", "orders", "revenue",
                            "revenue_share", "average_order_value", "suggested_action"]),
                title=f"RFM segments as of {result.meta['analysis_date']} "
                      f"({result.meta['customers']:,} customers)")


# ----- clusters -----------------------------------------------------------------------------
def clusters(
    workspace: Path = WorkspaceOpt,
    k: int = typer.Option(None, "--k", help="Number of clusters; default: the best k by silhouette."),
    max_k: int = typer.Option(8, "--max-k", help="Largest k tried when --k is not given (from 2)."),
    features: str = typer.Option(None, "--features", help="Comma-separated: recency_days, frequency, monetary, average_order_value, tenure_days, active_days, events, funnel_depth, channel (default: all available but events)."),
    funnel_steps: str = typer.Option(None, "--funnel-steps", help="Event names of a funnel, e.g. view,add_to_cart,pay: adds funnel_depth (deepest step reached)."),
    funnel_window: str = typer.Option("30d", "--funnel-window", help="Window of that funnel: 1h, 7d, 30d."),
    as_of: str = typer.Option(None, "--as-of", help="Day the features describe; default: the latest order (or event) day."),
    save: bool = SaveOpt,
    orders: Path = OrdersOpt,
    map_: str = MapOpt,
    customers: Path = CustomersOpt,
    events: Path = EventsOpt,
    fmt: str = FormatOpt,
) -> None:
    """Behavioural customer clusters (k-means, k by silhouette), each described in plain words.

    CSV output is one row per customer with its cluster and features.

    Example:
      funnelscope clusters --workspace demo/funnelscope.duckdb --save
      funnelscope clusters --workspace shop.duckdb --k 4 --features recency_days,frequency,monetary,channel
    """
    from funnelscope.cli.output import check_format

    check_format(fmt)
    ws = _open(workspace, save, map_, orders=orders, customers=customers, events=events)
    result = ws_call(ws, "clusters", as_of=as_of, k=k, k_max=max_k, features=_names(features),
                     funnel_steps=_names(funnel_steps), funnel_window=funnel_window, save=save)
    _emit(result, fmt, "customers", _show_clusters)


def _show_clusters(result) -> None:
    from funnelscope.cli.output import print_table

    p = result.profiles
    means = [c for c in p.columns if c.startswith("mean_")]
    rows = []
    for r in p.to_dict(orient="records"):
        row = {"cluster": r["cluster"], "label": r["label"], "customers": r["customers"],
               "share": r["share"]}
        row.update({c.removeprefix("mean_"): r[c] for c in means})
        rows.append({k: _people(v) for k, v in row.items()})
    meta = result.meta
    print_table(rows, title=f"{meta['k']} clusters of {meta['customers']:,} {meta['population']}"
                            f" as of {meta['as_of']} (feature means)")


# ----- clv ----------------------------------------------------------------------------------
def clv(
    workspace: Path = WorkspaceOpt,
    calibration_end: str = typer.Option(None, "--calibration-end", help="Fit on orders up to this day; default: the latest order day."),
    holdout_end: str = typer.Option(None, "--holdout-end", help="Compare predictions with the orders after --calibration-end up to this day."),
    time_unit: str = typer.Option("week", "--time-unit", help="Unit of recency, T and --horizon: day(s) | week(s) | month(s) | year(s)."),
    horizon: float = typer.Option(None, "--horizon", help="Prediction horizon in --time-unit units; default: one year."),
    discount_rate: float = typer.Option(0.10, "--discount-rate", help="Discount rate per --discount-period (0.10 = 10%)."),
    discount_period: str = typer.Option("year", "--discount-period", help="Period of --discount-rate: day | week | month | year."),
    margin: float = typer.Option(1.0, "--margin", help="Profit margin (0-1]; 1 = CLV in revenue."),
    save: bool = SaveOpt,
    top: int = TopOpt,
    orders: Path = OrdersOpt,
    map_: str = MapOpt,
    fmt: str = FormatOpt,
) -> None:
    """Predictive customer lifetime value: BG/NBD purchases x Gamma-Gamma spend, discounted.

    Same-day orders are merged into one purchase (as in Fader, Hardie & Lee 2005). JSON starts
    with the fitted parameters: {"bgnbd": {r, alpha, a, b, log_likelihood}, "gamma_gamma":
    {p, q, gamma}, "customers": [...]}. --save keeps clv_tier (quartile of predicted CLV).

    Example:
      funnelscope clv --workspace cdnow.duckdb --calibration-end 1997-09-30 --time-unit week --format json
      funnelscope clv --workspace shop.duckdb --calibration-end 2024-06-30 --holdout-end 2024-12-31
    """
    from funnelscope.cli.output import check_format

    check_format(fmt)
    ws = _open(workspace, save, map_, orders=orders)
    result = ws_call(ws, "clv", calibration_end=calibration_end, holdout_end=holdout_end,
                     time_unit=time_unit, horizon=horizon, discount_rate=discount_rate,
                     discount_period=discount_period, profit_margin=margin, save=save)
    _emit(result, fmt, "customers", lambda r: _show_clv(r, top))


def _show_clv(result, top: int) -> None:
    from funnelscope.cli.output import print_table

    bg, gg = result.models["bgnbd"], result.models["gamma_gamma"]
    meta = result.meta
    _note(f"BG/NBD ({meta['time_unit']}): r={bg['r']:.4g} alpha={bg['alpha']:.4g} "
          f"a={bg['a']:.4g} b={bg['b']:.4g}  log-likelihood {bg['log_likelihood']:,.1f}  "
          f"({bg['customers']:,} customers to {meta['calibration_end']})")
    _note(f"Gamma-Gamma: p={gg['p']:.4g} q={gg['q']:.4g} gamma={gg['gamma']:.4g}  "
          f"({gg['repeat_customers']:,} repeat customers)")
    print_table(_rows(result.tables["tiers"]),
                title=f"CLV tiers over {meta['horizon']:.4g} {meta['time_unit']}")
    if "holdout" in result.tables:
        h = result.tables["holdout"]
        print_table(_rows(h, ["frequency_bucket", "customers", "actual_purchases",
                              "predicted_purchases"]),
                    title=f"Holdout to {meta['holdout_end']}: repeat purchases per customer")
    print_table(_rows(result.customers, ["user_id", "frequency", "recency", "T",
                                         "probability_alive", "expected_purchases",
                                         "expected_average_spend", "clv", "clv_tier"], top),
                title=f"Top {min(top, len(result.customers))} customers by CLV")


# ----- cac ----------------------------------------------------------------------------------
def cac(
    workspace: Path = WorkspaceOpt,
    start: str = typer.Option(None, "--start", help="First acquisition day counted; default: the spend table's first day."),
    end: str = typer.Option(None, "--end", help="Last acquisition day counted; default: the spend table's last day."),
    as_of: str = typer.Option(None, "--as-of", help="Count revenue up to this day; default: the later of --end and the latest order."),
    by: str = typer.Option("channel", "--by", help="channel | channel,campaign."),
    margin: float = typer.Option(1.0, "--margin", help="Gross margin (0-1] applied to revenue for LTV, payback and ROI."),
    ltv_days: int = typer.Option(None, "--ltv-days", help="Use N-day LTV (customers observed N full days) instead of value to date."),
    max_months: int = typer.Option(36, "--max-months", help="Longest payback period looked for, in months."),
    orders: Path = OrdersOpt,
    map_: str = MapOpt,
    customers: Path = CustomersOpt,
    spend: Path = SpendOpt,
    fmt: str = FormatOpt,
) -> None:
    """Acquisition economics: CAC, LTV:CAC, payback months and ROI per channel (and campaign).

    Example:
      funnelscope cac --workspace demo/funnelscope.duckdb
      funnelscope cac --workspace shop.duckdb --by channel,campaign --margin 0.4 --ltv-days 90 --format csv
    """
    from funnelscope.cli.output import check_format

    check_format(fmt)
    ws = _open(workspace, False, map_, orders=orders, customers=customers, spend=spend)
    result = ws_call(ws, "acquisition", start=start, end=end, as_of=as_of,
                     group_by=_names(by) or ["channel"], gross_margin=margin, ltv_days=ltv_days,
                     max_months=max_months)
    _emit(result, fmt, "cac", _show_cac)


def _show_cac(result) -> None:
    from funnelscope.cli.output import print_table

    meta = result.meta
    print_table(_rows(result.cac), title=f"Customer acquisition cost, acquired {meta['start']} to "
                                  f"{meta['end']}, revenue to {meta['as_of']}")
    print_table(_rows(result.tables["roi"]), title="Return on spend (gross margin x revenue of new "
                                            "customers - spend) / spend")


# ----- churn-risk ---------------------------------------------------------------------------
def churn_risk(
    workspace: Path = WorkspaceOpt,
    window_days: int = typer.Option(90, "--window-days", help="Churned = fewer than --min-orders orders in this many days after a cut-off."),
    min_orders: int = typer.Option(1, "--min-orders", help="Orders needed in the window to count as retained."),
    train_cutoff: str = typer.Option(None, "--train-cutoff", help="Training cut-off day; default: validation cut-off - window."),
    validation_cutoff: str = typer.Option(None, "--validation-cutoff", help="Validation cut-off day; default: latest order day - window."),
    score_date: str = typer.Option(None, "--score-date", help="Score customers as of this day; default: the latest order day."),
    no_events: bool = typer.Option(False, "--no-events", help="Do not add activity features from the events table."),
    save: bool = SaveOpt,
    top: int = TopOpt,
    orders: Path = OrdersOpt,
    map_: str = MapOpt,
    events: Path = EventsOpt,
    fmt: str = FormatOpt,
) -> None:
    """Churn risk: who is likely to stop buying and why, validated on a later time period.

    CSV output is the ranked at-risk list. --save keeps churn_risk (quartile of churn
    probability; "top 25%" = most at risk).

    Example:
      funnelscope churn-risk --workspace shop.duckdb --window-days 60 --top 50
      funnelscope churn-risk --workspace demo/funnelscope.duckdb --window-days 21 --format csv > at_risk.csv
    """
    from funnelscope.cli.output import check_format

    check_format(fmt)
    ws = _open(workspace, save, map_, orders=orders, events=events)
    result = ws_call(ws, "churn_risk", window_days=window_days, min_orders=min_orders,
                     train_cutoff=train_cutoff, validation_cutoff=validation_cutoff,
                     score_date=score_date, use_events=not no_events, save=save)
    _emit(result, fmt, "at_risk", lambda r: _show_churn(r, top))


def _show_churn(result, top: int) -> None:
    from funnelscope.cli.output import print_table

    m, meta = result.metrics, result.meta

    def pct(x):
        return "–" if x is None else f"{x:.1%}"

    auc = "–" if m.get("auc") is None else f"{m['auc']:.3f}"
    _note(f"Validated at {meta['validation_cutoff']} (trained at {meta['train_cutoff']}): "
          f"AUC {auc}, churn rate {pct(m.get('base_rate'))}, top-decile precision "
          f"{pct(m.get('precision_at_top_decile'))}")
    print_table(_rows(result.at_risk, ["rank", "user_id", "churn_probability", "top_reasons"],
                      top), title=f"Most at risk as of {meta['score_date']}")
    print_table(_rows(result.tables["feature_importance"]), title="What drives the model")


def ws_call(ws, name: str, **options):
    """Run the value analysis ``name`` on ``ws`` (the workspace method when it exists)."""
    method = getattr(ws, name, None)
    if callable(method):
        return method(**options)
    import funnelscope.analyses.value as value

    return getattr(value, name)(ws, **options)


def register(app: typer.Typer) -> None:
    app.command("rfm")(rfm)
    app.command("clusters")(clusters)
    app.command("clv")(clv)
    app.command("cac")(cac)
    app.command("churn-risk")(churn_risk)
