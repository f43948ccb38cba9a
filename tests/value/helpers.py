"""Paths and loaders for the shipped test data (tests/value/data)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DATA = Path(__file__).parent / "data"


def cdnow_transactions() -> pd.DataFrame:
    """CDNOW_sample.txt as orders: user_id (sample id 1-2357), ts (day), amount (dollars)."""
    raw = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "user_id", "date", "cds", "amount"],
                      dtype={"date": str})
    raw["ts"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["user_id", "ts", "amount"]]


def cdnow_summary() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow_customers_summary.csv", index_col="ID")


def cdnow_summary_with_spend() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv", index_col="ID")


def rfm_orders() -> pd.DataFrame:
    return pd.read_csv(DATA / "rfm_data_orders.csv")


def sig(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    return float(f"{value:.{digits}g}")
