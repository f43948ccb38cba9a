"""Gamma-Gamma model of average spend per transaction (Fader & Hardie 2013; Colombo & Jiang 1999).

Per customer: each repeat transaction's value z ~ Gamma(shape p, rate nu); across customers
nu ~ Gamma(shape q, rate gamma). A customer's mean transaction value E[z] = p / nu, and the
population mean is p * gamma / (q - 1) (finite when q > 1).

Inputs per customer: ``frequency`` x (repeat purchases) and ``monetary_value`` m_x (mean value
of those repeat purchases). Customers with x = 0 carry no spend information and are left out
of the fit. Log-likelihood of one customer with x > 0 (of the x-transaction mean)::

    ln L = lnG(p x + q) - lnG(p x) - lnG(q) + q ln(gamma) + (p x - 1) ln(m_x)
           + p x ln(x) - (p x + q) ln(gamma + m_x x)

Expected average spend given x and m_x (a weighted average of the population mean and the
customer's own mean)::

    E[M | x, m_x] = p (gamma + x m_x) / (p x + q - 1)

The model assumes spend is independent of purchase frequency; ``spend_frequency_correlation_``
reports the Pearson correlation of x and m_x among repeat customers as a check (near 0 is good).

Reference: Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma Model of Monetary
Value", http://www.brucehardie.com/notes/025/.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln

from funnelscope.analyses.value._inputs import spend_arrays
from funnelscope.analyses.value._mle import fit_positive, parameter_table
from funnelscope.errors import ConfigError, InputError

PARAMETERS = ("p", "q", "gamma")


def gamma_gamma_log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood at ``params = (p, q, gamma)`` (x > 0 only)."""
    p, q, g = params
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(g + m * x))


class _FixedRowsLogLikelihood:
    """:func:`gamma_gamma_log_likelihood` of fixed rows, fast at many parameters: the gamma
    functions and log(x) once per distinct x, log(m) and m x once; the per-row arithmetic is
    the same expression in the same order, so the values are identical."""

    def __init__(self, x: np.ndarray, m: np.ndarray) -> None:
        self.ux, self.xi = np.unique(x, return_inverse=True)
        self.log_x = np.log(self.ux)[self.xi]
        self.log_m = np.log(m)
        self.mx = m * x

    def __call__(self, params: np.ndarray) -> np.ndarray:
        p, q, g = params
        pux = p * self.ux
        px = pux[self.xi]
        return ((gammaln(pux + q) - gammaln(pux))[self.xi] - gammaln(q) + q * np.log(g)
                + (px - 1) * self.log_m + px * self.log_x - (px + q) * np.log(g + self.mx))


class GammaGammaModel:
    """Gamma-Gamma spend model: the expected average value of a customer's future transactions.

    Fitted attributes: ``p_``, ``q_``, ``gamma_``, ``log_likelihood_``, ``n_customers_``
    (repeat customers used), ``spend_frequency_correlation_``, ``converged_``.

    >>> from funnelscope.analyses.value.simulate import simulate_bgnbd, simulate_spend
    >>> d = simulate_bgnbd(2000, r=0.5, alpha=5.0, a=0.8, b=2.5, T=52.0, seed=1)
    >>> s = simulate_spend(d["frequency"], p=6.0, q=4.0, gamma=15.0, seed=2)
    >>> g = GammaGammaModel().fit(d["frequency"], s["monetary_value"])
    >>> round(g.p_, 1), round(g.q_, 1), round(g.gamma_, 1)
    (5.9, 4.0, 15.4)
    >>> g.expected_average_spend([0, 4], [0.0, 30.0]).round(2).tolist()
    [30.4, 30.05]
    """

    def fit(self, frequency: Any, monetary_value: Any) -> GammaGammaModel:
        """Fit p, q, gamma by maximum likelihood on customers with frequency > 0; return ``self``."""
        x, m, _ = spend_arrays(frequency, monetary_value)
        keep = x > 0
        if keep.sum() < 2:
            raise InputError(
                f"The spend model needs at least 2 customers with a repeat purchase; "
                f"found {int(keep.sum())}.",
                hint="Use a longer observation period or more customers.")
        xr, mr = x[keep], m[keep]
        log_likelihood = _FixedRowsLogLikelihood(xr, mr)

        def neg_ll_natural(params: np.ndarray) -> float:
            if np.any(params <= 0):
                return np.inf
            return -float(np.sum(log_likelihood(params)))

        start = np.log(np.array([1.0, 2.0, float(np.mean(mr))]))
        params, ll, converged = fit_positive(lambda v: neg_ll_natural(np.exp(v)), start,
                                             scale=float(len(xr)))
        self.p_, self.q_, self.gamma_ = (float(v) for v in params)
        self.log_likelihood_ = ll
        self.n_customers_ = int(keep.sum())
        self.converged_ = converged
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(xr, mr)[0, 1] if np.std(xr) > 0 and np.std(mr) > 0 else np.nan
        self.spend_frequency_correlation_ = float(corr)
        self._neg_ll = neg_ll_natural
        return self

    @property
    def params_(self) -> dict[str, float]:
        """Fitted parameters as a dict ``{"p", "q", "gamma"}``."""
        self._check_fitted()
        return {"p": self.p_, "q": self.q_, "gamma": self.gamma_}

    def parameters(self) -> pd.DataFrame:
        """Parameter table: estimate, standard error and Wald 95% interval for p, q, gamma."""
        self._check_fitted()
        return parameter_table(PARAMETERS, np.array(list(self.params_.values())), self._neg_ll)

    def _check_fitted(self) -> None:
        if not hasattr(self, "p_"):
            raise ConfigError("This GammaGammaModel is not fitted yet.",
                              hint="Call .fit(frequency, monetary_value) first.")

    @property
    def population_average_spend_(self) -> float:
        """Mean transaction value across customers, p gamma / (q - 1); NaN when q <= 1."""
        self._check_fitted()
        return self.p_ * self.gamma_ / (self.q_ - 1) if self.q_ > 1 else float("nan")

    def expected_average_spend(self, frequency: Any, monetary_value: Any) -> pd.Series:
        """E[average transaction value | x, m_x]; the population mean for customers with x = 0.

        Same currency as ``monetary_value``.
        """
        self._check_fitted()
        x, m, ids = spend_arrays(frequency, monetary_value)
        m = np.where(x > 0, m, 0.0)
        p, q, g = self.p_, self.q_, self.gamma_
        value = p * (g + x * m) / (p * x + q - 1)
        if q <= 1 and np.any(x == 0):
            value = np.where(x > 0, value, np.nan)
        return pd.Series(value, index=ids, name="expected_average_spend")

    def __repr__(self) -> str:
        if not hasattr(self, "p_"):
            return "GammaGammaModel() (not fitted)"
        return (f"GammaGammaModel: p={self.p_:.4g}, q={self.q_:.4g}, gamma={self.gamma_:.4g}, "
                f"log_likelihood={self.log_likelihood_:.2f}")
