"""The funnel gives identical answers on DuckDB and PySpark (local[2])."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import funnelscope as fs

pytestmark = pytest.mark.usefixtures("names_unchecked")


def _events(n_users: int = 300, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = np.array(["view", "add_to_cart", "checkout", "pay", "search", "浏览"])
    n = n_users * 8
    ts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 20 * 86400, n), unit="s")
    return pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)],
        "user_id": [f"u{u}" for u in rng.integers(0, n_users, n)],
        "event": names[rng.integers(0, len(names), n)],
        "ts": ts,
        "channel": np.array(["ads", "search", "微信"])[rng.integers(0, 3, n)],
        "amount": rng.integers(0, 200, n).astype(float),
    })


CASES = [
    dict(steps=["view", "add_to_cart", "checkout", "pay"], window="3d"),
    dict(steps=["view", "view", "pay"], window="2d", mode="strict"),
    dict(steps=["view", "add_to_cart", "pay"], window="5d", mode="any"),
    dict(steps=["view", fs.step("pay", where={"amount": (">", 100)}, within="1d")], window="7d",
         exclude=[("search", 1, 2)], by="channel", period="week"),
    dict(steps=["浏览", "pay"], window="7d", count="totals", first_time=False),
]


@pytest.mark.spark
@pytest.mark.parametrize("case", range(len(CASES)))
def test_duckdb_and_spark_agree(make_workspace, case):
    frame = _events()
    results = {}
    for backend in ("duckdb", "pyspark"):
        ws = make_workspace({"events": frame}, backend=backend)
        r = ws.funnel(**CASES[case])
        results[backend] = r
    a, b = results["duckdb"], results["pyspark"]
    pd.testing.assert_frame_equal(a.steps, b.steps, check_dtype=False)
    pd.testing.assert_frame_equal(a.groups, b.groups, check_dtype=False)
    pd.testing.assert_frame_equal(a.periods, b.periods, check_dtype=False)
    assert a.converted() == b.converted()
