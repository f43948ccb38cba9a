"""The JSON API: one GET endpoint per analysis, answering what ``funnelscope <command> --format
json`` prints (plus ``truncated`` when a table was cut at the row cap).

Every endpoint runs through :class:`~funnelscope.web.state.State` (read-only workspace, one
request at a time, time limit) and answers errors in the one shape of
:mod:`funnelscope.web.errors`. The schema is at ``/openapi.json``, readable at ``/docs``.
"""

from __future__ import annotations

import io
import json
from pathlib import PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from funnelscope.analyses.result import jsonable
from funnelscope.errors import ConfigError
from funnelscope.report import runner
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


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [s.strip() for s in text.split(",") if s.strip()]
    return items or None


def _check_analysis(name: str) -> None:
    if runner.function(name) is None:
        raise ConfigError(f"the {name} analysis is not available in this installation.")


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


# ----- funnel -----------------------------------------------------------------------------------
def funnel_call(defs: Any, steps: str | None, name: str | None, window: str | None,
                given: dict[str, Any]) -> tuple[list[Any], str, dict[str, Any]]:
    """Steps, window and options of ``ws.funnel`` from request parameters and a named funnel
    (parameters given explicitly win over the named funnel's)."""
    options: dict[str, Any] = {}
    if name:
        named = defs.funnel(name)
        options.update({k: v for k, v in named.options().items() if v is not None})
        step_list = _split(steps) or list(named.steps)
        window = window or named.window
    else:
        step_list = _split(steps)
        if not step_list:
            raise ConfigError("give steps (steps=view,pay) or the name of a defined funnel (name=checkout).")
    if given.get("by"):
        given["by"] = defs.breakdown_column(given["by"])
    if given.get("exclude"):
        given["exclude"] = [_exclusion(e) for e in given["exclude"]]
    options.update({k: v for k, v in given.items() if v is not None})
    return step_list, window or "7d", options


def _exclusion(item: str) -> Any:
    parts = item.split(":")
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return (parts[0], int(parts[1]), int(parts[2]))
    raise ConfigError(f"cannot read exclude {item!r}.", hint="Use EVENT or EVENT:FROM_STEP:TO_STEP.")


class FunnelParams:
    """Query parameters of the funnel endpoints (the CLI's options)."""

    def __init__(
        self,
        steps: Annotated[str | None, Query(max_length=2000, description="Event names in order, comma-separated: view,add_to_cart,pay.")] = None,
        name: Annotated[str | None, Query(max_length=200, description="A funnel named in funnelscope.yml.")] = None,
        window: Annotated[str | None, Query(max_length=50, description="Max time from the first step to the last: 30m, 1h, 7d. Default 7d.")] = None,
        mode: Literal["ordered", "strict", "any"] | None = None,
        by: Annotated[str | None, Query(max_length=200, description="Break down by an event property, customers column or segment.")] = None,
        period: Literal["day", "week", "month"] | None = None,
        entity: Literal["user", "account"] | None = None,
        count: Literal["uniques", "totals"] | None = None,
        exclude: Annotated[list[str] | None, Query(max_length=32, description="EVENT or EVENT:FROM:TO; repeatable.")] = None,
        start: Annotated[str | None, Query(max_length=40)] = None,
        end: Annotated[str | None, Query(max_length=40)] = None,
        first_time: bool | None = None,
        censor: bool = True,
    ) -> None:
        self.steps, self.name, self.window = steps, name, window
        self.given = {"mode": mode, "by": by, "period": period, "entity": entity, "count": count,
                      "exclude": exclude, "start": start, "end": end,
                      "first_time": first_time or None, "censor": censor}

    def run(self, request: Request):
        s = state(request)
        steps, window, options = funnel_call(s.definitions, self.steps, self.name, self.window,
                                             dict(self.given))
        return s.run(lambda ws: ws.funnel(steps, window, **options),
                     key=_key("funnel", {"steps": steps, "window": window, **options}))


Funnel = Annotated[FunnelParams, Depends()]


