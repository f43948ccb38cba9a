"""Every value analysis returns a result with tidy tables and a JSON-ready dict; docs examples run."""

from __future__ import annotations

import doctest
import importlib
import json

import pandas as pd
import pytest

from funnelscope.analyses.value import (
    BetaGeoModel,
    customer_clusters,
    customer_summary,
    revenue_to_date,
    rfm_segments,
)
from funnelscope.analyses.value.simulate import simulate_orders

MODULES = ["summary", "bgnbd", "gamma_gamma", "clv", "rfm"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"funnelscope.analyses.value.{name}")
    failed, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failed == 0


def test_results_are_tidy_and_json_ready():
    orders = simulate_orders(300, r=1.0, alpha=10.0, a=1.0, b=4.0, p=6.0, q=4.0, gamma=15.0,
                             start="2024-01-01", end="2024-12-31", seed=1)
    orders["ts"] = pd.to_datetime(orders["ts"]).dt.tz_localize("UTC")
    summary = customer_summary(orders, observation_end="2024-12-31")
    rfm = rfm_segments(orders, analysis_date="2024-12-31")
    history = revenue_to_date(orders, as_of="2024-12-31")
    clusters = customer_clusters(rfm.customers[["recency_days", "frequency", "monetary"]],
                                 k_range=range(2, 4))
    for result in (summary, rfm, history, clusters):
        assert isinstance(result.to_pandas(), pd.DataFrame)
        text = json.dumps(result.to_dict())
        assert "NaN" not in text
    model = BetaGeoModel().fit(summary.customers["frequency"], summary.customers["recency"],
                               summary.customers["T"])
    assert list(model.parameters().columns) == ["parameter", "estimate", "standard_error",
                                                "ci_lower", "ci_upper"]
    assert "BetaGeoModel(time_unit='weeks'): r=" in repr(model)
