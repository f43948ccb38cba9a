"""Historical value, CAC, LTV:CAC, payback and ROI against hand calculations on tiny data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnelscope.analyses.value import (
    acquisition_costs,
    campaign_roi,
    event_roi,
    ltv_curves,
    ltv_to_cac,
    payback_period,
    revenue_to_date,
)
from funnelscope.errors import ConfigError, InputError

ORDERS = pd.DataFrame({
    "user_id": ["ann", "ann", "bob", "cat", "cat", "dan", "eve", "eve"],
    "ts": ["2024-01-05", "2024-02-20", "2024-01-31", "2024-02-01", "2024-03-15", "2024-03-30",
           "2024-04-02", "2024-01-03"],
    "amount": [10.0, 20.0, 5.0, 7.0, 8.0, 100.0, 50.0, 4.0],
})
CUSTOMERS = pd.DataFrame({
    "user_id": ["ann", "bob", "cat", "dan", "eve", "fay"],
    "first_seen": ["2024-01-01", "2024-01-30", "2024-02-01", "2024-03-30", "2024-01-02",
                   "2024-01-10"],
    "channel": ["ads", "seo", "ads", "seo", "seo", "ads"],
    "campaign": ["winter", "blog", "spring", "blog", "blog", "winter"],
})
SPEND = pd.DataFrame({
    "date": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-15", "2024-02-15"],
    "channel": ["ads", "ads", "ads", "seo", "seo"],
    "campaign": ["winter", "spring", "spring", "blog", "blog"],
    "cost": [30.0, 20.0, 10.0, 9.0, 0.0],
})


def test_revenue_to_date_by_hand():
    res = revenue_to_date(ORDERS, CUSTOMERS, as_of="2024-03-31")
    c = res.customers
    # eve's April order is after as_of; fay never ordered but counts as acquired
    assert c.loc["eve", "revenue"] == 4.0 and c.loc["fay", "revenue"] == 0.0
    assert c.loc["ann", ["orders", "revenue"]].tolist() == [2, 30.0]
    by_channel = res.by_channel.set_index("channel")
    assert by_channel.loc["ads"].to_dict() == pytest.approx({
        "customers": 3, "paying_customers": 2, "orders": 4, "revenue": 45.0,
        "revenue_per_customer": 15.0, "revenue_per_paying_customer": 22.5})
    by_cohort = res.by_cohort.set_index("cohort")
    january = by_cohort.loc[pd.Timestamp("2024-01-01")]
    assert (january["customers"], january["revenue"]) == (4, 39.0)  # ann, bob, eve, fay


def test_ltv_curves_mature_cohorts_only():
    curves = ltv_curves(ORDERS, CUSTOMERS, as_of="2024-03-31", days=[30, 60]).curves
    jan = curves[curves["cohort"] == pd.Timestamp("2024-01-01")].set_index("days")
    # January cohort (ann, bob, eve, fay): 30 days -> ann 10 + bob 5 + eve 4 = 19
    assert jan.loc[30, ["customers", "revenue"]].tolist() == [4, 19.0]
    assert jan.loc[30, "ltv"] == pytest.approx(19 / 4)
    # 60 days -> + ann's 20 on day 50
    assert jan.loc[60, "revenue"] == 39.0
    feb = curves[curves["cohort"] == pd.Timestamp("2024-02-01")]
    assert feb["days"].tolist() == [30]  # Feb 29 + 60 days is after Mar 31: not mature
    assert pd.Timestamp("2024-03-01") not in set(curves["cohort"])  # March is immature at 30


def test_ltv_curves_by_channel_use_mature_customers():
    curves = ltv_curves(ORDERS, CUSTOMERS, as_of="2024-03-31", days=[60],
                        group_by=["channel"]).curves.set_index("channel")
    # ads acquired >= 60 days before Mar 31: ann (Jan 1), fay (Jan 10); cat (Feb 1) is 59 days
    assert curves.loc["ads", ["customers", "revenue"]].tolist() == [2, 30.0]
    # seo: bob (Jan 30, 61 days) and eve (first seen Jan 2); dan (Mar 30) is too recent
    # -> bob 5 + eve 4
    assert curves.loc["seo", ["customers", "revenue"]].tolist() == [2, 9.0]


def test_cac_by_hand():
    costs = acquisition_costs(SPEND, CUSTOMERS, ORDERS, start="2024-01-01",
                              end="2024-03-31").costs.set_index("channel")
    # ads: spend 60; new: ann, cat, fay (3); paying: ann, cat (2)
    assert costs.loc["ads"].to_dict() == pytest.approx({
        "spend": 60.0, "new_customers": 3, "new_paying_customers": 2, "cac": 20.0,
        "cost_per_paying_customer": 30.0})
    # seo: spend 9; new: bob, dan, eve (3); paying by Mar 31: bob, dan, eve(Jan 3) (3)
    assert costs.loc["seo"].to_dict() == pytest.approx({
        "spend": 9.0, "new_customers": 3, "new_paying_customers": 3, "cac": 3.0,
        "cost_per_paying_customer": 3.0})


def test_cac_by_campaign_and_organic_and_unproductive_rows():
    spend = pd.concat([SPEND, pd.DataFrame({"date": ["2024-01-20"], "channel": ["tv"],
                                            "campaign": ["gala"], "cost": [500.0]})])
    costs = acquisition_costs(spend, CUSTOMERS, ORDERS, start="2024-01-01", end="2024-03-31",
                              group_by=["channel", "campaign"]).costs
    by = costs.set_index(["channel", "campaign"])
    assert by.loc[("ads", "winter"), ["spend", "new_customers", "cac"]].tolist() == [30, 2, 15]
    assert by.loc[("ads", "spring"), ["spend", "new_customers", "cac"]].tolist() == [30, 1, 30]
    assert np.isnan(by.loc[("tv", "gala"), "cac"])  # spend but nobody acquired: undefined
    assert by.loc[("tv", "gala"), "new_customers"] == 0


def test_ltv_to_cac():
    costs = acquisition_costs(SPEND, CUSTOMERS, ORDERS, start="2024-01-01", end="2024-03-31")
    ltv = pd.DataFrame({"channel": ["ads", "seo"], "ltv": [50.0, 6.0]})
    table = ltv_to_cac(costs, ltv).set_index("channel")
    assert table["ltv_to_cac"].to_dict() == pytest.approx({"ads": 2.5, "seo": 2.0})


def test_payback_by_hand():
    res = payback_period(SPEND, CUSTOMERS, ORDERS, as_of="2024-03-31", start="2024-01-01",
                         end="2024-03-31", gross_margin=0.5)
    curves = res.curves.set_index(["channel", "months"])
    month = 365.25 / 12
    # seo at 1 month: bob (61 days observed), eve (89 days) mature; dan (1 day) not
    # revenue within 30.44 days: bob 5, eve 4 -> margin 0.5 * 9 / 2 = 2.25 < CAC 3
    assert curves.loc[("seo", 1), "margin_per_customer"] == pytest.approx(2.25)
    assert curves.loc[("seo", 1), "customers"] == 2
    # at 2 months (60.9 days): bob and eve mature (61, 89 days): still 9 -> not paid back
    assert (pd.Timestamp("2024-03-31") - pd.Timestamp("2024-01-30")).days >= 2 * month
    payback = res.payback.set_index("channel")
    assert payback.loc["seo", "cac"] == 3.0
    assert not payback.loc["seo", "paid_back"]
    # ads: CAC 20; at 1 month ann 10, fay 0, cat 7 -> 0.5 * 17 / 3 < 20 -> never within data
    assert curves.loc[("ads", 1), "margin_per_customer"] == pytest.approx(0.5 * 17 / 3)
    assert np.isnan(payback.loc["ads", "months_to_payback"])
    cheap = payback_period(SPEND.assign(cost=SPEND["cost"] / 100), CUSTOMERS, ORDERS,
                           as_of="2024-03-31", start="2024-01-01", end="2024-03-31")
    assert cheap.payback.set_index("channel").loc["ads", "months_to_payback"] == 1.0


def test_campaign_roi_by_hand():
    roi = campaign_roi(SPEND, CUSTOMERS, ORDERS, as_of="2024-03-31", start="2024-01-01",
                       end="2024-03-31", gross_margin=0.5).roi.set_index(["channel", "campaign"])
    # winter: spend 30, new ann + fay, revenue 30 -> (0.5 * 30 - 30) / 30 = -0.5
    assert roi.loc[("ads", "winter"), "roi"] == pytest.approx(-0.5)
    # blog: spend 9, new bob, dan, eve -> revenue 5 + 100 + 4 = 109 -> (54.5 - 9) / 9
    assert roi.loc[("seo", "blog"), "revenue"] == 109.0
    assert roi.loc[("seo", "blog"), "roi"] == pytest.approx((54.5 - 9) / 9)


def test_event_roi_by_hand():
    events = pd.DataFrame({"event": ["webinar", "trade fair"], "cost": [500.0, 3000.0],
                           "attendees": [100, 400], "new_paying_customers": [5, 12]})
    roi = event_roi(events, value_per_customer=200.0).roi.set_index("event")
    assert roi.loc["webinar"].to_dict() == pytest.approx({
        "cost": 500.0, "attendees": 100, "new_paying_customers": 5, "cost_per_attendee": 5.0,
        "attendee_conversion": 0.05, "cost_per_paying_customer": 100.0, "value": 1000.0,
        "roi": 1.0})
    assert roi.loc["trade fair", "roi"] == pytest.approx((2400 - 3000) / 3000)
    with_revenue = event_roi(events.assign(revenue=[250.0, 6000.0]), gross_margin=0.5).roi
    assert with_revenue["roi"].tolist() == pytest.approx([(125 - 500) / 500, 0.0])


def test_acquisition_errors():
    with pytest.raises(ConfigError, match="value_per_customer is not given"):
        event_roi(pd.DataFrame({"event": ["x"], "cost": [1.0], "attendees": [3],
                                "new_paying_customers": [1]}))
    with pytest.raises(InputError, match="more new paying customers \\(5\\) than attendees"):
        event_roi(pd.DataFrame({"event": ["x"], "cost": [1.0], "attendees": [3],
                                "new_paying_customers": [5]}), value_per_customer=1.0)
    with pytest.raises(InputError, match="spend.cost is negative"):
        acquisition_costs(SPEND.assign(cost=-1.0), CUSTOMERS, ORDERS)
    with pytest.raises(InputError, match="customers lists 'ann' twice"):
        revenue_to_date(ORDERS, pd.concat([CUSTOMERS, CUSTOMERS.iloc[:1]]), as_of="2024-03-31")
    with pytest.raises(ConfigError, match="group_by"):
        ltv_curves(ORDERS, CUSTOMERS, as_of="2024-03-31", group_by=["campaign"])


def test_new_customer_ltv_by_hand():
    from funnelscope.analyses.value import new_customer_ltv

    window = dict(start="2024-01-01", end="2024-03-31", as_of="2024-03-31")
    to_date = new_customer_ltv(CUSTOMERS, ORDERS, gross_margin=0.5, **window).set_index("channel")
    # ads: ann 30 + cat 15 + fay 0; seo: bob 5 + dan 100 + eve 4 (her April order is later)
    assert to_date.loc["ads", ["ltv_customers", "ltv"]].tolist() == [3, pytest.approx(0.5 * 15)]
    assert to_date.loc["seo", ["ltv_customers", "ltv"]].tolist() == [3, pytest.approx(0.5 * 109 / 3)]
    day30 = new_customer_ltv(CUSTOMERS, ORDERS, days=30, **window).set_index("channel")
    # dan (acquired Mar 30) is not 30 days old; ann's Feb 20 and cat's Mar 15 orders are later
    assert day30.loc["ads", ["ltv_customers", "ltv"]].tolist() == [3, pytest.approx(17 / 3)]
    assert day30.loc["seo", ["ltv_customers", "ltv"]].tolist() == [2, pytest.approx(9 / 2)]
