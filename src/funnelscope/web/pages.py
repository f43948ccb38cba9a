"""Server-rendered dashboard pages: funnel builder, retention, segments, value, pipeline,
alerts (``watch`` of a funnel) and experiments (the exposures' experiment and a counts
calculator); and ``/analyses/<route>``, one generic page per other registry analysis (plugins
too), generated from its entry: a form from its API parameters, the run of ``/api/<route>``
and the report's generic section.

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
       ("value", "nav_value"), ("pipeline", "nav_pipeline"), ("alerts", "nav_alerts"),
       ("experiments", "nav_experiments"))
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
        "analyses_nav": [(e.api_route, analysis_title(e, lang)) for e in generic_entries()],
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


def _section(request: Request, needs: str, only: tuple[str, ...],
             options: dict[str, dict[str, Any]], section) -> dict[str, Any]:
    """Run ``only`` through the report's collect on the server's worker and compose
    ``section``: the template values ``missing``, ``blocks``, ``error`` and ``status``."""
    from funnelscope.report.collect import collect

    s = request.app.state.funnelscope
    lang = lang_of(request)
    missing = s.run(lambda ws: _missing_table(ws, needs), key=("missing", needs))
    if missing:
        return {"missing": missing, "blocks": [], "error": None, "status": 200}
    try:
        key = ("page", only, json.dumps(options, sort_keys=True, default=str))
        data = s.run(lambda ws: collect(ws, s.definitions, only=only, options=options), key=key)
        sec = section(data, lang)
        return {"missing": None, "blocks": sec.blocks if sec else [], "error": None,
                "status": 200, "shown": sec is not None}
    except FunnelscopeError as exc:
        return {"missing": None, "blocks": [], "error": str(exc), "status": 400}


def _section_page(request: Request, page: str, title_key: str, needs: str, only: tuple[str, ...],
                  options: dict[str, dict[str, Any]], section, fields: list[dict]) -> HTMLResponse:
    out = _section(request, needs, only, options, section)
    status = out.pop("status")
    out.pop("shown", None)
    return render(request, "section.html", status=status, page=page, title_key=title_key,
                  fields=fields, **out)


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


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request) -> HTMLResponse:
    """``watch`` of a funnel: funnelscope.yml's first named funnel explained by its first
    breakdown (or the one chosen), else the builder's default funnel; the last ``since``."""
    from funnelscope.report.compose import watch_section

    s = request.app.state.funnelscope
    q = request.query_params
    t = Translator(lang_of(request))
    funnels = s.definitions.funnels
    names = list(funnels)
    name = _choice(q.get("name"), tuple(names), names[0] if names else None)
    if "by" in q:
        by = q.get("by") or None
    else:
        by = funnels[name].breakdowns[0] if name and funnels[name].breakdowns else None
    since = (q.get("since") or "14d").strip()[:40]
    options = {k: v for k, v in {"name": name, "by": by, "since": since}.items() if v}
    fields = [_field("since", t("days"), since, kind="text"),
              _field("by", t("breakdown_by"), by, kind="text")]
    if names:
        fields.insert(0, _field("name", t("nav_funnels"), name, [(n, n) for n in names]))
    return _section_page(request, "alerts", "section_watch", "watch", ("watch",),
                         {"watch": options}, watch_section, fields)


@router.get("/experiments", response_class=HTMLResponse)
def experiments_page(request: Request) -> HTMLResponse:
    """The exposures table's first experiment (as in the report) and a counts calculator
    (``control`` / ``treatment`` lines / ``alpha``: what ``funnelscope abtest`` answers)."""
    from funnelscope.report.compose import experiment_section

    q = request.query_params
    out = _section(request, "experiment", ("experiment",), {}, experiment_section)
    status = out.pop("status")
    shown = out.pop("shown", False)
    form = {"control": (q.get("control") or "").strip()[:120],
            "treatment": (q.get("treatment") or "")[:2000], "alpha": q.get("alpha") or "0.05"}
    calc = _calculator(request, form) if form["control"] else None
    if calc is not None and calc.get("error"):
        status = 400
    return render(request, "experiments.html", status=status, page="experiments",
                  title_key="nav_experiments", form=form, calc=calc,
                  no_exposures=not shown and not out["missing"] and not out["error"], **out)


