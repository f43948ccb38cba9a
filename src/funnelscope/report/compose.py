"""Put collected Results into words, pictures and small tables, in one language.

``compose(data, lang)`` -> (headlines, sections). Every sentence comes from
:mod:`funnelscope.report.i18n`; every figure from :mod:`funnelscope.report.charts`; numbers
are formatted by :mod:`funnelscope.report.style`. Nothing here runs an analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from funnelscope.report import charts, style
from funnelscope.report.collect import FunnelPart, Part, ReportData
from funnelscope.report.i18n import segment_action, segment_name, t


@dataclass
class Table:
    """A small display table: header labels, formatted cells, which columns are numeric."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]


@dataclass
class Block:
    """A heading with sentences, figures (plotly JSON) and tables; or the error instead."""

    heading: str | None = None
    sentences: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    error: str | None = None
    code: str | None = None


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block]


@dataclass
class Headline:
    label: str
    value: str
    note: str = ""


def _figure(result: Any, kind: str, lang: str, **kw: Any) -> str | None:
    if kind not in charts.kinds(result):
        return None
    return charts.plot(result, kind, lang=lang, **kw).to_json()


def _table(df: pd.DataFrame, columns: list[tuple[str, str, Any]], lang: str) -> Table:
    """``columns``: (column, i18n key, formatter) triples."""
    rows = []
    for r in df.to_dict(orient="records"):
        rows.append([fmt(r.get(col)) for col, _, fmt in columns])
    numeric = [fmt is not str for _, _, fmt in columns]
    return Table([t(key, lang) for _, key, _ in columns], rows, numeric)


def _failed(part: Part, lang: str, heading: str | None = None) -> Block:
    return Block(heading=heading, error=t("section_failed", lang, error=part.error))


# ----- funnels -----------------------------------------------------------------------------------
def _funnel_block(fp: FunnelPart, lang: str) -> list[Block]:
    d = fp.definition
    heading = t("funnel_heading", lang, name=d.name)
    if not fp.main.ok:
        return [_failed(fp.main, lang, heading)]
    r = fp.main.result
    s = r.steps
    spec = r.spec
    sentences = []
    if d.description:
        sentences.append(d.description)
    sentences.append(t("funnel_definition", lang, steps=" → ".join(spec.step_names),
                       window=spec.window, mode=t("mode_" + spec.mode, lang),
                       count=t("count_" + spec.count, lang)))
    entered, done = int(s["entities"].iloc[0]), int(s["entities"].iloc[-1])
    sentences.append(t("funnel_summary", lang, entered=style.count(entered),
                       converted=style.count(done),
                       conversion=style.percent(s["conversion_from_start"].iloc[-1])))
    leak = r.biggest_leak()
    sentences.append(t("leak_sentence", lang, a=leak["from"], b=leak["to"],
                       conversion=style.percent(leak["conversion"]), lost=style.count(leak["lost"]))
                     if leak else t("no_leak", lang))
    steps_table = _table(s.assign(interval=_interval(s)), [
        ("step", "step", str), ("entities", "entities", style.count),
        ("conversion_from_start", "conversion_from_start", style.percent),
        ("interval", "ci95", str),
        ("conversion_from_previous", "conversion_from_previous", style.percent),
        ("dropped", "dropped", style.count), ("still_converting", "still_converting", style.count),
        ("median_seconds_from_previous", "median_time", lambda v: style.duration(v, lang)),
    ], lang)
    blocks = [Block(heading=heading, sentences=sentences,
                    figures=[f for f in [_figure(r, "funnel", lang)] if f], tables=[steps_table])]
    if not r.periods.empty and len(r.periods) > 1:
        p = r.periods
        lo, hi = p["conversion"].astype(float).idxmin(), p["conversion"].astype(float).idxmax()
        unit = t("unit_label_" + (spec.period or "week"), lang)
        blocks.append(Block(heading=t("trend_heading", lang), sentences=[t(
            "trend_sentence", lang, low=style.percent(p.loc[lo, "conversion"]),
            low_period=p.loc[lo, "period"], high=style.percent(p.loc[hi, "conversion"]),
            high_period=p.loc[hi, "period"], unit=unit)],
            figures=[f for f in [_figure(r, "trend", lang)] if f]))
    if len(s) > 1 and "time_to_convert" in charts.kinds(r):
        last = s.iloc[-1]
        blocks.append(Block(heading=t("time_heading", lang), sentences=[t(
            "time_sentence", lang, median=style.duration(last["median_seconds_from_start"], lang),
            p90=style.duration(last["p90_seconds_from_start"], lang))],
            figures=[f for f in [_figure(r, "time_to_convert", lang)] if f]))
    for name, part in fp.breakdowns.items():
        bh = t("breakdown_heading", lang, by=name)
        if not part.ok:
            blocks.append(_failed(part, lang, bh))
            continue
        g = part.result.groups
        if g.empty:
            continue
        conv = g["conversion"].astype(float)
        best, worst = conv.idxmax(), conv.idxmin()
        sig = int((g["p_value"].astype(float) < 0.05).sum()) if "p_value" in g else 0
        blocks.append(Block(
            heading=bh,
            sentences=[t("breakdown_sentence", lang, best=g.loc[best, "group"],
                         best_rate=style.percent(conv[best]), worst=g.loc[worst, "group"],
                         worst_rate=style.percent(conv[worst])),
                       t("breakdown_significant", lang, n=sig, total=len(g))],
            figures=[f for f in [_figure(part.result, "breakdown", lang)] if f],
            tables=[_table(g.assign(interval=_interval(g)),
                           [("group", "group", str), ("entities", "entities", style.count),
                               ("conversion", "conversion", style.percent),
                               ("interval", "ci95", str),
                               ("p_value", "p_value", lambda v: "–" if v is None or v != v else f"{v:.2g}")],
                           lang)],
        ))
    return blocks


