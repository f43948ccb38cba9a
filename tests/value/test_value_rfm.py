"""RFM scores and segments.

Oracles: the CRAN rfm package's published output on its rfm_data_orders data (README / vignette
"RFM - Introduction", rfm 0.3.0, analysis date 2006-12-31) and a plain-Python reference that
re-implements the package's binning loop literally.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelscope.analyses.value import DEFAULT_SEGMENTS, assign_segments, rfm_scores, rfm_segments

from .helpers import rfm_orders

COLUMNS = {"customer": "customer_id", "timestamp": "order_date", "amount": "revenue"}

# rfm vignette, first ten rows of rfm_table_order(rfm_data_orders, ..., as.Date("2006-12-31"))
PUBLISHED_ROWS = [
    # customer, recency_days, transaction_count, amount, rfm_score
    ("Abbey O'Reilly", 205, 6, 472, 343),
    ("Add Senger", 140, 3, 340, 412),
    ("Aden Lesch", 194, 4, 405, 323),
    ("Aden Murphy", 98, 7, 596, 544),
    ("Admiral Senger", 132, 5, 448, 433),
    ("Agness O'Keefe", 90, 9, 843, 555),
    ("Aileen Barton", 84, 9, 763, 555),
    ("Ailene Hermann", 281, 8, 699, 355),
    ("Aiyanna Bruen", 246, 4, 157, 321),
    ("Akeelah Walsh", 160, 7, 779, 445),
]

# the vignette's segment table (segment, R, F, M ranges), in its matching order
VIGNETTE_SEGMENTS = pd.DataFrame(
    [("Champions", 5, 5, 5, 5, 5, 5), ("Potential Loyalist", 3, 5, 3, 5, 2, 5),
     ("Loyal Customers", 2, 4, 2, 4, 2, 4), ("Promising", 3, 4, 1, 3, 3, 5),
     ("New Customers", 4, 5, 1, 3, 1, 5), ("Can't Lose Them", 1, 2, 3, 4, 4, 5),
     ("At Risk", 1, 2, 2, 5, 4, 5), ("Need Attention", 1, 3, 3, 5, 3, 5),
     ("About To Sleep", 2, 3, 1, 3, 1, 4), ("Lost", 1, 1, 1, 5, 1, 5)],
    columns=["segment", "recency_min", "recency_max", "frequency_min", "frequency_max",
             "monetary_min", "monetary_max"])

# the vignette's rfm_segment_summary(segments): customers, orders, revenue
PUBLISHED_SUMMARY = {
    "About To Sleep": (102, 283, 23449), "At Risk": (28, 216, 22227),
    "Can't Lose Them": (47, 274, 32446), "Champions": (35, 316, 31646),
    "Lost": (148, 393, 35324), "Loyal Customers": (170, 799, 76562),
    "Need Attention": (10, 57, 4562), "New Customers": (104, 329, 28837),
    "Potential Loyalist": (342, 2211, 204856), "Promising": (9, 28, 4249),
}
PUBLISHED_FIRST_SEGMENTS = ["Potential Loyalist", "New Customers", "Loyal Customers",
                            "Potential Loyalist", "Potential Loyalist", "Champions", "Champions",
                            "Potential Loyalist", "About To Sleep", "Potential Loyalist"]

# the package's test suite (tests/testthat/test-rfm-segment.R): Champions = 158 customers,
# 1234 orders, 120178 revenue with this table
TESTTHAT_SEGMENTS = pd.DataFrame(
    list(zip(["Champions", "Loyal Customers", "Potential Loyalist", "New Customers",
              "Promising", "Need Attention", "About To Sleep", "At Risk", "Can't Lose Them",
              "Lost"],
             [4, 2, 3, 4, 3, 2, 2, 1, 1, 1], [5, 5, 5, 5, 4, 3, 3, 2, 1, 2],
             [4, 3, 1, 1, 1, 2, 1, 2, 4, 1], [5, 5, 3, 1, 1, 3, 2, 5, 5, 2],
             [4, 3, 1, 1, 1, 2, 1, 2, 4, 1], [5, 5, 3, 1, 1, 3, 2, 5, 5, 2], strict=True)),
    columns=["segment", "recency_min", "recency_max", "frequency_min", "frequency_max",
             "monetary_min", "monetary_max"])


@pytest.fixture(scope="module")
def published():
    return rfm_segments(rfm_orders(), analysis_date="2006-12-31", segments=VIGNETTE_SEGMENTS,
                        **COLUMNS)


def test_published_rfm_rows(published):
    table = published.to_pandas()
    assert len(table) == 995
    assert table["frequency"].sum() == 4906
    for name, recency, count, amount, score in PUBLISHED_ROWS:
        row = table.loc[name]
        assert (row["recency_days"], row["frequency"], row["monetary"], row["rfm_score"]) == (
            recency, count, amount, score), name
    assert list(table.index[:10]) == [r[0] for r in PUBLISHED_ROWS]
    assert list(table["segment"].iloc[:10]) == PUBLISHED_FIRST_SEGMENTS


def test_published_segment_summary(published):
    summary = published.segment_summary.set_index("segment")
    got = {name: (row.customers, row.orders, row.revenue)
           for name, row in summary[summary["customers"] > 0].iterrows()}
    assert got == PUBLISHED_SUMMARY
    aov = summary.loc["Promising", "average_order_value"]
    assert round(aov, 0) == 152  # vignette prints "152."
    assert summary["customer_share"].sum() == pytest.approx(1.0)
    assert summary["revenue_share"].sum() == pytest.approx(1.0)


def test_package_test_suite_champions():
    res = rfm_segments(rfm_orders(), analysis_date="2006-12-31", segments=TESTTHAT_SEGMENTS,
                       **COLUMNS)
    champions = res.segment_summary.set_index("segment").loc["Champions"]
    assert (champions["customers"], champions["orders"], champions["revenue"]) == (
        158, 1234, 120178)


def test_published_thresholds_match_the_package_example():
    """The package's custom-threshold example uses these (rounded) quintile cut points."""
    res = rfm_scores(rfm_orders(), analysis_date="2006-12-31", **COLUMNS)
    th = res.thresholds
    cuts = {m: th[(th["measure"] == m)]["upper"].iloc[:-1].round().tolist()
            for m in ("recency_days", "frequency", "monetary")}
    assert cuts == {"recency_days": [115, 181, 297, 482], "frequency": [4, 5, 6, 8],
                    "monetary": [256, 382, 506, 666]}
    custom = rfm_scores(rfm_orders(), analysis_date="2006-12-31",
                        recency_bins=[115, 181, 297, 482], frequency_bins=[4, 5, 6, 8],
                        monetary_bins=[256, 382, 506, 666], **COLUMNS)
    assert custom.customers["frequency"].sum() == 4906


