"""Retention, activity, churn and the growth-metric chains (AARRR, B2B). Semantics: docs/metrics.md.

Each function takes a workspace and returns a Result (named tidy tables + spec + meta)::

    retention(ws, start=None, returning="any", period="day", periods=30, kind="on", by=None,
              first_time=True, brackets=None)                         -> RetentionResult
    activity(ws, events=None, period="week", repurchase_within=None)  -> ActivityResult
    churn(ws, events=None, inactivity_days=30, cancel_event=None, period="month", by=None)
                                                                      -> ChurnResult
    aarrr(ws, signup=None, since=None, until=None, channel="channel", activation_event=None,
          activation_days=7, retention_days=(1, 7, 30), referral_event=None,
          referral_channel="referral")                                -> MetricsResult
    b2b_chain(ws, stages=None, by=None, revenue_period="month")       -> MetricsResult
"""

from funnelscope.analyses.retention.aarrr_summary import aarrr
from funnelscope.analyses.retention.actives import activity
from funnelscope.analyses.retention.b2b import b2b_chain
from funnelscope.analyses.retention.cohorts import retention
from funnelscope.analyses.retention.lifetimes import churn
from funnelscope.analyses.retention.result import (
    ActivityResult,
    ChurnResult,
    MetricsResult,
    RetentionResult,
)
from funnelscope.analyses.retention.spec import (
    AarrrSpec,
    ActivitySpec,
    B2BSpec,
    ChurnSpec,
    RetentionSpec,
)
from funnelscope.analyses.retention.survival import kaplan_meier, median_lifetime

__all__ = [
    "AarrrSpec",
    "ActivityResult",
    "ActivitySpec",
    "B2BSpec",
    "ChurnResult",
    "ChurnSpec",
    "MetricsResult",
    "RetentionResult",
    "RetentionSpec",
    "aarrr",
    "activity",
    "b2b_chain",
    "churn",
    "kaplan_meier",
    "median_lifetime",
    "retention",
]