@router.get("/funnel", summary="Conversion funnel (same JSON as `funnelscope funnel --format json`)")
def funnel(request: Request, params: Funnel) -> JSONResponse:
    """Entities per step, conversion with 95% Wilson intervals, drop-off, time between steps;
    ``groups`` with ``by``, ``periods`` with ``period``. Semantics: docs/funnels.md."""
    return answer(request, params.run(request).to_dict())


@router.get("/funnel.csv", summary="A funnel table as CSV (same as `funnelscope funnel --format csv`)",
            response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "CSV with a header row"}})
def funnel_csv(request: Request, params: Funnel,
               table: Literal["steps", "groups", "periods"] = "steps") -> Response:
    """The ``steps`` table (or ``groups`` / ``periods``) as CSV, for spreadsheets."""
    result = params.run(request)
    df = result.tables.get(table)
    if df is None:
        raise ConfigError(f"this funnel has no {table} table.",
                          hint="groups needs by=..., periods needs period=...")
    buf = io.StringIO()
    df.head(state(request).settings.max_rows).to_csv(buf, index=False)
    filename = f"funnel-{table}.csv"
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/funnel/view", summary="A funnel with its charts (what the dashboard draws)")
def funnel_view(request: Request, params: Funnel, lang: Lang = "en") -> JSONResponse:
    """``{"result": <the /api/funnel JSON>, "figures": {kind: plotly figure}}``."""
    from funnelscope.report import charts

    result = params.run(request)
    figures = {k: json.loads(charts.plot(result, k, lang=lang).to_json()) for k in charts.kinds(result)}
    return answer(request, {"result": result.to_dict(), "figures": figures})


# ----- other analyses ---------------------------------------------------------------------------
def _key(name: str, options: dict[str, Any]) -> tuple:
    return (name, json.dumps(options, sort_keys=True, default=str))


def _run(request: Request, name: str, **options: Any):
    _check_analysis(name)
    options = {k: v for k, v in options.items() if v is not None}
    return state(request).run(lambda ws: runner.run(ws, name, **options), key=_key(name, options))


@router.get("/retention", summary="Cohort retention (same JSON as `funnelscope retention --format json`)")
def retention(
    request: Request,
    start: Annotated[str | None, Query(max_length=200, description="None (first event), signup, or event name(s), comma-separated.")] = None,
    returning: Annotated[str, Query(max_length=200, description="any, or event name(s) that count as coming back.")] = "any",
    period: Literal["day", "week", "month"] = "day",
    periods: Annotated[int, Query(ge=1, le=366)] = 30,
    kind: Literal["on", "on_or_after"] = "on",
    by: Text = None,
    first_time: bool = True,
) -> JSONResponse:
    start_v: Any = _split(start)
    if start_v is not None and len(start_v) == 1:
        start_v = start_v[0]
    ret_v: Any = _split(returning) or "any"
    if isinstance(ret_v, list) and len(ret_v) == 1:
        ret_v = ret_v[0]
    r = _run(request, "retention", start=start_v, returning=ret_v, period=period, periods=periods,
             kind=kind, by=by, first_time=first_time)
    return answer(request, r.to_dict())


@router.get("/activity", summary="Active users, lifecycle, streaks, frequency")
def activity(request: Request, events: Text = None,
             period: Literal["day", "week", "month"] = "week") -> JSONResponse:
    return answer(request, _run(request, "activity", events=_split(events), period=period).to_dict())


@router.get("/churn", summary="Churn per period and Kaplan–Meier survival")
def churn(request: Request, events: Text = None,
          inactivity_days: Annotated[int, Query(ge=1, le=3650)] = 30,
          period: Literal["day", "week", "month"] = "month", by: Text = None) -> JSONResponse:
    r = _run(request, "churn", events=_split(events), inactivity_days=inactivity_days,
             period=period, by=by)
    return answer(request, r.to_dict())


@router.get("/aarrr", summary="AARRR metric chain with channel table")
def aarrr(request: Request) -> JSONResponse:
    return answer(request, _run(request, "aarrr").to_dict())


