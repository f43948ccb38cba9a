"""Published CDNOW numbers: BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader & Hardie 2013).

Oracles: the published parameters (3 significant digits), the published log-likelihood (to 0.1),
Hardie's spreadsheet values for E[X(t)] and the conditional expectation for customer 1, the
shipped summary CSVs (for our summary built from raw transactions), and an independent
numerical integration of the BG/NBD model over its mixing distributions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.polynomial.legendre import leggauss
from scipy import stats

from funnelscope.analyses.value import (
    BetaGeoModel,
    GammaGammaModel,
    calibration_holdout_summary,
    customer_summary,
    holdout_comparison,
)

from .helpers import cdnow_summary, cdnow_summary_with_spend, cdnow_transactions, sig

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LL = -9582.4
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
CALIBRATION_END = "1997-09-30"


@pytest.fixture(scope="module")
def raw_summary() -> pd.DataFrame:
    return customer_summary(cdnow_transactions(), observation_end=CALIBRATION_END,
                            time_unit="weeks").to_pandas()


@pytest.fixture(scope="module")
def published_fit() -> BetaGeoModel:
    s = cdnow_summary()
    return BetaGeoModel(time_unit="weeks").fit(s["frequency"], s["recency"], s["T"])


def test_summary_from_raw_transactions_equals_the_shipped_summary(raw_summary):
    shipped = cdnow_summary()
    with_spend = cdnow_summary_with_spend()
    assert list(raw_summary.index) == list(shipped.index)
    assert (raw_summary["frequency"].to_numpy() == shipped["frequency"].to_numpy()).all()
    # the CSVs are rounded to 2 decimals
    np.testing.assert_array_equal(raw_summary["recency"].round(2), shipped["recency"])
    np.testing.assert_array_equal(raw_summary["T"].round(2), shipped["T"])
    gap = np.abs(raw_summary["monetary_value"].to_numpy() - with_spend["zbar"].to_numpy())
    assert gap.max() <= 0.005 + 1e-9


def test_same_day_purchases_are_merged_in_the_cdnow_sample(raw_summary):
    raw = cdnow_transactions()
    days_per_customer = raw.groupby("user_id")["ts"].nunique()
    in_calibration = raw[raw["ts"] <= CALIBRATION_END]
    expected = in_calibration.groupby("user_id")["ts"].nunique() - 1
    assert (raw.groupby(["user_id", "ts"]).size() > 1).any()  # the data has same-day orders
    assert (raw_summary["frequency"] == expected.reindex(raw_summary.index)).all()
    assert (raw_summary["frequency"] <= days_per_customer - 1).all()


@pytest.mark.parametrize("source", ["shipped_summary", "raw_transactions"])
def test_bgnbd_matches_fader_hardie_lee_2005(source, raw_summary):
    s = cdnow_summary() if source == "shipped_summary" else raw_summary
    model = BetaGeoModel(time_unit="weeks").fit(s["frequency"], s["recency"], s["T"])
    got = {"r": model.r_, "alpha": model.alpha_, "a": model.a_, "b": model.b_}
    assert {k: sig(v) for k, v in got.items()} == {k: sig(v) for k, v in PUBLISHED_BGNBD.items()}
    # every digit the paper prints (alpha and b have 4)
    assert {k: round(v, 3) for k, v in got.items()} == PUBLISHED_BGNBD
    assert round(model.log_likelihood_, 1) == PUBLISHED_BGNBD_LL
    assert model.converged_


@pytest.mark.parametrize("source", ["shipped_summary", "raw_transactions"])
def test_gamma_gamma_matches_fader_hardie_note(source, raw_summary):
    if source == "shipped_summary":
        s = cdnow_summary_with_spend()
        x, m = s["x"], s["zbar"]
    else:
        x, m = raw_summary["frequency"], raw_summary["monetary_value"]
    model = GammaGammaModel().fit(x, m)
    assert model.n_customers_ == 946  # repeat customers of the 2357
    got = {"p": model.p_, "q": model.q_, "gamma": model.gamma_}
    assert {k: sig(v) for k, v in got.items()} == {k: sig(v) for k, v in PUBLISHED_GG.items()}
    if source == "raw_transactions":
        # unrounded spend reproduces every printed digit (gamma = 15.44); the CSV's zbar,
        # rounded to cents, gives 15.45 in the 4th digit.
        assert {k: round(v, 2) for k, v in got.items()} == PUBLISHED_GG


def test_conditional_expectation_matches_hardie_spreadsheet(published_fit):
    got = published_fit.expected_purchases(39, [2], [30.43], [38.86]).iloc[0]
    assert abs(got - 1.226) < 0.0005


def test_unconditional_expectation_matches_hardie_spreadsheet(published_fit):
    times = [0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0]
    expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]
    np.testing.assert_allclose(published_fit.expected_purchases_new_customer(times), expected,
                               atol=0.00051)


def _quadrature(r, alpha, a, b, n=700):
    """Gauss-Legendre nodes on the quantile scale of Gamma(r, alpha) x Beta(a, b)."""
    u, w = leggauss(n)
    u, w = (u + 1) / 2, w / 2
    lam = stats.gamma(r, scale=1 / alpha).ppf(u)[:, None]
    p = stats.beta(a, b).ppf(u)[None, :]
    return lam, p, w[:, None] * w[None, :]


def test_predictions_equal_numerical_integration_of_the_model(published_fit):
    """Independent oracle: integrate the individual-level model over the fitted mixing laws."""
    lam, p, w = _quadrature(*published_fit.params_.values())
    cases = [(0, 0.0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (10, 20.0, 38.86),
             (5, 27.0, 27.0)]
    for x, tx, big_t in cases:
        alive = (1 - p) ** x * lam ** x * np.exp(-lam * big_t)
        died = (x > 0) * p * (1 - p) ** max(x - 1, 0) * lam ** x * np.exp(-lam * tx)
        evidence = np.sum(w * (alive + died))
        p_alive = np.sum(w * alive) / evidence
        for t in (5.0, 39.0):
            future = -np.expm1(-lam * p * t) / p  # E[X(t) | lambda, p, alive]
            expected = np.sum(w * alive * future) / evidence
            got = published_fit.expected_purchases(t, [x], [tx], [big_t]).iloc[0]
            assert got == pytest.approx(expected, rel=1e-4), (x, tx, big_t, t)
        assert published_fit.probability_alive([x], [tx], [big_t]).iloc[0] == pytest.approx(
            p_alive, rel=1e-5)
    for t in (1.0, 39.0, 78.0):
        expected = np.sum(w * -np.expm1(-lam * p * t) / p)
        assert published_fit.expected_purchases_new_customer(t) == pytest.approx(expected,
                                                                                 rel=1e-5)


def test_probability_alive_is_one_without_repeat_purchases_and_within_0_1(published_fit):
    x = np.repeat(np.arange(0, 30, 3), 10)
    tx = np.tile(np.linspace(0, 38, 10), 10) * (x > 0)
    p = published_fit.probability_alive(x, tx, np.full(len(x), 38.86))
    assert (p[x == 0] == 1.0).all()
    assert ((p >= 0) & (p <= 1)).all()


def test_holdout_comparison_on_cdnow(published_fit):
    ch = calibration_holdout_summary(cdnow_transactions(), calibration_end=CALIBRATION_END,
                                     observation_end="1998-06-30", time_unit="weeks")
    table = holdout_comparison(published_fit, ch, max_frequency=7)
    frame = table.to_pandas()
    assert list(frame["frequency_bucket"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert frame["customers"].sum() == 2357
    # holdout = 39 weeks (1997-10-01 .. 1998-06-30 is 273 days)
    assert ch.customers["duration_holdout"].iloc[0] == 39.0
    raw = cdnow_transactions()
    holdout_days = raw[raw["ts"] > CALIBRATION_END].groupby("user_id")["ts"].nunique()
    assert table.actual_total == holdout_days.sum()
    # predictions per customer are the model's conditional expectations
    expected_total = published_fit.expected_purchases(
        39, ch.customers["frequency"], ch.customers["recency"], ch.customers["T"]).sum()
    assert table.predicted_total == pytest.approx(expected_total)
    # BG/NBD tracks the holdout within 15% in total on this data (FHL 2005, fig. 3)
    assert abs(table.predicted_total / table.actual_total - 1) < 0.15
    assert set(table.to_dict()["tables"]) == {"by_frequency"}
