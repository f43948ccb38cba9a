"""Retention, activity, churn and metric-chain charts."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.charts._common import floats, has, ints, labels, table
from funnelscope.report.i18n import t


@chart("RetentionResult", kind="heatmap", when=has("cells"))
def retention_heatmap(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Cohort triangle: one row per cohort (size in the label), one column per period since the
    start, colour and label the share retained. Incomplete cells stay blank, never 0."""
    cells = table(result, "cells")
    by = "group" in cells.columns
    keys = ["cohort", "group"] if by else ["cohort"]
    rows = cells.drop_duplicates(keys)[keys + ["size"]].to_dict(orient="records")
    periods = sorted(int(p) for p in cells["period"].unique())
    lookup = {(tuple(r[k] for k in keys), int(r["period"])): r["rate"]
              for r in cells.to_dict(orient="records")}
    z, text = [], []
    for r in rows:
        key = tuple(r[k] for k in keys)
        line = [lookup.get((key, p)) for p in periods]
        line = [None if v is None or pd.isna(v) else float(v) for v in line]
        z.append(line)
        text.append(["" if v is None else style.percent(v, 0) for v in line])
    ylabels = [
        (f"{r['cohort']} · {r['group']}" if by else str(r["cohort"])) + f" (n={style.count(r['size'])})"
        for r in rows
    ]
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(p) for p in periods], y=ylabels, text=text, texttemplate="%{text}",
        colorscale=style.SEQUENTIAL, zmin=0, zmax=1, xgap=1, ygap=1,
        colorbar={"title": t("retained", lang), "tickformat": style.AXIS_PERCENT},
        hovertemplate=t("cohort", lang) + " %{y}<br>" + t("period", lang) + " %{x}<br>"
                      + t("retained", lang) + ": %{z:.1%}<extra></extra>",
    ))
    unit = (getattr(result.spec, "period", None) or "period")
    style.layout(fig, title or t("chart_retention", lang), legend=False,
                 height=max(300, 110 + 24 * len(rows)))
    fig.update_layout(xaxis={"title": t("periods_since_start", lang, unit=t("unit_" + unit, lang, default=unit)),
                             "type": "category"},
                      yaxis={"autorange": "reversed", "type": "category"})
    return fig


@chart("RetentionResult", kind="curve", when=has("average"))
def retention_curve(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Average retention curve (size-weighted over complete cohorts), one line per group when
    the analysis has a breakdown."""
    fig = go.Figure()
    by = table(result, "average_by")
    if not by.empty and "group" in by:
        for i, (g, part) in enumerate(by.groupby("group", sort=False)):
            fig.add_trace(go.Scatter(x=ints(part["period"]), y=floats(part["rate"]), name=str(g),
                                     mode="lines+markers",
                                     line={"color": style.PALETTE[i % len(style.PALETTE)]}))
    else:
        a = table(result, "average")
        fig.add_trace(go.Scatter(x=ints(a["period"]), y=floats(a["rate"]), name=t("retained", lang),
                                 mode="lines+markers", line={"color": style.MAIN, "width": 2},
                                 hovertemplate=t("period", lang) + " %{x}: %{y:.1%}<extra></extra>"))
    style.layout(fig, title or t("chart_retention_curve", lang), legend=not by.empty)
    unit = (getattr(result.spec, "period", None) or "period")
    fig.update_layout(xaxis={"title": t("periods_since_start", lang, unit=t("unit_" + unit, lang, default=unit))},
                      yaxis={"title": t("retained", lang), "tickformat": style.AXIS_PERCENT,
                             "range": [0, 1.02]})
    return fig


LIFECYCLE = (("new", style.PALETTE[0], 1), ("returning", style.PALETTE[2], 1),
             ("resurrected", style.PALETTE[1], 1), ("dormant", style.LOST, -1))


@chart("ActivityResult", kind="lifecycle", when=has("lifecycle"))
def lifecycle_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Active users per period split into new, returning and resurrected (up), and the users
    of the previous period who went dormant (down)."""
    lc = table(result, "lifecycle")
    x = labels(lc["period"])
    fig = go.Figure()
    for col, colour, sign in LIFECYCLE:
        if col in lc:
            fig.add_trace(go.Bar(
                x=x, y=[sign * v for v in ints(lc[col])], name=t("lifecycle_" + col, lang),
                marker={"color": colour}, customdata=ints(lc[col]),
                hovertemplate="%{x}<br>" + t("lifecycle_" + col, lang) + ": %{customdata:,d}<extra></extra>",
            ))
    style.layout(fig, title or t("chart_lifecycle", lang))
    fig.update_layout(barmode="relative", xaxis={"title": t("period", lang), "type": "category"},
                      yaxis={"title": t("users", lang), "tickformat": style.AXIS_COUNT})
    return fig


@chart("ActivityResult", kind="actives", when=has("daily"))
def actives_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Daily active users with the trailing 7-day and 30-day active users."""
    d = table(result, "daily")
    fig = go.Figure()
    for i, (col, key) in enumerate((("dau", "dau"), ("wau_7d", "wau_7d"), ("mau_30d", "mau_30d"))):
        if col in d:
            fig.add_trace(go.Scatter(x=labels(d["day"]), y=floats(d[col]), name=t(key, lang),
                                     mode="lines", line={"color": style.PALETTE[i], "width": 2}))
    style.layout(fig, title or t("chart_actives", lang))
    fig.update_layout(xaxis={"title": t("day", lang)},
                      yaxis={"title": t("users", lang), "tickformat": style.AXIS_COUNT,
                             "rangemode": "tozero"})
    return fig


@chart("ChurnResult", kind="survival", when=has("survival"))
def survival_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Kaplan–Meier share of customers still active by days since their start, with its 95%
    band; the median lifetime is where the curve crosses 50%."""
    s = table(result, "survival")
    x = floats(s["day"])
    band = [(a, b, c) for a, b, c in zip(x, floats(s["ci_low"]), floats(s["ci_high"]), strict=True)
            if a is not None and b is not None and c is not None]
    bx, lo, hi = ([p[i] for p in band] for i in range(3))
    # a step band: each value holds until the next day with an event (days without an
    # interval are left out, so the band never jumps across them)
    sx = [v for i, a in enumerate(bx) for v in ((a,) if i == 0 else (a, a))]
    shi = [v for i, b in enumerate(hi) for v in ((b,) if i == 0 else (hi[i - 1], b))]
    slo = [v for i, b in enumerate(lo) for v in ((b,) if i == 0 else (lo[i - 1], b))]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=sx + sx[::-1], y=shi + slo[::-1], fill="toself", mode="lines",
                             line={"width": 0}, fillcolor="rgba(0,114,178,0.15)",
                             name=t("ci95", lang), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=floats(s["survival"]), mode="lines", name=t("still_active", lang),
                             line={"color": style.MAIN, "width": 2, "shape": "hv"},
                             hovertemplate=t("day", lang) + " %{x}: %{y:.1%}<extra></extra>"))
    fig.add_hline(y=0.5, line={"color": style.NEUTRAL, "dash": "dot"})
    style.layout(fig, title or t("chart_survival", lang))
    fig.update_layout(xaxis={"title": t("days_since_start", lang)},
                      yaxis={"title": t("still_active", lang), "tickformat": style.AXIS_PERCENT,
                             "range": [0, 1.02]})
    return fig