def _interval(df: pd.DataFrame) -> list[str]:
    """``low–high`` per row from the ci_low / ci_high columns."""
    return [f"{style.percent(a)}–{style.percent(b)}" for a, b in zip(df["ci_low"], df["ci_high"], strict=True)]


def funnels_section(data: ReportData, lang: str) -> Section | None:
    if not data.funnels:
        if any(n == "events" for n, _ in data.tables):
            example = ("funnels:\n  checkout:\n    steps: [view, add_to_cart, pay]\n"
                       "    window: 7d\n    breakdowns: [channel]")
            return Section("funnels", t("section_funnels", lang),
                           [Block(sentences=[t("no_funnels", lang)], code=example)])
        return None
    blocks: list[Block] = []
    for fp in data.funnels:
        blocks.extend(_funnel_block(fp, lang))
    return Section("funnels", t("section_funnels", lang), blocks)


# ----- retention -------------------------------------------------------------------------------
def retention_section(data: ReportData, lang: str) -> Section | None:
    blocks = []
    ret = data.parts.get("retention")
    if ret is not None:
        if ret.ok:
            avg = ret.result.tables.get("average", pd.DataFrame())
            sentences = []
            one = avg[avg["period"] == 1] if "period" in avg else avg
            unit = t("unit_label_" + ret.result.spec.period, lang)
            if len(one) and pd.notna(one["rate"].iloc[0]):
                sentences.append(t("retention_sentence", lang, rate=style.percent(one["rate"].iloc[0]),
                                   unit=unit))
            blocks.append(Block(heading=t("nav_retention", lang), sentences=sentences,
                                figures=[f for f in (_figure(ret.result, k, lang)
                                                     for k in ("heatmap", "curve")) if f]))
        else:
            blocks.append(_failed(ret, lang, t("nav_retention", lang)))
    act = data.parts.get("activity")
    if act is not None:
        blocks.append(Block(heading=t("lifecycle_heading", lang),
                            figures=[f for f in (_figure(act.result, k, lang)
                                                 for k in ("lifecycle", "actives")) if f])
                      if act.ok else _failed(act, lang, t("lifecycle_heading", lang)))
    churn = data.parts.get("churn")
    if churn is not None:
        if churn.ok:
            life = churn.result.tables.get("lifetime", pd.DataFrame())
            med = life["median_lifetime_days"].iloc[0] if "median_lifetime_days" in life and len(life) else None
            sentence = (t("survival_sentence", lang, days=style.number(med))
                        if med is not None and pd.notna(med) else t("survival_no_median", lang))
            blocks.append(Block(heading=t("survival_heading", lang), sentences=[sentence],
                                figures=[f for f in (_figure(churn.result, k, lang)
                                                     for k in ("survival", "churn")) if f]))
        else:
            blocks.append(_failed(churn, lang, t("survival_heading", lang)))
    return Section("retention", t("section_retention", lang), blocks) if blocks else None