def _calculator(request: Request, form: dict[str, str]) -> dict[str, Any]:
    """The calculator's answer on the server's worker: the abtest JSON with its charts and
    tables, or the error message."""
    from funnelscope.analyses.experiment.requests import abtest_from_text
    from funnelscope.report.charts.experiment import lift_figure, rates_figure
    from funnelscope.web.api import _check_api_counts, _computed

    lang = lang_of(request)
    s = request.app.state.funnelscope
    treatments = [line.strip() for line in form["treatment"].splitlines() if line.strip()]
    try:
        alpha = float(form["alpha"])
        if not 0.0001 <= alpha <= 0.5:
            raise ValueError
    except ValueError:
        return {"error": f"alpha: {form['alpha']!r} is not a number between 0.0001 and 0.5."}

    def go(_ws):
        _check_api_counts(form["control"], treatments)
        return _computed("abtest", lambda: abtest_from_text(form["control"], treatments,
                                                            alpha=alpha))

    try:
        result = s.run(go, key=("abtest", json.dumps([form["control"], treatments, alpha, None,
                                                     5000.0])))
    except FunnelscopeError as exc:
        return {"error": str(exc)}
    from funnelscope.report import style
    from funnelscope.report.compose import Table, _p

    t = Translator(lang)
    level = f"{1 - alpha:.0%}"
    variants = Table([t("variant"), t("users"), t("conversions"), t("conversion")],
                     [[str(v["variant"]), style.count(v["users"]), style.count(v["conversions"]),
                       style.percent(v["rate"], 2)] for v in result["variants"]],
                     [False, True, True, True])
    rows = []
    for c in result["comparisons"]:
        a, r = c["absolute"], c["relative"]
        rows.append([f"{c['variant']} vs {c['control']}",
                     f"{a['estimate'] * 100:+.2f} pts" if a["estimate"] is not None else style.DASH,
                     style.percent(r["estimate"], 2),
                     f"{style.percent(r['ci_low'], 2)} – {style.percent(r['ci_high'], 2)}",
                     _p(a["p_value"]), _p(c["p_adjusted"]),
                     style.percent(c["bayesian"]["chance_to_win"])])
    comparisons = Table([t("variant"), t("absolute_lift"), t("relative_lift"),
                         t("interval_level", level=level), t("p_value"), t("p_adjusted"),
                         t("chance_to_win")], rows, [False] + [True] * 6)
    srm = result["srm"]
    figures = [f.to_json() for f in (rates_figure(result, lang), lift_figure(result, lang))]
    return {"result": result, "figures": figures, "tables": [variants, comparisons],
            "srm": t("srm_ok" if srm["ok"] else "srm_bad", p=_p(srm["p_value"])), "error": None}


# ----- generic pages: one per registry analysis without a hand-made page -------------------------
#: analyses a hand-made page above shows -> that page (every other registry analysis, plugins
#: included, gets ``/analyses/<route>``)
HAND_MADE = {"funnel": "funnels", "retention": "retention", "activity": "retention",
             "churn": "retention", "rfm": "segments", "clusters": "segments", "clv": "value",
             "acquisition": "value", "pipeline": "pipeline", "watch": "alerts",
             "experiment": "experiments"}
#: query parameters of every page that are not analysis options
PAGE_KEYS = ("lang", "token")
#: longest option value a page accepts (the API's max_length for text parameters)
MAX_VALUE = 2000


def generic_entries() -> list[Any]:
    """The registry analyses without a hand-made page, in the registry's order."""
    from funnelscope.analyses.registry import entries

    return [e for e in entries() if e.name not in HAND_MADE]


def analysis_title(entry: Any, lang: str) -> str:
    """The entry's title in ``lang``: the i18n string ``analysis_<name>`` when there is one,
    else ``entry.title`` (English), else its name."""
    from funnelscope.report.i18n import t

    key = f"analysis_{entry.name}"
    return t(key, lang, default=entry.title or entry.name)


def _shown(value: Any) -> str:
    """An option value as a form field shows it (the text the one parser reads back)."""
    from collections.abc import Mapping

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(":".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
                        for v in value)
    return str(value)


def _param_field(p: Any, value: Any) -> dict[str, Any]:
    """A form field for a registry Param: a select for choices and booleans, a number input
    with the Param's bounds for int/float, else a text input; the Param's help as the hint."""
    field = _field(p.name, p.name, _shown(value), kind="text")
    field.update(hint=p.help, placeholder=p.metavar or "", low=p.low, high=p.high, step=None)
    if p.kind == "choice":
        field.update(kind="select", options=([] if p.default is not None else [("", "—")])
                     + [(c, c) for c in p.choices])
    elif p.kind == "bool":
        field.update(kind="select", options=[("", "—"), ("true", "true"), ("false", "false")])
    elif p.kind in ("int", "float"):
        field.update(kind="number", step="1" if p.kind == "int" else "any")
        bounds = (f"{p.low:g}–{p.high:g}" if p.low is not None and p.high is not None else
                  f"≥ {p.low:g}" if p.low is not None else
                  f"≤ {p.high:g}" if p.high is not None else "")
        if bounds:
            field["hint"] = f"{p.help} ({bounds})" if p.help else bounds
    return field


