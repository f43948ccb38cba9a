"""Seeded synthetic demo datasets with known ground truth.

Four datasets: ``ecommerce``, ``saas``, ``finance`` (user funnels from event logs) and ``b2b``
(a sales pipeline of deal stage entries). Each is drawn from published parameters
(``ground_truth(dataset)``), so every analysis can be checked against the numbers that made
the data. Generation is vectorised numpy and deterministic: the same arguments give the same
bytes on every run.

>>> from funnelscope.data import demo
>>> tables = demo.generate("ecommerce", users=1_000, seed=7)
>>> sorted(tables)
['customers', 'events', 'exposures', 'orders', 'responses', 'spend']
>>> tables["customers"].num_rows
1000
"""

from __future__ import annotations

import copy

import numpy as np
import pyarrow as pa

from funnelscope.data.demo import b2b, ecommerce, finance, saas
from funnelscope.data.demo.export import export
from funnelscope.data.demo.window import parse_window
from funnelscope.errors import ConfigError

DATASETS = ("ecommerce", "saas", "finance", "b2b")
_MODULES = {"ecommerce": ecommerce, "saas": saas, "finance": finance, "b2b": b2b}
_MAX_USERS = 50_000_000

__all__ = ["DATASETS", "generate", "generate_all", "export", "ground_truth"]


def _check_dataset(dataset: str):
    try:
        return _MODULES[dataset]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown demo dataset {dataset!r}.", hint=f"Use one of: {', '.join(DATASETS)}."
        ) from None


def _check_count(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ConfigError(
            f"demo {name}={value!r} is out of range.",
            hint=f"Pass a whole number from {low:,} to {high:,}.",
        )
    return int(value)


def generate(
    dataset: str, users: int = 20_000, seed: int = 42, start: str = "2026-01-01", days: int = 90
) -> dict[str, pa.Table]:
    """Draw one demo dataset: ``{table name: Arrow table}`` in canonical column names.

    ``users`` people arrive (first visit) uniformly-ish over ``[start, start + days)`` (UTC;
    ``start`` an ISO date, read as UTC midnight) with weekday, hour-of-day and festival
    patterns; every timestamp lies in that window. For ``b2b``, ``users // 10`` deals (at least
    1) are created over the ``max(days, 365)`` days that END at ``start + days``, so a
    forecast backtest has a year of history. The same (dataset, users, seed, start, days) give
    identical tables; each dataset uses its own random stream of ``seed``.
    """
    module = _check_dataset(dataset)
    users = _check_count("users", users, 1, _MAX_USERS)
    seed = _check_count("seed", seed, 0, 2**63 - 1)
    window = parse_window(start, days)
    rng = np.random.default_rng([seed, DATASETS.index(dataset)])
    return module.generate(rng, window, users)


def generate_all(
    users: int = 20_000, seed: int = 42, start: str = "2026-01-01", days: int = 90
) -> dict[str, dict[str, pa.Table]]:
    """``{dataset: generate(dataset, users, seed, start, days)}`` for every name in DATASETS."""
    return {name: generate(name, users, seed, start, days) for name in DATASETS}


def ground_truth(dataset: str) -> dict:
    """The parameters that generated ``dataset`` (a fresh JSON-ready dict; see docs/demo-data.md).

    Funnel datasets give, per step, the conversion-from-previous model (base x multipliers by
    channel / platform / user type / segment, clipped), its exact expectation by channel, the
    delay distributions, mixes, amounts and campaign costs. ``b2b`` gives the stage transition
    probabilities per owner, the expected win rate per owner, stage durations and amounts.
    """
    return copy.deepcopy(_check_dataset(dataset).ground_truth())