# --------------------------------------------------------------------------- reference ----
def r_quantile(values, prob):
    """R's quantile(type = 7): linear interpolation between order statistics."""
    xs = sorted(values)
    h = (len(xs) - 1) * prob
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def reference_scores(values, n_bins, higher_is_better, binning):
    """Literal re-implementation of rfm_table_order's loop (rfm) or right-closed quantiles."""
    cuts = [r_quantile(values, k / n_bins) for k in range(1, n_bins)]
    scores = [None] * len(values)
    if binning == "rfm":
        cuts = [c + 1 for c in cuts]
        lower = [min(values), *cuts]
        upper = [*cuts, max(values) + 1]
        order = list(range(n_bins, 0, -1)) if not higher_is_better else range(1, n_bins + 1)
        for i, score in enumerate(order):
            for j, v in enumerate(values):
                if lower[i] <= v < upper[i]:
                    scores[j] = score
    else:
        for j, v in enumerate(values):
            b = 1 + sum(1 for c in cuts if c < v)
            scores[j] = b if higher_is_better else n_bins + 1 - b
    return scores


customers_strategy = st.lists(
    st.tuples(st.integers(0, 400),  # days before the analysis date of the last order
              st.lists(st.integers(1, 500), min_size=1, max_size=8)),  # order amounts
    min_size=2, max_size=40)


@settings(max_examples=100, deadline=None)
@given(customers=customers_strategy, n_bins=st.sampled_from([2, 3, 4, 5]),
       binning=st.sampled_from(["rfm", "quantile"]))
