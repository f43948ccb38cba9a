"""Industry benchmark chart: each measurable metric as yours relative to the benchmark."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.charts._common import table
from funnelscope.report.i18n import t


def _measured(result: Any):
    c = table(result, "comparison")
    if c.empty:
        return c
    return c[c["yours"].notna() & c["benchmark"].notna()]


@chart("BenchmarkResult", kind="comparison", when=lambda r: not _measured(r).empty)
def benchmark_comparison(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Per metric, yours as a multiple of the benchmark (1 = on par): bars in the main colour
    where you do better (above for higher-is-better metrics, below for churn), in the loss
    colour where you do worse; the label shows yours and the benchmark."""
    c = _measured(result)
    ratio = [float(y) / float(b) if b else None for y, b in zip(c["yours"], c["benchmark"], strict=True)]
    colours = [style.MAIN if b == "above" else style.LOST if b == "below" else style.NEUTRAL
               for b in c["better"]]
    text = [f"{_show(y, u)} vs {_show(b, u)}" for y, b, u in
            zip(c["yours"], c["benchmark"], c["unit"], strict=True)]
    fig = go.Figure(go.Bar(x=ratio, y=[str(m) for m in c["metric"]], orientation="h",
                           marker={"color": colours}, text=text, textposition="auto"))
    fig.add_vline(x=1.0, line={"color": style.NEUTRAL, "dash": "dash"})
    style.layout(fig, title or t("chart_benchmark", lang), legend=False)
    fig.update_layout(xaxis={"title": t("benchmark_ratio", lang)}, yaxis={"type": "category"})
    return fig


def _show(value: Any, unit: Any) -> str:
    return style.percent(value) if unit == "rate" else f"{style.number(value)} {unit or ''}".strip()
