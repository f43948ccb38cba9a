"""Churn risk on simulated customers with a known signal, split in time.

Oracles: the simulation (customers who drop out stop buying, so recent, regular buyers churn
less: a real signal), the exactness of the tree-path decomposition (contributions add up to
the model's log-odds), and hand-made orders for the features and labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnelscope.analyses.value import (
    ChurnRiskModel,
    churn_features,
    churn_labels,
    order_days,
)
from funnelscope.analyses.value import churn_risk_from_orders as churn_risk
from funnelscope.analyses.value.simulate import simulate_orders
from funnelscope.errors import ConfigError, InputError

TRAIN, VALID, WINDOW = "2024-03-31", "2024-07-01", 90


@pytest.fixture(scope="module")
def orders():
    return simulate_orders(2500, r=2.0, alpha=20.0, a=1.0, b=6.0, p=6.0, q=4.0, gamma=15.0,
                           start="2023-01-01", end="2024-12-31", acquisition_days=180, seed=5)


@pytest.fixture(scope="module")
def result(orders):
    return churn_risk(orders, train_cutoff=TRAIN, validation_cutoff=VALID, window_days=WINDOW,
                      data_end="2024-12-31")


def test_validation_on_later_time_shows_a_real_signal(result):
    m = result.metrics
    assert m["auc"] > 0.7
    assert m["precision_at_top_decile"] > m["base_rate"]
    assert m["lift_at_top_decile"] == pytest.approx(m["precision_at_top_decile"] / m["base_rate"])
    cal = result.calibration
    assert cal["customers"].sum() == m["customers"] and len(cal) == 10
    # calibrated enough: observed churn rises with predicted risk, top bin above bottom bin
    assert cal["observed_churn_rate"].iloc[-1] > cal["observed_churn_rate"].iloc[0] + 0.3
    assert (cal["mean_predicted"] - cal["observed_churn_rate"]).abs().mean() < 0.1
    assert result.feature_importance["feature"].iloc[0] in {"recency_days",
                                                            "mean_days_between_orders"}


def test_at_risk_list_is_ranked_with_reasons(result):
    at_risk = result.at_risk
    assert at_risk["rank"].tolist() == list(range(1, len(at_risk) + 1))
    assert at_risk["churn_probability"].is_monotonic_decreasing
    top = at_risk.iloc[0]
    reasons = result.reasons[result.reasons["customer"] == top["customer"]]
    assert 1 <= len(reasons) <= 3 and (reasons["contribution"] > 0).all()
    assert top["top_reasons"].startswith(reasons["feature"].iloc[0])
    assert result.score_date == pd.Timestamp("2024-12-31")


def test_contributions_add_up_to_the_log_odds(orders):
    days = order_days(orders)
    x = churn_features(days, as_of=TRAIN)
    y = churn_labels(days, x.index, as_of=TRAIN, window_days=WINDOW)
    model = ChurnRiskModel(n_estimators=30).fit(x, y)
    contributions, baseline = model.feature_contributions(x.iloc[:200])
    log_odds = model.classifier_.decision_function(x.iloc[:200].to_numpy())
    np.testing.assert_allclose(baseline + contributions.sum(axis=1), log_odds, atol=1e-8)


def test_features_use_no_orders_after_the_cutoff(orders):
    days = order_days(orders)
    cut = pd.Timestamp(TRAIN)
    full = churn_features(days, as_of=cut)
    truncated = churn_features(days[days["day"] <= cut], as_of=cut)
    pd.testing.assert_frame_equal(full, truncated)


def test_time_split_is_enforced(orders):
    with pytest.raises(ConfigError, match="training labels would overlap validation features"):
        churn_risk(orders, train_cutoff=TRAIN, validation_cutoff="2024-05-01", window_days=90)
    with pytest.raises(InputError, match="ends 2025-03-31, after the data ends"):
        churn_risk(orders, train_cutoff=TRAIN, validation_cutoff="2024-12-31", window_days=90)


def test_features_and_labels_by_hand():
    orders = pd.DataFrame({
        "user_id": ["a", "a", "a", "b", "c", "c"],
        "ts": ["2024-01-01", "2024-01-21", "2024-03-01", "2024-02-01", "2024-03-25",
               "2024-04-10"],
        "amount": [10.0, 20.0, 30.0, 5.0, 8.0, 9.0],
    })
    days = order_days(orders)
    x = churn_features(days, as_of="2024-03-31")
    a = x.loc["a"]
    assert a["recency_days"] == 30 and a["tenure_days"] == 90 and a["orders"] == 3
    assert a["revenue"] == 60 and a["average_order_value"] == 20
    assert a["orders_last_30_days"] == 0  # Mar 1 is 30 days before Mar 31: outside 30 days
    assert a["orders_last_90_days"] == 2 and a["revenue_last_90_days"] == 50
    assert a["mean_days_between_orders"] == 30
    assert x.loc["b", "mean_days_between_orders"] == x.loc["b", "tenure_days"] == 59
    labels = churn_labels(days, x.index, as_of="2024-03-31", window_days=30)
    assert labels.to_dict() == {"a": True, "b": True, "c": False}
    strict = churn_labels(days, x.index, as_of="2024-03-31", window_days=30, min_orders=2)
    assert strict["c"]  # one order in the window is not enough under this definition
    assert churn_features(days, as_of="2024-03-31", active_within_days=30).index.tolist() == [
        "a", "c"]


def test_extra_features_are_joined_and_checked(orders):
    def activity(as_of):
        days = order_days(orders)
        ids = days.loc[days["day"] <= as_of, "customer"].unique()
        return pd.DataFrame({"sessions": 1.0}, index=ids)

    res = churn_risk(orders, train_cutoff=TRAIN, validation_cutoff=VALID, window_days=WINDOW,
                     data_end="2024-12-31", extra_features=activity)
    assert "sessions" in set(res.feature_importance["feature"])

    def partial(as_of):
        return pd.DataFrame({"sessions": [1.0]}, index=["c000000"])

    with pytest.raises(InputError, match="Extra features have no row"):
        churn_risk(orders, train_cutoff=TRAIN, validation_cutoff=VALID, window_days=WINDOW,
                   data_end="2024-12-31", extra_features=partial)
