"""Parameter recovery: data simulated from known BG/NBD and Gamma-Gamma parameters.

Oracle: the parameters used to simulate. Fits must land within 4 standard errors (Wald, from the
observed information) of the truth; fixed seeds keep the tests deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from funnelscope.analyses.value import (
    BetaGeoModel,
    GammaGammaModel,
    customer_summary,
    holdout_comparison,
)
from funnelscope.analyses.value.simulate import simulate_bgnbd, simulate_orders, simulate_spend

TRUE_BGNBD = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
TRUE_GG = {"p": 6.0, "q": 4.0, "gamma": 15.0}


def _within(table, truth, n_se=4.0):
    for row in table.itertuples(index=False):
        assert np.isfinite(row.standard_error) and row.standard_error > 0, row
        gap = abs(row.estimate - truth[row.parameter])
        assert gap < n_se * row.standard_error, (row.parameter, row.estimate, row.standard_error)


@pytest.mark.parametrize("seed", [1, 2])
def test_bgnbd_recovers_simulated_parameters(seed):
    data = simulate_bgnbd(5000, **TRUE_BGNBD, T=52.0, seed=seed)
    model = BetaGeoModel(time_unit="weeks").fit(data["frequency"], data["recency"], data["T"])
    assert model.converged_
    _within(model.parameters(), TRUE_BGNBD)


def test_bgnbd_recovers_parameters_with_unequal_observation_lengths():
    rng = np.random.default_rng(7)
    T = rng.uniform(20, 80, 5000)
    data = simulate_bgnbd(5000, **TRUE_BGNBD, T=T, seed=3)
    model = BetaGeoModel().fit(data["frequency"], data["recency"], data["T"])
    _within(model.parameters(), TRUE_BGNBD)


@pytest.mark.parametrize("seed", [1, 2])
def test_gamma_gamma_recovers_simulated_parameters(seed):
    data = simulate_bgnbd(5000, **TRUE_BGNBD, T=52.0, seed=seed)
    spend = simulate_spend(data["frequency"], **TRUE_GG, seed=seed + 10)
    model = GammaGammaModel().fit(data["frequency"], spend["monetary_value"])
    _within(model.parameters(), TRUE_GG)


def test_weights_equal_repeated_rows():
    data = simulate_bgnbd(800, **TRUE_BGNBD, T=30.0, seed=4)
    twice = BetaGeoModel().fit(np.r_[data["frequency"], data["frequency"]],
                               np.r_[data["recency"], data["recency"]],
                               np.r_[data["T"], data["T"]])
    weighted = BetaGeoModel().fit(data["frequency"], data["recency"], data["T"],
                                  weights=np.full(len(data), 2.0))
    for name in ("r", "alpha", "a", "b"):
        assert getattr(weighted, f"{name}_") == pytest.approx(getattr(twice, f"{name}_"),
                                                              rel=1e-4)


def test_simulated_orders_round_trip_through_the_summary():
    """Orders -> customer_summary -> fits: the same-day merging costs little accuracy."""
    orders = simulate_orders(5000, **TRUE_BGNBD, **TRUE_GG, start="2024-01-01",
                             end="2025-01-01", acquisition_days=90, seed=5)
    s = customer_summary(orders, observation_end="2025-01-01", time_unit="weeks").to_pandas()
    assert len(s) == 5000
    purchase = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    spend = GammaGammaModel().fit(s["frequency"], s["monetary_value"])
    for name, true in {**TRUE_BGNBD, **TRUE_GG}.items():
        model = purchase if name in TRUE_BGNBD else spend
        assert getattr(model, f"{name}_") == pytest.approx(true, rel=0.25), name


def test_holdout_predictions_track_simulated_holdout():
    data = simulate_bgnbd(5000, **TRUE_BGNBD, T=40.0, holdout=40.0, seed=6)
    model = BetaGeoModel().fit(data["frequency"], data["recency"], data["T"])
    table = holdout_comparison(model, data, max_frequency=5)
    assert table.predicted_total == pytest.approx(table.actual_total, rel=0.06)
    frame = table.by_frequency
    big = frame[frame["customers"] >= 200]
    np.testing.assert_allclose(big["predicted_purchases"], big["actual_purchases"], rtol=0.2)
