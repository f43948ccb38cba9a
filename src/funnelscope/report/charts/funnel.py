"""Funnel charts: steps with conversion and drop-off, trend, time to convert, breakdown."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.charts._common import floats, has, ints, labels, table
from funnelscope.report.i18n import t


def _converting(result: Any) -> bool:
    steps = table(result, "steps")
    return len(steps) >= 2 and int(steps["entities"].iloc[-1]) > 0 and \
        getattr(result, "entries", None) is not None


@chart("FunnelResult", kind="funnel")
def funnel_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Entities per step (bar width), the share of the first step (label) and, stacked beside
    each step, the entities lost since the previous step with their share of it."""
    s = table(result, "steps")
    names = labels(s["step"])
    n = ints(s["entities"])
    lost = [0] + [max(a - b, 0) for a, b in zip(n[:-1], n[1:], strict=False)]
    conv = floats(s["conversion_from_start"])
    prev = floats(s["conversion_from_previous"])
    lo, hi = floats(s["ci_low"]), floats(s["ci_high"])
    kept_text = [f"{style.count(v)} · {style.percent(c)}" for v, c in zip(n, conv, strict=True)]
    lost_text = [
        "" if i == 0 or v == 0 else f"−{style.count(v)} ({style.percent(1 - (p or 0))})"
        for i, (v, p) in enumerate(zip(lost, prev, strict=True))
    ]
    hover = [
        f"<b>{name}</b><br>{t('entities', lang)}: {style.count(v)}<br>"
        f"{t('conversion_from_start', lang)}: {style.percent(c)} "
        f"({t('ci95', lang)} {style.percent(a)}–{style.percent(b)})<br>"
        f"{t('conversion_from_previous', lang)}: {style.percent(p)}"
        for name, v, c, a, b, p in zip(names, n, conv, lo, hi, prev, strict=True)
    ]
    fig = go.Figure()
    fig.add_trace(go.Funnel(
        y=names, x=n, name=t("reached_step", lang), text=kept_text, textinfo="text",
        textposition="inside", hovertext=hover, hoverinfo="text",
        marker={"color": style.KEPT}, connector={"visible": False},
    ))
    fig.add_trace(go.Funnel(
        y=names, x=lost, name=t("lost_since_previous", lang), text=lost_text, textinfo="text",
        textposition="inside", textfont={"color": "#222222"}, hoverinfo="skip",
        marker={"color": style.LOST, "opacity": 0.35}, connector={"visible": False},
    ))
    fig.update_layout(funnelmode="stack")
    style.layout(fig, title or t("chart_funnel", lang), height=max(260, 80 + 64 * len(n)))
    fig.update_yaxes(title_text=None)
    return fig


