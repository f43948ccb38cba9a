"""Experiments (A/B tests) on conversion counts: did the treatment change the conversion rate,
by how much, how sure are we, and how many users does a test need?

* :mod:`.stats` — pure functions (numpy/scipy, no workspace): classical tests, lifts with
  confidence intervals, GrowthBook-style Bayesian and sequential results, sample-ratio
  mismatch, multiple-comparison adjustments, sample size and minimum detectable effect.
* :mod:`.abtest` — :func:`compare_counts`, the counts-only comparison behind
  ``funnelscope abtest`` (its JSON contract is documented in docs/experiments.md).
"""

from funnelscope.analyses.experiment.abtest import compare_counts

__all__ = ["compare_counts"]
