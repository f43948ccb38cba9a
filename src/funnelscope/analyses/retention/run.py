"""The entry points of the retention package, as the registry runs them: each takes a workspace
and the analysis' options and returns its Result (definitions: docs/metrics.md).

The work itself lives in one module per analysis: cohorts (retention), actives (activity),
lifetimes (churn), aarrr_summary (AARRR) and b2b (the lead-to-renewal chain). Each is imported
on first use, so running one analysis does not import the others (nor Ibis, which the fast
DuckDB paths of retention, activity and churn do not need).
"""

from __future__ import annotations

import importlib
from typing import Any

#: entry point -> the module defining it
_HOME = {
    "aarrr": "aarrr_summary",
    "activity": "actives",
    "b2b_chain": "b2b",
    "churn": "lifetimes",
    "retention": "cohorts",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"{__package__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
