"""Retention, activity, churn and the growth-metric chains (AARRR, B2B). Semantics: docs/metrics.md."""

from funnelscope.analyses.retention.result import (
    ActivityResult,
    ChurnResult,
    MetricsResult,
    RetentionResult,
)
from funnelscope.analyses.retention.retention import retention
from funnelscope.analyses.retention.spec import RetentionSpec, retention_spec

__all__ = [
    "ActivityResult",
    "ChurnResult",
    "MetricsResult",
    "RetentionResult",
    "RetentionSpec",
    "retention",
    "retention_spec",
]