# ----- segments and value ------------------------------------------------------------------------
def segments_section(data: ReportData, lang: str) -> Section | None:
    blocks = []
    rfm = data.parts.get("rfm")
    if rfm is not None:
        if rfm.ok:
            seg = rfm.result.tables["segments"].sort_values("revenue_share", ascending=False)
            shown = seg.assign(
                segment_label=[segment_name(s, lang) for s in seg["segment"]],
                action=[segment_action(s, a, lang) for s, a in zip(seg["segment"], seg["suggested_action"], strict=True)],
            )
            sentences = []
            if len(seg):
                top = shown.iloc[0]
                sentences.append(t("rfm_sentence", lang, segment=top["segment_label"],
                                   revenue_share=style.percent(top["revenue_share"]),
                                   customer_share=style.percent(top["customer_share"])))
            blocks.append(Block(
                heading=t("rfm_heading", lang), sentences=sentences,
                figures=[f for f in (_figure(rfm.result, k, lang) for k in ("grid", "segments")) if f],
                tables=[_table(shown, [("segment_label", "segment", str),
                                       ("customers", "customers", style.count),
                                       ("customer_share", "customer_share", style.percent),
                                       ("revenue_share", "revenue_share", style.percent),
                                       ("action", "suggested_action", str)], lang)]))
        else:
            blocks.append(_failed(rfm, lang, t("rfm_heading", lang)))
    cl = data.parts.get("clusters")
    if cl is not None:
        if cl.ok:
            sil = cl.result.tables.get("silhouette", pd.DataFrame())
            k = cl.result.meta.get("k") or len(cl.result.tables["profiles"])
            best = sil.loc[sil["k"] == k, "silhouette"] if "k" in sil else pd.Series(dtype=float)
            sentences = [t("clusters_sentence", lang, k=k,
                           silhouette=style.number(best.iloc[0]) if len(best) else style.DASH)]
            blocks.append(Block(heading=t("clusters_heading", lang), sentences=sentences,
                                figures=[f for f in [_figure(cl.result, "profiles", lang)] if f]))
        else:
            blocks.append(_failed(cl, lang, t("clusters_heading", lang)))
    return Section("segments", t("section_segments", lang), blocks) if blocks else None


