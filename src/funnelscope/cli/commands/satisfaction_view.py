"""Terminal output of ``funnelscope satisfaction``: NPS (points, with its 95% interval) and
CSAT (percent) overall, by group, by period and per survey; then, with orders, what each NPS
category did after answering and the detractor-vs-promoter test."""

from __future__ import annotations

from typing import Any


def _num(value: Any, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _nps(r: dict[str, Any]) -> str:
    if r.get("nps") is None:
        return "–"
    return f"{r['nps']:+.1f} [{r['nps_ci_low']:+.1f}, {r['nps_ci_high']:+.1f}]"


def _csat(r: dict[str, Any]) -> str:
    if r.get("csat") is None:
        return "–"
    return f"{r['csat']:.1%} [{r['csat_ci_low']:.1%}, {r['csat_ci_high']:.1%}]"


def _rows(records: list[dict[str, Any]], key: str | None) -> list[dict[str, str]]:
    out = []
    for r in records:
        row = {key: str(r[key])} if key else {}
        row.update({
            "NPS [95% CI]": _nps(r), "NPS answers": f"{r['nps_answers']:,}",
            "promoters": _num(r["promoter_share"], ".1%"),
            "passives": _num(r["passive_share"], ".1%"),
            "detractors": _num(r["detractor_share"], ".1%"),
            "CSAT [95% CI]": _csat(r), "CSAT answers": f"{r['csat_answers']:,}",
        })
        out.append(row)
    return out


def render(result, data: dict, view: dict) -> None:
    from funnelscope.cli.output import print_table

    meta, spec = data["meta"], data["spec"]
    questions = ", ".join(f"{k} = {meta[k + '_question']!r}" for k in ("nps", "csat")
                          if meta.get(k + "_question"))
    print_table(_rows(data["summary"], None),
                title=f"Satisfaction ({questions}; CSAT = {meta['csat_satisfied_min']}+ of "
                      f"{meta['csat_scale']}; NPS in points)")
    if "groups" in data:
        print_table(_rows(data["groups"], "group"), title=f"By {spec['by']}")
    if "periods" in data:
        print_table(_rows(data["periods"], "period"), title=f"By {spec['period']}")
    if len(data["surveys"]) > 1:
        print_table(_rows(data["surveys"], "survey"), title="By survey")
    if "churn" in data:
        rows = [{"category": r["category"], "users": f"{r['users']:,}",
                 "censored": f"{r['censored']:,}",
                 "ordered again": f"{r['ordered_again']:,} of {r['observed']:,}",
                 "repurchase rate": _num(r["repurchase_rate"], ".1%"),
                 "churn rate": _num(r["churn_rate"], ".1%"),
                 "revenue / user": _num(r["revenue_per_user"], ",.2f")}
                for r in data["churn"]]
        print_table(rows, title=f"After the first NPS answer (orders within {meta['horizon']}; "
                                "censored: the horizon passes the data's end)")
        t = data["churn_test"][0]
        if t["difference"] is not None:
            print(f"Detractors ordered again {t['detractor_rate']:.1%} vs promoters "
                  f"{t['promoter_rate']:.1%}: difference {t['difference'] * 100:+.1f} pts "
                  f"[{t['ci_low'] * 100:+.1f}, {t['ci_high'] * 100:+.1f}], z = {t['z']:.2f}, "
                  f"p = {t['p_value']:.3g} (pooled two-proportion test).")
    else:
        print(f"No churn link: {meta.get('churn_note')}.")
    print("Definitions: docs/metrics.md (Satisfaction).")
