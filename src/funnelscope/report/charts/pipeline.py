"""Sales-pipeline charts: stage funnel, velocity, forecast by category, forecast vs actual."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.charts._common import floats, has, ints, labels, table
from funnelscope.report.i18n import t


@chart("PipelineResult", kind="funnel", when=has("funnel"))
def pipeline_funnel_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Deals that reached each stage (bar), conversion from the previous stage (label) and the
    deals lost at each stage (stacked, lost colour)."""
    f = table(result, "funnel")
    names = labels(f["stage"])
    n = ints(f["deals"])
    lost = ints(f["lost"]) if "lost" in f else [0] * len(n)
    prev = floats(f["conversion_from_previous"])
    amount = floats(f["amount"]) if "amount" in f else [None] * len(n)
    text = [f"{style.count(v)} · {style.percent(p)}" for v, p in zip(n, prev, strict=True)]
    fig = go.Figure()
    fig.add_trace(go.Bar(
        y=names, x=n, orientation="h", name=t("deals_reached", lang), text=text,
        textposition="inside", insidetextanchor="start", marker={"color": style.KEPT},
        customdata=[style.compact(a, lang) for a in amount],
        hovertemplate="<b>%{y}</b><br>" + t("deals", lang) + ": %{x:,d}<br>" + t("amount", lang)
                      + ": %{customdata}<extra></extra>",
    ))
    fig.add_trace(go.Bar(
        y=names, x=lost, orientation="h", name=t("deals_lost_here", lang),
        marker={"color": style.LOST, "opacity": 0.45},
        hovertemplate="<b>%{y}</b><br>" + t("deals_lost_here", lang) + ": %{x:,d}<extra></extra>",
    ))
    style.layout(fig, title or t("chart_pipeline_funnel", lang), height=max(260, 80 + 44 * len(n)))
    fig.update_layout(barmode="stack",
                      yaxis={"autorange": "reversed", "type": "category"},
                      xaxis={"title": t("deals", lang), "tickformat": style.AXIS_COUNT})
    return fig


@chart("PipelineResult", kind="velocity", when=has("velocity"))
def velocity_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Median days deals spend in each stage (bar) with the 90th percentile (marker)."""
    v = table(result, "velocity")
    names = labels(v["stage"])
    fig = go.Figure()
    fig.add_trace(go.Bar(
        x=names, y=floats(v["median_days_in_stage"]), name=t("median_days_in_stage", lang),
        marker={"color": style.MAIN},
        text=["" if x is None else f"{x:.1f}" for x in floats(v["median_days_in_stage"])],
        textposition="outside",
        hovertemplate="%{x}<br>" + t("median_days_in_stage", lang) + ": %{y:.1f}<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=names, y=floats(v["p90_days_in_stage"]), mode="markers", name=t("p90_days_in_stage", lang),
        marker={"color": style.LOST, "symbol": "line-ew-open", "size": 22, "line": {"width": 3}},
        hovertemplate="%{x}<br>" + t("p90_days_in_stage", lang) + ": %{y:.1f}<extra></extra>",
    ))
    style.layout(fig, title or t("chart_velocity", lang))
    fig.update_layout(xaxis={"title": t("stage", lang), "type": "category"},
                      yaxis={"title": t("days", lang), "rangemode": "tozero"})
    return fig


def _forecast_figure(f: Any, lang: str, title: str | None) -> go.Figure:
    cats = table(f, "categories")
    names = [t("category_" + c.lower().replace(" ", "_"), lang) for c in labels(cats["category"])]
    fig = go.Figure()
    for col, key, colour in (("weighted_amount", "weighted_forecast", style.FORECAST),
                             ("learned_amount", "learned_forecast", style.MAIN)):
        if col in cats and cats[col].notna().any():
            fig.add_trace(go.Bar(
                x=names, y=floats(cats[col]), name=t(key, lang), marker={"color": colour},
                text=[style.compact(x, lang) for x in floats(cats[col])], textposition="outside",
                hovertemplate="%{x}<br>" + t(key, lang) + ": %{y:,.0f}<extra></extra>",
            ))
    period = f.meta.get("period", "")
    style.layout(fig, title or t("chart_forecast", lang, period=period))
    fig.update_layout(barmode="group", xaxis={"title": t("forecast_category", lang)},
                      yaxis={"title": t("amount", lang), "rangemode": "tozero"})
    return fig


@chart("ForecastResult", kind="forecast", when=has("categories"))
def forecast_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Amount expected per forecast category (Closed, Commit, Best Case, Pipeline): the
    weighted pipeline beside the learned model."""
    return _forecast_figure(result, lang, title)