def test_scores_equal_plain_python_reference(customers, n_bins, binning):
    analysis = dt.date(2024, 6, 30)
    rows = []
    for i, (days_ago, amounts) in enumerate(customers):
        for k, amount in enumerate(amounts):  # the last order is days_ago, others earlier
            day = analysis - dt.timedelta(days=days_ago + 3 * k)
            rows.append({"user_id": f"u{i:03d}", "ts": day.isoformat(), "amount": amount})
    res = rfm_scores(pd.DataFrame(rows), analysis_date=analysis.isoformat(),
                     recency_bins=n_bins, frequency_bins=n_bins, monetary_bins=n_bins,
                     binning=binning)
    table = res.to_pandas()
    ids = [f"u{i:03d}" for i in range(len(customers))]
    recency = [c[0] for c in customers]
    frequency = [len(c[1]) for c in customers]
    monetary = [sum(c[1]) for c in customers]
    assert table.loc[ids, "recency_days"].tolist() == recency
    assert table.loc[ids, "frequency"].tolist() == frequency
    assert table.loc[ids, "monetary"].tolist() == monetary
    r = reference_scores(recency, n_bins, False, binning)
    f = reference_scores(frequency, n_bins, True, binning)
    m = reference_scores(monetary, n_bins, True, binning)
    assert table.loc[ids, "recency_score"].tolist() == r
    assert table.loc[ids, "frequency_score"].tolist() == f
    assert table.loc[ids, "monetary_score"].tolist() == m
    assert table.loc[ids, "rfm_score"].tolist() == [100 * a + 10 * b + c
                                                     for a, b, c in zip(r, f, m, strict=True)]


# ------------------------------------------------------------------------ segment table ----
def _all_cells():
    return pd.DataFrame(list(itertools.product(range(1, 6), repeat=3)),
                        columns=["recency_score", "frequency_score", "monetary_score"])


def test_default_table_covers_every_score_and_reaches_every_segment():
    cells = _all_cells()
    segments = assign_segments(cells)
    assert "Others" not in set(segments)
    assert set(segments) == set(DEFAULT_SEGMENTS["segment"])
    assert list(DEFAULT_SEGMENTS["segment"]) == [
        "Champions", "Loyal Customers", "Can't Lose Them", "At Risk", "New Customers",
        "Promising", "Potential Loyalist", "Need Attention", "About To Sleep", "Hibernating",
        "Lost"]
    assert DEFAULT_SEGMENTS["suggested_action"].str.len().min() > 10


def test_first_matching_rule_wins_and_unmatched_are_others():
    cells = pd.DataFrame({"recency_score": [5, 5, 1], "frequency_score": [5, 5, 1],
                          "monetary_score": [5, 1, 1]})
    table = pd.DataFrame([("Top", 5, 5, 5, 5, 1, 5), ("Big spender", 5, 5, 5, 5, 5, 5)],
                         columns=VIGNETTE_SEGMENTS.columns)
    assert assign_segments(cells, table).tolist() == ["Top", "Top", "Others"]


def test_segment_summary_lists_every_segment_with_actions():
    res = rfm_segments(rfm_orders(), analysis_date="2006-12-31", **COLUMNS)
    summary = res.segment_summary
    assert list(summary["segment"]) == list(DEFAULT_SEGMENTS["segment"])
    assert summary["customers"].sum() == 995
    assert summary["revenue"].sum() == rfm_orders()["revenue"].sum()
    assert summary["suggested_action"].notna().all()
    champions = summary.set_index("segment").loc["Champions"]
    assert champions["average_order_value"] == pytest.approx(
        champions["revenue"] / champions["orders"])
    assert set(res.to_dict()["tables"]) == {"customers", "thresholds", "segment_summary"}


def test_orders_after_the_analysis_date_are_ignored():
    orders = pd.DataFrame({"user_id": ["a", "a", "b"],
                           "ts": ["2024-01-01", "2024-03-01", "2024-01-15"],
                           "amount": [10, 99, 5]})
    table = rfm_scores(orders, analysis_date="2024-02-01", recency_bins=2, frequency_bins=2,
                       monetary_bins=2).to_pandas()
    assert table.loc["a", ["recency_days", "frequency", "monetary"]].tolist() == [31, 1, 10]
