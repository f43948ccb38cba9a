"""Bad inputs produce the named errors, with messages in domain words naming the customer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from funnelscope.analyses.value import (
    BetaGeoModel,
    GammaGammaModel,
    calibration_holdout_summary,
    customer_lifetime_value,
    customer_summary,
    rfm_scores,
    rfm_segments,
)
from funnelscope.errors import ConfigError, InputError, MissingColumnsError


def _series(values, ids=("ann", "bob", "cat")):
    return pd.Series(values, index=list(ids)[: len(values)])


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    x = rng.poisson(2, 300)
    T = np.full(300, 40.0)
    tx = np.where(x > 0, rng.uniform(0, 40, 300), 0.0)
    m = np.where(x > 0, rng.gamma(5, 4, 300), 0.0)
    return BetaGeoModel().fit(x, tx, T), GammaGammaModel().fit(x, m)


def test_recency_greater_than_T_names_the_customer():
    with pytest.raises(InputError, match=r"Customer 'bob' has recency 45.0 greater than T 40.0"):
        BetaGeoModel().fit(_series([1, 2, 0]), _series([3.0, 45.0, 0.0]),
                           _series([40.0, 40.0, 40.0]))


@pytest.mark.parametrize(("freq", "rec", "T", "pattern"), [
    ([1, -1, 0], [3.0, 0.0, 0.0], [9.0, 9.0, 9.0], r"'bob' has a negative frequency"),
    ([1, 1.5, 0], [3.0, 2.0, 0.0], [9.0, 9.0, 9.0], r"'bob' has a frequency of 1.5, not a whole"),
    ([1, 0, 0], [3.0, 2.0, 0.0], [9.0, 9.0, 9.0], r"'bob' has no repeat purchase .* recency 2.0"),
    ([1, 1, 0], [3.0, -2.0, 0.0], [9.0, 9.0, 9.0], r"'bob' has a negative recency"),
    ([1, 1, 0], [3.0, 2.0, 0.0], [9.0, 9.0, -1.0], r"'cat' has a negative T"),
    ([1, np.nan, 0], [3.0, 2.0, 0.0], [9.0, 9.0, 9.0], r"frequency is missing .* 'bob'"),
])
def test_bad_bgnbd_inputs(freq, rec, T, pattern):
    with pytest.raises(InputError, match=pattern):
        BetaGeoModel().fit(_series(freq), _series(rec), _series(T))


def test_bad_inputs_without_labels_give_the_position():
    with pytest.raises(InputError, match=r"Customer at position 1 has recency"):
        BetaGeoModel().fit([1, 1], [1.0, 5.0], [4.0, 4.0])


def test_mismatched_lengths_and_empty_input():
    with pytest.raises(InputError, match="one value per customer"):
        BetaGeoModel().fit([1, 1], [1.0], [4.0, 4.0])
    with pytest.raises(InputError, match="no customers"):
        BetaGeoModel().fit([], [], [])


def test_gamma_gamma_rejects_non_positive_spend_of_repeat_customers():
    with pytest.raises(InputError, match=r"'bob' has 2 repeat purchase\(s\) but an average "
                                         r"repeat-purchase value of 0.0"):
        GammaGammaModel().fit(_series([1, 2, 0]), _series([10.0, 0.0, 0.0]))
    with pytest.raises(InputError, match=r"'ann' has 3 repeat .* value of -5.0"):
        GammaGammaModel().fit(_series([3, 2, 0]), _series([-5.0, 4.0, 0.0]))
    with pytest.raises(InputError, match="at least 2 customers with a repeat purchase"):
        GammaGammaModel().fit([0, 0, 1], [0.0, 0.0, 5.0])


def test_unfitted_models_say_so():
    with pytest.raises(ConfigError, match="not fitted"):
        BetaGeoModel().probability_alive([0], [0.0], [1.0])
    with pytest.raises(ConfigError, match="not fitted"):
        GammaGammaModel().expected_average_spend([1], [3.0])


def test_clv_refuses_a_horizon_in_another_unit(fitted):
    purchase, spend = fitted
    with pytest.raises(ConfigError, match="does not match the purchase model, fitted in 'weeks'"):
        customer_lifetime_value(purchase, spend, [1], [2.0], [10.0], [5.0], horizon=12,
                                time_unit="months", discount_rate=0.01)
    with pytest.raises(ConfigError, match="discount_period='fortnights' is not a time unit"):
        customer_lifetime_value(purchase, spend, [1], [2.0], [10.0], [5.0], horizon=12,
                                time_unit="weeks", discount_rate=0.01,
                                discount_period="fortnights")
    with pytest.raises(ConfigError, match="horizon=-3"):
        customer_lifetime_value(purchase, spend, [1], [2.0], [10.0], [5.0], horizon=-3,
                                time_unit="weeks", discount_rate=0.01)


def test_orders_errors():
    orders = pd.DataFrame({"user_id": ["a", "a"], "ts": ["2024-01-01", "2024-01-05"],
                           "amount": [1.0, 2.0], "currency": ["EUR", "USD"]})
    with pytest.raises(InputError, match="mixes currencies EUR, USD"):
        customer_summary(orders, observation_end="2024-02-01")
    with pytest.raises(MissingColumnsError, match="lacks column\\(s\\) 'user_id'"):
        customer_summary(orders.rename(columns={"user_id": "uid"}), observation_end="2024-02-01")
    bad_amount = orders.drop(columns="currency").assign(amount=[1.0, "n/a"])
    with pytest.raises(InputError, match=r"orders.amount in row 1 is 'n/a', not a number"):
        customer_summary(bad_amount, observation_end="2024-02-01")
    bad_time = orders.drop(columns="currency").assign(ts=["2024-01-01", "yesterday-ish"])
    with pytest.raises(InputError, match="orders.ts holds values that are not dates"):
        rfm_scores(bad_time, analysis_date="2024-02-01")
    with pytest.raises(ConfigError, match="time_unit='fortnights' is not a time unit"):
        customer_summary(orders.drop(columns="currency"), observation_end="2024-02-01",
                         time_unit="fortnights")
    with pytest.raises(ConfigError, match="must be after calibration_end"):
        calibration_holdout_summary(orders.drop(columns="currency"),
                                    calibration_end="2024-02-01", observation_end="2024-01-01")
    with pytest.raises(InputError, match="No orders on or before analysis_date 2023-01-01"):
        rfm_scores(orders.drop(columns="currency"), analysis_date="2023-01-01")


def test_pyarrow_tables_are_accepted():
    orders = pd.DataFrame({"user_id": ["a", "a", "b"],
                           "ts": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-02"]),
                           "amount": [1.0, 2.0, 3.0]})
    from_arrow = customer_summary(pa.Table.from_pandas(orders), observation_end="2024-01-15")
    from_pandas = customer_summary(orders, observation_end="2024-01-15")
    pd.testing.assert_frame_equal(from_arrow.to_pandas(), from_pandas.to_pandas())
    with pytest.raises(InputError, match="must be a pandas DataFrame or a pyarrow Table"):
        customer_summary([1, 2, 3], observation_end="2024-01-15")


def test_bad_segment_tables():
    orders = pd.DataFrame({"user_id": list("abc"), "ts": ["2024-01-01"] * 3, "amount": [1, 2, 3]})
    bad = pd.DataFrame({"segment": ["x"], "recency_min": [3], "recency_max": [2],
                        "frequency_min": [1], "frequency_max": [5], "monetary_min": [1],
                        "monetary_max": [5]})
    with pytest.raises(ConfigError, match="Segment 'x' has an empty recency score range"):
        rfm_segments(orders, analysis_date="2024-02-01", segments=bad)
    with pytest.raises(ConfigError, match="lacks column"):
        rfm_segments(orders, analysis_date="2024-02-01", segments=bad.drop(columns="segment"))
