"""The fitted likelihoods (evaluated once per distinct value, then gathered) equal the public
per-customer ones exactly, and a fit on pooled rows with weights equals the fit on every row."""

from __future__ import annotations

import numpy as np
import pytest

from funnelscope.analyses.value import BetaGeoModel
from funnelscope.analyses.value.bgnbd import _PooledLogLikelihood, bgnbd_log_likelihood
from funnelscope.analyses.value.gamma_gamma import (
    _FixedRowsLogLikelihood,
    gamma_gamma_log_likelihood,
)
from funnelscope.analyses.value.simulate import simulate_bgnbd


@pytest.fixture(scope="module")
def summary():
    rng = np.random.default_rng(3)
    n = 5_000
    x = rng.integers(0, 25, n).astype(float)
    big_t = rng.integers(1, 365, n) / 7.0
    tx = np.where(x > 0, np.minimum(big_t, rng.integers(0, 365, n) / 7.0), 0.0)
    return x, tx, big_t, rng.gamma(6.0, 5.0, n)


@pytest.mark.parametrize("params", [(0.24, 4.4, 0.79, 2.43), (900.0, 4000.0, 120.0, 75.0),
                                    (0.01, 0.5, 2.0, 0.5)])
def test_bgnbd_gathered_likelihood_is_bit_identical(summary, params):
    x, tx, big_t, _ = summary
    p = np.array(params)
    assert np.array_equal(_PooledLogLikelihood(x, tx, big_t)(p),
                          bgnbd_log_likelihood(p, x, tx, big_t))


@pytest.mark.parametrize("params", [(6.0, 4.0, 15.0), (0.5, 1.2, 300.0)])
def test_gamma_gamma_gathered_likelihood_is_bit_identical(summary, params):
    x, _, _, m = summary
    keep = x > 0
    p = np.array(params)
    assert np.array_equal(_FixedRowsLogLikelihood(x[keep], m[keep])(p),
                          gamma_gamma_log_likelihood(p, x[keep], m[keep]))


def test_fit_on_distinct_rows_with_weights_equals_fit_on_every_row():
    d = simulate_bgnbd(3_000, r=0.5, alpha=5.0, a=0.8, b=2.5, T=52.0, seed=4)
    d["recency"] = d["recency"].round()  # whole weeks: many repeated rows
    every = BetaGeoModel("weeks").fit(d["frequency"], d["recency"], d["T"])
    g = d.groupby(["frequency", "recency", "T"], as_index=False).size()
    pooled = BetaGeoModel("weeks").fit(g["frequency"], g["recency"], g["T"], weights=g["size"])
    assert len(g) < len(d) / 5
    for name in ("r_", "alpha_", "a_", "b_", "log_likelihood_"):
        assert getattr(pooled, name) == pytest.approx(getattr(every, name), rel=1e-9)