def _backtest_figure(b: Any, lang: str, title: str | None) -> go.Figure:
    c = table(b, "cutoffs")
    x = labels(c["period"]) if len(c) else []
    fig = go.Figure()
    if len(c):
        fig.add_trace(go.Bar(x=x, y=floats(c["actual"]), name=t("actual_won", lang),
                             marker={"color": style.ACTUAL},
                             hovertemplate="%{x}<br>" + t("actual_won", lang)
                                           + ": %{y:,.0f}<extra></extra>"))
        for col, key, colour, dash in (("weighted_forecast", "weighted_forecast", style.FORECAST, "dash"),
                                       ("learned_forecast", "learned_forecast", style.MAIN, "solid")):
            fig.add_trace(go.Scatter(
                x=x, y=floats(c[col]), mode="lines+markers", name=t(key, lang),
                line={"color": colour, "dash": dash, "width": 2},
                hovertemplate="%{x}<br>" + t(key, lang) + ": %{y:,.0f}<extra></extra>",
            ))
    style.layout(fig, title or t("chart_forecast_vs_actual", lang))
    fig.update_layout(xaxis={"title": t("period", lang), "type": "category"},
                      yaxis={"title": t("amount", lang), "rangemode": "tozero"})
    return fig


@chart("BacktestResult", kind="forecast_vs_actual")
def backtest_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Per past period: the amount actually won (bars) against what each forecast said at the
    period's start (lines)."""
    return _backtest_figure(result, lang, title)


@chart("PipelineResult", kind="forecast")
def pipeline_forecast_chart(result: Any, lang: str = "en", period: Any = None,
                            title: str | None = None) -> go.Figure:
    """The forecast of ``period`` (default: the next quarter) by category."""
    return _forecast_figure(result.forecast(period), lang, title)


@chart("PipelineResult", kind="forecast_vs_actual")
def pipeline_backtest_chart(result: Any, lang: str = "en", horizon: str | None = None,
                            title: str | None = None) -> go.Figure:
    """Backtest of both forecasts: forecast vs actual for the last periods."""
    return _backtest_figure(result.backtest(horizon), lang, title)


def _win_rates_by_period(result: Any):
    w = table(result, "win_rates")
    if w.empty or "period" not in w:
        return w
    if "group" in w:
        w = w[w["group"] == "(all)"]
    return w[w["period"] != "(all)"]


@chart("PipelineResult", kind="win_rates", when=lambda r: not _win_rates_by_period(r).empty)
def win_rate_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Win rate (won ÷ closed) by close period with 95% Wilson intervals, all deals (needs a
    pipeline run with ``period``)."""
    w = _win_rates_by_period(result)
    x = labels(w["period"])
    rate, lo, hi = floats(w["win_rate"]), floats(w["ci_low"]), floats(w["ci_high"])
    fig = go.Figure(go.Scatter(
        x=x, y=rate, mode="lines+markers", name=t("win_rate", lang),
        line={"color": style.MAIN, "width": 2},
        error_y={"type": "data", "symmetric": False,
                 "array": [None if r is None or h is None else h - r for r, h in zip(rate, hi, strict=True)],
                 "arrayminus": [None if r is None or v is None else r - v for r, v in zip(rate, lo, strict=True)],
                 "color": style.MAIN, "thickness": 1},
        hovertemplate="%{x}<br>" + t("win_rate", lang) + ": %{y:.1%}<extra></extra>",
    ))
    style.layout(fig, title or t("chart_win_rates", lang), legend=False)
    fig.update_layout(xaxis={"title": t("period", lang), "type": "category"},
                      yaxis={"title": t("win_rate", lang), "tickformat": style.AXIS_PERCENT,
                             "rangemode": "tozero"})
    return fig
