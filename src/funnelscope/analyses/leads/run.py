"""Run lead scoring on a DuckDB workspace (docs/metrics.md, "Lead scoring").

1. The cut-offs: the data's end E (the last event), the holdout cut-off H = E − horizon (its
   labels are fully observed) and ``snapshots`` training cut-offs H − horizon, H − 2·horizon,
   ... (those after the first event). A training row's label window ends at or before H, so
   nothing the model learns from happens after the holdout cut-off.
2. One DuckDB query gives the feature table of every cut-off (features.py; on PySpark the
   same table as Ibis relations, portable.py): one row per eligible entity and cut-off; the
   events never reach Python.
3. The model (model.py) is fitted on the training rows, judged on the holdout rows (AUC,
   Brier score, calibration deciles), then scores the leads as of E; the rules
   (funnelscope.yml) and behaviour tags are evaluated as of E.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from funnelscope.analyses.leads import features as F
from funnelscope.analyses.leads import model as M
from funnelscope.analyses.leads.result import (
    CALIBRATION_COLUMNS,
    COEFFICIENT_COLUMNS,
    DISTRIBUTION_COLUMNS,
    RULE_COLUMNS,
    LeadsResult,
)
from funnelscope.analyses.leads.spec import (
    CART_DAYS,
    CART_EVENT,
    DORMANT_DAYS,
    RETURNING_DAYS,
    LeadsSpec,
)
from funnelscope.errors import ConfigError, SpecError

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

#: Leads' score histogram: bins of this width from 0 to 1.
BIN_WIDTH = 0.05
REASONS = 3
#: DuckDB runs the SQL text of :mod:`.features` (True) or the Ibis relations of
#: :mod:`.portable` like Spark (False: the cross-engine tests check they agree).
SQL_ON_DUCKDB = True
TAGS = (("cart_abandoner", f"{CART_EVENT} in the last {CART_DAYS} days, no target yet"),
        ("returning", f"active on at least {RETURNING_DAYS} days"),
        ("dormant", f"no event for at least {DORMANT_DAYS} days"))


def resolve(definitions: Any, target: Any, steps: Any, rules: Any) -> tuple[Any, Any]:
    """(steps, rules) with funnelscope.yml's defaults: the steps of its first funnel that
    contains the target event, and its ``leads: rules``; explicit values win."""
    if steps is None and definitions is not None and isinstance(target, str):
        for f in getattr(definitions, "funnels", {}).values():
            names = f.step_names
            if target in names:
                steps = [s for s in names if s != target]
                break
    if rules is None and definitions is not None:
        rules = list(getattr(definitions, "leads", {}).get("rules", ()))
    return steps, rules


def prepare(values: dict[str, Any], definitions: Any, ws_config: Any = None) -> dict[str, Any]:
    """Registry hook: fill steps and rules from funnelscope.yml (see :func:`resolve`)."""
    steps, rules = resolve(definitions, values.get("target_event"), values.get("steps"), None)
    out = dict(values)
    if steps is not None:
        out["steps"] = steps
    out["rules"] = rules or []
    return out


def leads(
    ws: Workspace,
    target_event: str | None = None,
    horizon: str = "14d",
    top: int = 50,
    entity: str = "user",
    steps: list[str] | str | None = None,
    top_events: int = 10,
    top_values: int = 5,
    snapshots: int = 4,
    calibration: str = "sigmoid",
    rules: list[dict] | None = None,
) -> LeadsResult:
    """Lead scoring: the entities that have not done ``target_event`` yet, ranked by the
    calibrated probability that they do it within ``horizon``, with reasons, rule points and
    tags.

    A lead is a user (``entity="account"``: an events.account_id) with events but no target
    event. Features (as of a cut-off; features.py): days since the last and first event,
    active days, sessions (30-minute gap), funnel depth over ``steps`` (default: the first
    funnelscope.yml funnel containing the target), counts of the ``top_events`` most frequent
    events in the last 7 and 30 days, and one-hot customers attributes (``top_values`` per
    column). Model: standardised logistic regression calibrated by ``calibration``
    (sigmoid | isotonic), trained on ``snapshots`` cut-offs before a time holdout at (data
    end − horizon); the holdout's AUC, Brier score and calibration deciles judge it. rules:
    lead rules (default: funnelscope.yml ``leads: rules``); their points are reported beside
    the probability. top: leads listed. Runs on DuckDB (SQL) and PySpark (Ibis, portable.py):
    the feature table is computed in the engine, the model in Python.

    >>> ws.leads(target_event="pay", horizon="14d", top=20)
    """
    started = time.perf_counter()
    if target_event is None:
        raise SpecError("target_event is required: the event that turns a lead into a customer.",
                        hint="e.g. --target-event pay (funnelscope events lists the events).")
    if isinstance(steps, str):
        from funnelscope.analyses.event_names import split_names

        steps = split_names(steps)
    steps, rules = resolve(getattr(ws, "definitions", None), target_event, steps, rules)
    spec = LeadsSpec(target_event=target_event, horizon=horizon, entity=entity, top=top,
                     steps=tuple(steps or ()), top_events=top_events, top_values=top_values,
                     snapshots=snapshots, calibration=calibration, rules=tuple(rules or ()))
    sql = ws.engine == "duckdb" and SQL_ON_DUCKDB
    from funnelscope.analyses.event_names import check_event_names, event_name_counts

    if sql:
        from funnelscope.analyses.funnel.duckdb_feed import Source

        source = Source.of(ws)
        event_columns = list(source.types)
    else:
        from funnelscope.analyses.leads import portable as P

        P.check_engine(ws)
        event_columns = ws.columns("events")
    if spec.entity == "account" and "account_id" not in event_columns:
        raise SpecError("entity='account' needs an account_id column in the events table.",
                        hint="Load events with --map account_id=<your column>.")
    known = event_name_counts(ws)
    for option, names in spec.event_names().items():
        check_event_names(ws, names, option, known=known)
    _check_rule_columns(ws, spec)
    tz = ws.config.timezone
    if sql:
        con = ws.duckdb
        ent = F.ident(spec.entity_column)
        lo, end = con.execute(
            f"SELECT epoch_us(min({F.ident('ts')})), epoch_us(max({F.ident('ts')})) "  # noqa: S608
            f"FROM ({source.sql}) AS fs_src WHERE {ent} IS NOT NULL AND "
            f"{F.ident('event')} IS NOT NULL").fetchone()
    else:
        lo, end = P.bounds(ws, spec)
    h = spec.horizon_us
    holdout = end - h
    training = [holdout - j * h for j in range(1, spec.snapshots + 1) if holdout - j * h >= lo]
    if not training:
        raise SpecError(
            f"the data are too short for a {spec.horizon} horizon: lead scoring needs at least "
            f"two horizons of history (a training cut-off and the holdout).",
            hint="Use a shorter --horizon, e.g. 7d.")
    cutoffs = [(0, end), (1, holdout)] + [(k, c) for k, c in enumerate(training, start=2)]
    if sql:
        plan = F.plan(ws, spec, known)
        attrs = F.attributes_sql(plan.columns, spec.entity_column) if plan.columns else None
        frame = con.execute(F.features_sql(spec, plan, source.sql, attrs, tz, cutoffs)).df()
    else:
        plan = P.plan(ws, spec, known)
        frame = P.feature_frame(ws, spec, plan, cutoffs)
    names = plan.names
    x_all = frame[[f"f_{i}" for i in range(len(names))]].to_numpy(dtype="float64")
    y_all = frame["y"].to_numpy(dtype="int64")
    k = frame["k"].to_numpy()
    ids = frame["u"].astype(str).to_numpy()
    train, hold, now = k >= 2, k == 1, k == 0
    positives, n_train = int(y_all[train].sum()), int(train.sum())
    x_now, ids_now = x_all[now], ids[now]
    y_hold = y_all[hold]
    note = None
    if positives < M.MIN_CLASS_ROWS or n_train - positives < M.MIN_CLASS_ROWS:
        note = (f"no model: {positives} of {n_train} training leads did {spec.target_event!r} "
                f"within {spec.horizon} of a training cut-off; at least {M.MIN_CLASS_ROWS} "
                f"conversions and {M.MIN_CLASS_ROWS} non-conversions are needed. Leads are "
                "ranked by rule score, then by recency. Try more --snapshots, a longer "
                "history, a shorter --horizon or another --target-event.")
        model = None
        p_hold = np.zeros(0)
        p_now = None
        contrib = None
    else:
        model = M.fit(x_all[train], y_all[train], spec.calibration)
        p_hold = model.predict_proba(x_all[hold])[:, 1] if hold.any() else np.zeros(0)
        p_now = model.predict_proba(x_now)[:, 1] if now.any() else np.zeros(0)
        contrib = M.contributions(model, x_now) if now.any() else np.zeros((0, len(names)))
    rule_hits = _rule_hits(spec, frame[now])
    tags_now = _tags(frame[now], names)
    points = np.zeros(len(ids_now))
    for r, hit in zip(spec.rules, rule_hits, strict=True):
        points += np.where(hit, r.points, 0.0)
    if p_now is not None:
        order = np.lexsort((ids_now, -p_now))
    else:
        order = np.lexsort((ids_now, x_now[:, names.index("days_since_last")], -points))
    rows = []
    for rank, i in enumerate(order[:spec.top], start=1):
        reasons = []
        if contrib is not None:
            for j in sorted(range(len(names)), key=lambda j: (-contrib[i, j], j))[:REASONS]:
                reasons.append({"feature": names[j], "value": float(x_now[i, j]),
                                "contribution": float(contrib[i, j]),
                                "text": F.reason_text(names[j], float(x_now[i, j]), plan.steps)})
        hits = [r.name for r, hit in zip(spec.rules, rule_hits, strict=True) if hit[i]]
        rows.append({
            "rank": rank, spec.entity_column: ids_now[i],
            "score": float(p_now[i]) if p_now is not None else None,
            "rule_score": float(points[i]), "matched_rules": hits,
            "tags": hits + [t for t, _ in TAGS if tags_now[t][i]], "reasons": reasons,
        })
    lead_columns = ["rank", spec.entity_column, "score", "rule_score", "matched_rules", "tags",
                    "reasons"]
    rule_rows = [{"rule": r.name, "kind": r.kind, "condition": r.explain(), "points": r.points,
                  "leads_matched": int(hit.sum()), "description": r.description}
                 for r, hit in zip(spec.rules, rule_hits, strict=True)]
    rule_rows += [{"rule": t, "kind": "tag", "condition": text, "points": None,
                   "leads_matched": int(tags_now[t].sum()), "description": None}
                  for t, text in TAGS]
    tables = {
        "leads": pd.DataFrame(rows, columns=lead_columns),
        "calibration": pd.DataFrame(M.calibration_table(y_hold, p_hold, ids[hold])
                                    if model else [],
                                    columns=CALIBRATION_COLUMNS),
        "coefficients": pd.DataFrame(M.coefficient_table(model, names) if model else [],
                                     columns=COEFFICIENT_COLUMNS),
        "rules": pd.DataFrame(rule_rows, columns=RULE_COLUMNS),
        "distribution": pd.DataFrame(_histogram(p_now) if p_now is not None else [],
                                     columns=DISTRIBUTION_COLUMNS),
    }

    def iso(us: int) -> str:
        from zoneinfo import ZoneInfo

        return datetime.fromtimestamp(us / 1e6, UTC).astimezone(ZoneInfo(tz)).isoformat()

    model_facts = {
        "auc_holdout": M.auc(y_hold, p_hold) if model else None,
        "brier": M.brier(y_hold, p_hold) if model else None,
        "n_train": n_train, "train_conversions": positives, "n_holdout": int(hold.sum()),
        "holdout_conversions": int(y_hold.sum()),
        "holdout_conversion_rate": float(y_hold.mean()) if len(y_hold) else None,
        "intercept": M.linear_part(model)[3] if model else None,
        "calibration_method": spec.calibration, "features": len(names), "note": note,
    }
    meta = {
        "entity": spec.entity, "data_end": iso(end), "holdout_cutoff": iso(holdout),
        "training_cutoffs": [iso(c) for c in training], "leads_total": int(now.sum()),
        "target_event": spec.target_event, "counted_events": list(plan.events),
        "steps": list(plan.steps), "timezone": tz, "engine": ws.engine,
        "elapsed_s": round(time.perf_counter() - started, 4),
    }
    return LeadsResult(spec=spec, tables=tables, meta=meta, model=model_facts)


def _check_rule_columns(ws: Workspace, spec: LeadsSpec) -> None:
    from funnelscope.analyses.registry import suggest

    wanted = [r for r in spec.rules if r.kind == "column"]
    if not wanted:
        return
    if not ws.has_table("customers"):
        raise ConfigError(f"leads rule {wanted[0].name!r} tests customers.{wanted[0].column}, "
                          "but the workspace has no customers table.",
                          hint="Load one: funnelscope load FILE --table customers --workspace W")
    cols = [c for c in ws.columns("customers") if c not in ("_key", "_load")]
    if spec.entity_column not in cols:
        raise ConfigError(f"leads rule {wanted[0].name!r}: the customers table has no "
                          f"{spec.entity_column} column to match {spec.entity}s by.")
    for r in wanted:
        if r.column not in cols:
            raise ConfigError(f"leads rule {r.name!r}: the customers table has no column "
                              f"{r.column!r}.{suggest(r.column, cols)}",
                              hint=f"Columns: {', '.join(cols)}.")


def _rule_hits(spec: LeadsSpec, now: pd.DataFrame) -> list[np.ndarray]:
    """Per rule, whether it holds for each current lead (as of the data's end)."""
    out, e, c = [], 0, 0
    for r in spec.rules:
        if r.kind == "event":
            out.append(now[f"r_{e}"].to_numpy(dtype="int64") >= r.at_least)
            e += 1
        else:
            out.append(now[f"a_{c}"].to_numpy(dtype=bool))
            c += 1
    return out


def _tags(now: pd.DataFrame, names: list[str]) -> dict[str, np.ndarray]:
    def feature(name: str) -> np.ndarray:
        return now[f"f_{names.index(name)}"].to_numpy(dtype="float64")

    return {"cart_abandoner": now["cart_recent"].to_numpy(dtype="int64") > 0,
            "returning": feature("active_days") >= RETURNING_DAYS,
            "dormant": feature("days_since_last") >= DORMANT_DAYS}


def _histogram(p: np.ndarray) -> list[dict]:
    """Leads per score bin [a, a + 0.05) (the last bin includes 1)."""
    bins = int(round(1 / BIN_WIDTH))
    idx = np.minimum((p / BIN_WIDTH).astype("int64"), bins - 1) if len(p) else np.zeros(0, int)
    counts = np.bincount(idx, minlength=bins)
    return [{"score_from": round(i * BIN_WIDTH, 10), "score_to": round((i + 1) * BIN_WIDTH, 10),
             "leads": int(counts[i])} for i in range(bins)]
