"""Exposures, mean metrics, CUPED and multiple testing of ``ws.experiment``.

Oracles, all independent of the engine:

* a plain-Python per-user reference (:func:`reference`): each user's variant and first
  exposure, whether they did the steps after it within the window (by brute force over the
  step events' times), their event counts and order amounts in the window and pre-period;
  the engine's per-variant users, conversions and sums must equal it (hypothesis);
* scipy ``ttest_ind(equal_var=False)`` on the per-user values (Welch);
* CUPED computed by hand per user, and statsmodels OLS of Y on the variant dummies and the
  centred pre-period X (the adjusted lift is the treatment coefficient, its SE is the OLS SE
  within 3 %);
* statsmodels ``multipletests`` (Holm, BH) on the comparisons' p-values; scipy ``chisquare``
  (SRM).
"""

from __future__ import annotations

import itertools
import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import funnelscope as fs
from funnelscope.errors import ConfigError, FunnelscopeError, SpecError

T0 = pd.Timestamp("2026-03-02T08:00:00Z")
MINUTE = pd.Timedelta(minutes=1)


def at(minute: int) -> pd.Timestamp:
    return T0 + minute * MINUTE


def workspace(exposures, events, orders) -> fs.Workspace:
    """An in-memory workspace from lists of tuples with times in minutes after T0."""
    ws = fs.connect()
    ws.load(pd.DataFrame([(u, e, v, at(m)) for u, e, v, m in exposures],
                         columns=["user_id", "experiment", "variant", "ts"]), "exposures")
    ws.load(pd.DataFrame([(u, n, at(m)) for u, n, m in events],
                         columns=["user_id", "event", "ts"]), "events")
    if orders:
        ws.load(pd.DataFrame([(u, at(m), float(a)) for u, m, a in orders],
                             columns=["user_id", "ts", "amount"]), "orders")
    return ws


def did_steps(times: dict[str, list[int]], steps, lo: int, hi: int, hi_inclusive: bool,
              mode: str) -> bool:
    """Brute force: step events inside [lo, hi] (or [lo, hi)), one per step, in order
    (times non-decreasing) for ``ordered``, in any order for ``any``. Distinct step names."""
    inside = [[t for t in times.get(s, []) if lo <= t and (t <= hi if hi_inclusive else t < hi)]
              for s in steps]
    if mode == "any":
        return all(inside)
    return any(all(a <= b for a, b in itertools.pairwise(chain))
               for chain in itertools.product(*inside))


def reference(exposures, events, orders, experiment, steps, window, mode="ordered",
              count_event="cart", start=None, end=None):
    """Per user of ``experiment``: (variant, conv, conv_pre, count, count_pre, revenue,
    revenue_pre), and how many users were exposed to several variants. Minutes."""
    seen: dict[str, list[tuple[str, int]]] = {}
    for u, e, v, m in set(exposures):
        if e == experiment:
            seen.setdefault(u, []).append((v, m))
    users, multiple = {}, 0
    ev = sorted(set(events))
    od = sorted(set(orders))
    for u, rows in seen.items():
        anchor = min(m for _, m in rows)
        if (start is not None and anchor < start) or (end is not None and anchor >= end):
            continue
        if len({v for v, _ in rows}) > 1:
            multiple += 1
            continue
        times: dict[str, list[int]] = {}
        for uu, n, m in ev:
            if uu == u:
                times.setdefault(n, []).append(m)
        post = did_steps(times, steps, anchor, anchor + window, True, mode)
        pre = did_steps(times, steps, anchor - window, anchor, False, mode)
        cart = times.get(count_event, [])
        count = sum(anchor <= t <= anchor + window for t in cart)
        count_pre = sum(anchor - window <= t < anchor for t in cart)
        revenue = sum(a for uu, m, a in od if uu == u and anchor <= m <= anchor + window)
        revenue_pre = sum(a for uu, m, a in od if uu == u and anchor - window <= m < anchor)
        users[u] = (rows[0][0], int(post), int(pre), count, count_pre, revenue, revenue_pre)
    return users, multiple


