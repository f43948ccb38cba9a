"""Industry benchmarks: how do your own funnel, retention and value figures compare with the
usual figures of your industry (ecommerce, saas, finance, or your own from funnelscope.yml)?

Your figures are computed from your data with the existing analyses (repurchase from the
activity analysis, monthly churn from the churn analysis, trial activation from AARRR, CLV
from revenue to date); a figure the data cannot give is "not measurable here", with the
reason, never 0. Definitions: docs/metrics.md, "Benchmarks".
"""

from funnelscope.analyses.benchmark.defaults import METRICS, default_benchmarks

__all__ = ["METRICS", "default_benchmarks"]
