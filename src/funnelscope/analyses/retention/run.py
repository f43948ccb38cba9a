"""The entry points of the retention package, as the registry runs them: each takes a workspace
and the analysis' options and returns its Result (definitions: docs/metrics.md).

The work itself lives in one module per analysis: cohorts (retention), actives (activity),
lifetimes (churn), aarrr_summary (AARRR) and b2b (the lead-to-renewal chain).
"""

from funnelscope.analyses.retention.aarrr_summary import aarrr
from funnelscope.analyses.retention.actives import activity
from funnelscope.analyses.retention.b2b import b2b_chain
from funnelscope.analyses.retention.cohorts import retention
from funnelscope.analyses.retention.lifetimes import churn

__all__ = ["aarrr", "activity", "b2b_chain", "churn", "retention"]
