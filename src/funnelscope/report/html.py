"""The self-contained HTML report: one file, opens offline, English or Chinese.

``build_report(ws, definitions, lang)`` runs the analyses whose data exists
(:mod:`~funnelscope.report.collect`), puts them into words and charts
(:mod:`~funnelscope.report.compose`) and renders ``templates/report.html.j2`` with plotly.js
embedded from the installed plotly package (no CDN, no network).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from funnelscope.definitions import Definitions
from funnelscope.report.i18n import Translator, check_lang

TEMPLATES = Path(__file__).parent / "templates"


def plotly_js() -> str:
    """The plotly.js bundle shipped inside the installed plotly package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def environment():
    """The jinja2 environment of the report templates (autoescaped)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True, lstrip_blocks=True,
    )


def script_json(text: str) -> str:
    """JSON made safe to sit inside a ``<script>`` element."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def render(data: Any, lang: str = "en", generated: datetime | None = None) -> str:
    """HTML of collected report data (:class:`~funnelscope.report.collect.ReportData`)."""
    import funnelscope
    from funnelscope.report.compose import compose

    check_lang(lang)
    headlines, sections = compose(data, lang)
    start, end = _data_range(data)
    when = (generated or datetime.now()).strftime("%Y-%m-%d %H:%M")
    return environment().get_template("report.html.j2").render(
        _=Translator(lang), lang=lang, headlines=headlines, sections=sections,
        workspace=Path(data.workspace).name, start=start, end=end, tz=data.timezone,
        generated=when, version=funnelscope.__version__, plotly_js=plotly_js(),
        script_json=script_json, errors=data.errors,
        results_json=script_json(json.dumps(results_json(data), ensure_ascii=False)),
    )


def results_json(data: Any) -> dict[str, Any]:
    """Every analysis the report ran, as the JSON its CLI command prints: embedded in the
    report (``<script id="funnelscope-results">``) so the numbers can be read by programs and
    checked against the CLI and API."""
    from funnelscope.analyses.result import jsonable

    out: dict[str, Any] = {"funnels": {}, "analyses": {}}
    for f in data.funnels:
        parts = {"main": f.main, **{f"by {b}": p for b, p in f.breakdowns.items()}}
        out["funnels"][f.definition.name] = {k: p.json for k, p in parts.items() if p.json}
    for name, part in data.parts.items():
        if part.json is not None:
            out["analyses"][name] = part.json
    return jsonable(out)


def _data_range(data: Any) -> tuple[str, str]:
    """First and last entry day of the first funnel, else of retention (for the subtitle)."""
    for f in data.funnels:
        if f.main.ok:
            meta = f.main.result.meta
            lo, hi = meta.get("data_start_us"), meta.get("data_end_us")
            if lo is not None and hi is not None:
                import pandas as pd

                fmt = [pd.Timestamp(v * 1000, tz="UTC").tz_convert(data.timezone).strftime("%Y-%m-%d")
                       for v in (lo, hi)]
                return fmt[0], fmt[1]
    ret = data.parts.get("retention")
    if ret is not None and ret.ok:
        m = ret.result.meta
        return str(m.get("data_first_day", "–")), str(m.get("data_end", "–"))[:10]
    return "–", "–"


def build_report(ws: Any, definitions: Definitions | None = None, lang: str = "en") -> str:
    """Run what the workspace's data supports and return the report's HTML."""
    from funnelscope.report.collect import collect

    check_lang(lang)
    return render(collect(ws, definitions), lang)


def write_report(ws: Any, out: str | Path, definitions: Definitions | None = None,
                 lang: str = "en") -> tuple[Path, list[str]]:
    """Write the report to ``out``; returns the path and the parts that failed (if any)."""
    from funnelscope.report.collect import collect

    check_lang(lang)
    data = collect(ws, definitions)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data, lang), encoding="utf-8")
    return path, data.errors
