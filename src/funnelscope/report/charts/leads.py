"""Lead-scoring charts: the holdout calibration plot (predicted vs observed per decile), the
distribution of the current leads' scores, and the leads each rule and tag matches."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.charts._common import floats, has, ints, labels, table
from funnelscope.report.i18n import t


@chart("LeadsResult", kind="lead_calibration", when=has("calibration"))
def calibration(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Observed conversion rate against the mean predicted probability per holdout decile;
    the diagonal is perfect calibration."""
    c = table(result, "calibration")
    pred, obs = floats(c["mean_predicted"]), floats(c["observed_rate"])
    top = max([v for v in pred + obs if v is not None] + [0.01])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name=t("lead_perfect", lang),
                             line={"color": style.NEUTRAL, "dash": "dash"}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=pred, y=obs, mode="lines+markers", name=t("lead_holdout", lang),
        line={"color": style.MAIN, "width": 2}, customdata=ints(c["leads"]),
        hovertemplate=t("lead_predicted", lang) + ": %{x:.1%}<br>" + t("lead_observed", lang)
                      + ": %{y:.1%}<br>n = %{customdata:,d}<extra></extra>"))
    style.layout(fig, title or t("chart_lead_calibration", lang))
    fig.update_layout(xaxis={"title": t("lead_predicted", lang), "tickformat": ".0%"},
                      yaxis={"title": t("lead_observed", lang), "tickformat": ".0%"})
    return fig


@chart("LeadsResult", kind="lead_scores", when=has("distribution"))
def scores(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Current leads per score bin (calibrated probability of converting in the horizon)."""
    d = table(result, "distribution")
    x = [f"{a:.0%}–{b:.0%}" for a, b in zip(floats(d["score_from"]), floats(d["score_to"]),
                                            strict=True)]
    fig = go.Figure(go.Bar(x=x, y=ints(d["leads"]), marker={"color": style.MAIN},
                           hovertemplate="%{x}: %{y:,d}<extra></extra>"))
    style.layout(fig, title or t("chart_lead_scores", lang))
    fig.update_layout(xaxis={"title": t("lead_score", lang), "type": "category"},
                      yaxis={"title": t("lead_count", lang), "tickformat": style.AXIS_COUNT})
    return fig


@chart("LeadsResult", kind="lead_rules", when=has("rules"))
def rules(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Leads matched by each rule (blue) and behaviour tag (grey)."""
    r = table(result, "rules")
    colours = [style.NEUTRAL if k == "tag" else style.MAIN for k in r["kind"]]
    fig = go.Figure(go.Bar(x=ints(r["leads_matched"]), y=labels(r["rule"]), orientation="h",
                           marker={"color": colours},
                           hovertemplate="%{y}: %{x:,d}<extra></extra>"))
    style.layout(fig, title or t("chart_lead_rules", lang))
    fig.update_layout(xaxis={"title": t("lead_count", lang), "tickformat": style.AXIS_COUNT},
                      yaxis={"autorange": "reversed"})
    return fig
