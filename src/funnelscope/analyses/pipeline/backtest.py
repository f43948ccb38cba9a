"""Backtest: replay the pipeline at past cut-offs and score both forecasts against what closed.

For each cut-off C (the start of one of the last ``periods`` calendar months or quarters that
ended by as_of, in the reporting time zone), with the period [C, E):

* the pipeline is the deals open at C (:mod:`funnelscope.analyses.pipeline.asof`), each with
  its stage, age in stage and latest amount as visible at C;
* weighted = Σ amount × stage probability (``historical`` uses only deals closed by C);
* learned = Σ amount × P(won in [C, E) | stage, age), the model trained on snapshots whose
  label windows ended by C;
* actual = the amount (each deal's final amount) of those open deals whose win time is in
  [C, E). ``actual_including_new`` adds deals created or revived after C that won in the
  period, for context; the errors are against ``actual``.

Error per cut-off: absolute percentage error |forecast − actual| ÷ actual; MAPE = their mean
over cut-offs with actual > 0. A cut-off is skipped when no deal was open at it or its
training set has fewer than ``MIN_TRAINING_ROWS`` rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from funnelscope.analyses.pipeline.forecast import _iso, _num, classic_probabilities, train
from funnelscope.analyses.pipeline.history import DealHistory
from funnelscope.analyses.pipeline.periods import label, period_of
from funnelscope.analyses.result import Result, jsonable
from funnelscope.errors import SpecError

MIN_TRAINING_ROWS = 20
HORIZONS = ("month", "quarter")


class BacktestResult(Result):
    """Per cut-off rows (``tables["cutoffs"]``) and the verdict in ``meta``."""

    @property
    def cutoffs(self) -> pd.DataFrame:
        return self.tables["cutoffs"]

    def to_records(self) -> list[dict[str, Any]]:
        return jsonable(self.tables["cutoffs"])

    def __repr__(self) -> str:
        m = self.meta
        return (f"BacktestResult ({m['horizon']}): weighted MAPE {m['weighted_mape']}, "
                f"learned MAPE {m['learned_mape']} -> {m['more_accurate']}\n"
                f"{self.cutoffs.to_string(index=False)}")


def _ape(forecast: float | None, actual: float) -> float | None:
    if forecast is None or actual <= 0 or np.isnan(forecast):
        return None
    return abs(forecast - actual) / actual


def _row(h: DealHistory, start: int, end: int, horizon: str) -> dict[str, Any] | None:
    open_rows = h.open_at(start)
    if open_rows.empty:
        return None
    model = train(h, start, 0, end - start)
    if getattr(model, "training_rows_", 0) < MIN_TRAINING_ROWS:
        return None
    ids = open_rows["deal_id"].to_numpy(dtype=object)
    stage = open_rows["current_idx"].to_numpy()
    amt_c = np.nan_to_num(open_rows["amount"].to_numpy(dtype="float64"), nan=0.0)
    probs = classic_probabilities(h, start, set(ids))
    weighted = float((probs[stage] * amt_c).sum())
    lp = model.predict_probability(stage, open_rows["age_us"].to_numpy())
    learned = float((lp * amt_c).sum())
    d = h.deals
    win = _num(d["win_us"])
    final = pd.Series(np.nan_to_num(d["amount"].to_numpy(dtype="float64"), nan=0.0),
                      index=d["deal_id"].to_numpy(dtype=object))
    won_in = pd.Series((win >= start) & (win < end), index=final.index)
    won_open = won_in.reindex(ids).to_numpy()
    actual = float(final.reindex(ids).to_numpy()[won_open].sum())
    actual_all = float(final[won_in.to_numpy()].sum())
    return {
        "cutoff": _iso(start, h.tz), "period": label(period_of(start, h.tz, horizon)),
        "period_end": _iso(end, h.tz), "open_deals": len(ids), "open_amount": float(amt_c.sum()),
        "weighted_forecast": weighted, "learned_forecast": learned,
        "learned_expected_deals": float(lp.sum()),
        "actual_won_deals": int(won_open.sum()), "actual": actual,
        "actual_including_new": actual_all,
        "weighted_error": _ape(weighted, actual), "learned_error": _ape(learned, actual),
        "training_rows": model.training_rows_,
    }


def _rows(h: DealHistory, horizon: str, periods: int) -> list[dict[str, Any]]:
    rows = []
    for start, end in reversed(h.period_starts(horizon)):
        if len(rows) == periods:
            break
        row = _row(h, start, end, horizon)
        if row is not None:
            rows.append(row)
    return rows[::-1]


def backtest(h: DealHistory, horizon: str | None = None, periods: int = 4) -> BacktestResult:
    """Score both forecasts on the last ``periods`` months or quarters (None: quarters when at
    least two can be scored, else months)."""
    if horizon is not None and horizon not in HORIZONS:
        raise SpecError(f"unknown backtest horizon {horizon!r}.", hint="Use month or quarter.")
    if periods < 1:
        raise SpecError(f"periods must be >= 1, got {periods}.")
    if horizon is None:
        rows = _rows(h, "quarter", periods)
        horizon = "quarter"
        if len(rows) < 2:
            rows, horizon = _rows(h, "month", periods), "month"
    else:
        rows = _rows(h, horizon, periods)
    table = pd.DataFrame(rows, columns=[
        "cutoff", "period", "period_end", "open_deals", "open_amount", "weighted_forecast",
        "learned_forecast", "learned_expected_deals", "actual_won_deals", "actual",
        "actual_including_new", "weighted_error", "learned_error", "training_rows"])
    w = [r["weighted_error"] for r in rows if r["weighted_error"] is not None]
    m = [r["learned_error"] for r in rows if r["learned_error"] is not None]
    w_mape = float(np.mean(w)) if w else None
    l_mape = float(np.mean(m)) if m else None
    if w_mape is None or l_mape is None:
        verdict = None
    elif abs(w_mape - l_mape) < 1e-12:
        verdict = "tie"
    else:
        verdict = "learned" if l_mape < w_mape else "weighted"
    meta = {"horizon": horizon, "cutoffs_scored": len(rows), "weighted_mape": w_mape,
            "learned_mape": l_mape, "more_accurate": verdict,
            "probability_table": h.spec.probabilities if isinstance(h.spec.probabilities, str)
            else "custom"}
    return BacktestResult(spec=h.spec, tables={"cutoffs": table}, meta=meta)