@router.get("/pipeline", summary="Sales pipeline (same JSON as `funnelscope pipeline --format json`)")
def pipeline(
    request: Request,
    name: Annotated[str | None, Query(max_length=200, description="A stage list named in funnelscope.yml (pipelines:).")] = None,
    stages: Annotated[str | None, Query(max_length=2000, description="Preset (telecom, b2b, salesforce) or stage names, comma-separated.")] = None,
    win_stage: Text = None,
    by: Text = None,
    period: Literal["month", "quarter"] | None = None,
    forecast: Annotated[str | None, Query(max_length=20, description="Period to forecast: 2026Q1, 2026-03, 2026.")] = None,
    backtest: bool = False,
) -> JSONResponse:
    s = state(request)
    options: dict[str, Any] = {}
    if name:
        options.update(s.definitions.pipeline(name).options())
    if stages:
        options["stages"] = stages if "," not in stages else _split(stages)
    options.update({k: v for k, v in {"win_stage": win_stage, "by": by, "period": period}.items()
                    if v is not None})
    _check_analysis("pipeline")

    def go(ws):
        r = runner.run(ws, "pipeline", **{k: v for k, v in options.items() if v is not None})
        return r.to_dict(forecast_period=forecast, include_backtest=backtest)

    key = _key("pipeline", {**options, "forecast": forecast, "backtest": backtest})
    return answer(request, s.run(go, key=key))


@router.get("/rfm", summary="RFM scores and segments (same JSON as `funnelscope rfm --format json`)")
def rfm(request: Request,
        analysis_date: Annotated[str | None, Query(max_length=40)] = None,
        bins: Annotated[int, Query(ge=2, le=10)] = 5,
        binning: Literal["rfm", "quantile"] = "rfm") -> JSONResponse:
    r = _run(request, "rfm", analysis_date=analysis_date, recency_bins=bins,
             frequency_bins=bins, monetary_bins=bins, binning=binning)
    return answer(request, r.to_dict())


@router.get("/clusters", summary="Behavioural customer clusters")
def clusters(request: Request,
             k: Annotated[int | None, Query(ge=2, le=20)] = None,
             as_of: Annotated[str | None, Query(max_length=40)] = None,
             features: Annotated[str | None, Query(max_length=500)] = None) -> JSONResponse:
    r = _run(request, "clusters", k=k, as_of=as_of, features=_split(features))
    return answer(request, r.to_dict())


@router.get("/clv", summary="Predictive customer lifetime value (BG/NBD x Gamma-Gamma)")
def clv(request: Request,
        calibration_end: Annotated[str | None, Query(max_length=40)] = None,
        time_unit: Literal["days", "weeks", "months", "years"] = "weeks",
        horizon: Annotated[float | None, Query(gt=0, le=1000)] = None,
        discount_rate: Annotated[float, Query(ge=0, le=10)] = 0.10) -> JSONResponse:
    r = _run(request, "clv", calibration_end=calibration_end, time_unit=time_unit,
             horizon=horizon, discount_rate=discount_rate)
    return answer(request, r.to_dict())


@router.get("/acquisition", summary="CAC, LTV:CAC, payback and ROI per channel")
def acquisition(request: Request,
                start: Annotated[str | None, Query(max_length=40)] = None,
                end: Annotated[str | None, Query(max_length=40)] = None,
                group_by: Literal["channel", "channel,campaign"] = "channel") -> JSONResponse:
    r = _run(request, "acquisition", start=start, end=end, group_by=group_by.split(","))
    return answer(request, r.to_dict())


@router.get("/churn-risk", summary="Customers at risk of churning, and why")
def churn_risk(request: Request,
               window_days: Annotated[int, Query(ge=7, le=730)] = 90) -> JSONResponse:
    return answer(request, _run(request, "churn_risk", window_days=window_days).to_dict())


@router.get("/metrics/{name}", summary="A metric defined in funnelscope.yml")
def metric(request: Request, name: Annotated[str, Path(max_length=200)]) -> JSONResponse:
    s = state(request)
    m = s.definitions.metric(name)
    r = s.run(m.run, key=("metric", name))
    return answer(request, {"metric": m.to_dict(), "values": r.tables["values"]})
