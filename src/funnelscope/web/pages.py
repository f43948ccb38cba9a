"""Server-rendered dashboard pages: funnel builder, retention, segments, value, pipeline.

Pages reuse the report's pieces: :func:`funnelscope.report.collect.collect` runs the
analyses (through the server's time-limited worker), :mod:`funnelscope.report.compose` turns
them into blocks of sentences, charts and tables in the page's language, and the templates
share the report's block macro. The funnel builder draws with ``/api/funnel/view`` (static/
funnel.js). Language: ``?lang=zh`` (remembered in a cookie), else the browser's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from funnelscope.errors import FunnelscopeError
from funnelscope.report import runner
from funnelscope.report.html import script_json
from funnelscope.report.i18n import LANGS, Translator

router = APIRouter(include_in_schema=False)
LANG_COOKIE = "funnelscope_lang"
NAV = (("funnels", "nav_funnels"), ("retention", "nav_retention"), ("segments", "nav_segments"),
       ("value", "nav_value"), ("pipeline", "nav_pipeline"))
JS_STRINGS = ("step", "entities", "conversion_from_start", "ci95", "conversion_from_previous",
              "dropped", "still_converting", "median_time", "remove_step", "loading", "error",
              "choose", "dur_days", "dur_hours", "dur_minutes", "dur_seconds")


def lang_of(request: Request) -> str:
    """``?lang=``, else the cookie, else the browser's Accept-Language, else English."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value
    accept = request.headers.get("accept-language", "").lower()
    return "zh" if accept.startswith("zh") else "en"


def _switch_url(request: Request, lang: str) -> str:
    params = dict(request.query_params)
    params.pop("token", None)
    params["lang"] = lang
    from urllib.parse import urlencode

    return f"{request.url.path}?{urlencode(params)}"


def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = lang_of(request)
    s = request.app.state.funnelscope
    templates = request.app.state.templates
    response = templates.TemplateResponse(request, template, {
        "_": Translator(lang), "lang": lang, "nav": NAV, "script_json": script_json,
        "workspace": Path(s.settings.workspace).name,
        "switch": {code: _switch_url(request, code) for code in LANGS}, **ctx,
    }, status_code=status)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, request.query_params["lang"], samesite="lax")
    return response


@router.get("/")
def home(request: Request) -> RedirectResponse:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/funnels{query}", status_code=307)


@router.get("/funnels", response_class=HTMLResponse)
def funnels(request: Request) -> HTMLResponse:
    from funnelscope.web import catalog

    s = request.app.state.funnelscope
    if s.run(lambda ws: _missing_table(ws, "funnel"), key=("missing", "funnel")):
        return render(request, "section.html", page="funnels", title_key="builder_title",
                      missing="events", blocks=[], fields=[])
    events, breakdowns = s.run(lambda ws: (catalog.events(ws), catalog.breakdowns(ws, s.definitions)),
                               key=("catalog",))
    t = Translator(lang_of(request))
    q = request.query_params
    initial = {
        "steps": [x for x in q.get("steps", "").split(",") if x] or
        [e["event"] for e in events[:2]],
        "window": q.get("window", "7d"), "mode": q.get("mode", "ordered"),
        "by": q.get("by", ""), "period": q.get("period", ""), "name": q.get("name", ""),
    }
    return render(request, "funnels.html", page="funnels", events=events, breakdowns=breakdowns,
                  saved=s.definitions.to_dict()["funnels"], initial=initial,
                  js_strings=json.dumps(t.strings(*JS_STRINGS), ensure_ascii=False),
                  js_initial=json.dumps(initial, ensure_ascii=False),
                  js_saved=json.dumps(s.definitions.to_dict()["funnels"], ensure_ascii=False),
                  js_events=json.dumps(events, ensure_ascii=False))


# ----- report-style pages ------------------------------------------------------------------------
def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value))) if value else default
    except ValueError:
        return default


def _choice(value: str | None, allowed: tuple[str, ...], default: str | None) -> str | None:
    return value if value in allowed else default


