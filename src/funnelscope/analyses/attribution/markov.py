"""The first-order Markov chain of journeys and its removal effects, computed exactly.

States: ``(start)``, one per channel, and the absorbing ``(conversion)`` and ``(null)``. Each
journey ``c1 > c2 > ... > ck`` ending in conversion (weight = its conversions) or null
(weight 1) adds ``start -> c1 -> ... -> ck -> end``; consecutive repeats of a channel are
merged first, as ChannelAttribution does (a self-loop does not change where a walk ends).
Transition probabilities are the counts divided by their row sums.

With Q the transient part (start and channels) and R the transient -> absorbing part, the
absorption probabilities are ``B = (I - Q)^{-1} R``; P(conversion) is ``B[start, conversion]``,
obtained with one :func:`numpy.linalg.solve` of ``(I - Q) x = R[:, conversion]`` (no
simulation). Removing channel c sends every transition into c to null; its removal effect is
``1 - P(conversion | c removed) / P(conversion)``. Attributed conversions are the removal
effects normalised to sum 1, times the total conversions (ChannelAttribution's convention).

Value: a conversion reached from channel j is worth the mean value of the conversions whose
journey ended in j (ChannelAttribution draws values per last channel in its simulation; the
expectation is the same). The expected value of a walk is ``x[start]`` for
``(I - Q) x = R[:, conversion] * mean_value``; value removal effects and attributed value
follow as for conversions. Only order 1 exists here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


def collapse(path: Sequence[str]) -> list[str]:
    """``path`` with consecutive repeats merged: a > a > b > a -> a > b > a."""
    out: list[str] = []
    for c in path:
        if not out or out[-1] != c:
            out.append(c)
    return out


@dataclass(frozen=True)
class MarkovChain:
    """A fitted first-order absorbing chain.

    ``channels``: channel names (state i + 1). ``counts``: transition counts, rows = start
    and the channels (K + 1), columns = start, the channels, conversion, null (K + 3).
    ``conversion_value``: per row, the total value of the conversions reached from it.
    """

    channels: tuple[str, ...]
    counts: np.ndarray
    conversion_value: np.ndarray

    @property
    def size(self) -> int:
        return len(self.channels)

    @property
    def states(self) -> tuple[str, ...]:
        return (START, *self.channels, CONVERSION, NULL)

    @property
    def probabilities(self) -> np.ndarray:
        """Row-normalised transition matrix (rows without transitions stay 0)."""
        totals = self.counts.sum(axis=1, keepdims=True)
        return np.divide(self.counts, totals, out=np.zeros_like(self.counts, dtype=float),
                         where=totals > 0)

    def _solve(self, removed: int | None, value: bool) -> float:
        k = self.size
        p = self.probabilities
        q = p[:, : k + 1].copy()
        to_conversion = p[:, k + 1].copy()
        if value:
            conv = self.counts[:, k + 1]
            mean = np.divide(self.conversion_value, conv, out=np.zeros(k + 1), where=conv > 0)
            to_conversion = to_conversion * mean
        if removed is not None:  # every transition into the channel goes to null instead
            q[:, removed + 1] = 0.0
            to_conversion[removed + 1] = 0.0
        x = np.linalg.solve(np.eye(k + 1) - q, to_conversion)
        return float(x[0])

    def conversion_probability(self, removed: str | None = None) -> float:
        """P(a walk from start ends in conversion), optionally with channel ``removed``."""
        return self._solve(None if removed is None else self.channels.index(removed), False)

    def expected_value(self, removed: str | None = None) -> float:
        """Expected conversion value of a walk from start (0 for null)."""
        return self._solve(None if removed is None else self.channels.index(removed), True)

    def removal_effects(self, value: bool = False) -> np.ndarray:
        """Per channel, 1 - P(conversion with it removed) / P(conversion) (or the same with
        expected values). All 0 when nothing converts."""
        base = self._solve(None, value)
        if base <= 0:
            return np.zeros(self.size)
        return np.array([max(0.0, 1.0 - self._solve(i, value) / base) for i in range(self.size)])

    def attributed(self, total: float, value: bool = False) -> np.ndarray:
        """``total`` shared in proportion to the removal effects."""
        effects = self.removal_effects(value)
        s = effects.sum()
        return effects / s * total if s > 0 else np.zeros(self.size)

    def transitions(self) -> list[dict]:
        """Every transition seen: from, to, count and probability."""
        names = self.states
        p = self.probabilities
        rows, cols = np.nonzero(self.counts)
        return [{"from_state": names[r], "to_state": names[c],
                 "journeys": float(self.counts[r, c]), "probability": float(p[r, c])}
                for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]


def fit_chain(paths: Iterable[tuple[Sequence[str], float, float, float]]) -> MarkovChain:
    """The chain of ``paths``: (channels in order, conversions, journeys ending in null,
    conversion value). Empty paths are skipped; channels are sorted by name."""
    rows = [(collapse(p), float(c), float(n), float(v)) for p, c, n, v in paths if len(p)]
    channels = tuple(sorted({ch for p, _, _, _ in rows for ch in p}))
    index = {c: i + 1 for i, c in enumerate(channels)}
    k = len(channels)
    counts = np.zeros((k + 1, k + 3))
    value = np.zeros(k + 1)
    for path, conv, nulls, val in rows:
        weight = conv + nulls
        if weight <= 0:
            continue
        states = [0] + [index[c] for c in path]
        for a, b in zip(states[:-1], states[1:], strict=True):
            counts[a, b] += weight
        last = states[-1]
        counts[last, k + 1] += conv
        counts[last, k + 2] += nulls
        value[last] += val
    return MarkovChain(channels, counts, value)
