"""Conversion watch chart: each metric's daily series with its expected band and the alert
days marked (:class:`~funnelscope.analyses.monitor.result.WatchResult`)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.charts._common import floats, table
from funnelscope.report.i18n import t


def metric_label(metric: str, lang: str) -> str:
    """``entrants`` -> "Entrants"; ``conversion:pay`` -> "Conversion to pay"; a metric of
    funnelscope.yml keeps its name."""
    if metric == "entrants":
        return t("entrants", lang)
    if not is_rate(metric):
        return metric
    return t("conversion_to", lang, step=metric.split(":", 1)[1])


def direction_label(direction: str, lang: str) -> str:
    """"up" / "down" of an alert in ``lang``."""
    return t("direction_up", lang) if direction == "up" else t("direction_down", lang)


def is_rate(metric: str) -> bool:
    """Whether a watched metric is a conversion rate (a fraction) rather than a count or a
    metric of funnelscope.yml."""
    return metric.startswith("conversion:")


def _has_series(result: Any) -> bool:
    s = table(result, "series")
    return not s.empty and s["observed"].notna().any()


@chart("WatchResult", kind="series", when=_has_series)
def watch_series(result: Any, lang: str = "en", title: str | None = None,
                 metrics: list[str] | None = None) -> go.Figure:
    """One panel per metric (default: every metric of the series, entrants first): the
    observed value per day (line), the expected value (same-weekday median, dotted) inside its
    band low–high (shaded; only on days with a baseline), and the alert days as large markers
    in the loss colour (a drop) or the main colour (a rise). Days not judged (window still
    open, too few entrants) are drawn hollow."""
    from plotly.subplots import make_subplots

    s = table(result, "series")
    alerts = table(result, "alerts")
    names = [m for m in dict.fromkeys(s["metric"]) if metrics is None or m in metrics]
    alert_legend = True
    fig = make_subplots(rows=max(len(names), 1), cols=1, shared_xaxes=True,
                        vertical_spacing=0.08 if len(names) > 1 else 0.0,
                        subplot_titles=[metric_label(m, lang) for m in names])
    for row, m in enumerate(names, start=1):
        d = s[s["metric"] == m]
        days = [str(x) for x in d["date"]]
        obs, exp = floats(d["observed"]), floats(d["expected"])
        low, high = floats(d["low"]), floats(d["high"])
        judged = [bool(j) for j in d["judged"]]
        rate = is_rate(m)
        shown = style.percent if rate else style.number
        first = row == 1
        fig.add_trace(go.Scatter(x=days, y=high, mode="lines", line={"width": 0},
                                 hoverinfo="skip", showlegend=False, legendgroup="band"),
                      row=row, col=1)
        fig.add_trace(go.Scatter(x=days, y=low, mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(0,114,178,0.12)", name=t("expected_band", lang),
                                 hoverinfo="skip", showlegend=first, legendgroup="band"),
                      row=row, col=1)
        fig.add_trace(go.Scatter(x=days, y=exp, mode="lines", name=t("expected", lang),
                                 line={"color": style.MAIN, "dash": "dot", "width": 1.5},
                                 hoverinfo="skip", showlegend=first, legendgroup="expected"),
                      row=row, col=1)
        hover = [f"<b>{day}</b><br>{t('observed', lang)}: {shown(o)}<br>"
                 f"{t('expected', lang)}: {shown(e)} ({shown(lo)}–{shown(hi)})"
                 + ("" if j else f"<br>{t('not_judged', lang)}")
                 for day, o, e, lo, hi, j in zip(days, obs, exp, low, high, judged, strict=True)]
        fig.add_trace(go.Scatter(
            x=days, y=obs, mode="lines+markers", name=t("observed", lang),
            line={"color": "#555555", "width": 2}, hovertext=hover, hoverinfo="text",
            marker={"size": 6, "color": ["#555555" if j else "white" for j in judged],
                    "line": {"color": "#555555", "width": 1.5}},
            showlegend=first, legendgroup="observed"), row=row, col=1)
        a = alerts[alerts["metric"] == m] if not alerts.empty else alerts
        if len(a):
            fig.add_trace(go.Scatter(
                x=[str(x) for x in a["date"]], y=floats(a["observed"]), mode="markers",
                name=t("alert", lang), showlegend=alert_legend, legendgroup="alert",
                marker={"size": 15, "symbol": "circle-open", "line": {"width": 3},
                        "color": [style.LOST if x == "down" else style.MAIN
                                  for x in a["direction"]]},
                hovertext=[f"<b>{t('alert', lang)} {x}</b>: {direction_label(dirn, lang)} "
                           f"{shown(o)} ({t('expected', lang)} {shown(e)})"
                           for x, dirn, o, e in zip(a["date"], a["direction"], floats(a["observed"]),
                                                    floats(a["expected"]), strict=True)],
                hoverinfo="text"), row=row, col=1)
            alert_legend = False
        fig.update_yaxes(tickformat=style.AXIS_PERCENT if rate else None,
                         rangemode="tozero", row=row, col=1)
    style.layout(fig, title or t("chart_watch", lang), height=max(300, 70 + 190 * len(names)))
    fig.update_xaxes(type="category")
    return fig
