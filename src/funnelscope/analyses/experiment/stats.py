"""Statistics of A/B tests on conversion counts: pure functions (numpy and scipy only).

Conventions shared by every function (docs/experiments.md has the formulas):

* a group is ``(conversions, users)``; a *rate* is conversions / users, a fraction in [0, 1]
  (not a percentage); "control" is the baseline ``c``, "treatment" ``t``;
* every difference is treatment minus control; an absolute lift is in rate units
  (0.05 = 5 percentage points), a relative lift is t / c − 1 (0.25 = +25%);
* p-values are two-sided; ``alpha`` is the two-sided significance level, a confidence interval
  has level 1 − alpha;
* a value that is not defined for the data (a relative lift when the control converts nobody,
  a test with zero variance) is ``None``, never NaN, so results stay valid JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, special
from scipy import stats as st

#: GrowthBook's default sequential tuning parameter (the sample size where the always-valid
#: interval is tightest), docs.growthbook.io/statistics/sequential
DEFAULT_SEQUENTIAL_TUNING = 5000.0
#: sample-ratio mismatch is flagged below this p-value (GrowthBook and Optimizely use 0.001)
SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its two-sided confidence interval and p-value (H0: effect 0)."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    std_error: float | None = None

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "p_value": self.p_value}


def _check_group(conversions: float, users: float, label: str = "group") -> None:
    if not (users > 0):
        raise ValueError(f"{label}: users must be positive, got {users}")
    if conversions < 0 or conversions > users:
        raise ValueError(f"{label}: conversions must be between 0 and users ({users}), "
                         f"got {conversions}")


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    return float(st.norm.ppf(1 - alpha / 2))


def _two_sided_p(z: float) -> float:
    return float(2 * st.norm.sf(abs(z)))


# ----- classical tests ----------------------------------------------------------------------
def z_test_pooled(conv_c: int, n_c: int, conv_t: int, n_t: int) -> tuple[float | None, float | None]:
    """Two-proportion z test with the pooled rate under H0 (p_t = p_c).

    z = (p̂_t − p̂_c) / sqrt(p̄ (1 − p̄) (1/n_t + 1/n_c)), p̄ = (x_t + x_c) / (n_t + n_c);
    p-value two-sided from the standard normal. Equal to statsmodels
    ``proportions_ztest([x_t, x_c], [n_t, n_c])`` and to R's
    ``prop.test(c(x_t, x_c), c(n_t, n_c), correct = FALSE)`` (whose X-squared is z²).
    Returns ``(statistic, p_value)``; ``(None, None)`` when both groups convert all or none.
    """
    _check_group(conv_c, n_c, "control")
    _check_group(conv_t, n_t, "treatment")
    pooled = (conv_c + conv_t) / (n_c + n_t)
    var = pooled * (1 - pooled) * (1 / n_t + 1 / n_c)
    if var <= 0:
        return None, None
    z = (conv_t / n_t - conv_c / n_c) / math.sqrt(var)
    return float(z), _two_sided_p(z)


def chi2_test(table: Sequence[Sequence[int]], *, yates: bool = False) -> tuple[float | None, float | None]:
    """Pearson chi-square test of independence of a 2×k table of counts.

    Rows are (converted, not converted) or any two outcomes, columns the k variants (or the
    transpose: a k×2 table gives the same test). Exactly
    ``scipy.stats.chi2_contingency(table, correction=yates)``: Yates' continuity correction
    is applied only when ``yates`` and the table has one degree of freedom (2×2), as scipy and
    R's ``chisq.test`` do. Returns ``(statistic, p_value)``; ``(None, None)`` when an
    expected count is zero (a row or column of zeros).
    """
    arr = np.asarray(table, dtype=float)
    if arr.ndim != 2 or min(arr.shape) < 2:
        raise ValueError("chi2_test needs a table with at least 2 rows and 2 columns")
    if (arr < 0).any():
        raise ValueError("chi2_test: counts must not be negative")
    if (arr.sum(axis=0) == 0).any() or (arr.sum(axis=1) == 0).any():
        return None, None
    res = st.chi2_contingency(arr, correction=yates)
    return float(res.statistic), float(res.pvalue)


def fisher_exact(conv_c: int, n_c: int, conv_t: int, n_t: int) -> float:
    """Fisher's exact test of the 2×2 table [[x_t, n_t − x_t], [x_c, n_c − x_c]], two-sided.

    The two-sided p-value sums the probabilities of every table (hypergeometric, margins
    fixed) no more likely than the observed one, with R's relative tolerance 1e-7: equal to
    R's ``fisher.test(matrix(c(x_t, x_c, n_t - x_t, n_c - x_c), 2))$p.value`` and to
    ``scipy.stats.fisher_exact`` (which this calls). Returns the p-value.
    """
    _check_group(conv_c, n_c, "control")
    _check_group(conv_t, n_t, "treatment")
    res = st.fisher_exact([[conv_t, n_t - conv_t], [conv_c, n_c - conv_c]],
                          alternative="two-sided")
    return float(res.pvalue)


def welch_t_test(n_c: float, mean_c: float, var_c: float, n_t: float, mean_t: float,
                 var_t: float) -> tuple[float | None, float | None, float | None]:
    """Welch's unequal-variance t test of two means from summary statistics.

    ``var`` is the sample variance (divisor n − 1) of each group, in the metric's squared units.
    t = (m_t − m_c) / sqrt(v_t/n_t + v_c/n_c), degrees of freedom by Welch–Satterthwaite,
    p-value two-sided. Equal to ``scipy.stats.ttest_ind_from_stats(m_t, sqrt(v_t), n_t, m_c,
    sqrt(v_c), n_c, equal_var=False)`` and R's ``t.test(var.equal = FALSE)``.
    Returns ``(statistic, p_value, dof)``; all ``None`` when both variances are zero.
    """
    if n_c < 2 or n_t < 2:
        raise ValueError("welch_t_test needs at least 2 observations per group")
    if var_c < 0 or var_t < 0:
        raise ValueError("welch_t_test: variances must not be negative")
    a, b = var_t / n_t, var_c / n_c
    se2 = a + b
    if se2 <= 0:
        return None, None, None
    t = (mean_t - mean_c) / math.sqrt(se2)
    dof = se2 ** 2 / (a ** 2 / (n_t - 1) + b ** 2 / (n_c - 1))
    return float(t), float(2 * st.t.sf(abs(t), dof)), float(dof)


# ----- lifts --------------------------------------------------------------------------------
def absolute_lift(conv_c: int, n_c: int, conv_t: int, n_t: int, alpha: float = 0.05) -> Estimate:
    """Absolute lift p̂_t − p̂_c (rate units) with the unpooled normal (Wald) interval.

    se = sqrt(p̂_t (1 − p̂_t) / n_t + p̂_c (1 − p̂_c) / n_c); CI = diff ± z_{1−α/2} se; the
    p-value is the matching unpooled z test 2 Φ(−|diff| / se), so p < α exactly when the CI
    excludes 0. (The pooled test, :func:`z_test_pooled`, is the classical test of H0.)
    When se = 0 (both rates 0 or 1) the CI is the point and the p-value ``None``.
    """
    _check_group(conv_c, n_c, "control")
    _check_group(conv_t, n_t, "treatment")
    z = _z(alpha)
    pc, pt = conv_c / n_c, conv_t / n_t
    diff = pt - pc
    se = math.sqrt(pt * (1 - pt) / n_t + pc * (1 - pc) / n_c)
    if se == 0:
        return Estimate(diff, diff, diff, None, 0.0)
    return Estimate(diff, diff - z * se, diff + z * se, _two_sided_p(diff / se), se)


def relative_lift_variance(pc: float, vc: float, n_c: float, pt: float, vt: float,
                           n_t: float) -> float:
    """Delta-method variance of m_t / m_c − 1 for two independent sample means.

    Var ≈ v_t / (n_t m_c²) + v_c m_t² / (n_c m_c⁴), with v the per-unit variance (p (1 − p) for
    a conversion rate): GrowthBook's gbstats formula for relative effects.
    """
    return vt / (n_t * pc ** 2) + vc * pt ** 2 / (n_c * pc ** 4)


def relative_lift(conv_c: int, n_c: int, conv_t: int, n_t: int, alpha: float = 0.05) -> Estimate:
    """Relative lift p̂_t / p̂_c − 1 with a delta-method normal interval.

    se² = :func:`relative_lift_variance` with v = p̂ (1 − p̂); CI = lift ± z_{1−α/2} se;
    p-value 2 Φ(−|lift| / se) (so p < α exactly when the CI excludes 0). GrowthBook uses the
    same estimate and variance with a Welch t quantile; with conversion data the degrees of
    freedom are in the thousands and the two agree to ~3 decimals. Everything is ``None``
    when the control converts nobody (the lift is undefined).
    """
    _check_group(conv_c, n_c, "control")
    _check_group(conv_t, n_t, "treatment")
    z = _z(alpha)
    pc, pt = conv_c / n_c, conv_t / n_t
    if pc == 0:
        return Estimate(None, None, None, None, None)
    lift = pt / pc - 1
    se = math.sqrt(relative_lift_variance(pc, pc * (1 - pc), n_c, pt, pt * (1 - pt), n_t))
    if se == 0:
        return Estimate(lift, lift, lift, None, 0.0)
    return Estimate(lift, lift - z * se, lift + z * se, _two_sided_p(lift / se), se)


# ----- sequential (always valid) ------------------------------------------------------------
def sequential_rho(alpha: float = 0.05, tuning: float = DEFAULT_SEQUENTIAL_TUNING) -> float:
    """Mixing parameter ρ of the normal-mixture confidence sequence for a tuning parameter N*.

    ρ = sqrt((−2 ln α + ln(−2 ln α + 1)) / N*) (Waudby-Smith et al. 2023, eq. 161), the value
    GrowthBook uses: the sequence is tightest when the total sample size is near N*.
    """
    if tuning <= 0:
        raise ValueError(f"the sequential tuning parameter must be positive, got {tuning}")
    la = -2 * math.log(alpha)
    return math.sqrt((la + math.log(la + 1)) / tuning)


def sequential_interval(estimate: float, std_error: float, n: float, alpha: float = 0.05,
                        tuning: float = DEFAULT_SEQUENTIAL_TUNING) -> Estimate:
    """Always-valid (anytime) confidence interval and p-value, GrowthBook's sequential testing.

    For an estimate with standard error ``std_error`` from ``n`` units in total (both arms),
    with s² = se² n the per-unit variance and ρ from :func:`sequential_rho`:

    * half-width = s · sqrt(2 (nρ² + 1) / (n² ρ²) · ln(sqrt(nρ² + 1) / α))
      (asymptotic confidence sequence of Waudby-Smith et al. 2023, eq. 9; as in GrowthBook,
      docs.growthbook.io/statistics/sequential);
    * p-value = min(1, 1 / E) with the normal-mixture e-value
      E = exp(ρ² T² / (2 (nρ² + 1))) / sqrt(nρ² + 1), T² = n est² / se²
      (eq. 155, GrowthBook's sequential p-value).

    p < α exactly when the interval excludes 0, and the interval is always wider than the
    fixed-horizon z interval (its squared half-width in se units exceeds 2 ln(1/α) ≥ z²).
    Units are those of ``estimate`` (GrowthBook applies it to the relative lift).
    """
    if std_error is None or estimate is None:
        return Estimate(estimate, None, None, None, None)
    if std_error == 0:
        return Estimate(estimate, estimate, estimate, None, 0.0)
    rho = sequential_rho(alpha, tuning)
    nr2 = n * rho ** 2
    s2 = std_error ** 2 * n
    half = math.sqrt(s2) * math.sqrt(2 * (nr2 + 1) / (n * nr2) * math.log(math.sqrt(nr2 + 1) / alpha))
    t2 = n * estimate ** 2 / std_error ** 2
    log_e = rho ** 2 * t2 / (2 * (nr2 + 1)) - 0.5 * math.log(nr2 + 1)
    p = 1.0 if log_e <= 0 else math.exp(-log_e)
    return Estimate(estimate, estimate - half, estimate + half, min(1.0, p), std_error)


# ----- Bayesian (GrowthBook conventions) ----------------------------------------------------
def _beta_posterior(conversions: float, users: float, prior: tuple[float, float]) -> tuple[float, float]:
    return prior[0] + conversions, prior[1] + users - conversions


def chance_to_win(conv_c: int, n_c: int, conv_t: int, n_t: int,
                  prior: tuple[float, float] = (1.0, 1.0)) -> float:
    """Posterior probability that the treatment's rate beats the control's, P(p_t > p_c).

    GrowthBook's binomial Bayesian test (gbstats ``binomial_ab_test``): Beta(1, 1) priors give
    Beta(1 + x, 1 + n − x) posteriors; the log relative lift ln p_t − ln p_c is approximated
    as normal with the exact log-Beta moments, mean ψ(a_t) − ψ(a_t + b_t) − (ψ(a_c) − ψ(a_c +
    b_c)) and variance ψ₁(a_t) − ψ₁(a_t + b_t) + ψ₁(a_c) − ψ₁(a_c + b_c) (ψ digamma, ψ₁
    trigamma); the chance to win is Φ(mean / sd). A probability in [0, 1].
    """
    _check_group(conv_c, n_c, "control")
    _check_group(conv_t, n_t, "treatment")
    ac, bc = _beta_posterior(conv_c, n_c, prior)
    at, bt = _beta_posterior(conv_t, n_t, prior)
    mean = (special.digamma(at) - special.digamma(at + bt)) - (
        special.digamma(ac) - special.digamma(ac + bc))
    var = (special.polygamma(1, at) - special.polygamma(1, at + bt)
           + special.polygamma(1, ac) - special.polygamma(1, ac + bc))
    return float(st.norm.sf(0, loc=mean, scale=math.sqrt(var)))


def expected_loss(conv_c: int, n_c: int, conv_t: int, n_t: int,
                  prior: tuple[float, float] = (1.0, 1.0)) -> tuple[float, float]:
    """Expected loss ("risk") of shipping each arm, in absolute rate units, from the Beta
    posteriors (GrowthBook's ``risk``): ``(loss_if_control, loss_if_treatment)`` with
    loss_if_treatment = E[max(p_c − p_t, 0)] (what choosing the treatment costs when the
    control is really better) and loss_if_control = E[max(p_t − p_c, 0)].

    Computed exactly (up to quadrature error) from E[max(p_c, p_t)] = ∫ (1 − F_c(x) F_t(x)) dx
    over the posteriors' support, where gbstats uses 24-point Gauss–Jacobi quadrature; the two
    agree to numerical precision.
    """
    _check_group(conv_c, n_c, "control")
    _check_group(conv_t, n_t, "treatment")
    ac, bc = _beta_posterior(conv_c, n_c, prior)
    at, bt = _beta_posterior(conv_t, n_t, prior)
    dc, dt = st.beta(ac, bc), st.beta(at, bt)
    eps = 1e-13
    lo = max(0.0, min(dc.ppf(eps), dt.ppf(eps)))
    hi = min(1.0, max(dc.isf(eps), dt.isf(eps)))
    # centres and spreads as break points so quad sees both (possibly narrow) bumps
    points = sorted({float(x) for x in (dc.mean(), dt.mean(), dc.ppf(1e-4), dt.ppf(1e-4),
                                        dc.isf(1e-4), dt.isf(1e-4)) if lo < x < hi})
    area, _ = integrate.quad(lambda x: 1 - dc.cdf(x) * dt.cdf(x), lo, hi, points=points or None,
                             limit=200, epsabs=1e-13, epsrel=1e-10)
    e_max = lo + area
    return max(0.0, e_max - dc.mean()), max(0.0, e_max - dt.mean())


# ----- sample-ratio mismatch, multiple comparisons ------------------------------------------
def srm_test(users: Sequence[int], expected: Sequence[float] | None = None,
             threshold: float = SRM_THRESHOLD) -> dict:
    """Sample-ratio mismatch: chi-square goodness of fit of the users per variant against the
    planned split (``expected`` weights, any scale; default equal), k − 1 degrees of freedom,
    as ``scipy.stats.chisquare``. Returns ``{"statistic", "p_value", "ok"}``; ``ok`` is False
    (the assignment is broken, do not trust the comparison) when p < ``threshold`` (0.001).
    """
    obs = np.asarray(users, dtype=float)
    if obs.ndim != 1 or len(obs) < 2:
        raise ValueError("srm_test needs the users of at least 2 variants")
    weights = np.ones(len(obs)) if expected is None else np.asarray(expected, dtype=float)
    if len(weights) != len(obs) or (weights <= 0).any():
        raise ValueError("srm_test: give one positive expected weight per variant")
    exp = weights / weights.sum() * obs.sum()
    res = st.chisquare(obs, exp)
    p = float(res.pvalue)
    return {"statistic": float(res.statistic), "p_value": p, "ok": bool(p >= threshold)}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), equal to statsmodels
    ``multipletests(p, method="holm")[1]`` and R's ``p.adjust(p, "holm")``:
    p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j)) over the sorted p-values."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="mergesort")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out.tolist()


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (false discovery rate), equal to statsmodels
    ``multipletests(p, method="fdr_bh")[1]`` and R's ``p.adjust(p, "BH")``:
    p̃_(i) = min_{j ≥ i} min(1, m p_(j) / j) over the sorted p-values."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p, kind="mergesort")[::-1]  # largest first
    ranks = np.arange(m, 0, -1)
    adj = np.minimum(1.0, np.minimum.accumulate(m / ranks * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out.tolist()


# ----- power and sample size (R's power.prop.test) ------------------------------------------
def power_two_proportions(n: float, p1: float, p2: float, alpha: float = 0.05) -> float:
    """Power of the two-sided two-proportion test with ``n`` users per group, R's
    ``power.prop.test(n, p1, p2, sig.level = alpha)`` (strict = FALSE):
    Φ((sqrt(n) |p1 − p2| − z_{1−α/2} sqrt((p1 + p2)(q1 + q2) / 2)) / sqrt(p1 q1 + p2 q2))."""
    q1, q2 = 1 - p1, 1 - p2
    z = _z(alpha)
    num = math.sqrt(n) * abs(p1 - p2) - z * math.sqrt((p1 + p2) * (q1 + q2) / 2)
    return float(st.norm.cdf(num / math.sqrt(p1 * q1 + p2 * q2)))


def _check_rates(p1: float, p2: float | None = None) -> None:
    for p in (p1, p2):
        if p is not None and not 0 < p < 1:
            raise ValueError(f"rates must be strictly between 0 and 1, got {p}")


def sample_size_two_proportions(p1: float, p2: float, power: float = 0.8,
                                alpha: float = 0.05) -> float:
    """Users per group for a two-sided test of p1 vs p2 to reach ``power``: the n solving
    :func:`power_two_proportions` (R's ``power.prop.test(p1, p2, power)$n``, not rounded;
    round up for planning). Found with ``scipy.optimize.brentq`` as R's ``uniroot``.
    Example: p1 = 0.2, p2 = 0.25, power 0.8 → 1093.74 per group."""
    _check_rates(p1, p2)
    if p1 == p2:
        raise ValueError("p1 and p2 must differ")
    if not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1, got {power}")
    hi = 10.0
    while power_two_proportions(hi, p1, p2, alpha) < power:
        hi *= 10
        if hi > 1e15:
            raise ValueError("no sample size reaches that power")
    return float(optimize.brentq(lambda n: power_two_proportions(n, p1, p2, alpha) - power,
                                 2.0 if power_two_proportions(2.0, p1, p2, alpha) < power else 1e-9,
                                 hi, xtol=1e-10, rtol=1e-14))


def mde_two_proportions(n: float, p1: float, power: float = 0.8, alpha: float = 0.05,
                        *, relative: bool = False) -> float:
    """Minimum detectable effect with ``n`` users per group: the p2 > p1 that
    :func:`power_two_proportions` detects with ``power`` (R's ``power.prop.test(n, p1,
    power)$p2``), returned as p2 − p1 (absolute, rate units) or p2 / p1 − 1 (``relative``)."""
    _check_rates(p1)
    if n <= 0:
        raise ValueError("n must be positive")
    top = 1 - 1e-10
    if power_two_proportions(n, p1, top, alpha) < power:
        raise ValueError(f"no effect above a baseline of {p1} reaches power {power} with {n} "
                         "users per group")
    p2 = float(optimize.brentq(lambda q: power_two_proportions(n, p1, q, alpha) - power,
                               p1 + 1e-12, top, xtol=1e-14, rtol=1e-14))
    return p2 / p1 - 1 if relative else p2 - p1


def run_days(users_per_variant: float, variants: int, daily_users: float) -> int:
    """Days to reach ``users_per_variant`` in each of ``variants`` arms when ``daily_users``
    new users enter the experiment per day, split equally: ceil(n · k / daily users)."""
    if daily_users <= 0:
        raise ValueError("daily users must be positive")
    return int(math.ceil(math.ceil(users_per_variant) * variants / daily_users))
