"""Value-analysis requests from the CLI, API and report (one ``bins`` for the three scores)."""

from __future__ import annotations

from typing import Any


def prepare_rfm(given: dict[str, Any], definitions: Any = None, ws_config: Any = None) -> dict[str, Any]:
    """``bins`` sets recency, frequency and monetary bins alike."""
    out = dict(given)
    bins = out.pop("bins", 5)
    out.update(recency_bins=bins, frequency_bins=bins, monetary_bins=bins)
    return out