def value_section(data: ReportData, lang: str) -> Section | None:
    blocks = []
    clv = data.parts.get("clv")
    if clv is not None:
        if clv.ok:
            tiers = clv.result.tables.get("tiers", pd.DataFrame())
            sentences = []
            if len(tiers) and "share_of_clv" in tiers:
                sentences.append(t("clv_sentence", lang, share=style.percent(tiers["share_of_clv"].iloc[0])))
            cur = clv.result.meta.get("currency")
            blocks.append(Block(
                heading=t("clv_heading", lang), sentences=sentences,
                figures=[f for f in [_figure(clv.result, "distribution", lang)] if f],
                tables=[_table(tiers, [("tier", "tier", str), ("customers", "customers", style.count),
                                       ("clv_total", "clv_total", lambda v: style.money(v, lang, cur)),
                                       ("share_of_clv", "share_of_clv", style.percent)], lang)]
                if len(tiers) else []))
        else:
            blocks.append(_failed(clv, lang, t("clv_heading", lang)))
    acq = data.parts.get("acquisition")
    if acq is not None:
        if acq.ok:
            cac = acq.result.tables.get("cac", pd.DataFrame())
            sentences = []
            if "ltv_to_cac" in cac and cac["ltv_to_cac"].notna().any():
                r = cac["ltv_to_cac"].astype(float)
                key = "channel" if "channel" in cac else cac.columns[0]
                b, w = r.idxmax(), r.idxmin()
                sentences.append(t("acquisition_sentence", lang, best=cac.loc[b, key],
                                   best_ratio=f"{r[b]:.1f}×", worst=cac.loc[w, key],
                                   worst_ratio=f"{r[w]:.1f}×"))
            blocks.append(Block(heading=t("acquisition_heading", lang), sentences=sentences,
                                figures=[f for f in [_figure(acq.result, "cac", lang)] if f]))
        else:
            blocks.append(_failed(acq, lang, t("acquisition_heading", lang)))
    return Section("value", t("section_value", lang), blocks) if blocks else None


# ----- pipeline --------------------------------------------------------------------------------
def pipeline_section(data: ReportData, lang: str) -> Section | None:
    part = data.parts.get("pipeline")
    if part is None:
        return None
    if not part.ok:
        return Section("pipeline", t("section_pipeline", lang),
                       [_failed(part, lang, t("pipeline_funnel_heading", lang))])
    r = part.result
    blocks = []
    sentences = []
    b = r.tables.get("bottlenecks", pd.DataFrame())
    if len(b):
        top = b.iloc[0]
        sentences.append(t("bottleneck_sentence", lang, a=top["from_stage"], b=top["to_stage"],
                           lost=style.count(top["lost"]), rate=style.percent(top["loss_rate"]),
                           value=style.compact(top["lost_value"], lang)))
    blocks.append(Block(heading=t("pipeline_funnel_heading", lang), sentences=sentences,
                        figures=[f for f in (_figure(r, k, lang) for k in ("funnel", "win_rates")) if f]))
    blocks.append(Block(heading=t("velocity_heading", lang),
                        figures=[f for f in [_figure(r, "velocity", lang)] if f]))
    fc, bt = part.extra.get("forecast"), part.extra.get("backtest")
    fblock = Block(heading=t("forecast_heading", lang))
    if fc is not None and fc.ok:
        m = fc.result.meta
        fblock.sentences.append(t("forecast_sentence", lang, period=m.get("period"),
                                  weighted=style.compact(m.get("weighted_forecast"), lang),
                                  learned=style.compact(m.get("learned_forecast"), lang)))
        fblock.figures.append(charts.plot(fc.result, "forecast", lang=lang).to_json())
    elif fc is not None:
        fblock.error = t("section_failed", lang, error=fc.error)
    if bt is not None and bt.ok:
        m = bt.result.meta
        if m.get("cutoffs_scored"):
            fblock.sentences.append(t(
                "backtest_sentence", lang, n=m["cutoffs_scored"],
                unit=t("unit_" + m.get("horizon", "month"), lang, default=m.get("horizon", "")),
                weighted_mape=style.percent(m.get("weighted_mape")),
                learned_mape=style.percent(m.get("learned_mape"))))
        fblock.figures.append(charts.plot(bt.result, "forecast_vs_actual", lang=lang).to_json())
    blocks.append(fblock)
    return Section("pipeline", t("section_pipeline", lang), blocks)


# ----- experiment and watch --------------------------------------------------------------------
def _p(x: Any) -> str:
    if x is None or x != x:
        return style.DASH
    return f"{x:.3f}" if x >= 0.001 else f"{x:.1e}"


