"""Forecast of the amount won in a future period: the classic weighted pipeline and a learned one.

* **Weighted pipeline** (classic): Σ over open deals of amount × the probability of the deal's
  current stage. The probability table is ``historical`` (P(won | reached the stage) among
  closed deals), ``ramp`` ((i+1)/(w+1) for the i-th of w stages before the win stage),
  ``salesforce`` (Salesforce's default table) or the analyst's own. It does not know *when*
  deals close: every open deal counts toward the period.
* **Learned**: Σ amount × P(won within the period | current stage, age in stage), estimated
  from replayed history (:mod:`funnelscope.analyses.pipeline.learned`).

The pipeline is the deals whose status is open and that have not entered the win stage. Both
add the amount already won inside the period (up to as_of) as "Closed". Each stage maps to a
forecast category (Pipeline / Best Case / Commit / Closed / Omitted): the analyst's mapping,
else Commit from probability 0.9, Best Case from 0.5, Pipeline below. Open deals presumed
dead by the replay rule (in their stage longer than stale_factor × its p90 first stay, see
:mod:`funnelscope.analyses.pipeline.asof`) are Omitted, and Omitted deals count in neither
forecast — the same pipeline the backtest scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from funnelscope.analyses.pipeline.asof import dead_after_us
from funnelscope.analyses.pipeline.history import DealHistory
from funnelscope.analyses.pipeline.learned import StageAgeModel, label_rows
from funnelscope.analyses.pipeline.periods import US_PER_DAY, days, parse_period
from funnelscope.analyses.pipeline.spec import CATEGORIES, SALESFORCE_PROBABILITIES
from funnelscope.analyses.result import Result, jsonable
from funnelscope.errors import SpecError

COMMIT_FROM, BEST_CASE_FROM = 0.9, 0.5


def _num(s: Any) -> np.ndarray:
    return pd.array(s, dtype="Float64").to_numpy(dtype="float64", na_value=np.nan)


def reached_by(h: DealHistory, cutoff: int | None) -> np.ndarray:
    """Furthest stage index per deal (as of ``cutoff``: entries up to it; -1 = not visible)."""
    if cutoff is None:
        return h.deals["furthest_idx"].to_numpy()
    out = np.full(len(h.deals), -1)
    for i in range(h.spec.k):
        e = _num(h.deals[f"entered_{i}"])
        out = np.where(e <= cutoff, i, out)
    return out


def classic_probabilities(h: DealHistory, cutoff: int | None = None,
                          open_ids: set | None = None) -> np.ndarray:
    """Probability per stage index (stages from the win stage on: 1).

    historical: won ÷ closed among deals that reached the stage. With ``cutoff``: as the
    replay at that time saw it (won = won by then; closed = won by then or presumed dead, i.e.
    existing and not in ``open_ids``). Stages no closed deal reached get the overall rate.
    """
    spec = h.spec
    w = spec.win_index
    probs = np.ones(spec.k)
    table = spec.probabilities
    if isinstance(table, tuple):
        given = dict(table)
        probs[:w] = [given[s] for s in spec.open_stages]
        return probs
    if table == "ramp":
        probs[:w] = [(i + 1) / (w + 1) for i in range(w)]
        return probs
    if table == "salesforce":
        probs[:w] = [SALESFORCE_PROBABILITIES[s] for s in spec.open_stages]
        return probs
    d = h.deals
    furthest = reached_by(h, cutoff)
    if cutoff is None:
        closed = d["closed"].to_numpy(dtype=object)
        won, done = closed == "won", np.isin(closed, ["won", "lost"])
    else:
        win = _num(d["win_us"])
        won = win <= cutoff
        visible = d["created_us"].to_numpy() <= cutoff
        is_open = d["deal_id"].isin(open_ids or set()).to_numpy()
        done = visible & (won | ~is_open)
    overall = won[done].mean() if done.any() else 0.0
    for i in range(w):
        at = done & (furthest >= i)
        probs[i] = won[at].mean() if at.any() else overall
    return probs


def categories(h: DealHistory, probs: np.ndarray) -> list[str]:
    """Forecast category per stage index."""
    given = dict(h.spec.categories)
    out = []
    for i, s in enumerate(h.spec.stages):
        if s in given:
            out.append(given[s])
        elif i >= h.spec.win_index:
            out.append("Closed")
        else:
            p = probs[i]
            out.append("Commit" if p >= COMMIT_FROM else "Best Case" if p >= BEST_CASE_FROM
                       else "Pipeline")
    return out


def train(h: DealHistory, cutoff: int, gap_us: int, length_us: int) -> StageAgeModel:
    """Fit the learned model on grid snapshots t whose label window ends by ``cutoff``."""
    rows = [h.open_at(t) for t in h.grid if t + gap_us + length_us <= cutoff]
    model = StageAgeModel(h.spec.k, h.spec.shrinkage)
    if not rows:
        return model.fit(np.array([]), np.array([]), np.array([]))
    data = pd.concat(rows, ignore_index=True)
    y = label_rows(data, h.win_us, gap_us, length_us)
    model.snapshots_ = len(rows)
    return model.fit(data["current_idx"].to_numpy(), data["age_us"].to_numpy(), y)


class ForecastResult(Result):
    """Forecast of one period: ``tables`` stages, categories, deals; ``meta`` the totals."""

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self.meta)

    def to_dict(self) -> dict[str, Any]:
        out = jsonable(self.meta)
        out["categories"] = jsonable(self.tables["categories"])
        out["stages"] = jsonable(self.tables["stages"])
        return out

    def __repr__(self) -> str:
        m = self.meta
        return (f"ForecastResult {m['period']}: weighted {m['weighted_forecast']:,.0f}, "
                f"learned {m['learned_forecast'] if m['learned_forecast'] is not None else '–'}"
                f"\n{self.tables['stages'].to_string(index=False)}")


def _iso(us: int, tz: str) -> str:
    return pd.Timestamp(us * 1000, tz="UTC").tz_convert(tz).isoformat()


def forecast(h: DealHistory, period: Any) -> ForecastResult:
    """Forecast the won amount of ``period`` (``"2026Q1"``, ``"2026-03"``, ``"2026"``)."""
    spec, d, a = h.spec, h.deals, h.as_of_us
    name, start, end = parse_period(period, h.tz)
    if end <= a:
        raise SpecError(
            f"the period {name} ended before the data's as-of time {_iso(a, h.tz)}.",
            hint="Forecast a later period, or use backtest() to score past periods.",
        )
    win = _num(d["win_us"])
    amount = np.nan_to_num(d["amount"].to_numpy(dtype="float64"), nan=0.0)
    in_period_won = (win >= start) & (win < end) & (win <= a)
    closed_won = float(amount[in_period_won].sum())
    pipe = (d["closed"].to_numpy(dtype=object) == "open") & np.isnan(win)
    p_open = d[pipe]
    stage = p_open["current_idx"].to_numpy()
    amt = amount[pipe]
    age = a - p_open["last_us"].to_numpy()
    probs = classic_probabilities(h)
    cats = categories(h, probs)
    limit = dead_after_us(h.stays, a, spec.stale_factor)
    dead = age > limit[stage] if len(stage) else np.zeros(0, dtype=bool)
    deal_cat = np.where(dead, "Omitted", np.array(cats, dtype=object)[stage]).astype(object)
    counted = deal_cat != "Omitted"
    gap = max(0, start - a)
    length = end - max(start, a)
    model = train(h, a, gap, length)
    learned_p = model.predict_probability(stage, age) if model.usable else np.full(len(stage), np.nan)
    learned_p = np.where(counted, learned_p, 0.0)
    weighted = np.where(counted, probs[stage] * amt, 0.0) if len(stage) else np.array([])
    learned_amt = learned_p * amt
    deals = pd.DataFrame({
        "deal_id": p_open["deal_id"].to_numpy(dtype=object),
        "stage": np.array(spec.stages, dtype=object)[stage],
        "days_in_stage": days(age),
        "amount": amt,
        "presumed_dead": dead,
        "probability": probs[stage] if len(stage) else np.array([]),
        "category": deal_cat,
        "weighted_amount": weighted,
        "learned_probability": learned_p,
        "learned_amount": learned_amt,
    })
    stage_rows = []
    for i, s in enumerate(spec.open_stages):
        at = stage == i
        stage_rows.append({
            "stage": s, "open_deals": int(at.sum()), "amount": float(amt[at].sum()),
            "presumed_dead": int((at & dead).sum()),
            "probability": float(probs[i]), "category": cats[i],
            "weighted_amount": float(weighted[at].sum()),
            "learned_probability": float(learned_p[at].mean()) if at.any() else None,
            "learned_amount": float(learned_amt[at].sum()) if model.usable else None,
        })
    cat_rows = []
    for c in CATEGORIES:
        at = deal_cat == c
        row = {"category": c, "deals": int(at.sum()), "amount": float(amt[at].sum()),
               "weighted_amount": float(weighted[at].sum()),
               "learned_amount": float(learned_amt[at].sum()) if model.usable else None}
        if c == "Closed":
            row = {"category": c, "deals": int(in_period_won.sum()) + row["deals"],
                   "amount": closed_won + row["amount"],
                   "weighted_amount": closed_won + row["weighted_amount"],
                   "learned_amount": (closed_won + row["learned_amount"]) if model.usable else None}
        cat_rows.append(row)
    cat_df = pd.DataFrame(cat_rows)
    by_cat = dict(zip(cat_df["category"], cat_df["amount"], strict=True))
    learned_total = float(learned_amt.sum()) if model.usable else None
    meta = {
        "period": name, "start": _iso(start, h.tz), "end": _iso(end, h.tz),
        "as_of": _iso(a, h.tz), "timezone": h.tz,
        "probability_table": spec.probabilities if isinstance(spec.probabilities, str) else "custom",
        "closed_won_amount": closed_won, "closed_won_deals": int(in_period_won.sum()),
        "open_deals": int(pipe.sum()), "open_amount": float(amt.sum()),
        "presumed_dead_deals": int(dead.sum()), "presumed_dead_amount": float(amt[dead].sum()),
        "weighted_pipeline": float(weighted.sum()),
        "weighted_forecast": closed_won + float(weighted.sum()),
        "learned_pipeline": learned_total,
        "learned_forecast": None if learned_total is None else closed_won + learned_total,
        "learned_expected_deals": float(learned_p.sum()) if model.usable else None,
        "commit": by_cat["Closed"] + by_cat["Commit"],
        "best_case": by_cat["Closed"] + by_cat["Commit"] + by_cat["Best Case"],
        "pipeline": by_cat["Closed"] + by_cat["Commit"] + by_cat["Best Case"] + by_cat["Pipeline"],
        "model_training_rows": getattr(model, "training_rows_", 0),
        "model_training_wins": getattr(model, "training_wins_", 0),
        "model_snapshots": getattr(model, "snapshots_", 0),
        "gap_days": gap / US_PER_DAY, "window_days": length / US_PER_DAY,
    }
    tables = {"stages": pd.DataFrame(stage_rows), "categories": cat_df, "deals": deals}
    if model.usable:
        tables["model"] = model.cells(spec.stages[: spec.win_index])
    return ForecastResult(spec=spec, tables=tables, meta=meta)
