"""Compare the workspace's own figures with an industry benchmark (docs/metrics.md,
"Benchmarks").

Your figures come from the existing analyses where they exist: repurchase rate from the
activity analysis' repurchase table, monthly churn from the churn analysis (period month),
trial activation from AARRR's activation rate, CLV from revenue to date per customer (the
value package's per-customer orders). Click, registration and paid conversion are shares of
the users with any event, counted in one small engine query. A figure the data cannot give
is "not measurable here" with the reason, never 0; an event name given explicitly that is
not in the data is an error (as everywhere).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from funnelscope.errors import ConfigError, InputError

from .defaults import DEFAULT_CURRENCY, METRICS, merged
from .result import BenchmarkResult
from .spec import BenchmarkSpec

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

#: |yours - benchmark| within this share of the benchmark is "on par".
ON_PAR = 0.05
#: event names tried when the option is not given (absent from the data: not measurable)
DEFAULT_EVENTS = {"click_event": "click", "signup_event": "signup"}
COLUMNS = ["metric", "definition", "yours", "benchmark", "gap", "better", "direction", "unit",
           "numerator", "denominator", "source", "note"]
NOT_MEASURABLE = "not measurable here: "


def benchmark(
    ws: Workspace,
    industry: str = "ecommerce",
    click_event: str | None = None,
    signup_event: str | None = None,
    activation_event: str | None = None,
    pay_event: str | None = None,
    activation_days: int = 7,
    inactivity_days: int = 30,
    benchmarks: Mapping[str, Mapping[str, Any]] | None = None,
) -> BenchmarkResult:
    """Your figures next to the industry's benchmark: table ``comparison``.

    industry: ecommerce | saas | finance, or one added under ``benchmarks:`` in
    funnelscope.yml. click_event / signup_event: your click and signup events (default: the
    events named ``click`` / ``signup`` when the data has them, else not measurable).
    activation_event: the event that means a trial user got value (trial activation).
    pay_event: count paying users by this event instead of the orders table.
    activation_days: activation window (AARRR). inactivity_days: churned after this many
    days without activity. benchmarks: industry -> {metric: value} overriding the defaults
    (default: ``ws.definitions``' ``benchmarks:``, i.e. funnelscope.yml).

    >>> ws.benchmark(industry="ecommerce").tables["comparison"]
    """
    t0 = time.perf_counter()
    spec = _spec(industry, click_event, signup_event, activation_event, pay_event,
                 activation_days, inactivity_days)
    if benchmarks is None:
        benchmarks = getattr(getattr(ws, "definitions", None), "benchmarks", None) or {}
    table = merged({k: dict(v) for k, v in benchmarks.items()})
    if spec.industry not in table:
        from funnelscope.analyses.registry import suggest

        raise ConfigError(f"unknown industry {spec.industry!r}.{suggest(spec.industry, list(table))}",
                          hint=f"Industries: {', '.join(table)}. Add your own under "
                               "`benchmarks:` in funnelscope.yml.")
    row = table[spec.industry]
    overridden = set(benchmarks.get(spec.industry, {}))
    wanted = [m for m in METRICS if row.get(m) is not None]
    currency = str(row.get("currency") or DEFAULT_CURRENCY)
    yours = _yours(ws, spec, wanted, currency)
    rows = []
    for name in wanted:
        metric = METRICS[name]
        value, num, den, note = yours[name]
        bench = float(row[name])
        gap = None if value is None or note.startswith("not compared") else value - bench
        rows.append({
            "metric": name, "definition": metric.definition, "yours": value, "benchmark": bench,
            "gap": gap, "better": _better(gap, bench, metric.higher_is_better),
            "direction": "higher is better" if metric.higher_is_better else "lower is better",
            "unit": "rate" if metric.rate else currency,
            "numerator": num, "denominator": den,
            "source": "funnelscope.yml" if name in overridden else "default",
            "note": note or None,
        })
    comparison = pd.DataFrame(rows, columns=COLUMNS, dtype=object)
    comparison["benchmark"] = comparison["benchmark"].astype("float64")
    meta = {"industry": spec.industry, "currency": currency, "industries": list(table),
            "on_par_within": ON_PAR, "engine": ws.engine, "timezone": ws.config.timezone,
            "elapsed_s": round(time.perf_counter() - t0, 4)}
    return BenchmarkResult(spec=spec, tables={"comparison": comparison}, meta=meta)


def _spec(industry: Any, *rest: Any) -> BenchmarkSpec:
    names = ("click_event", "signup_event", "activation_event", "pay_event")
    events = rest[:4]
    for name, value in zip(names, events, strict=True):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{name}: give one event name, got {value!r}.")
    for name, value in zip(("activation_days", "inactivity_days"), rest[4:], strict=True):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name}: must be a whole number >= 1, got {value!r}.")
    if not isinstance(industry, str) or not industry.strip():
        raise ConfigError(f"industry: give an industry name, got {industry!r}.")
    return BenchmarkSpec(industry.strip(), *(e.strip() if e else None for e in events), *rest[4:])


def _better(gap: float | None, bench: float, higher_is_better: bool) -> str | None:
    """above / below the benchmark in the metric's good direction, on par within ON_PAR."""
    if gap is None:
        return None
    if abs(gap) <= ON_PAR * abs(bench):
        return "on par"
    return "above" if (gap > 0) == higher_is_better else "below"


# ----- your figures -------------------------------------------------------------------------
Figure = tuple[float | None, float | None, float | None, str]  # value, numerator, denominator, note


def _share(num: int, den: int) -> Figure:
    return (num / den if den else None, num, den, "" if den else NOT_MEASURABLE + "no users")


def _missing(reason: str) -> Figure:
    return (None, None, None, NOT_MEASURABLE + reason)


def _yours(ws: Workspace, spec: BenchmarkSpec, wanted: list[str], currency: str) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    has_orders = ws.has_table("orders")
    events = {"click_rate": ("click_event", spec.click_event),
              "registration_rate": ("signup_event", spec.signup_event)}
    names = {opt: given or DEFAULT_EVENTS[opt] for opt, given in events.values()}
    if spec.pay_event:
        names["pay_event"] = spec.pay_event
    if spec.activation_event:
        names["activation_event"] = spec.activation_event
    counts = _user_counts(ws, names, has_orders and not spec.pay_event)
    for given, option in ((spec.click_event, "click_event"), (spec.signup_event, "signup_event"),
                          (spec.pay_event, "pay_event"), (spec.activation_event, "activation_event")):
        if given and not counts[option]:
            from funnelscope.analyses.event_names import check_event_names

            check_event_names(ws, [given], option)
    for metric, (option, _) in events.items():
        if metric in wanted:
            out[metric] = _share(counts[option], counts["users"]) if counts[option] else _missing(
                f"the events table has no {names[option]!r} event; name yours with "
                f"--{option.replace('_', '-')} ({option}=)")
    if "paid_conversion" in wanted:
        if spec.pay_event:
            out["paid_conversion"] = _share(counts["pay_event"], counts["users"])
        elif has_orders:
            out["paid_conversion"] = _share(counts["buyers"], counts["users"])
        else:
            out["paid_conversion"] = _missing("no orders table; name your payment event with "
                                              "--pay-event (pay_event=)")
    if "trial_activation" in wanted:
        out["trial_activation"] = _activation(ws, spec, counts)
    if "repurchase_rate" in wanted:
        out["repurchase_rate"] = _repurchase(ws) if has_orders else _missing(
            "no orders table (repurchase counts orders)")
    if "monthly_churn" in wanted:
        out["monthly_churn"] = _churn(ws, spec)
    if "clv" in wanted:
        out["clv"] = _clv(ws, currency) if has_orders else _missing(
            "no orders table (value is revenue to date)")
    return out


def _user_counts(ws: Workspace, names: dict[str, str], buyers: bool) -> dict[str, int]:
    """Users with any event, and of them those with each named event (and with an order):
    one aggregate in the engine."""
    ev = ws.events
    flags = {opt: (ev.event == name).cast("int64").max() for opt, name in names.items()}
    per = ev.group_by(user_id=ev.user_id.cast("string")).aggregate(
        _n=ev.count(), **flags)
    if buyers:
        o = ws.orders
        paid = o.select(user_id=o.user_id.cast("string")).distinct()
        per = per.mutate(buyers=per.user_id.isin(paid.user_id).cast("int64"))
    cols = [c for c in per.columns if c not in ("user_id", "_n")]
    row = per.aggregate(users=per.count(), **{c: per[c].sum() for c in cols}).to_pandas().iloc[0]
    return {k: int(v) if pd.notna(v) else 0 for k, v in row.items()}


def _activation(ws: Workspace, spec: BenchmarkSpec, counts: dict[str, int]) -> Figure:
    if not spec.activation_event:
        return _missing("name the event that means a trial user got value with "
                        "--activation-event (activation_event=)")
    from funnelscope.analyses.retention.run import aarrr

    signup = spec.signup_event or ("signup" if counts["signup_event"] else None)
    metrics = aarrr(ws, signup=signup, activation_event=spec.activation_event,
                    activation_days=spec.activation_days, retention_days=(),
                    channel=None).tables["metrics"]
    hit = metrics[metrics["metric"] == "activation_rate"]
    if hit.empty or hit["value"].iloc[0] is None or pd.isna(hit["value"].iloc[0]):
        return _missing(f"no user was acquired at least {spec.activation_days} days before the "
                        "data end")
    r = hit.iloc[0]
    return (float(r["value"]), _num(r["numerator"]), _num(r["denominator"]), "")


def _repurchase(ws: Workspace) -> Figure:
    from funnelscope.analyses.retention.repurchase import repurchase
    from funnelscope.analyses.retention.spec import activity_spec

    _, summary = repurchase(ws, activity_spec(None, "month", None))
    if not summary["buyers"]:
        return _missing("the orders table has no orders")
    return (summary["repurchase_rate"], summary["repeat_buyers"], summary["buyers"], "")


def _churn(ws: Workspace, spec: BenchmarkSpec) -> Figure:
    from funnelscope.analyses.retention.run import churn

    population = "buyers" if ws.has_table("orders") else "all"
    periods = churn(ws, inactivity_days=spec.inactivity_days, period="month",
                    population=population).tables["periods"]
    done = periods[periods["complete"].astype(bool) & (periods["customers_at_start"] > 0)]
    if done.empty:
        return _missing(f"no complete month with customers at its start (a month is complete "
                        f"when its last day + {spec.inactivity_days} days is within the data)")
    num = int(done["churned_from_start"].sum())
    den = int(done["customers_at_start"].sum())
    return (num / den, num, den, "")


def _clv(ws: Workspace, currency: str) -> Figure:
    from funnelscope.analyses.value.sources import customer_orders

    try:
        per = customer_orders(ws)
    except InputError as exc:
        if "mixes currencies" in exc.message:
            raise
        return _missing(exc.message.rstrip("."))
    revenue, buyers = float(per["revenue"].sum()), len(per)
    theirs = per.attrs.get("currency")
    if theirs and str(theirs) != currency:
        return (revenue / buyers, revenue, buyers,
                f"not compared: your orders are in {theirs}, the benchmark in {currency}")
    note = "" if theirs else f"orders have no currency column: amounts taken as {currency}"
    return (revenue / buyers, revenue, buyers, note)


def _num(v: Any) -> float | None:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    return float(v) if not float(v).is_integer() else int(v)


def prepare(given: dict[str, Any], definitions: Any, ws_config: Any = None) -> dict[str, Any]:
    """The registry's request hook: pass funnelscope.yml's ``benchmarks:`` to the run."""
    out = dict(given)
    out["benchmarks"] = dict(getattr(definitions, "benchmarks", None) or {})
    return out


__all__ = ["benchmark", "prepare"]
