"""Vectorised random draws the demo generators share (numpy only, no per-row Python).

Every function takes the caller's ``numpy.random.Generator`` so one seed fixes every byte.
Times are int64 microseconds; durations are drawn in seconds and returned in microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

US = 1_000_000  # microseconds per second
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class Delay:
    """A truncated lognormal waiting time: median, log-scale sigma, and hard bounds (seconds).

    Drawn exactly (inverse CDF on the truncated range, not clipping), so every value lies in
    ``[min_seconds, max_seconds]`` and the shape inside the bounds is lognormal with
    ``log(median)`` as mu.
    """

    median_seconds: float
    sigma: float
    min_seconds: float
    max_seconds: float

    def draw(self, rng: np.random.Generator, n: int, max_seconds=None) -> np.ndarray:
        """``n`` waiting times in whole microseconds (int64), at least 1 µs.

        ``max_seconds`` (scalar or array of length ``n``) lowers the upper bound per draw; it
        is raised to ``min_seconds`` where it falls below it.
        """
        upper = self.max_seconds if max_seconds is None else np.minimum(max_seconds, self.max_seconds)
        upper = np.maximum(upper, self.min_seconds)
        mu = np.log(self.median_seconds)
        lo = ndtr((np.log(self.min_seconds) - mu) / self.sigma)
        hi = ndtr((np.log(upper) - mu) / self.sigma)
        u = lo + rng.random(n) * (hi - lo)
        seconds = np.exp(mu + self.sigma * ndtri(u))
        seconds = np.clip(seconds, self.min_seconds, upper)
        return np.maximum((seconds * US).astype(np.int64), 1)

    def to_dict(self) -> dict:
        """JSON-ready description for ground truth."""
        return {
            "distribution": "lognormal truncated to [min_seconds, max_seconds]",
            "median_seconds": self.median_seconds,
            "sigma": self.sigma,
            "min_seconds": self.min_seconds,
            "max_seconds": self.max_seconds,
        }


def categorical(rng: np.random.Generator, weights, n: int) -> np.ndarray:
    """``n`` codes 0..len(weights)-1 drawn with probabilities proportional to ``weights``.

    Codes are int16 when they fit, else int32.
    """
    p = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    dtype = np.int16 if len(p) <= np.iinfo(np.int16).max else np.int32
    return np.searchsorted(cdf, rng.random(n), side="right").astype(dtype)


def conditional_categorical(rng: np.random.Generator, table: np.ndarray, given: np.ndarray) -> np.ndarray:
    """One code per row of ``given``: row ``given[i]`` of ``table`` holds the weights to draw from."""
    p = np.asarray(table, dtype=np.float64)
    cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    cdf[:, -1] = 1.0
    u = rng.random(len(given))
    rows = cdf[given]
    return (u[:, None] >= rows).sum(axis=1).astype(np.int16)


def mean_one_noise(rng: np.random.Generator, sigma: float, n: int) -> np.ndarray:
    """Lognormal multipliers with mean exactly 1 (mu = -sigma^2 / 2)."""
    return np.exp(rng.normal(-0.5 * sigma * sigma, sigma, n))


def group_starts(counts: np.ndarray) -> np.ndarray:
    """Index of each group's first row when rows are laid out group after group."""
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def repeat_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, rank)``: ``owner`` repeats ``i`` ``counts[i]`` times; ``rank`` counts 0.. in a group."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    rank = np.arange(len(owner), dtype=np.int64) - np.repeat(group_starts(counts), counts)
    return owner, rank


def grouped_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarting at each group (rows laid out group after group)."""
    total = np.cumsum(values)
    if len(total) == 0:
        return total
    before = np.concatenate(([0], total))[np.repeat(group_starts(counts), counts)]
    return total - before
