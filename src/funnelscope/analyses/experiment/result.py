"""The workspace experiment Result: the ``compare_counts`` contract plus ``spec`` and ``meta``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from funnelscope.analyses.result import Result, jsonable


@dataclass
class ExperimentResult(Result):
    """``contract``: the :func:`~funnelscope.analyses.experiment.abtest.compare_counts` output
    (variants, comparisons, srm, alpha, method; docs/experiments.md). ``tables``: ``variants``
    (variant, users, conversions, rate) and ``comparisons`` (one flat row per treatment)."""

    contract: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``funnelscope experiment --format json`` = ``funnelscope abtest``'s
        contract, plus ``spec`` and ``meta``."""
        out = jsonable(self.contract)
        out["spec"] = jsonable(self.spec.to_dict())
        out["meta"] = jsonable(self.meta)
        return out


def flat_comparisons(contract: dict) -> list[dict]:
    """One row per treatment: every number of its comparison under ``block_key`` names."""
    rows = []
    for c in contract["comparisons"]:
        row: dict[str, Any] = {"variant": c["variant"], "control": c["control"]}
        for block in ("absolute", "relative", "sequential", "bayesian"):
            for k, v in c[block].items():
                if not isinstance(v, str):
                    row[f"{block}_{k}"] = v
        for test, vals in c["tests"].items():
            for k, v in vals.items():
                row[f"{test}_{k}"] = v
        row["p_adjusted"] = c["p_adjusted"]
        rows.append(row)
    return rows
