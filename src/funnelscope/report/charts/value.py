"""Customer-value charts: RFM grid, cluster profiles, CLV distribution, CAC, churn risk.

Builders accept both the workspace reports (``RFMReport``...) and the plain value results of
the pandas functions (``RFMResult``...): they look for the tables by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.charts._common import floats, has, labels, table
from funnelscope.report.i18n import cluster_label, segment_name, t


def _currency(result: Any) -> str | None:
    meta = getattr(result, "meta", None)
    if isinstance(meta, dict) and meta.get("currency"):
        return str(meta["currency"])
    return getattr(result, "currency", None)


@chart("RFMReport", "RFMResult", kind="grid", when=has("customers"))
def rfm_grid(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Customers by recency score (x) and frequency score (y): cell colour is the number of
    customers, the label their count and average monetary value."""
    c = table(result, "customers")
    r = c["recency_score"].astype(int)
    f = c["frequency_score"].astype(int)
    rs = list(range(1, int(r.max()) + 1))
    fs_ = list(range(1, int(f.max()) + 1))
    grouped = c.assign(r=r, f=f).groupby(["f", "r"])["monetary"].agg(["size", "mean"])
    z, text, mean = [], [], []
    for fi in fs_:
        zr, tr, mr = [], [], []
        for ri in rs:
            if (fi, ri) in grouped.index:
                n, m = grouped.loc[(fi, ri)]
                zr.append(int(n))
                mr.append(float(m))
                tr.append(f"{style.count(n)}<br>{style.compact(m, lang)}")
            else:
                zr.append(0)
                mr.append(None)
                tr.append("")
        z.append(zr)
        text.append(tr)
        mean.append(mr)
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(x) for x in rs], y=[str(y) for y in fs_], text=text, texttemplate="%{text}",
        customdata=mean, colorscale=style.SEQUENTIAL, xgap=2, ygap=2,
        colorbar={"title": t("customers", lang)},
        hovertemplate=t("recency_score", lang) + " %{x}, " + t("frequency_score", lang)
                      + " %{y}<br>" + t("customers", lang) + ": %{z:,d}<br>"
                      + t("average_monetary", lang) + ": %{customdata:,.2f}<extra></extra>",
    ))
    style.layout(fig, title or t("chart_rfm_grid", lang), legend=False)
    fig.update_layout(xaxis={"title": t("recency_score_axis", lang), "type": "category"},
                      yaxis={"title": t("frequency_score_axis", lang), "type": "category"})
    return fig


