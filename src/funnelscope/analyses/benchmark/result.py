"""The benchmark Result: one table, ``comparison``."""

from __future__ import annotations

from typing import Any

from funnelscope.analyses.result import Result, jsonable


class BenchmarkResult(Result):
    """``comparison``: metric, definition, yours, benchmark, gap (yours - benchmark), better
    (above | below | on par | null: where you stand in the metric's good direction),
    direction, unit, numerator, denominator, source (of the benchmark) and note (why a
    figure is not measurable here). ``meta``: industry, currency, data facts."""

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["meta"] = jsonable(self.meta)
        return out
