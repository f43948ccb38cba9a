"""The JSON API: per analysis of the registry, ``GET /api/<route>`` (what ``funnelscope <command>
--format json`` prints, plus ``truncated`` when a table was cut at the row cap),
``/api/<route>.csv?table=`` and ``/api/<route>/view`` (with the charts). The routes, their
parameters and the OpenAPI schema are generated from :mod:`funnelscope.analyses.registry`;
requests are parsed by its one parser, so the API and the CLI agree by construction.

Two fixed routes need no workspace: ``/api/abtest`` and ``/api/sample-size`` (the JSON of
``funnelscope abtest`` / ``sample-size --format json``, every number bounded in the schema).

Every endpoint runs through :class:`~funnelscope.web.state.State` (read-only workspace, one
request at a time, time limit) and answers errors in the one shape of
:mod:`funnelscope.web.errors`. The schema is at ``/openapi.json``, readable at ``/docs``.
"""

from __future__ import annotations

import inspect
import json
from pathlib import PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from funnelscope.analyses import registry
from funnelscope.analyses.registry import Analysis, Param
from funnelscope.analyses.result import jsonable
from funnelscope.web import catalog
from funnelscope.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)

Text = Annotated[str | None, Query(max_length=200)]
Lang = Annotated[Literal["en", "zh"], Query(description="Language of chart labels.")]


def state(request: Request):
    return request.app.state.funnelscope


def cap_rows(data: Any, max_rows: int) -> Any:
    """Cut every table (list of records) longer than ``max_rows``; list what was cut under
    ``truncated`` (path -> total rows). ``spec`` and ``meta`` are never cut. Returns ``data``
    (changed in place)."""
    cut: dict[str, int] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("spec", "meta"):
                    continue
                if isinstance(v, list) and len(v) > max_rows and v and isinstance(v[0], dict):
                    cut[f"{path}{k}"] = len(v)
                    node[k] = v[:max_rows]
                else:
                    walk(v, f"{path}{k}.")

    walk(data, "")
    if cut and isinstance(data, dict):
        data["truncated"] = cut
    return data


def answer(request: Request, data: Any) -> JSONResponse:
    return JSONResponse(cap_rows(jsonable(data), state(request).settings.max_rows))


# ----- workspace --------------------------------------------------------------------------------
@router.get("/health", summary="Liveness check")
def health() -> dict[str, str]:
    """Answers ``{"status": "ok"}`` while the server runs."""
    return {"status": "ok"}


@router.get("/tables", summary="Tables of the workspace with row counts")
def tables(request: Request) -> JSONResponse:
    rows = state(request).run(lambda ws: [{"name": t.name, "rows": t.rows} for t in ws.tables()])
    return answer(request, {"tables": rows})


@router.get("/events", summary="Event names with users and events (for the funnel builder)")
def events(request: Request) -> JSONResponse:
    return answer(request, {"events": state(request).run(catalog.events)})


@router.get("/breakdowns", summary="Columns a funnel can be broken down by")
def breakdowns(request: Request) -> JSONResponse:
    s = state(request)
    return answer(request, {"breakdowns": s.run(lambda ws: catalog.breakdowns(ws, s.definitions))})


@router.get("/definitions", summary="Named funnels, segments, pipelines and metrics of funnelscope.yml")
def definitions(request: Request) -> JSONResponse:
    out = state(request).definitions.to_dict()
    if out["path"]:
        out["path"] = PurePath(out["path"]).name  # never disclose the server's directories
    return answer(request, out)


# ----- experiments from counts (no workspace): abtest and sample-size -------------------------
#: Users per variant the API compares at most: Fisher's exact test takes time linear in the
#: count near the control's rate (about 2 s at 10^8 in one uninterruptible scipy call), and one
#: request must stay stoppable by the time limit. The CLI has no such limit.
MAX_API_USERS = 10**8
#: Treatments per abtest request.
MAX_TREATMENTS = 32

CountsText = Annotated[str, Query(
    min_length=1, max_length=120,
    description="Control counts CONVERSIONS/USERS, e.g. 200/1000 (named A).")]


