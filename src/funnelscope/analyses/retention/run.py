"""The entry points of the retention package, as the registry runs them: each takes a workspace
and the analysis' options and returns its Result (definitions: docs/metrics.md).

The work itself lives in one module per analysis: cohorts (retention), actives (activity),
lifetimes (churn), aarrr_summary (AARRR) and b2b (the lead-to-renewal chain). Each is imported
on first use, so running one analysis does not import the others (nor Ibis, which the fast
DuckDB paths of retention, activity and churn do not need).
"""

from __future__ import annotations

# the package resolves each entry point lazily (its module is imported on first use)
from funnelscope.analyses.retention import __getattr__  # noqa: F401
