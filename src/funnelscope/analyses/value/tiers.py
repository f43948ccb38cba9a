"""Quartile tiers of a per-customer value (predicted CLV, churn probability).

A customer's tier is set by the share s of customers with a *strictly higher* value:
s < 25% -> ``"top 25%"``, 25% <= s < 50% -> ``"25-50%"``, 50% <= s < 75% -> ``"50-75%"``,
s >= 75% -> ``"bottom 25%"``. Ties therefore share a tier (the better one), so a tier can hold
more or fewer than a quarter of the customers when many values are equal; no customer is split
from an equal one by an arbitrary order. Missing values get no tier (None) and are not counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TIERS = ("top 25%", "25-50%", "50-75%", "bottom 25%")


def quartile_tiers(values: pd.Series) -> pd.Series:
    """Tier label per customer of ``values`` (same index); see the module doc for the rule."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(v)
    out = np.full(len(v), None, dtype=object)
    n = int(ok.sum())
    if n:
        finite = np.sort(v[ok])
        higher = n - np.searchsorted(finite, v[ok], side="right")
        index = np.minimum((4 * higher) // n, 3)
        out[ok] = np.asarray(TIERS, dtype=object)[index]
    return pd.Series(out, index=values.index, name="tier", dtype=object)


def tier_summary(tiers: pd.Series, values: pd.Series, *, value_name: str) -> pd.DataFrame:
    """Per tier (in TIERS order): customers, total and mean of ``values``, share of the total."""
    frame = pd.DataFrame({"tier": tiers.to_numpy(), "v": values.to_numpy(dtype=float)})
    g = frame.groupby("tier")["v"]
    out = pd.DataFrame({"customers": g.size(), f"{value_name}_total": g.sum(),
                        f"{value_name}_mean": g.mean()}).reindex(list(TIERS))
    out["customers"] = out["customers"].fillna(0).astype("int64")
    total = frame["v"].sum()
    out[f"share_of_{value_name}"] = out[f"{value_name}_total"] / total if total else np.nan
    out.index.name = "tier"
    return out.reset_index()
