"""Customer value: RFM, clusters, historical and predictive CLV, acquisition economics, churn risk.

On a workspace: :func:`rfm`, :func:`clusters`, :func:`clv`, :func:`acquisition` and
:func:`churn_risk` take a :class:`funnelscope.Workspace` (``ws.rfm()`` etc.), read its tables
through the engine and return Results; ``save=True`` keeps the segment column in the
workspace table ``segments`` (:func:`save_segments`) for breakdowns.

Underneath, pure analyses on pandas DataFrames or pyarrow Tables (canonical column names by
default: orders ``user_id, ts, amount, currency``; customers ``user_id, first_seen, channel``;
spend ``date, channel, campaign, cost``), each returning a small result dataclass with
``to_pandas()`` and ``to_dict()``. The orders-frame churn model is :func:`churn_risk_from_orders`.

Note: the workspace functions ``rfm``, ``clusters``, ``clv`` and ``churn_risk`` share their
names with modules of this package; import module contents with ``from
funnelscope.analyses.value.rfm import ...`` (not ``import ... as``). Definitions, formulas,
units and references: docs/value.md.
"""

from funnelscope.analyses.value.acquisition import (
    AcquisitionCosts,
    Payback,
    ReturnOnInvestment,
    acquisition_costs,
    campaign_roi,
    event_roi,
    ltv_to_cac,
    new_customer_ltv,
    payback_period,
)
from funnelscope.analyses.value.bgnbd import BetaGeoModel
from funnelscope.analyses.value.churn_features import churn_features, churn_labels, order_days
from funnelscope.analyses.value.churn_risk import (
    ChurnRiskModel,
    ChurnRiskResult,
    churn_risk_from_days,
    evaluate_churn_model,
)
from funnelscope.analyses.value.churn_risk import churn_risk as churn_risk_from_orders
from funnelscope.analyses.value.clusters import ClusterResult, customer_clusters
from funnelscope.analyses.value.clv import (
    CustomerValue,
    customer_lifetime_value,
    discount_rate_per_unit,
)
from funnelscope.analyses.value.gamma_gamma import GammaGammaModel
from funnelscope.analyses.value.historical import (
    HistoricalValue,
    LTVCurves,
    ltv_curves,
    revenue_to_date,
)
from funnelscope.analyses.value.holdout import HoldoutComparison, holdout_comparison
from funnelscope.analyses.value.result import (
    AcquisitionReport,
    ChurnRiskReport,
    ClusterReport,
    CLVReport,
    RFMReport,
)
from funnelscope.analyses.value.rfm import (
    RFMResult,
    assign_segments,
    rfm_scores,
    rfm_segments,
    score_customers,
    segment_summary,
)
from funnelscope.analyses.value.rfm_segments import DEFAULT_SEGMENTS

# Workspace analyses last: their names shadow the modules rfm, clusters, clv, churn_risk.
from funnelscope.analyses.value.run import (
    acquisition,
    churn_risk,
    clusters,
    clv,
    rfm,
)
from funnelscope.analyses.value.segments import SEGMENTS_TABLE, save_segments, saved_segments
from funnelscope.analyses.value.spec import (
    AcquisitionSpec,
    ChurnRiskSpec,
    ClusterSpec,
    CLVSpec,
    RFMSpec,
)
from funnelscope.analyses.value.summary import (
    CustomerSummary,
    calibration_holdout_summary,
    customer_summary,
)
from funnelscope.analyses.value.tiers import TIERS, quartile_tiers

__all__ = [
    "DEFAULT_SEGMENTS",
    "SEGMENTS_TABLE",
    "TIERS",
    "AcquisitionCosts",
    "AcquisitionReport",
    "AcquisitionSpec",
    "CLVReport",
    "CLVSpec",
    "ChurnRiskReport",
    "ChurnRiskSpec",
    "ClusterReport",
    "ClusterSpec",
    "RFMReport",
    "RFMSpec",
    "acquisition",
    "churn_risk_from_days",
    "churn_risk_from_orders",
    "clusters",
    "clv",
    "new_customer_ltv",
    "quartile_tiers",
    "rfm",
    "save_segments",
    "saved_segments",
    "score_customers",
    "BetaGeoModel",
    "ChurnRiskModel",
    "ChurnRiskResult",
    "ClusterResult",
    "CustomerSummary",
    "CustomerValue",
    "GammaGammaModel",
    "HistoricalValue",
    "HoldoutComparison",
    "LTVCurves",
    "Payback",
    "RFMResult",
    "ReturnOnInvestment",
    "acquisition_costs",
    "assign_segments",
    "calibration_holdout_summary",
    "campaign_roi",
    "churn_features",
    "churn_labels",
    "churn_risk",
    "customer_clusters",
    "customer_lifetime_value",
    "customer_summary",
    "discount_rate_per_unit",
    "evaluate_churn_model",
    "event_roi",
    "holdout_comparison",
    "ltv_curves",
    "ltv_to_cac",
    "order_days",
    "payback_period",
    "revenue_to_date",
    "rfm_scores",
    "rfm_segments",
    "segment_summary",
]
