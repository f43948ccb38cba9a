"""Small statistics shared by analyses: Wilson intervals and 2x2 chi-square tests."""

from __future__ import annotations

import math
from statistics import NormalDist


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval for a proportion; (None, None) when there are no trials.

    Same as statsmodels' ``proportion_confint(method="wilson")`` (checked in the tests).
    """
    if trials <= 0:
        return None, None
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)  # exact ends, no 0.999…9
    return low, high


def chi_square_2x2(a: int, b: int, c: int, d: int) -> tuple[float | None, float | None]:
    """Pearson chi-square (no continuity correction) of [[a, b], [c, d]]: (statistic, p-value).

    None when a row or column total is zero (the test is undefined). Same as
    ``scipy.stats.chi2_contingency(..., correction=False)`` (checked in the tests); written out
    here so the CLI does not pay scipy's import time.
    """
    n = a + b + c + d
    rows, cols = (a + b, c + d), (a + c, b + d)
    if min(*rows, *cols) <= 0:
        return None, None
    observed = ((a, b), (c, d))
    chi2 = sum(
        (observed[i][j] - rows[i] * cols[j] / n) ** 2 / (rows[i] * cols[j] / n)
        for i in range(2) for j in range(2)
    )
    # one degree of freedom: P(X > chi2) = erfc(sqrt(chi2 / 2))
    return float(chi2), float(math.erfc(math.sqrt(chi2 / 2)))