@chart("ChurnResult", kind="churn", when=has("periods"))
def churn_rate_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Churn rate per period: customers at the start of the period who churned in it."""
    p = table(result, "periods")
    fig = go.Figure(go.Bar(x=labels(p["period"]), y=floats(p["churn_rate"]), marker={"color": style.LOST},
                           hovertemplate="%{x}: %{y:.1%}<extra></extra>", name=t("churn_rate", lang)))
    style.layout(fig, title or t("chart_churn", lang), legend=False)
    fig.update_layout(xaxis={"title": t("period", lang), "type": "category"},
                      yaxis={"title": t("churn_rate", lang), "tickformat": style.AXIS_PERCENT,
                             "rangemode": "tozero"})
    return fig


@chart("MetricsResult", kind="channels", when=has("channels"))
def channels_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """New users per acquisition channel (bars) and the share of them who paid (line)."""
    c = table(result, "channels")
    x = labels(c["channel"])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=ints(c["new_users"]), name=t("new_users", lang),
                         marker={"color": style.MAIN}))
    if "paying_conversion" in c:
        fig.add_trace(go.Scatter(x=x, y=floats(c["paying_conversion"]), yaxis="y2", mode="markers+lines",
                                 name=t("paying_conversion", lang), line={"color": style.FORECAST}))
    style.layout(fig, title or t("chart_channels", lang))
    fig.update_layout(xaxis={"title": t("channel", lang), "type": "category"},
                      yaxis={"title": t("new_users", lang), "tickformat": style.AXIS_COUNT},
                      yaxis2={"title": t("paying_conversion", lang), "overlaying": "y",
                              "side": "right", "tickformat": style.AXIS_PERCENT, "showgrid": False,
                              "rangemode": "tozero"})
    return fig


@chart("MetricsResult", kind="metrics", when=has("metrics"))
def metrics_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """The chain's ratio metrics (those with a numerator and denominator) as bars."""
    m = table(result, "metrics")
    if "denominator" in m:
        m = m[m["denominator"].notna()]
    names = [f"{s} · {n}" for s, n in zip(labels(m["stage"]), labels(m["metric"]), strict=True)]
    values = floats(pd.to_numeric(m["value"], errors="coerce"))
    fig = go.Figure(go.Bar(y=names, x=values, orientation="h", marker={"color": style.MAIN},
                           text=[style.percent(v) for v in values], textposition="outside",
                           cliponaxis=False))
    style.layout(fig, title or t("chart_metrics", lang), legend=False,
                 height=max(260, 90 + 30 * len(names)))
    fig.update_layout(xaxis={"tickformat": style.AXIS_PERCENT, "rangemode": "tozero"},
                      yaxis={"autorange": "reversed", "type": "category"})
    return fig
