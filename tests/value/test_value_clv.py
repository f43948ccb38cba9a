"""Discounted CLV: hand calculations, and the same answer whatever units the inputs use."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from funnelscope.analyses.value import (
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
    discount_rate_per_unit,
)

from .helpers import cdnow_summary_with_spend


@pytest.fixture(scope="module")
def cdnow():
    s = cdnow_summary_with_spend()
    s = s.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    purchase = BetaGeoModel("weeks").fit(s["frequency"], s["recency"], s["T"])
    spend = GammaGammaModel().fit(s["frequency"], s["monetary_value"])
    return s, purchase, spend


def test_discount_rate_conversion_by_hand():
    assert discount_rate_per_unit(0.10, "years", "weeks") == pytest.approx(
        1.10 ** (7 / 365.25) - 1)
    assert discount_rate_per_unit(0.01, "months", "weeks") == pytest.approx(
        1.01 ** (7 / (365.25 / 12)) - 1)
    assert discount_rate_per_unit(0.10, "years", "years") == pytest.approx(0.10)
    assert discount_rate_per_unit(0.0, "years", "days") == 0.0


def test_clv_by_hand_for_one_customer(cdnow):
    s, purchase, spend = cdnow
    x, tx, T, m = 2, 30.43, 38.86, 22.35
    result = customer_lifetime_value(purchase, spend, [x], [tx], [T], [m], horizon=52,
                                     time_unit="weeks", discount_rate=0.10,
                                     discount_period="years", step=4, profit_margin=0.3)
    # by hand: 13 steps of 4 weeks, purchases of each step discounted at its end
    weekly = 1.10 ** (7 / 365.25) - 1
    avg_spend = spend.expected_average_spend([x], [m]).iloc[0]
    p, q, g = spend.p_, spend.q_, spend.gamma_
    assert avg_spend == pytest.approx(p * (g + x * m) / (p * x + q - 1))
    total, before = 0.0, 0.0
    for k in range(1, 14):
        now = purchase.expected_purchases(4 * k, [x], [tx], [T]).iloc[0]
        total += (now - before) / (1 + weekly) ** (4 * k)
        before = now
    row = result.to_pandas().iloc[0]
    assert row["clv"] == pytest.approx(0.3 * avg_spend * total, rel=1e-12)
    assert row["expected_purchases"] == pytest.approx(before)
    assert row["expected_revenue"] == pytest.approx(before * avg_spend)
    assert result.discount_rate_per_time_unit == pytest.approx(weekly)


def test_zero_discount_is_expected_revenue_times_margin(cdnow):
    s, purchase, spend = cdnow
    res = customer_lifetime_value(purchase, spend, s["frequency"], s["recency"], s["T"],
                                  s["monetary_value"], horizon=39, time_unit="weeks",
                                  discount_rate=0.0, profit_margin=0.5).to_pandas()
    np.testing.assert_allclose(res["clv"], 0.5 * res["expected_revenue"], rtol=1e-10)
    np.testing.assert_allclose(
        res["expected_purchases"],
        purchase.expected_purchases(39, s["frequency"], s["recency"], s["T"]), rtol=1e-12)
    assert list(res.columns) == ["probability_alive", "expected_purchases",
                                 "expected_average_spend", "expected_revenue", "clv"]
    assert list(res.index) == list(s.index)


def test_equivalent_discount_rates_in_any_period_give_the_same_clv(cdnow):
    s, purchase, spend = cdnow
    args = (purchase, spend, s["frequency"], s["recency"], s["T"], s["monetary_value"])
    yearly = customer_lifetime_value(*args, horizon=104, time_unit="weeks",
                                     discount_rate=0.12, discount_period="years").to_pandas()
    monthly = customer_lifetime_value(*args, horizon=104, time_unit="weeks",
                                      discount_rate=1.12 ** (1 / 12) - 1,
                                      discount_period="months").to_pandas()
    np.testing.assert_allclose(monthly["clv"], yearly["clv"], rtol=1e-10)
    undiscounted = customer_lifetime_value(*args, horizon=104, time_unit="weeks",
                                           discount_rate=0.0).to_pandas()
    assert (yearly["clv"] < undiscounted["clv"]).all()


def test_a_model_fitted_in_days_gives_the_same_clv_as_one_in_weeks(cdnow):
    """Same data in days and in weeks: the same money over the same real horizon."""
    s, weekly_model, spend = cdnow
    days = s.assign(recency=s["recency"] * 7, T=s["T"] * 7)
    daily_model = BetaGeoModel("days").fit(days["frequency"], days["recency"], days["T"])
    assert daily_model.alpha_ == pytest.approx(7 * weekly_model.alpha_, rel=1e-3)
    assert daily_model.r_ == pytest.approx(weekly_model.r_, rel=1e-3)
    in_weeks = customer_lifetime_value(weekly_model, spend, s["frequency"], s["recency"],
                                       s["T"], s["monetary_value"], horizon=52,
                                       time_unit="weeks", discount_rate=0.1).to_pandas()
    in_days = customer_lifetime_value(daily_model, spend, days["frequency"], days["recency"],
                                      days["T"], days["monetary_value"], horizon=364,
                                      time_unit="days", discount_rate=0.1).to_pandas()
    np.testing.assert_allclose(in_days["clv"], in_weeks["clv"], rtol=2e-3)


def test_result_to_dict_is_json_ready(cdnow):
    s, purchase, spend = cdnow
    res = customer_lifetime_value(purchase, spend, s["frequency"][:3], s["recency"][:3],
                                  s["T"][:3], s["monetary_value"][:3], horizon=10,
                                  time_unit="weeks", discount_rate=0.05)
    d = res.to_dict()
    import json

    json.dumps(d)
    assert d["values"]["time_unit"] == "weeks"
    assert d["values"]["discount_period"] == "years"
    assert set(d["values"]["parameters"]) == {"r", "alpha", "a", "b", "p", "q", "gamma"}
    assert len(d["tables"]["customers"]) == 3
    assert math.isclose(d["values"]["horizon"], 10.0)


def test_spend_for_customers_without_repeat_purchases_is_the_population_mean(cdnow):
    _, _, spend = cdnow
    got = spend.expected_average_spend(pd.Series([0, 0]), pd.Series([0.0, 0.0]))
    assert got.tolist() == pytest.approx([spend.population_average_spend_] * 2)
    assert spend.population_average_spend_ == pytest.approx(
        spend.p_ * spend.gamma_ / (spend.q_ - 1))


def test_predictions_stay_finite_when_purchase_rates_do_not_vary():
    """Short, homogeneous data can drive the fitted r and alpha to infinity (all customers buy
    at rate r / alpha). Oracle: the model with a fixed rate lambda, integrated over the Beta
    dropout law by quadrature."""
    from numpy.polynomial.legendre import leggauss
    from scipy import stats

    from funnelscope.analyses.value import BetaGeoModel

    lam, a, b = 0.074, 0.52, 2.08
    model = BetaGeoModel("weeks")
    model.r_, model.alpha_, model.a_, model.b_ = 1.7e9, 1.7e9 / lam, a, b
    nodes, weights = leggauss(400)
    u = (nodes + 1) / 2
    p, w = stats.beta(a, b).ppf(u), weights / 2
    for x, tx, big_t in [(0, 0.0, 5.0), (1, 3.0, 10.0), (4, 11.0, 12.0)]:
        alive = (1 - p) ** x * np.exp(-lam * big_t)
        died = (x > 0) * p * (1 - p) ** max(x - 1, 0) * np.exp(-lam * tx)
        evidence = np.sum(w * (alive + died))
        for t in (4.3, 52.18):
            want = np.sum(w * alive * -np.expm1(-lam * p * t) / p) / evidence
            got = model.expected_purchases(t, [x], [tx], [big_t]).iloc[0]
            assert got == pytest.approx(want, rel=1e-4), (x, tx, big_t, t)
    for t in (1.0, 52.0):
        want = np.sum(w * -np.expm1(-lam * p * t) / p)
        assert model.expected_purchases_new_customer(t) == pytest.approx(want, rel=1e-4)


def test_series_fallback_equals_scipy_where_scipy_works():
    from scipy.special import hyp2f1

    from funnelscope.analyses.value.bgnbd import _log_series

    a = np.array([0.3, 2.5, 12.0, 40.0])
    b = np.array([2.4, 3.0, 5.5, 1.2])
    c = np.array([3.1, 4.2, 8.0, 2.5])
    z = np.array([0.05, 0.4, 0.7, 0.2])
    got = _log_series(np.zeros(4), a, b, c, z)
    np.testing.assert_allclose(got, hyp2f1(a, b, c, z), rtol=1e-10)
