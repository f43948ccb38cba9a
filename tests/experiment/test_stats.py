"""funnelscope.analyses.experiment.stats against independent oracles.

Oracles: scipy.stats (chi2_contingency, fisher_exact, ttest_ind_from_stats, chisquare),
statsmodels (proportions_ztest, multipletests, NormalIndPower), numbers R printed (the R call
beside each), exact Beta-posterior probabilities (Evan Miller's closed form) and Monte Carlo
draws, and a seeded simulation of many experiments for the delta-method CI's coverage.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import stats as st
from scipy.special import betaln
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    proportion_effectsize,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)

from funnelscope.analyses.experiment import stats as S


@hs.composite
def two_groups(draw, min_users=1, max_users=5000):
    n_c = draw(hs.integers(min_users, max_users))
    n_t = draw(hs.integers(min_users, max_users))
    return draw(hs.integers(0, n_c)), n_c, draw(hs.integers(0, n_t)), n_t


@hs.composite
def informative_groups(draw, max_users=20000):
    """Both rates strictly inside (0, 1)."""
    n_c = draw(hs.integers(20, max_users))
    n_t = draw(hs.integers(20, max_users))
    return draw(hs.integers(1, n_c - 1)), n_c, draw(hs.integers(1, n_t - 1)), n_t


# ----- classical tests ----------------------------------------------------------------------
FIXED = [(200, 1000, 250, 1000), (12, 480, 25, 510), (0, 100, 3, 100), (530, 10000, 600, 9800),
         (1, 7, 5, 9)]


@pytest.mark.parametrize("xc,nc,xt,nt", FIXED)
def test_z_pooled_equals_statsmodels_and_chi2(xc, nc, xt, nt):
    z, p = S.z_test_pooled(xc, nc, xt, nt)
    z_sm, p_sm = proportions_ztest([xt, xc], [nt, nc])
    assert z == pytest.approx(z_sm, rel=1e-12) and p == pytest.approx(p_sm, rel=1e-10)
    chi2, p_chi2 = S.chi2_test([[xt, xc], [nt - xt, nc - xc]], yates=False)
    assert chi2 == pytest.approx(z * z, rel=1e-10) and p_chi2 == pytest.approx(p, rel=1e-9)


@settings(max_examples=150, deadline=None)
@given(two_groups())
def test_tests_equal_scipy_and_statsmodels_on_random_counts(g):
    xc, nc, xt, nt = g
    z, p = S.z_test_pooled(xc, nc, xt, nt)
    if xc + xt in (0, nc + nt):
        assert (z, p) == (None, None)
    else:
        z_sm, p_sm = proportions_ztest([xt, xc], [nt, nc])
        assert z == pytest.approx(z_sm, rel=1e-9, abs=1e-12)
        assert p == pytest.approx(p_sm, rel=1e-9, abs=1e-15)
    table = [[xt, xc], [nt - xt, nc - xc]]
    for yates in (False, True):
        stat, pv = S.chi2_test(table, yates=yates)
        if xc + xt in (0, nc + nt):
            assert (stat, pv) == (None, None)
        else:
            ref = st.chi2_contingency(table, correction=yates)
            assert stat == pytest.approx(ref.statistic, rel=1e-12, abs=1e-12)
            assert pv == pytest.approx(ref.pvalue, rel=1e-12)
    assert S.fisher_exact(xc, nc, xt, nt) == pytest.approx(st.fisher_exact(table).pvalue, rel=1e-12)


def test_chi2_2xk_with_and_without_yates_equals_scipy():
    table = [[200, 250, 215], [800, 750, 785]]
    for yates in (False, True):  # Yates only applies to 1 degree of freedom: identical here
        stat, p = S.chi2_test(table, yates=yates)
        ref = st.chi2_contingency(table, correction=yates)
        assert (stat, p) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    assert S.chi2_test(table, yates=True) == S.chi2_test(table, yates=False)
    assert S.chi2_test([[1, 2], [3, 4]], yates=True)[0] < S.chi2_test([[1, 2], [3, 4]])[0]


def test_fisher_exact_r_numbers():
    # R: fisher.test(matrix(c(3, 1, 1, 3), 2))$p.value  (Fisher's tea tasting) = 0.4857143
    assert S.fisher_exact(1, 4, 3, 4) == pytest.approx(0.4857143, abs=1e-7)
    # R: fisher.test(matrix(c(250, 200, 750, 800), 2))$p.value, cross-checked with scipy
    assert S.fisher_exact(200, 1000, 250, 1000) == pytest.approx(
        st.fisher_exact([[250, 750], [200, 800]]).pvalue, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(n_c=hs.integers(2, 10_000), n_t=hs.integers(2, 10_000),
       m_c=hs.floats(-100, 100), m_t=hs.floats(-100, 100),
       v_c=hs.floats(0.01, 1000), v_t=hs.floats(0.01, 1000))
def test_welch_equals_scipy_ttest_ind_from_stats(n_c, n_t, m_c, m_t, v_c, v_t):
    t, p, dof = S.welch_t_test(n_c, m_c, v_c, n_t, m_t, v_t)
    ref = st.ttest_ind_from_stats(m_t, math.sqrt(v_t), n_t, m_c, math.sqrt(v_c), n_c,
                                  equal_var=False)
    assert t == pytest.approx(ref.statistic, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-7, abs=1e-15)
    assert dof >= min(n_c, n_t) - 1 - 1e-9


# ----- lifts --------------------------------------------------------------------------------
def test_lifts_by_hand():
    a = S.absolute_lift(200, 1000, 250, 1000)
    se = math.sqrt(0.25 * 0.75 / 1000 + 0.2 * 0.8 / 1000)
    assert a.estimate == pytest.approx(0.05)
    assert (a.ci_low, a.ci_high) == pytest.approx((0.05 - 1.959963985 * se, 0.05 + 1.959963985 * se))
    r = S.relative_lift(200, 1000, 250, 1000)
    se_r = math.sqrt(0.25 * 0.75 / (1000 * 0.04) + 0.0625 * 0.16 / (1000 * 0.2 ** 4))
    assert r.estimate == pytest.approx(0.25) and r.std_error == pytest.approx(se_r)
    assert r.p_value == pytest.approx(2 * st.norm.sf(0.25 / se_r))
    assert S.relative_lift(0, 100, 5, 100).estimate is None
    assert S.absolute_lift(0, 100, 0, 100).p_value is None


@settings(max_examples=150, deadline=None)
@given(informative_groups(), hs.sampled_from([0.01, 0.05, 0.1]))
def test_p_value_below_alpha_exactly_when_ci_excludes_zero(g, alpha):
    for est in (S.absolute_lift(*g, alpha=alpha), S.relative_lift(*g, alpha=alpha)):
        if abs(est.p_value - alpha) > 1e-9:
            assert (est.p_value < alpha) == (est.ci_low > 0 or est.ci_high < 0)


def test_delta_method_ci_covers_the_true_relative_lift_95_percent_of_the_time():
    """3,000 simulated experiments (seeded): p_c = 0.10, p_t = 0.12, 4,000 users per arm."""
    rng = np.random.default_rng(20260101)
    pc, pt, n, runs = 0.10, 0.12, 4000, 3000
    truth = pt / pc - 1
    xc, xt = rng.binomial(n, pc, runs), rng.binomial(n, pt, runs)
    covered = 0
    for a, b in zip(xc, xt, strict=True):
        r = S.relative_lift(int(a), n, int(b), n)
        covered += r.ci_low <= truth <= r.ci_high
    coverage = covered / runs
    # binomial SE of the coverage is 0.004: 0.95 ± 0.015 is about 3.7 SE
    assert 0.935 <= coverage <= 0.965, coverage
    # the absolute-lift (Wald) interval too
    hits = sum(S.absolute_lift(int(a), n, int(b), n).ci_low <= pt - pc
               <= S.absolute_lift(int(a), n, int(b), n).ci_high for a, b in zip(xc, xt, strict=True))
    assert 0.935 <= hits / runs <= 0.965


# ----- sequential ---------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(informative_groups(max_users=200_000), hs.sampled_from([0.01, 0.05, 0.1]),
       hs.sampled_from([100.0, 5000.0, 1e6]))
def test_sequential_ci_contains_the_fixed_horizon_ci(g, alpha, tuning):
    xc, nc, xt, nt = g
    fixed = S.relative_lift(xc, nc, xt, nt, alpha)
    seq = S.sequential_interval(fixed.estimate, fixed.std_error, nc + nt, alpha, tuning)
    assert seq.ci_low < fixed.ci_low and seq.ci_high > fixed.ci_high
    assert seq.p_value >= fixed.p_value - 1e-12
    if abs(seq.p_value - alpha) > 1e-9:  # the p-value and the interval agree
        assert (seq.p_value < alpha) == (seq.ci_low > 0 or seq.ci_high < 0)


def test_sequential_formula_by_hand():
    """GrowthBook's formula (docs.growthbook.io/statistics/sequential) written out."""
    est, se, n, alpha, tuning = 0.25, 0.1, 2000, 0.05, 5000
    rho = math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning)
    s2 = se ** 2 * n
    half = math.sqrt(s2) * math.sqrt(2 * (n * rho ** 2 + 1) / (n ** 2 * rho ** 2)
                                     * math.log(math.sqrt(n * rho ** 2 + 1) / alpha))
    seq = S.sequential_interval(est, se, n, alpha, tuning)
    assert (seq.ci_low, seq.ci_high) == pytest.approx((est - half, est + half), rel=1e-12)
    e_value = math.exp(rho ** 2 * (n * est ** 2 / se ** 2) / (2 * (n * rho ** 2 + 1))) / math.sqrt(
        n * rho ** 2 + 1)
    assert seq.p_value == pytest.approx(min(1, 1 / e_value), rel=1e-12)