@chart("RFMReport", "RFMResult", kind="segments", when=has("segments", "segment_summary"))
def rfm_segments_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Share of customers and share of revenue per RFM segment."""
    s = table(result, "segments", "segment_summary")
    s = s.sort_values("revenue_share", ascending=False, kind="stable")
    names = [segment_name(n, lang) for n in labels(s["segment"])]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=floats(s["customer_share"]), orientation="h",
                         name=t("customer_share", lang), marker={"color": style.NEUTRAL}))
    fig.add_trace(go.Bar(y=names, x=floats(s["revenue_share"]), orientation="h",
                         name=t("revenue_share", lang), marker={"color": style.MAIN}))
    style.layout(fig, title or t("chart_rfm_segments", lang), height=max(280, 90 + 40 * len(names)))
    fig.update_layout(barmode="group", xaxis={"tickformat": style.AXIS_PERCENT},
                      yaxis={"autorange": "reversed", "type": "category"})
    return fig


def _profile_columns(p: pd.DataFrame) -> list[str]:
    return [c for c in p.columns if c.startswith("mean_")]


@chart("ClusterReport", "ClusterResult", kind="profiles", when=has("profiles"))
def cluster_profiles(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """One row per cluster, one column per feature: colour is how far the cluster's mean is
    from the mean over clusters (in standard deviations across clusters), the label the mean."""
    p = table(result, "profiles")
    cols = _profile_columns(p)
    means = p[cols].astype(float)
    sd = means.std(ddof=0).replace(0, np.nan)
    z = ((means - means.mean()) / sd).fillna(0.0)
    name_col = "label" if "label" in p else "description"
    rows = [f"{cluster_label(lab, lang)} ({style.percent(sh, 0)})"
            for lab, sh in zip(labels(p[name_col]), floats(p["share"]), strict=True)]
    features = [c.removeprefix("mean_") for c in cols]
    text = [[style.number(v) for v in row] for row in means.to_numpy()]
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy().tolist(), x=[t("feature_" + f, lang, default=f) for f in features], y=rows,
        text=text, texttemplate="%{text}", colorscale=style.DIVERGING, zmid=0, xgap=2, ygap=2,
        colorbar={"title": t("vs_average_sd", lang)},
        hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>",
    ))
    style.layout(fig, title or t("chart_cluster_profiles", lang), legend=False,
                 height=max(280, 110 + 48 * len(rows)))
    fig.update_layout(yaxis={"autorange": "reversed", "type": "category"},
                      xaxis={"type": "category", "side": "top"})
    return fig


@chart("CLVReport", "CustomerValue", kind="distribution", when=has("customers"))
def clv_distribution(result: Any, lang: str = "en", bins: int = 30,
                     title: str | None = None) -> go.Figure:
    """Histogram of predicted customer lifetime value; dashed lines at the quartiles that
    define the CLV tiers."""
    c = table(result, "customers")
    values = pd.to_numeric(c["clv"], errors="coerce").dropna().to_numpy(dtype=float)
    fig = go.Figure()
    if len(values):
        counts, edges = np.histogram(values, bins=bins)
        mids = ((edges[:-1] + edges[1:]) / 2).tolist()
        fig.add_trace(go.Bar(x=mids, y=counts.tolist(), width=(edges[1:] - edges[:-1]).tolist(),
                             marker={"color": style.MAIN}, name=t("customers", lang),
                             hovertemplate="CLV %{x:,.2f}<br>" + t("customers", lang)
                                           + ": %{y:,d}<extra></extra>"))
        for q in (0.25, 0.5, 0.75):
            fig.add_vline(x=float(np.quantile(values, q)), line={"color": style.NEUTRAL, "dash": "dash"})
    cur = _currency(result)
    style.layout(fig, title or t("chart_clv", lang), legend=False)
    fig.update_layout(bargap=0.03, xaxis={"title": "CLV" + (f" ({cur})" if cur else "")},
                      yaxis={"title": t("customers", lang), "tickformat": style.AXIS_COUNT})
    return fig


@chart("AcquisitionReport", kind="cac", when=has("cac"))
def cac_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Customer acquisition cost and lifetime value per new customer, per channel; the label
    is LTV:CAC."""
    c = table(result, "cac")
    key = "channel" if "channel" in c else c.columns[0]
    x = labels(c[key])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=floats(c["cac"]), name="CAC", marker={"color": style.LOST}))
    if "ltv" in c:
        ratio = floats(c["ltv_to_cac"]) if "ltv_to_cac" in c else [None] * len(x)
        fig.add_trace(go.Bar(x=x, y=floats(c["ltv"]), name="LTV", marker={"color": style.MAIN},
                             text=["" if r is None else f"{r:.1f}×" for r in ratio],
                             textposition="outside"))
    cur = _currency(result)
    style.layout(fig, title or t("chart_cac", lang))
    fig.update_layout(barmode="group", xaxis={"title": t("channel", lang), "type": "category"},
                      yaxis={"title": t("per_customer", lang) + (f" ({cur})" if cur else "")})
    return fig


@chart("ChurnRiskReport", "ChurnRiskResult", kind="reasons", when=has("feature_importance"))
def churn_reasons(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """What drives the churn-risk model: feature importance, largest first."""
    f = table(result, "feature_importance")
    name = "feature" if "feature" in f else f.columns[0]
    val = "importance" if "importance" in f else f.select_dtypes("number").columns[0]
    f = f.sort_values(val, ascending=False, kind="stable")
    fig = go.Figure(go.Bar(y=labels(f[name]), x=floats(f[val]), orientation="h",
                           marker={"color": style.MAIN}))
    style.layout(fig, title or t("chart_churn_reasons", lang), legend=False,
                 height=max(260, 90 + 28 * len(f)))
    fig.update_layout(yaxis={"autorange": "reversed", "type": "category"})
    return fig


@chart("ChurnRiskReport", "ChurnRiskResult", kind="at_risk", when=has("at_risk"))
def churn_risk_distribution(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Histogram of predicted churn probability over the scored customers."""
    a = table(result, "at_risk")
    values = pd.to_numeric(a["churn_probability"], errors="coerce").dropna().to_numpy(dtype=float)
    counts, edges = np.histogram(values, bins=20, range=(0.0, 1.0))
    fig = go.Figure(go.Bar(x=((edges[:-1] + edges[1:]) / 2).tolist(), y=counts.tolist(),
                           width=0.05, marker={"color": style.LOST}))
    style.layout(fig, title or t("chart_churn_risk", lang), legend=False)
    fig.update_layout(xaxis={"title": t("churn_probability", lang), "tickformat": style.AXIS_PERCENT},
                      yaxis={"title": t("customers", lang), "tickformat": style.AXIS_COUNT})
    return fig
