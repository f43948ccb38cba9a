"""Results of the workspace value analyses (``ws.rfm()``, ``ws.clv()``...): Result subclasses.

Every table is a tidy pandas DataFrame with a ``user_id`` column where rows are customers.
``to_dict()`` is the JSON the CLI prints; ``meta`` holds the resolved dates, the currency and
the saved segment columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from funnelscope.analyses.result import Result, jsonable


class _ValueResult(Result):
    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["meta"] = jsonable(self.meta)
        return out


class RFMReport(_ValueResult):
    """Tables: ``customers`` (user_id, last_order, recency_days, frequency, monetary, the three
    scores, rfm_score, rfm_segment), ``segments`` (per-segment summary with suggested action),
    ``thresholds`` (the score intervals)."""

    @property
    def customers(self) -> pd.DataFrame:
        return self.tables["customers"]

    @property
    def segments(self) -> pd.DataFrame:
        return self.tables["segments"]

    @property
    def thresholds(self) -> pd.DataFrame:
        return self.tables["thresholds"]


class ClusterReport(_ValueResult):
    """Tables: ``profiles`` (cluster, label, customers, share, description, feature means and
    category shares), ``customers`` (user_id, cluster, cluster_label and the features used),
    ``silhouette`` (k, silhouette; one row per k tried)."""

    @property
    def profiles(self) -> pd.DataFrame:
        return self.tables["profiles"]

    @property
    def customers(self) -> pd.DataFrame:
        return self.tables["customers"]


@dataclass(repr=False, eq=False)
class CLVReport(_ValueResult):
    """Tables: ``customers`` (user_id, frequency, recency, T, monetary_value,
    probability_alive, expected_purchases, expected_average_spend, expected_revenue, clv,
    clv_tier; sorted by clv, highest first), ``tiers``, ``parameters`` (model, parameter,
    estimate, standard error, 95% interval) and, with a holdout period, ``holdout``.

    ``models`` holds the fitted parameters: ``{"bgnbd": {r, alpha, a, b, log_likelihood, ...},
    "gamma_gamma": {p, q, gamma, ...}}``; ``to_dict()`` puts them first.
    """

    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def customers(self) -> pd.DataFrame:
        return self.tables["customers"]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: jsonable(params) for name, params in self.models.items()}
        out.update(super().to_dict())
        return out


class AcquisitionReport(_ValueResult):
    """Tables: ``cac`` (per channel [and campaign]: spend, new customers, new paying
    customers, cac, cost per paying customer, ltv, ltv_to_cac [, months_to_payback,
    paid_back]), ``payback`` (per channel), ``payback_curves`` (channel, months, margin per
    customer), ``roi`` (per group: revenue of its new customers and ROI)."""

    @property
    def cac(self) -> pd.DataFrame:
        return self.tables["cac"]


@dataclass(repr=False, eq=False)
class ChurnRiskReport(_ValueResult):
    """Tables: ``at_risk`` (rank, user_id, churn_probability, top_reasons[, churn_risk]),
    ``reasons``, ``calibration``, ``feature_importance``; ``metrics`` (validation AUC,
    precision and lift in the top decile, base rate, customers)."""

    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def at_risk(self) -> pd.DataFrame:
        return self.tables["at_risk"]

    def to_dict(self) -> dict[str, Any]:
        out = {"metrics": jsonable(self.metrics)}
        out.update(super().to_dict())
        return out