def test_sequential_is_tightest_near_the_tuning_parameter():
    def width(n, tuning):
        s = S.sequential_interval(0.0, 1 / math.sqrt(n), n, 0.05, tuning)
        return (s.ci_high - s.ci_low) * math.sqrt(n)  # in units of the fixed-horizon se

    widths = {t: width(5000, t) for t in (50, 500, 5000, 50_000, 500_000)}
    assert min(widths, key=widths.get) in (500, 5000)


# ----- Bayesian -----------------------------------------------------------------------------
def _exact_prob_b_beats_a(aa, ba, ab, bb):
    """P(p_B > p_A) for Beta posteriors with integer ab (Evan Miller's closed form)."""
    i = np.arange(int(ab))
    terms = betaln(aa + i, ba + bb) - np.log(bb + i) - betaln(1 + i, bb) - betaln(aa, ba)
    return float(np.exp(terms).sum())


@pytest.mark.parametrize("xc,nc,xt,nt", [(200, 1000, 250, 1000), (100, 1000, 104, 1000),
                                         (530, 10000, 500, 9800), (30, 300, 20, 280)])
def test_chance_to_win_close_to_the_exact_beta_probability(xc, nc, xt, nt):
    exact = _exact_prob_b_beats_a(1 + xc, 1 + nc - xc, 1 + xt, 1 + nt - xt)
    # GrowthBook's normal approximation of the log lift: within half a percentage point
    assert S.chance_to_win(xc, nc, xt, nt) == pytest.approx(exact, abs=0.005)


