"""Attribution charts: conversions (or revenue) per channel, one bar per model, side by side."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.charts._common import has, table
from funnelscope.report.i18n import t

MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position", "markov")


def _bars(result: Any, name: str, lang: str, title: str, axis: str) -> go.Figure:
    c = table(result, name)
    channels = [str(ch) for ch in c["channel"]]
    fig = go.Figure()
    for i, model in enumerate(MODELS):
        label = t(f"attribution_{model}", lang)
        fig.add_trace(go.Bar(
            x=channels, y=[float(v) for v in c[model]], name=label,
            marker={"color": style.PALETTE[i % len(style.PALETTE)]},
            hovertemplate="%{x}<br>" + label + ": %{y:,.1f}<extra></extra>",
        ))
    style.layout(fig, title)
    fig.update_layout(barmode="group",
                      xaxis={"title": t("channel", lang), "type": "category",
                             "categoryorder": "array", "categoryarray": channels},
                      yaxis={"title": axis, "rangemode": "tozero"})
    return fig


@chart("AttributionResult", kind="conversions", when=has("channels"))
def attribution_conversions(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Attributed conversions per channel (x), one bar per model (first touch ... Markov)."""
    return _bars(result, "channels", lang, title or t("chart_attribution", lang),
                 t("attributed_conversions", lang))


@chart("AttributionResult", kind="revenue", when=has("revenue"))
def attribution_revenue(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Attributed revenue per channel, one bar per model (with ``value="revenue"``)."""
    return _bars(result, "revenue", lang, title or t("chart_attribution_revenue", lang),
                 t("attributed_revenue", lang))
