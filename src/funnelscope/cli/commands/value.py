"""Terminal output of ``funnelscope rfm | clusters | clv | cac | churn-risk``.

The commands are generated from the analysis registry (:mod:`funnelscope.analyses.registry`);
``--save`` keeps the segment column (rfm_segment, cluster, clv_tier, churn_risk) in the
workspace table ``segments``. Definitions: docs/value.md.
"""

from __future__ import annotations


def _note(text: str) -> None:
    from rich.console import Console

    Console().print(text)


def _people(value):
    """A cell for people: yes/no for flags, whole numbers for large amounts."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if isinstance(value, float) and value == value and abs(value) >= 1e4:
        return int(round(value))
    return value


def _rows(frame, columns: list[str] | None = None, limit: int | None = None) -> list[dict]:
    part = frame if columns is None else frame[columns]
    part = part if limit is None else part.head(limit)
    return [{k: _people(v) for k, v in r.items()} for r in part.to_dict(orient="records")]


def render_rfm(result, data=None, view=None) -> None:
    from funnelscope.cli.output import print_table

    seg = result.segments
    seg = seg[seg["customers"] > 0]
    print_table(_rows(seg, ["segment", "customers", "customer_share", "orders", "revenue",
                            "revenue_share", "average_order_value", "suggested_action"]),
                title=f"RFM segments as of {result.meta['analysis_date']} "
                      f"({result.meta['customers']:,} customers)")


def render_clusters(result, data=None, view=None) -> None:
    from funnelscope.cli.output import print_table

    p = result.profiles
    means = [c for c in p.columns if c.startswith("mean_")]
    rows = []
    for r in p.to_dict(orient="records"):
        row = {"cluster": r["cluster"], "label": r["label"], "customers": r["customers"],
               "share": r["share"]}
        row.update({c.removeprefix("mean_"): r[c] for c in means})
        rows.append({k: _people(v) for k, v in row.items()})
    meta = result.meta
    print_table(rows, title=f"{meta['k']} clusters of {meta['customers']:,} {meta['population']}"
                            f" as of {meta['as_of']} (feature means)")


def render_clv(result, data=None, view=None) -> None:
    top = int((view or {}).get("top") or 20)
    from funnelscope.cli.output import print_table

    bg, gg = result.models["bgnbd"], result.models["gamma_gamma"]
    meta = result.meta
    _note(f"BG/NBD ({meta['time_unit']}): r={bg['r']:.4g} alpha={bg['alpha']:.4g} "
          f"a={bg['a']:.4g} b={bg['b']:.4g}  log-likelihood {bg['log_likelihood']:,.1f}  "
          f"({bg['customers']:,} customers to {meta['calibration_end']})")
    _note(f"Gamma-Gamma: p={gg['p']:.4g} q={gg['q']:.4g} gamma={gg['gamma']:.4g}  "
          f"({gg['repeat_customers']:,} repeat customers)")
    print_table(_rows(result.tables["tiers"]),
                title=f"CLV tiers over {meta['horizon']:.4g} {meta['time_unit']}")
    if "holdout" in result.tables:
        h = result.tables["holdout"]
        print_table(_rows(h, ["frequency_bucket", "customers", "actual_purchases",
                              "predicted_purchases"]),
                    title=f"Holdout to {meta['holdout_end']}: repeat purchases per customer")
    print_table(_rows(result.customers, ["user_id", "frequency", "recency", "T",
                                         "probability_alive", "expected_purchases",
                                         "expected_average_spend", "clv", "clv_tier"], top),
                title=f"Top {min(top, len(result.customers))} customers by CLV")


def render_cac(result, data=None, view=None) -> None:
    from funnelscope.cli.output import print_table

    meta = result.meta
    print_table(_rows(result.cac), title=f"Customer acquisition cost, acquired {meta['start']} to "
                                  f"{meta['end']}, revenue to {meta['as_of']}")
    print_table(_rows(result.tables["roi"]), title="Return on spend (gross margin x revenue of new "
                                            "customers - spend) / spend")


def render_churn_risk(result, data=None, view=None) -> None:
    top = int((view or {}).get("top") or 20)
    from funnelscope.cli.output import print_table

    m, meta = result.metrics, result.meta

    def pct(x):
        return "–" if x is None else f"{x:.1%}"

    auc = "–" if m.get("auc") is None else f"{m['auc']:.3f}"
    _note(f"Validated at {meta['validation_cutoff']} (trained at {meta['train_cutoff']}): "
          f"AUC {auc}, churn rate {pct(m.get('base_rate'))}, top-decile precision "
          f"{pct(m.get('precision_at_top_decile'))}")
    print_table(_rows(result.at_risk, ["rank", "user_id", "churn_probability", "top_reasons"],
                      top), title=f"Most at risk as of {meta['score_date']}")
    print_table(_rows(result.tables["feature_importance"]), title="What drives the model")
