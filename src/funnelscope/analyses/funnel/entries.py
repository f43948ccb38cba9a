"""Entries: the kernel's per-entry answer as numpy columns, the input of every funnel table.

One row per entry (an entity for uniques, a first-step event for totals): the entity code,
the deepest step reached and the µs times of the reported path's step events. Kept as numpy
arrays so the tables are computed without pandas; ``to_frame`` gives the pandas view
(``FunnelResult.entries``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOT_REACHED = np.iinfo(np.int64).min
US = 1_000_000


@dataclass
class Entries:
    """``entity`` int64 codes; ``level`` int64 in 0..k; ``step_ts`` int64 (n, k), µs,
    ``NOT_REACHED`` where a step was not reached; ``by_value`` object labels (None = no value)
    or None when there is no breakdown."""

    entity: np.ndarray
    level: np.ndarray
    step_ts: np.ndarray
    by_value: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.entity = np.asarray(self.entity, dtype=np.int64)
        self.level = np.asarray(self.level, dtype=np.int64)
        self.step_ts = np.asarray(self.step_ts, dtype=np.int64)
        if self.step_ts.ndim != 2 or len(self.step_ts) != len(self.entity):
            raise ValueError("step_ts must have shape (entries, steps)")

    def __len__(self) -> int:
        return len(self.entity)

    @property
    def n_steps(self) -> int:
        return self.step_ts.shape[1]

    def seconds_between(self, a: int, b: int) -> np.ndarray:
        """Seconds from step ``a``'s event to step ``b``'s (1-based) over entries reaching ``b``."""
        sel = self.level >= b
        ta, tb = self.step_ts[sel, a - 1], self.step_ts[sel, b - 1]
        ok = (ta != NOT_REACHED) & (tb != NOT_REACHED)
        return (tb[ok] - ta[ok]) / US

    def take(self, order: np.ndarray) -> Entries:
        by = None if self.by_value is None else self.by_value[order]
        return Entries(self.entity[order], self.level[order], self.step_ts[order], by)

    def to_frame(self):
        """pandas: entity, level, t1..tk (nullable Int64, µs), by_value."""
        import pandas as pd

        data = {"entity": self.entity, "level": self.level}
        for j in range(self.n_steps):
            col = self.step_ts[:, j]
            data[f"t{j + 1}"] = pd.arrays.IntegerArray(col.copy(), col == NOT_REACHED)
        frame = pd.DataFrame(data)
        frame["by_value"] = (np.full(len(self), None, dtype=object) if self.by_value is None
                             else self.by_value)
        return frame


def reaching(level: np.ndarray, k: int) -> np.ndarray:
    """Entries reaching at least step j, for j = 1..k (int64, length k); levels above k
    count as k."""
    hist = np.bincount(np.clip(np.asarray(level, dtype=np.int64), 0, k), minlength=k + 1)
    return np.cumsum(hist[::-1])[::-1][1 : k + 1].astype(np.int64)


def labels_of(codes: np.ndarray, labels: list) -> np.ndarray:
    """Breakdown labels for the kernel's ``row`` codes (-1 or out of range = None)."""
    lookup = np.array(list(labels) + [None], dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    return lookup[np.where((codes >= 0) & (codes < len(labels)), codes, len(labels))]