@chart("FunnelResult", kind="trend", when=has("periods"))
def trend_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Conversion (first to last step) by entry period with its 95% Wilson band; entrants as
    light bars on the right axis."""
    p = table(result, "periods")
    x = labels(p["period"])
    conv, lo, hi = floats(p["conversion"]), floats(p["ci_low"]), floats(p["ci_high"])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=ints(p["entities"]), name=t("entrants", lang), yaxis="y2",
                         marker={"color": style.NEUTRAL, "opacity": 0.5},
                         hovertemplate="%{x}<br>" + t("entrants", lang) + ": %{y:,d}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x + x[::-1], y=hi + lo[::-1], fill="toself", mode="lines",
                             line={"width": 0}, fillcolor="rgba(0,114,178,0.15)",
                             name=t("ci95", lang), hoverinfo="skip"))
    fig.add_trace(go.Scatter(
        x=x, y=conv, mode="lines+markers", name=t("conversion", lang),
        line={"color": style.MAIN, "width": 2},
        customdata=list(zip(lo, hi, strict=True)),
        hovertemplate="%{x}<br>" + t("conversion", lang) + ": %{y:.1%} (%{customdata[0]:.1%}–"
                      "%{customdata[1]:.1%})<extra></extra>",
    ))
    style.layout(fig, title or t("chart_trend", lang))
    fig.update_layout(
        yaxis={"title": t("conversion", lang), "tickformat": style.AXIS_PERCENT,
               "rangemode": "tozero"},
        yaxis2={"title": t("entrants", lang), "overlaying": "y", "side": "right",
                "showgrid": False, "tickformat": style.AXIS_COUNT, "rangemode": "tozero"},
        xaxis={"title": t("entry_period", lang), "type": "category"},
    )
    return fig


@chart("FunnelResult", kind="time_to_convert", when=_converting)
def time_to_convert_chart(result: Any, lang: str = "en", a: Any = 1, b: Any = None,
                          bins: int = 20, title: str | None = None) -> go.Figure:
    """Histogram of the time from step ``a`` to step ``b`` (default first to last) among the
    entities that reached ``b``; the median is marked."""
    import numpy as np

    h = result.time_to_convert(a, b, bins=bins)
    top = float(h["seconds_to"].max()) if len(h) else 0.0
    unit, size = style.duration_unit(top)
    mids = ((h["seconds_from"] + h["seconds_to"]) / 2 / size).tolist()
    widths = ((h["seconds_to"] - h["seconds_from"]) / size).tolist()
    fig = go.Figure(go.Bar(
        x=mids, y=ints(h["entities"]), width=widths, marker={"color": style.MAIN},
        name=t("entities", lang), customdata=floats(h["share"]),
        hovertemplate="%{x:.3~g} " + t(unit, lang) + "<br>" + t("entities", lang)
                      + ": %{y:,d} (%{customdata:.1%})<extra></extra>",
    ))
    names = list(result.spec.step_names)
    ja = result._step_index(a)
    jb = result._step_index(b if b is not None else len(names))
    entries = result.entries
    reached = entries[entries["level"] >= jb]
    secs = (reached[f"t{jb}"].astype("float64") - reached[f"t{ja}"].astype("float64")) / 1e6
    secs = secs.dropna().to_numpy()
    if len(secs):
        med = float(np.median(secs))
        fig.add_vline(x=med / size, line={"color": style.LOST, "dash": "dash"},
                      annotation_text=f"{t('median', lang)} {style.duration(med, lang)}",
                      annotation_position="top right")
    style.layout(fig, title or t("chart_time_to_convert", lang, a=names[ja - 1], b=names[jb - 1]),
                 legend=False)
    fig.update_layout(bargap=0.05,
                      xaxis={"title": t(unit, lang)},
                      yaxis={"title": t("entities", lang), "tickformat": style.AXIS_COUNT})
    return fig


@chart("FunnelResult", kind="breakdown", when=has("groups"))
def breakdown_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Conversion (first to last step) per group with 95% Wilson intervals; the dashed line is
    the overall conversion. Groups whose conversion differs from the rest (chi-square
    p < 0.05) are drawn in the main colour, the others in grey."""
    g = table(result, "groups")
    names = labels(g["group"])
    conv, lo, hi = floats(g["conversion"]), floats(g["ci_low"]), floats(g["ci_high"])
    pvals = floats(g["p_value"]) if "p_value" in g else [None] * len(g)
    colours = [style.MAIN if (p is not None and p < 0.05) else style.NEUTRAL for p in pvals]
    fig = go.Figure(go.Bar(
        y=names, x=conv, orientation="h", marker={"color": colours},
        error_x={"type": "data", "symmetric": False,
                 "array": [None if c is None or h is None else h - c for c, h in zip(conv, hi, strict=True)],
                 "arrayminus": [None if c is None or w is None else c - w for c, w in zip(conv, lo, strict=True)],
                 "color": "#555555", "thickness": 1.2},
        text=[f"{style.percent(c)} · n={style.count(n)}" for c, n in zip(conv, g["entities"], strict=True)],
        textposition="inside", insidetextanchor="start",
        customdata=list(zip(lo, hi, pvals, strict=True)),
        hovertemplate="<b>%{y}</b><br>" + t("conversion", lang) + ": %{x:.1%}<br>" + t("ci95", lang)
                      + ": %{customdata[0]:.1%}–%{customdata[1]:.1%}<br>p = %{customdata[2]:.2g}"
                      "<extra></extra>",
    ))
    steps = table(result, "steps")
    overall = float(steps["conversion_from_start"].iloc[-1]) if len(steps) else None
    if overall is not None:
        fig.add_vline(x=overall, line={"color": style.LOST, "dash": "dash"},
                      annotation_text=f"{t('overall', lang)} {style.percent(overall)}",
                      annotation_position="top")
    by = getattr(result.spec, "by", None) or ""
    style.layout(fig, title or t("chart_breakdown", lang, by=by), legend=False,
                 height=max(260, 90 + 36 * len(names)))
    right = max([h for h in hi if h is not None] + [overall or 0, 0.01])
    fig.update_layout(xaxis={"title": t("conversion", lang), "tickformat": style.AXIS_PERCENT,
                             "range": [0, min(1.0, right * 1.25)]},
                      yaxis={"autorange": "reversed", "type": "category"})
    return fig