def per_variant(users: dict, column: int) -> dict[str, list]:
    out: dict[str, list] = {}
    for values in users.values():
        out.setdefault(values[0], []).append(values[column])
    return out


def rows_of(data: dict, metric: str) -> dict[str, dict]:
    return {v["variant"]: v for v in data["variants"] if v["metric"] == metric}


# ----- the engine equals the per-user reference ------------------------------------------------
USERS = [f"u{i}" for i in range(8)]
exposure_st = st.tuples(st.sampled_from(USERS), st.sampled_from(["exp", "exp", "other"]),
                        st.sampled_from(["a", "b"]), st.integers(0, 120))
event_st = st.tuples(st.sampled_from(USERS), st.sampled_from(["view", "cart", "pay"]),
                     st.integers(-60, 240))
order_st = st.tuples(st.sampled_from(USERS), st.integers(-60, 240), st.integers(1, 50))


@settings(max_examples=int(os.environ.get("FUNNELSCOPE_EXAMPLES", "15")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(exposures=st.lists(exposure_st, min_size=1, max_size=14),
       events=st.lists(event_st, min_size=1, max_size=40),
       orders=st.lists(order_st, max_size=12),
       steps=st.sampled_from([["pay"], ["view", "pay"], ["view", "cart", "pay"], ["pay", "view"]]),
       mode=st.sampled_from(["ordered", "any"]),
       window=st.sampled_from([0, 30, 60]),
       bounds=st.sampled_from([(None, None), (10, 100)]))
def test_exposure_metrics_equal_the_per_user_reference(exposures, events, orders, steps, mode,
                                                       window, bounds):
    # every step name and the counted event occur, so the names are valid
    events = events + [("zz", n, -500) for n in ("view", "cart", "pay")]
    users, multiple = reference(exposures, events, orders, "exp", steps, window, mode,
                                start=bounds[0], end=bounds[1])
    ws = workspace(exposures, events, orders)
    metrics = ["conversion", "count:cart"] + (["revenue"] if orders else [])
    start, end = (None, None) if bounds[0] is None else (str(at(bounds[0])), str(at(bounds[1])))
    variants = sorted({v[0] for v in users.values()})
    if len(variants) < 2:
        with pytest.raises(ConfigError, match="at least two|no experiment named 'exp'"):
            ws.experiment(experiment="exp", steps=steps, metrics=metrics, window=f"{window}m",
                          mode=mode, start=start, end=end, cuped=True)
        return
    data = ws.experiment(experiment="exp", steps=steps, metrics=metrics, window=f"{window}m",
                         mode=mode, start=start, end=end, cuped=True).to_dict()
    assert data["meta"]["multiple_variants"] == multiple
    assert data["meta"]["users_compared"] == len(users)
    conv = rows_of(data, "conversion")
    for column, metric, key in ((1, "conversion", "conversions"), (3, "count:cart", "mean"),
                                (5, "revenue", "mean")):
        if metric not in metrics:
            continue
        expected = per_variant(users, column)
        got = rows_of(data, metric)
        assert sorted(got) == sorted(expected)
        for name, values in expected.items():
            assert got[name]["users"] == len(values) == conv[name]["users"]
            if key == "conversions":
                assert got[name]["conversions"] == sum(values)
            else:  # sums are whole numbers here: mean * n must give them back exactly
                assert round(got[name]["mean"] * len(values)) == sum(values)
    # the CUPED covariate is the same metric in the pre-period
    for column, metric in ((2, "conversion"), (4, "count:cart"), (6, "revenue")):
        if metric not in metrics:
            continue
        for name, values in per_variant(users, column).items():
            assert math.isclose(rows_of(data, metric)[name]["covariate_mean"],
                                sum(values) / len(values), abs_tol=1e-9)


def test_one_step_means_did_it_after_the_exposure():
    """--steps pay: paid at or after the exposure, within the window (inclusive); a payment
    before the exposure does not count."""
    exposures = [("ana", "exp", "a", 0), ("ben", "exp", "a", 0), ("cy", "exp", "b", 0),
                 ("dee", "exp", "b", 0), ("eve", "exp", "b", 0)]
    events = [("ana", "pay", 0), ("ben", "pay", -1), ("cy", "pay", 60), ("dee", "pay", 61),
              ("eve", "view", 5)]
    data = workspace(exposures, events, []).experiment(experiment="exp", steps=["pay"],
                                                       window="1h").to_dict()
    got = {v["variant"]: (v["conversions"], v["users"]) for v in data["variants"]}
    assert got == {"a": (1, 2), "b": (1, 3)}


def test_users_in_two_variants_are_excluded_and_counted():
    exposures = [("ana", "exp", "a", 0), ("ana", "exp", "b", 5), ("ben", "exp", "a", 0),
                 ("cy", "exp", "b", 0), ("dee", "other", "a", 0), ("dee", "exp", "b", 3)]
    events = [("ana", "pay", 10), ("ben", "pay", 10), ("cy", "pay", 10), ("dee", "pay", 10)]
    data = workspace(exposures, events, []).experiment(experiment="exp", steps=["pay"]).to_dict()
    assert data["meta"]["multiple_variants"] == 1
    assert data["meta"]["users_exposed"] == 4
    assert {v["variant"]: v["users"] for v in data["variants"]} == {"a": 1, "b": 2}
    assert data["meta"]["variant_source"] == "exposures"


def test_unknown_experiment_says_did_you_mean_and_lists_them():
    ws = workspace([("ana", "checkout_redesign", "a", 0), ("ben", "pricing", "b", 0)],
                   [("ana", "pay", 1)], [])
    with pytest.raises(ConfigError) as raised:
        ws.experiment(experiment="checkout_redesing", steps=["pay"])
    text = str(raised.value)
    assert "did you mean 'checkout_redesign'" in text
    assert "checkout_redesign" in raised.value.hint and "pricing" in raised.value.hint


def test_bad_requests_are_clear_errors():
    ws = workspace([("ana", "exp", "a", 0), ("ben", "exp", "b", 0)], [("ana", "pay", 1)], [])
    with pytest.raises(ConfigError, match="not both"):
        ws.experiment(experiment="exp", variant_column="variant", steps=["pay"])
    with pytest.raises(ConfigError, match="--metric"):
        ws.experiment(experiment="exp", steps=["pay"], metrics=["revnue"])
    with pytest.raises(FunnelscopeError, match="did you mean 'pay'"):
        ws.experiment(experiment="exp", steps=["pay"], metrics=["count:pya"])
    with pytest.raises(ConfigError, match="orders"):
        ws.experiment(experiment="exp", metrics=["revenue"])
    with pytest.raises(SpecError, match="strict"):
        ws.experiment(experiment="exp", steps=["pay"], mode="strict")
    with pytest.raises(ConfigError, match="--correction"):
        ws.experiment(experiment="exp", steps=["pay"], correction="bonferroni")


# ----- statistics on realistic data --------------------------------------------------------------
def simulated(n: int = 2400, seed: int = 11, variants=("control", "treatment")):
    """Users exposed at random times over 10 days; pre-period and window revenue correlated
    through a per-user spending level; carts likewise; the treatment raises both a bit."""
    rng = np.random.default_rng(seed)
    exposures, events, orders = [], [], []
    day = 24 * 60
    for i in range(n):
        user, variant = f"u{i}", variants[i % len(variants)]
        anchor = int(rng.integers(0, 10 * day))
        exposures.append((user, "exp", variant, anchor))
        level = rng.gamma(2.0, 1.0)
        lift = 1.0 + 0.15 * variants.index(variant)
        for period in (-1, 0):
            for _ in range(rng.poisson(level * (lift if period == 0 else 1.0))):
                minute = anchor + period * 7 * day + int(rng.integers(0, 7 * day))
                orders.append((user, minute, int(rng.integers(5, 60))))
                events.append((user, "cart", minute))
        buys = min(0.9, 0.1 * level)  # paying in the pre-period predicts paying after
        for period in (-1, 0):
            begin = anchor + period * 7 * day
            if rng.random() < 0.6:
                events.append((user, "view", begin + int(rng.integers(0, 4 * day))))
            if rng.random() < buys * (lift if period == 0 else 1.0):
                events.append((user, "pay", begin + int(rng.integers(2 * day, 8 * day))))
    return exposures, events, orders


@pytest.fixture(scope="module")
def sim():
    exposures, events, orders = simulated()
    ws = workspace(exposures, events, orders)
    data = ws.experiment(experiment="exp", steps=["view", "pay"], window="7d",
                         metrics=["conversion", "count:cart", "revenue"], cuped=True).to_dict()
    users, _ = reference(exposures, events, orders, "exp", ["view", "pay"], 7 * 24 * 60)
    yield data, users
    ws.close()


def comparison(data, metric, variant="treatment"):
    return next(c for c in data["comparisons"] if c["metric"] == metric and c["variant"] == variant)


@pytest.mark.parametrize(("metric", "column"), [("count:cart", 3), ("revenue", 5)])
def test_welch_equals_scipy_on_the_per_user_values(sim, metric, column):
    from scipy import stats

    data, users = sim
    values = per_variant(users, column)
    t, c = np.array(values["treatment"], float), np.array(values["control"], float)
    res = stats.ttest_ind(t, c, equal_var=False)
    got = comparison(data, metric)
    assert got["tests"]["welch"]["statistic"] == pytest.approx(res.statistic, rel=1e-9)
    assert got["tests"]["welch"]["p_value"] == pytest.approx(res.pvalue, rel=1e-7)
    assert got["absolute"]["estimate"] == pytest.approx(t.mean() - c.mean(), rel=1e-9)
    assert got["absolute"]["p_value"] == pytest.approx(res.pvalue, rel=1e-7)
    assert got["relative"]["estimate"] == pytest.approx(t.mean() / c.mean() - 1, rel=1e-9)
    row = rows_of(data, metric)["treatment"]
    assert row["variance"] == pytest.approx(t.var(ddof=1), rel=1e-9)
    # the interval is the Welch t interval, so it excludes 0 exactly when p < alpha
    a = got["absolute"]
    assert (a["ci_low"] > 0 or a["ci_high"] < 0) == (a["p_value"] < data["alpha"])


@pytest.mark.parametrize(("metric", "y_col", "x_col"),
                         [("revenue", 5, 6), ("count:cart", 3, 4), ("conversion", 1, 2)])
def test_cuped_by_hand_and_equal_to_ols(sim, metric, y_col, x_col):
    import statsmodels.api as sm

    data, users = sim
    ids = sorted(users)
    y = np.array([users[u][y_col] for u in ids], float)
    x = np.array([users[u][x_col] for u in ids], float)
    treated = np.array([users[u][0] == "treatment" for u in ids])
    # by hand: pooled within-variant slope, then Y - theta (X - mean X)
    num = den = 0.0
    for g in (treated, ~treated):
        num += ((x[g] - x[g].mean()) * (y[g] - y[g].mean())).sum()
        den += ((x[g] - x[g].mean()) ** 2).sum()
    theta = num / den
    adjusted = y - theta * (x - x.mean())
    lift = adjusted[treated].mean() - adjusted[~treated].mean()
    se = math.sqrt(adjusted[treated].var(ddof=1) / treated.sum()
                   + adjusted[~treated].var(ddof=1) / (~treated).sum())
    reduction = 1 - (sum(adjusted[g].var(ddof=1) * (g.sum() - 1) for g in (treated, ~treated))
                     / sum(y[g].var(ddof=1) * (g.sum() - 1) for g in (treated, ~treated)))
    got = comparison(data, metric)["cuped"]
    assert got["theta"] == pytest.approx(theta, rel=1e-9)
    assert got["absolute"]["estimate"] == pytest.approx(lift, rel=1e-9, abs=1e-12)
    assert got["variance_reduction"] == pytest.approx(reduction, rel=1e-7, abs=1e-12)
    engine_se = got["absolute"]["estimate"] / got["tests"]["welch"]["statistic"]
    assert engine_se == pytest.approx(se, rel=1e-9)
    # OLS: Y ~ 1 + treatment + (X - mean X): the treatment coefficient is the adjusted lift
    design = sm.add_constant(np.column_stack([treated.astype(float), x - x.mean()]))
    ols = sm.OLS(y, design).fit()
    assert ols.params[1] == pytest.approx(lift, rel=1e-9, abs=1e-12)
    assert ols.params[2] == pytest.approx(theta, rel=1e-9)
    assert engine_se == pytest.approx(ols.bse[1], rel=0.03)
    info = next(m for m in data["metrics"] if m["metric"] == metric)
    assert info["cuped"]["variance_reduction"] == got["variance_reduction"]


def test_cuped_reduces_the_variance_of_a_persistent_metric(sim):
    data, _ = sim
    for metric in ("revenue", "count:cart"):
        c = comparison(data, metric)
        assert c["cuped"]["variance_reduction"] > 0.1
        assert c["p_value_from"] == "cuped.tests.welch"
        plain_se = c["absolute"]["estimate"] / c["tests"]["welch"]["statistic"]
        cuped_se = c["cuped"]["absolute"]["estimate"] / c["cuped"]["tests"]["welch"]["statistic"]
        assert abs(cuped_se) < abs(plain_se)


@pytest.mark.parametrize(("correction", "method"), [("holm", "holm"), ("bh", "fdr_bh"),
                                                    ("none", None)])
def test_corrections_equal_statsmodels_across_variants_and_metrics(correction, method):
    from statsmodels.stats.multitest import multipletests

    exposures, events, orders = simulated(n=900, seed=5, variants=("a", "b", "c"))
    ws = workspace(exposures, events, orders)
    data = ws.experiment(experiment="exp", steps=["pay"], correction=correction,
                         metrics=["conversion", "count:cart", "revenue"]).to_dict()
    comps = data["comparisons"]
    assert len(comps) == 6 and data["correction"] == correction
    raw = [c["p_value"] for c in comps]
    for c in comps:
        key = "z_pooled" if c["metric"] == "conversion" else "welch"
        assert c["p_value"] == c["tests"][key]["p_value"]
    expected = raw if method is None else multipletests(raw, method=method)[1]
    assert [c["p_adjusted"] for c in comps] == pytest.approx(list(expected), rel=1e-12)


def test_srm_equals_scipy_chisquare():
    from scipy import stats

    exposures = [(f"u{i}", "exp", "a" if i % 3 else "b", i % 50) for i in range(3000)]
    ws = workspace(exposures, [("u1", "pay", 10)], [])
    data = ws.experiment(experiment="exp", steps=["pay"]).to_dict()
    n = [v["users"] for v in data["variants"]]
    assert data["srm"]["p_value"] == pytest.approx(stats.chisquare(n).pvalue, rel=1e-9)
    assert data["srm"]["ok"] is False


def test_conversion_contract_is_compare_counts(sim):
    """The conversion metric keeps abtest's JSON exactly (plus metric and p-value keys)."""
    import json

    from funnelscope.analyses.experiment.abtest import compare_counts

    data, users = sim
    conv = rows_of(data, "conversion")
    counts = {n: (v["conversions"], v["users"]) for n, v in conv.items()}
    assert counts == {n: (sum(v), len(v)) for n, v in per_variant(users, 1).items()}
    contract = json.loads(json.dumps(compare_counts(counts["control"],
                                                    [("treatment", *counts["treatment"])],
                                                    control_name="control")))
    got = comparison(data, "conversion")
    for key, value in contract["comparisons"][0].items():
        if key != "p_adjusted":
            assert got[key] == value, key
    assert [{k: v[k] for k in contract["variants"][0]} for v in conv.values()] == \
        contract["variants"]
