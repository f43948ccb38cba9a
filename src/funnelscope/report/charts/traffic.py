"""Traffic charts: channel quality (UV and sessions as bars, conversion rate as a line on the
right axis, per group) and, when the spend has clicks, cost per click against conversion rate
(one point per group: cheap clicks that do not convert sit bottom-left)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.charts._common import floats, ints, labels, table
from funnelscope.report.i18n import t


def _groups(result: Any) -> tuple[Any, list[str]]:
    """The groups with sessions (else the summary row) and their x labels."""
    g = table(result, "groups")
    if not g.empty:
        g = g[g["sessions"] > 0]
    if not g.empty:
        return g, labels(g["group"])
    return table(result, "summary"), []


def _by(result: Any, lang: str) -> str:
    by = getattr(result.spec, "by", None)
    return str(by) if by else t("traffic_all", lang)


def _priced(result: Any) -> Any:
    g = table(result, "groups")
    if g.empty:
        return g
    return g[g["cpc"].notna() & g["conversion_rate"].notna()]


@chart("TrafficResult", kind="quality", when=lambda r: not _groups(r)[0].empty)
def traffic_quality(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Unique visitors and sessions per group as bars (left axis) and the conversion rate
    (converting users / UV) as markers on the right axis."""
    g, x = _groups(result)
    x = x or [t("traffic_all", lang)]
    fig = go.Figure()
    for column, key, colour in (("uv", "traffic_uv", style.MAIN),
                                ("sessions", "traffic_sessions", style.PALETTE[1])):
        label = t(key, lang)
        fig.add_trace(go.Bar(x=x, y=ints(g[column]), name=label, marker={"color": colour},
                             hovertemplate="%{x}<br>" + label + ": %{y:,d}<extra></extra>"))
    rate = floats(g["conversion_rate"])
    if any(v is not None for v in rate):
        label = t("traffic_conversion_rate", lang)
        fig.add_trace(go.Scatter(
            x=x, y=rate, name=label, yaxis="y2", mode="lines+markers",
            line={"color": style.LOST, "width": 2}, marker={"color": style.LOST, "size": 9},
            hovertemplate="%{x}<br>" + label + ": %{y:.1%}<extra></extra>"))
    style.layout(fig, title or t("chart_traffic_quality", lang, by=_by(result, lang)))
    fig.update_layout(
        barmode="group", xaxis={"type": "category"},
        yaxis={"title": t("traffic_visits", lang), "tickformat": style.AXIS_COUNT},
        yaxis2={"title": t("traffic_conversion_rate", lang), "overlaying": "y", "side": "right",
                "showgrid": False, "tickformat": style.AXIS_PERCENT, "rangemode": "tozero"})
    return fig


@chart("TrafficResult", kind="cost", when=lambda r: not _priced(r).empty)
def traffic_cost(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Cost per click (x) against conversion rate (y), one labelled point per group with
    spend and clicks; the point's area grows with the group's clicks."""
    g = _priced(result)
    clicks = floats(g["clicks"])
    biggest = max((c for c in clicks if c is not None), default=1.0) or 1.0
    size = [12 + 28 * ((c or 0.0) / biggest) ** 0.5 for c in clicks]
    fig = go.Figure(go.Scatter(
        x=floats(g["cpc"]), y=floats(g["conversion_rate"]), text=labels(g["group"]),
        mode="markers+text", textposition="top center",
        marker={"color": style.MAIN, "size": size, "opacity": 0.8},
        customdata=[[c or 0.0] for c in clicks],
        hovertemplate="%{text}<br>CPC: %{x:,.2f}<br>" + t("traffic_conversion_rate", lang)
                      + ": %{y:.1%}<br>clicks: %{customdata[0]:,.0f}<extra></extra>"))
    style.layout(fig, title or t("chart_traffic_cost", lang, by=_by(result, lang)), legend=False)
    fig.update_layout(xaxis={"title": t("traffic_cpc", lang), "rangemode": "tozero"},
                      yaxis={"title": t("traffic_conversion_rate", lang),
                             "tickformat": style.AXIS_PERCENT, "rangemode": "tozero"})
    return fig
