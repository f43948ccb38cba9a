"""Lead scoring: which of the people who have not converted yet will convert soon, and why?

A lead is a user (or account) with events but no target event (e.g. ``pay``). Each lead gets
the calibrated probability of doing the target within a horizon, from a standardised
logistic regression on behaviour and customers attributes, trained on earlier snapshots and
judged on a time-based holdout (AUC, Brier score, calibration deciles); the three features
that push its score up most, in words; the points of the funnelscope.yml ``leads: rules``
it matches; and behaviour tags (cart_abandoner, returning, dormant). Definitions:
docs/metrics.md, "Lead scoring".
"""

from funnelscope.analyses.leads.run import leads

__all__ = ["leads"]
