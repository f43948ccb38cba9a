"""The workspace experiment Result: the ``compare_counts`` contract (conversion) and the mean
metrics' comparisons, plus ``metrics``, ``spec`` and ``meta``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from funnelscope.analyses.result import Result, jsonable


@dataclass
class ExperimentResult(Result):
    """``contract``: variants, comparisons, metrics, srm, alpha, correction, method
    (docs/experiments.md; for the conversion metric exactly
    :func:`~funnelscope.analyses.experiment.abtest.compare_counts`' keys). ``tables``:
    ``variants`` (one row per metric and variant) and ``comparisons`` (one flat row per metric
    and treatment)."""

    contract: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``funnelscope experiment --format json``: the contract plus ``spec``
        and ``meta``."""
        out = jsonable(self.contract)
        out["spec"] = jsonable(self.spec.to_dict())
        out["meta"] = jsonable(self.meta)
        return out


def _uniform(rows: list[dict]) -> list[dict]:
    """Every row with the union of the keys (first-seen order), missing cells None, so a CSV
    of rows from different metrics is rectangular."""
    keys: dict[str, None] = {}
    for r in rows:
        keys.update(dict.fromkeys(r))
    return [{k: r.get(k) for k in keys} for r in rows]


def _flatten(prefix: str, block: dict, row: dict) -> None:
    for k, v in block.items():
        if isinstance(v, dict):
            _flatten(f"{prefix}{k}_", v, row)
        elif not isinstance(v, str) or k in ("p_value_from",):
            row[f"{prefix}{k}"] = v


def flat_comparisons(contract: dict) -> list[dict]:
    """One row per comparison (treatment × metric): every number under ``block_key`` names
    (tests flattened as ``test_key``, CUPED as ``cuped_block_key``)."""
    rows = []
    for c in contract["comparisons"]:
        row: dict[str, Any] = {"variant": c["variant"], "control": c["control"]}
        if "metric" in c:
            row["metric"] = c["metric"]
        for block in ("absolute", "relative", "sequential", "bayesian"):
            for k, v in c[block].items():
                if not isinstance(v, str):
                    row[f"{block}_{k}"] = v
        for test, vals in c["tests"].items():
            for k, v in vals.items():
                row[f"{test}_{k}"] = v
        if c.get("cuped"):
            _flatten("cuped_", c["cuped"], row)
        if "p_value" in c:
            row["p_value"] = c["p_value"]
        row["p_adjusted"] = c["p_adjusted"]
        rows.append(row)
    return _uniform(rows)


def flat_variants(contract: dict) -> list[dict]:
    """One row per metric and variant, the same columns in every row."""
    return _uniform([dict(v) for v in contract["variants"]])
