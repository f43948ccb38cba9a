"""The learned forecast model: P(won within a window | current stage, age in stage).

Trained on replayed snapshots (:mod:`funnelscope.analyses.pipeline.asof`): each row is a deal
open at a snapshot time t with its stage and age in stage at t, labelled 1 when its win time
falls in the window [t + gap, t + gap + length) (and after t). Every label window ends at or
before the training cut-off, so every label is known there.

Estimator: per stage, ages are cut at the stage's age quartiles (up to 4 bins); each cell's
rate is shrunk toward its stage's rate, and each stage's toward the overall rate:
``p_stage = (wins_s + m·p_all) / (n_s + m)``, ``p_cell = (wins_c + m·p_stage) / (n_c + m)``
with m = ``shrinkage`` (10 by default). A stage never seen open gets p_all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def label_rows(open_rows: pd.DataFrame, win_us: pd.Series, gap_us: int,
               length_us: int) -> np.ndarray:
    """1 where the deal's win time is in [t + gap, t + gap + length) and after t, else 0."""
    w = pd.array(win_us.reindex(open_rows["deal_id"].to_numpy(dtype=object)),
                 dtype="Int64").to_numpy(dtype="float64", na_value=np.nan)
    t = open_rows["t"].to_numpy(dtype="float64")
    lo = t + gap_us
    return ((w >= lo) & (w < lo + length_us) & (w > t)).astype("int64")


class StageAgeModel:
    """Cell rates over (stage, age bin) with hierarchical shrinkage; ``fit`` returns self."""

    def __init__(self, n_stages: int, shrinkage: float = 10.0) -> None:
        self.n_stages = n_stages
        self.shrinkage = float(shrinkage)

    def fit(self, stage: np.ndarray, age_us: np.ndarray, won: np.ndarray) -> StageAgeModel:
        """Learn rates from training rows (stage index, age in µs, 1 = won in the window)."""
        stage = np.asarray(stage, dtype="int64")
        age = np.asarray(age_us, dtype="float64")
        won = np.asarray(won, dtype="float64")
        m = self.shrinkage
        self.training_rows_ = len(won)
        self.training_wins_ = int(won.sum())
        self.rate_all_ = float(won.mean()) if len(won) else float("nan")
        self.edges_: list[np.ndarray] = []
        self.stage_rate_ = np.full(self.n_stages, self.rate_all_)
        self.cell_rate_: list[np.ndarray] = []
        for s in range(self.n_stages):
            at = stage == s
            a, y = age[at], won[at]
            n_s = len(y)
            p_s = (y.sum() + m * self.rate_all_) / (n_s + m) if n_s + m > 0 else self.rate_all_
            self.stage_rate_[s] = p_s
            edges = np.unique(np.quantile(a, [0.25, 0.5, 0.75])) if n_s else np.array([])
            self.edges_.append(edges)
            bins = np.searchsorted(edges, a, side="left")
            rates = np.empty(len(edges) + 1)
            for b in range(len(edges) + 1):
                yb = y[bins == b]
                rates[b] = (yb.sum() + m * p_s) / (len(yb) + m) if len(yb) + m > 0 else p_s
            self.cell_rate_.append(rates)
        return self

    @property
    def usable(self) -> bool:
        return getattr(self, "training_rows_", 0) > 0

    def predict_probability(self, stage: np.ndarray, age_us: np.ndarray) -> np.ndarray:
        """P(won in the window) for deals at ``stage`` (index) with ``age_us`` in it."""
        stage = np.asarray(stage, dtype="int64")
        age = np.asarray(age_us, dtype="float64")
        out = np.empty(len(stage))
        for s in np.unique(stage):  # one vectorised lookup per stage
            at = stage == s
            out[at] = self.cell_rate_[s][np.searchsorted(self.edges_[s], age[at], side="left")]
        return out

    def cells(self, stages: tuple[str, ...]) -> pd.DataFrame:
        """The fitted table: stage, age bin (days), rate."""
        rows = []
        for s, name in enumerate(stages):
            edges = self.edges_[s] / 86_400_000_000
            bounds = [-np.inf, *edges, np.inf]
            for b, r in enumerate(self.cell_rate_[s]):
                rows.append({"stage": name, "age_days_above": None if b == 0 else bounds[b],
                             "age_days_up_to": None if b == len(edges) else bounds[b + 1],
                             "probability": float(r)})
        return pd.DataFrame(rows)
