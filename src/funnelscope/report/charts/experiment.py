"""A/B test charts: conversion rate per variant with its interval, and the lift of each
treatment over the control (a forest plot).

The builders read the experiment's JSON contract (``variants``, ``comparisons``, ``alpha``:
what ``funnelscope abtest --format json`` prints), so the dashboard's counts calculator draws
the same figures as an :class:`~funnelscope.analyses.experiment.result.ExperimentResult`.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.i18n import t


def contract(result: Any) -> dict[str, Any]:
    """The abtest JSON contract of ``result`` (an ExperimentResult, or the contract itself)."""
    if isinstance(result, dict):
        return result
    return getattr(result, "contract", None) or {}


def _finite(x: Any) -> bool:
    return x is not None and math.isfinite(float(x))


def _level(c: dict[str, Any]) -> str:
    return f"{1 - float(c.get('alpha') or 0.05):.0%}"


def proportion_variants(data: Any) -> list[dict[str, Any]]:
    """The variants of the conversion metric (those with users and conversions; a workspace
    experiment also lists mean metrics, which have no rate)."""
    return [v for v in contract(data).get("variants", [])
            if v.get("conversions") is not None and v.get("users")]


def _has_variants(result: Any) -> bool:
    return bool(proportion_variants(result))


def _has_comparisons(result: Any) -> bool:
    return any(x.get("relative", {}).get("estimate") is not None
               for x in contract(result).get("comparisons", []))


def rates_figure(data: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Conversion rate per variant (bars, control first) with its Wilson score interval at
    the experiment's level 1 - alpha (error bars), users and conversions on hover."""
    from funnelscope.analyses.stats import wilson_interval

    c = contract(data)
    level = 1 - float(c.get("alpha") or 0.05)
    names, rates, plus, minus, hover = [], [], [], [], []
    for v in proportion_variants(c):
        lo, hi = wilson_interval(int(v["conversions"]), int(v["users"]), level)
        rate = float(v["rate"])
        names.append(str(v["variant"]))
        rates.append(rate)
        plus.append(None if hi is None else max(hi - rate, 0.0))
        minus.append(None if lo is None else max(rate - lo, 0.0))
        hover.append(f"<b>{v['variant']}</b><br>{t('users', lang)}: {style.count(v['users'])}<br>"
                     f"{t('conversions', lang)}: {style.count(v['conversions'])}<br>"
                     f"{t('conversion', lang)}: {style.percent(rate, 2)} "
                     f"({t('interval_level', lang, level=_level(c))} {style.percent(lo, 2)}–"
                     f"{style.percent(hi, 2)})")
    colours = [style.NEUTRAL] + [style.MAIN] * (len(names) - 1)
    fig = go.Figure(go.Bar(
        x=names, y=rates, marker={"color": colours}, hovertext=hover, hoverinfo="text",
        text=[style.percent(r, 2) for r in rates], textposition="outside",
        error_y={"type": "data", "symmetric": False, "array": plus, "arrayminus": minus,
                 "color": "#555555", "thickness": 1.5, "width": 8},
    ))
    style.layout(fig, title or t("chart_experiment_rates", lang), legend=False, height=360)
    fig.update_yaxes(title_text=t("conversion", lang), tickformat=style.AXIS_PERCENT,
                     rangemode="tozero")
    fig.update_xaxes(title_text=t("variant", lang), type="category")
    return fig


def lift_figure(data: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Forest plot: per treatment, the relative lift over the control (dot) with its
    1 - alpha delta-method interval (thick) and its always-valid sequential interval (thin,
    lighter); a dashed line at 0 (no change). The dot is in the main colour when the interval
    excludes 0 upwards, the loss colour when downwards, grey otherwise."""
    c = contract(data)
    rows = [x for x in c.get("comparisons", []) if x.get("relative", {}).get("estimate") is not None]
    level = _level(c)
    several = len({x.get("metric") for x in rows}) > 1
    names = [f"{x['variant']} vs {x['control']}" + (f" · {x['metric']}" if several else "")
             for x in rows]
    fig = go.Figure()
    seq = [(x.get("sequential") or {}) for x in rows]
    bounded = [_finite(s.get("ci_low")) and _finite(s.get("ci_high")) for s in seq]
    fig.add_trace(go.Scatter(  # the sequential interval: a thin bar around its midpoint
        x=[(s["ci_low"] + s["ci_high"]) / 2 if b else None for s, b in zip(seq, bounded, strict=True)],
        y=names, mode="markers", name=t("sequential_ci", lang), hoverinfo="skip",
        marker={"size": 1, "color": style.NEUTRAL},
        error_x={"type": "data", "symmetric": True, "color": style.NEUTRAL, "thickness": 2,
                 "width": 4, "array": [(s["ci_high"] - s["ci_low"]) / 2 if b else None
                                       for s, b in zip(seq, bounded, strict=True)]},
    ))
    est = [float(x["relative"]["estimate"]) for x in rows]
    lo = [x["relative"]["ci_low"] if _finite(x["relative"].get("ci_low")) else None for x in rows]
    hi = [x["relative"]["ci_high"] if _finite(x["relative"].get("ci_high")) else None for x in rows]
    colours = [style.MAIN if a is not None and a > 0 else style.LOST if b is not None and b < 0
               else style.NEUTRAL for a, b in zip(lo, hi, strict=True)]
    hover = [f"<b>{n}</b><br>{t('relative_lift', lang)}: {style.percent(e, 2)}<br>"
             f"{t('interval_level', lang, level=level)}: {style.percent(a, 2)}–{style.percent(b, 2)}<br>"
             f"{t('sequential_ci', lang)}: {style.percent(s.get('ci_low'), 2)}–"
             f"{style.percent(s.get('ci_high'), 2)}<br>"
             f"{t('chance_to_win', lang)}: {style.percent((x.get('bayesian') or {}).get('chance_to_win'))}"
             for n, e, a, b, s, x in zip(names, est, lo, hi, seq, rows, strict=True)]
    fig.add_trace(go.Scatter(
        x=est, y=names, mode="markers", name=t("interval_level", lang, level=level),
        marker={"size": 11, "color": colours}, hovertext=hover, hoverinfo="text",
        error_x={"type": "data", "symmetric": False, "color": "#555555", "thickness": 3,
                 "width": 0,
                 "array": [None if b is None else b - e for e, b in zip(est, hi, strict=True)],
                 "arrayminus": [None if a is None else e - a for e, a in zip(est, lo, strict=True)]},
    ))
    fig.add_vline(x=0.0, line={"color": style.NEUTRAL, "dash": "dash"})
    style.layout(fig, title or t("chart_experiment_lift", lang),
                 height=max(220, 120 + 56 * len(rows)))
    fig.update_xaxes(title_text=t("relative_lift", lang), tickformat=".0%", zeroline=False)
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


@chart("ExperimentResult", kind="lift", when=_has_comparisons)
def experiment_lift(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """The treatments' relative lift with intervals (:func:`lift_figure`)."""
    return lift_figure(result, lang, title)


@chart("ExperimentResult", kind="rates", when=_has_variants)
def experiment_rates(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Conversion rate per variant with intervals (:func:`rates_figure`)."""
    return rates_figure(result, lang, title)