def experiment_section(data: ReportData, lang: str) -> Section | None:
    """The first experiment of the exposures table (report/collect.py): who was compared,
    each treatment's lift with its interval, p-value and chance to win, the sample-ratio
    check; the rates and lift charts and the comparison table."""
    part = data.parts.get("experiment")
    if part is None:
        return None
    title = t("section_experiment", lang)
    if not part.ok:
        return Section("experiment", title, [_failed(part, lang, title)])
    r = part.result
    c, meta, spec = r.contract, r.meta, r.spec
    alpha = float(c.get("alpha") or 0.05)
    level = f"{1 - alpha:.0%}"
    name = meta.get("experiment") or getattr(spec, "variant_column", None) or ""
    sentences = [t("experiment_definition", lang, users=style.count(meta.get("users_compared")),
                   control=meta.get("control"), steps=" → ".join(spec.steps),
                   window=spec.window, level=level)]
    rows = []
    for x in c.get("comparisons", []):
        rel = x.get("relative") or {}
        metric = x.get("metric") or "conversion"
        sentences.append(t("experiment_comparison", lang, variant=x["variant"],
                           control=x["control"], metric=metric,
                           lift=style.percent(rel.get("estimate"), 2), level=level,
                           low=style.percent(rel.get("ci_low"), 2),
                           high=style.percent(rel.get("ci_high"), 2),
                           p=_p(x.get("p_value", (x.get("absolute") or {}).get("p_value"))),
                           chance=style.percent((x.get("bayesian") or {}).get("chance_to_win"))))
        adjusted = x.get("p_adjusted")
        if adjusted is not None:
            sentences.append(t("experiment_significant" if adjusted < alpha
                               else "experiment_not_significant", lang, alpha=f"{alpha:g}"))
        rows.append([str(x["variant"]), metric, style.percent(rel.get("estimate"), 2),
                     f"{style.percent(rel.get('ci_low'), 2)} – {style.percent(rel.get('ci_high'), 2)}",
                     _p(x.get("p_value")), _p(adjusted),
                     style.percent((x.get("bayesian") or {}).get("chance_to_win"))])
    srm = c.get("srm") or {}
    if srm:
        sentences.append(t("srm_ok" if srm.get("ok") else "srm_bad", lang, p=_p(srm.get("p_value"))))
    table = Table([t("variant", lang), t("metric", lang), t("relative_lift", lang),
                   t("interval_level", lang, level=level), t("p_value", lang),
                   t("p_adjusted", lang), t("chance_to_win", lang)],
                  rows, [False, False, True, True, True, True, True])
    figures = [f for f in (_figure(r, k, lang) for k in ("rates", "lift")) if f]
    block = Block(heading=t("experiment_heading", lang, name=name), sentences=sentences,
                  figures=figures, tables=[table] if rows else [])
    return Section("experiment", title, [block])


def _alert_value(metric: str, x: Any) -> str:
    from funnelscope.report.charts.monitor import is_rate

    return style.percent(x) if is_rate(metric) else style.number(x)


def _segments_text(segments: Any, lang: str) -> str:
    if not isinstance(segments, list) or not segments:
        return style.DASH
    return ", ".join(t("top_segment_item", lang, segment=s.get("segment"),
                       share=style.percent(s.get("explains"))) for s in segments)


