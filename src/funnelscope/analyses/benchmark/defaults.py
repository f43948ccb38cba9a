"""The benchmark metrics (what each measures, which direction is better) and the default
benchmark table, read from ``defaults.yml`` beside this module (edit it to change the
defaults; funnelscope.yml's ``benchmarks:`` overrides and extends it per project)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

DEFAULT_CURRENCY = "CNY"


@dataclass(frozen=True)
class Metric:
    """A benchmark metric: ``higher_is_better`` says which side of the benchmark is good;
    ``rate``: a fraction 0..1 (else an amount in the benchmark's currency)."""

    name: str
    definition: str
    higher_is_better: bool = True
    rate: bool = True


#: The metrics a benchmark may hold, in the order the comparison lists them.
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("click_rate", "users with the click event / users with any event"),
    Metric("registration_rate", "users with the signup event / users with any event"),
    Metric("trial_activation",
           "AARRR activation_rate: users who did the activation event within activation_days "
           "x 24 h of their signup (first event without a signup event) / those acquired at "
           "least activation_days days before the data end"),
    Metric("paid_conversion",
           "users with any event who have an order (or the pay event) / users with any event"),
    Metric("repurchase_rate", "buyers with at least two orders / buyers (activity repurchase)"),
    Metric("monthly_churn",
           "churn analysis, period month, population buyers when there is an orders table "
           "(customers from their first order on; else everyone with activity): customers "
           "churned in the month / customers at the month's start, over the complete months",
           higher_is_better=False),
    Metric("clv", "historical value: revenue to date / customers with an order", rate=False),
)}

#: Keys an industry may hold besides the metrics.
EXTRA_KEYS = ("currency",)


def check_value(metric: str, value: Any) -> str | None:
    """Why ``value`` cannot be the benchmark of ``metric`` (None when it can; None = no
    benchmark is allowed)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"must be a number, got {value!r}."
    if METRICS[metric].rate and not 0 <= value <= 1:
        return (f"must be a fraction between 0 and 1 (0.03 = 3 %), got {value!r}.")
    if value < 0:
        return f"must not be negative, got {value!r}."
    return None


@lru_cache(maxsize=1)
def _defaults() -> dict[str, dict[str, Any]]:
    import yaml

    text = resources.files(__package__).joinpath("defaults.yml").read_text(encoding="utf-8")
    table = yaml.safe_load(text) or {}
    for industry, row in table.items():
        for key, value in row.items():
            if key in EXTRA_KEYS:
                continue
            problem = "is not a benchmark metric." if key not in METRICS else check_value(key, value)
            if problem:  # pragma: no cover - the shipped file is tested
                raise ValueError(f"defaults.yml: {industry}.{key} {problem}")
    return table


def default_benchmarks() -> dict[str, dict[str, Any]]:
    """The default table: industry -> {metric: value, currency: ...} (a fresh copy)."""
    return {industry: dict(row) for industry, row in _defaults().items()}


def merged(overrides: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """The defaults with ``overrides`` (funnelscope.yml's ``benchmarks:``) applied metric by
    metric (null removes a benchmark); a new industry is added."""
    table = default_benchmarks()
    for industry, row in (overrides or {}).items():
        table.setdefault(industry, {}).update(row)
    return table