def _options(entry: Any, query: Any) -> tuple[dict[str, Any], bool]:
    """The analysis options of a page's query string by query name (aliases too), and whether
    the query named none (the first load: the report's options are run). An unknown name, or
    an option the dashboard does not offer (``api=False``, e.g. ``save``), is a ConfigError."""
    from funnelscope.analyses.registry import suggest
    from funnelscope.errors import ConfigError

    params = {n: p for p in entry.params if p.api for n in (p.name, *p.aliases)}
    given: dict[str, Any] = {}
    for name in query:
        if name in PAGE_KEYS:
            continue
        p = params.get(name)
        if p is None:
            offered = [p.name for p in entry.params if p.api]
            raise ConfigError(f"{entry.name} has no option {name!r}.{suggest(name, offered)}",
                              hint=f"Options: {', '.join(offered)}.")
        values = [v for v in query.getlist(name) if v.strip() != ""]
        for v in values:
            if len(v) > MAX_VALUE:
                raise ConfigError(f"{name}: the value is longer than {MAX_VALUE} characters.")
        if values:
            given[name] = values if p.repeat else values[-1]
    return given, not any(k not in PAGE_KEYS for k in query)


@router.get("/analyses", response_class=RedirectResponse)
def analyses_index(request: Request) -> RedirectResponse:
    first = generic_entries()
    target = f"/analyses/{first[0].api_route}" if first else "/funnels"
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(target + query, status_code=307)


@router.get("/analyses/{route}", response_class=HTMLResponse)
def analysis_page(request: Request, route: str) -> HTMLResponse:
    """The generic page of a registry analysis: a form from its API parameters, the run of
    ``/api/<route>`` (the one parser, the server's worker, the same cache) and the report's
    generic section of the result. The first load (no option in the query string) runs the
    entry's report options; any other query runs exactly what it names, as the API does."""
    from dataclasses import replace

    from funnelscope.analyses.registry import suggest
    from funnelscope.report.collect import Part, ReportData
    from funnelscope.report.compose import other_section
    from funnelscope.web import api
    from funnelscope.web.errors import private, status_of

    s = request.app.state.funnelscope
    lang = lang_of(request)
    t = Translator(lang)
    entry = next((e for e in generic_entries() if e.api_route == route), None)
    if entry is None:
        from funnelscope.analyses.registry import entries

        hand = next((e for e in entries() if e.api_route == route and e.name in HAND_MADE), None)
        if hand is not None:
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"/{HAND_MADE[hand.name]}{query}", status_code=307)
        routes = [e.api_route for e in generic_entries()]
        error = {"message": f"no analysis {route[:80]!r}.{suggest(route[:80], routes)}",
                 "hint": f"Pages: {', '.join('/analyses/' + r for r in routes)}."}
        return render(request, "analysis.html", status=404, page="analyses", title=route[:80],
                      entry=None, fields=[], blocks=[], error=error, links=None)

    report = {k: v for k, v in (entry.report or {}).items()
              if any(p.api and p.name == k for p in entry.params)}
    blocks: list[Any] = []
    error = None
    status = 200
    links = None
    given: dict[str, Any] = {}
    first = False
    try:
        given, first = _options(entry, request.query_params)
        values = dict(report) if first else given
        missing = s.run(lambda ws: _missing_table(ws, entry.name), key=("missing", entry.name))
        if missing:
            try:  # the workspace's own error: it says how to load the table
                s.run(lambda ws: ws.table(missing))
            except FunnelscopeError as exc:
                body = private(request, exc.to_dict())["error"]
                error = {"message": t("no_data", table=missing), "hint": body["hint"]}
        else:
            _call, result, data = api.compute(request, entry, values)
            part = Part(entry.name, result=result, json=data)
            rd = ReportData(workspace=Path(s.settings.workspace).name, timezone="",
                            tables=[], definitions=s.definitions, parts={entry.name: part})
            section = other_section(rd, lang)
            heading = entry.title or entry.name
            blocks = [replace(b, heading=None) if b.heading == heading else b
                      for b in (section.blocks if section else [])]
            from urllib.parse import urlencode

            query = urlencode({k: _shown(v) for k, v in values.items()})
            links = {"json": f"/api/{entry.api_route}?{query}",
                     "csv": f"/api/{entry.api_route}.csv?{query}"}
    except FunnelscopeError as exc:
        body = private(request, exc.to_dict())["error"]
        error = {"message": body["message"], "hint": body["hint"]}
        status = status_of(exc)

    fields = []
    for p in entry.params:
        if not p.api:
            continue
        value = next((given[n] for n in (p.name, *p.aliases) if n in given), None)
        if value is None and first:
            value = report.get(p.name)
        fields.append(_param_field(p, p.default if value is None else value))
    return render(request, "analysis.html", status=status, page="analyses",
                  active=entry.api_route, title=analysis_title(entry, lang), entry=entry,
                  fields=fields, blocks=blocks, error=error, links=links)
