"""The value analyses on a workspace: RFM, clusters, CLV, acquisition economics, churn risk.

Each function reads the canonical tables through Ibis (small aggregates computed in the
engine, see :mod:`funnelscope.analyses.value.sources` for what comes back and its size),
runs the pandas models of this package and returns a :class:`funnelscope.analyses.result.Result`.
With ``save=True`` the per-customer segment column is written to the workspace table
``segments`` (see :mod:`funnelscope.analyses.value.segments`), where funnels and retention
find it as a breakdown: ``ws.funnel([...], by="rfm_segment")``.

Definitions, units and oracles: docs/value.md.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelscope.analyses.value import sources
from funnelscope.analyses.value.result import (
    AcquisitionReport,
    ChurnRiskReport,
    ClusterReport,
    CLVReport,
    RFMReport,
)
from funnelscope.analyses.value.segments import NO_PURCHASE, save_segments, with_every_user
from funnelscope.analyses.value.spec import (
    AcquisitionSpec,
    ChurnRiskSpec,
    ClusterSpec,
    CLVSpec,
    RFMSpec,
)
from funnelscope.errors import InputError, MissingTableError, SpecError

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace


def _day(value: str | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value)


def _iso(day: pd.Timestamp | None) -> str | None:
    return None if day is None else pd.Timestamp(day).date().isoformat()


def _meta(ws: Workspace, started: float, **facts: Any) -> dict[str, Any]:
    return {"engine": ws.engine, "timezone": ws.config.timezone, **facts,
            "seconds": round(time.perf_counter() - started, 4)}


def _save(ws: Workspace, frame: pd.DataFrame) -> list[str]:
    save_segments(ws, frame)
    return [c for c in frame.columns if c != "user_id"]


def _bins(value: int | tuple[float, ...]) -> int | list[float]:
    return value if isinstance(value, int) else list(value)


# ----- RFM ----------------------------------------------------------------------------------
def rfm(
    ws: Workspace,
    *,
    analysis_date: Any = None,
    recency_bins: int | Sequence[float] = 5,
    frequency_bins: int | Sequence[float] = 5,
    monetary_bins: int | Sequence[float] = 5,
    binning: str = "rfm",
    segments: pd.DataFrame | None = None,
    save: bool = False,
) -> RFMReport:
    """RFM scores and named segments of every customer with an order, as of ``analysis_date``.

    ``analysis_date``: a local calendar day (default: the day of the latest order); orders
    after it are ignored. Per customer: ``recency_days`` (days from the last order's day),
    ``frequency`` (orders), ``monetary`` (total amount); scores 1..n by the rules of
    :func:`funnelscope.analyses.value.rfm.rfm_scores`; ``rfm_segment`` from ``segments``
    (default :data:`DEFAULT_SEGMENTS`). ``save=True`` writes ``rfm_segment`` and ``rfm_score``
    to the workspace's ``segments`` table for every user of the customers and events tables
    too: those without an order on or before the analysis date get ``No purchase`` (no score).
    """
    from funnelscope.analyses.value.rfm import assign_segments, score_customers, segment_summary

    started = time.perf_counter()
    spec = RFMSpec(analysis_date=analysis_date, recency_bins=recency_bins,
                   frequency_bins=frequency_bins, monetary_bins=monetary_bins, binning=binning,
                   custom_segments=segments is not None, save=bool(save))
    day = _day(spec.analysis_date)
    per = sources.customer_orders(ws, until=day)
    day = day if day is not None else per["last_order"].max()
    table = per.rename(columns={"orders": "frequency", "revenue": "monetary"})
    scored, thresholds = score_customers(
        table, analysis_date=day, recency_bins=_bins(spec.recency_bins),
        frequency_bins=_bins(spec.frequency_bins), monetary_bins=_bins(spec.monetary_bins),
        binning=spec.binning)
    scored["segment"] = assign_segments(scored, segments)
    summary = segment_summary(scored, segments)
    customers = scored.rename(columns={"segment": "rfm_segment"}).reset_index()
    spec = RFMSpec(**{**spec.to_dict(), "analysis_date": _iso(day)})
    saved = []
    if spec.save:  # every known user gets a segment, so a breakdown covers the whole funnel
        frame = customers[["user_id", "rfm_segment", "rfm_score"]].astype({"rfm_score": "Int64"})
        saved = _save(ws, with_every_user(ws, frame, {"rfm_segment": NO_PURCHASE}))
    return RFMReport(
        spec=spec,
        tables={"customers": customers, "segments": summary, "thresholds": thresholds},
        meta=_meta(ws, started, analysis_date=_iso(day), customers=len(customers),
                   currency=per.attrs.get("currency"), saved_columns=saved))


# ----- clusters -----------------------------------------------------------------------------
def _cluster_labels(profiles: pd.DataFrame) -> dict[int, str]:
    """Cluster -> its plain-words description; descriptions shared by several clusters get
    " (cluster c)" appended so every label names one cluster."""
    desc = profiles.set_index("cluster")["description"]
    counts = desc.value_counts()
    return {int(c): (d if counts[d] == 1 else f"{d} (cluster {int(c)})") for c, d in desc.items()}


def _funnel_depth(ws: Workspace, steps: Sequence[str], window: str,
                  day: pd.Timestamp) -> pd.Series:
    from funnelscope.analyses.funnel import funnel

    result = funnel(ws, list(steps), window, end=(day + pd.Timedelta(days=1)).isoformat())
    depth: dict[str, int] = {}
    for j in range(1, len(steps) + 1):
        for uid in result.dropped_after(j):
            depth[str(uid)] = max(j, depth.get(str(uid), 0))
    return pd.Series(depth, dtype="int64")


def _cluster_features(ws: Workspace, spec: ClusterSpec) -> tuple[pd.DataFrame, pd.Timestamp,
                                                                  str]:
    """Every available feature per customer, the as-of day and the population's source."""
    has_orders, has_events = ws.has_table("orders"), ws.has_table("events")
    if not has_orders and not has_events:
        raise MissingTableError("clusters need an orders or an events table.",
                                hint="Load one with: funnelscope load FILE --table orders.")
    day = _day(spec.as_of)
    if has_orders:
        per = sources.customer_orders(ws, until=day)
        day = day if day is not None else per["last_order"].max()
        frame = pd.DataFrame(index=per.index)
        frame["recency_days"] = (day - per["last_order"]).dt.days
        frame["frequency"] = per["orders"]
        frame["monetary"] = per["revenue"]
        frame["average_order_value"] = per["revenue"] / per["orders"]
        first = per["first_order"]
        population = "customers with an order"
    else:
        act = sources.event_activity(ws, as_of=day)
        if act.empty:
            raise InputError("the events table has no events"
                             + (f" on or before {day.date()}." if day is not None else "."),
                             source="events")
        day = day if day is not None else act["last_event_day"].max()
        frame = pd.DataFrame(index=act.index)
        frame["recency_days"] = (day - act["last_event_day"]).dt.days
        first = act["first_event_day"]
        population = "users with an event"
    if ws.has_table("customers"):
        attrs = sources.customer_attributes(ws, ["first_seen", "channel"]).set_index("user_id")
        if "first_seen" in attrs.columns:
            seen = attrs["first_seen"].dt.normalize().reindex(frame.index)
            first = pd.concat([first, seen], axis=1).min(axis=1)
        if "channel" in attrs.columns:
            frame["channel"] = attrs["channel"].reindex(frame.index).fillna("(none)").astype(str)
    frame["tenure_days"] = (day - first.dt.normalize()).dt.days.clip(lower=0)
    if has_events:
        if has_orders:
            act = sources.event_activity(ws, as_of=day)
        frame["active_days"] = act["active_days"].reindex(frame.index, fill_value=0)
        frame["events"] = act["events"].reindex(frame.index, fill_value=0)
    if spec.funnel_steps:
        if not has_events:
            raise MissingTableError("funnel_steps need an events table.")
        depth = _funnel_depth(ws, spec.funnel_steps, spec.funnel_window, day)
        frame["funnel_depth"] = depth.reindex(frame.index, fill_value=0).astype("int64")
    frame.index.name = "user_id"
    return frame, day, population


def clusters(
    ws: Workspace,
    *,
    as_of: Any = None,
    k: int | None = None,
    k_min: int = 2,
    k_max: int = 8,
    features: Sequence[str] | None = None,
    funnel_steps: Sequence[str] | None = None,
    funnel_window: str = "30d",
    random_state: int = 0,
    save: bool = False,
) -> ClusterReport:
    """Behavioural customer clusters (k-means, k by silhouette) described in plain words.

    Population: customers with an order on or before ``as_of`` (default: the latest order
    day); without an orders table, users with an event. Features (see docs/value.md):
    ``recency_days``, ``frequency``, ``monetary``, ``average_order_value``, ``tenure_days``,
    ``active_days`` and ``events`` (from events up to ``as_of``), ``funnel_depth`` (with
    ``funnel_steps``) and ``channel`` (customers table). Default: all available but
    ``events``. ``save=True`` writes each customer's cluster label to ``segments.cluster``.
    """
    from funnelscope.analyses.value.clusters import customer_clusters

    started = time.perf_counter()
    spec = ClusterSpec(as_of=as_of, k=k, k_min=k_min, k_max=k_max, features=features,
                       funnel_steps=funnel_steps, funnel_window=funnel_window,
                       random_state=random_state, save=bool(save))
    frame, day, population = _cluster_features(ws, spec)
    available = list(frame.columns)
    if spec.features is None:
        chosen = [f for f in available if f != "events"]
    else:
        missing = [f for f in spec.features if f not in available]
        if missing:
            raise SpecError(f"feature(s) {', '.join(map(repr, missing))} are not available in "
                            "this workspace.", hint=f"Available: {', '.join(available)}.")
        chosen = list(spec.features)
    n = len(frame)
    k_hi = min(spec.k_max, n - 1)
    if n < 3 or (spec.k is None and k_hi < spec.k_min):
        raise InputError(f"only {n} customer(s) to cluster; clustering needs at least "
                         f"{max(3, spec.k_min + 1)}.")
    result = customer_clusters(
        frame[chosen], k=spec.k, k_range=range(spec.k_min, k_hi + 1),
        categorical=[c for c in chosen if c == "channel"], random_state=spec.random_state)
    labels = _cluster_labels(result.profiles)
    profiles = result.profiles.copy()
    profiles.insert(1, "label", profiles["cluster"].map(labels))
    assigned = result.assignments["cluster"]
    customers = frame[chosen].copy()
    customers.insert(0, "cluster", assigned.reindex(customers.index).astype("int64"))
    customers.insert(1, "cluster_label", customers["cluster"].map(labels))
    customers = customers.reset_index()
    spec = ClusterSpec(**{**spec.to_dict(), "as_of": _iso(day)})
    saved = (_save(ws, customers[["user_id", "cluster_label"]].rename(
        columns={"cluster_label": "cluster"})) if spec.save else [])
    return ClusterReport(
        spec=spec,
        tables={"profiles": profiles, "customers": customers, "silhouette": result.silhouette},
        meta=_meta(ws, started, as_of=_iso(day), population=population, customers=n,
                   k=result.k, features=chosen, saved_columns=saved))


# ----- CLV ----------------------------------------------------------------------------------
def clv(
    ws: Workspace,
    *,
    calibration_end: Any = None,
    holdout_end: Any = None,
    time_unit: str = "weeks",
    horizon: float | None = None,
    discount_rate: float = 0.10,
    discount_period: str = "years",
    profit_margin: float = 1.0,
    save: bool = False,
) -> CLVReport:
    """Predictive CLV: BG/NBD (purchases) x Gamma-Gamma (spend) fitted on the orders table.

    Orders on the same local calendar day are merged into one purchase (as in FHL 2005).
    The models are fitted on orders up to ``calibration_end`` (default: the latest order
    day) and every customer with an order by then is scored over ``horizon`` ``time_unit``
    (default one year) with ``discount_rate`` per ``discount_period``. With ``holdout_end``,
    the ``holdout`` table compares predicted and actual repeat purchases in
    (calibration_end, holdout_end]. ``save=True`` writes ``clv_tier`` (quartile tier of
    predicted CLV: "top 25%", "25-50%", "50-75%", "bottom 25%") to ``segments``.
    """
    from funnelscope.analyses.value._inputs import days_per
    from funnelscope.analyses.value.bgnbd import BetaGeoModel
    from funnelscope.analyses.value.clv import customer_lifetime_value
    from funnelscope.analyses.value.gamma_gamma import GammaGammaModel
    from funnelscope.analyses.value.holdout import holdout_comparison
    from funnelscope.analyses.value.summary import calibration_holdout_summary, customer_summary
    from funnelscope.analyses.value.tiers import quartile_tiers, tier_summary

    started = time.perf_counter()
    spec = CLVSpec(calibration_end=calibration_end, holdout_end=holdout_end,
                   time_unit=time_unit, horizon=horizon, discount_rate=discount_rate,
                   discount_period=discount_period, profit_margin=profit_margin,
                   save=bool(save))
    unit = spec.time_unit
    cal_end = _day(spec.calibration_end)
    hold_end = _day(spec.holdout_end)
    days = sources.order_days(ws, until=hold_end or cal_end)
    cal_end = cal_end or days["day"].max()
    columns = dict(customer="user_id", timestamp="day", amount="amount", currency=None)
    if hold_end is not None:
        summary = calibration_holdout_summary(days, calibration_end=cal_end,
                                              observation_end=hold_end, time_unit=unit,
                                              **columns)
    else:
        summary = customer_summary(days, observation_end=cal_end, time_unit=unit, **columns)
    s = summary.customers
    purchases = BetaGeoModel(unit).fit(s["frequency"], s["recency"], s["T"])
    spend = GammaGammaModel().fit(s["frequency"], s["monetary_value"])
    span = spec.horizon if spec.horizon is not None else days_per("years") / days_per(unit)
    value = customer_lifetime_value(
        purchases, spend, s["frequency"], s["recency"], s["T"], s["monetary_value"],
        horizon=span, time_unit=unit, discount_rate=spec.discount_rate,
        discount_period=spec.discount_period, profit_margin=spec.profit_margin)
    customers = s[["frequency", "recency", "T", "monetary_value", "first_purchase",
                   "last_purchase", "revenue"]].join(value.customers)
    customers["clv_tier"] = quartile_tiers(customers["clv"])
    customers = (customers.rename_axis("user_id").reset_index()
                 .sort_values(["clv", "user_id"], ascending=[False, True], ignore_index=True))
    parameters = pd.concat([purchases.parameters().assign(model="bgnbd"),
                            spend.parameters().assign(model="gamma_gamma")], ignore_index=True)
    parameters = parameters[["model", *[c for c in parameters.columns if c != "model"]]]
    tables = {"customers": customers,
              "tiers": tier_summary(customers["clv_tier"], customers["clv"], value_name="clv"),
              "parameters": parameters}
    if hold_end is not None:
        tables["holdout"] = holdout_comparison(purchases, summary).by_frequency
    models = {
        "bgnbd": {**purchases.params_, "log_likelihood": purchases.log_likelihood_,
                  "customers": int(purchases.n_customers_), "converged": purchases.converged_,
                  "time_unit": unit},
        "gamma_gamma": {**spend.params_, "log_likelihood": spend.log_likelihood_,
                        "repeat_customers": spend.n_customers_,
                        "spend_frequency_correlation": spend.spend_frequency_correlation_,
                        "converged": spend.converged_},
    }
    spec = CLVSpec(**{**spec.to_dict(), "calibration_end": _iso(cal_end), "horizon": span})
    saved = _save(ws, customers[["user_id", "clv_tier"]]) if spec.save else []
    return CLVReport(
        spec=spec, tables=tables, models=models,
        meta=_meta(ws, started, calibration_end=_iso(cal_end), holdout_end=_iso(hold_end),
                   horizon=span, time_unit=unit,
                   discount_rate_per_time_unit=value.discount_rate_per_time_unit,
                   customers=len(customers), currency=days.attrs.get("currency"),
                   saved_columns=saved))


# ----- acquisition --------------------------------------------------------------------------
def acquisition(
    ws: Workspace,
    *,
    start: Any = None,
    end: Any = None,
    as_of: Any = None,
    group_by: Sequence[str] | str = ("channel",),
    gross_margin: float = 1.0,
    ltv_days: int | None = None,
    max_months: int = 36,
) -> AcquisitionReport:
    """CAC, LTV:CAC, payback period and ROI per channel (and campaign) from spend, customers
    and orders.

    New customers are those acquired (earlier of ``customers.first_seen`` and the first
    order) on local days in [start, end] (default: the spend table's first and last day);
    revenue counts up to ``as_of`` (default: the later of ``end`` and the latest order day).
    ``ltv`` is gross margin x revenue per acquired customer to ``as_of``, or the N-day LTV with
    ``ltv_days=N``; ``ltv_to_cac`` = ltv / cac. Definitions: docs/value.md.
    """
    from funnelscope.analyses.value.acquisition import (
        acquisition_costs,
        campaign_roi,
        ltv_to_cac,
        new_customer_ltv,
        payback_period,
    )

    started = time.perf_counter()
    spec = AcquisitionSpec(start=start, end=end, as_of=as_of, group_by=group_by,
                           gross_margin=gross_margin, ltv_days=ltv_days, max_months=max_months)
    keys = list(spec.group_by)
    spend = sources.spend_by_day(ws, keys)
    if spend.empty:
        raise InputError("the spend table is empty.", hint="Load spend: funnelscope load FILE "
                         "--table spend.", source="spend")
    s = _day(spec.start) or spend["date"].min()
    e = _day(spec.end) or spend["date"].max()
    if e < s:
        raise SpecError(f"end {_iso(e)} is before start {_iso(s)}.")
    customers = sources.customer_attributes(ws, ["first_seen", *keys])
    missing = [k for k in keys if k not in customers.columns]
    if missing:
        raise SpecError(f"the customers table has no {', '.join(missing)} column.",
                        hint="Group by columns that spend and customers both have.")
    as_of_day = _day(spec.as_of)
    days = sources.order_days(ws, until=as_of_day)  # without as_of: every order (as_of >= last)
    as_of_day = as_of_day if as_of_day is not None else max(e, days["day"].max())
    orders = days.rename(columns={"first_order_at": "ts"})[["user_id", "ts", "amount"]]
    common = dict(customer="user_id", date="date", cost="cost", timestamp="ts", currency=None)
    costs = acquisition_costs(spend, customers, orders, start=s, end=e, group_by=keys,
                              **common).costs
    ltv = new_customer_ltv(customers, orders, start=s, end=e, as_of=as_of_day, group_by=keys,
                           gross_margin=spec.gross_margin, days=spec.ltv_days,
                           customer="user_id", timestamp="ts", currency=None)
    cac = ltv_to_cac(costs, ltv, on=keys)
    counts = costs[keys].merge(ltv[[*keys, "ltv_customers"]], on=keys, how="left")
    cac.insert(cac.columns.get_loc("ltv"), "ltv_customers",
               counts["ltv_customers"].fillna(0).astype("int64").to_numpy())
    payback = payback_period(spend, customers, orders, as_of=as_of_day, start=s, end=e,
                             gross_margin=spec.gross_margin, max_months=spec.max_months,
                             **common)
    if keys == ["channel"]:
        cac = cac.merge(payback.payback[["channel", "months_to_payback", "paid_back"]],
                        on="channel", how="left")
    roi = campaign_roi(spend, customers, orders, as_of=as_of_day, start=s, end=e,
                       group_by=keys, gross_margin=spec.gross_margin, **common).roi
    spec = AcquisitionSpec(**{**spec.to_dict(), "start": _iso(s), "end": _iso(e),
                              "as_of": _iso(as_of_day)})
    return AcquisitionReport(
        spec=spec,
        tables={"cac": cac, "payback": payback.payback, "payback_curves": payback.curves,
                "roi": roi},
        meta=_meta(ws, started, start=_iso(s), end=_iso(e), as_of=_iso(as_of_day),
                   currency=days.attrs.get("currency"), group_by=keys))


# ----- churn risk ---------------------------------------------------------------------------
def _activity_features(ws: Workspace, customers: pd.Index):
    """``as_of -> DataFrame``: events and active days in the 30 days up to ``as_of``."""
    def features(as_of: pd.Timestamp) -> pd.DataFrame:
        act = sources.event_activity(ws, as_of=as_of, days=30)
        out = pd.DataFrame(index=customers)
        out["events_last_30_days"] = act["events"].reindex(customers, fill_value=0)
        out["active_days_last_30_days"] = act["active_days"].reindex(customers, fill_value=0)
        return out.astype("float64")

    return features


def churn_risk(
    ws: Workspace,
    *,
    window_days: int | None = None,
    min_orders: int = 1,
    train_cutoff: Any = None,
    validation_cutoff: Any = None,
    score_date: Any = None,
    use_events: bool = True,
    top_reasons: int = 3,
    random_state: int = 0,
    save: bool = False,
) -> ChurnRiskReport:
    """Who is about to stop buying, and why: gradient boosting validated on a later cut-off.

    Churned = fewer than ``min_orders`` orders in the ``window_days`` days after a cut-off
    (default: 90 days, or a third of the order history when that is shorter, so that a
    train and a validation window fit; at least 7 days). Default cut-offs: validation = the latest order day - window_days, train = validation -
    window_days; customers are scored as of ``score_date`` (default: the latest order day).
    Features: order history (see :mod:`churn_features`) plus, with ``use_events`` and an
    events table, events and active days in the 30 days before each cut-off. ``save=True``
    writes ``churn_risk`` (quartile tier of churn probability, "top 25%" = most at risk) to
    ``segments``.
    """
    from funnelscope.analyses.value.churn_risk import churn_risk_from_days
    from funnelscope.analyses.value.tiers import quartile_tiers

    started = time.perf_counter()
    days = sources.order_days(ws)
    if window_days is None:
        span = (days["day"].max() - days["day"].min()).days if len(days) else 0
        window_days = max(7, min(90, span // 3))
    spec = ChurnRiskSpec(window_days=window_days, min_orders=min_orders,
                         train_cutoff=train_cutoff, validation_cutoff=validation_cutoff,
                         score_date=score_date, use_events=bool(use_events),
                         top_reasons=top_reasons, random_state=random_state, save=bool(save))
    window = pd.Timedelta(days=spec.window_days)
    data_end = days["day"].max()
    valid = _day(spec.validation_cutoff) or data_end - window
    train = _day(spec.train_cutoff) or valid - window
    first = days["day"].min()
    if train <= first:
        raise InputError(
            f"not enough order history: orders run from {_iso(first)} to {_iso(data_end)} "
            f"({(data_end - first).days} days), but training on window_days="
            f"{spec.window_days} needs a train cut-off ({_iso(train)}) after the first order "
            "day.",
            hint=f"Use a shorter window (e.g. --window-days {max(1, (data_end - first).days // 3)})"
                 " or give the cut-offs.", source="orders")
    frame = days.rename(columns={"user_id": "customer"})[["customer", "day", "amount", "orders"]]
    extra = None
    if spec.use_events and ws.has_table("events"):
        extra = _activity_features(ws, pd.Index(frame["customer"].unique(), name="customer"))
    result = churn_risk_from_days(
        frame, train_cutoff=train, validation_cutoff=valid, window_days=spec.window_days,
        min_orders=spec.min_orders, score_date=_day(spec.score_date), data_end=data_end,
        extra_features=extra, top_reasons=spec.top_reasons, random_state=spec.random_state)
    at_risk = result.at_risk.rename(columns={"customer": "user_id"})
    at_risk["user_id"] = at_risk["user_id"].astype(str)
    at_risk["churn_risk"] = quartile_tiers(at_risk["churn_probability"])
    reasons = result.reasons.rename(columns={"customer": "user_id"})
    spec = ChurnRiskSpec(**{**spec.to_dict(), "train_cutoff": _iso(train),
                            "validation_cutoff": _iso(valid),
                            "score_date": _iso(result.score_date)})
    saved = _save(ws, at_risk[["user_id", "churn_risk"]]) if spec.save else []
    metrics = {k: (float(v) if np.isfinite(v) else None) for k, v in result.metrics.items()}
    return ChurnRiskReport(
        spec=spec, metrics=metrics,
        tables={"at_risk": at_risk, "reasons": reasons, "calibration": result.calibration,
                "feature_importance": result.feature_importance},
        meta=_meta(ws, started, train_cutoff=_iso(train), validation_cutoff=_iso(valid),
                   score_date=_iso(result.score_date), data_end=_iso(data_end),
                   activity_features=extra is not None, saved_columns=saved))
