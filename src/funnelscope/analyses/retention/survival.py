"""Kaplan–Meier survival from counts of (duration, observed), with Greenwood standard errors.

The input is already aggregated (one row per distinct duration and outcome, with a count), so
this runs in numpy on a table no longer than the number of distinct durations.

- ``survival(t) = prod over event times t_i <= t of (1 - d_i / n_i)``, with ``d_i`` churned at
  ``t_i`` and ``n_i`` at risk just before it (everyone whose duration is >= t_i; customers
  censored at t_i are still at risk at t_i);
- Greenwood: ``se(t) = survival(t) * sqrt(sum d_i / (n_i (n_i - d_i)))`` (missing once the
  curve reaches 0 because everyone at risk churned: the formula divides by zero there);
- 95 % interval on the log(-log) scale (always inside [0, 1]);
- median lifetime: the smallest t with survival(t) <= 0.5 (None when the curve stays above).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

COLUMNS = ["day", "at_risk", "churned", "censored", "survival", "survival_se", "ci_low", "ci_high"]


def kaplan_meier(durations, observed, counts=None, confidence: float = 0.95) -> pd.DataFrame:
    """Survival table at every distinct duration (churn or censoring); see the module doc.

    durations: non-negative numbers (days). observed: True = churned at that duration, False =
    still a customer (censored). counts: how many customers each row stands for (default 1).
    """
    t = np.asarray(durations, dtype=np.float64)
    e = np.asarray(observed, dtype=bool)
    w = np.ones_like(t) if counts is None else np.asarray(counts, dtype=np.float64)
    if len(t) == 0:
        return pd.DataFrame(columns=COLUMNS)
    times = np.unique(t)
    churned = np.array([w[(t == x) & e].sum() for x in times])
    censored = np.array([w[(t == x) & ~e].sum() for x in times])
    at_risk = w.sum() - np.concatenate(([0.0], np.cumsum(churned + censored)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1.0 - churned / at_risk, 1.0)
        surv = np.cumprod(factor)
        terms = np.where((at_risk > churned) & (churned > 0),
                         churned / (at_risk * (at_risk - churned)), 0.0)
        var_sum = np.cumsum(terms)
        # once everyone at risk churns (n == d) Greenwood's variance is undefined (as statsmodels)
        undefined = np.cumsum((at_risk == churned) & (churned > 0)) > 0
        se = np.where(undefined, np.nan, surv * np.sqrt(var_sum))
        z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
        log_s = np.log(surv)
        half = z * np.sqrt(var_sum) / np.abs(log_s)
        low = np.exp(-np.exp(np.log(-log_s) + half))
        high = np.exp(-np.exp(np.log(-log_s) - half))
    defined = (surv > 0) & (surv < 1) & (var_sum > 0)
    low = np.where(defined, low, np.nan)
    high = np.where(defined, high, np.nan)
    return pd.DataFrame({
        "day": times, "at_risk": at_risk.astype(np.int64), "churned": churned.astype(np.int64),
        "censored": censored.astype(np.int64), "survival": surv, "survival_se": se,
        "ci_low": low, "ci_high": high,
    })


def median_lifetime(table: pd.DataFrame) -> float | None:
    """Smallest day at which survival is <= 0.5, or None when it never falls that low."""
    hit = table[table["survival"] <= 0.5 + 1e-12]
    return None if hit.empty else float(hit["day"].iloc[0])


def survival_at(table: pd.DataFrame, day: float) -> float | None:
    """survival(day): the curve's value at the last time <= day (1 before the first churn).

    None when ``day`` is beyond the last observed duration (the curve is not known there).
    """
    if table.empty or day > float(table["day"].iloc[-1]):
        return None
    before = table[table["day"] <= day]
    return 1.0 if before.empty else float(before["survival"].iloc[-1])
