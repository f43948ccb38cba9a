"""Predictive customer lifetime value: BG/NBD purchases x Gamma-Gamma spend, discounted.

For customer i, horizon H (in the purchase model's time unit), step s (default: one month in
that unit, at least one unit), steps t_k = min(k s, H) for k = 1..ceil(H / s)::

    clv_i = margin * E[M_i] * sum_k (E[Y_i(t_k)] - E[Y_i(t_{k-1})]) / (1 + d_u) ^ (t_k)

where E[Y_i(t)] is the BG/NBD expected number of repeat purchases in the next t units given the
customer's history, E[M_i] the Gamma-Gamma expected average spend, and d_u the discount rate
per model time unit, converted explicitly from the rate you give per ``discount_period``::

    d_u = (1 + d) ^ (days per model unit / days per discount period) - 1

so an annual 10% with a weekly model is (1.10)^(7/365.25) - 1 = 0.1828% per week. Purchases
expected within a step are discounted as if made at the end of the step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from funnelscope.analyses.value._inputs import (
    canonical_unit,
    days_per,
    repeat_purchase_arrays,
    spend_arrays,
)
from funnelscope.analyses.value._result import TableResult
from funnelscope.analyses.value.bgnbd import BetaGeoModel
from funnelscope.analyses.value.gamma_gamma import GammaGammaModel
from funnelscope.errors import ConfigError, InputError


@dataclass(frozen=True)
class CustomerValue(TableResult):
    """Per-customer predictions over a horizon, and the settings used (units spelled out)."""

    customers: pd.DataFrame
    horizon: float
    time_unit: str
    discount_rate: float
    discount_period: str
    discount_rate_per_time_unit: float
    step: float
    profit_margin: float
    parameters: dict[str, float] = field(default_factory=dict)


def discount_rate_per_unit(discount_rate: float, discount_period: str, time_unit: str) -> float:
    """Convert a rate per ``discount_period`` to the equivalent compound rate per ``time_unit``.

    >>> round(discount_rate_per_unit(0.10, "years", "weeks"), 6)
    0.001828
    """
    if not math.isfinite(discount_rate) or discount_rate <= -1:
        raise ConfigError(f"discount_rate={discount_rate!r} must be a number above -1 "
                          "(e.g. 0.10 for 10% per discount_period).")
    period = canonical_unit(discount_period, argument="discount_period")
    ratio = days_per(canonical_unit(time_unit)) / days_per(period)
    return (1.0 + discount_rate) ** ratio - 1.0


def _steps(horizon: float, step: float) -> np.ndarray:
    n = max(1, math.ceil(horizon / step - 1e-9))
    return np.minimum(np.arange(1, n + 1) * step, horizon)


def customer_lifetime_value(
    purchase_model: BetaGeoModel,
    spend_model: GammaGammaModel,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary_value: Any,
    *,
    horizon: float,
    time_unit: str,
    discount_rate: float,
    discount_period: str = "years",
    profit_margin: float = 1.0,
    step: float | None = None,
) -> CustomerValue:
    """Discounted expected value of each customer's repeat purchases over ``horizon``.

    ``horizon`` and ``time_unit`` are checked against the purchase model's unit (they must
    match: no silent unit conversion of the customer history). ``discount_rate`` is per
    ``discount_period`` (days, weeks, months or years) and is converted as in the module doc.
    ``profit_margin`` (0-1] turns revenue into margin; 1 means CLV is in revenue.

    Returns a :class:`CustomerValue` whose table, indexed by customer, has
    ``probability_alive``, ``expected_purchases`` (over the horizon), ``expected_average_spend``,
    ``expected_revenue`` (undiscounted, before margin) and ``clv`` (discounted, after margin).

    >>> from funnelscope.analyses.value import BetaGeoModel, GammaGammaModel
    >>> from funnelscope.analyses.value.simulate import simulate_bgnbd, simulate_spend
    >>> d = simulate_bgnbd(2000, r=0.5, alpha=5.0, a=0.8, b=2.5, T=52.0, seed=1)
    >>> d["monetary_value"] = simulate_spend(d["frequency"], p=6.0, q=4.0, gamma=15.0,
    ...                                      seed=2)["monetary_value"]
    >>> m = BetaGeoModel("weeks").fit(d["frequency"], d["recency"], d["T"])
    >>> g = GammaGammaModel().fit(d["frequency"], d["monetary_value"])
    >>> v = customer_lifetime_value(m, g, [0, 3], [0.0, 50.0], [52.0, 52.0], [0.0, 30.0],
    ...     horizon=52, time_unit="weeks", discount_rate=0.10, discount_period="years")
    >>> v.to_pandas()["clv"].round(2).tolist()
    [10.33, 60.91]
    """
    unit = canonical_unit(time_unit)
    if unit != purchase_model.time_unit:
        raise ConfigError(
            f"time_unit={unit!r} does not match the purchase model, fitted in "
            f"{purchase_model.time_unit!r}.",
            hint=f"Give the horizon in {purchase_model.time_unit} (e.g. 52 weeks for a year).",
        )
    try:
        horizon = float(horizon)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"horizon={horizon!r} must be a number of {unit}.") from exc
    if not math.isfinite(horizon) or horizon <= 0:
        raise ConfigError(f"horizon={horizon!r} must be a time > 0 in {unit}.")
    if not (0 < profit_margin <= 1):
        raise ConfigError(f"profit_margin={profit_margin!r} must be in (0, 1].")
    if step is None:
        step = max(days_per("months") / days_per(unit), 1.0)
    if not (math.isfinite(step) and step > 0):
        raise ConfigError(f"step={step!r} must be a time > 0 in {unit}.")
    purchase_model._check_fitted()
    spend_model._check_fitted()
    x, tx, big_t, ids = repeat_purchase_arrays(frequency, recency, T)
    xs, m, _ = spend_arrays(frequency, monetary_value)
    if len(m) != len(x):
        raise InputError("monetary_value must have one value per customer, like frequency.")
    rate = discount_rate_per_unit(discount_rate, discount_period, unit)
    spend = spend_model.expected_average_spend(xs, m).to_numpy()
    total = np.zeros_like(x)
    previous = np.zeros_like(x)
    for t_k in _steps(horizon, step):
        cumulative = purchase_model._conditional(float(t_k), x, tx, big_t)
        total += (cumulative - previous) / (1.0 + rate) ** t_k
        previous = cumulative
    table = pd.DataFrame({
        "probability_alive": purchase_model._p_alive(x, tx, big_t),
        "expected_purchases": previous,
        "expected_average_spend": spend,
        "expected_revenue": previous * spend,
        "clv": profit_margin * spend * total,
    }, index=ids)
    return CustomerValue(
        customers=table, horizon=horizon, time_unit=unit, discount_rate=float(discount_rate),
        discount_period=canonical_unit(discount_period, argument="discount_period"),
        discount_rate_per_time_unit=rate, step=float(step), profit_margin=float(profit_margin),
        parameters={**purchase_model.params_, **spend_model.params_},
    )