@chart("FunnelComparison", kind="compare")
def compare_chart(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Compared funnels as grouped bars: conversion from the first step per step, one colour
    per funnel (the reference first), with each funnel's 95% Wilson interval as error bars;
    the hover adds the difference against the reference (percentage points, unpooled Wald
    95% interval) and the pooled z test's p-value."""
    f = table(result, "funnels")
    c = table(result, "comparisons")
    versus = {} if c.empty else {
        (str(r["label"]), str(r["step"])): r for r in c.to_dict(orient="records")}
    fig = go.Figure()
    order = list(dict.fromkeys(labels(f["label"])))
    steps = list(dict.fromkeys(labels(f["step"])))
    pp = t("compare_points", lang)
    for i, name in enumerate(order):
        rows = f[f["label"].astype(str) == name]
        step_names = labels(rows["step"])
        conv = floats(rows["from_start"])
        lo, hi = floats(rows["from_start_ci_low"]), floats(rows["from_start_ci_high"])
        hover = []
        for s, n, v, a, b in zip(step_names, ints(rows["entities"]), conv, lo, hi, strict=True):
            text = (f"<b>{name}</b> · {s}<br>{t('entities', lang)}: {style.count(n)}<br>"
                    f"{t('conversion_from_start', lang)}: {style.percent(v)} "
                    f"({t('ci95', lang)} {style.percent(a)}–{style.percent(b)})")
            d = versus.get((name, s))
            if i == 0:
                text += f"<br>{t('compare_reference', lang)}"
            elif d is not None and d["difference"] is not None:
                p = floats([d["p_value"]])[0]
                da, db = floats([d["ci_low"], d["ci_high"]])
                sig = t("compare_significant" if p is not None and p < 0.05
                        else "compare_not_significant", lang)
                text += (f"<br>{t('compare_difference', lang)}: {d['difference'] * 100:+.1f} {pp}"
                         f" ({t('ci95', lang)} {(da or 0) * 100:+.1f} – {(db or 0) * 100:+.1f})"
                         f"<br>p = {'–' if p is None else f'{p:.3g}'} · {sig}")
            hover.append(text)
        fig.add_trace(go.Bar(
            x=step_names, y=conv, name=name,
            marker={"color": style.PALETTE[i % len(style.PALETTE)]},
            error_y={"type": "data", "symmetric": False,
                     "array": [None if v is None or h is None else h - v
                               for v, h in zip(conv, hi, strict=True)],
                     "arrayminus": [None if v is None or w is None else v - w
                                    for v, w in zip(conv, lo, strict=True)],
                     "color": "#555555", "thickness": 1.2},
            text=[style.percent(v) for v in conv], textposition="outside",
            hovertext=hover, hoverinfo="text",
        ))
    column = getattr(getattr(result, "spec", None), "column", None)
    default = t("chart_funnel_compare_by", lang, by=column) if column else \
        t("chart_funnel_compare", lang)
    style.layout(fig, title or default, height=max(320, 260 + 12 * len(order)))
    fig.update_layout(barmode="group",
                      xaxis={"title": t("step", lang), "type": "category",
                             "categoryorder": "array", "categoryarray": steps},
                      yaxis={"title": t("conversion_from_start", lang),
                             "tickformat": style.AXIS_PERCENT, "range": [0, 1.12]})
    return fig
