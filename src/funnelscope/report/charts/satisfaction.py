"""Satisfaction charts: the NPS trend with its 95% band, promoter / passive / detractor shares
as stacked bars, and what each NPS category did after answering (repurchase rate)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.charts._common import floats, has, ints, table
from funnelscope.report.i18n import t

CATEGORY_COLOURS = {"promoter": style.MAIN, "passive": style.NEUTRAL, "detractor": style.LOST}


def _answered(frame: Any) -> Any:
    return frame[frame["nps_answers"] > 0] if not frame.empty else frame


@chart("SatisfactionResult", kind="nps_trend",
       when=lambda r: not _answered(table(r, "periods")).empty)
def nps_trend(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """NPS (points) by answer period with its 95% interval as a band; NPS answers as light
    bars on the right axis."""
    p = _answered(table(result, "periods"))
    x = [str(v) for v in p["period"]]
    nps, lo, hi = floats(p["nps"]), floats(p["nps_ci_low"]), floats(p["nps_ci_high"])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=ints(p["nps_answers"]), name=t("nps_answers", lang), yaxis="y2",
                         marker={"color": style.NEUTRAL, "opacity": 0.5},
                         hovertemplate="%{x}<br>" + t("nps_answers", lang)
                                       + ": %{y:,d}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x + x[::-1], y=hi + lo[::-1], fill="toself", mode="lines",
                             line={"width": 0}, fillcolor="rgba(0,114,178,0.15)",
                             name=t("ci95", lang), hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=x, y=nps, mode="lines+markers", name="NPS", line={"color": style.MAIN, "width": 2},
        customdata=list(zip(lo, hi, strict=True)),
        hovertemplate="%{x}<br>NPS: %{y:+.1f} (%{customdata[0]:+.1f} – %{customdata[1]:+.1f})"
                      "<extra></extra>"))
    fig.add_hline(y=0, line={"color": style.NEUTRAL, "dash": "dash"})
    style.layout(fig, title or t("chart_nps_trend", lang))
    fig.update_layout(
        yaxis={"title": t("nps_points", lang), "range": [-100, 100]},
        yaxis2={"title": t("nps_answers", lang), "overlaying": "y", "side": "right",
                "showgrid": False, "tickformat": style.AXIS_COUNT, "rangemode": "tozero"},
        xaxis={"title": t("answer_period", lang), "type": "category"})
    return fig


def _breakdown(result: Any) -> tuple[Any, str]:
    for name, key in (("groups", "group"), ("periods", "period"), ("surveys", "survey")):
        frame = _answered(table(result, name))
        if not frame.empty:
            return frame, key
    return _answered(table(result, "summary")), ""


@chart("SatisfactionResult", kind="nps_categories",
       when=lambda r: not _breakdown(r)[0].empty)
def nps_categories(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Promoter, passive and detractor shares of the NPS answers as stacked bars, per group
    (with ``by``), else per period, else per survey; NPS written on each bar."""
    frame, key = _breakdown(result)
    x = [str(v) for v in frame[key]] if key else [t("all_answers", lang)]
    fig = go.Figure()
    for category in ("promoter", "passive", "detractor"):
        label = t(f"nps_{category}s", lang)
        fig.add_trace(go.Bar(
            x=x, y=floats(frame[f"{category}_share"]), name=label,
            marker={"color": CATEGORY_COLOURS[category]},
            hovertemplate="%{x}<br>" + label + ": %{y:.1%}<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=x, y=[1.04] * len(x), mode="text", showlegend=False, hoverinfo="skip",
        text=[f"NPS {v:+.0f}" if v is not None else "" for v in floats(frame["nps"])]))
    style.layout(fig, title or t("chart_nps_categories", lang))
    fig.update_layout(barmode="stack",
                      yaxis={"title": t("share_of_answers", lang), "tickformat": style.AXIS_PERCENT,
                             "range": [0, 1.1]},
                      xaxis={"type": "category"})
    return fig


@chart("SatisfactionResult", kind="churn", when=has("churn"))
def nps_churn(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Share of each NPS category who ordered again within the horizon after answering, with
    its 95% Wilson interval as error bars."""
    c = table(result, "churn")
    c = c[c["observed"] > 0]
    rate, lo, hi = floats(c["repurchase_rate"]), floats(c["repurchase_ci_low"]), \
        floats(c["repurchase_ci_high"])
    fig = go.Figure(go.Bar(
        x=[t(f"nps_{v}s", lang) for v in c["category"]], y=rate,
        marker={"color": [CATEGORY_COLOURS[str(v)] for v in c["category"]]},
        error_y={"type": "data", "symmetric": False,
                 "array": [h - r for h, r in zip(hi, rate, strict=True)],
                 "arrayminus": [r - lo_ for r, lo_ in zip(rate, lo, strict=True)]},
        hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    style.layout(fig, title or t("chart_nps_churn", lang, horizon=result.meta.get("horizon", "")),
                 legend=False)
    fig.update_layout(yaxis={"title": t("ordered_again", lang), "tickformat": style.AXIS_PERCENT,
                             "rangemode": "tozero"}, xaxis={"type": "category"})
    return fig