def _computed(what: str, f):
    """``f()``, with the statistics' own refusals (a ValueError or an overflow for an
    impossible request, e.g. a sample size beyond 10^15) as a 400 naming ``what``."""
    from funnelscope.errors import ConfigError, FunnelscopeError

    try:
        return f()
    except FunnelscopeError:
        raise
    except (ValueError, ArithmeticError) as exc:
        raise ConfigError(f"{what}: cannot compute this request ({exc}).".replace("\n", " ")[:400],
                          hint="Check the values against docs/experiments.md (rates in 0-1, a "
                               "larger effect, fewer users).") from None


def _check_api_counts(control: str, treatments: list[str]) -> None:
    """The API's bounds on abtest counts, read by the CLI's own parser."""
    from funnelscope.analyses.experiment.requests import parse_counts
    from funnelscope.errors import ConfigError

    if len(treatments) > MAX_TREATMENTS:
        raise ConfigError(f"treatment: at most {MAX_TREATMENTS} treatments per request, got "
                          f"{len(treatments)}.", hint="Compare fewer treatments per request.")
    for option, text in (("control", control), *(("treatment", t) for t in treatments)):
        if len(text) > 120:
            raise ConfigError(f"{option}: {text[:40]!r}... is longer than 120 characters.",
                              hint="Write CONVERSIONS/USERS or NAME=CONVERSIONS/USERS.")
        _, _, users = parse_counts(text, option)
        if users > MAX_API_USERS:
            raise ConfigError(f"{option}: {users:,} users is more than the API compares "
                              f"({MAX_API_USERS:,} per variant).",
                              hint="Run `funnelscope abtest` for larger counts.")


@router.get("/abtest", summary="A/B test from counts: lifts with CIs, sequential, Bayesian, "
                               "tests, SRM check (no workspace)")
def abtest(
    request: Request,
    control: CountsText,
    treatment: Annotated[list[str], Query(
        min_length=1, max_length=MAX_TREATMENTS,
        description="Treatment counts CONVERSIONS/USERS or NAME=CONVERSIONS/USERS; repeat the "
                    "parameter for more treatments (default names B, C, ...).")],
    alpha: Annotated[float, Query(ge=0.0001, le=0.5, description="Two-sided significance "
                                  "level; intervals are 1 - alpha.")] = 0.05,
    split: Annotated[str | None, Query(max_length=400, description=(
        "Planned share of users per variant, control first (e.g. 50,25,25), for the "
        "sample-ratio check; default equal."))] = None,
    tuning: Annotated[float, Query(ge=1, le=1e9, description="Sequential tuning parameter N* "
                                   "(GrowthBook's default 5000).")] = 5000.0,
) -> JSONResponse:
    """The JSON of `funnelscope abtest --control ... --treatment ... --format json`: variants,
    one comparison per treatment against the control, SRM check (docs/experiments.md). At most
    100,000,000 users per variant and 32 treatments."""
    from funnelscope.analyses.experiment.requests import abtest_from_text

    treatments = list(treatment)

    def go(_ws):
        _check_api_counts(control, treatments)
        return _computed("abtest", lambda: abtest_from_text(control, treatments, alpha=alpha,
                                                            split=split, tuning=tuning))

    key = ("abtest", json.dumps([control, treatments, alpha, split, tuning]))
    return answer(request, state(request).run(go, key=key))


@router.get("/sample-size", summary="Users per variant to detect a change in conversion rate "
                                    "(R's power.prop.test; no workspace)")
