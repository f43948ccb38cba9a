"""The B2B growth chain from deals and orders: leads to paid, renewals, net revenue retention.

Semantics (docs/metrics.md, "B2B chain").

Deals (one row per stage entry): each chain step (lead, valid_lead, contacted, opportunity,
paid, renewal) is a deal stage, given or found by name in the workspace's ordered stage list.
A deal *reached* a stage when it has an entry at that stage or at any later stage of the list
(a deal that skipped a stage still passed it). Counts are distinct deals; rates are from the
previous step present and, for ``paid_conversion``, from leads. A deal's ``by`` value is the
smallest among its rows (rows of one deal normally agree); its amount is the largest among its
rows.

Orders (per customer = ``orders.user_id``; load account ids there for account-level figures):
revenue per customer and calendar period (month / quarter / year in the reporting time zone).
For each pair of consecutive periods whose later period is complete in the orders data:

- net revenue retention (NRR) = revenue in p from customers who paid in p - 1 / their revenue
  in p - 1 (expansion counts, new customers do not);
- gross revenue retention (GRR) = sum of min(revenue in p, revenue in p - 1) over them / their
  revenue in p - 1;
- logo retention = those customers still paying in p / customers paying in p - 1.

The headline figures are ratios of sums over every complete pair.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd

from funnelscope.analyses.retention import definitions as D
from funnelscope.analyses.retention import periods as P
from funnelscope.analyses.retention.result import MetricsResult
from funnelscope.analyses.retention.spec import B2B_STEPS, B2BSpec, b2b_spec
from funnelscope.engine.timezones import local_time
from funnelscope.errors import MissingTableError, SpecError

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

RATE_NAMES = {"valid_lead": "valid_lead_rate", "contacted": "contact_rate",
              "opportunity": "opportunity_rate", "paid": "win_rate", "renewal": "renewal_rate"}
COUNT_NAMES = {"lead": "leads", "valid_lead": "valid_leads", "contacted": "contacted",
               "opportunity": "opportunities", "paid": "paid", "renewal": "renewals"}
MONTHS = {"month": 1, "quarter": 3, "year": 12}


def b2b_chain(
    ws: Workspace,
    stages: dict[str, str] | None = None,
    by: str | None = None,
    revenue_period: str = "month",
) -> MetricsResult:
    """Leads, valid leads, contact rate, opportunities, paid conversion, renewals, NRR.

    stages: chain step -> stage name, e.g. ``{"valid_lead": "mql", "paid": "won"}`` (others
    are found by name). by: a deals column (team, owner, product). revenue_period: month |
    quarter | year for revenue retention from orders. Tables: metrics, chain, and
    revenue_retention (with orders).

    >>> ws.b2b_chain(by="team").tables["chain"]
    """
    return run(ws, b2b_spec(stages, by, revenue_period))


def resolve_stages(spec: B2BSpec, stage_list: list[str]) -> dict[str, str]:
    """Chain step -> stage, from the spec and then by name; validated against the stage list."""
    given = dict(spec.stages)
    lower = {s.lower(): s for s in stage_list}
    out = {}
    for step, names in B2B_STEPS.items():
        if step in given:
            if given[step] not in stage_list:
                raise SpecError(f"stage {given[step]!r} (for {step}) is not a deal stage.",
                                hint=f"The workspace's stages are: {', '.join(stage_list)}.")
            out[step] = given[step]
            continue
        hit = next((lower[n] for n in names if n in lower), None)
        if hit is not None and hit not in out.values():
            out[step] = hit
    return out


def _chain(ws: Workspace, spec: B2BSpec, steps: dict[str, str]) -> pd.DataFrame:
    """Per group: deals reaching each step, won amount (one query)."""
    d = ws.deals
    if spec.by is not None and spec.by not in d.columns:
        raise SpecError(f"by: the deals table has no column {spec.by!r}.",
                        hint=f"Columns: {', '.join(c for c in d.columns if c != 'deal_id')}.")
    order = list(ws.config.deal_stages)
    index = ibis.cases(*[(d.stage == s, i) for i, s in enumerate(order)], else_=-1)
    d = d.mutate(_index=index,
                 _group=d[spec.by].cast("string") if spec.by else ibis.literal(None, "string"))
    per = d.group_by("deal_id").aggregate(
        top=d._index.max(), group=d._group.min(), amount=d.amount.max(),
    )
    agg: dict[str, Any] = {"deals": per.count()}
    for step, stage in steps.items():
        reached = per.top >= order.index(stage)
        agg[step] = reached.cast("int64").sum()
        if step == "paid":
            agg["paid_amount"] = per.amount.sum(where=reached)
    return per.group_by("group").aggregate(**agg).order_by("group").to_pandas()


def _revenue_retention(ws: Workspace, spec: B2BSpec) -> pd.DataFrame:
    """One row per complete period p with a previous period: base customers and revenue."""
    o = ws.orders
    lt = local_time(ws, o.ts)
    month = lt.year() * 12 + lt.month() - 1
    step = MONTHS[spec.revenue_period]
    o = o.select(user_id=o.user_id, p=month // step if step > 1 else month, amount=o.amount,
                 day=lt.date().epoch_days())
    bounds = o.aggregate(first=o.day.min(), last=o.day.max()).to_pandas().iloc[0]
    if pd.isna(bounds["first"]):
        return pd.DataFrame()
    first, last = int(bounds["first"]), int(bounds["last"])
    rev = o.group_by(["user_id", "p"]).aggregate(revenue=o.amount.sum())
    nxt = rev.view()
    j = rev.left_join(nxt, [rev.user_id == nxt.user_id, nxt.p == rev.p + 1]).select(
        p=rev.p + 1, before=rev.revenue, after=nxt.revenue.fill_null(0),
    )
    df = j.group_by("p").aggregate(
        base_customers=j.count(), retained_customers=(j.after > 0).cast("int64").sum(),
        base_revenue=j.before.sum(), retained_revenue=j.after.sum(),
        gross_retained_revenue=ibis.least(j.after, j.before).sum(),
    ).order_by("p").to_pandas()
    rows = []
    for r in df.to_dict(orient="records"):
        p = int(r["p"])
        m0, m1 = p * step, p * step + step - 1  # month numbers of the period
        last_day = P.last_day(m1, "month")
        prev_first = P.first_day(m0 - step, "month")
        if prev_first < first or last_day > last:
            continue  # the period or the one before is not fully inside the orders data
        base = float(r["base_revenue"] or 0)
        rows.append({
            "period": _period_label(p, spec.revenue_period),
            "base_customers": int(r["base_customers"]),
            "retained_customers": int(r["retained_customers"]),
            "base_revenue": base, "retained_revenue": float(r["retained_revenue"] or 0),
            "gross_retained_revenue": float(r["gross_retained_revenue"] or 0),
            "nrr": D.ratio(float(r["retained_revenue"] or 0), base),
            "grr": D.ratio(float(r["gross_retained_revenue"] or 0), base),
            "logo_retention": D.ratio(int(r["retained_customers"]), int(r["base_customers"])),
        })
    return pd.DataFrame(rows, columns=[
        "period", "base_customers", "retained_customers", "base_revenue", "retained_revenue",
        "gross_retained_revenue", "nrr", "grr", "logo_retention"])


def _period_label(p: int, period: str) -> str:
    if period == "month":
        return P.label(p, "month")[:7]
    if period == "quarter":
        return f"{p // 4}-Q{p % 4 + 1}"
    return str(p)


def run(ws: Workspace, spec: B2BSpec) -> MetricsResult:
    """Evaluate ``spec`` on ``ws`` (see the module docstring)."""
    t0 = time.perf_counter()
    has_deals, has_orders = ws.has_table("deals"), ws.has_table("orders")
    if not has_deals and not has_orders:
        raise MissingTableError(
            "the B2B chain needs a deals table (stages) or an orders table (revenue retention).",
            hint="Load one: funnelscope load deals.csv --table deals --workspace W.")
    metrics: list[D.Metric] = []
    tables: dict[str, pd.DataFrame] = {}
    meta: dict[str, Any] = {"engine": ws.engine, "timezone": ws.config.timezone}
    if has_deals:
        steps = resolve_stages(spec, list(ws.config.deal_stages))
        meta["stages"] = steps
        if steps:
            chain = _chain(ws, spec, steps)
            tables["chain"] = _chain_table(chain, steps, spec.by is not None)
            totals = {c: chain[c].sum() for c in chain.columns if c != "group"}
            metrics += _deal_metrics(totals, steps)
    if has_orders:
        rr = _revenue_retention(ws, spec)
        tables["revenue_retention"] = rr
        metrics += _revenue_metrics(rr, spec)
    out = {"metrics": D.table(metrics), **tables}
    meta["elapsed_s"] = round(time.perf_counter() - t0, 4)
    return MetricsResult(spec=spec, tables=out, meta=meta)


def _chain_table(chain: pd.DataFrame, steps: dict[str, str], by: bool) -> pd.DataFrame:
    rows = []
    for r in chain.to_dict(orient="records"):
        prev, first = None, None
        for step, stage in steps.items():
            n = int(r[step] or 0)
            row = ({"group": r["group"]} if by else {}) | {
                "step": step, "stage": stage, "deals": n,
                "rate_from_previous": D.ratio(n, prev) if prev is not None else None,
                "rate_from_first": D.ratio(n, first) if first is not None else None,
            }
            rows.append(row)
            prev = n
            first = n if first is None else first
    return pd.DataFrame(rows)


def _deal_metrics(t: dict, steps: dict[str, str]) -> list[D.Metric]:
    out, prev = [], None
    for step, stage in steps.items():
        n = int(t[step] or 0)
        out.append(D.Metric("deals", COUNT_NAMES[step], n, "deals",
                            "count distinct deal_id", f"reached stage {stage!r} or a later stage"))
        if prev is not None and step in RATE_NAMES:
            pstep, pn = prev
            out.append(D.share("deals", RATE_NAMES[step], n, pn,
                               f"deals that reached {steps[pstep]!r}",
                               f"also reached {stage!r} or later"))
        prev = (step, n)
    if "lead" in steps and "paid" in steps:
        out.append(D.share("deals", "paid_conversion", int(t["paid"] or 0), int(t["lead"] or 0),
                           f"deals that reached {steps['lead']!r}",
                           f"also reached {steps['paid']!r} or later"))
    if "paid" in steps:
        amount = float(t.get("paid_amount") or 0)
        out.append(D.Metric("deals", "paid_amount", amount, "paid deals", "sum",
                            "largest deals.amount of each paid deal"))
        out.append(D.share("deals", "avg_paid_deal", amount, int(t["paid"] or 0), "paid deals",
                           "paid amount / paid deals", aggregation="ratio of sums"))
    return out


def _revenue_metrics(rr: pd.DataFrame, spec: B2BSpec) -> list[D.Metric]:
    dim = (f"customers (orders.user_id) who paid in a {spec.revenue_period}, over every complete "
           f"pair of consecutive {spec.revenue_period}s")
    s = {c: (rr[c].sum() if len(rr) else 0) for c in
         ("base_customers", "retained_customers", "base_revenue", "retained_revenue",
          "gross_retained_revenue")}
    return [
        D.share("revenue", "net_revenue_retention", float(s["retained_revenue"]),
                float(s["base_revenue"]), dim,
                f"their revenue in the next {spec.revenue_period} / their revenue",
                aggregation="ratio of sums"),
        D.share("revenue", "gross_revenue_retention", float(s["gross_retained_revenue"]),
                float(s["base_revenue"]), dim,
                f"sum of min(next {spec.revenue_period}'s revenue, revenue) / revenue",
                aggregation="ratio of sums"),
        D.share("revenue", "logo_retention", int(s["retained_customers"]),
                int(s["base_customers"]), dim,
                f"still paying in the next {spec.revenue_period}"),
    ]
