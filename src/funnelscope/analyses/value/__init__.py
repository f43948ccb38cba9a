"""Customer value: RFM, clusters, historical and predictive CLV, acquisition economics, churn risk.

Pure analyses on pandas DataFrames or pyarrow Tables (canonical column names by default:
orders ``user_id, ts, amount, currency``; customers ``user_id, first_seen, channel``; spend
``date, channel, campaign, cost``). Each returns a small result dataclass with ``to_pandas()``
and ``to_dict()``. Definitions, formulas, units and references: docs/value.md.
"""

from funnelscope.analyses.value.acquisition import (
    AcquisitionCosts,
    Payback,
    ReturnOnInvestment,
    acquisition_costs,
    campaign_roi,
    event_roi,
    ltv_to_cac,
    payback_period,
)
from funnelscope.analyses.value.bgnbd import BetaGeoModel
from funnelscope.analyses.value.churn_features import churn_features, churn_labels, order_days
from funnelscope.analyses.value.churn_risk import (
    ChurnRiskModel,
    ChurnRiskResult,
    churn_risk,
    evaluate_churn_model,
)
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
from funnelscope.analyses.value.rfm import (
    RFMResult,
    assign_segments,
    rfm_scores,
    rfm_segments,
    segment_summary,
)
from funnelscope.analyses.value.rfm_segments import DEFAULT_SEGMENTS
from funnelscope.analyses.value.summary import (
    CustomerSummary,
    calibration_holdout_summary,
    customer_summary,
)

__all__ = [
    "DEFAULT_SEGMENTS",
    "AcquisitionCosts",
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
