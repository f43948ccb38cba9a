"""The watch Result: ``alerts`` and ``series``."""

from __future__ import annotations

from typing import Any

from funnelscope.analyses.result import Result, jsonable


class WatchResult(Result):
    """``alerts``: metric, date, observed, expected, low, high, direction (up | down), size
    (observed - expected), top_segments (with ``by``: segment, entrants, observed, expected,
    contribution, explains). ``series``: metric, date, observed, expected, low, high,
    entrants, judged, for every metric and day of the ``since`` range. ``meta``: the days
    watched, the time zone and the data end."""

    @property
    def alerts(self):
        return self.tables["alerts"]

    @property
    def series(self):
        return self.tables["series"]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["meta"] = jsonable({k: v for k, v in self.meta.items() if k != "seconds"})
        return out

    def exit_status(self) -> int:
        """1 when an alert fired (for cron), else 0."""
        return 1 if len(self.tables["alerts"]) else 0


def exit_status(result: WatchResult) -> int:
    """The CLI's exit status of ``funnelscope watch`` (registry ``exit_status`` hook)."""
    return result.exit_status()