def _missing_table(ws: Any, analysis: str) -> str | None:
    """The first table ``analysis`` needs that ``ws`` lacks (None: it has them all)."""
    return next((t for t in runner.tables(analysis) if not ws.has_table(t)), None)


def _section_page(request: Request, page: str, title_key: str, needs: str, only: tuple[str, ...],
                  options: dict[str, dict[str, Any]], section, fields: list[dict]) -> HTMLResponse:
    from funnelscope.report.collect import collect

    s = request.app.state.funnelscope
    lang = lang_of(request)
    missing = s.run(lambda ws: _missing_table(ws, needs), key=("missing", needs))
    if missing:
        return render(request, "section.html", page=page, title_key=title_key, missing=missing,
                      blocks=[], fields=fields)
    try:
        key = ("page", only, json.dumps(options, sort_keys=True, default=str))
        data = s.run(lambda ws: collect(ws, s.definitions, only=only, options=options), key=key)
        sec = section(data, lang)
        blocks, error, status = (sec.blocks if sec else []), None, 200
    except FunnelscopeError as exc:
        blocks, error, status = [], str(exc), 400
    return render(request, "section.html", status=status, page=page, title_key=title_key,
                  blocks=blocks, error=error, fields=fields)


def _field(name: str, label: str, value: Any, options: list[tuple[str, str]] | None = None,
           kind: str = "select") -> dict[str, Any]:
    return {"name": name, "label": label, "value": "" if value is None else str(value),
            "options": options or [], "kind": kind}


@router.get("/retention", response_class=HTMLResponse)
def retention_page(request: Request) -> HTMLResponse:
    from funnelscope.report.compose import retention_section

    q = request.query_params
    t = Translator(lang_of(request))
    period = _choice(q.get("period"), ("day", "week", "month"), "week")
    periods = _int(q.get("periods"), 12, 1, 120)
    by = q.get("by") or None
    units = [(u, t("unit_label_" + u)) for u in ("day", "week", "month")]
    fields = [_field("period", t("period"), period, units),
              _field("periods", t("periods_count"), periods, kind="number"),
              _field("by", t("breakdown_by"), by, kind="text")]
    return _section_page(request, "retention", "section_retention", "retention",
                         ("retention", "activity", "churn"),
                         {"retention": {"period": period, "periods": periods, "by": by},
                          "activity": {"period": period}},
                         retention_section, fields)


@router.get("/segments", response_class=HTMLResponse)
def segments_page(request: Request) -> HTMLResponse:
    from funnelscope.report.compose import segments_section

    return _section_page(request, "segments", "section_segments", "rfm", ("rfm", "clusters"), {},
                         segments_section, [])


@router.get("/value", response_class=HTMLResponse)
def value_page(request: Request) -> HTMLResponse:
    from funnelscope.report.compose import value_section

    return _section_page(request, "value", "section_value", "clv", ("clv", "acquisition"), {},
                         value_section, [])


@router.get("/pipeline", response_class=HTMLResponse)
def pipeline_page(request: Request) -> HTMLResponse:
    from funnelscope.report.compose import pipeline_section

    s = request.app.state.funnelscope
    q = request.query_params
    t = Translator(lang_of(request))
    names = list(s.definitions.pipelines)
    name = _choice(q.get("name"), tuple(names), names[0] if names else None)
    period = _choice(q.get("period"), ("month", "quarter"), "quarter")
    by = q.get("by") or None
    options: dict[str, Any] = {"period": period, "by": by, "name": name,
                               "forecast": q.get("forecast") or None}
    fields = [_field("period", t("period"), period,
                     [(u, t("unit_label_" + u)) for u in ("month", "quarter")]),
              _field("by", t("breakdown_by"), by, kind="text"),
              _field("forecast", t("forecast_period"), q.get("forecast"), kind="text")]
    if names:
        fields.insert(0, _field("name", t("nav_pipeline"), name, [(n, n) for n in names]))
    return _section_page(request, "pipeline", "section_pipeline", "pipeline", ("pipeline",),
                         {"pipeline": {k: v for k, v in options.items() if v is not None}},
                         pipeline_section, fields)
