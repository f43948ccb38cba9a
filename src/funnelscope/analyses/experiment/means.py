"""Compare the mean of a per-user metric between a control and a treatment (no workspace).

Pure functions on per-variant summaries (n, mean, sample variance, and for CUPED the
covariate's mean, variance and covariance), which the engine computes in SQL: the per-user
values never reach Python. Conventions as in :mod:`.stats` (treatment − control, two-sided,
``None`` for undefined numbers); the formulas are in docs/experiments.md.

* :func:`compare_means` — Welch t test, absolute lift (metric units) and relative lift
  (delta method) with Welch t intervals, GrowthBook's sequential interval on the relative lift
  and a Gaussian Bayesian chance to win and expected loss.
* :func:`cuped` — CUPED (Deng et al. 2013) from the summaries: θ = pooled within-variant
  cov(Y, X) / var(X), Y_adj = Y − θ (X − mean X over all users); the adjusted summaries and
  the variance reduction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from scipy import stats as st

from funnelscope.analyses.experiment import stats as S


@dataclass(frozen=True)
class Summary:
    """One variant's per-user metric: ``n`` users, ``mean`` and sample ``variance`` (divisor
    n − 1; None when n < 2) of the metric Y, in the metric's units (squared for variance).
    For CUPED: ``x_mean``, ``x_variance`` of the pre-period covariate X and ``covariance``
    (sample) of Y and X."""

    n: int
    mean: float
    variance: float | None
    x_mean: float | None = None
    x_variance: float | None = None
    covariance: float | None = None


def _t_quantile(alpha: float, dof: float | None) -> float:
    if dof is None or not math.isfinite(dof):
        return float(st.norm.ppf(1 - alpha / 2))
    return float(st.t.ppf(1 - alpha / 2, dof))


def _t_p(stat: float, dof: float | None) -> float:
    if dof is None or not math.isfinite(dof):
        return float(2 * st.norm.sf(abs(stat)))
    return float(2 * st.t.sf(abs(stat), dof))


def _none_estimate() -> dict:
    return {"estimate": None, "ci_low": None, "ci_high": None, "p_value": None}


def compare_means(control: Summary, treatment: Summary, alpha: float = 0.05,
                  tuning: float = S.DEFAULT_SEQUENTIAL_TUNING) -> dict:
    """Treatment vs control on a mean metric: the comparison blocks of docs/experiments.md.

    * ``tests.welch``: Welch's t (:func:`.stats.welch_t_test`, = scipy
      ``ttest_ind_from_stats(equal_var=False)``): statistic, two-sided p, Welch–Satterthwaite
      degrees of freedom.
    * ``absolute``: d = m_t − m_c (metric units), se = √(v_t/n_t + v_c/n_c), CI d ± t·se with
      the Welch t quantile; its p-value is the Welch test's.
    * ``relative``: r = m_t/m_c − 1 with the delta-method se of
      :func:`.stats.relative_lift_variance` (GrowthBook), CI r ± t·se, p = 2 P(T > |r|/se),
      same degrees of freedom; None when the control mean is 0.
    * ``sequential``: :func:`.stats.sequential_interval` on the relative lift, N = n_c + n_t.
    * ``bayesian``: flat prior, normal posterior of the effect (GrowthBook's Gaussian
      approximation): chance to win = Φ(r/se_r) (Φ(d/se) when r is undefined); expected loss
      of shipping the treatment E[max(−δ, 0)] and of keeping the control E[max(δ, 0)] for
      δ ~ N(d, se²), in metric units.

    A group with fewer than 2 users gives ``None`` everywhere.
    """
    out = {"absolute": _none_estimate(), "relative": _none_estimate(),
           "sequential": {"ci_low": None, "ci_high": None, "p_value": None,
                          "scale": "relative", "tuning": float(tuning)},
           "bayesian": {"chance_to_win": None, "expected_loss": None,
                        "expected_loss_control": None},
           "tests": {"welch": {"statistic": None, "p_value": None, "dof": None}}}
    if control.n < 2 or treatment.n < 2 or control.variance is None or treatment.variance is None:
        return out
    nc, mc, vc = control.n, control.mean, max(0.0, control.variance)
    nt, mt, vt = treatment.n, treatment.mean, max(0.0, treatment.variance)
    stat, p, dof = S.welch_t_test(nc, mc, vc, nt, mt, vt)
    out["tests"]["welch"] = {"statistic": stat, "p_value": p, "dof": dof}
    d = mt - mc
    se = math.sqrt(vt / nt + vc / nc)
    q = _t_quantile(alpha, dof)
    if se == 0:
        out["absolute"] = {"estimate": d, "ci_low": d, "ci_high": d, "p_value": None}
    else:
        out["absolute"] = {"estimate": d, "ci_low": d - q * se, "ci_high": d + q * se,
                           "p_value": p}
    se_r = None
    r = None
    if mc != 0:
        r = mt / mc - 1
        se_r = math.sqrt(S.relative_lift_variance(mc, vc, nc, mt, vt, nt))
        if se_r == 0:
            out["relative"] = {"estimate": r, "ci_low": r, "ci_high": r, "p_value": None}
        else:
            out["relative"] = {"estimate": r, "ci_low": r - q * se_r, "ci_high": r + q * se_r,
                               "p_value": _t_p(r / se_r, dof)}
        seq = S.sequential_interval(r, se_r, nc + nt, alpha, tuning)
        out["sequential"].update(ci_low=seq.ci_low, ci_high=seq.ci_high, p_value=seq.p_value)
    if se > 0:
        z = d / se
        phi = float(st.norm.pdf(z))
        out["bayesian"] = {
            "chance_to_win": float(st.norm.cdf(r / se_r)) if se_r else float(st.norm.cdf(z)),
            "expected_loss": se * phi - d * float(st.norm.cdf(-z)),
            "expected_loss_control": se * phi + d * float(st.norm.cdf(z)),
        }
    else:
        out["bayesian"] = {"chance_to_win": 1.0 if d > 0 else 0.0 if d < 0 else 0.5,
                           "expected_loss": max(-d, 0.0), "expected_loss_control": max(d, 0.0)}
    return out


@dataclass(frozen=True)
class Cuped:
    """CUPED of one metric: ``theta``, the adjusted summaries (same order as given),
    ``variance_reduction`` = 1 − pooled within-variant var(Y_adj) / var(Y) (a fraction; 0.3 =
    the metric's variance fell by 30 %), and ``covariate_mean`` (mean X over all users)."""

    theta: float | None
    adjusted: list[Summary]
    variance_reduction: float | None
    covariate_mean: float | None


def cuped(groups: Sequence[Summary]) -> Cuped:
    """CUPED adjustment from per-variant summaries of Y and the pre-period covariate X.

    θ = Σ_v (n_v − 1) cov_v(Y, X) / Σ_v (n_v − 1) var_v(X), the within-variant (pooled)
    regression slope, so the adjusted difference of means equals the treatment coefficient of
    the OLS regression Y ~ treatment + (X − mean X) exactly (Frisch–Waugh–Lovell). Per variant:
    mean(Y_adj) = mean(Y) − θ (mean_v(X) − mean(X)), var(Y_adj) = var(Y) − 2θ cov + θ² var(X).
    When X does not vary within the variants θ is None and nothing is adjusted.
    """
    ok = [g.n >= 2 and g.variance is not None for g in groups]
    usable = [g for g, u in zip(groups, ok, strict=True) if u]
    sxx = sum((g.n - 1) * (g.x_variance or 0.0) for g in usable)
    sxy = sum((g.n - 1) * (g.covariance or 0.0) for g in usable)
    syy = sum((g.n - 1) * g.variance for g in usable)
    total = sum(g.n for g in groups)
    x_all = sum(g.n * (g.x_mean or 0.0) for g in groups) / total if total else None
    if sxx <= 0 or x_all is None:
        return Cuped(None, list(groups), 0.0 if syy > 0 else None, x_all)
    theta = sxy / sxx
    adjusted = []
    for g in groups:
        mean = g.mean - theta * ((g.x_mean or 0.0) - x_all)
        var = None
        if g.variance is not None:
            var = max(0.0, g.variance - 2 * theta * (g.covariance or 0.0)
                      + theta ** 2 * (g.x_variance or 0.0))
        adjusted.append(replace(g, mean=mean, variance=var))
    s_adj = sum((g.n - 1) * a.variance for g, a, u in zip(groups, adjusted, ok, strict=True)
                if u and a.variance is not None)
    reduction = 1 - s_adj / syy if syy > 0 else None
    return Cuped(theta, adjusted, reduction, x_all)