def sample_size(
    request: Request,
    baseline: Annotated[float, Query(gt=0, lt=1, description="Control conversion rate, a "
                                     "fraction (0.2 = 20%).")],
    mde: Annotated[float | None, Query(ge=0.0001, le=10000, description=(
        "Smallest effect worth detecting, at least 0.0001: absolute rate points (0.05 = +5 "
        "points), or relative with relative=true (0.05 = +5%). Gives the users needed; give "
        "this or users."))] = None,
    users: Annotated[int | None, Query(ge=2, le=10**12, description=(
        "Users per variant you can get: gives the smallest effect they detect (mde) "
        "instead."))] = None,
    relative: Annotated[bool, Query(description="mde is relative to the baseline (target = "
                                    "baseline x (1 + mde)).")] = False,
    power: Annotated[float, Query(ge=0.01, le=0.9999, description="Power, 1 - type II "
                                  "error.")] = 0.8,
    alpha: Annotated[float, Query(ge=0.0001, le=0.5, description="Two-sided significance "
                                  "level.")] = 0.05,
    variants: Annotated[int, Query(ge=2, le=100, description="Number of variants, control "
                                   "included.")] = 2,
    daily_users: Annotated[float | None, Query(gt=0, le=1e12, description=(
        "Users entering the experiment per day (all variants): adds the run time in "
        "days."))] = None,
    entry_event: Annotated[str | None, Query(max_length=200, description=(
        "Measure daily_users on the served workspace instead: distinct users of this event "
        "in the last 28 days of the data / 28."))] = None,
) -> JSONResponse:
    """The JSON of `funnelscope sample-size --baseline ... --mde ... --format json`: users per
    variant (rounded up), total, and with daily_users the days to run. A request no sample
    size below 10^15 per variant can answer is a 400."""
    from funnelscope.analyses.experiment.requests import daily_entrants, sample_size_plan
    from funnelscope.errors import ConfigError

    def go(ws):
        traffic, daily = None, daily_users
        if entry_event is not None:
            if daily_users is not None:
                raise ConfigError("give daily_users or entry_event, not both.")
            traffic = daily_entrants(ws, entry_event)
            daily = traffic["daily_users"]
        return _computed("sample-size", lambda: sample_size_plan(
            baseline, mde, relative=relative, power=power, alpha=alpha, variants=variants,
            daily_users=daily, users=users, traffic=traffic))

    key = ("sample-size", json.dumps([baseline, mde, users, relative, power, alpha, variants,
                                      daily_users, entry_event]))
    return answer(request, state(request).run(go, key=key))


# ----- analyses: one route family per registry entry --------------------------------------------
def _annotation(p: Param) -> Any:
    """The query parameter's type and constraints, from the registry Param."""
    description = p.help
    if p.kind == "bool":
        return Annotated[bool | None, Query(description=description)]
    if p.kind in ("int", "float"):
        kind = int if p.kind == "int" else float
        return Annotated[kind | None, Query(description=description, ge=p.low, le=p.high)]
    if p.kind == "choice":
        return Annotated[Literal[p.choices] | None, Query(description=description)]  # type: ignore[valid-type]
    if p.repeat:
        return Annotated[list[str] | None, Query(description=description, max_length=32)]
    return Annotated[str | None, Query(description=description, max_length=2000)]


def _api_params(entry: Analysis) -> list[Param]:
    return [p for p in entry.params if p.api]


def _signature(entry: Analysis, *extra: inspect.Parameter) -> inspect.Signature:
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                annotation=Request)]
    for p in _api_params(entry):
        params.append(inspect.Parameter(p.name, kw, default=None, annotation=_annotation(p)))
        for alias in p.aliases:
            params.append(inspect.Parameter(alias, kw, default=None, annotation=Annotated[
                str | None, Query(description=f"Older name of {p.name}.", deprecated=True,
                                  max_length=2000)]))
    return inspect.Signature(params + list(extra))


def _raw(entry: Analysis, values: dict[str, Any]) -> dict[str, Any]:
    """Query values by public name (API booleans are the target's value: censor=false)."""
    raw: dict[str, Any] = {}
    for p in _api_params(entry):
        for name in (p.name, *p.aliases):
            if values.get(name) is not None:
                raw[p.name] = values[name]
    return raw


def compute(request: Request, entry: Analysis, values: dict[str, Any]):
    """Parse with the registry's one parser, run on the server's worker (cached), and answer
    the Result with its JSON (what ``funnelscope <command> --format json`` prints)."""
    s = state(request)
    call = registry.parse(entry, _raw(entry, values), s.definitions, s.ws.config)
    key = (entry.name, json.dumps([call.kwargs, call.view], sort_keys=True, default=str))

    def go(ws):
        result = registry.run(ws, call)
        return result, registry.to_json(result, call)

    return call, *s.run(go, key=key)


