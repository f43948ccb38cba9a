"""Simulated deal histories with known mechanics, for tests (no randomness outside ``seed``).

Each deal is created at a uniform time in [start, end), then tries to pass each stage with
a per-stage pass probability (owner skill shifts it), spending an exponential time in each
stage. It may skip a stage, move back one stage (a regression), or, after stopping, come
back later (a reopened deal). Deals that reach the win stage are closed won; deals that
stopped are lost when their last entry is more than ``open_window_days`` before ``end``,
else still open. Entries after ``end`` are dropped (the data ends there).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

B2B = ("lead", "mql", "sql", "opportunity", "won", "renewed")


def simulate_deals(n: int = 400, seed: int = 0, stages: tuple[str, ...] = B2B,
                   win_stage: str = "won", start: str = "2023-01-01", end: str = "2025-01-01",
                   pass_prob: tuple[float, ...] | None = None, mean_days: float = 20.0,
                   skip_prob: float = 0.05, regress_prob: float = 0.05,
                   reopen_prob: float = 0.05, open_window_days: float = 60.0,
                   owners: tuple[str, ...] = ("ann", "bob", "cai", "dee")) -> pd.DataFrame:
    """Rows deal_id, stage, stage_entered_at (UTC ISO text), amount, owner, closed, segment."""
    rng = np.random.default_rng(seed)
    k = len(stages)
    w = stages.index(win_stage)
    pass_prob = pass_prob or tuple(np.linspace(0.75, 0.55, k - 1))
    t0 = pd.Timestamp(start, tz="UTC")
    t_end = pd.Timestamp(end, tz="UTC")
    span = (t_end - t0).total_seconds()
    skill = {o: s for o, s in zip(owners, np.linspace(-0.1, 0.1, len(owners)), strict=True)}
    rows = []
    for j in range(n):
        deal = f"D{j:05d}"
        owner = owners[rng.integers(len(owners))]
        segment = ("smb", "mid", "ent")[rng.integers(3)]
        amount = float(np.round(rng.lognormal(8, 0.6), 2))
        t = t0 + pd.Timedelta(seconds=float(rng.uniform(0, span)))
        path = [(0, t)]
        i = 0
        reopened = False
        while i < k - 1:
            t = t + pd.Timedelta(days=float(rng.exponential(mean_days)) + 0.01)
            if rng.random() < regress_prob and i > 0:
                i -= 1
                path.append((i, t))
                continue
            if rng.random() < min(0.98, pass_prob[i] + skill[owner]):
                step = 2 if (rng.random() < skip_prob and i + 2 < k) else 1
                i += step
                path.append((i, t))
            elif not reopened and rng.random() < reopen_prob:
                reopened = True
                t = t + pd.Timedelta(days=float(rng.exponential(4 * mean_days)))
                i = max(0, i - 1)
                path.append((i, t))
            else:
                break
        path = [(s, ts) for s, ts in path if ts < t_end]
        furthest = max(s for s, _ in path)
        last = path[-1][1]
        if furthest >= w:
            closed = "won"
        elif (t_end - last).total_seconds() > open_window_days * 86400:
            closed = "lost"
        else:
            closed = "open"
        seen = set()
        for s, ts in path:
            if (s, ts) in seen:
                continue
            seen.add((s, ts))
            rows.append({"deal_id": deal, "stage": stages[s],
                         "stage_entered_at": ts.strftime("%Y-%m-%d %H:%M:%S.%f"),
                         "amount": amount if rng.random() > 0.1 else None,
                         "owner": owner, "closed": closed, "segment": segment})
    return pd.DataFrame(rows)
