"""BG/NBD purchase-frequency model (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

The model, per customer, in the model's time unit (the unit of recency and T):

* while alive, repeat purchases follow a Poisson process with rate lambda;
  lambda ~ Gamma(shape r, rate alpha) across customers;
* after each repeat purchase the customer drops out for good with probability p;
  p ~ Beta(a, b) across customers.

Inputs per customer: ``frequency`` x (repeat purchases), ``recency`` t_x (time of the last
purchase, measured from the first), ``T`` (time from the first purchase to the end of the
observation period). Build them from orders with
:func:`funnelscope.analyses.value.summary.customer_summary`.

Log-likelihood of one customer (FHL 2005, eq. 6)::

    L = B(a, b+x)/B(a, b) * G(r+x) a^r / (G(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))

Reference: Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting Your Customers'
the Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln, hyp2f1

from funnelscope.analyses.value._inputs import canonical_unit, repeat_purchase_arrays
from funnelscope.analyses.value._mle import fit_positive, parameter_table
from funnelscope.errors import ConfigError, InputError

PARAMETERS = ("r", "alpha", "a", "b")


def bgnbd_log_likelihood(params: np.ndarray, x: np.ndarray, tx: np.ndarray,
                         big_t: np.ndarray) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood at ``params = (r, alpha, a, b)``."""
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0,
                      np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0))
                      - (r + x) * np.log(alpha + tx),
                      -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