def _json_route(entry: Analysis):
    def endpoint(request: Request, **values: Any) -> JSONResponse:
        _call, _result, data = compute(request, entry, values)
        return answer(request, data)

    endpoint.__signature__ = _signature(entry)  # type: ignore[attr-defined]
    endpoint.__doc__ = f"{entry.description or entry.summary} Same JSON as `funnelscope " \
                       f"{entry.cli_name} --format json`."
    return endpoint


def _csv_route(entry: Analysis):
    tables = entry.csv or ("main",)
    table_param = inspect.Parameter(
        "table", inspect.Parameter.KEYWORD_ONLY, default=tables[0],
        annotation=Annotated[Literal[tables], Query(description="Which table.")])  # type: ignore[valid-type]

    def endpoint(request: Request, **values: Any) -> Response:
        from funnelscope.cli.analyses import table_rows
        from funnelscope.tabular import to_csv

        table = values.pop("table")
        call, result, data = compute(request, entry, values)
        text, truncated = to_csv(table_rows(entry, result, data, call.view, table),
                                 max_rows=state(request).settings.max_rows)
        headers = {"Content-Disposition": f'attachment; filename="{entry.api_route}-{table}.csv"'}
        if truncated is not None:
            headers["X-Funnelscope-Truncated"] = str(truncated)
        return Response(text, media_type="text/csv; charset=utf-8", headers=headers)

    endpoint.__signature__ = _signature(entry, table_param)  # type: ignore[attr-defined]
    endpoint.__doc__ = f"A table of `{entry.api_route}` as CSV (same as `funnelscope " \
                       f"{entry.cli_name} --format csv --table NAME`); cells that a spreadsheet " \
                       "would run as formulas are escaped."
    return endpoint


def _view_route(entry: Analysis):
    lang_param = inspect.Parameter("lang", inspect.Parameter.KEYWORD_ONLY, default="en",
                                   annotation=Lang)

    def endpoint(request: Request, **values: Any) -> JSONResponse:
        from funnelscope.report import charts

        lang = values.pop("lang")
        _call, result, data = compute(request, entry, values)
        figures = {k: json.loads(charts.plot(result, k, lang=lang).to_json())
                   for k in charts.kinds(result)}
        return answer(request, {"result": data, "figures": figures})

    endpoint.__signature__ = _signature(entry, lang_param)  # type: ignore[attr-defined]
    endpoint.__doc__ = "``{\"result\": <the JSON>, \"figures\": {kind: plotly figure}}``: " \
                       "what the dashboard draws."
    return endpoint


def analysis_router() -> APIRouter:
    """The routes of every registry analysis (built per app, so analyses registered before
    ``create_app`` are served too)."""
    router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)
    for entry in registry.entries():
        path = f"/{entry.api_route}"
        router.add_api_route(path, _json_route(entry), methods=["GET"],
                             summary=f"{entry.title or entry.name}: {entry.summary}",
                             name=entry.name, response_class=JSONResponse)
        router.add_api_route(f"{path}.csv", _csv_route(entry), methods=["GET"],
                             summary=f"{entry.title or entry.name} as CSV", name=f"{entry.name}_csv",
                             response_class=Response, responses={200: {
                                 "content": {"text/csv": {}}, "description": "CSV with a header row"}})
        router.add_api_route(f"{path}/view", _view_route(entry), methods=["GET"],
                             summary=f"{entry.title or entry.name} with its charts",
                             name=f"{entry.name}_view", response_class=JSONResponse)
    return router


@router.get("/metrics/{name}", summary="A metric defined in funnelscope.yml")
def metric(request: Request, name: Annotated[str, Path(max_length=200)]) -> JSONResponse:
    s = state(request)
    m = s.definitions.metric(name)
    r = s.run(m.run, key=("metric", name))
    return answer(request, {"metric": m.to_dict(), "values": r.tables["values"]})