def test_chance_to_win_gbstats_formula_and_symmetry():
    from scipy.special import digamma, polygamma

    a = (201, 801, 251, 751)
    mean = digamma(a[2]) - digamma(a[2] + a[3]) - digamma(a[0]) + digamma(a[0] + a[1])
    var = (polygamma(1, a[2]) - polygamma(1, a[2] + a[3]) + polygamma(1, a[0])
           - polygamma(1, a[0] + a[1]))
    assert S.chance_to_win(200, 1000, 250, 1000) == pytest.approx(
        st.norm.sf(0, mean, math.sqrt(var)), rel=1e-12)
    assert S.chance_to_win(200, 1000, 250, 1000) + S.chance_to_win(250, 1000, 200, 1000) == \
        pytest.approx(1.0, abs=1e-12)
    assert S.chance_to_win(300, 1000, 300, 1000) == pytest.approx(0.5)


@pytest.mark.parametrize("xc,nc,xt,nt", [(200, 1000, 250, 1000), (100, 1000, 104, 1000),
                                         (3, 50, 1, 40), (5000, 100000, 5100, 100000)])
def test_expected_loss_matches_monte_carlo(xc, nc, xt, nt):
    rng = np.random.default_rng(7)
    draws = 2_000_000
    pc = rng.beta(1 + xc, 1 + nc - xc, draws)
    pt = rng.beta(1 + xt, 1 + nt - xt, draws)
    loss_control, loss_treatment = S.expected_loss(xc, nc, xt, nt)
    for got, sample in ((loss_treatment, np.maximum(pc - pt, 0)),
                        (loss_control, np.maximum(pt - pc, 0))):
        se = sample.std() / math.sqrt(draws)
        assert abs(got - sample.mean()) < 5 * se + 1e-9, (got, sample.mean(), se)
    # identity: E[max(t - c, 0)] - E[max(c - t, 0)] = E[p_t] - E[p_c]
    assert loss_control - loss_treatment == pytest.approx(
        (1 + xt) / (2 + nt) - (1 + xc) / (2 + nc), abs=1e-9)


