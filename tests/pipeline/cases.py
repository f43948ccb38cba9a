"""Deal histories for the tests: readable hand-written journeys and seeded random ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

B2B = ("lead", "mql", "sql", "opportunity", "won", "renewed")
DAY_US = 86_400_000_000
T0 = int(pd.Timestamp("2024-01-01", tz="UTC").value // 1000)


def us(text: str) -> int:
    """ISO time (UTC) -> epoch microseconds."""
    return int(pd.Timestamp(text, tz="UTC").value // 1000)


def journeys_to_rows(journeys: dict, closed: dict, amounts: dict | None = None,
                     owners: dict | None = None) -> list[dict]:
    """``{"deal": [("lead", "2024-01-01"), ...]}`` + final status -> deals rows."""
    rows = []
    for deal, steps in journeys.items():
        for stage, when in steps:
            rows.append({"deal_id": deal, "stage": stage, "ts": us(when),
                         "amount": (amounts or {}).get(deal), "owner": (owners or {}).get(deal),
                         "closed": closed[deal]})
    return rows


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows with ``ts`` in µs -> a deals frame with ISO text times (read as UTC)."""
    df = pd.DataFrame(rows)
    df["stage_entered_at"] = pd.to_datetime(df.pop("ts"), unit="us").dt.strftime(
        "%Y-%m-%d %H:%M:%S.%f")
    return df


def random_rows(seed: int, n_deals: int, stages: tuple[str, ...] = B2B,
                prefix: str = "r") -> list[dict]:
    """Random histories: skips, regressions, repeats, equal times, changing amounts and owners,
    and statuses that need not agree with the stages (robustness)."""
    rng = np.random.default_rng(seed)
    k = len(stages)
    rows = []
    for j in range(n_deals):
        deal = f"{prefix}{j:04d}"
        t = T0 + int(rng.integers(0, 400)) * DAY_US + int(rng.integers(0, 24)) * 3_600_000_000
        s = int(rng.integers(0, 2))
        final = ("won", "lost", "open")[int(rng.integers(3))]
        amount = [None, 100.0, 250.0, 1000.0][int(rng.integers(4))]
        owner = [None, "ann", "bob", "cai"][int(rng.integers(4))]
        seen = set()
        for e in range(int(rng.integers(1, 8))):
            if (s, t) not in seen:
                seen.add((s, t))
                rows.append({"deal_id": deal, "stage": stages[s], "ts": t, "amount": amount,
                             "owner": owner, "closed": final if rng.random() < 0.9 else "open"})
            if rng.random() < 0.2:
                amount = [None, 120.0, 300.0, 5000.0][int(rng.integers(4))]
            if rng.random() < 0.1:
                owner = [None, "ann", "bob", "dee"][int(rng.integers(4))]
            step = int(rng.choice([-1, 0, 1, 1, 1, 2]))
            s = min(k - 1, max(0, s + step))
            gap = int(rng.choice([0, 1, 3, 10, 40])) * DAY_US + int(rng.integers(0, 3)) * 3_600_000_000
            t += gap
            del e
        rows[-1]["closed"] = final
    return rows


def frame_to_rows(df: pd.DataFrame) -> list[dict]:
    """A deals frame with text times (UTC) -> rows with ``ts`` in µs, for the oracle."""
    ts = pd.to_datetime(df["stage_entered_at"], utc=True)
    out = []
    for r, t in zip(df.to_dict(orient="records"), ts, strict=True):
        amount = r.get("amount")
        out.append({"deal_id": r["deal_id"], "stage": r["stage"], "ts": int(t.value // 1000),
                    "amount": None if amount is None or amount != amount else float(amount),
                    "owner": r.get("owner"), "closed": r.get("closed")})
    return out
