"""Maximum likelihood helpers: optimise in log-parameter space, numerical Hessian, SE table."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize


def fit_positive(neg_ll: Callable[[np.ndarray], float], start: np.ndarray,
                 scale: float = 1.0) -> tuple[np.ndarray, float, bool]:
    """Minimise ``neg_ll(log_params) / scale``; return (params, log-likelihood, converged).

    Nelder-Mead from ``start`` (robust to a poor start), then BFGS from its optimum to polish.
    ``scale`` (the number of customers) makes the tolerances per customer: a sum over a
    million customers (~1e6) has no float resolution left at Nelder-Mead's ``fatol`` (1e-10),
    so unscaled it ran to ``maxfev`` (40,000 evaluations; benchmarks/customers.py).
    """
    scale = max(float(scale), 1.0)

    def safe(v: np.ndarray) -> float:
        value = neg_ll(v)
        return float(value) / scale if np.isfinite(value) else 1e300

    first = minimize(safe, start, method="Nelder-Mead",
                     options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000, "maxfev": 40000})
    second = minimize(safe, first.x, method="BFGS", options={"gtol": 1e-8, "maxiter": 2000})
    best = second if second.fun <= first.fun else first
    converged = bool(first.success or second.success)
    return np.exp(best.x), -float(neg_ll(best.x)), converged


def hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x`` (relative step on each coordinate)."""
    n = len(x)
    h = step * np.maximum(np.abs(x), 1.0)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            ei = np.zeros(n)
            ej = np.zeros(n)
            ei[i] = h[i]
            ej[j] = h[j]
            value = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * h[i] * h[j])
            out[i, j] = out[j, i] = value
    return out


def parameter_table(names: Sequence[str], params: np.ndarray,
                    neg_ll_natural: Callable[[np.ndarray], float]) -> pd.DataFrame:
    """Estimates with standard errors from the inverse observed information (natural scale).

    Columns: parameter, estimate, standard_error, ci_lower, ci_upper (Wald 95%). Standard errors
    are NaN when the Hessian is not positive definite (e.g. a parameter at a boundary).
    """
    with np.errstate(all="ignore"):
        hess = hessian(neg_ll_natural, np.asarray(params, dtype=float))
        try:
            cov = np.linalg.inv(hess)
            se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        except np.linalg.LinAlgError:
            se = np.full(len(params), np.nan)
    return pd.DataFrame({
        "parameter": list(names),
        "estimate": params,
        "standard_error": se,
        "ci_lower": params - 1.96 * se,
        "ci_upper": params + 1.96 * se,
    })