class _PooledLogLikelihood:
    """:func:`bgnbd_log_likelihood` of fixed rows, fast to evaluate at many parameters.

    Every special function and log is evaluated once per distinct x, t_x and T (a few hundred
    values however many customers there are) and gathered to the rows; the per-row arithmetic
    is the same expression in the same order, so the values are identical to
    :func:`bgnbd_log_likelihood`'s.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> None:
        self.ux, self.xi = np.unique(x, return_inverse=True)
        self.utx, self.txi = np.unique(tx, return_inverse=True)
        self.ut, self.ti = np.unique(big_t, return_inverse=True)
        self.repeat = x > 0

    def __call__(self, params: np.ndarray) -> np.ndarray:
        r, alpha, a, b = params
        ux, xi = self.ux, self.xi
        a1 = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha))[xi]
        a2 = (betaln(a, b + ux) - betaln(a, b))[xi]
        a3 = (-(r + ux))[xi] * np.log(alpha + self.ut)[self.ti]
        with np.errstate(divide="ignore", invalid="ignore"):
            head = (np.log(a) - np.log(np.where(ux > 0, b + ux - 1, 1.0)))[xi]
            a4 = np.where(self.repeat,
                          head - (r + ux)[xi] * np.log(alpha + self.utx)[self.txi], -np.inf)
        return a1 + a2 + np.logaddexp(a3, a4)


def scaled_hyp2f1(log_scale: Any, a: Any, b: Any, c: Any, z: Any) -> np.ndarray:
    """``exp(log_scale) * 2F1(a, b; c; z)`` for 0 <= z < 1.

    scipy's ``hyp2f1`` where it is finite; elsewhere the power series, summed in log space
    with the scale folded in. The fallback matters when the fitted r and alpha run off to
    infinity (no heterogeneity in purchase rates, common on short or homogeneous data): then
    ``a`` is huge, ``z`` tiny, scipy returns NaN, yet the scaled product stays moderate.
    """
    arrays = np.broadcast_arrays(log_scale, a, b, c, z)
    shape = arrays[0].shape
    log_scale, a, b, c, z = (np.array(v, dtype="float64").reshape(-1) for v in arrays)
    with np.errstate(all="ignore"):
        out = np.exp(log_scale) * hyp2f1(a, b, c, z)
    bad = ~np.isfinite(out)
    if bad.any():
        out[bad] = _log_series(log_scale[bad], a[bad], b[bad], c[bad], z[bad])
    return out.reshape(shape)


def _log_series(log_term: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                z: np.ndarray, max_terms: int = 200_000) -> np.ndarray:
    """sum_k exp(log_term_k), term_{k+1} / term_k = (a+k)(b+k) z / ((c+k)(k+1)); stops once
    the ratio is below 1 and a term adds less than 1e-16 of the sum."""
    log_sum = log_term.copy()
    active = np.ones(len(a), dtype=bool)
    k = 0
    with np.errstate(all="ignore"):
        while active.any() and k < max_terms:
            ratio = (a + k) * (b + k) * z / ((c + k) * (k + 1))
            log_term = log_term + np.log(ratio)
            log_sum = np.where(active, np.logaddexp(log_sum, log_term), log_sum)
            k += 1
            active &= ~((ratio < 1) & (log_term < log_sum - 37.0)) & np.isfinite(log_term)
    return np.exp(log_sum)


class BetaGeoModel:
    """BG/NBD model: how many repeat purchases a customer will make, and whether they are alive.

    ``time_unit`` names the unit of recency, T and every horizon ``t`` given to the model
    (days, weeks, months or years); it is carried to :func:`customer_lifetime_value` so that
    horizons and discount rates are converted explicitly.

    Fitted attributes (after :meth:`fit`): ``r_``, ``alpha_``, ``a_``, ``b_``,
    ``log_likelihood_`` (sum over customers, natural log), ``n_customers_``, ``converged_``.

    >>> from funnelscope.analyses.value.simulate import simulate_bgnbd
    >>> d = simulate_bgnbd(2000, r=0.5, alpha=5.0, a=0.8, b=2.5, T=52.0, seed=1)
    >>> m = BetaGeoModel("weeks").fit(d["frequency"], d["recency"], d["T"])
    >>> round(m.r_, 2), round(m.alpha_, 2), round(m.a_, 2), round(m.b_, 2)
    (0.45, 4.41, 0.75, 2.05)
    >>> m.probability_alive([0, 3, 3], [0.0, 10.0, 50.0], [52.0, 52.0, 52.0]).round(3).tolist()
    [1.0, 0.046, 0.826]
    >>> m.expected_purchases(52, [0, 3, 3], [0.0, 10.0, 50.0], [52.0] * 3).round(3).tolist()
    [0.357, 0.119, 2.126]
    """

    def __init__(self, time_unit: str = "weeks") -> None:
        self.time_unit = canonical_unit(time_unit)

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, frequency: Any, recency: Any, T: Any, *, weights: Any = None) -> BetaGeoModel:
        """Fit r, alpha, a, b by maximum likelihood; return ``self``.

        ``weights`` (optional, one per row) counts how many customers each row stands for.
        Identical rows are pooled before optimising, so large inputs fit quickly.
        """
        x, tx, big_t, _ = repeat_purchase_arrays(frequency, recency, T)
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype="float64")
        if w.shape != x.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise InputError("weights must be one finite number >= 0 per customer.",
                             column="weights")
        rows, inverse = np.unique(np.column_stack([x, tx, big_t]), axis=0, return_inverse=True)
        pooled = np.bincount(inverse.ravel(), weights=w)
        log_likelihood = _PooledLogLikelihood(rows[:, 0], rows[:, 1], rows[:, 2])

        def neg_ll_natural(params: np.ndarray) -> float:
            if np.any(params <= 0):
                return np.inf
            # a plain weighted sum, not np.dot: BLAS dot spins up its threads on every call,
            # 60x slower for 40k rows on a busy 2-core machine (benchmarks/customers.py)
            return -float(np.sum(pooled * log_likelihood(params)))

        scale = max(float(np.mean(big_t)), 1e-9)
        start = np.log(np.array([0.5, scale / 2.0, 1.0, 1.0]))
        params, ll, converged = fit_positive(lambda v: neg_ll_natural(np.exp(v)), start,
                                             scale=float(w.sum()))
        self.r_, self.alpha_, self.a_, self.b_ = (float(p) for p in params)
        self.log_likelihood_ = ll
        self.n_customers_ = float(w.sum())
        self.converged_ = converged
        self._neg_ll = neg_ll_natural
        return self

    @property
    def params_(self) -> dict[str, float]:
        """Fitted parameters as a dict ``{"r", "alpha", "a", "b"}``."""
        self._check_fitted()
        return {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_}

    def parameters(self) -> pd.DataFrame:
        """Parameter table: estimate, standard error and Wald 95% interval for r, alpha, a, b."""
        self._check_fitted()
        return parameter_table(PARAMETERS, np.array(list(self.params_.values())), self._neg_ll)

    def _check_fitted(self) -> None:
        if not hasattr(self, "r_"):
            raise ConfigError("This BetaGeoModel is not fitted yet.",
                              hint="Call .fit(frequency, recency, T) first.")

    def _horizon(self, t: Any) -> float:
        try:
            value = float(t)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"t={t!r} must be a number of {self.time_unit}.") from exc
        if not np.isfinite(value) or value < 0:
            raise ConfigError(f"t={t!r} must be a time >= 0 in {self.time_unit}.")
        return value

    # -- predictions -------------------------------------------------------------------------
    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> pd.Series:
        """P(customer still alive at T | x, t_x, T) (FHL 2005 eq. 11); 1 when frequency is 0."""
        self._check_fitted()
        x, tx, big_t, ids = repeat_purchase_arrays(frequency, recency, T)
        return pd.Series(self._p_alive(x, tx, big_t), index=ids, name="probability_alive")

    def _p_alive(self, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds_dead = (np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0))
                             + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx)))
        return np.where(x > 0, 1.0 / (1.0 + np.exp(log_odds_dead)), 1.0)

    def expected_purchases(self, t: float, frequency: Any, recency: Any, T: Any) -> pd.Series:
        """Expected repeat purchases in the next ``t`` time units, given x, t_x, T (FHL eq. 10)."""
        self._check_fitted()
        t = self._horizon(t)
        x, tx, big_t, ids = repeat_purchase_arrays(frequency, recency, T)
        return pd.Series(self._conditional(t, x, tx, big_t), index=ids, name="expected_purchases")

    def _conditional(self, t: float, x: np.ndarray, tx: np.ndarray,
                     big_t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        if t == 0:
            return np.zeros_like(x)
        z = t / (alpha + big_t + t)
        head = (a + b + x - 1) / (a - 1)
        # ((alpha+T)/(alpha+T+t))^(r+x) = exp((r+x) log1p(-z)), exact for huge r + x too
        body = 1.0 - scaled_hyp2f1((r + x) * np.log1p(-z), r + x, b + x, a + b + x - 1, z)
        return head * body * self._p_alive(x, tx, big_t)

    def expected_purchases_new_customer(self, t: Any) -> np.ndarray | float:
        """Expected repeat purchases in (0, t] for a customer just acquired, E[X(t)] (FHL eq. 9)."""
        self._check_fitted()
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        ts = np.asarray(t, dtype="float64")
        if np.any(~np.isfinite(ts)) or np.any(ts < 0):
            raise ConfigError(f"t must be times >= 0 in {self.time_unit}.")
        z = ts / (alpha + ts)
        out = (a + b - 1) / (a - 1) * (1.0 - scaled_hyp2f1(r * np.log1p(-z), r, b, a + b - 1, z))
        return float(out) if np.ndim(out) == 0 else out

    def customer_predictions(self, t: float, frequency: Any, recency: Any, T: Any) -> pd.DataFrame:
        """Tidy table per customer: ``probability_alive`` and ``expected_purchases`` over ``t``."""
        self._check_fitted()
        t = self._horizon(t)
        x, tx, big_t, ids = repeat_purchase_arrays(frequency, recency, T)
        return pd.DataFrame({"probability_alive": self._p_alive(x, tx, big_t),
                             "expected_purchases": self._conditional(t, x, tx, big_t)}, index=ids)

    def __repr__(self) -> str:
        if not hasattr(self, "r_"):
            return f"BetaGeoModel(time_unit={self.time_unit!r}) (not fitted)"
        return (f"BetaGeoModel(time_unit={self.time_unit!r}): r={self.r_:.4g}, "
                f"alpha={self.alpha_:.4g}, a={self.a_:.4g}, b={self.b_:.4g}, "
                f"log_likelihood={self.log_likelihood_:.2f}")
