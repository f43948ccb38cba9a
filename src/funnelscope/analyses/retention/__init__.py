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

The names are imported from their modules on first use (a one-shot CLI run of one analysis
imports only what it runs).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "AarrrSpec": "spec",
    "ActivityResult": "result",
    "ActivitySpec": "spec",
    "B2BSpec": "spec",
    "ChurnResult": "result",
    "ChurnSpec": "spec",
    "MetricsResult": "result",
    "RetentionResult": "result",
    "RetentionSpec": "spec",
    "aarrr": "aarrr_summary",
    "activity": "actives",
    "b2b_chain": "b2b",
    "churn": "lifetimes",
    "kaplan_meier": "survival",
    "median_lifetime": "survival",
    "retention": "cohorts",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"{__package__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