# ----- SRM, multiple comparisons ------------------------------------------------------------
def test_srm_flags_a_10_percent_imbalance_at_10000_users_not_a_balanced_split():
    bad = S.srm_test([4762, 5238])  # 10% more users in B than in A, 10,000 in total
    assert bad["p_value"] < 0.001 and bad["ok"] is False
    assert bad["p_value"] == pytest.approx(st.chisquare([4762, 5238]).pvalue, rel=1e-12)
    good = S.srm_test([5010, 4990])
    assert good["ok"] is True and good["p_value"] > 0.5
    planned = S.srm_test([2000, 8000], expected=[20, 80])  # an uneven split as planned
    assert planned["ok"] is True and planned["p_value"] == pytest.approx(1.0)
    three = S.srm_test([3400, 3300, 3300])
    assert three["p_value"] == pytest.approx(st.chisquare([3400, 3300, 3300]).pvalue)


@settings(max_examples=200, deadline=None)
@given(hs.lists(hs.floats(0, 1), min_size=1, max_size=12))
def test_holm_and_bh_equal_statsmodels(ps):
    assert S.holm(ps) == pytest.approx(list(multipletests(ps, method="holm")[1]), abs=1e-12)
    assert S.benjamini_hochberg(ps) == pytest.approx(
        list(multipletests(ps, method="fdr_bh")[1]), abs=1e-12)


def test_adjustments_r_numbers():
    p = [0.01, 0.02, 0.03, 0.04, 0.05]
    # R: p.adjust(c(.01,.02,.03,.04,.05), "holm") = 0.05 0.08 0.09 0.09 0.09
    assert S.holm(p) == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])
    # R: p.adjust(c(.01,.02,.03,.04,.05), "BH") = 0.05 0.05 0.05 0.05 0.05
    assert S.benjamini_hochberg(p) == pytest.approx([0.05] * 5)
    assert S.holm([]) == [] and S.benjamini_hochberg([]) == []


# ----- power and sample size ----------------------------------------------------------------
def test_sample_size_r_power_prop_test():
    # R: power.prop.test(p1 = 0.2, p2 = 0.25, power = 0.8)  ->  n = 1093.739
    assert S.sample_size_two_proportions(0.2, 0.25) == pytest.approx(1093.739, abs=1e-3)
    # R (help page example): power.prop.test(n = 50, p1 = .50, p2 = .75)  ->  power = 0.7401659
    assert S.power_two_proportions(50, 0.5, 0.75) == pytest.approx(0.7401659, abs=1e-7)
    # the sample size that gives a power gives that power back, and MDE inverts it
    n = S.sample_size_two_proportions(0.5, 0.75, power=0.9)
    assert S.power_two_proportions(n, 0.5, 0.75) == pytest.approx(0.9, abs=1e-10)
    assert S.mde_two_proportions(n, 0.5, power=0.9) == pytest.approx(0.25, abs=1e-8)
    assert S.mde_two_proportions(n, 0.5, power=0.9, relative=True) == pytest.approx(0.5, abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(p1=hs.floats(0.01, 0.9), lift=hs.floats(0.02, 0.5), power=hs.floats(0.5, 0.95),
       alpha=hs.sampled_from([0.01, 0.05, 0.1]))
def test_sample_size_equals_statsmodels_power_prop_test_formula(p1, lift, power, alpha):
    """statsmodels' samplesize_proportions_2indep_onetail is R's power.prop.test formula."""
    p2 = min(p1 * (1 + lift), 0.99)
    ours = S.sample_size_two_proportions(p1, p2, power=power, alpha=alpha)
    theirs = samplesize_proportions_2indep_onetail(p2 - p1, p1, power, alpha=alpha,
                                                   alternative="two-sided")
    assert ours == pytest.approx(theirs, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(p1=hs.floats(0.05, 0.5), lift=hs.floats(0.05, 0.3), power=hs.floats(0.6, 0.95))
def test_sample_size_close_to_statsmodels_normal_ind_power(p1, lift, power):
    """NormalIndPower uses Cohen's arcsine effect size h, another approximation: within 3%
    away from the extremes."""
    p2 = p1 * (1 + lift)
    ours = S.sample_size_two_proportions(p1, p2, power=power)
    theirs = NormalIndPower().solve_power(proportion_effectsize(p2, p1), power=power, alpha=0.05)
    assert ours == pytest.approx(theirs, rel=0.03)


def test_run_days():
    assert S.run_days(1093.7, 2, 500) == 5  # 1094 x 2 = 2188 users at 500 a day
    with pytest.raises(ValueError):
        S.run_days(100, 2, 0)


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError):
        S.absolute_lift(5, 4, 1, 10)
    with pytest.raises(ValueError):
        S.relative_lift(1, 0, 1, 10)
    with pytest.raises(ValueError):
        S.sample_size_two_proportions(0.2, 0.2)
