"""Rates with 95% Wilson intervals, and quantiles, for the small per-stage tables."""

from __future__ import annotations

import numpy as np


def rate(successes: int, trials: int) -> float | None:
    """successes / trials, None when there are no trials."""
    return successes / trials if trials else None


def wilson(successes, trials, confidence: float = 0.95):
    """95% Wilson score interval(s), via statsmodels ``proportion_confint(method="wilson")``.

    Scalars give ``(low, high)``; arrays give two object arrays. No trials -> None.
    """
    from statsmodels.stats.proportion import proportion_confint

    scalar = np.ndim(successes) == 0 and np.ndim(trials) == 0
    s = np.atleast_1d(np.asarray(successes, dtype="float64"))
    n = np.atleast_1d(np.asarray(trials, dtype="float64"))
    ok = n > 0
    lo = np.full(len(n), None, dtype=object)
    hi = np.full(len(n), None, dtype=object)
    if ok.any():
        a, b = proportion_confint(s[ok], n[ok], alpha=1 - confidence, method="wilson")
        # the interval always contains the observed rate; clear float noise at 0 and 1
        lo[ok] = [0.0 if k == 0 else float(max(0.0, x))
                  for k, x in zip(s[ok], np.atleast_1d(a), strict=True)]
        hi[ok] = [1.0 if k == m else float(min(1.0, x))
                  for k, m, x in zip(s[ok], n[ok], np.atleast_1d(b), strict=True)]
    if scalar:
        return lo[0], hi[0]
    return lo, hi


def quantile(x: np.ndarray, q: float) -> float | None:
    """Linear-interpolation quantile (numpy's default) of the non-missing values; None if empty."""
    x = np.asarray(x, dtype="float64")
    x = x[~np.isnan(x)]
    return float(np.quantile(x, q)) if len(x) else None


def mean(x: np.ndarray) -> float | None:
    x = np.asarray(x, dtype="float64")
    x = x[~np.isnan(x)]
    return float(x.mean()) if len(x) else None
