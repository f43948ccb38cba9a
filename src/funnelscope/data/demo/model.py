"""The multiplicative conversion model behind every demo funnel, and its exact expectations.

For an entity with factor values v (e.g. channel=ads, platform=ios, user_type=new), the chance
of reaching step j given it reached step j-1 is::

    p_j(v) = clip(base_j * prod_f multiplier[f][v_f][j], low, high)

Each step is decided once, independently, and happens ``delay_j`` after step j-1 (a truncated
lognormal, see ``sampling.Delay``). So p_j is the *eventual* conversion with no time window;
what a finite window observes follows from the delays.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from funnelscope.data.demo.sampling import Delay


@dataclass(frozen=True)
class ConversionModel:
    """Steps after ``entry``, each with a base conversion-from-previous, factor multipliers, delay.

    ``multipliers[factor][value]`` is a tuple aligned with ``steps``; ``delays`` likewise.
    """

    entry: str
    steps: tuple[str, ...]
    base: tuple[float, ...]
    factors: tuple[str, ...]
    multipliers: Mapping[str, Mapping[str, tuple[float, ...]]]
    delays: tuple[Delay, ...]
    low: float = 0.01
    high: float = 0.97

    def probabilities(self, codes: Mapping[str, np.ndarray], vocab: Mapping[str, tuple]) -> np.ndarray:
        """p_j per entity: array (n, len(steps)); ``codes[f]`` index ``vocab[f]``."""
        p = np.tile(np.asarray(self.base, dtype=np.float64), (len(codes[self.factors[0]]), 1))
        for factor in self.factors:
            table = np.array([self.multipliers[factor][v] for v in vocab[factor]], dtype=np.float64)
            p *= table[codes[factor]]
        return np.clip(p, self.low, self.high)

    def cell_probabilities(self, cell: Mapping[str, str]) -> np.ndarray:
        """p_j for one combination of factor values (``{factor: value}``), length len(steps)."""
        p = np.asarray(self.base, dtype=np.float64).copy()
        for factor in self.factors:
            p *= np.asarray(self.multipliers[factor][cell[factor]], dtype=np.float64)
        return np.clip(p, self.low, self.high)

    def expected_by(self, group: str, groups: tuple[str, ...], mix: Mapping[str, Mapping]) -> dict:
        """Exact expected conversion from previous per step, for each value of factor ``group``.

        ``mix[f][g]`` maps the values of every other factor f to their shares among entities
        with ``group == g`` (factors independent given the group). The shift in mix along the
        funnel (better cells survive) is accounted for: E[p_j | reached j-1, g].
        """
        others = [f for f in self.factors if f != group]
        out = {}
        for g in groups:
            choices = [list(mix[f][g].items()) for f in others]
            reach_prev = np.zeros(len(self.steps))
            reach = np.zeros(len(self.steps))
            for combo in itertools.product(*choices):
                weight = float(np.prod([w for _, w in combo])) if combo else 1.0
                cell = {f: v for f, (v, _) in zip(others, combo, strict=True)}
                cell[group] = g
                p = self.cell_probabilities(cell)
                cum = np.cumprod(p)
                reach += weight * cum
                reach_prev += weight * np.concatenate(([1.0], cum[:-1]))
            out[g] = {s: float(a / b) for s, a, b in zip(self.steps, reach, reach_prev, strict=True)}
        return out

    def to_dict(self) -> dict:
        """JSON-ready parameters: base, multipliers and delays keyed by step name."""
        return {
            "entry": self.entry,
            "steps": list(self.steps),
            "formula": "p_step = clip(base[step] * product of multipliers[factor][value][step], low, high)",
            "factors": list(self.factors),
            "base": dict(zip(self.steps, self.base, strict=True)),
            "multipliers": {
                f: {v: dict(zip(self.steps, m, strict=True)) for v, m in values.items()}
                for f, values in self.multipliers.items()
            },
            "low": self.low,
            "high": self.high,
            "delays": {s: d.to_dict() for s, d in zip(self.steps, self.delays, strict=True)},
        }


def draw_journeys(
    rng: np.random.Generator, model: ConversionModel, p: np.ndarray, entry_ts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Decide and time every step for every entity.

    Returns ``reached`` (bool, n x (1 + len(steps)); column 0 = entry, all True) and ``times``
    (int64 µs, same shape; defined for every cell, meaningful where reached). Step j happens at
    ``times[:, j-1] + delay_j``; decisions use one uniform draw per entity and step.
    """
    n = len(entry_ts)
    k = len(model.steps)
    reached = np.ones((n, k + 1), dtype=bool)
    times = np.empty((n, k + 1), dtype=np.int64)
    times[:, 0] = entry_ts
    for j in range(k):
        reached[:, j + 1] = reached[:, j] & (rng.random(n) < p[:, j])
        times[:, j + 1] = times[:, j] + model.delays[j].draw(rng, n)
    return reached, times
