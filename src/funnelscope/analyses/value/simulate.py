"""Simulate customers from known BG/NBD and Gamma-Gamma parameters (data with a known truth).

Used by the tests (parameter recovery) and handy for demos. Time is in the model's unit.

BG/NBD generative story per customer: lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b); starting
alive at the first purchase (time 0), repeat purchases arrive as a Poisson(lambda) process;
after each repeat purchase the customer drops out with probability p. Gamma-Gamma: nu ~
Gamma(q, rate gamma); each transaction value ~ Gamma(p, rate nu).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _repeat_purchase_times(rng: np.random.Generator, lam: np.ndarray, drop: np.ndarray,
                           end: np.ndarray) -> list[np.ndarray]:
    """Repeat purchase times in (0, end_i] per customer (ragged list of sorted arrays)."""
    n = len(lam)
    times: list[list[float]] = [[] for _ in range(n)]
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1.0 / lam[idx])
        bought = idx[now[idx] <= end[idx]]
        for i, t in zip(bought, now[bought], strict=True):
            times[i].append(float(t))
        active[idx[now[idx] > end[idx]]] = False
        dies = bought[rng.random(len(bought)) < drop[bought]]
        active[dies] = False
    return [np.asarray(t) for t in times]


def simulate_bgnbd(n_customers: int, *, r: float, alpha: float, a: float, b: float,
                   T: Any, holdout: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Simulate BG/NBD summaries: frequency, recency, T and (if ``holdout`` > 0) holdout purchases.

    ``T`` (scalar or one per customer) is each customer's calibration length; ``holdout`` the
    length of the period after it. Extra columns give the truth: ``purchase_rate`` (lambda) and
    ``dropout_probability`` (p).
    """
    rng = np.random.default_rng(seed)
    big_t = np.broadcast_to(np.asarray(T, dtype=float), (n_customers,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    lam = np.maximum(lam, 1e-300)
    drop = rng.beta(a, b, n_customers)
    times = _repeat_purchase_times(rng, lam, drop, big_t + holdout)
    freq = np.array([np.sum(t <= T_i) for t, T_i in zip(times, big_t, strict=True)])
    rec = np.array([t[t <= T_i].max() if np.any(t <= T_i) else 0.0
                    for t, T_i in zip(times, big_t, strict=True)])
    out = pd.DataFrame({"frequency": freq, "recency": rec, "T": big_t,
                        "purchase_rate": lam, "dropout_probability": drop})
    if holdout > 0:
        out["frequency_holdout"] = [int(np.sum(t > T_i)) for t, T_i in zip(times, big_t,
                                                                           strict=True)]
        out["duration_holdout"] = float(holdout)
    out.index.name = "customer"
    return out


def simulate_spend(frequency: Any, *, p: float, q: float, gamma: float,
                   seed: int = 0) -> pd.DataFrame:
    """Simulate Gamma-Gamma spend for customers with the given repeat ``frequency``.

    Returns ``monetary_value`` (mean of the simulated repeat transaction values, 0 when
    frequency is 0) and the truth ``mean_spend`` (p / nu).
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=int)
    nu = rng.gamma(q, 1.0 / gamma, len(x))
    totals = np.where(x > 0, rng.gamma(np.maximum(p * x, 1e-12), 1.0 / nu), 0.0)
    monetary = np.where(x > 0, totals / np.maximum(x, 1), 0.0)
    return pd.DataFrame({"monetary_value": monetary, "mean_spend": p / nu})


def simulate_orders(n_customers: int, *, r: float, alpha: float, a: float, b: float,
                    p: float, q: float, gamma: float, start: Any, end: Any,
                    acquisition_days: int = 90, time_unit_days: float = 7.0,
                    seed: int = 0) -> pd.DataFrame:
    """Simulate an orders table (user_id, ts, amount) from BG/NBD + Gamma-Gamma parameters.

    First purchases fall uniformly on the days of [start, start + acquisition_days); repeat
    purchases follow the BG/NBD process (rates per ``time_unit_days`` days) until ``end``;
    order values follow the Gamma-Gamma model, rounded to cents (at least 0.01).
    """
    rng = np.random.default_rng(seed)
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    first_day = rng.integers(0, acquisition_days, n_customers)
    first = start_ts + pd.to_timedelta(first_day, unit="D")
    horizon = ((end_ts - first) / pd.Timedelta(days=time_unit_days)).to_numpy(dtype=float)
    lam = np.maximum(rng.gamma(r, 1.0 / alpha, n_customers), 1e-300)
    drop = rng.beta(a, b, n_customers)
    nu = rng.gamma(q, 1.0 / gamma, n_customers)
    times = _repeat_purchase_times(rng, lam, drop, horizon)
    counts = np.array([len(t) + 1 for t in times])
    user = np.repeat(np.arange(n_customers), counts)
    offsets = np.concatenate([np.r_[0.0, t] for t in times]) * time_unit_days
    ts = np.repeat(first.to_numpy(), counts) + pd.to_timedelta(offsets, unit="D").to_numpy()
    amount = np.maximum(np.round(rng.gamma(p, 1.0 / nu[user]), 2), 0.01)
    return pd.DataFrame({"user_id": [f"c{u:06d}" for u in user], "ts": ts, "amount": amount})
