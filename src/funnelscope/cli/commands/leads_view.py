"""Terminal output and CSV rows of ``funnelscope leads``: the model's holdout quality, the
leads (score, rule points, tags, reasons) and the rules with how many leads they match."""

from __future__ import annotations

from typing import Any


def _pct(v: Any) -> str:
    return "–" if v is None else f"{v:.1%}"


def csv_rows(result, data: dict[str, Any], view: dict[str, Any], name: str):
    """``leads``: lists as text (matched_rules and tags joined by ``; ``, reasons' texts
    joined by ``; ``); ``calibration`` / ``coefficients``: the model's tables."""
    if name in ("calibration", "coefficients"):
        return data["model"][name]
    if name == "leads":
        return [{**r, "matched_rules": "; ".join(r["matched_rules"]),
                 "tags": "; ".join(r["tags"]),
                 "reasons": "; ".join(x["text"] for x in r["reasons"])} for r in data["leads"]]
    return None


def render(result, data: dict, view: dict) -> None:
    from funnelscope.cli.output import print_table

    m, meta, spec = data["model"], data["meta"], data["spec"]
    ident = "user_id" if spec["entity"] == "user" else "account_id"
    print(f"Leads: {meta['leads_total']:,} {spec['entity']}s without {spec['target_event']!r} "
          f"as of {meta['data_end']}; score = P({spec['target_event']} within {spec['horizon']}).")
    if m.get("note"):
        print(m["note"])
    else:
        auc = "–" if m["auc_holdout"] is None else f"{m['auc_holdout']:.3f}"
        print(f"Model ({m['calibration_method']}-calibrated logistic regression, "
              f"{m['features']} features): holdout AUC {auc}, Brier {m['brier']:.4f}; trained "
              f"on {m['n_train']:,} snapshot rows ({m['train_conversions']:,} conversions), "
              f"holdout {m['n_holdout']:,} leads at {meta['holdout_cutoff']} "
              f"({m['holdout_conversions']:,} converted).")
    rows = [{"#": r["rank"], ident: r[ident], "score": _pct(r["score"]),
             "rule score": f"{r['rule_score']:g}", "tags": ", ".join(r["tags"]),
             "reasons": "; ".join(x["text"] for x in r["reasons"])} for r in data["leads"]]
    print_table(rows, title=f"Top {len(rows)} leads")
    if m.get("calibration"):
        print_table([{"decile": c["decile"], "leads": f"{c['leads']:,}",
                      "predicted": _pct(c["mean_predicted"]),
                      "observed": _pct(c["observed_rate"])} for c in m["calibration"]],
                    title="Calibration on the holdout (deciles of the prediction)")
    print_table([{"rule / tag": r["rule"], "kind": r["kind"], "condition": r["condition"],
                  "points": "–" if r["points"] is None else f"{r['points']:g}",
                  "leads": f"{r['leads_matched']:,}"} for r in data["rules"]],
                title="Rules and tags")
    print("Definitions: docs/metrics.md (Lead scoring).")