def watch_section(data: ReportData, lang: str) -> Section | None:
    """Alerts of the watched funnel (report/collect.py): the method in one sentence, "no
    alerts in the last N days" or one sentence per alert (direction, size, expected band,
    top segments), the daily series with its band and the alert days marked, and the
    alerts table."""
    from funnelscope.report.charts.monitor import direction_label, metric_label

    part = data.parts.get("watch")
    if part is None:
        return None
    title = t("section_watch", lang)
    if not part.ok:
        return Section("watch", title, [_failed(part, lang, title)])
    r = part.result
    spec, meta = r.spec, r.meta
    alerts = r.tables["alerts"]
    series = r.tables["series"]
    named = data_funnel_name(data, spec) if spec.steps else None
    days = series["date"].astype(str).str[:10].nunique() if len(series) else 0
    first, last = meta.get("first_day") or style.DASH, meta.get("last_day") or style.DASH
    sentences = []
    if spec.steps:
        sentences.append(t("watch_definition", lang, steps=" → ".join(spec.steps),
                           window=spec.window, weeks=spec.weeks, k=f"{spec.threshold:g}"))
    if not len(alerts):
        sentences.append(t("watch_no_alerts", lang, days=days, first=first, last=last))
    else:
        sentences.append(t("watch_alerts", lang, n=len(alerts), days=days, first=first, last=last))
    rows = []
    for a in alerts.to_dict(orient="records"):
        m = str(a["metric"])
        direction = direction_label(str(a["direction"]), lang)
        sentences.append(t("watch_alert_sentence", lang, date=a["date"],
                           metric=metric_label(m, lang), direction=direction,
                           observed=_alert_value(m, a["observed"]),
                           expected=_alert_value(m, a["expected"]),
                           low=_alert_value(m, a["low"]), high=_alert_value(m, a["high"]))
                         + ("" if not a.get("top_segments") else
                            f" {t('top_segments', lang)}: {_segments_text(a['top_segments'], lang)}."))
        size = a.get("size")
        rows.append([str(a["date"]), metric_label(m, lang), direction,
                     _alert_value(m, a["observed"]), _alert_value(m, a["expected"]),
                     f"{_alert_value(m, a['low'])}–{_alert_value(m, a['high'])}",
                     (f"{size * 100:+.1f} pts" if size is not None and m.startswith("conversion:")
                      else style.number(size)),
                     _segments_text(a.get("top_segments"), lang)])
    table = Table([t("date", lang), t("metric", lang), t("direction", lang), t("observed", lang),
                   t("expected", lang), t("band", lang), t("size", lang), t("top_segments", lang)],
                  rows, [False, False, False, True, True, True, True, False])
    figures = [f for f in [_figure(r, "series", lang)] if f]
    heading = t("watch_heading", lang, name=named) if named else None
    return Section("watch", title, [Block(heading=heading, sentences=sentences, figures=figures,
                                          tables=[table] if rows else [])])


def data_funnel_name(data: ReportData, spec: Any) -> str:
    """The name the watch section gives its funnel: the named funnel with these steps, else
    the steps joined."""
    for name, d in data.definitions.funnels.items():
        if tuple(d.step_names) == tuple(spec.steps):
            return name
    return " → ".join(spec.steps)


# ----- metrics and data ---------------------------------------------------------------------------
def metrics_section(data: ReportData, lang: str) -> Section | None:
    if not data.metrics:
        return None
    blocks = [Block(sentences=[t("metrics_intro", lang)])]
    for name, part in data.metrics.items():
        m = data.definitions.metrics[name]
        if not part.ok:
            blocks.append(_failed(part, lang, name))
            continue
        values = part.result.tables["values"]
        rows = [[str(d) if d is not None and d == d else "", style.number(v)]
                for d, v in zip(values["dimension"], values["value"], strict=True)]
        label = m.dimension or "–"
        blocks.append(Block(
            heading=name,
            sentences=[s for s in [m.description, f"{t('aggregation', lang)}: {m.aggregation}"
                                   f"({m.measure or '*'}) · {t('table_name', lang)}: {m.table} · "
                                   f"{t('dimension', lang)}: {label}"] if s],
            tables=[Table([t("dimension", lang), t("value", lang)], rows, [False, True])]))
    return Section("metrics", t("section_metrics", lang), blocks)


def data_section(data: ReportData, lang: str) -> Section:
    rows = [[name, style.count(n)] for name, n in data.tables]
    return Section("data", t("section_data", lang),
                   [Block(tables=[Table([t("table_name", lang), t("rows", lang)], rows, [False, True])])])


# ----- headline numbers ------------------------------------------------------------------------
def headlines(data: ReportData, lang: str) -> list[Headline]:
    out: list[Headline] = []
    first = next((f for f in data.funnels if f.main.ok), None)
    if first is not None:
        s = first.main.result.steps
        name = first.definition.name
        out.append(Headline(t("headline_users", lang, funnel=name), style.count(s["entities"].iloc[0])))
        out.append(Headline(t("headline_conversion", lang, funnel=name),
                            style.percent(s["conversion_from_start"].iloc[-1])))
        leak = first.main.result.biggest_leak()
        if leak:
            out.append(Headline(t("headline_leak", lang), f"{leak['from']} → {leak['to']}",
                                f"{style.percent(leak['conversion'])} · −{style.count(leak['lost'])}"))
    ret = data.parts.get("retention")
    if ret is not None and ret.ok:
        avg = ret.result.tables.get("average", pd.DataFrame())
        one = avg[avg["period"] == 1] if "period" in avg else avg.iloc[0:0]
        if len(one) and pd.notna(one["rate"].iloc[0]):
            out.append(Headline(t("headline_retention", lang,
                                  unit=t("unit_label_" + ret.result.spec.period, lang)),
                                style.percent(one["rate"].iloc[0])))
    rfm = data.parts.get("rfm")
    if rfm is not None and rfm.ok:
        seg = rfm.result.tables["segments"]
        out.append(Headline(t("headline_revenue", lang),
                            style.money(seg["revenue"].sum(), lang, rfm.result.meta.get("currency")),
                            t("n_customers", lang, n=style.count(seg["customers"].sum()))))
    clv = data.parts.get("clv")
    if clv is not None and clv.ok and "tiers" in clv.result.tables:
        out.append(Headline(t("headline_clv", lang),
                            style.money(clv.result.tables["tiers"]["clv_total"].sum(), lang,
                                        clv.result.meta.get("currency"))))
    pipe = data.parts.get("pipeline")
    if pipe is not None and pipe.ok:
        f = pipe.result.tables["funnel"]
        win = pipe.result.spec.win_stage
        row = f[f["stage"] == win]
        if len(row):
            out.append(Headline(t("headline_won", lang), style.count(row["deals"].iloc[0]),
                                style.compact(row["amount"].iloc[0], lang)))
        fc = pipe.extra.get("forecast")
        if fc is not None and fc.ok:
            m = fc.result.meta
            out.append(Headline(t("headline_forecast", lang, period=m.get("period")),
                                style.compact(m.get("learned_forecast") or m.get("weighted_forecast"), lang),
                                t("learned_forecast", lang) if m.get("learned_forecast") is not None
                                else t("weighted_forecast", lang)))
    return out


#: analyses the sections above present; any other registry analysis gets a generic section
COMPOSED = ("retention", "activity", "churn", "rfm", "clusters", "clv", "acquisition",
            "pipeline", "experiment", "watch")


def other_section(data: ReportData, lang: str) -> Section | None:
    """Analyses of the registry without a hand-made section: their charts and first tables."""
    from funnelscope.analyses.registry import get

    blocks = []
    for name, part in data.parts.items():
        if name in COMPOSED:
            continue
        entry = get(name)
        heading = t(f"analysis_{entry.name}", lang, default=entry.title or name)
        if not part.ok:
            blocks.append(_failed(part, lang, heading))
            continue
        figures = [f for f in (_figure(part.result, k, lang) for k in charts.kinds(part.result)) if f]
        tables = []
        for df in list(getattr(part.result, "tables", {}).values())[:3]:
            if isinstance(df, pd.DataFrame) and len(df.columns):
                head = df.head(20)
                tables.append(Table([str(c) for c in head.columns],
                                    [[style.cell(v) for v in row] for row in head.itertuples(index=False)],
                                    [pd.api.types.is_numeric_dtype(head[c]) for c in head.columns]))
        blocks.append(Block(heading=heading, sentences=[entry.summary], figures=figures,
                            tables=tables))
    return Section("more", t("section_more", lang), blocks) if blocks else None


SECTIONS = (funnels_section, watch_section, experiment_section, retention_section,
            segments_section, value_section, pipeline_section, other_section, metrics_section)


def compose(data: ReportData, lang: str) -> tuple[list[Headline], list[Section]]:
    """Headline numbers and the sections that have something to show, then the data list."""
    sections = [s for s in (f(data, lang) for f in SECTIONS) if s is not None]
    sections.append(data_section(data, lang))
    return headlines(data, lang), sections
